//! Embeds the model named by `HYPERINR_MODEL`, sizes the static buffers from its config and
//! selects the memory map.
//!
//! - `HYPERINR_MODEL`: path of the `.hinr` file, relative to the workspace root (an absolute
//!   path is taken as is). Default: `models/fashion-mnist-mcu.hinr`.
//! - `HYPERINR_ALLOW_INVALID_MODEL=1`: embed a file that does not parse (negative tests: the
//!   firmware must then report the typed error and exit non-zero). Without it such a file
//!   fails the build.
//! - `HYPERINR_OBSERVATIONS`: optional path of an observations file (`*.hobs`, written by
//!   `hyperinr export-observations`; shared/FORMAT.md §7), relative to the workspace root
//!   like `HYPERINR_MODEL`. The firmware then fits every observation on the device, classifies
//!   it and scores it against its label (boot check step 6). Its buffers are sized only then.
//! - `HYPERINR_ALLOW_INVALID_OBSERVATIONS=1`: embed an observations file that does not parse
//!   or does not suit the model (negative tests); without it such a file fails the build.
//!
//! A model (plus observations) larger than the flash budget (the memory map's FLASH length
//! less [`CODE_RESERVE`] for the firmware itself) fails the build with its size and the
//! budget, instead of a linker error about an overflowed region.
//!
//! Writes into `OUT_DIR`: `model.hinr` and `observations.hobs` (the copies that
//! `include_bytes!` embeds), `model.rs` (buffer sizes and the blobs) and `memory.x`
//! (mps2-an386 or, with feature `stm32f405`, the STM32F405RG map).

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::exit;

use hyperinr_runtime::{check, Model};
use hyperinr_shared::observations::{ObservationKind, Observations};
use hyperinr_shared::InputKind;

const DEFAULT_MODEL: &str = "models/fashion-mnist-mcu.hinr";
/// Flash kept for the firmware's own code and constants (about 80 KB today, see README.md):
/// the model may use the rest of the FLASH region.
const CODE_RESERVE: usize = 128 * 1024;

fn fail(message: &str) -> ! {
    eprintln!("\nerror: hyperinr-firmware build script: {message}\n");
    exit(1);
}

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap_or_default());
    let workspace_root = manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest_dir.clone());

    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=memory");
    println!("cargo:rerun-if-env-changed=HYPERINR_MODEL");
    println!("cargo:rerun-if-env-changed=HYPERINR_ALLOW_INVALID_MODEL");
    println!("cargo:rerun-if-env-changed=HYPERINR_OBSERVATIONS");
    println!("cargo:rerun-if-env-changed=HYPERINR_ALLOW_INVALID_OBSERVATIONS");

    // Memory map. The maps live in memory/, never in the crate root: the linker would find
    // a root memory.x before the one written here.
    let stm32 = env::var_os("CARGO_FEATURE_STM32F405").is_some();
    let map = if stm32 { "stm32f405.x" } else { "mps2-an386.x" };
    let map_path = manifest_dir.join("memory").join(map);
    let memory = fs::read(&map_path)
        .unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", map_path.display())));
    write(&out_dir.join("memory.x"), &memory);
    let flash = flash_length(&map_path);
    println!("cargo:rustc-link-search={}", out_dir.display());

    // The model.
    let (relative, defaulted) = match env::var("HYPERINR_MODEL") {
        Ok(p) if !p.is_empty() => (p, false),
        _ => (DEFAULT_MODEL.to_string(), true),
    };
    let path = if Path::new(&relative).is_absolute() {
        PathBuf::from(&relative)
    } else {
        workspace_root.join(&relative)
    };
    println!("cargo:rerun-if-changed={}", path.display());
    let blob = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if defaulted => fail(&format!(
            "the default model `{DEFAULT_MODEL}` cannot be read ({}: {e}).\n\
             It is the trainer's MCU export (`hyperinr export`); until it exists, build with an \
             explicit model:\n    HYPERINR_MODEL=<path relative to the workspace root> cargo build --release",
            path.display()
        )),
        Err(e) => fail(&format!(
            "HYPERINR_MODEL=`{relative}`: cannot read {}: {e}",
            path.display()
        )),
    };
    let observations = match env::var("HYPERINR_OBSERVATIONS") {
        Ok(p) if !p.is_empty() => {
            let obs_path = if Path::new(&p).is_absolute() {
                PathBuf::from(&p)
            } else {
                workspace_root.join(&p)
            };
            println!("cargo:rerun-if-changed={}", obs_path.display());
            let bytes = fs::read(&obs_path).unwrap_or_else(|e| {
                fail(&format!(
                    "HYPERINR_OBSERVATIONS=`{p}`: cannot read {}: {e}",
                    obs_path.display()
                ))
            });
            Some((obs_path, bytes))
        }
        _ => None,
    };
    let embedded = blob.len() + observations.as_ref().map_or(0, |(_, b)| b.len());
    let what = match &observations {
        Some((obs_path, _)) => format!("{} with {}", path.display(), obs_path.display()),
        None => path.display().to_string(),
    };
    check_flash_budget(&what, embedded, flash, map, &manifest_dir, stm32);
    let allow_invalid = env::var("HYPERINR_ALLOW_INVALID_MODEL").is_ok_and(|v| v == "1");
    let allow_invalid_observations =
        env::var("HYPERINR_ALLOW_INVALID_OBSERVATIONS").is_ok_and(|v| v == "1");
    let parsed = Model::from_bytes(&blob);
    if let (Ok(model), Some((obs_path, bytes))) = (&parsed, &observations) {
        if let Err(problem) = suits(model, bytes) {
            if allow_invalid_observations {
                println!(
                    "cargo:warning=embedding {} although {problem}: HYPERINR_ALLOW_INVALID_OBSERVATIONS=1",
                    obs_path.display()
                );
            } else {
                fail(&format!(
                    "{}: {problem}\n(set HYPERINR_ALLOW_INVALID_OBSERVATIONS=1 to embed it anyway, for negative tests)",
                    obs_path.display()
                ));
            }
        }
    }
    let fitting = observations.is_some();
    let sizes = match parsed {
        Ok(model) => Some(Sizes::of(&model, fitting)),
        Err(e) if allow_invalid => {
            println!(
                "cargo:warning=embedding {} although it does not parse ({e}): HYPERINR_ALLOW_INVALID_MODEL=1",
                path.display()
            );
            None
        }
        Err(e) => fail(&format!(
            "{} is not a valid model: {e}\n\
             (set HYPERINR_ALLOW_INVALID_MODEL=1 to embed it anyway, for negative tests)",
            path.display()
        )),
    };
    write(&out_dir.join("model.hinr"), &blob);
    write(
        &out_dir.join("observations.hobs"),
        observations.as_ref().map_or(&[][..], |(_, b)| b.as_slice()),
    );
    let code = generate(&path, blob.len(), sizes.as_ref(), fitting);
    write(&out_dir.join("model.rs"), code.as_bytes());
}

/// The LENGTH of the FLASH region in a memory map (`LENGTH = 1024K`, `4M`, `0x100000`).
fn flash_length(map_path: &Path) -> usize {
    let text = fs::read_to_string(map_path)
        .unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", map_path.display())));
    let length = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("FLASH"))
        .and_then(|l| l.split("LENGTH").nth(1))
        .and_then(|l| l.split('=').nth(1))
        .map(|v| v.trim().trim_end_matches(',').trim());
    let parsed = length.and_then(|v| {
        let (digits, scale) = match v.as_bytes().last() {
            Some(b'K') => (&v[..v.len() - 1], 1024),
            Some(b'M') => (&v[..v.len() - 1], 1024 * 1024),
            _ => (v, 1),
        };
        let n = match digits.strip_prefix("0x") {
            Some(hex) => usize::from_str_radix(hex, 16).ok(),
            None => digits.parse::<usize>().ok(),
        };
        n.map(|n| n * scale)
    });
    parsed.unwrap_or_else(|| {
        fail(&format!(
            "{}: no `FLASH : ORIGIN = …, LENGTH = …` line with a length this script reads",
            map_path.display()
        ))
    })
}

/// Fails the build when the model does not fit the flash left after [`CODE_RESERVE`]; on
/// the mps2-an386 map (4 MiB), warns when it would not fit the STM32F405RG's.
fn check_flash_budget(
    model: &str,
    len: usize,
    flash: usize,
    map: &str,
    manifest_dir: &Path,
    stm32: bool,
) {
    let budget = flash.saturating_sub(CODE_RESERVE);
    if len > budget {
        fail(&format!(
            "{} is {len} bytes, larger than the flash budget for the model: {budget} bytes \
             (FLASH {} KiB in memory/{map}, less {} KiB kept for the firmware's code).\n\
             Export fewer stored latents (`hyperinr export --latents test:N`) or a smaller \
             network.",
            model,
            flash / 1024,
            CODE_RESERVE / 1024
        ));
    }
    if !stm32 {
        let board = flash_length(&manifest_dir.join("memory").join("stm32f405.x"));
        let board_budget = board.saturating_sub(CODE_RESERVE);
        if len > board_budget {
            println!(
                "cargo:warning={} is {len} bytes: it fits this QEMU map but not an STM32F405RG \
                 ({board_budget} bytes for the model)",
                model
            );
        }
    }
}

fn write(path: &Path, bytes: &[u8]) {
    // Only rewrite on change, so that an unchanged model does not relink.
    if fs::read(path).ok().as_deref() == Some(bytes) {
        return;
    }
    if let Err(e) = fs::write(path, bytes) {
        fail(&format!("cannot write {}: {e}", path.display()));
    }
}

/// Everything the firmware sizes statically: the runtime's buffers and those of the boot
/// check (`hyperinr_runtime::check`).
struct Sizes {
    latent: usize,
    weights: usize,
    scratch: usize,
    logits: usize,
    render: usize,
    coords: usize,
    /// Step 6's buffers (0 without observations).
    fit_grads: usize,
    fit_state: usize,
    fit_scratch: usize,
    fit_coords: usize,
    fit_targets: usize,
}

impl Sizes {
    fn of(model: &Model<'_>, fitting: bool) -> Sizes {
        let s = model.sizes();
        let fit = |n: usize| if fitting { n } else { 0 };
        Sizes {
            latent: s.latent,
            weights: s.weights,
            scratch: s.scratch,
            logits: s.logits,
            render: check::render_len(model),
            coords: check::coords_len(model),
            fit_grads: fit(s.weights),
            fit_state: fit(s.fit_state),
            fit_scratch: fit(s.fit_scratch),
            fit_coords: fit(check::fit_coords_len(model)),
            fit_targets: fit(check::fit_targets_len(model)),
        }
    }
}

/// `Err` with the reason when the observations do not parse or do not suit the model.
fn suits(model: &Model<'_>, bytes: &[u8]) -> Result<(), String> {
    let obs =
        Observations::parse(bytes).map_err(|e| format!("not a valid observations file: {e}"))?;
    match (obs.kind, model.config().input) {
        (
            ObservationKind::Image { width, height },
            InputKind::Image {
                width: w,
                height: h,
            },
        ) if (width, height) != (w, h) => Err(format!(
            "its images are {width}×{height}, the model's {w}×{h}"
        )),
        (ObservationKind::Image { .. }, InputKind::PointCloud { .. }) => {
            Err("it holds images, the model represents point clouds".into())
        }
        (ObservationKind::PointCloud { .. }, InputKind::Image { .. }) => {
            Err("it holds point clouds, the model represents images".into())
        }
        _ => match obs
            .iter()
            .find(|o| usize::from(o.label) >= model.sizes().logits)
        {
            Some(o) => Err(format!(
                "observation of dataset index {} has label {}, the model has {} classes",
                o.dataset_index,
                o.label,
                model.sizes().logits
            )),
            None => Ok(()),
        },
    }
}

fn generate(path: &Path, blob_len: usize, sizes: Option<&Sizes>, fitting: bool) -> String {
    // A model that does not parse never reaches the buffers: give them one element each.
    let fallback = Sizes {
        latent: 1,
        weights: 1,
        scratch: 1,
        logits: 1,
        render: 1,
        coords: 0,
        fit_grads: 0,
        fit_state: 0,
        fit_scratch: 0,
        fit_coords: 0,
        fit_targets: 0,
    };
    let s = sizes.unwrap_or(&fallback);
    let mut code = String::new();
    let _ = writeln!(code, "// Generated by build.rs from {}.", path.display());
    let lines = [
        (
            "bool",
            "MODEL_VALID",
            sizes.is_some().to_string(),
            "The build script could parse the model.",
        ),
        (
            "usize",
            "MODEL_LEN",
            blob_len.to_string(),
            "Bytes in the embedded blob.",
        ),
        (
            "usize",
            "LATENT",
            s.latent.to_string(),
            "Latent code length.",
        ),
        (
            "usize",
            "WEIGHTS",
            s.weights.to_string(),
            "SIREN parameters per latent.",
        ),
        (
            "usize",
            "SCRATCH",
            s.scratch.to_string(),
            "Scratch shared by every entry point.",
        ),
        (
            "usize",
            "LOGITS",
            s.logits.to_string(),
            "Classifier outputs.",
        ),
        (
            "usize",
            "RENDER_LEN",
            s.render.to_string(),
            "SIREN outputs rendered (`check::render_len`).",
        ),
        (
            "usize",
            "COORDS_LEN",
            s.coords.to_string(),
            "Query coordinates of the render (`check::coords_len`; point clouds only).",
        ),
        (
            "bool",
            "FITTING",
            fitting.to_string(),
            "Observations are embedded: step 6 fits them.",
        ),
        (
            "usize",
            "FIT_GRADS",
            s.fit_grads.to_string(),
            "Gradient of the SIREN parameters (fitting).",
        ),
        (
            "usize",
            "FIT_STATE",
            s.fit_state.to_string(),
            "Adam's moments and the latent's gradient (`Sizes::fit_state`).",
        ),
        (
            "usize",
            "FIT_SCRATCH",
            s.fit_scratch.to_string(),
            "Fitting scratch (`Sizes::fit_scratch`).",
        ),
        (
            "usize",
            "FIT_COORDS",
            s.fit_coords.to_string(),
            "Query points of a cloud observation (`check::fit_coords_len`).",
        ),
        (
            "usize",
            "FIT_TARGETS",
            s.fit_targets.to_string(),
            "Their target distances (`check::fit_targets_len`).",
        ),
    ];
    for (ty, name, value, doc) in lines {
        let _ = writeln!(code, "/// {doc}\npub const {name}: {ty} = {value};");
    }
    let _ = writeln!(
        code,
        "/// The model file, in flash.\npub static MODEL: &[u8] = include_bytes!(concat!(env!(\"OUT_DIR\"), \"/model.hinr\"));"
    );
    let _ = writeln!(
        code,
        "/// The observations file, in flash (empty without `HYPERINR_OBSERVATIONS`).\npub static OBSERVATIONS: &[u8] = include_bytes!(concat!(env!(\"OUT_DIR\"), \"/observations.hobs\"));"
    );
    code
}

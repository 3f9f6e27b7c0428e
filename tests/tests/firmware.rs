//! Host/firmware bitwise parity: the firmware in QEMU (mps2-an386 and netduinoplus2) must
//! produce the same bits as `hyperinr-runtime` on the host for the same model file.
//!
//! Each firmware variant (blob × machine) is built once per test run (builds are
//! serialised; they share `target/hyperinr-firmware/`) and run once; the tests share the
//! runs. Needs `qemu-system-arm` and the `thumbv7em-none-eabihf` target: without them the
//! tests fail and say how to install them.

use hyperinr_runtime::{check, Model};
use hyperinr_shared::observations::{strided_pixels, Observations};
use hyperinr_tests::expected::{self, Expected};
use hyperinr_tests::firmware::{self, Firmware, Machine, Run};
use hyperinr_tests::observations;
use hyperinr_tests::results::{RenderKind, Stage};
use hyperinr_tests::synthetic::{self, Spec};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// The trainer's MCU export, tested too once it exists.
const TRAINED_MODEL: &str = "models/fashion-mnist-mcu.hinr";
/// The shipped shape model (ModelNet10, UDF SIREN), small enough for the MCU as it is.
const SHAPE_MODEL: &str = "models/modelnet10.hinr";
const QEMU_TIMEOUT: Duration = Duration::from_secs(300);
/// Fitting 16 images takes ≈ 50 G instructions in QEMU: minutes on a busy 2-core machine.
const FIT_QEMU_TIMEOUT: Duration = Duration::from_secs(1500);
/// Firmware builds share one target dir: one at a time (cargo would block anyway; this
/// keeps each build and the copy of its ELF together).
static BUILD: Mutex<()> = Mutex::new(());

fn fashion_blob() -> &'static [u8] {
    static BLOB: OnceLock<Vec<u8>> = OnceLock::new();
    BLOB.get_or_init(|| synthetic::model_bytes(&Spec::fashion_mnist()))
}

/// Format version 2: φ = SiLU MLP + linear path.
fn silu_linear_blob() -> &'static [u8] {
    static BLOB: OnceLock<Vec<u8>> = OnceLock::new();
    BLOB.get_or_init(|| synthetic::model_bytes(&Spec::fashion_mnist_silu_linear()))
}

fn point_cloud_blob() -> &'static [u8] {
    static BLOB: OnceLock<Vec<u8>> = OnceLock::new();
    BLOB.get_or_init(|| synthetic::model_bytes(&Spec::point_cloud()))
}

/// The FashionMNIST-shaped blob with one payload byte flipped: the header CRC catches it.
fn corrupted_blob() -> Vec<u8> {
    let mut blob = fashion_blob().to_vec();
    let at = hyperinr_shared::HEADER_LEN + (blob.len() - hyperinr_shared::HEADER_LEN) / 3;
    blob[at] ^= 0x40;
    blob
}

/// A flipped byte with the CRC fixed up, so that the reader gets past the header and
/// rejects a field: the first config byte whose flip gives `FormatError::Invalid`.
fn inconsistent_blob() -> Vec<u8> {
    let good = fashion_blob();
    let payload_start = hyperinr_shared::HEADER_LEN;
    for at in payload_start..payload_start + 256 {
        let mut payload = good[payload_start..].to_vec();
        payload[at - payload_start] ^= 0x01;
        let version = u16::from_le_bytes([good[4], good[5]]);
        let mut blob = hyperinr_shared::Header::encode_version(&payload, version).to_vec();
        blob.extend_from_slice(&payload);
        let invalid = matches!(
            Model::from_bytes(&blob),
            Err(hyperinr_runtime::Error::Format(
                hyperinr_shared::FormatError::Invalid { .. }
            ))
        );
        if invalid {
            return blob;
        }
    }
    panic!("no single-bit flip in the first 256 payload bytes gives FormatError::Invalid");
}

/// Builds (serialised) and runs (once per key) a firmware variant.
fn variant(
    name: &str,
    machine: Machine,
    build: impl FnOnce() -> Result<Firmware, String>,
) -> Arc<Run> {
    variant_within(name, machine, QEMU_TIMEOUT, build)
}

/// [`variant`] with its own QEMU time limit.
fn variant_within(
    name: &str,
    machine: Machine,
    timeout: Duration,
    build: impl FnOnce() -> Result<Firmware, String>,
) -> Arc<Run> {
    type Cell = Arc<OnceLock<Result<Arc<Run>, String>>>;
    static CACHE: OnceLock<Mutex<HashMap<(String, Machine), Cell>>> = OnceLock::new();
    if let Err(e) = firmware::require_qemu() {
        panic!("{e}");
    }
    let cell: Cell = {
        let mut map = CACHE
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        map.entry((name.to_string(), machine)).or_default().clone()
    };
    let result = cell.get_or_init(|| {
        let fw = {
            let _guard = BUILD.lock().unwrap_or_else(|p| p.into_inner());
            build()?
        };
        let run = firmware::run(&fw, timeout)?;
        eprintln!(
            "ran {name} on {machine}: exit {:?} in {:.2} s",
            run.status,
            run.elapsed.as_secs_f64()
        );
        Ok(Arc::new(run))
    });
    match result {
        Ok(run) => run.clone(),
        Err(e) => panic!("{e}"),
    }
}

fn blob_variant(name: &str, blob: &[u8], machine: Machine, allow_invalid: bool) -> Arc<Run> {
    variant(name, machine, || {
        firmware::build(name, blob, machine, allow_invalid)
    })
}

/// Asserts a clean run with bit-identical results and the expected log lines.
fn assert_parity(run: &Run, blob: &[u8], machine: Machine) -> Expected {
    let host = expected::compute(blob).unwrap_or_else(|e| panic!("host runtime: {e}"));
    let device = run.results().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        run.status,
        Some(0),
        "firmware on {machine} exited with {:?}; log:\n{}",
        run.status,
        run.log_text()
    );
    assert!(
        device.errors.is_empty(),
        "device errors: {:?}",
        device.errors
    );
    assert_eq!(device.done, Some(0));
    assert_eq!(
        device.info.map(|i| i.2),
        Some(machine.memory_map()),
        "the ELF was built for another memory map"
    );
    assert!(
        device.weights.len() >= 3.min(host.classes.len()),
        "fewer than 3 decoded latents"
    );
    let problems = expected::compare(device, &host);
    assert!(
        problems.is_empty(),
        "firmware on {machine} differs from the host runtime:\n  {}",
        problems.join("\n  ")
    );
    // The golden vectors as stored in the file (not only as recomputed on the host).
    let model = Model::from_bytes(blob).unwrap_or_else(|e| panic!("{e}"));
    for (g, d) in model.file().golden.iter().zip(&device.golden) {
        assert_eq!(
            d.weights_crc, g.weights_crc,
            "golden {} weights crc",
            d.index
        );
        assert_eq!(d.class, g.class, "golden {} class", d.index);
        let outputs: Vec<u32> = g.outputs.iter().map(f32::to_bits).collect();
        let logits: Vec<u32> = g.logits.iter().map(f32::to_bits).collect();
        assert_eq!(d.outputs, outputs, "golden {} outputs", d.index);
        assert_eq!(d.logits, logits, "golden {} logits", d.index);
    }
    // The human log (defmt, decoded on the host) carries the same digests.
    let log = run.log_text();
    for line in expected::digest_lines(&host) {
        assert!(
            log.contains(&line),
            "log on {machine} lacks `{line}`; log:\n{log}"
        );
    }
    assert!(log.contains("done: all checks passed"), "log:\n{log}");
    host
}

#[test]
fn fashion_mnist_parity_on_mps2_an386() {
    let machine = Machine::Mps2An386;
    let run = blob_variant("synthetic-fashion-mnist", fashion_blob(), machine, false);
    assert_parity(&run, fashion_blob(), machine);
}

#[test]
fn fashion_mnist_parity_on_netduinoplus2() {
    let machine = Machine::Netduinoplus2;
    let run = blob_variant("synthetic-fashion-mnist", fashion_blob(), machine, false);
    assert_parity(&run, fashion_blob(), machine);
}

/// SiLU (libm `expf`) and the linear path give the same bits on the host and on both
/// Cortex-M4F machines.
#[test]
fn silu_linear_path_parity_on_both_machines() {
    let blob = silu_linear_blob();
    let model = Model::from_bytes(blob).expect("parse");
    assert_eq!(
        model.hyper_activation(),
        hyperinr_shared::HyperActivation::Silu
    );
    assert!(model.linear_path().is_some());
    assert_eq!(model.fit_settings().steps, 100);
    for machine in Machine::ALL {
        let run = blob_variant("synthetic-silu-linear", blob, machine, false);
        assert_parity(&run, blob, machine);
    }
}

#[test]
fn point_cloud_parity_on_mps2_an386() {
    let machine = Machine::Mps2An386;
    let run = blob_variant("synthetic-point-cloud", point_cloud_blob(), machine, false);
    let host = assert_parity(&run, point_cloud_blob(), machine);
    let render = host.render.expect("render");
    assert_eq!(
        (render.kind, render.points),
        (RenderKind::PointGrid, check::CLOUD_GRID.pow(3))
    );
}

/// The same typed error on both sides, a clean non-zero exit, no fault.
fn assert_rejected(run: &Run, blob: &[u8], machine: Machine) -> String {
    let host_error = match Model::from_bytes(blob) {
        Err(e) => e,
        Ok(_) => panic!("the host runtime accepts the corrupted blob"),
    };
    let host_text = format!("{host_error:?}");
    let log = run.log_text();
    assert_eq!(
        run.status,
        Some(1),
        "expected exit status 1 (model rejected) on {machine}; log:\n{log}\nstderr: {}",
        run.stderr
    );
    let device = run.results().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        device.errors,
        vec![(Stage::Parse, host_text.clone())],
        "typed error on {machine} differs from the host's"
    );
    assert_eq!(device.done, Some(1));
    assert!(device.classes.is_empty() && device.render.is_none());
    assert!(
        !log.contains("hard fault") && !log.contains("panic"),
        "log:\n{log}"
    );
    // defmt renders the same variant name over the log.
    let variant_name = host_text
        .trim_start_matches("Format(")
        .split([' ', '(', '{'])
        .next()
        .unwrap_or("")
        .to_string();
    assert!(
        log.lines()
            .any(|l| l.starts_with("ERROR") && l.contains(&variant_name)),
        "log on {machine} lacks an ERROR line with `{variant_name}`:\n{log}"
    );
    host_text
}

#[test]
fn corrupted_blob_is_rejected_with_the_same_typed_error() {
    let blob = corrupted_blob();
    for machine in Machine::ALL {
        let run = blob_variant("corrupted-payload", &blob, machine, true);
        let text = assert_rejected(&run, &blob, machine);
        assert!(text.starts_with("Format(CrcMismatch"), "{text}");
    }
}

#[test]
fn inconsistent_blob_is_rejected_with_the_same_typed_error() {
    let blob = inconsistent_blob();
    let machine = Machine::Mps2An386;
    let run = blob_variant("inconsistent-field", &blob, machine, true);
    let text = assert_rejected(&run, &blob, machine);
    assert!(text.starts_with("Format(Invalid"), "{text}");
}

/// A valid file whose first golden vector records a wrong weights CRC: both sides report
/// the same `GoldenMismatch`, the firmware exits 2 and still produces every other output.
#[test]
fn wrong_golden_vector_fails_the_self_test_on_both_sides() {
    let good = fashion_blob();
    let mut file = hyperinr_shared::ModelFile::parse(good).expect("parse");
    file.golden[0].weights_crc ^= 1;
    let blob = file.to_bytes().expect("encode");
    let host = expected::compute(&blob).expect("host runtime");
    let host_error = host.self_test.clone().expect_err("host self-test passes");
    assert!(
        host_error.starts_with("GoldenMismatch { vector: 0, check: Weights"),
        "{host_error}"
    );
    let machine = Machine::Mps2An386;
    let run = blob_variant("wrong-golden", &blob, machine, false);
    assert_eq!(run.status, Some(2), "log:\n{}", run.log_text());
    let device = run.results().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(device.errors, vec![(Stage::SelfTest, host_error)]);
    let problems = expected::compare(device, &host);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(device.done, Some(2));
}

/// The trainer's export, or the file named by `HYPERINR_TEST_MODEL` (relative to the
/// workspace root), through the same parity checks on both machines.
#[test]
fn trained_model_parity_when_present() {
    let root = firmware::workspace_root();
    let (relative, required) = match std::env::var("HYPERINR_TEST_MODEL") {
        Ok(p) if !p.is_empty() => (p, true),
        _ => (TRAINED_MODEL.to_string(), false),
    };
    let blob = match std::fs::read(root.join(&relative)) {
        Ok(blob) => blob,
        Err(e) if required => panic!("HYPERINR_TEST_MODEL={relative}: {e}"),
        Err(_) => {
            eprintln!("{relative} does not exist yet: only the synthetic models are tested");
            return;
        }
    };
    for machine in Machine::ALL {
        let run = variant("trained", machine, || {
            firmware::build_model_path("trained", Some(Path::new(&relative)), machine, false)
        });
        assert_parity(&run, &blob, machine);
    }
}

/// The shipped ModelNet10 model on both machines: the firmware classifies every stored
/// shape latent (and decodes the weights of the first, middle and last) bit for bit like the
/// host runtime.
#[test]
fn trained_shape_model_parity() {
    let root = firmware::workspace_root();
    let blob =
        std::fs::read(root.join(SHAPE_MODEL)).unwrap_or_else(|e| panic!("{SHAPE_MODEL}: {e}"));
    for machine in Machine::ALL {
        let run = variant("modelnet10", machine, || {
            firmware::build_model_path("modelnet10", Some(Path::new(SHAPE_MODEL)), machine, false)
        });
        assert_parity(&run, &blob, machine);
    }
}

#[test]
fn build_fails_clearly_without_a_usable_model() {
    let root = firmware::workspace_root();
    let _guard = BUILD.lock().unwrap_or_else(|p| p.into_inner());
    if !root.join(TRAINED_MODEL).exists() {
        // The default model is missing: the build script names it and the way out.
        let out = firmware::cargo_build(None, Machine::Mps2An386, false).expect("cargo");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "build without the default model succeeded"
        );
        assert!(
            stderr.contains(TRAINED_MODEL) && stderr.contains("HYPERINR_MODEL="),
            "unclear message:\n{stderr}"
        );
    }
    // A corrupted model without HYPERINR_ALLOW_INVALID_MODEL fails the build, with the error.
    let dir = firmware::work_dir().join("models");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let bad = dir.join("rejected-at-build.hinr");
    std::fs::write(&bad, corrupted_blob()).expect("write");
    let relative = bad.strip_prefix(&root).expect("under the workspace");
    let out = firmware::cargo_build(Some(relative), Machine::Mps2An386, false).expect("cargo");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "build with a corrupted model succeeded"
    );
    assert!(
        stderr.contains("is not a valid model") && stderr.contains("CRC"),
        "unclear message:\n{stderr}"
    );
}

/// A model over the flash budget (FLASH length less 128 KiB for the code) fails the build
/// with the file, its size and the budget, not with a linker error.
#[test]
fn build_refuses_a_model_over_the_flash_budget() {
    let root = firmware::workspace_root();
    // 1 MiB of flash on the STM32F405 map: a valid FashionMNIST-shaped model with 8,000
    // stored latents is about 1.05 MB.
    let mut spec = Spec::fashion_mnist();
    spec.latent_count = 8000;
    let blob = synthetic::model_bytes(&spec);
    let budget = 1024 * 1024 - 128 * 1024;
    assert!(blob.len() > budget, "{} bytes", blob.len());
    let dir = firmware::work_dir().join("models");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let big = dir.join("over-flash-budget.hinr");
    std::fs::write(&big, &blob).expect("write");
    let relative = big.strip_prefix(&root).expect("under the workspace");
    let out = {
        let _guard = BUILD.lock().unwrap_or_else(|p| p.into_inner());
        firmware::cargo_build(Some(relative), Machine::Netduinoplus2, false).expect("cargo")
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "build with a too large model succeeded"
    );
    for needle in [
        &big.display().to_string(),
        &format!("is {} bytes", blob.len()),
        &format!("flash budget for the model: {budget} bytes"),
        "FLASH 1024 KiB in memory/stm32f405.x",
    ] {
        assert!(stderr.contains(needle), "lacks `{needle}`:\n{stderr}");
    }
    assert!(!stderr.contains("overflowed"), "a linker error:\n{stderr}");
}

/// The firmware links with flip-link: the stack lies below the statics, so a stack overflow
/// runs off the start of RAM and faults. Built with feature `stack-overflow-check` (main
/// recurses until the stack overflows), the hard fault handler must report the overflow
/// over defmt with the statics intact and exit with status 103 — not corrupt `.data`/`.bss`
/// and not lock up.
#[test]
fn stack_overflow_is_caught() {
    for machine in Machine::ALL {
        let run = variant("stack-overflow", machine, || {
            firmware::build_with_features(
                "stack-overflow",
                point_cloud_blob(),
                machine,
                false,
                &["stack-overflow-check"],
            )
        });
        let log = run.log_text();
        assert_eq!(
            run.status,
            Some(103),
            "expected exit status 103 (stack overflow) on {machine}; log:\n{log}\nstderr: {}",
            run.stderr
        );
        for needle in [
            "INFO stack-overflow-check: recursing",
            "levels deep when the stack overflowed",
            "ERROR hard fault: stack overflow: sp 0x1",
            "stack region 0x20000000..",
            "statics intact: true; statics above the stack (flip-link): true",
        ] {
            assert!(
                log.contains(needle),
                "log on {machine} lacks `{needle}`:\n{log}"
            );
        }
        assert!(!log.contains("panic"), "log:\n{log}");
    }
}

/// Instruction counts (QEMU `-icount shift=0`, SysTick, calibrated), MACs, stack use;
/// printed for firmware/README.md (`cargo test -p hyperinr-tests -- --nocapture measure`).
#[test]
fn measure_instructions_and_stack() {
    for machine in Machine::ALL {
        let run = blob_variant("synthetic-fashion-mnist", fashion_blob(), machine, false);
        let r = run.results().unwrap_or_else(|e| panic!("{e}"));
        let per_tick = r.instructions_per_tick().expect("calibration");
        eprintln!("{machine}: {per_tick:.4} instructions per SysTick tick");
        for (name, what) in [
            ("DECO", "decode"),
            ("CLAS", "classify"),
            ("REND", "render 28x28"),
        ] {
            let t = r
                .tick(name)
                .unwrap_or_else(|| panic!("no {name} measurement"));
            let insns = r.instructions(name).expect("instructions");
            let per_mac = insns as f64 / t.work as f64;
            eprintln!(
                "{machine}: {what}: {insns} instructions, {} MACs, {per_mac:.2} instructions/MAC",
                t.work
            );
            assert!(
                t.work > 0 && insns > t.work,
                "{name}: {insns} instructions for {} MACs",
                t.work
            );
            assert!(per_mac < 1000.0, "{name}: {per_mac} instructions per MAC");
        }
        let sine = r.tick("SINE").expect("SINE measurement");
        let sine_insns = r.instructions("SINE").expect("instructions");
        eprintln!(
            "{machine}: sine: {:.0} instructions per call (runtime f32 sine, {} calls, loop included)",
            sine_insns as f64 / sine.work as f64,
            sine.work
        );
        let (used, size) = r.stack.expect("stack record");
        eprintln!("{machine}: stack high-water mark {used} of {size} bytes");
        assert!(used > 0 && used < size / 2, "stack use {used} of {size}");
    }
}

// ---------------------------------------------------------------------------------------
// Step 6: fitting on the device
// ---------------------------------------------------------------------------------------

fn shipped(path: &str) -> &'static [u8] {
    static BLOBS: OnceLock<Mutex<HashMap<String, &'static [u8]>>> = OnceLock::new();
    let mut map = BLOBS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    map.entry(path.to_string()).or_insert_with(|| {
        let full = firmware::workspace_root().join(path);
        let bytes = std::fs::read(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()));
        Box::leak(bytes.into_boxed_slice())
    })
}

fn fitting_variant(
    name: &str,
    blob: &[u8],
    observations: &[u8],
    machine: Machine,
    allow_invalid: bool,
) -> Arc<Run> {
    variant_within(name, machine, FIT_QEMU_TIMEOUT, || {
        firmware::build_fitting(name, blob, observations, machine, allow_invalid)
    })
}

/// A clean run whose every output, the fitted latents, logits and classes included, has
/// the host's bits.
fn assert_fitting_parity(
    run: &Run,
    blob: &[u8],
    observations: &[u8],
    machine: Machine,
) -> Expected {
    let obs = Observations::parse(observations).unwrap_or_else(|e| panic!("{e}"));
    let host = expected::compute_with(blob, Some(&obs)).unwrap_or_else(|e| panic!("host: {e}"));
    let log = run.log_text();
    assert_eq!(
        run.status,
        Some(0),
        "{machine}: exit status; log:\n{log}\n{}",
        run.stderr
    );
    let device = run.results().unwrap_or_else(|e| panic!("{e}"));
    let problems = expected::compare(device, &host);
    assert!(problems.is_empty(), "{machine}: {problems:#?}");
    assert_eq!(host.fitted.len(), obs.len());
    let steps = Model::from_bytes(blob).unwrap().fit_settings().steps;
    assert!(host.fitted.iter().all(|f| f.steps == steps && f.steps > 0));
    let (correct, count) = host.fit_accuracy.expect("FACC");
    let line = format!("accuracy of the latents fitted on the device: {correct}/{count} = ");
    assert!(log.contains(&line), "{machine}: log lacks `{line}`:\n{log}");
    assert_eq!(device.ticks_named("FIT ").count(), obs.len());
    host
}

#[test]
fn image_model_fits_on_the_device_bit_for_bit() {
    let blob = shipped(TRAINED_MODEL);
    let observations = observations::fashion_mnist(&[0, 1], &[]);
    for machine in Machine::ALL {
        let run = fitting_variant("fit-fashion-mnist-mcu", blob, &observations, machine, false);
        let host = assert_fitting_parity(&run, blob, &observations, machine);
        assert!(host.fitted.iter().all(|f| f.points == 784));
    }
}

#[test]
fn shape_model_fits_on_the_device_bit_for_bit() {
    let blob = shipped(SHAPE_MODEL);
    // Two classes: the subset holds 3 test shapes per class, in label order.
    let observations = observations::modelnet10(&[0, 15]);
    for machine in Machine::ALL {
        let run = fitting_variant("fit-modelnet10", blob, &observations, machine, false);
        let host = assert_fitting_parity(&run, blob, &observations, machine);
        assert!(host
            .fitted
            .iter()
            .all(|f| f.points as usize == check::FIT_QUERIES));
        assert!(run.results().unwrap().ticks_named("QURY").count() == 2);
    }
}

/// The firmware rejects a damaged observations file with the reader's typed error (stage
/// 4, exit status 5), the same `Debug` text the host's reader gives.
#[test]
fn damaged_observations_are_the_same_typed_error_on_both_sides() {
    let blob = shipped(TRAINED_MODEL);
    let good = observations::fashion_mnist(&[0], &strided_pixels(28, 28, 2).collect::<Vec<_>>());
    // A corrupt length: the last byte lost.
    let short = good[..good.len() - 1].to_vec();
    // A fitted pixel index past the image (784), with the CRC made right again.
    let mut outside = good.clone();
    outside[32..36].copy_from_slice(&784u32.to_le_bytes());
    let crc = hyperinr_shared::crc32::crc32(&outside[32..]);
    outside[28..32].copy_from_slice(&crc.to_le_bytes());
    for (name, bad) in [("obs-short", short), ("obs-pixel-index", outside)] {
        let host = Observations::parse(&bad).expect_err("the host's reader must reject it");
        let run = fitting_variant(name, blob, &bad, Machine::Mps2An386, true);
        let log = run.log_text();
        assert_eq!(run.status, Some(5), "{name}: log:\n{log}");
        let device = run.results().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            device.errors,
            vec![(Stage::Observations, format!("{host:?}"))],
            "{name}"
        );
        assert!(device.fitted.is_empty());
        assert!(
            log.contains("the embedded observations were rejected"),
            "{name}: {log}"
        );
    }
}

#[test]
fn build_refuses_observations_that_do_not_suit_the_model() {
    let blob = shipped(TRAINED_MODEL);
    let clouds = observations::modelnet10(&[0]);
    let _guard = BUILD.lock().unwrap_or_else(|p| p.into_inner());
    let err = firmware::build_fitting(
        "obs-clouds-for-images",
        blob,
        &clouds,
        Machine::Mps2An386,
        false,
    )
    .expect_err("the build must refuse point clouds for an image model");
    assert!(
        err.contains("it holds point clouds, the model represents images")
            && err.contains("HYPERINR_ALLOW_INVALID_OBSERVATIONS=1"),
        "{err}"
    );
}

/// RAM of both memory maps (the statics sit above the stack; the stack region is the rest).
const RAM_BYTES: u32 = 128 * 1024;

/// On-device fitting figures for firmware/README.md (`cargo test --release -p hyperinr-tests
/// --test firmware -- --nocapture measure_on_device_fitting`): the shipped MCU image model
/// fits the first 16 test images of the in-repo subset at all 784 pixels and at the 196 of
/// every other row and column, the shape model its 2 parity clouds; instructions per step
/// and per observation, peak RAM, the device's accuracy. Every fitted latent is also
/// checked bit for bit against the host.
#[test]
fn measure_on_device_fitting() {
    let image = shipped(TRAINED_MODEL);
    let first16: Vec<usize> = (0..16).collect();
    let cases = [
        (
            "measure-fit-784",
            image,
            observations::fashion_mnist(&first16, &[]),
        ),
        (
            "measure-fit-196",
            image,
            observations::fashion_mnist(&first16, &strided_pixels(28, 28, 2).collect::<Vec<_>>()),
        ),
        (
            "fit-modelnet10",
            shipped(SHAPE_MODEL),
            observations::modelnet10(&[0, 15]),
        ),
    ];
    let machine = Machine::Mps2An386;
    for (name, blob, obs) in cases {
        let run = fitting_variant(name, blob, &obs, machine, false);
        let host = assert_fitting_parity(&run, blob, &obs, machine);
        let r = run.results().unwrap_or_else(|e| panic!("{e}"));
        let model = Model::from_bytes(blob).unwrap();
        let fits: Vec<u64> = r
            .ticks_named("FIT ")
            .map(|t| r.instructions_of(t))
            .collect();
        let steps = host.fitted[0].steps as u64;
        let points = host.fitted[0].points as usize;
        let per_step = fits.iter().sum::<u64>() as f64 / (fits.len() as u64 * steps) as f64;
        let macs = model.fit_step_macs(points);
        let per_image = fits.iter().sum::<u64>() as f64 / fits.len() as f64;
        let (used, size) = r.stack.expect("stack record");
        let statics = RAM_BYTES - size;
        let (correct, count) = host.fit_accuracy.unwrap();
        eprintln!(
            "{name}: {count} observations, {steps} steps at {points} points: {per_step:.0} instructions per step \
             ({macs} MACs, {:.2} instructions/MAC), {per_image:.0} per observation ({:.1} s at 168 MHz, one \
             instruction a cycle); peak RAM {} bytes (statics {statics} + stack {used}); accuracy {correct}/{count}",
            per_step / macs as f64,
            per_image / 168e6,
            statics + used
        );
        if let Some(q) = r.ticks_named("QURY").next() {
            eprintln!(
                "{name}: drawing {} queries: {} instructions ({} distance evaluations)",
                check::FIT_QUERIES,
                r.instructions_of(q),
                q.work
            );
        }
        assert!(
            per_step > macs as f64,
            "{per_step} instructions for {macs} MACs"
        );
        assert!(statics + used <= RAM_BYTES, "peak RAM {}", statics + used);
    }
}

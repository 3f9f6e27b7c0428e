//! Build the firmware for a model blob, run it in QEMU, decode what it reports.
//!
//! Builds go through `cargo build --release` inside `firmware/` (so that its
//! `.cargo/config.toml` applies) into `target/hyperinr-firmware/`, with `HYPERINR_MODEL`
//! pointing at the blob. Runs use the same QEMU command line as the firmware's runner, in
//! a fresh directory where the firmware's semihosting file operations create
//! `hyperinr-results.bin`; semihosting stdout carries the defmt frames, decoded here with
//! `defmt-decoder` (no `defmt-print` needed).

use crate::results::Results;
use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A QEMU machine the firmware runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Machine {
    /// ARM MPS2 with AN386 (Cortex-M4F); the firmware's default memory map.
    Mps2An386,
    /// Netduino Plus 2 (STM32F405RG); the firmware's `stm32f405` memory map.
    Netduinoplus2,
}

impl Machine {
    /// Both machines.
    pub const ALL: [Machine; 2] = [Machine::Mps2An386, Machine::Netduinoplus2];

    /// QEMU's `-machine` name.
    pub fn qemu_name(self) -> &'static str {
        match self {
            Machine::Mps2An386 => "mps2-an386",
            Machine::Netduinoplus2 => "netduinoplus2",
        }
    }

    /// Cargo features selecting this machine's memory map.
    pub fn features(self) -> &'static [&'static str] {
        match self {
            Machine::Mps2An386 => &[],
            Machine::Netduinoplus2 => &["stm32f405"],
        }
    }

    /// The memory map the firmware reports in its `INFO` record.
    pub fn memory_map(self) -> u32 {
        match self {
            Machine::Mps2An386 => 0,
            Machine::Netduinoplus2 => 1,
        }
    }
}

impl fmt::Display for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.qemu_name())
    }
}

/// The workspace root (parent of this crate).
pub fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(Path::to_path_buf).unwrap_or(here)
}

/// Where builds, blobs and runs go: `target/hyperinr-firmware/`.
pub fn work_dir() -> PathBuf {
    workspace_root().join("target").join("hyperinr-firmware")
}

/// How to install what the firmware tests need, for error messages.
pub const INSTALL_HINT: &str = "install the firmware toolchain: \
    `apt-get install -y qemu-system-arm binutils-arm-none-eabi`, \
    `rustup target add thumbv7em-none-eabihf` (rust-toolchain.toml lists the target) and \
    `cargo install flip-link --locked` (the firmware's linker)";

/// Checks that `qemu-system-arm` runs; the error says how to install it.
pub fn require_qemu() -> Result<String, String> {
    match Command::new("qemu-system-arm").arg("--version").output() {
        Ok(out) if out.status.success() => Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .to_string()),
        Ok(out) => Err(format!(
            "`qemu-system-arm --version` failed ({}): {}; {INSTALL_HINT}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )),
        Err(e) => Err(format!(
            "qemu-system-arm is not installed ({e}): the firmware parity tests run the \
             firmware in QEMU; {INSTALL_HINT}"
        )),
    }
}

/// A built firmware image.
#[derive(Clone, Debug)]
pub struct Firmware {
    /// A short name for the embedded blob.
    pub name: String,
    /// The machine (memory map) it was built for.
    pub machine: Machine,
    /// The ELF file (copied out of the shared target dir).
    pub elf: PathBuf,
}

/// Environment variables of the calling cargo that must not reach the firmware build:
/// flags for the host (`RUSTFLAGS` would also replace the firmware's linker-script flags),
/// its target dir and target.
fn scrub(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        let drop = matches!(
            key,
            "RUSTFLAGS"
                | "RUSTDOCFLAGS"
                | "CARGO_ENCODED_RUSTFLAGS"
                | "CARGO_ENCODED_RUSTDOCFLAGS"
                | "CARGO_BUILD_RUSTFLAGS"
                | "CARGO_BUILD_TARGET"
                | "CARGO_BUILD_TARGET_DIR"
                | "CARGO_TARGET_DIR"
                | "CARGO_MAKEFLAGS"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_CRATE_NAME"
                | "CARGO_TARGET_TMPDIR"
                | "RUSTC_WORKSPACE_WRAPPER"
                | "HYPERINR_MODEL"
                | "HYPERINR_ALLOW_INVALID_MODEL"
        ) || key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_BIN_")
            || key.starts_with("CARGO_CFG_");
        if drop {
            cmd.env_remove(key);
        }
    }
}

/// Builds the firmware embedding `blob` for `machine`.
///
/// The blob is written to `target/hyperinr-firmware/models/<name>.hinr` and passed as
/// `HYPERINR_MODEL` relative to the workspace root, as a user would. `allow_invalid`
/// sets `HYPERINR_ALLOW_INVALID_MODEL=1` (for corrupted blobs). Builds share one target
/// dir, so call this from one thread at a time (see `tests/firmware.rs`).
pub fn build(
    name: &str,
    blob: &[u8],
    machine: Machine,
    allow_invalid: bool,
) -> Result<Firmware, String> {
    build_with_features(name, blob, machine, allow_invalid, &[])
}

/// [`build`] with extra cargo features of the firmware (e.g. `stack-overflow-check`).
pub fn build_with_features(
    name: &str,
    blob: &[u8],
    machine: Machine,
    allow_invalid: bool,
    features: &[&str],
) -> Result<Firmware, String> {
    let models = work_dir().join("models");
    std::fs::create_dir_all(&models)
        .map_err(|e| format!("cannot create {}: {e}", models.display()))?;
    let blob_path = models.join(format!("{name}.hinr"));
    if std::fs::read(&blob_path).ok().as_deref() != Some(blob) {
        std::fs::write(&blob_path, blob)
            .map_err(|e| format!("cannot write {}: {e}", blob_path.display()))?;
    }
    let root = workspace_root();
    let relative = blob_path
        .strip_prefix(&root)
        .unwrap_or(&blob_path)
        .to_path_buf();
    build_model_path_with_features(name, Some(&relative), machine, allow_invalid, features)
}

/// `cargo build --release` of the firmware for `machine` with `HYPERINR_MODEL` set to
/// `model` (relative to the workspace root; `None`: unset, i.e. the default model).
pub fn cargo_build(
    model: Option<&Path>,
    machine: Machine,
    allow_invalid: bool,
) -> Result<std::process::Output, String> {
    cargo_build_with_features(model, machine, allow_invalid, &[])
}

/// [`cargo_build`] with extra cargo features of the firmware.
pub fn cargo_build_with_features(
    model: Option<&Path>,
    machine: Machine,
    allow_invalid: bool,
    features: &[&str],
) -> Result<std::process::Output, String> {
    cargo_build_env(model, machine, allow_invalid, features, &[])
}

/// [`cargo_build_with_features`] with extra environment variables for the build script
/// (`HYPERINR_OBSERVATIONS`, `HYPERINR_ALLOW_INVALID_OBSERVATIONS`).
pub fn cargo_build_env(
    model: Option<&Path>,
    machine: Machine,
    allow_invalid: bool,
    features: &[&str],
    env: &[(&str, &std::ffi::OsStr)],
) -> Result<std::process::Output, String> {
    let root = workspace_root();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    scrub(&mut cmd);
    cmd.current_dir(root.join("firmware"))
        .args(["build", "--release"])
        .env("CARGO_TARGET_DIR", work_dir().join("target"))
        .stdin(Stdio::null());
    if let Some(model) = model {
        cmd.env("HYPERINR_MODEL", model);
    }
    let features: Vec<&str> = machine.features().iter().chain(features).copied().collect();
    if !features.is_empty() {
        cmd.args(["--features", &features.join(",")]);
    }
    if allow_invalid {
        cmd.env("HYPERINR_ALLOW_INVALID_MODEL", "1");
    }
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd.output()
        .map_err(|e| format!("cannot run cargo for the firmware: {e}"))
}

/// Builds the firmware for `machine` with `HYPERINR_MODEL=model` and copies the ELF to
/// `target/hyperinr-firmware/elf/<name>-<machine>.elf`.
pub fn build_model_path(
    name: &str,
    model: Option<&Path>,
    machine: Machine,
    allow_invalid: bool,
) -> Result<Firmware, String> {
    build_model_path_with_features(name, model, machine, allow_invalid, &[])
}

/// [`build_model_path`] with extra cargo features of the firmware.
pub fn build_model_path_with_features(
    name: &str,
    model: Option<&Path>,
    machine: Machine,
    allow_invalid: bool,
    features: &[&str],
) -> Result<Firmware, String> {
    build_model_path_env(name, model, machine, allow_invalid, features, &[])
}

/// Builds the firmware embedding `blob` and the observations file `observations` (written
/// to `target/hyperinr-firmware/observations/<name>.hobs` and passed as
/// `HYPERINR_OBSERVATIONS` relative to the workspace root); `allow_invalid_observations`
/// sets `HYPERINR_ALLOW_INVALID_OBSERVATIONS=1`.
pub fn build_fitting(
    name: &str,
    blob: &[u8],
    observations: &[u8],
    machine: Machine,
    allow_invalid_observations: bool,
) -> Result<Firmware, String> {
    let root = workspace_root();
    let mut relative = Vec::new();
    for (dir, ext, bytes) in [
        ("models", "hinr", blob),
        ("observations", "hobs", observations),
    ] {
        let folder = work_dir().join(dir);
        std::fs::create_dir_all(&folder)
            .map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
        let path = folder.join(format!("{name}.{ext}"));
        if std::fs::read(&path).ok().as_deref() != Some(bytes) {
            std::fs::write(&path, bytes)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
        relative.push(path.strip_prefix(&root).unwrap_or(&path).to_path_buf());
    }
    let mut env: Vec<(&str, &std::ffi::OsStr)> =
        vec![("HYPERINR_OBSERVATIONS", relative[1].as_os_str())];
    if allow_invalid_observations {
        env.push(("HYPERINR_ALLOW_INVALID_OBSERVATIONS", "1".as_ref()));
    }
    build_model_path_env(name, Some(&relative[0]), machine, false, &[], &env)
}

fn build_model_path_env(
    name: &str,
    model: Option<&Path>,
    machine: Machine,
    allow_invalid: bool,
    features: &[&str],
    env: &[(&str, &std::ffi::OsStr)],
) -> Result<Firmware, String> {
    let work = work_dir();
    let elves = work.join("elf");
    std::fs::create_dir_all(&elves)
        .map_err(|e| format!("cannot create {}: {e}", elves.display()))?;
    let started = Instant::now();
    let out = cargo_build_env(model, machine, allow_invalid, features, env)?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(40).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        let hint = if (stderr.contains("thumbv7em-none-eabihf")
            && stderr.contains("target may not be installed"))
            || stderr.contains("linker `flip-link` not found")
        {
            format!("\nhint: {INSTALL_HINT}")
        } else {
            String::new()
        };
        return Err(format!(
            "firmware build for {name} on {machine} failed ({}):\n{}{hint}",
            out.status,
            tail.join("\n")
        ));
    }
    let built = work
        .join("target")
        .join("thumbv7em-none-eabihf")
        .join("release")
        .join("hyperinr-firmware");
    let elf = elves.join(format!("{name}-{machine}.elf"));
    std::fs::copy(&built, &elf)
        .map_err(|e| format!("cannot copy {} to {}: {e}", built.display(), elf.display()))?;
    eprintln!(
        "built firmware {name} for {machine} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(Firmware {
        name: name.to_string(),
        machine,
        elf,
    })
}

/// What one QEMU run produced.
#[derive(Clone, Debug)]
pub struct Run {
    /// QEMU's exit code (the firmware's semihosting exit status); `None` if killed.
    pub status: Option<i32>,
    /// Decoded defmt log lines, `LEVEL message`.
    pub log: Vec<String>,
    /// The results file, if the firmware wrote one.
    pub results: Option<Results>,
    /// Why the results file could not be read, if it could not.
    pub results_error: Option<String>,
    /// QEMU's stderr.
    pub stderr: String,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
}

impl Run {
    /// The log as one string, for assertion messages.
    pub fn log_text(&self) -> String {
        self.log.join("\n")
    }

    /// The results, or a message with the log.
    pub fn results(&self) -> Result<&Results, String> {
        self.results.as_ref().ok_or_else(|| {
            format!(
                "no usable results file ({}); exit status {:?}; log:\n{}\nstderr: {}",
                self.results_error.as_deref().unwrap_or("missing"),
                self.status,
                self.log_text(),
                self.stderr
            )
        })
    }
}

/// The QEMU command line for `machine` (the same as the firmware's runners).
pub fn qemu_command(machine: Machine, elf: &Path) -> Command {
    let mut cmd = Command::new("qemu-system-arm");
    cmd.args([
        "-machine",
        machine.qemu_name(),
        "-cpu",
        "cortex-m4",
        "-nographic",
    ])
    .args(["-semihosting-config", "enable=on,target=native"])
    .args(["-icount", "shift=0"])
    .arg("-kernel")
    .arg(elf);
    cmd
}

/// Runs `fw` in QEMU (at most `timeout`) in a fresh directory under
/// `target/hyperinr-firmware/run/`, decodes its log and reads its results file.
pub fn run(fw: &Firmware, timeout: Duration) -> Result<Run, String> {
    let dir = work_dir()
        .join("run")
        .join(format!("{}-{}", fw.name, fw.machine));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    require_qemu()?;
    let elf = std::fs::canonicalize(&fw.elf).unwrap_or_else(|_| fw.elf.clone());
    let mut cmd = qemu_command(fw.machine, &elf);
    cmd.current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start qemu-system-arm: {e}; {INSTALL_HINT}"))?;
    // Drain both pipes on threads so that a chatty run cannot block on a full pipe.
    let mut stdout_pipe = child.stdout.take();
    let mut stderr_pipe = child.stderr.take();
    let out_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(p) = stdout_pipe.as_mut() {
            let _ = p.read_to_end(&mut buf);
        }
        buf
    });
    let err_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(p) = stderr_pipe.as_mut() {
            let _ = p.read_to_end(&mut buf);
        }
        buf
    });
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("waiting for qemu: {e}")),
        }
    };
    let elapsed = started.elapsed();
    let stdout = out_thread.join().unwrap_or_default();
    let stderr = String::from_utf8_lossy(&err_thread.join().unwrap_or_default()).into_owned();
    let elf_bytes =
        std::fs::read(&elf).map_err(|e| format!("cannot read {}: {e}", elf.display()))?;
    let log = decode_defmt(&elf_bytes, &stdout)?;
    let (results, results_error) = match std::fs::read(dir.join("hyperinr-results.bin")) {
        Ok(bytes) => match Results::parse(&bytes) {
            Ok(r) => (Some(r), None),
            Err(e) => (None, Some(e.to_string())),
        },
        Err(e) => (None, Some(format!("hyperinr-results.bin: {e}"))),
    };
    Ok(Run {
        status: status.and_then(|s| s.code()),
        log,
        results,
        results_error,
        stderr,
        elapsed,
    })
}

/// Decodes defmt frames (as written to semihosting stdout) with the ELF's defmt table;
/// each line is `LEVEL message`.
pub fn decode_defmt(elf: &[u8], stream: &[u8]) -> Result<Vec<String>, String> {
    let table = defmt_decoder::Table::parse(elf)
        .map_err(|e| format!("defmt table: {e}"))?
        .ok_or("the ELF has no defmt table")?;
    let mut decoder = table.new_stream_decoder();
    decoder.received(stream);
    let mut lines = Vec::new();
    loop {
        match decoder.decode() {
            Ok(frame) => {
                let level = frame
                    .level()
                    .map(|l| format!("{l:?}").to_uppercase())
                    .unwrap_or_else(|| "PRINT".into());
                lines.push(format!("{level} {}", frame.display_message()));
            }
            Err(defmt_decoder::DecodeError::UnexpectedEof) => break,
            Err(defmt_decoder::DecodeError::Malformed) => {
                if table.encoding().can_recover() {
                    lines.push("MALFORMED defmt frame".into());
                } else {
                    return Err("malformed defmt frame (raw encoding cannot recover)".into());
                }
            }
        }
    }
    Ok(lines)
}

//! cubecl's run-time configuration for the CUDA backends: autotune level, where the autotune
//! and compiled-kernel (PTX) caches live, and logs of compilations, autotune results and kernel
//! launches. cubecl reads its configuration once, when the first CUDA tensor is made (from
//! `cubecl.toml` / `burn.toml` above the working directory and its `CUBECL_*` variables); this
//! module builds that same configuration, applies the flags (or `HYPERINR_*` variables) on top,
//! and installs it before the device is first used. Nothing here changes any computed value.
//!
//! | flag                 | variable                  | cubecl setting                              |
//! |----------------------|---------------------------|---------------------------------------------|
//! | `--autotune-level L` | `CUBECL_AUTOTUNE_LEVEL`   | `autotune.level` (minimal/balanced/extensive/full or 0–3) |
//! | `--autotune-cache D` | `HYPERINR_AUTOTUNE_CACHE` | `autotune.cache = { file = D }`             |
//! | `--compile-cache D`  | `HYPERINR_COMPILE_CACHE`  | `compilation.cache = { file = D }` (PTX)    |
//! | `--cubecl-log F`     | `HYPERINR_CUBECL_LOG`     | compilation (basic) and autotune (full) logs to F |
//! | `--kernel-log F`     | `HYPERINR_KERNEL_LOG`     | profiling level minimal: one line per kernel launch to F |
//!
//! burn's fusion log is burn's own variable: `BURN_FUSION_LOG=basic|medium|full` (stderr).

use std::path::PathBuf;

/// cubecl's autotune levels. They set how coarsely shapes are bucketed into autotune keys
/// (cubecl's `anchor`: minimal buckets by powers of 2.5, balanced 2, extensive 1.5, full tunes
/// every exact shape); every level benchmarks all candidate kernels of a new key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutotuneLevel {
    /// Coarsest keys: fewest tuning runs.
    Minimal,
    /// cubecl's default.
    Balanced,
    /// Finer keys.
    Extensive,
    /// One key per exact shape.
    Full,
}

impl AutotuneLevel {
    /// The name cubecl's config file uses.
    pub fn name(self) -> &'static str {
        match self {
            AutotuneLevel::Minimal => "minimal",
            AutotuneLevel::Balanced => "balanced",
            AutotuneLevel::Extensive => "extensive",
            AutotuneLevel::Full => "full",
        }
    }
}

/// Parses `minimal|balanced|extensive|full` or `0`–`3` (cubecl's `CUBECL_AUTOTUNE_LEVEL` values),
/// case-insensitively.
pub fn parse_autotune_level(s: &str) -> Result<AutotuneLevel, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "minimal" | "0" => Ok(AutotuneLevel::Minimal),
        "balanced" | "1" => Ok(AutotuneLevel::Balanced),
        "extensive" | "2" => Ok(AutotuneLevel::Extensive),
        "full" | "3" => Ok(AutotuneLevel::Full),
        other => Err(format!(
            "autotune level {other:?} is not one of minimal|balanced|extensive|full (or 0-3)"
        )),
    }
}

/// cubecl settings for the CUDA backends (ignored by the CPU backends).
#[derive(clap::Args, Clone, Debug, Default, PartialEq)]
pub struct CubeclArgs {
    /// cubecl autotune level: minimal|balanced|extensive|full or 0-3 (default: $CUBECL_AUTOTUNE_LEVEL, else balanced).
    #[arg(long, value_parser = parse_autotune_level)]
    pub autotune_level: Option<AutotuneLevel>,
    /// Directory of cubecl's persistent autotune cache (default: $HYPERINR_AUTOTUNE_CACHE, else cubecl's: target/ beside the nearest Cargo.toml above the working directory, or ~/.cache/cubecl).
    #[arg(long, value_name = "DIR")]
    pub autotune_cache: Option<PathBuf>,
    /// Directory of a persistent cache of compiled kernels (PTX), so that a second run skips NVRTC (default: $HYPERINR_COMPILE_CACHE, else none).
    #[arg(long, value_name = "DIR")]
    pub compile_cache: Option<PathBuf>,
    /// Append cubecl's compilation (basic) and autotune (full) logs to FILE (default: $HYPERINR_CUBECL_LOG).
    #[arg(long, value_name = "FILE")]
    pub cubecl_log: Option<PathBuf>,
    /// Append one line per kernel launch to FILE (cubecl profiling level minimal; costs time per launch; default: $HYPERINR_KERNEL_LOG).
    #[arg(long, value_name = "FILE")]
    pub kernel_log: Option<PathBuf>,
}

/// `HYPERINR_*` variables read by [`CubeclArgs::with_env`].
pub const ENV_AUTOTUNE_CACHE: &str = "HYPERINR_AUTOTUNE_CACHE";
/// See [`ENV_AUTOTUNE_CACHE`].
pub const ENV_COMPILE_CACHE: &str = "HYPERINR_COMPILE_CACHE";
/// See [`ENV_AUTOTUNE_CACHE`].
pub const ENV_CUBECL_LOG: &str = "HYPERINR_CUBECL_LOG";
/// See [`ENV_AUTOTUNE_CACHE`].
pub const ENV_KERNEL_LOG: &str = "HYPERINR_KERNEL_LOG";

impl CubeclArgs {
    /// Fills the unset paths from the `HYPERINR_*` variables (the autotune level comes from
    /// cubecl's own `CUBECL_AUTOTUNE_LEVEL`, read when the configuration is built).
    pub fn with_env(self) -> Self {
        self.with_vars(|k| std::env::var_os(k).filter(|v| !v.is_empty()))
    }

    fn with_vars(mut self, var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Self {
        let path = |k: &str| var(k).map(PathBuf::from);
        self.autotune_cache = self.autotune_cache.or_else(|| path(ENV_AUTOTUNE_CACHE));
        self.compile_cache = self.compile_cache.or_else(|| path(ENV_COMPILE_CACHE));
        self.cubecl_log = self.cubecl_log.or_else(|| path(ENV_CUBECL_LOG));
        self.kernel_log = self.kernel_log.or_else(|| path(ENV_KERNEL_LOG));
        self
    }

    /// The settings as JSON for reports.
    pub fn to_json(&self) -> serde_json::Value {
        let p = |v: &Option<PathBuf>| v.as_ref().map(|p| p.display().to_string());
        serde_json::json!({
            "autotune_level": self.autotune_level.map(AutotuneLevel::name),
            "autotune_cache": p(&self.autotune_cache),
            "compile_cache": p(&self.compile_cache),
            "cubecl_log": p(&self.cubecl_log),
            "kernel_log": p(&self.kernel_log),
        })
    }

    /// Installs cubecl's configuration: what cubecl would load itself (files, `CUBECL_*`
    /// variables) with these settings on top. Returns `false`, changing nothing, when cubecl's
    /// configuration was already read or set (it is read once per process).
    #[cfg(feature = "cuda")]
    pub fn install(&self) -> anyhow::Result<bool> {
        use burn_cubecl::cubecl::config::{
            autotune, cache::CacheConfig, compilation, profiling, CubeClRuntimeConfig,
            RuntimeConfig,
        };
        if CubeClRuntimeConfig::storage().lock().is_some() {
            return Ok(false);
        }
        for dir in [&self.autotune_cache, &self.compile_cache]
            .into_iter()
            .flatten()
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                anyhow::anyhow!("creating cubecl cache directory {}: {e}", dir.display())
            })?;
        }
        for file in [&self.cubecl_log, &self.kernel_log].into_iter().flatten() {
            if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| {
                    anyhow::anyhow!("creating log directory {}: {e}", parent.display())
                })?;
            }
        }
        let mut c = CubeClRuntimeConfig::from_current_dir().override_from_env();
        if let Some(level) = self.autotune_level {
            c.autotune.level = match level {
                AutotuneLevel::Minimal => autotune::AutotuneLevel::Minimal,
                AutotuneLevel::Balanced => autotune::AutotuneLevel::Balanced,
                AutotuneLevel::Extensive => autotune::AutotuneLevel::Extensive,
                AutotuneLevel::Full => autotune::AutotuneLevel::Full,
            };
        }
        if let Some(dir) = &self.autotune_cache {
            c.autotune.cache = CacheConfig::File(dir.clone());
        }
        if let Some(dir) = &self.compile_cache {
            c.compilation.cache = Some(CacheConfig::File(dir.clone()));
        }
        if let Some(file) = &self.cubecl_log {
            c.compilation.logger.level = compilation::CompilationLogLevel::Basic;
            c.compilation.logger.file = Some(file.clone());
            c.autotune.logger.level = autotune::AutotuneLogLevel::Full;
            c.autotune.logger.file = Some(file.clone());
        }
        if let Some(file) = &self.kernel_log {
            c.profiling.logger.level = profiling::ProfilingLogLevel::Minimal;
            c.profiling.logger.file = Some(file.clone());
        }
        CubeClRuntimeConfig::set(c);
        Ok(true)
    }
}

/// Events counted in cubecl's logs (`--kernel-log`, `--cubecl-log`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogCounts {
    /// Kernel launches (profiling level minimal: `Executing <kernel>`).
    pub launches: usize,
    /// Kernels compiled by NVRTC (compilation level basic: `[Compiling kernel] <name>`); a
    /// kernel found in the compile cache is not logged.
    pub compilations: usize,
    /// Autotune keys tuned (`Fastest result <kernel>-<key>`): each one benchmarked every
    /// candidate kernel.
    pub autotunes: usize,
}

impl LogCounts {
    /// Counts the events in a log's text.
    pub fn of(log: &str) -> Self {
        let mut c = LogCounts::default();
        for line in log.lines() {
            if line.starts_with("Executing ") {
                c.launches += 1;
            } else if line.starts_with("[Compiling kernel]") {
                c.compilations += 1;
            } else if line.starts_with("Fastest result ") {
                c.autotunes += 1;
            }
        }
        c
    }

    /// The events of the logs at `paths` (each file counted once; a missing file has none).
    pub fn read(paths: &[&std::path::Path]) -> Self {
        let mut seen = Vec::new();
        let mut c = LogCounts::default();
        for p in paths {
            if seen.contains(p) {
                continue;
            }
            seen.push(*p);
            let n = LogCounts::of(&std::fs::read_to_string(p).unwrap_or_default());
            c.launches += n.launches;
            c.compilations += n.compilations;
            c.autotunes += n.autotunes;
        }
        c
    }

    /// Events since `earlier`.
    pub fn since(self, earlier: LogCounts) -> Self {
        LogCounts {
            launches: self.launches.saturating_sub(earlier.launches),
            compilations: self.compilations.saturating_sub(earlier.compilations),
            autotunes: self.autotunes.saturating_sub(earlier.autotunes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn autotune_levels_parse_by_name_and_number() {
        for (names, level) in [
            (["minimal", "0", " Minimal "], AutotuneLevel::Minimal),
            (["balanced", "1", "BALANCED"], AutotuneLevel::Balanced),
            (["extensive", "2", "Extensive"], AutotuneLevel::Extensive),
            (["full", "3", "FULL"], AutotuneLevel::Full),
        ] {
            for n in names {
                assert_eq!(parse_autotune_level(n), Ok(level), "{n:?}");
            }
            assert_eq!(parse_autotune_level(level.name()), Ok(level));
        }
        for bad in ["", "4", "-1", "fast", "balanced2"] {
            let err = parse_autotune_level(bad).unwrap_err();
            assert!(err.contains("minimal|balanced|extensive|full"), "{err}");
        }
    }

    #[test]
    fn flags_win_over_variables() {
        let vars = |k: &str| match k {
            ENV_AUTOTUNE_CACHE => Some("/env/tune".into()),
            ENV_COMPILE_CACHE => Some("/env/ptx".into()),
            _ => None,
        };
        let a = CubeclArgs {
            autotune_cache: Some("/flag/tune".into()),
            ..Default::default()
        }
        .with_vars(vars);
        assert_eq!(a.autotune_cache, Some("/flag/tune".into()));
        assert_eq!(a.compile_cache, Some("/env/ptx".into()));
        assert_eq!(a.cubecl_log, None);
        assert_eq!(a.to_json()["compile_cache"], "/env/ptx");
        assert!(a.to_json()["autotune_level"].is_null());
    }

    #[test]
    fn logs_count_launches_compilations_and_autotunes() {
        let log = "Executing ElemwiseFuse | f32\n[Compiling kernel] matmul\nExecuting Matmul\n\n\
                   Fastest result simple-MatmulKey { m: 128 }. Context: \nAutotune[0] name x => 1\n";
        let c = LogCounts::of(log);
        assert_eq!(
            c,
            LogCounts {
                launches: 2,
                compilations: 1,
                autotunes: 1
            }
        );
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.log");
        std::fs::write(&f, log).unwrap();
        let missing = dir.path().join("none.log");
        // The same file twice counts once; a missing file counts nothing.
        assert_eq!(LogCounts::read(&[&f, &f, &missing]), c);
        assert_eq!(
            LogCounts::read(&[&f]).since(LogCounts {
                launches: 1,
                compilations: 5,
                autotunes: 0
            }),
            LogCounts {
                launches: 1,
                compilations: 0,
                autotunes: 1
            }
        );
    }

    /// cubecl's configuration is process-wide: this is the only test that installs it.
    #[cfg(feature = "cuda")]
    #[test]
    fn install_sets_cubecl_config_once() {
        use burn_cubecl::cubecl::config::{
            autotune, cache::CacheConfig, profiling, CubeClRuntimeConfig, RuntimeConfig,
        };
        let dir = tempfile::tempdir().unwrap();
        let args = CubeclArgs {
            autotune_level: Some(AutotuneLevel::Minimal),
            autotune_cache: Some(dir.path().join("tune")),
            compile_cache: Some(dir.path().join("ptx")),
            kernel_log: Some(dir.path().join("logs/kernels.log")),
            cubecl_log: None,
        };
        assert!(args.install().unwrap());
        assert!(dir.path().join("tune").is_dir() && dir.path().join("ptx").is_dir());
        assert!(dir.path().join("logs").is_dir());
        let c = CubeClRuntimeConfig::get();
        assert!(matches!(c.autotune.level, autotune::AutotuneLevel::Minimal));
        assert!(matches!(&c.autotune.cache, CacheConfig::File(p) if *p == dir.path().join("tune")));
        assert!(
            matches!(&c.compilation.cache, Some(CacheConfig::File(p)) if *p == dir.path().join("ptx"))
        );
        assert!(matches!(
            c.profiling.logger.level,
            profiling::ProfilingLogLevel::Minimal
        ));
        // Read once per process: a second install changes nothing.
        assert!(!CubeclArgs::default().install().unwrap());
        assert!(matches!(
            CubeClRuntimeConfig::get().autotune.level,
            autotune::AutotuneLevel::Minimal
        ));
    }

    #[test]
    fn cli_takes_the_flags() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            c: CubeclArgs,
        }
        let cli = Cli::try_parse_from([
            "x",
            "--autotune-level",
            "3",
            "--autotune-cache",
            "a",
            "--compile-cache",
            "b",
        ])
        .unwrap();
        assert_eq!(cli.c.autotune_level, Some(AutotuneLevel::Full));
        assert_eq!(cli.c.autotune_cache, Some("a".into()));
        assert_eq!(cli.c.compile_cache, Some("b".into()));
        assert!(Cli::try_parse_from(["x", "--autotune-level", "max"]).is_err());
    }
}

//! What we add to cubecl's run-time configuration of the CUDA backends. cubecl configures
//! itself: once per process, on first use, it reads the first `cubecl.toml` (or `CubeCL.toml`,
//! or the `[cubecl]` table of a `burn.toml`) in the working directory or above it, then applies
//! `CUBECL_AUTOTUNE_LEVEL`, `CUBECL_DEBUG_LOG` and `CUBECL_DEBUG_OPTION` (cubecl-common 0.10
//! `config/mod.rs`, cubecl-runtime 0.10 `config/base.rs`). The repository's `cubecl.toml` holds
//! our defaults; nothing here sets or rebuilds that configuration, it only reads it back:
//!
//! - [`LogCounts`]: kernel launches, NVRTC compilations and autotune runs in cubecl's log files,
//!   which `hyperinr bench` reports per phase;
//! - [`effective`]: the log files of the effective configuration ([`LogFiles`]) and the
//!   configuration itself, with the cache directories it resolves to, as JSON for reports.

use std::path::{Path, PathBuf};

/// The files cubecl's effective configuration logs to, and which events they hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogFiles {
    /// Distinct files of the enabled compilation, autotune and profiling loggers.
    pub paths: Vec<PathBuf>,
    /// NVRTC compilations are logged to a file (`compilation.logger`, level basic or full).
    pub compilations: bool,
    /// Autotune results are logged to a file (`autotune.logger`, level minimal or full).
    pub autotunes: bool,
    /// Kernel launches are logged to a file (`profiling.logger`, level minimal: the only level
    /// that logs a launch without timing it).
    pub launches: bool,
}

#[cfg(feature = "cuda")]
use burn_cubecl::cubecl::config::CubeClRuntimeConfig;

#[cfg(feature = "cuda")]
impl LogFiles {
    /// The file sinks of `c`'s enabled loggers.
    pub fn of(c: &CubeClRuntimeConfig) -> Self {
        use burn_cubecl::cubecl::config::{autotune, compilation, profiling};
        let mut files = LogFiles::default();
        let mut add = |file: &Option<PathBuf>, enabled: bool| -> bool {
            match file {
                Some(f) if enabled => {
                    if !files.paths.contains(f) {
                        files.paths.push(f.clone());
                    }
                    true
                }
                _ => false,
            }
        };
        let compilations = add(
            &c.compilation.logger.file,
            !matches!(
                c.compilation.logger.level,
                compilation::CompilationLogLevel::Disabled
            ),
        );
        let autotunes = add(
            &c.autotune.logger.file,
            !matches!(
                c.autotune.logger.level,
                autotune::AutotuneLogLevel::Disabled
            ),
        );
        let profiled = add(
            &c.profiling.logger.file,
            !matches!(
                c.profiling.logger.level,
                profiling::ProfilingLogLevel::Disabled
            ),
        );
        files.compilations = compilations;
        files.autotunes = autotunes;
        files.launches = profiled
            && matches!(
                c.profiling.logger.level,
                profiling::ProfilingLogLevel::Minimal
            );
        files
    }
}

/// `c` as JSON, plus the directories its caches resolve to (`autotune_cache_root`,
/// `compile_cache_root`: cubecl's `CacheConfig::root`, e.g. `target/` of the nearest
/// `Cargo.toml` above the working directory for `"target"`).
#[cfg(feature = "cuda")]
pub fn config_json(c: &CubeClRuntimeConfig) -> serde_json::Value {
    let mut v = serde_json::to_value(c).unwrap_or(serde_json::Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "autotune_cache_root".into(),
            c.autotune.cache.root().display().to_string().into(),
        );
        o.insert(
            "compile_cache_root".into(),
            c.compilation
                .cache
                .as_ref()
                .map(|cache| cache.root().display().to_string())
                .into(),
        );
    }
    v
}

/// cubecl's effective configuration (read as cubecl reads it, if it has not been yet): its log
/// files and [`config_json`]. `None` without the `cuda` feature. A malformed `cubecl.toml`
/// panics here, with cubecl's message, as it would on the device's first use.
pub fn effective() -> Option<(LogFiles, serde_json::Value)> {
    #[cfg(feature = "cuda")]
    {
        use burn_cubecl::cubecl::config::RuntimeConfig;
        let c = CubeClRuntimeConfig::get();
        Some((LogFiles::of(&c), config_json(&c)))
    }
    #[cfg(not(feature = "cuda"))]
    {
        None
    }
}

/// Events counted in cubecl's log files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogCounts {
    /// Kernel launches (profiling level minimal: `Executing <kernel>`).
    pub launches: usize,
    /// Kernels compiled by NVRTC (compilation level basic: `[Compiling kernel] <name>`, full:
    /// `[START_KERNEL_COMPILATION]` and the source); a kernel found in the PTX cache is not
    /// logged.
    pub compilations: usize,
    /// Autotune keys tuned (`Fastest result <kernel>-<key>`, at autotune levels minimal and
    /// full): each one benchmarked every candidate kernel.
    pub autotunes: usize,
}

impl LogCounts {
    /// Counts the events in a log's text.
    pub fn of(log: &str) -> Self {
        let mut c = LogCounts::default();
        // Inside a full compilation record (the kernel's source) nothing is an event.
        let mut in_source = false;
        for line in log.lines() {
            if in_source {
                in_source = !line.starts_with("[END_KERNEL_COMPILATION]");
            } else if line.starts_with("Executing ") {
                c.launches += 1;
            } else if line.starts_with("[Compiling kernel]") {
                c.compilations += 1;
            } else if line.starts_with("[START_KERNEL_COMPILATION]") {
                c.compilations += 1;
                in_source = true;
            } else if line.starts_with("Fastest result ") {
                c.autotunes += 1;
            }
        }
        c
    }

    /// The events of the logs at `paths` (each file counted once; a missing file has none).
    pub fn read(paths: &[&Path]) -> Self {
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
    fn logs_count_launches_compilations_and_autotunes() {
        // cubecl 0.10's lines: profiling minimal, compilation basic and full, autotune full
        // (the candidates' results follow the `Fastest result` line) and minimal.
        let log = "Executing ElemwiseFuse | f32\n[Compiling kernel] matmul\nExecuting Matmul\n\n\
                   Fastest result simple-MatmulKey { m: 128 }. Context: \nAutotune[0] name x => 1\n\
                   [START_KERNEL_COMPILATION]\nname: reduce\nsource:\n```cpp\nExecuting x;\n```\n\
                   [END_KERNEL_COMPILATION]\n\
                   Fastest result fused-FuseKey. \n Top 3 times: [(0, 1ms)], context: \n\
                   | 1.2ms      | Matmul\n";
        let c = LogCounts::of(log);
        // Not counted: the kernel source of a full compilation record (`Executing x;`), the
        // candidates after `Fastest result`, a timed profiling line (levels above minimal).
        assert_eq!(
            c,
            LogCounts {
                launches: 2,
                compilations: 2,
                autotunes: 2
            }
        );
        // An unterminated record (a log cut short) hides what follows it, nothing before.
        assert_eq!(
            LogCounts::of("Executing a\n[START_KERNEL_COMPILATION]\nExecuting b\n").launches,
            1
        );
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.log");
        std::fs::write(&f, log).unwrap();
        let missing = dir.path().join("none.log");
        // The same file twice counts once; a missing file counts nothing.
        assert_eq!(LogCounts::read(&[&f, &f, &missing]), c);
        assert_eq!(LogCounts::read(&[&missing]), LogCounts::default());
        assert_eq!(
            LogCounts::read(&[&f]).since(LogCounts {
                launches: 1,
                compilations: 5,
                autotunes: 0
            }),
            LogCounts {
                launches: 1,
                compilations: 0,
                autotunes: 2
            }
        );
    }

    /// Reads a cubecl.toml with cubecl's own parser (panics on a malformed file, as cubecl does).
    #[cfg(feature = "cuda")]
    fn parse(path: &Path) -> CubeClRuntimeConfig {
        use burn_cubecl::cubecl::config::RuntimeConfig;
        CubeClRuntimeConfig::from_file_path(path).unwrap()
    }

    /// Every `key = value` of a cubecl.toml names a field of cubecl's configuration (cubecl
    /// ignores unknown keys, so a misspelt one would silently do nothing).
    #[cfg(feature = "cuda")]
    fn assert_keys_known(text: &str, c: &CubeClRuntimeConfig) {
        let json = serde_json::to_value(c).unwrap();
        let mut section = String::new();
        for line in text.lines().map(str::trim) {
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            if let Some(s) = line.strip_prefix('[') {
                section = s.trim_end_matches(']').replace('.', "/");
                continue;
            }
            let key = line.split('=').next().unwrap().trim();
            let pointer = format!("/{section}/{key}");
            assert!(json.pointer(&pointer).is_some(), "unknown key {pointer}");
        }
    }

    /// The shipped `cubecl.toml` is cubecl's schema, every key in it is one cubecl knows, and it
    /// gives what it says: the PTX cache on, both caches under `target/`, logs off.
    #[cfg(feature = "cuda")]
    #[test]
    fn shipped_cubecl_toml_turns_on_the_ptx_cache() {
        use burn_cubecl::cubecl::config::{autotune, cache::CacheConfig, profiling};
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cubecl.toml");
        let c = parse(&path);
        assert_keys_known(&std::fs::read_to_string(&path).unwrap(), &c);
        assert!(matches!(c.compilation.cache, Some(CacheConfig::Target)));
        assert!(matches!(c.autotune.cache, CacheConfig::Target));
        assert!(matches!(
            c.autotune.level,
            autotune::AutotuneLevel::Balanced
        ));
        assert!(matches!(
            c.profiling.logger.level,
            profiling::ProfilingLogLevel::Disabled
        ));
        assert_eq!(LogFiles::of(&c), LogFiles::default());
        // cubecl's default has no PTX cache: the file changes that.
        assert!(CubeClRuntimeConfig::default().compilation.cache.is_none());
        let j = config_json(&c);
        assert!(j["compile_cache_root"]
            .as_str()
            .unwrap()
            .ends_with("target"));
        assert_eq!(j["compilation"]["cache"], "target");
    }

    /// The shape of file `scripts/gpu-bench.sh` writes for a variant: cache directories, a
    /// compilation + autotune log and a kernel-launch log.
    #[cfg(feature = "cuda")]
    #[test]
    fn a_bench_variants_toml_names_its_caches_and_logs() {
        use burn_cubecl::cubecl::config::cache::CacheConfig;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let text = format!(
            "[autotune]\ncache = {{ file = '{0}/tune' }}\n\
             [autotune.logger]\nlevel = \"full\"\nfile = '{0}/c.log'\n\
             [compilation]\ncache = {{ file = '{0}/ptx' }}\n\
             [compilation.logger]\nlevel = \"basic\"\nfile = '{0}/c.log'\n\
             [profiling.logger]\nlevel = \"minimal\"\nfile = '{0}/k.log'\n",
            d.display()
        );
        let path = d.join("cubecl.toml");
        std::fs::write(&path, &text).unwrap();
        let c = parse(&path);
        assert_keys_known(&text, &c);
        assert!(matches!(&c.autotune.cache, CacheConfig::File(p) if *p == d.join("tune")));
        assert!(matches!(&c.compilation.cache, Some(CacheConfig::File(p)) if *p == d.join("ptx")));
        assert_eq!(
            LogFiles::of(&c),
            LogFiles {
                paths: vec![d.join("c.log"), d.join("k.log")],
                compilations: true,
                autotunes: true,
                launches: true,
            }
        );
        let j = config_json(&c);
        assert_eq!(
            j["autotune_cache_root"],
            d.join("tune").display().to_string()
        );
        assert_eq!(j["compile_cache_root"], d.join("ptx").display().to_string());
    }

    /// Only enabled loggers with a file count, and only profiling level minimal logs launches.
    #[cfg(feature = "cuda")]
    #[test]
    fn log_files_need_a_level_and_a_file() {
        use burn_cubecl::cubecl::config::{autotune, profiling};
        let mut c = CubeClRuntimeConfig::default();
        // cubecl's default autotune level is minimal, but with no file nothing is counted.
        assert!(!matches!(
            c.autotune.logger.level,
            autotune::AutotuneLogLevel::Disabled
        ));
        assert_eq!(LogFiles::of(&c), LogFiles::default());
        c.profiling.logger.file = Some("p.log".into());
        assert_eq!(LogFiles::of(&c), LogFiles::default(), "profiling disabled");
        c.profiling.logger.level = profiling::ProfilingLogLevel::Medium;
        c.autotune.logger.file = Some("p.log".into());
        let f = LogFiles::of(&c);
        assert_eq!(f.paths, vec![PathBuf::from("p.log")]);
        assert!(f.autotunes && !f.launches && !f.compilations);
        c.autotune.logger.level = autotune::AutotuneLogLevel::Disabled;
        c.profiling.logger.level = profiling::ProfilingLogLevel::Minimal;
        let f = LogFiles::of(&c);
        assert!(f.launches && !f.autotunes);
    }
}

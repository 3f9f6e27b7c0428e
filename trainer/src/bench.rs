//! `hyperinr bench`: seconds per training step with warm-up excluded.
//!
//! Every step is a full `Training::step` (hypernetwork forward and backward, its Adam update,
//! the latents' Adam on the host). On an asynchronous device (CUDA) the clock is read only after
//! the device has finished: `Training::step` waits for its latent gradients and loss, and the
//! bench also synchronises the device after each step (unless `--no-step-sync`) and always
//! before the clock stops, so that the queued hypernetwork update is counted.

use crate::backend::{dispatch, BackendKind};
use crate::cubecl_config::{CubeclArgs, LogCounts};
use crate::data::ImageSet;
use crate::model::HyperInrConfig;
use crate::training::{Training, TrainingConfig};
use anyhow::{Context, Result};
use burn::tensor::backend::AutodiffBackend;
use rand::{Rng, SeedableRng};
use std::time::Instant;

#[derive(clap::Args, Clone)]
pub struct BenchArgs {
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    pub backend: BackendKind,
    /// Timed steps.
    #[arg(long, default_value_t = 20)]
    pub steps: usize,
    /// Untimed warm-up steps (each one's time is reported in `first_steps_ms`).
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
    #[arg(long, default_value_t = 128)]
    pub batch: usize,
    /// Pixels per image and step, as `train --pixels` (0 = all 784).
    #[arg(long, default_value_t = 0)]
    pub pixels: usize,
    /// Don't synchronise the device after each step (host work of a step may then overlap the
    /// device's tail of the previous one; per-step figures become less exact, the total stays
    /// exact since the device is synchronised before the clock stops).
    #[arg(long)]
    pub no_step_sync: bool,
    /// Read the latent gradients and the loss in two device round trips, as before
    /// `Training::single_read` (for comparison).
    #[arg(long)]
    pub two_reads: bool,
    /// cubecl settings (CUDA backends only).
    #[command(flatten)]
    pub cubecl: CubeclArgs,
    #[arg(long)]
    pub json: bool,
}

pub fn bench(a: BenchArgs) -> Result<()> {
    let a = BenchArgs {
        cubecl: a.cubecl.clone().with_env(),
        ..a
    };
    #[cfg(feature = "cuda")]
    if matches!(a.backend, BackendKind::Cuda | BackendKind::CudaNofusion) {
        crate::backend::check_cuda()?;
        a.cubecl.install()?;
    }
    dispatch!(a.backend, bench_on, a)
}

/// Percentile `p` (0–100) of sorted `v`, nearest rank.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Events in cubecl's logs so far (`--kernel-log`, `--cubecl-log`); `None` without either.
/// cubecl writes its logs from a background task, so wait until the counts stop changing.
fn log_counts(a: &BenchArgs) -> Option<LogCounts> {
    let paths: Vec<&std::path::Path> = [&a.cubecl.kernel_log, &a.cubecl.cubecl_log]
        .into_iter()
        .flatten()
        .map(|p| p.as_path())
        .collect();
    if paths.is_empty() || !matches!(a.backend, BackendKind::Cuda | BackendKind::CudaNofusion) {
        return None;
    }
    let mut last = LogCounts::read(&paths);
    for _ in 0..50 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let now = LogCounts::read(&paths);
        if now == last {
            break;
        }
        last = now;
    }
    Some(last)
}

/// Per-step event counts as JSON.
fn counts_json(c: Option<LogCounts>, steps: usize) -> serde_json::Value {
    match c {
        None => serde_json::Value::Null,
        Some(c) => {
            let per = |v: usize| round3(v as f64 / steps.max(1) as f64);
            serde_json::json!({
                "kernels_per_step": per(c.launches),
                "compilations": c.compilations,
                "autotunes": c.autotunes,
            })
        }
    }
}

fn round3(v: f64) -> f64 {
    (v * 1e3).round() / 1e3
}

fn bench_on<B: AutodiffBackend>(device: &B::Device, a: BenchArgs) -> Result<()> {
    let started = Instant::now();
    // Synthetic 28×28 images: the cost of a step does not depend on pixel values.
    let n = a.batch * 4;
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let images = crate::samples::Samples::Images(ImageSet {
        width: 28,
        height: 28,
        pixels: (0..n * 784).map(|_| rng.random::<u8>()).collect(),
        labels: vec![0; n],
        indices: (0..n as u32).collect(),
    });
    let config = TrainingConfig::new(HyperInrConfig::new())
        .with_batch_size(a.batch)
        .with_pixels_per_step(a.pixels);
    let mut t = Training::<B>::new(config, &images, device);
    t.single_read = !a.two_reads;
    let sync = || B::sync(device).map_err(|e| anyhow::anyhow!("device sync: {e:?}"));
    sync()?;
    let setup_s = started.elapsed().as_secs_f64();
    let rows = |k: usize| -> Vec<usize> { (0..a.batch).map(|i| (k * a.batch + i) % n).collect() };
    let logged_start = log_counts(&a);
    let mut first_steps_ms = Vec::with_capacity(a.warmup);
    let w0 = Instant::now();
    for k in 0..a.warmup {
        let s0 = Instant::now();
        t.step(&images, &rows(k))?;
        sync()?;
        first_steps_ms.push(round3(s0.elapsed().as_secs_f64() * 1e3));
    }
    let warmup_s = w0.elapsed().as_secs_f64();
    let logged_warm = log_counts(&a);
    let mut steps_ms = Vec::with_capacity(a.steps);
    let t0 = Instant::now();
    let mut mse = f64::NAN;
    for k in 0..a.steps {
        let s0 = Instant::now();
        mse = t.step(&images, &rows(a.warmup + k))?;
        if !a.no_step_sync {
            sync()?;
        }
        steps_ms.push(s0.elapsed().as_secs_f64() * 1e3);
    }
    sync()?;
    let total = t0.elapsed().as_secs_f64();
    let ms = total * 1e3 / a.steps.max(1) as f64;
    let logged_end = log_counts(&a);
    let since = |later: Option<LogCounts>, earlier: Option<LogCounts>| Some(later?.since(earlier?));
    let mut sorted = steps_ms.clone();
    sorted.sort_by(f64::total_cmp);
    let backend_name = match a.backend {
        BackendKind::CudaNofusion => "cuda-nofusion".to_string(),
        other => format!("{other:?}").to_lowercase(),
    };
    let report = serde_json::json!({
        "backend": backend_name,
        "device": format!("{device:?}"),
        "batch": a.batch,
        // What a step evaluates: `Training::step` uses every pixel for 0 or K ≥ 784.
        "pixels_per_step": if a.pixels == 0 { 784 } else { a.pixels.min(784) },
        "warmup_steps": a.warmup,
        "warmup_s": warmup_s,
        "ms_per_step": ms,
        "epoch_s": ms * 60_000.0 / a.batch as f64 / 1e3,
        "threads": std::thread::available_parallelism().map(|v| v.get()).unwrap_or(1),
        "burn_backend": B::name(device),
        "steps": a.steps,
        "setup_s": round3(setup_s),
        "first_steps_ms": first_steps_ms,
        "p50_ms": round3(percentile(&sorted, 50.0)),
        "p90_ms": round3(percentile(&sorted, 90.0)),
        "min_ms": round3(sorted.first().copied().unwrap_or(f64::NAN)),
        "max_ms": round3(sorted.last().copied().unwrap_or(f64::NAN)),
        "step_sync": !a.no_step_sync,
        "single_read": !a.two_reads,
        // From cubecl's logs (CUDA with --kernel-log / --cubecl-log): per-step launches,
        // NVRTC compilations and autotune runs, during warm-up and during the timed steps.
        "kernels_per_step": since(logged_end, logged_warm).map(|c| round3(c.launches as f64 / a.steps.max(1) as f64)),
        "logged_warmup": counts_json(since(logged_warm, logged_start), a.warmup),
        "logged_timed": counts_json(since(logged_end, logged_warm), a.steps),
        "last_mse": mse,
        "cubecl": if matches!(a.backend, BackendKind::Cuda | BackendKind::CudaNofusion) {
            a.cubecl.to_json()
        } else {
            serde_json::Value::Null
        },
    });
    if a.json {
        println!("{report}");
    } else {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).context("formatting the report")?
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 5.0);
        assert_eq!(percentile(&v, 90.0), 9.0);
        assert_eq!(percentile(&v, 100.0), 10.0);
        assert_eq!(percentile(&v, 0.0), 1.0);
        assert_eq!(percentile(&[3.0], 90.0), 3.0);
        assert!(percentile(&[], 50.0).is_nan());
    }
}

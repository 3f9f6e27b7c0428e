//! `hyperinr bench`: seconds per training step with warm-up excluded.
//!
//! Every step is a full `Training::step` (hypernetwork forward and backward, its Adam update,
//! the latents' Adam on the host). On an asynchronous device (CUDA) the clock is read only after
//! the device has finished: `Training::step` waits for its latent gradients and loss, and the
//! bench also synchronises the device after each step (unless `--no-step-sync`) and always
//! before the clock stops, so that the queued hypernetwork update is counted.

use crate::backend::cubecl::{LogCounts, LogFiles};
use crate::backend::siren_op::{SirenOp, TrainBackend};
use crate::backend::BackendKind;
use crate::model::HyperInrConfig;
use crate::train::fit::{fit_step, FitConfig};
use crate::train::latents::LatentTable;
use crate::train::{Training, TrainingConfig};
use anyhow::Result;
use burn::module::Module;
use hyperinr_data::fashion::ImageSet;
use rand::{Rng, SeedableRng};
use std::time::Instant;

/// What `hyperinr bench` times: the stage, its shapes and the engine (its command-line
/// flags, flattened into `cli::bench`'s arguments).
#[derive(clap::Args, Clone)]
pub struct BenchConfig {
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    pub backend: BackendKind,
    /// Timed steps.
    #[arg(long, default_value_t = 20)]
    pub steps: usize,
    /// Untimed warm-up steps (each one's time is reported in `first_steps_ms`).
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
    /// What a step is: a training step (`train`) or a test-time fitting step (`fit`, φ frozen).
    #[arg(long, value_enum, default_value_t = Stage::Train)]
    pub stage: Stage,
    /// Samples per step (default: 128 for `train`, the `fit` command's 1024 for `fit`).
    #[arg(long)]
    pub batch: Option<usize>,
    /// How the SIREN runs.
    #[arg(long, value_enum, default_value_t = SirenOp::Fused)]
    pub siren_op: SirenOp,
    /// Skip measuring the machine's f32 matmul peak (`peak_gflops`, ≈ 1 s).
    #[arg(long)]
    pub no_peak: bool,
    /// φ's hidden activation, as `train --hyper-activation` (the shipped FashionMNIST model:
    /// `silu`).
    #[arg(long, value_parser = crate::model::parse_activation, default_value = "relu")]
    pub hyper_activation: crate::model::HyperActivation,
    /// φ with a linear path, as `train --linear-path`.
    #[arg(long)]
    pub linear_path: bool,
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
}

/// The stage `hyperinr bench` times.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Stage {
    /// `Training::step`: φ and the latents.
    Train,
    /// `fitting::fit_step`: the latents, φ frozen.
    Fit,
}

/// Training images of FashionMNIST (the 60,000 minus the 5,000 of the validation split).
const TRAIN_IMAGES: usize = 55_000;

/// The machine's f32 matmul rate (GFLOP/s): the best of three 1024³ `gemm` calls on all
/// threads. The floor a step is measured against, measured here so the ratio holds on any
/// machine.
pub fn peak_gflops() -> f64 {
    let n = 1024;
    let a: Vec<f32> = (0..n * n).map(|i| (i % 7) as f32 * 0.1).collect();
    let b: Vec<f32> = (0..n * n).map(|i| (i % 5) as f32 * 0.1).collect();
    let mut c = vec![0.0f32; n * n];
    let threads = rayon::current_num_threads();
    let mut best = f64::INFINITY;
    for _ in 0..4 {
        let t0 = Instant::now();
        // SAFETY: three dense row-major n × n matrices, each of n² elements; c is a unique
        // borrow and aliases neither input.
        unsafe {
            gemm::gemm(
                n,
                n,
                n,
                c.as_mut_ptr(),
                1,
                n as isize,
                false,
                a.as_ptr(),
                1,
                n as isize,
                b.as_ptr(),
                1,
                n as isize,
                0.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::Rayon(threads),
            );
        }
        best = best.min(t0.elapsed().as_secs_f64());
    }
    2.0 * (n * n * n) as f64 / best / 1e9
}

/// Multiply-adds of one sample's forward pass: φ (latent → SIREN parameters) and the SIREN
/// at `points` points.
pub fn forward_macs(model: &HyperInrConfig, points: usize) -> usize {
    let mut dims = vec![model.latent_dim];
    dims.extend(&model.hyper_hidden);
    dims.push(model.siren_params());
    let phi: usize = dims.windows(2).map(|w| w[0] * w[1]).sum();
    let linear = if model.linear_path {
        model.latent_dim * model.siren_params()
    } else {
        0
    };
    phi + linear + model.siren_shape().forward_macs(points)
}

/// cubecl settings (autotune level, caches, logs) come from `cubecl.toml` and `CUBECL_*`
/// variables, read by cubecl itself; the report's `cubecl` is the effective configuration.
/// Percentile `p` (0–100) of sorted `v`, nearest rank.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Events in cubecl's log files so far; `None` without any (CPU backends, or no logger of
/// cubecl's configuration writes to a file). cubecl writes its logs from a background task, so
/// wait until the counts stop changing.
fn log_counts(files: &LogFiles) -> Option<LogCounts> {
    let paths: Vec<&std::path::Path> = files.paths.iter().map(|p| p.as_path()).collect();
    if paths.is_empty() {
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

/// Event counts as JSON (launches per step); `null` for the events no log file holds.
fn counts_json(c: Option<LogCounts>, steps: usize, files: &LogFiles) -> serde_json::Value {
    match c {
        None => serde_json::Value::Null,
        Some(c) => {
            let per = |v: usize| round3(v as f64 / steps.max(1) as f64);
            serde_json::json!({
                "kernels_per_step": files.launches.then(|| per(c.launches)),
                "compilations": files.compilations.then_some(c.compilations),
                "autotunes": files.autotunes.then_some(c.autotunes),
            })
        }
    }
}

fn round3(v: f64) -> f64 {
    (v * 1e3).round() / 1e3
}

/// Times `a`'s stage on backend `B` and returns the report `hyperinr bench` prints.
pub fn run_bench<B: TrainBackend>(device: &B::Device, a: BenchConfig) -> Result<serde_json::Value> {
    let started = Instant::now();
    let cubecl = if matches!(a.backend, BackendKind::Cuda | BackendKind::CudaNofusion) {
        crate::backend::cubecl::effective()
    } else {
        None
    };
    let log_files = cubecl.as_ref().map(|c| c.0.clone()).unwrap_or_default();
    let batch = a.batch.unwrap_or(match a.stage {
        Stage::Train => 128,
        Stage::Fit => 1024,
    });
    // Synthetic 28×28 images: the cost of a step does not depend on pixel values. Training
    // gets as many as the real training split, visited in a shuffled order as an epoch
    // visits them: gathering images and latents out of 43 MB and 14 MB tables at random is
    // part of a real step's cost (with 512 images, all in cache, real epochs took ≈ 22 %
    // longer than the bench predicted; docs/speed.md).
    let n = match a.stage {
        Stage::Train => TRAIN_IMAGES,
        Stage::Fit => batch * 4,
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let images = crate::data::samples::Samples::Images(ImageSet {
        width: 28,
        height: 28,
        pixels: (0..n * 784).map(|_| rng.random::<u8>()).collect(),
        labels: vec![0; n],
        indices: (0..n as u32).collect(),
    });
    let model = HyperInrConfig::new()
        .with_hyper_activation(a.hyper_activation)
        .with_linear_path(a.linear_path);
    let config = TrainingConfig::new(model.clone())
        .with_batch_size(batch)
        .with_pixels_per_step(if a.stage == Stage::Fit { 0 } else { a.pixels });
    let mut t = Training::<B>::new(config, &images, device);
    t.single_read = !a.two_reads;
    t.siren_op = a.siren_op;
    let frozen = t.hypernet.clone().no_grad();
    let shared = crate::train::shared_coords::<B>(&images, device);
    let fit = FitConfig::new()
        .with_batch_size(batch)
        .with_siren_op(a.siren_op);
    let mut table = LatentTable::new(n, model.latent_dim, 0.0, 0);
    let order = t.epoch_order(n, 0);
    let mut step = |k: usize| -> Result<f64> {
        let rows: Vec<usize> = (0..batch).map(|i| order[(k * batch + i) % n]).collect();
        match a.stage {
            Stage::Train => t.step(&images, &rows),
            Stage::Fit => fit_step(
                &model,
                &frozen,
                &images,
                shared.as_ref(),
                &mut table,
                &rows,
                k,
                &fit,
                device,
            ),
        }
    };
    let sync = || B::sync(device).map_err(|e| anyhow::anyhow!("device sync: {e:?}"));
    sync()?;
    let setup_s = started.elapsed().as_secs_f64();
    let logged_start = log_counts(&log_files);
    let mut first_steps_ms = Vec::with_capacity(a.warmup);
    let w0 = Instant::now();
    for k in 0..a.warmup {
        let s0 = Instant::now();
        step(k)?;
        sync()?;
        first_steps_ms.push(round3(s0.elapsed().as_secs_f64() * 1e3));
    }
    let warmup_s = w0.elapsed().as_secs_f64();
    let logged_warm = log_counts(&log_files);
    let mut steps_ms = Vec::with_capacity(a.steps);
    let t0 = Instant::now();
    let mut mse = f64::NAN;
    for k in 0..a.steps {
        let s0 = Instant::now();
        mse = step(a.warmup + k)?;
        if !a.no_step_sync {
            sync()?;
        }
        steps_ms.push(s0.elapsed().as_secs_f64() * 1e3);
    }
    sync()?;
    let total = t0.elapsed().as_secs_f64();
    let ms = total * 1e3 / a.steps.max(1) as f64;
    let logged_end = log_counts(&log_files);
    let since = |later: Option<LogCounts>, earlier: Option<LogCounts>| Some(later?.since(earlier?));
    let mut sorted = steps_ms.clone();
    sorted.sort_by(f64::total_cmp);
    let backend_name = match a.backend {
        BackendKind::CudaNofusion => "cuda-nofusion".to_string(),
        other => format!("{other:?}").to_lowercase(),
    };
    // What a step evaluates: every pixel for 0 or K ≥ 784 (fitting always uses every pixel).
    let pixels = if a.pixels == 0 || a.stage == Stage::Fit {
        784
    } else {
        a.pixels.min(784)
    };
    let step_gflop = 2.0 * 3.0 * (forward_macs(&model, pixels) * batch) as f64 / 1e9;
    let achieved = step_gflop / (ms / 1e3);
    let peak = if a.no_peak { f64::NAN } else { peak_gflops() };
    let report = serde_json::json!({
        "stage": format!("{:?}", a.stage).to_lowercase(),
        "siren_op": a.siren_op.on::<B>().name(),
        "hyper_activation": a.hyper_activation,
        "linear_path": a.linear_path,
        "backend": backend_name,
        "device": format!("{device:?}"),
        "batch": batch,
        "pixels_per_step": pixels,
        "warmup_steps": a.warmup,
        "warmup_s": warmup_s,
        "ms_per_step": ms,
        "images_per_s": batch as f64 / (ms / 1e3),
        // A real epoch's steps: the 55,000 training images in batches of `batch`.
        "train_epoch_s": ms * TRAIN_IMAGES.div_ceil(batch) as f64 / 1e3,
        "epoch_s": ms * 60_000.0 / batch as f64 / 1e3,
        "step_gflop": round3(step_gflop),
        "achieved_gflops": round3(achieved),
        "peak_gflops": round3(peak),
        "floor_fraction": if peak.is_finite() { serde_json::json!(round3(achieved / peak)) } else { serde_json::Value::Null },
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
        // From cubecl's log files (CUDA, with loggers writing to files in cubecl.toml): per-step
        // launches, NVRTC compilations and autotune runs, during warm-up and the timed steps.
        "kernels_per_step": since(logged_end, logged_warm).filter(|_| log_files.launches).map(|c| round3(c.launches as f64 / a.steps.max(1) as f64)),
        "logged_warmup": counts_json(since(logged_warm, logged_start), a.warmup, &log_files),
        "logged_timed": counts_json(since(logged_end, logged_warm), a.steps, &log_files),
        "last_mse": mse,
        // cubecl's effective configuration (cubecl.toml + CUBECL_* variables) and cache roots.
        "cubecl": cubecl.map(|c| c.1),
    });
    Ok(report)
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

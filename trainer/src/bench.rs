//! `hyperinr bench`: seconds per training step with warm-up excluded.

use crate::backend::{dispatch, BackendKind};
use crate::data::ImageSet;
use crate::model::HyperInrConfig;
use crate::training::{Training, TrainingConfig};
use anyhow::Result;
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
    /// Untimed warm-up steps.
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
    #[arg(long, default_value_t = 128)]
    pub batch: usize,
    #[arg(long)]
    pub json: bool,
}

pub fn bench(a: BenchArgs) -> Result<()> {
    dispatch!(a.backend, bench_on, a)
}

fn bench_on<B: AutodiffBackend>(device: &B::Device, a: BenchArgs) -> Result<()> {
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
    let config = TrainingConfig::new(HyperInrConfig::new()).with_batch_size(a.batch);
    let mut t = Training::<B>::new(config, &images, device);
    let rows = |k: usize| -> Vec<usize> { (0..a.batch).map(|i| (k * a.batch + i) % n).collect() };
    let w0 = Instant::now();
    for k in 0..a.warmup {
        t.step(&images, &rows(k))?;
    }
    let warmup_s = w0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    for k in 0..a.steps {
        t.step(&images, &rows(k))?;
    }
    let ms = t0.elapsed().as_secs_f64() * 1e3 / a.steps.max(1) as f64;
    let report = serde_json::json!({
        "backend": format!("{:?}", a.backend).to_lowercase(),
        "device": format!("{device:?}"),
        "batch": a.batch,
        "warmup_steps": a.warmup,
        "warmup_s": warmup_s,
        "ms_per_step": ms,
        "epoch_s": ms * 60_000.0 / a.batch as f64 / 1e3,
        "threads": std::thread::available_parallelism().map(|v| v.get()).unwrap_or(1),
    });
    if a.json {
        println!("{report}");
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}

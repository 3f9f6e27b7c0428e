//! `hyperinr fit`: latents of a split fitted with φ frozen.

use super::*;
use crate::backend::siren_op::{SirenOp, TrainBackend};
use crate::backend::{dispatch, BackendKind};
use crate::data::augment::CloudAugment;
use crate::data::samples::{load_samples, Samples, ShapeSet};
use crate::train::artifacts::LatentFile;
use crate::train::fit::{fit_latents, FitConfig};
use crate::train::{RunDir, Training};
use anyhow::{bail, Result};
use hyperinr_data::Split;
use std::path::PathBuf;

#[derive(clap::Args, Clone)]
pub struct FitArgs {
    #[arg(long)]
    pub run: PathBuf,
    /// The dataset folder (default: FashionMNIST's Debian location; the run names the dataset).
    #[arg(long)]
    pub data: Option<PathBuf>,
    #[arg(long, value_enum)]
    pub split: Split,
    /// Fit only the first N samples of the split (0 = all).
    #[arg(long, default_value_t = 0)]
    pub limit: usize,
    #[arg(long, default_value_t = 30)]
    pub steps: usize,
    #[arg(long, default_value_t = 2e-2)]
    pub lr: f32,
    /// Samples fitted together (each latent's loss is its own: the batch changes speed,
    /// not results).
    #[arg(long, default_value_t = 1024)]
    pub batch: usize,
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    pub backend: BackendKind,
    /// How the SIREN runs: one fused operation (CPU backends) or burn's composed ops.
    #[arg(long, value_enum, default_value_t = SirenOp::Fused)]
    pub siren_op: SirenOp,
    /// Images: fit the split's images mirrored left to right instead, saved as
    /// `<split>-hflip` (extra training samples for the classifier:
    /// `classifier --train-latents train,train-hflip`).
    #[arg(long)]
    pub hflip: bool,
    /// Shapes: fit this many augmented copies of every shape of the split instead (rotated
    /// about the up axis, scaled per axis, jittered: `--augment-*`), saved as `<split>-aug`
    /// (extra training samples for the classifier: `classifier --train-latents train,train-aug`).
    #[arg(long, default_value_t = 0)]
    pub augment: usize,
    /// With `--augment`: rotation about the up axis, uniform in ±this many degrees.
    #[arg(long, default_value_t = 180.0)]
    pub augment_rotate: f32,
    /// With `--augment`: each axis scaled by a factor uniform in [1 − s, 1 + s].
    #[arg(long, default_value_t = 0.1)]
    pub augment_scale: f32,
    /// With `--augment`: per-point Gaussian jitter (standard deviation, cut at 3σ).
    #[arg(long, default_value_t = 0.01)]
    pub augment_jitter: f32,
    /// With `--augment`: seed of the copies.
    #[arg(long, default_value_t = 1)]
    pub augment_seed: u64,
    #[arg(long)]
    pub quiet: bool,
}

pub fn fit(a: FitArgs) -> Result<()> {
    dispatch!(a.backend, fit_on, a)
}

pub(crate) fn fit_on<B: TrainBackend>(device: &B::Device, a: FitArgs) -> Result<()> {
    let run = RunDir(a.run.clone());
    let (config, _) = run_config(&run)?;
    let data = data_dir(config.dataset, &a.data)?;
    let samples = load_samples(
        config.dataset,
        &data,
        a.split,
        a.limit,
        &config.udf_or_default(),
        config.seed,
    )?;
    let samples = match (a.hflip, samples) {
        (false, s) => s,
        (true, Samples::Images(images)) => Samples::Images(images.mirrored()),
        (true, Samples::Shapes(_)) => bail!("--hflip: only images can be mirrored"),
    };
    let augment = CloudAugment {
        rotate_deg: a.augment_rotate,
        scale: a.augment_scale,
        jitter: a.augment_jitter,
    };
    let samples = match (a.augment, samples) {
        (0, s) => s,
        (_, Samples::Images(_)) => bail!("--augment: only shapes are augmented (images: --hflip)"),
        (copies, Samples::Shapes(s)) => Samples::Shapes(ShapeSet::new(
            augment.augment_set(&s.clouds, copies, a.augment_seed)?,
            s.udf.clone(),
            s.seed,
        )?),
    };
    let training = Training::<B>::load(&run.checkpoint(), None, device)?;
    let started = std::time::Instant::now();
    let fit_cfg = FitConfig::new()
        .with_steps(a.steps)
        .with_lr(a.lr)
        .with_batch_size(a.batch)
        .with_latent_l2(config.latent_l2)
        .with_siren_op(a.siren_op);
    let table = fit_latents(
        &config.model,
        &training.hypernet,
        &samples,
        &fit_cfg,
        device,
        a.quiet,
    )?;
    let name = format!("{:?}", a.split).to_lowercase()
        + match (a.hflip, a.augment) {
            (true, _) => "-hflip",
            (false, 0) => "",
            (false, _) => "-aug",
        };
    LatentFile {
        split: a.split,
        dim: table.dim,
        values: table.values,
        labels: samples.labels().to_vec(),
        indices: samples.indices().to_vec(),
    }
    .save(&run.latents(&name))?;
    hyperinr_data::io::write_atomic(
        &run.0.join(format!("fit-{name}.json")),
        fit_cfg.to_string().as_bytes(),
    )?;
    if a.augment > 0 {
        let record =
            serde_json::json!({"copies": a.augment, "seed": a.augment_seed, "augment": augment});
        hyperinr_data::io::write_atomic(
            &run.0.join(format!("augment-{name}.json")),
            record.to_string().as_bytes(),
        )?;
    }
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "fitted {} latents of split {name} into {} in {seconds:.1} s ({:.0} samples/s)",
        samples.len(),
        run.latents(&name).display(),
        samples.len() as f64 / seconds.max(1e-9)
    );
    Ok(())
}

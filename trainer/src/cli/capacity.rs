//! `hyperinr capacity`: what caps PSNR, from fits at four levels of freedom.

use super::*;
use crate::backend::siren_op::TrainBackend;
use crate::backend::{dispatch, BackendKind};
use crate::data::samples::{load_samples, DatasetKind};
use crate::export::{hypernet_from_file, model_config_from_file};
use anyhow::{anyhow, Result};
use hyperinr_data::Split;
use hyperinr_runtime::Model;
use std::path::PathBuf;

#[derive(clap::Args, Clone)]
pub struct CapacityArgs {
    #[arg(long)]
    pub model: PathBuf,
    /// The dataset folder (default: FashionMNIST's Debian location; the model names the dataset).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// A split for tuning choices: validation by default, not test.
    #[arg(long, value_enum, default_value_t = Split::Val)]
    pub split: Split,
    /// The first N samples of the split.
    #[arg(long, default_value_t = 256)]
    pub limit: usize,
    /// Adam steps per level.
    #[arg(long, default_value_t = 500)]
    pub steps: usize,
    #[arg(long, default_value_t = 2e-2)]
    pub lr_latent: f32,
    #[arg(long, default_value_t = 3e-3)]
    pub lr_hidden: f32,
    #[arg(long, default_value_t = 1e-3)]
    pub lr_siren: f32,
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    pub backend: BackendKind,
}

/// The capacity report: the model, the samples and one line per level.
#[derive(serde::Serialize)]
struct CapacityReport {
    model: String,
    split: String,
    samples: usize,
    steps: usize,
    levels: Vec<CapacityLine>,
}

#[derive(serde::Serialize)]
struct CapacityLine {
    #[serde(flatten)]
    level: crate::analysis::capacity::LevelReport,
    /// PSNR (dB) of `mse` for images; `None` for shapes.
    psnr_db: Option<f64>,
    start_psnr_db: Option<f64>,
}

pub fn capacity(a: CapacityArgs) -> Result<()> {
    dispatch!(a.backend, capacity_on, a)
}

pub(crate) fn capacity_on<B: TrainBackend>(device: &B::Device, a: CapacityArgs) -> Result<()> {
    let bytes = crate::export::read_model_file(&a.model)?;
    let model = Model::from_bytes(&bytes).with_context(|| a.model.display().to_string())?;
    let kind = DatasetKind::from_name(model.config().dataset)
        .map_err(|e| anyhow!("{}: {e}", a.model.display()))?;
    let data = data_dir(kind, &a.data)?;
    let samples = load_samples(
        kind,
        &data,
        a.split,
        a.limit,
        &model_udf(&model),
        model.file().provenance.seed,
    )?;
    let cfg = model_config_from_file(model.file());
    let hypernet = hypernet_from_file::<B>(model.file(), device)?;
    let fit = crate::analysis::capacity::CapacityConfig::new()
        .with_steps(a.steps)
        .with_lr_latent(a.lr_latent)
        .with_lr_hidden(a.lr_hidden)
        .with_lr_siren(a.lr_siren);
    let levels =
        crate::analysis::capacity::capacity_levels(&cfg, &hypernet, &samples, &fit, device)?;
    let images = !kind.is_shapes();
    let psnr = |mse: f64| images.then(|| crate::train::psnr(mse));
    let report = CapacityReport {
        model: a.model.display().to_string(),
        split: format!("{:?}", a.split).to_lowercase(),
        samples: samples.len(),
        steps: a.steps,
        levels: levels
            .into_iter()
            .map(|level| CapacityLine {
                psnr_db: psnr(level.mse),
                start_psnr_db: psnr(level.start_mse),
                level,
            })
            .collect(),
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

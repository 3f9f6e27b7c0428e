//! `hyperinr eval`: a model file measured with the runtime on a dataset split.

use super::*;
use crate::backend::siren_op::TrainBackend;
use crate::backend::{dispatch, BackendKind};
use crate::data::samples::{load_samples, DatasetKind, Samples, UdfConfig};
use crate::eval::runtime_fit::{fit_with_runtime, settings_for, FitEngine};
use crate::eval::stored::{check_stored_split, StoredLatents};
use crate::eval::{evaluate, evaluate_shapes, EvalReport};
use crate::export::{dequantized_latents, hypernet_from_file, model_config_from_file};
use crate::train::fit::{fit_latents, FitConfig};
use crate::train::TrainingConfig;
use anyhow::{anyhow, bail, Result};
use hyperinr_data::Split;
use hyperinr_runtime::Model;
use hyperinr_shared::QuerySampler;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Clone)]
pub struct EvalArgs {
    #[arg(long)]
    pub model: PathBuf,
    #[arg(long, value_enum, default_value_t = DatasetKind::FashionMnist)]
    pub dataset: DatasetKind,
    /// The dataset folder (FashionMNIST default: /usr/share/datasets/fashion-mnist).
    #[arg(long)]
    pub data: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Split::Test)]
    pub split: Split,
    /// Evaluate only the first N samples (0 = all).
    #[arg(long, default_value_t = 0)]
    pub limit: usize,
    /// Fit fresh latents (φ frozen) instead of using the stored ones.
    #[arg(long)]
    pub fit: bool,
    /// With `--fit`: Adam steps per latent (default: the model file's fit settings, i.e.
    /// how its stored latents were fitted).
    #[arg(long)]
    pub fit_steps: Option<usize>,
    /// With `--fit`: Adam learning rate (default: the model file's fit settings).
    #[arg(long)]
    pub fit_lr: Option<f32>,
    /// With `--fit`: which fitter. `runtime` fits each sample with the runtime's fitter,
    /// the bits the device produces (images at every pixel, shapes at the queries the
    /// firmware draws), and evaluates its float latents as the device does; `burn` fits in
    /// batches on `--backend` and round-trips the latents through int8 as a file stores them.
    #[arg(long, value_enum, default_value_t = FitEngine::Burn)]
    pub engine: FitEngine,
    /// Shapes: surface points for the Chamfer distance are where the reconstructed UDF < ε
    /// (unit-sphere units).
    #[arg(long, default_value_t = 0.02)]
    pub eps: f32,
    /// Shapes: measure the Chamfer distance on the first N evaluated shapes only (0 = all;
    /// accuracy always covers every shape).
    #[arg(long, default_value_t = 0)]
    pub chamfer_limit: usize,
    #[arg(long)]
    pub json: bool,
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    pub backend: BackendKind,
}

pub(crate) fn open_model<'a>(bytes: &'a [u8], path: &Path, dataset: &str) -> Result<Model<'a>> {
    let model = Model::from_bytes(bytes).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    if model.config().dataset != dataset {
        bail!(
            "{}: the model was trained on `{}`, not `{dataset}`",
            path.display(),
            model.config().dataset
        );
    }
    Ok(model)
}

/// How the model's training run observed shapes by its provenance (`None` when the
/// provenance has no shape configuration).
pub(crate) fn provenance_udf(model: &Model<'_>) -> Option<UdfConfig> {
    TrainingConfig::from_json(model.file().provenance.training_config.as_bytes())
        .ok()
        .and_then(|c| c.udf)
}

/// How the model's training run observed shapes: the query sampler and clamp the file
/// records, the query count from its provenance. A file written before the sampler was
/// recorded reads as the default sampler; for one whose training drew another, the
/// provenance's sampler is taken (what burn's fit has always used for such files).
pub(crate) fn model_udf(model: &Model<'_>) -> UdfConfig {
    match (provenance_udf(model), model.config().input) {
        (Some(u), hyperinr_shared::InputKind::PointCloud { sampler, .. })
            if sampler == QuerySampler::DEFAULT =>
        {
            u
        }
        (run, hyperinr_shared::InputKind::PointCloud { udf_clamp, sampler }) => run
            .unwrap_or_else(UdfConfig::new)
            .with_clamp(udf_clamp)
            .with_query_sampler(&sampler),
        (run, hyperinr_shared::InputKind::Image { .. }) => run.unwrap_or_else(UdfConfig::new),
    }
}

pub fn eval(a: EvalArgs) -> Result<()> {
    let report = eval_report(&a)?;
    if a.json {
        let mut json = serde_json::to_value(&report)?;
        if let (true, Some(fields)) = (a.fit, json.as_object_mut()) {
            fields.insert("engine".into(), a.engine.name().into());
        }
        println!("{json}");
    } else {
        let quality = match (report.psnr_db, report.chamfer) {
            (Some(p), _) => format!("PSNR {p:.2} dB"),
            (_, Some(c)) => format!("Chamfer {c:.4} (ε {})", a.eps),
            _ => String::new(),
        };
        println!(
            "accuracy {:.4} over {} samples, {quality} ({} latents)",
            report.accuracy,
            report.samples,
            if report.fitted { "fitted" } else { "stored" }
        );
    }
    Ok(())
}

/// Accuracy and reconstruction quality of `latents` (dequantised) for `samples`.
pub(crate) fn evaluate_samples(
    model: &Model<'_>,
    latents: &[f32],
    samples: &Samples,
    fitted: bool,
    a: &EvalArgs,
) -> Result<EvalReport> {
    match samples {
        Samples::Images(s) => evaluate(model, latents, s, fitted),
        Samples::Shapes(s) => evaluate_shapes(model, latents, s, fitted, a.eps, a.chamfer_limit),
    }
}

pub fn eval_report(a: &EvalArgs) -> Result<EvalReport> {
    let bytes = crate::export::read_model_file(&a.model)?;
    let model = open_model(&bytes, &a.model, a.dataset.name())?;
    let data = data_dir(a.dataset, &a.data)?;
    let udf = model_udf(&model);
    let split_samples = load_samples(
        a.dataset,
        &data,
        a.split,
        0,
        &udf,
        model.file().provenance.seed,
    )?;
    if a.fit {
        let samples = split_samples.take(a.limit)?;
        if a.engine == FitEngine::Runtime {
            let settings = settings_for(&model, a.fit_steps, a.fit_lr)?;
            let latents = fit_with_runtime(&model, &samples, &settings, false)?;
            return evaluate_samples(&model, &latents, &samples, true, a);
        }
        let latents = dispatch!(
            a.backend,
            fit_for_model,
            &model,
            &samples,
            &fit_config_for_model(&model, a.fit_steps, a.fit_lr)?,
            true
        )?;
        return evaluate_samples(&model, &latents, &samples, true, a);
    }
    check_stored_split(&model, &a.model, a.split, " (use --fit to fit that split)")?;
    let stored = StoredLatents::read(&model, a.limit)?;
    stored.check_indices(&a.model, &data, split_samples.len())?;
    // Labels come from the dataset folder, not from the model file.
    let samples = split_samples.select(&stored.dataset_indices)?;
    evaluate_samples(&model, &stored.values, &samples, false, a)
}

/// The fit the model file records for its stored latents (steps, lr, latent L2), with
/// `steps` and `lr` overridden where given. The trainer's fitter has one Adam (β1, β2, ε of
/// `train/latents.rs`) and starts at zero: a file that records other constants is refused rather
/// than fitted differently from how it says.
pub(crate) fn fit_config_for_model(
    model: &Model<'_>,
    steps: Option<usize>,
    lr: Option<f32>,
) -> Result<FitConfig> {
    let stored = model.fit_settings();
    let ours = crate::export::fit_settings(&FitConfig::new());
    let constants = |f: &hyperinr_shared::FitSettings| (f.beta1, f.beta2, f.eps, f.init_std);
    if constants(stored) != constants(&ours) {
        bail!(
            "the model file fitted its latents with Adam β1 {}, β2 {}, ε {}, init std {}; \
             this fitter uses β1 {}, β2 {}, ε {}, init std {}",
            stored.beta1,
            stored.beta2,
            stored.eps,
            stored.init_std,
            ours.beta1,
            ours.beta2,
            ours.eps,
            ours.init_std
        );
    }
    Ok(FitConfig::new()
        .with_steps(steps.unwrap_or(stored.steps as usize))
        .with_lr(lr.unwrap_or(stored.lr))
        .with_latent_l2(stored.latent_l2)
        .with_batch_size(1024))
}

/// Fits latents for `samples` with the model file's dequantised hypernetwork and returns
/// them after an int8 round trip (what the device would store).
pub(crate) fn fit_for_model<B: TrainBackend>(
    device: &B::Device,
    model: &Model<'_>,
    samples: &Samples,
    fit: &FitConfig,
    quiet: bool,
) -> Result<Vec<f32>> {
    let cfg = model_config_from_file(model.file());
    let hypernet = hypernet_from_file::<B>(model.file(), device)?;
    let table = fit_latents(&cfg, &hypernet, samples, fit, device, quiet)?;
    dequantized_latents(&table.values, table.dim)
}

//! Fitting with the runtime's fitter on the host (`--engine runtime`): the exact bits the
//! device produces (`hyperinr_runtime::Model::fit_latent`, shapes observed through
//! `udf_queries` as the firmware does), beside burn's batched fit.

use crate::data::samples::Samples;
use anyhow::{anyhow, bail, Result};
use hyperinr_runtime::check::{fit_coords_len, fit_targets_len, query_settings};
use hyperinr_runtime::{udf_queries, FitWorkspaceBuf, Model, Observation, PixelSet};
use hyperinr_shared::{F32Slice, FitSettings, InputKind};
use serde::{Deserialize, Serialize};

/// Which fitter finds a latent for a new sample (φ frozen).
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FitEngine {
    /// burn's batched fit (`train::fit`), on the chosen backend; latents round-tripped
    /// through int8 as a file stores them.
    #[default]
    Burn,
    /// The runtime's fitter, one sample at a time on every core: what the device computes,
    /// bit for bit (float latents, as the device classifies them).
    Runtime,
}

impl FitEngine {
    /// The name the CLI and the JSON use.
    pub fn name(self) -> &'static str {
        match self {
            FitEngine::Burn => "burn",
            FitEngine::Runtime => "runtime",
        }
    }
}

/// The model file's fit settings with `steps` and `lr` overridden where given.
pub fn settings_for(
    model: &Model<'_>,
    steps: Option<usize>,
    lr: Option<f32>,
) -> Result<FitSettings> {
    let mut settings = *model.fit_settings();
    if let Some(steps) = steps {
        settings.steps =
            u32::try_from(steps).map_err(|_| anyhow!("--fit-steps {steps} is too large"))?;
    }
    if let Some(lr) = lr {
        if !(lr.is_finite() && lr > 0.0) {
            bail!("--fit-lr {lr} must be positive and finite");
        }
        settings.lr = lr;
    }
    Ok(settings)
}

/// Refuses a shape model whose training drew queries with another sampler than the one its
/// file records.
///
/// The runtime (and the firmware) draw a new shape's queries with the file's sampler
/// (`InputKind::PointCloud`). Files written before the sampler was recorded read as the
/// default sampler (20 % uniform) whatever their training drew: a model trained with, say,
/// 80 % uniform queries would be fitted on queries unlike its training ones, and the
/// latents would not come from the distribution its classifier was trained on (ModelNet40,
/// 2026-12-07: 0.72 against 0.93 for burn's fit on the first 300 test shapes). Its
/// provenance records the sampler, which burn's fit uses for such a file.
pub fn check_runtime_sampler(model: &Model<'_>) -> Result<()> {
    let (InputKind::PointCloud { sampler, .. }, Some(trained)) =
        (model.config().input, crate::cli::provenance_udf(model))
    else {
        return Ok(());
    };
    if trained.query_sampler().ok() != Some(sampler) {
        bail!(
            "--engine runtime: the model was trained on queries with σ {:?} and {} % uniform \
             in ±{} (its provenance), but the file records σ {:?} and {} % uniform in ±{}, \
             which the runtime's fitter draws (the file predates recorded samplers): \
             re-export it from its run with `hyperinr export`, or fit with `--engine burn`, \
             which reads the training's sampler",
            trained.sigmas,
            trained.uniform_fraction * 100.0,
            trained.bound,
            sampler.sigmas,
            sampler.uniform_fraction * 100.0,
            sampler.bound
        );
    }
    Ok(())
}

/// One fitted latent per sample of `samples` (`len × latent` values, sample order), with
/// the runtime's fitter: images at every pixel, shapes at the `FIT_QUERIES` queries the
/// firmware draws for the same dataset index. Samples are shared out over the cores.
pub fn fit_with_runtime(
    model: &Model<'_>,
    samples: &Samples,
    settings: &FitSettings,
    quiet: bool,
) -> Result<Vec<f32>> {
    check_runtime_sampler(model)?;
    let dim = model.sizes().latent;
    let n = samples.len();
    let threads = std::thread::available_parallelism()
        .map(|t| t.get())
        .unwrap_or(1)
        .min(n.max(1));
    let bar = crate::train::progress::bar(n as u64, quiet);
    bar.set_message(format!("runtime fit, {} steps", settings.steps));
    let per_thread = n.div_ceil(threads);
    let mut latents = vec![0.0f32; n * dim];
    std::thread::scope(|scope| -> Result<()> {
        let handles: Vec<_> = latents
            .chunks_mut(per_thread.max(1) * dim)
            .enumerate()
            .map(|(t, out)| {
                let bar = &bar;
                scope.spawn(move || fit_rows(model, samples, settings, t * per_thread, out, bar))
            })
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| anyhow!("a fitting thread panicked"))??;
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    Ok(latents)
}

/// Fits samples `first..` into `out` (one latent per `latent` values).
fn fit_rows(
    model: &Model<'_>,
    samples: &Samples,
    settings: &FitSettings,
    first: usize,
    out: &mut [f32],
    bar: &indicatif::ProgressBar,
) -> Result<()> {
    let dim = model.sizes().latent;
    let mut ws = FitWorkspaceBuf::new(model);
    let mut coords = vec![0.0f32; fit_coords_len(model)];
    let mut targets = vec![0.0f32; fit_targets_len(model)];
    for (k, latent) in out.chunks_exact_mut(dim).enumerate() {
        let row = first + k;
        let observation = match samples {
            Samples::Images(s) => Observation::Image {
                pixels: s.image(row),
                fitted: PixelSet::All,
            },
            Samples::Shapes(s) => {
                let cloud = hyperinr_data::io::f32s_to_bytes(s.clouds.cloud(row));
                let query = query_settings(model, s.clouds.indices[row]);
                udf_queries(F32Slice::new(&cloud), &query, &mut coords, &mut targets)?;
                Observation::Points {
                    coords: &coords,
                    targets: &targets,
                }
            }
        };
        model.fit_latent(observation, settings, &mut ws.workspace(), latent)?;
        bar.inc(1);
    }
    Ok(())
}

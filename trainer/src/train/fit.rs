//! Test-time fitting: latents for new images with the hypernetwork frozen.
//!
//! The same procedure serves unseen (validation, test) images and the re-fitting of
//! training images, so that a classifier sees latents from one distribution.

use crate::backend::siren_op::{SirenOp, TrainBackend};
use crate::data::samples::Samples;
use crate::model::{HyperInrConfig, HyperNet};
use crate::train::latents::LatentTable;
use crate::train::{batch_tensors, per_sample_loss, shared_coords};
use anyhow::{Context, Result};
use burn::config::Config;
use burn::module::Module;

/// Hyper-parameters of test-time fitting.
#[derive(Config, Debug)]
pub struct FitConfig {
    /// Adam steps per latent.
    #[config(default = 30)]
    pub steps: usize,
    /// Adam learning rate.
    #[config(default = 2e-2)]
    pub lr: f32,
    /// Samples fitted together.
    #[config(default = 256)]
    pub batch_size: usize,
    /// Weight of the mean squared latent norm (as in training).
    #[config(default = 1e-4)]
    pub latent_l2: f32,
    /// How the SIREN runs.
    #[config(default = "SirenOp::Fused")]
    pub siren_op: SirenOp,
}

/// Fits one latent per sample of `samples` (φ frozen); starts every latent at zero. Shapes
/// are observed at fresh query points in every step (draw = step), images on their grid.
///
/// Each latent minimises its own loss (its mean squared error over its own points plus its
/// penalty): the batch's loss is the *sum* of the samples' losses, so a latent's gradient
/// does not depend on the batch it lands in, nor, through the gradient's scale, on Adam's ε.
pub fn fit_latents<B: TrainBackend>(
    model: &HyperInrConfig,
    hypernet: &HyperNet<B>,
    samples: &Samples,
    fit: &FitConfig,
    device: &B::Device,
    quiet: bool,
) -> Result<LatentTable> {
    let frozen = hypernet.clone().no_grad();
    let shared = shared_coords::<B>(samples, device);
    let mut table = LatentTable::new(samples.len(), model.latent_dim, 0.0, 0);
    let rows_all: Vec<usize> = (0..samples.len()).collect();
    let bar = crate::train::progress::bar(
        (samples.len().div_ceil(fit.batch_size) * fit.steps) as u64,
        quiet,
    );
    let (mut last_sum, mut count) = (0.0f64, 0usize);
    for rows in rows_all.chunks(fit.batch_size) {
        for step in 0..fit.steps {
            let mse = fit_step(
                model,
                &frozen,
                samples,
                shared.as_ref(),
                &mut table,
                rows,
                step,
                fit,
                device,
            )?;
            bar.set_message(format!("fit mse {mse:.5}"));
            if step + 1 == fit.steps {
                last_sum += mse * rows.len() as f64;
                count += rows.len();
            }
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    if count > 0 {
        let mse = last_sum / count as f64;
        eprintln!(
            "fitted {count} latents: mse {mse:.6} (psnr {:.2} dB for images), float latents before int8",
            crate::train::psnr(mse)
        );
    }
    Ok(table)
}

/// One Adam step of test-time fitting on the latents `rows` of `table` (φ frozen: `frozen`
/// has no gradients); returns the batch's mean squared error before the step.
#[allow(clippy::too_many_arguments)]
pub fn fit_step<B: TrainBackend>(
    model: &HyperInrConfig,
    frozen: &HyperNet<B>,
    samples: &Samples,
    shared: Option<&burn::tensor::Tensor<B, 3>>,
    table: &mut LatentTable,
    rows: &[usize],
    step: usize,
    fit: &FitConfig,
    device: &B::Device,
) -> Result<f64> {
    let (z, coords, target) =
        batch_tensors::<B>(samples, shared, table, rows, step as u64, device)?;
    let z = z.require_grad();
    let (mse, loss) = per_sample_loss(
        model,
        frozen,
        z.clone(),
        coords,
        target,
        fit.latent_l2,
        fit.siren_op,
    );
    let mut grads = loss.sum().backward();
    let g = z
        .grad_remove(&mut grads)
        .context("latent received no gradient")?;
    let (g, mse) = crate::train::read_step(g, mse.mean().inner())?;
    let mse = f64::from(mse[0]);
    table.adam_step(rows, &g, fit.lr);
    Ok(mse)
}

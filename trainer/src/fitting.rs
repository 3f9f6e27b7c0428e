//! Test-time fitting: latents for new images with the hypernetwork frozen.
//!
//! The same procedure serves unseen (validation, test) images and the re-fitting of
//! training images, so that a classifier sees latents from one distribution.

use crate::latents::LatentTable;
use crate::model::{HyperInrConfig, HyperNet};
use crate::samples::Samples;
use crate::training::{batch_tensors, reconstruction_loss, shared_coords};
use anyhow::{Context, Result};
use burn::config::Config;
use burn::module::Module;
use burn::tensor::backend::AutodiffBackend;

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
}

/// Fits one latent per sample of `samples` (φ frozen); starts every latent at zero. Shapes
/// are observed at fresh query points in every step (draw = step), images on their grid.
pub fn fit_latents<B: AutodiffBackend>(
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
    let bar = crate::progress::bar(
        (samples.len().div_ceil(fit.batch_size) * fit.steps) as u64,
        quiet,
    );
    let (mut last_sum, mut count) = (0.0f64, 0usize);
    for rows in rows_all.chunks(fit.batch_size) {
        for step in 0..fit.steps {
            let (z, coords, target) =
                batch_tensors::<B>(samples, shared.as_ref(), &table, rows, step as u64, device)?;
            let z = z.require_grad();
            let (mse, loss) =
                reconstruction_loss(model, &frozen, z.clone(), coords, target, fit.latent_l2);
            let mut grads = loss.backward();
            let g = z
                .grad_remove(&mut grads)
                .context("latent received no gradient")?
                .into_data()
                .to_vec::<f32>()
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            table.adam_step(rows, &g, fit.lr);
            let mse: f64 = burn::tensor::ElementConversion::elem(mse.into_scalar());
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
            crate::training::psnr(mse)
        );
    }
    Ok(table)
}

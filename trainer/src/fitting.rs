//! Test-time fitting: latents for new images with the hypernetwork frozen.
//!
//! The same procedure serves unseen (validation, test) images and the re-fitting of
//! training images, so that a classifier sees latents from one distribution.

use crate::data::ImageSet;
use crate::latents::LatentTable;
use crate::model::{image_coords, HyperInrConfig, HyperNet};
use crate::training::reconstruction_loss;
use anyhow::{Context, Result};
use burn::config::Config;
use burn::module::Module;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Tensor, TensorData};

/// Hyper-parameters of test-time fitting.
#[derive(Config, Debug)]
pub struct FitConfig {
    /// Adam steps per latent.
    #[config(default = 30)]
    pub steps: usize,
    /// Adam learning rate.
    #[config(default = 2e-2)]
    pub lr: f32,
    /// Images fitted together.
    #[config(default = 256)]
    pub batch_size: usize,
    /// Weight of the mean squared latent norm (as in training).
    #[config(default = 1e-4)]
    pub latent_l2: f32,
}

/// Fits one latent per image of `images` (φ frozen); starts every latent at zero.
pub fn fit_latents<B: AutodiffBackend>(
    model: &HyperInrConfig,
    hypernet: &HyperNet<B>,
    images: &ImageSet,
    fit: &FitConfig,
    device: &B::Device,
    quiet: bool,
) -> Result<LatentTable> {
    let frozen = hypernet.clone().no_grad();
    let coords = image_coords::<B>(images.width, images.height, device);
    let n = images.pixel_count();
    let mut table = LatentTable::new(images.len(), model.latent_dim, 0.0, 0);
    let rows_all: Vec<usize> = (0..images.len()).collect();
    let bar = crate::progress::bar(
        (images.len().div_ceil(fit.batch_size) * fit.steps) as u64,
        quiet,
    );
    let (mut last_sum, mut count) = (0.0f64, 0usize);
    for rows in rows_all.chunks(fit.batch_size) {
        let target: Vec<f32> = rows
            .iter()
            .flat_map(|&r| images.image(r).iter().map(|&p| p as f32 / 255.0))
            .collect();
        let target: Tensor<B, 3> =
            Tensor::from_data(TensorData::new(target, [rows.len(), 1, n]), device);
        for step in 0..fit.steps {
            let z: Tensor<B, 2> = Tensor::from_data(
                TensorData::new(table.gather(rows), [rows.len(), model.latent_dim]),
                device,
            )
            .require_grad();
            let (mse, loss) = reconstruction_loss(
                model,
                &frozen,
                z.clone(),
                coords.clone(),
                target.clone(),
                fit.latent_l2,
            );
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
            "fitted {count} latents: mse {mse:.5}, psnr {:.2} dB (float latents, before int8)",
            crate::training::psnr(mse)
        );
    }
    Ok(table)
}

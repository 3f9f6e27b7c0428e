//! Joint auto-decoding: per-sample latents and the hypernetwork trained together on
//! reconstruction, with checkpoints at epoch ends, `metrics.csv` and resume.

pub mod artifacts;
pub mod classifier;
pub mod fit;
pub mod latents;
pub mod progress;

use crate::backend::siren_op::{SirenOp, TrainBackend};
use crate::data::samples::Samples;
use crate::model::HyperNet;
use crate::train::latents::LatentTable;
use anyhow::{bail, Context, Result};
use burn::module::Module;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{Adam, AdamConfig, GradientsParams, Optimizer};
use burn::tensor::{Tensor, TensorData};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::time::Instant;

mod checkpoint;
mod config;
mod loss;

pub use config::{RunDir, TrainingConfig};
pub use loss::*;

type HyperAdam<B> = OptimizerAdaptor<Adam, HyperNet<B>, B>;

/// A training run in progress.
pub struct Training<B: TrainBackend> {
    /// The run's configuration.
    pub config: TrainingConfig,
    /// The hypernetwork.
    pub hypernet: HyperNet<B>,
    optim: HyperAdam<B>,
    /// The latents.
    pub latents: LatentTable,
    /// Epochs completed.
    pub epoch: usize,
    coords: Option<Tensor<B, 3>>,
    device: B::Device,
    /// Read the latent gradients and the loss back in one transfer (one device round trip per
    /// step) rather than two. Same values either way; `hyperinr bench --two-reads` turns it off
    /// to measure what the second round trip costs.
    pub single_read: bool,
    /// How the SIREN runs (`--siren-op`); not part of the run's config: both give the same
    /// values up to f32 rounding.
    pub siren_op: SirenOp,
}

impl<B: TrainBackend> Training<B> {
    /// A fresh run.
    pub fn new(config: TrainingConfig, samples: &Samples, device: &B::Device) -> Self {
        let hypernet = config.model.init::<B>(config.seed, device);
        let latents = LatentTable::new(
            samples.len(),
            config.model.latent_dim,
            config.latent_init_std,
            config.seed.wrapping_add(1),
        );
        let optim = AdamConfig::new().init::<B, HyperNet<B>>();
        let coords = shared_coords::<B>(samples, device);
        Training {
            config,
            hypernet,
            optim,
            latents,
            epoch: 0,
            coords,
            device: device.clone(),
            single_read: true,
            siren_op: SirenOp::default(),
        }
    }

    /// One optimisation step on `rows` (after `latent_steps − 1` latent-only ones); returns
    /// the batch's mean squared error before the joint step.
    pub fn step(&mut self, samples: &Samples, rows: &[usize]) -> Result<f64> {
        if self.config.latent_steps > 1 {
            // Same pixels and loss (batch mean) as the joint step, so the latents' Adam sees
            // gradients of the same scale.
            let frozen = self.hypernet.clone().no_grad();
            for _ in 1..self.config.latent_steps {
                let (z, _, loss) = self.batch_loss(&frozen, samples, rows)?;
                let mut grads = loss.backward();
                let g = z
                    .grad_remove(&mut grads)
                    .context("latents received no gradient")?
                    .into_data()
                    .to_vec::<f32>()
                    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
                self.latents.adam_step(rows, &g, self.config.lr_latent);
            }
        }
        self.joint_step(samples, rows)
    }

    /// The batch's latents (tracked), its mean squared error and its loss through `net`.
    fn batch_loss(
        &self,
        net: &HyperNet<B>,
        samples: &Samples,
        rows: &[usize],
    ) -> Result<(Tensor<B, 2>, Tensor<B, 1>, Tensor<B, 1>)> {
        let (z, coords, target) = batch_tensors::<B>(
            samples,
            self.coords.as_ref(),
            &self.latents,
            rows,
            self.epoch as u64,
            &self.device,
        )?;
        let (coords, target) = self.subsample_pixels(coords, target, rows);
        let z = z.require_grad();
        let (mse, loss) = reconstruction_loss(
            &self.config.model,
            net,
            z.clone(),
            coords,
            target,
            self.config.latent_l2,
            self.siren_op,
        );
        Ok((z, mse, loss))
    }

    /// The joint step: φ and the batch's latents.
    fn joint_step(&mut self, samples: &Samples, rows: &[usize]) -> Result<f64> {
        let (z, mse, loss) = self.batch_loss(&self.hypernet, samples, rows)?;
        let loss = match (&self.hypernet.aux_head, self.config.aux_class_weight) {
            (Some(head), w) if w > 0.0 => {
                let labels: Vec<i64> = rows
                    .iter()
                    .map(|&r| i64::from(samples.labels()[r]))
                    .collect();
                let labels = Tensor::<B, 1, burn::tensor::Int>::from_data(
                    TensorData::new(labels, [rows.len()]),
                    &self.device,
                );
                let ce = burn::nn::loss::CrossEntropyLossConfig::new()
                    .init(&self.device)
                    .forward(head.forward(z.clone()), labels);
                loss + ce.mul_scalar(w)
            }
            _ => loss,
        };
        let mut grads = loss.backward();
        let z_grad = z
            .grad_remove(&mut grads)
            .context("latents received no gradient")?;
        // One read for both ([`read_step`]); `hyperinr bench --two-reads` measures the
        // second round trip this saves.
        let (z_grad, mse) = if self.single_read {
            let (z_grad, mse) = read_step(z_grad, mse.inner())?;
            (z_grad, f64::from(mse[0]))
        } else {
            let z_grad = z_grad
                .into_data()
                .to_vec::<f32>()
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let mse: f64 = burn::tensor::ElementConversion::elem(mse.into_scalar());
            (z_grad, mse)
        };
        if !mse.is_finite() {
            bail!(
                "loss became {mse} at epoch {} — stopping; the last checkpoint is kept",
                self.epoch + 1
            );
        }
        let grads = GradientsParams::from_grads(grads, &self.hypernet);
        self.hypernet = self
            .optim
            .step(self.config.lr_hyper, self.hypernet.clone(), grads);
        self.latents.adam_step(rows, &z_grad, self.config.lr_latent);
        Ok(mse)
    }

    /// The step's pixels: all, or `pixels_per_step` of them drawn without replacement when
    /// the batch shares one coordinate grid (images). Deterministic for the seed, epoch and
    /// the batch's first row (unique within an epoch), so a resumed run draws the same pixels.
    fn subsample_pixels(
        &self,
        coords: Tensor<B, 3>,
        target: Tensor<B, 3>,
        rows: &[usize],
    ) -> (Tensor<B, 3>, Tensor<B, 3>) {
        let k = self.config.pixels_per_step;
        let [shared, _, m] = coords.dims();
        if k == 0 || k >= m || shared != 1 {
            return (coords, target);
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(
            self.config.seed
                ^ 0xD1B5_4A32_D192_ED03u64.wrapping_mul(self.epoch as u64 + 1)
                ^ 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(rows.first().map_or(0, |&r| r as u64 + 1)),
        );
        let mut picked: Vec<i64> = rand::seq::index::sample(&mut rng, m, k)
            .into_iter()
            .map(|i| i as i64)
            .collect();
        // Ascending indices keep the gathers' reads in order.
        picked.sort_unstable();
        let index = Tensor::<B, 1, burn::tensor::Int>::from_data(
            TensorData::new(picked, [k]),
            &self.device,
        );
        (coords.select(2, index.clone()), target.select(2, index))
    }

    /// The order of samples in `epoch` (deterministic for the seed and epoch).
    pub fn epoch_order(&self, n: usize, epoch: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..n).collect();
        let mut rng = rand::rngs::StdRng::seed_from_u64(
            self.config.seed ^ (0x9E37_79B9_7F4A_7C15u64.wrapping_mul(epoch as u64 + 1)),
        );
        order.shuffle(&mut rng);
        order
    }

    /// Trains until `config.epochs`, checkpointing into `run` at the end of the first epoch
    /// that ends at least `checkpoint_every` after the previous checkpoint (zero: after
    /// every epoch), and always after the last one. A checkpoint of the default FashionMNIST
    /// run is ≈ 48 MB (φ, its Adam moments, 55,000 latents with theirs): written after every
    /// 4.5-s epoch it costs ≈ 0.7 s, 15 % of the run; a crash loses at most the interval.
    pub fn run(
        &mut self,
        samples: &Samples,
        run: &RunDir,
        quiet: bool,
        checkpoint_every: std::time::Duration,
    ) -> Result<()> {
        let steps_per_epoch = samples.len().div_ceil(self.config.batch_size);
        let (quality_name, _) = quality(self.config.dataset, 0.0);
        let total = (self.config.epochs * steps_per_epoch) as u64;
        let bar = crate::train::progress::bar(total, quiet);
        bar.set_position((self.epoch * steps_per_epoch) as u64);
        let mut metrics = std::fs::read_to_string(run.metrics()).unwrap_or_default();
        if metrics.is_empty() {
            metrics.push_str(&format!("epoch,train_mse,{quality_name},seconds\n"));
        }
        // Keep only rows of completed epochs (a crash may have left none extra, but be sure).
        let keep: Vec<&str> = metrics.lines().take(self.epoch + 1).collect();
        metrics = keep.join("\n") + "\n";
        let mut last_checkpoint = Instant::now();
        while self.epoch < self.config.epochs {
            let started = Instant::now();
            let order = self.epoch_order(samples.len(), self.epoch);
            let (mut sum, mut count) = (0.0f64, 0usize);
            let mut in_steps = std::time::Duration::ZERO;
            for rows in order.chunks(self.config.batch_size) {
                let step_started = Instant::now();
                let mse = self.step(samples, rows)?;
                in_steps += step_started.elapsed();
                sum += mse * rows.len() as f64;
                count += rows.len();
                let mean = sum / count as f64;
                let (name, q) = quality(self.config.dataset, mean);
                bar.set_message(format!(
                    "epoch {} mse {:.5} {name} {q:.4}",
                    self.epoch + 1,
                    mean,
                ));
                bar.inc(1);
            }
            self.epoch += 1;
            let mse = sum / count.max(1) as f64;
            let secs = started.elapsed().as_secs_f64();
            let (name, q) = quality(self.config.dataset, mse);
            metrics.push_str(&format!("{},{mse:.6},{q:.4},{secs:.2}\n", self.epoch));
            if self.epoch == self.config.epochs || last_checkpoint.elapsed() >= checkpoint_every {
                // Metrics first: a crash between the two writes leaves an extra row, which
                // resume drops (it keeps one row per checkpointed epoch), never a missing one.
                hyperinr_data::io::write_atomic(&run.metrics(), metrics.as_bytes())?;
                hyperinr_data::io::write_atomic(&run.checkpoint(), &self.checkpoint_bytes()?)?;
                last_checkpoint = Instant::now();
            }
            if quiet {
                eprintln!(
                    "epoch {} mse {mse:.6} {name} {q:.4} ({secs:.1} s, {:.1} s in steps)",
                    self.epoch,
                    in_steps.as_secs_f64()
                );
            }
        }
        bar.finish();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::HyperInrConfig;
    use hyperinr_data::fashion::ImageSet;

    /// `n` 8×8 images; pixel `i` of the concatenated images has value `value(i)`.
    fn images_8x8(n: usize, value: impl Fn(usize) -> u8) -> Samples {
        Samples::Images(ImageSet {
            width: 8,
            height: 8,
            pixels: (0..n * 64).map(value).collect(),
            labels: vec![0; n],
            indices: (0..n as u32).collect(),
        })
    }

    #[test]
    fn one_read_per_step_changes_no_value() {
        type B = burn::backend::Autodiff<burn::backend::NdArray<f32>>;
        let images = images_8x8(6, |i| (i * 37 % 256) as u8);
        let config = || {
            TrainingConfig::new(
                HyperInrConfig::new()
                    .with_latent_dim(8)
                    .with_hyper_hidden(vec![16])
                    .with_siren_hidden(vec![8]),
            )
            .with_batch_size(3)
        };
        let device = Default::default();
        let run = |single_read: bool| {
            let mut t = Training::<B>::new(config(), &images, &device);
            t.single_read = single_read;
            let mse: Vec<f64> = [[0, 1, 2], [3, 4, 5], [2, 4, 0]]
                .iter()
                .map(|rows| t.step(&images, rows).unwrap())
                .collect();
            (mse, t.latents.values.clone())
        };
        let (one, two) = (run(true), run(false));
        assert!(one.0.iter().all(|m| m.is_finite() && *m > 0.0));
        assert_eq!(one, two);
    }

    #[test]
    fn a_config_missing_a_field_is_refused_by_name() {
        let config = TrainingConfig::new(HyperInrConfig::new());
        let text = config.to_string();
        assert_eq!(
            TrainingConfig::from_json(text.as_bytes())
                .unwrap()
                .to_string(),
            text
        );
        let mut saved: serde_json::Value = serde_json::from_str(&text).unwrap();
        saved.as_object_mut().unwrap().remove("pixels_per_step");
        let err = TrainingConfig::from_json(saved.to_string().as_bytes()).unwrap_err();
        assert!(err.to_string().contains("pixels_per_step"), "{err}");
    }

    #[test]
    fn subsampled_pixels_keep_each_target_with_its_coordinates() {
        type B = burn::backend::Autodiff<burn::backend::NdArray<f32>>;
        // Pixel p of every image has value 3p, so a target names the pixel it came from.
        let images = images_8x8(4, |i| (i % 64 * 3) as u8);
        let model = HyperInrConfig::new()
            .with_latent_dim(4)
            .with_hyper_hidden(vec![8])
            .with_siren_hidden(vec![4]);
        let device = Default::default();
        let t = Training::<B>::new(
            TrainingConfig::new(model).with_pixels_per_step(10),
            &images,
            &device,
        );
        let pick = |rows: &[usize]| {
            let (_, coords, target) =
                batch_tensors::<B>(&images, t.coords.as_ref(), &t.latents, rows, 0, &device)
                    .unwrap();
            let (coords, target) = t.subsample_pixels(coords, target, rows);
            assert_eq!(coords.dims(), [1, 2, 10]);
            assert_eq!(target.dims(), [rows.len(), 1, 10]);
            let xy = coords.into_data().to_vec::<f32>().unwrap();
            let target = target.into_data().to_vec::<f32>().unwrap();
            let mut pixels: Vec<usize> = (0..10)
                .map(|j| {
                    let cell = |v: f32| ((v + 1.0) * 4.0 - 0.5).round() as usize;
                    let p = cell(xy[10 + j]) * 8 + cell(xy[j]);
                    for row in 0..rows.len() {
                        assert_eq!(target[row * 10 + j], (3 * p) as f32 / 255.0);
                    }
                    p
                })
                .collect();
            pixels.sort_unstable();
            pixels.dedup();
            assert_eq!(pixels.len(), 10, "drawn without replacement");
            pixels
        };
        // Deterministic for the batch (a resumed run draws the same pixels); another batch
        // of the epoch draws others.
        assert_eq!(pick(&[0, 1]), pick(&[0, 1]));
        assert_ne!(pick(&[0, 1]), pick(&[2, 3]));
    }
}

//! Where the reconstruction ceiling comes from: the same samples fitted with more and more
//! freedom, each level starting where the previous one ended.
//!
//! 1. [`FitLevel::Latent`]: the latent z (φ frozen): what test-time fitting can reach.
//! 2. [`FitLevel::LastHidden`]: the input h of φ's last layer, unconstrained (it may leave
//!    the activation's image): the best point of the affine subspace `W h + b` the last
//!    layer spans; with a linear path, of `W h + b + A u` (h and u fitted together).
//! 3. [`FitLevel::SirenFromHypernet`]: the SIREN parameters themselves, from φ(h*): what
//!    the SIREN's size allows near the hypernetwork's answer.
//! 4. [`FitLevel::SirenFromInit`]: the SIREN parameters from a fresh SIREN initialisation
//!    (one per sample), as a per-sample INR is usually fitted.
//!
//! The gap between consecutive levels says which part of the model caps the reconstruction:
//! the latent and φ's ReLU layers (1 → 2), the last layer's width (2 → 3) or the SIREN (3).

use crate::backend::siren_op::{siren, SirenOp, TrainBackend};
use crate::data::samples::Samples;
use crate::model::LinearRows;
use crate::model::{HyperInrConfig, HyperNet};
use crate::train::latents::LatentTable;
use crate::train::{batch_tensors, shared_coords};
use anyhow::{Context, Result};
use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Tensor, TensorData};
use rand::SeedableRng;
use serde::Serialize;

/// Hyper-parameters of the capacity fits.
#[derive(Config, Debug)]
pub struct CapacityConfig {
    /// Adam steps per level.
    #[config(default = 500)]
    pub steps: usize,
    /// Adam learning rate of the latent (as test-time fitting).
    #[config(default = 2e-2)]
    pub lr_latent: f32,
    /// Adam learning rate of the last hidden vector h.
    #[config(default = 3e-3)]
    pub lr_hidden: f32,
    /// Adam learning rate of SIREN parameters fitted directly.
    #[config(default = 1e-3)]
    pub lr_siren: f32,
    /// Samples fitted together.
    #[config(default = 256)]
    pub batch_size: usize,
    /// Seed of the per-sample SIREN initialisations (level 4).
    #[config(default = 42)]
    pub seed: u64,
}

/// What is fitted at one level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FitLevel {
    /// The latent z, φ frozen.
    Latent,
    /// The input of φ's last layer, unconstrained.
    LastHidden,
    /// The SIREN parameters, starting from φ's output at level 2.
    SirenFromHypernet,
    /// The SIREN parameters, starting from a SIREN initialisation.
    SirenFromInit,
}

/// One level's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct LevelReport {
    /// What was fitted.
    pub level: FitLevel,
    /// Values fitted per sample.
    pub dims: usize,
    /// Learning rate used.
    pub lr: f32,
    /// Mean squared error over all outputs of all samples before the first step.
    pub start_mse: f64,
    /// The same after the last step.
    pub mse: f64,
}

/// Fits the four levels for `samples` and reports each one's error.
pub fn capacity_levels<B: TrainBackend>(
    model: &HyperInrConfig,
    hypernet: &HyperNet<B>,
    samples: &Samples,
    cfg: &CapacityConfig,
    device: &B::Device,
) -> Result<Vec<LevelReport>> {
    let frozen = hypernet.clone().no_grad();
    let output = frozen.output_layer();
    let fitter = LevelFitter {
        model,
        samples,
        shared: shared_coords::<B>(samples, device),
        cfg,
        device,
    };
    let n = samples.len();
    let mut reports = Vec::new();

    let (z, r) = fitter.fit(
        FitLevel::Latent,
        LatentTable::new(n, model.latent_dim, 0.0, 0),
        cfg.lr_latent,
        |z| frozen.forward(z),
    )?;
    reports.push(r);

    // With a linear path, φ(z) = W h(z) + b + A z: the last linear maps span
    // {W h + b + A u}, so this level fits h and u together ([h, u], from [h(z*), z*]).
    let width = output.dims().0;
    let last_linear = |x: Tensor<B, 2>| match &frozen.linear {
        Some(a) => {
            let u = x.clone().narrow(1, width, model.latent_dim);
            output.forward(x.narrow(1, 0, width)) + a.forward(u)
        }
        None => output.forward(x),
    };
    let h0 = fitter.map_rows(&z, |z| match &frozen.linear {
        Some(_) => Tensor::cat(vec![frozen.last_hidden(z.clone()), z], 1),
        None => frozen.last_hidden(z),
    })?;
    let (h, r) = fitter.fit(FitLevel::LastHidden, h0, cfg.lr_hidden, last_linear)?;
    reports.push(r);

    let p0 = fitter.map_rows(&h, last_linear)?;
    let (_, r) = fitter.fit(FitLevel::SirenFromHypernet, p0, cfg.lr_siren, |p| p)?;
    reports.push(r);

    let mut rng = rand::rngs::StdRng::seed_from_u64(cfg.seed);
    let mut init = Vec::with_capacity(n * model.siren_params());
    for _ in 0..n {
        init.extend(model.siren_init(&mut rng).0);
    }
    let (_, r) = fitter.fit(
        FitLevel::SirenFromInit,
        LatentTable::from_values(init, model.siren_params()),
        cfg.lr_siren,
        |p| p,
    )?;
    reports.push(r);
    Ok(reports)
}

/// The parts every level shares.
struct LevelFitter<'a, B: TrainBackend> {
    model: &'a HyperInrConfig,
    samples: &'a Samples,
    shared: Option<Tensor<B, 3>>,
    cfg: &'a CapacityConfig,
    device: &'a B::Device,
}

impl<B: TrainBackend> LevelFitter<'_, B> {
    /// `f` applied to every row of `table` (batched), as a fresh table.
    fn map_rows(
        &self,
        table: &LatentTable,
        f: impl Fn(Tensor<B, 2>) -> Tensor<B, 2>,
    ) -> Result<LatentTable> {
        let (mut values, mut dim) = (Vec::new(), 0);
        let rows_all: Vec<usize> = (0..table.len()).collect();
        for rows in rows_all.chunks(self.cfg.batch_size.max(1)) {
            let x = Tensor::<B, 2>::from_data(
                TensorData::new(table.gather(rows), [rows.len(), table.dim]),
                self.device,
            );
            let y = f(x);
            dim = y.dims()[1];
            values.extend(
                y.into_data()
                    .to_vec::<f32>()
                    .map_err(|e| anyhow::anyhow!("{e:?}"))?,
            );
        }
        Ok(LatentTable::from_values(values, dim))
    }

    /// Adam on the rows of `table` for `cfg.steps` steps through `to_params` (values →
    /// SIREN parameters); returns the fitted table and the errors before and after.
    ///
    /// Images keep each sample's best values seen (the grid is the same at every step, so
    /// errors compare): a level starts at the previous level's optimum and Adam's first
    /// steps, about `lr` in every coordinate, can leave it; the level's answer must never be
    /// worse than its starting point. Shapes see a fresh draw of queries at every step and
    /// keep the last values.
    fn fit(
        &self,
        level: FitLevel,
        mut table: LatentTable,
        lr: f32,
        to_params: impl Fn(Tensor<B, 2>) -> Tensor<B, 2>,
    ) -> Result<(LatentTable, LevelReport)> {
        let start = self.sample_errors(&table, &to_params)?;
        let start_mse = mean(&start);
        let dim = table.dim;
        let mut best = self.shared.is_some().then(|| Best {
            values: table.values.clone(),
            errors: start,
            dim,
        });
        let rows_all: Vec<usize> = (0..table.len()).collect();
        for rows in rows_all.chunks(self.cfg.batch_size.max(1)) {
            for step in 0..self.cfg.steps {
                let (x, coords, target) = batch_tensors::<B>(
                    self.samples,
                    self.shared.as_ref(),
                    &table,
                    rows,
                    step as u64,
                    self.device,
                )?;
                let x = x.require_grad();
                let out = siren(self.model, to_params(x.clone()), coords, SirenOp::Fused);
                let per_sample = (out - target).powi_scalar(2).mean_dim(2).mean_dim(1);
                let mut grads = per_sample.clone().mean().backward();
                let g = x
                    .grad_remove(&mut grads)
                    .with_context(|| format!("{level:?}: no gradient"))?;
                let (g, errors) = crate::train::read_step(g, per_sample.inner())?;
                // Step 0 sees the starting values, already recorded.
                if let (Some(best), true) = (best.as_mut(), step > 0) {
                    for (&r, &e) in rows.iter().zip(&errors) {
                        best.offer(r, f64::from(e), table.row(r));
                    }
                }
                table.adam_step(rows, &g, lr);
            }
        }
        let last = self.sample_errors(&table, &to_params)?;
        let (values, errors) = match best {
            Some(mut best) => {
                for (r, &e) in last.iter().enumerate() {
                    best.offer(r, e, table.row(r));
                }
                (best.values, best.errors)
            }
            None => (table.values, last),
        };
        Ok((
            LatentTable::from_values(values, dim),
            LevelReport {
                level,
                dims: dim,
                lr,
                start_mse,
                mse: mean(&errors),
            },
        ))
    }

    /// Each sample's mean squared error over its outputs (draw 0 for shapes).
    fn sample_errors(
        &self,
        table: &LatentTable,
        to_params: &impl Fn(Tensor<B, 2>) -> Tensor<B, 2>,
    ) -> Result<Vec<f64>> {
        let mut errors = Vec::with_capacity(table.len());
        let rows_all: Vec<usize> = (0..table.len()).collect();
        for rows in rows_all.chunks(self.cfg.batch_size.max(1)) {
            let (x, coords, target) = batch_tensors::<B>(
                self.samples,
                self.shared.as_ref(),
                table,
                rows,
                0,
                self.device,
            )?;
            let out = siren(self.model, to_params(x), coords, SirenOp::Fused);
            let per_sample = (out - target).powi_scalar(2).mean_dim(2).mean_dim(1);
            errors.extend(
                per_sample
                    .into_data()
                    .to_vec::<f32>()
                    .map_err(|e| anyhow::anyhow!("{e:?}"))?
                    .into_iter()
                    .map(f64::from),
            );
        }
        Ok(errors)
    }
}

/// Each sample's lowest error seen and the values that gave it.
struct Best {
    values: Vec<f32>,
    errors: Vec<f64>,
    dim: usize,
}

impl Best {
    /// Keeps `row` as sample `r`'s values if `error` is below its best so far.
    fn offer(&mut self, r: usize, error: f64, row: &[f32]) {
        if error < self.errors[r] {
            self.errors[r] = error;
            self.values[r * self.dim..(r + 1) * self.dim].copy_from_slice(row);
        }
    }
}

/// The mean of `values` (every sample has as many outputs, so this is the mean over all).
fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, NdArray};
    use hyperinr_data::fashion::ImageSet;

    type Ad = Autodiff<NdArray<f32>>;

    /// A small image set: smooth blobs, different per sample.
    fn blobs(n: usize) -> Samples {
        let mut pixels = Vec::with_capacity(n * 64);
        for k in 0..n {
            for r in 0..8 {
                for c in 0..8 {
                    let (dx, dy) = (c as f32 - 2.0 - k as f32, r as f32 - 3.0);
                    pixels.push((255.0 * (-(dx * dx + dy * dy) / 6.0).exp()) as u8);
                }
            }
        }
        Samples::Images(ImageSet {
            width: 8,
            height: 8,
            pixels,
            labels: vec![0; n],
            indices: (0..n as u32).collect(),
        })
    }

    #[test]
    fn each_level_starts_where_the_previous_ended_and_fitting_lowers_the_error() {
        levels_chain(false);
    }

    /// With a linear path, level 2 fits `[h, u]` through `W h + b + A u` and starts at
    /// `[h(z*), z*]`: exactly φ(z*), so it still starts where level 1 ended.
    #[test]
    fn levels_chain_with_a_linear_path() {
        levels_chain(true);
    }

    fn levels_chain(linear_path: bool) {
        let mut cfg = HyperInrConfig::new();
        cfg.latent_dim = 4;
        cfg.hyper_hidden = vec![16, 16];
        cfg.siren_hidden = vec![8, 8];
        cfg.linear_path = linear_path;
        let device = Default::default();
        let net = cfg.init::<Ad>(3, &device);
        let samples = blobs(3);
        let fit = CapacityConfig::new().with_steps(40).with_batch_size(2);
        let r = capacity_levels(&cfg, &net, &samples, &fit, &device).unwrap();
        let levels: Vec<FitLevel> = r.iter().map(|l| l.level).collect();
        assert_eq!(
            levels,
            [
                FitLevel::Latent,
                FitLevel::LastHidden,
                FitLevel::SirenFromHypernet,
                FitLevel::SirenFromInit
            ]
        );
        assert_eq!(
            r.iter().map(|l| l.dims).collect::<Vec<_>>(),
            [
                4,
                16 + if linear_path { 4 } else { 0 },
                cfg.siren_params(),
                cfg.siren_params()
            ]
        );
        for l in &r {
            assert!(l.mse < l.start_mse, "{l:?} did not improve");
        }
        // Levels 2 and 3 start from the previous level's optimum: the same function.
        for k in 1..3 {
            let rel = (r[k].start_mse - r[k - 1].mse).abs() / r[k - 1].mse;
            assert!(
                rel < 1e-4,
                "level {k} starts at {} not {}",
                r[k].start_mse,
                r[k - 1].mse
            );
        }
    }
}

//! The IFT check (`hyperinr ift`, DESIGN.md "IFT check", issue 7): does the paper's
//! Implicit-Function-Theorem argument hold for a trained model, latent by latent?
//!
//! For each stored latent `z` of a model file (dequantised weights, dequantised latent):
//!
//! * **Jacobian** `J = ∂φ/∂z` (`d × l`, `d` SIREN parameters, `l` latent length) by burn's
//!   reverse-mode autodiff, all `d` rows in one backward pass over a batch (see
//!   [`jacobian`]); checked on a few latents against central finite differences of an
//!   independent f64 re-implementation of φ ([`check_jacobian_fd`]).
//! * **Spectrum** of `J` ([`jacobian_spectrum`], nalgebra SVD in f64): numerical rank
//!   `#{σ_i > σ_max · max(d, l) · ε_f32}`, `σ_min`, condition number `σ_max / σ_min`
//!   (infinite when `σ_min = 0`). Full column rank means φ is locally injective at `z`:
//!   the latent is determined by the weights it produces.
//! * **Hessian** in `z` of the pure reconstruction loss `L(z) = mean((SIREN_φ(z)(x) − y)²)`
//!   (no latent regulariser) and its smallest eigenvalue ([`reconstruction_hessian`],
//!   [`hessian_spectrum`]). A positive definite Hessian makes the fitted latent a strict
//!   local minimum, so the fit `y ↦ z*(y)` is locally a smooth function (the IFT applied to
//!   `∇L = 0`).
//!
//! How the Hessian is computed: `∇²_z L = Jᵀ ∇²_p L J + Σ_k (∂L/∂p_k) ∇²_z φ_k`, where `p`
//! are the SIREN parameters. The `l` products `∇²_p L · J e_j` are complex-step derivatives
//! of the SIREN loss gradient `∇_p L` (hand-written backpropagation in complex f64,
//! [`HostSiren`]) — exact to rounding, no step-size trade-off. φ's own curvature term
//! vanishes almost everywhere when φ is piecewise affine (ReLU, leaky ReLU: its kinks are
//! never differentiated twice); for a smooth φ (SiLU) it is the complex-step derivative of
//! `∇_z (gᵀ φ)` with `g = ∇_p L` held fixed ([`HostMlp::weighted_curvature`]).
//! This part runs on the host in f64 rather than on a burn f64 backend on purpose: burn
//! 0.21 fixes a device's default float dtype process-wide on first use, and `NdArray<f32>`
//! and `NdArray<f64>` share one device, so an f64 burn backend in the same process as the
//! trainer's f32 one silently computes in whichever dtype came first (and breaks
//! `to_vec::<f32>()` elsewhere when f64 wins).

mod hessian;
mod jacobian;
mod oracle;
mod picture;
mod spectrum;
#[cfg(test)]
mod tests;

pub use hessian::*;
pub use jacobian::*;
pub use oracle::*;
pub use picture::*;
pub use spectrum::*;

use crate::export::{hypernet_from_file, model_config_from_file};
use crate::model::HyperNet;
use crate::model::LinearRows;
use anyhow::{anyhow, bail, Context, Result};
use burn::module::Module;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::Tensor;
use serde::Serialize;
use std::time::Instant;

/// Rows of `J` computed per backward pass (bounds the `[rows, d]` batch in memory).
const JACOBIAN_CHUNK: usize = 512;

/// Latents whose autodiff Jacobian [`run_ift`] checks against finite differences.
pub const FD_CHECK_LATENTS: usize = 3;

/// A tensor's values as f64 (exact for f32 and f64 backends).
fn values_f64<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
    t.into_data().iter::<f64>().collect()
}

/// `(latent length, SIREN parameter count)` of a hypernetwork.
fn hypernet_dims<B: Backend>(hypernet: &HyperNet<B>) -> Result<(usize, usize)> {
    let first = hypernet
        .layers
        .first()
        .ok_or_else(|| anyhow!("hypernetwork has no layers"))?;
    let last = hypernet
        .layers
        .last()
        .ok_or_else(|| anyhow!("hypernetwork has no layers"))?;
    Ok((first.dims().0, last.dims().1))
}

/// The IFT figures of one stored latent.
#[derive(Clone, Debug, Serialize)]
pub struct LatentIft {
    /// Index in the model's latent store.
    pub index: usize,
    /// Class label.
    pub label: u8,
    /// Index of the sample in its dataset split.
    pub dataset_index: u32,
    /// Spectrum of `J`.
    pub jacobian: JacobianSpectrum,
    /// Active units in each hidden layer of φ at the latent (activation derivative above
    /// [`ACTIVE_DERIVATIVE`] in magnitude; for ReLU, pre-activation > 0): `J` factors through
    /// them, so `rank J ≤ min(active_units)`.
    pub active_units: Vec<usize>,
    /// Reconstruction MSE at the latent.
    pub mse: f64,
    /// `‖∇_z L‖₂` of the pure reconstruction loss (not zero: latents were fitted with an
    /// L2 regulariser and a finite number of steps).
    pub grad_norm: f64,
    /// Spectrum of `∇²_z L`.
    pub hessian: HessianSpectrum,
    /// [`LossHessian::asymmetry`] relative to `max|λ|`.
    pub hessian_rel_asymmetry: f64,
}

/// Wall-clock seconds per latent, by stage.
#[derive(Clone, Debug, Default, Serialize)]
pub struct IftTiming {
    /// Autodiff Jacobian.
    pub jacobian_s: f64,
    /// SVD of `J`.
    pub svd_s: f64,
    /// Hessian and its eigen-decomposition.
    pub hessian_s: f64,
    /// All of it.
    pub total_s: f64,
}

/// The IFT check over a model's stored latents.
#[derive(Clone, Debug, Serialize)]
pub struct IftReport {
    /// Latents analysed.
    pub samples: usize,
    /// `l`.
    pub latent_dim: usize,
    /// `d`.
    pub siren_params: usize,
    /// Fraction of latents where `J` has full column rank.
    pub full_rank_fraction: f64,
    /// Median numerical rank of `J`.
    pub rank_median: f64,
    /// Smallest numerical rank of `J` over the latents (0 for none).
    pub rank_min: usize,
    /// Per hidden layer of φ, the median over the latents of its active units
    /// ([`LatentIft::active_units`]).
    pub active_units_median: Vec<f64>,
    /// Median `σ_min(J)`.
    pub sigma_min_median: f64,
    /// Median `σ_max(J)`.
    pub sigma_max_median: f64,
    /// Median condition number of `J` (infinite ones sort last); `None` if it is infinite.
    pub condition_median: Option<f64>,
    /// Latents with `σ_min = 0` (infinite condition number).
    pub condition_infinite_count: usize,
    /// Fraction of latents whose loss Hessian is positive definite.
    pub hessian_pd_fraction: f64,
    /// Latents whose loss Hessian has a clearly negative eigenvalue.
    pub hessian_indefinite_count: usize,
    /// Latents whose loss Hessian is singular to working accuracy.
    pub hessian_near_singular_count: usize,
    /// Median smallest Hessian eigenvalue.
    pub hessian_min_eig_median: f64,
    /// Median reconstruction MSE.
    pub mse_median: f64,
    /// Relative column error of the autodiff Jacobian against f64 finite differences
    /// ([`check_jacobian_fd`]), max over the first latents checked.
    pub jacobian_fd_max_rel_error: Option<f64>,
    /// How many latents that check covered.
    pub jacobian_fd_latents: usize,
    /// The rank rule, in words.
    pub rank_rule: &'static str,
    /// How the Hessian is computed, in words.
    pub hessian_method: &'static str,
    /// Mean seconds per latent.
    pub timing: IftTiming,
    /// One entry per latent.
    pub per_latent: Vec<LatentIft>,
}

/// Median of finite-or-infinite values (NaN-free); 0 for none.
fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        let (a, b) = (v[n / 2 - 1], v[n / 2]);
        if a.is_infinite() || b.is_infinite() {
            b
        } else {
            0.5 * (a + b)
        }
    }
}

/// [`run_ift_targets`] for an image model: `images[k]` is the target of stored latent `k`,
/// `width × height × out_dim` values in `[0, 1]` (channel-major; for grayscale the pixels
/// row-major). Checks the Jacobian against finite differences on the first
/// [`FD_CHECK_LATENTS`] latents.
pub fn run_ift<B: AutodiffBackend>(
    model_bytes: &[u8],
    images: &[Vec<f32>],
    limit: usize,
    device: &B::Device,
) -> Result<IftReport> {
    let model = hyperinr_runtime::Model::from_bytes(model_bytes)?;
    let (width, height) = match model.config().input {
        hyperinr_shared::InputKind::Image { width, height } => (width, height),
        other => {
            bail!("run_ift takes images; this model's input is {other:?} (use run_ift_targets)")
        }
    };
    let mut coords = Vec::with_capacity(2 * (width * height) as usize);
    for axis in 0..2 {
        for r in 0..height {
            for c in 0..width {
                coords.push(if axis == 0 {
                    hyperinr_runtime::image_coord(c, width)
                } else {
                    hyperinr_runtime::image_coord(r, height)
                });
            }
        }
    }
    let targets: Vec<IftTarget<'_>> = images
        .iter()
        .map(|values| IftTarget {
            coords: &coords,
            values,
        })
        .collect();
    run_ift_targets::<B>(model_bytes, &targets, limit, FD_CHECK_LATENTS, device)
}

/// The IFT check on the first `limit` stored latents of a model file (dequantised weights
/// and latents), `targets[k]` being the reconstruction target of stored latent `k`. `J` is
/// computed on backend `B`, the Hessian on the host in f64 ([`reconstruction_hessian`]); the
/// first `fd_check` latents' Jacobians are checked against f64 finite differences.
pub fn run_ift_targets<B: AutodiffBackend>(
    model_bytes: &[u8],
    targets: &[IftTarget<'_>],
    limit: usize,
    fd_check: usize,
    device: &B::Device,
) -> Result<IftReport> {
    let model = hyperinr_runtime::Model::from_bytes(model_bytes)?;
    let file = model.file();
    let config = model_config_from_file(file);
    let hypernet = hypernet_from_file::<B>(file, device)?.no_grad();
    let (l, d) = hypernet_dims(&hypernet)?;
    if l != config.latent_dim || d != config.siren_params() {
        bail!(
            "hypernetwork maps {l} → {d}; the config says {} → {}",
            config.latent_dim,
            config.siren_params()
        );
    }
    let n = limit.min(model.latent_count());
    if targets.len() < n {
        bail!("{n} latents to analyse but only {} targets", targets.len());
    }
    let mlp = HostMlp::from_hypernet(&hypernet);
    let mut per_latent = Vec::with_capacity(n);
    let mut timing = IftTiming::default();
    let mut fd_latents = Vec::new();
    for (k, target) in targets.iter().enumerate().take(n) {
        let mut z = vec![0.0f32; l];
        let info = model.stored_latent(k, &mut z)?;
        let t0 = Instant::now();
        let jac = jacobian(&hypernet, &z)?;
        let t1 = Instant::now();
        let spectrum = jacobian_spectrum(&jac.matrix, d, l);
        let t2 = Instant::now();
        let z64: Vec<f64> = z.iter().map(|&v| f64::from(v)).collect();
        let hess = reconstruction_hessian(&config, &mlp, &z64, &jac, *target)
            .with_context(|| format!("Hessian of latent {k}"))?;
        let hspec = hessian_spectrum(&hess);
        let t3 = Instant::now();
        timing.jacobian_s += (t1 - t0).as_secs_f64();
        timing.svd_s += (t2 - t1).as_secs_f64();
        timing.hessian_s += (t3 - t2).as_secs_f64();
        if k < fd_check {
            fd_latents.push(z.clone());
        }
        let active_units = active_units(&mlp, &z64);
        let scale = hspec.eigenvalues.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        per_latent.push(LatentIft {
            index: k,
            label: info.label,
            dataset_index: info.dataset_index,
            mse: hess.mse,
            grad_norm: hess.grad.iter().map(|g| g * g).sum::<f64>().sqrt(),
            hessian_rel_asymmetry: if scale > 0.0 {
                hess.asymmetry / scale
            } else {
                0.0
            },
            jacobian: spectrum,
            active_units,
            hessian: hspec,
        });
    }
    let jacobian_fd_max_rel_error = if fd_latents.is_empty() {
        None
    } else {
        Some(check_jacobian_fd(&hypernet, &fd_latents)?)
    };
    if n > 0 {
        let nf = n as f64;
        timing.jacobian_s /= nf;
        timing.svd_s /= nf;
        timing.hessian_s /= nf;
        timing.total_s = timing.jacobian_s + timing.svd_s + timing.hessian_s;
    }
    Ok(summarise(
        per_latent,
        l,
        d,
        jacobian_fd_max_rel_error,
        fd_latents.len(),
        timing,
    ))
}

fn summarise(
    per_latent: Vec<LatentIft>,
    l: usize,
    d: usize,
    jacobian_fd_max_rel_error: Option<f64>,
    jacobian_fd_latents: usize,
    timing: IftTiming,
) -> IftReport {
    let n = per_latent.len();
    let frac = |c: usize| if n == 0 { 0.0 } else { c as f64 / n as f64 };
    let col = |f: &dyn Fn(&LatentIft) -> f64| per_latent.iter().map(f).collect::<Vec<f64>>();
    let conditions = col(&|r| r.jacobian.condition.unwrap_or(f64::INFINITY));
    let condition_median = median(&conditions);
    let count = |def: Definiteness| {
        per_latent
            .iter()
            .filter(|r| r.hessian.definiteness == def)
            .count()
    };
    IftReport {
        samples: n,
        latent_dim: l,
        siren_params: d,
        full_rank_fraction: frac(per_latent.iter().filter(|r| r.jacobian.full_rank).count()),
        rank_median: median(&col(&|r| r.jacobian.rank as f64)),
        rank_min: per_latent
            .iter()
            .map(|r| r.jacobian.rank)
            .min()
            .unwrap_or(0),
        active_units_median: active_units_median(
            &per_latent
                .iter()
                .map(|r| r.active_units.clone())
                .collect::<Vec<_>>(),
        ),
        sigma_min_median: median(&col(&|r| r.jacobian.sigma_min)),
        sigma_max_median: median(&col(&|r| r.jacobian.sigma_max)),
        condition_median: condition_median.is_finite().then_some(condition_median),
        condition_infinite_count: conditions.iter().filter(|c| c.is_infinite()).count(),
        hessian_pd_fraction: frac(count(Definiteness::PositiveDefinite)),
        hessian_indefinite_count: count(Definiteness::Indefinite),
        hessian_near_singular_count: count(Definiteness::NearSingular),
        hessian_min_eig_median: median(&col(&|r| r.hessian.min_eig)),
        mse_median: median(&col(&|r| r.mse)),
        jacobian_fd_max_rel_error,
        jacobian_fd_latents,
        rank_rule: "rank = #{σ_i > σ_max · max(d, l) · ε_f32}; full rank = rank l",
        hessian_method: "J^T (∇²_p L) J + Σ_k (∂L/∂p_k) ∇²_z φ_k (φ's term zero a.e. for ReLU and \
                         leaky ReLU); both by complex-step differentiation of gradients in f64 \
                         (SIREN loss gradient along J e_j, φ's weighted gradient along e_j); PD \
                         iff λ_min > max|λ| · l · ε_f32 + asymmetry",
        timing,
        per_latent,
    }
}

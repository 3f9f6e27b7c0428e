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

use crate::export::{hypernet_from_file, model_config_from_file};
use crate::model::{HyperInrConfig, HyperNet};
use anyhow::{anyhow, bail, Context, Result};
use burn::module::Module;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use serde::Serialize;
use std::path::Path;
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

// ---------------------------------------------------------------------------------------
// Jacobian
// ---------------------------------------------------------------------------------------

/// `J = ∂φ/∂z` at one latent, with `φ(z)` itself.
#[derive(Clone, Debug)]
pub struct LatentJacobian {
    /// `φ(z)`: the SIREN parameters (`d`).
    pub params: Vec<f64>,
    /// `J` row-major `d × l`: row `i` is `∇_z φ_i`.
    pub matrix: Vec<f64>,
    /// `d`.
    pub rows: usize,
    /// `l`.
    pub cols: usize,
}

impl LatentJacobian {
    /// Column `j` (`∂φ/∂z_j`, length `d`).
    pub fn column(&self, j: usize) -> Vec<f64> {
        (0..self.rows)
            .map(|i| self.matrix[i * self.cols + j])
            .collect()
    }
}

/// `J = ∂φ/∂z` (`d × l`) at latent `z` by reverse-mode autodiff.
///
/// Reverse mode yields one row of `J` (a vector–Jacobian product) per backward pass. All
/// `d` rows come out of a *single* pass: `z` is replicated into a batch `Z` of `d` rows,
/// `P = φ(Z)` (`[d, d]`), and the scalar `Σ_i P[i, i]` is differentiated. Batch rows do not
/// interact, so row `i` of `∂/∂Z` is `∇_z φ_i(z)` — row `i` of `J`. The cost is one forward
/// and one backward pass of φ at batch size `d` (the analytic product of masked weight
/// matrices costs the same order). Rows go in chunks of at most 512 to bound memory.
///
/// Values are the backend's floats converted (exactly, for f32/f64) to f64. The
/// hypernetwork's own parameters are not differentiated.
pub fn jacobian<B: AutodiffBackend>(hypernet: &HyperNet<B>, z: &[f32]) -> Result<LatentJacobian> {
    jacobian_chunked(hypernet, z, JACOBIAN_CHUNK)
}

fn jacobian_chunked<B: AutodiffBackend>(
    hypernet: &HyperNet<B>,
    z: &[f32],
    chunk: usize,
) -> Result<LatentJacobian> {
    let (l, d) = hypernet_dims(hypernet)?;
    if z.len() != l {
        bail!(
            "latent has length {}, the hypernetwork expects {l}",
            z.len()
        );
    }
    let device = hypernet.layers[0].weight.val().device();
    let net = hypernet.clone().no_grad();
    let chunk = chunk.max(1);
    let mut matrix = vec![0.0f64; d * l];
    let mut params = Vec::new();
    let mut start = 0;
    while start < d {
        let c = chunk.min(d - start);
        let zb =
            Tensor::<B, 2>::from_data(TensorData::new(z.repeat(c), [c, l]), &device).require_grad();
        let p = net.forward(zb.clone());
        if start == 0 {
            params = values_f64(p.clone().slice([0..1, 0..d]));
        }
        // Row i of the chunk selects output start + i.
        let mut mask = vec![0.0f32; c * d];
        for i in 0..c {
            mask[i * d + start + i] = 1.0;
        }
        let mask = Tensor::<B, 2>::from_data(TensorData::new(mask, [c, d]), &device);
        let grads = (p * mask).sum().backward();
        let g = zb
            .grad(&grads)
            .context("latent batch received no gradient")?;
        for (dst, v) in matrix[start * l..(start + c) * l]
            .iter_mut()
            .zip(values_f64(g))
        {
            *dst = v;
        }
        start += c;
    }
    Ok(LatentJacobian {
        params,
        matrix,
        rows: d,
        cols: l,
    })
}

// ---------------------------------------------------------------------------------------
// f64 oracle for φ and the finite-difference check
// ---------------------------------------------------------------------------------------

/// φ re-implemented on the host in f64 (a test oracle, independent of burn's kernels): the
/// MLP with φ's hidden activation, plus the linear path `A z + a` when φ has one.
#[derive(Clone, Debug)]
pub struct HostMlp {
    /// Per layer: row-major `[outputs, inputs]` weights, biases, inputs.
    layers: Vec<(Vec<f64>, Vec<f64>, usize)>,
    /// The linear path, same layout, added to the last layer's output.
    linear: Option<(Vec<f64>, Vec<f64>, usize)>,
    /// The hidden activation.
    activation: crate::model::HyperActivation,
}

/// `y = W x + b` in f64 for row-major `w` (`b.len() × inputs`).
fn host_affine(w: &[f64], b: &[f64], inputs: usize, x: &[f64]) -> Vec<f64> {
    b.iter()
        .enumerate()
        .map(|(o, bo)| {
            bo + w[o * inputs..(o + 1) * inputs]
                .iter()
                .zip(x)
                .map(|(a, v)| a * v)
                .sum::<f64>()
        })
        .collect()
}

impl HostMlp {
    /// The hypernetwork's weights, widened to f64.
    pub fn from_hypernet<B: Backend>(hypernet: &HyperNet<B>) -> Self {
        let widen_layer = |layer: &crate::model::Dense<B>| {
            let (w, b) = layer.to_rows();
            let widen = |v: Vec<f32>| v.into_iter().map(f64::from).collect::<Vec<_>>();
            (widen(w), widen(b), layer.dims().0)
        };
        HostMlp {
            layers: hypernet.layers.iter().map(widen_layer).collect(),
            linear: hypernet.linear.as_ref().map(widen_layer),
            activation: hypernet.activation,
        }
    }

    /// `φ(z)` and the sign pattern of every hidden pre-activation (`true` where > 0: where
    /// ReLU and leaky ReLU have their kink, SiLU is smooth).
    pub fn forward(&self, z: &[f64]) -> (Vec<f64>, Vec<bool>) {
        let mut x = z.to_vec();
        let mut pattern = Vec::new();
        let last = self.layers.len().saturating_sub(1);
        for (k, (w, b, inputs)) in self.layers.iter().enumerate() {
            let mut y = host_affine(w, b, *inputs, &x);
            if k < last {
                for v in &mut y {
                    pattern.push(*v > 0.0);
                    *v = host_activation(self.activation, *v);
                }
            }
            x = y;
        }
        if let Some((w, b, inputs)) = &self.linear {
            for (xo, lo) in x.iter_mut().zip(host_affine(w, b, *inputs, z)) {
                *xo += lo;
            }
        }
        (x, pattern)
    }
}

/// A hidden unit of φ is *active* at a latent where the derivative of its activation at its
/// pre-activation exceeds this in magnitude (for ReLU: where the pre-activation is > 0).
pub const ACTIVE_DERIVATIVE: f64 = 1e-3;

/// φ's hidden activation `a` at `v` in f64 (the runtime's formulas, FORMAT.md 2.3).
fn host_activation(a: crate::model::HyperActivation, v: f64) -> f64 {
    use crate::model::HyperActivation;
    match a {
        HyperActivation::Relu => v.max(0.0),
        HyperActivation::LeakyRelu if v > 0.0 => v,
        HyperActivation::LeakyRelu => 0.01 * v,
        HyperActivation::Silu => v / (1.0 + (-v).exp()),
    }
}

/// The derivative of φ's hidden activation `a` at pre-activation `x`: ReLU 1 for `x > 0`,
/// 0 otherwise (0 at the kink, as burn's ReLU gradient); leaky ReLU 1 or 0.01; SiLU
/// `σ(x) (1 + x (1 − σ(x)))`.
fn hidden_activation_derivative(a: crate::model::HyperActivation, x: f64) -> f64 {
    use crate::model::HyperActivation;
    match a {
        HyperActivation::Relu if x > 0.0 => 1.0,
        HyperActivation::Relu => 0.0,
        HyperActivation::LeakyRelu if x > 0.0 => 1.0,
        HyperActivation::LeakyRelu => 0.01,
        HyperActivation::Silu => {
            let s = 1.0 / (1.0 + (-x).exp());
            s * (1.0 + x * (1.0 - s))
        }
    }
}

impl HostMlp {
    /// The pre-activations of every hidden layer of φ at `z`, layer by layer.
    pub fn hidden_pre_activations(&self, z: &[f64]) -> Vec<Vec<f64>> {
        let mut x = z.to_vec();
        let mut out = Vec::new();
        for (w, b, inputs) in self.layers.iter().take(self.layers.len().saturating_sub(1)) {
            let pre: Vec<f64> = b
                .iter()
                .enumerate()
                .map(|(o, bo)| {
                    bo + w[o * inputs..(o + 1) * inputs]
                        .iter()
                        .zip(&x)
                        .map(|(a, v)| a * v)
                        .sum::<f64>()
                })
                .collect();
            x = pre
                .iter()
                .map(|&v| host_activation(self.activation, v))
                .collect();
            out.push(pre);
        }
        out
    }
}

/// Active units ([`ACTIVE_DERIVATIVE`]) in each hidden layer of φ at `z`. `J` factors through
/// the active units of every layer, so `rank J ≤ min` of these counts.
pub fn active_units(mlp: &HostMlp, z: &[f64]) -> Vec<usize> {
    mlp.hidden_pre_activations(z)
        .iter()
        .map(|layer| {
            layer
                .iter()
                .filter(|&&x| {
                    hidden_activation_derivative(mlp.activation, x).abs() > ACTIVE_DERIVATIVE
                })
                .count()
        })
        .collect()
}

/// Per hidden layer, the median over latents of the active-unit counts (`counts[latent][layer]`).
fn active_units_median(counts: &[Vec<usize>]) -> Vec<f64> {
    let layers = counts.iter().map(Vec::len).max().unwrap_or(0);
    (0..layers)
        .map(|k| {
            median(
                &counts
                    .iter()
                    .filter_map(|c| c.get(k).map(|&v| v as f64))
                    .collect::<Vec<_>>(),
            )
        })
        .collect()
}

/// `J` (`d × l`, row-major) by central differences of [`HostMlp::forward`] in f64.
///
/// With ReLU or leaky ReLU φ is piecewise affine, so a difference is exact (up to rounding)
/// when no unit changes sign between `z − h e_j` and `z + h e_j`; the step
/// (`1e-6 · max(1, |z_j|)`) is halved until the sign patterns at both ends agree (at most 30
/// times). With SiLU φ is smooth and the central difference is off by O(h²).
pub fn jacobian_fd(mlp: &HostMlp, z: &[f64]) -> Vec<f64> {
    let l = z.len();
    let d = mlp.forward(z).0.len();
    let mut j = vec![0.0f64; d * l];
    for c in 0..l {
        let mut h = 1e-6 * z[c].abs().max(1.0);
        let (mut plus, mut minus);
        let mut tries = 0;
        loop {
            let mut zp = z.to_vec();
            zp[c] += h;
            let mut zm = z.to_vec();
            zm[c] -= h;
            let (fp, pp) = mlp.forward(&zp);
            let (fm, pm) = mlp.forward(&zm);
            plus = fp;
            minus = fm;
            tries += 1;
            if pp == pm || tries >= 30 {
                break;
            }
            h *= 0.5;
        }
        for i in 0..d {
            j[i * l + c] = (plus[i] - minus[i]) / (2.0 * h);
        }
    }
    j
}

/// Relative error of the autodiff Jacobian against [`jacobian_fd`] on the host f64 oracle,
/// maximised over `latents` and over columns: `max_j ‖J_ad[:, j] − J_fd[:, j]‖₂ / ‖J_fd[:, j]‖₂`
/// (a column that is exactly zero in both counts as 0, zero in one only as ∞).
pub fn check_jacobian_fd<B: AutodiffBackend>(
    hypernet: &HyperNet<B>,
    latents: &[Vec<f32>],
) -> Result<f64> {
    let mlp = HostMlp::from_hypernet(hypernet);
    let mut worst = 0.0f64;
    for z in latents {
        let ad = jacobian(hypernet, z)?;
        let z64: Vec<f64> = z.iter().map(|&v| f64::from(v)).collect();
        let fd = jacobian_fd(&mlp, &z64);
        let (d, l) = (ad.rows, ad.cols);
        for c in 0..l {
            let (mut diff, mut norm) = (0.0f64, 0.0f64);
            for i in 0..d {
                let (a, f) = (ad.matrix[i * l + c], fd[i * l + c]);
                diff += (a - f) * (a - f);
                norm += f * f;
            }
            let rel = if norm > 0.0 {
                (diff / norm).sqrt()
            } else if diff == 0.0 {
                0.0
            } else {
                f64::INFINITY
            };
            worst = worst.max(rel);
        }
    }
    Ok(worst)
}

// ---------------------------------------------------------------------------------------
// Spectra
// ---------------------------------------------------------------------------------------

/// Singular values of a row-major `rows × cols` matrix, descending (`min(rows, cols)` of them).
pub fn singular_values(matrix: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    let m = nalgebra::DMatrix::from_row_slice(rows, cols, matrix);
    let mut s: Vec<f64> = m.singular_values().iter().copied().collect();
    s.sort_by(|a, b| b.total_cmp(a));
    s
}

/// Eigenvalues of a symmetric row-major `n × n` matrix, ascending.
pub fn symmetric_eigenvalues(matrix: &[f64], n: usize) -> Vec<f64> {
    let m = nalgebra::DMatrix::from_row_slice(n, n, matrix);
    let mut e: Vec<f64> = m.symmetric_eigenvalues().iter().copied().collect();
    e.sort_by(|a, b| a.total_cmp(b));
    e
}

/// What the singular values of `J` say.
#[derive(Clone, Debug, Serialize)]
pub struct JacobianSpectrum {
    /// All `l` singular values, descending (zeros appended when `d < l`).
    pub singular_values: Vec<f64>,
    /// `#{σ_i > tolerance}`.
    pub rank: usize,
    /// `rank == l`: φ is locally injective at this latent.
    pub full_rank: bool,
    /// `σ_max · max(d, l) · ε_f32`.
    pub tolerance: f64,
    /// Largest singular value.
    pub sigma_max: f64,
    /// Smallest singular value (the `l`-th).
    pub sigma_min: f64,
    /// `σ_max / σ_min`; `None` (infinite) when `σ_min = 0`.
    pub condition: Option<f64>,
}

/// Singular values, numerical rank (`σ_i > σ_max · max(d, l) · ε_f32`, the rule of
/// `numpy.linalg.matrix_rank` at the model's f32 precision), `σ_min` and condition number of
/// a row-major `d × l` Jacobian.
pub fn jacobian_spectrum(matrix: &[f64], d: usize, l: usize) -> JacobianSpectrum {
    let mut s = singular_values(matrix, d, l);
    s.resize(l, 0.0);
    let sigma_max = s.first().copied().unwrap_or(0.0);
    let sigma_min = s.last().copied().unwrap_or(0.0);
    let tolerance = sigma_max * d.max(l) as f64 * f32::EPSILON as f64;
    let rank = if sigma_max > 0.0 {
        s.iter().filter(|&&v| v > tolerance).count()
    } else {
        0
    };
    let ratio = sigma_max / sigma_min;
    JacobianSpectrum {
        rank,
        full_rank: l > 0 && rank == l,
        tolerance,
        sigma_max,
        sigma_min,
        condition: (sigma_min > 0.0 && ratio.is_finite()).then_some(ratio),
        singular_values: s,
    }
}

// ---------------------------------------------------------------------------------------
// Hessian of the reconstruction loss in z
// ---------------------------------------------------------------------------------------

type C64 = nalgebra::Complex<f64>;

/// A reconstruction target: query coordinates and the values the SIREN should produce.
#[derive(Clone, Copy, Debug)]
pub struct IftTarget<'a> {
    /// Coordinates feature-major, `in_dim × m` (all x, then all y, …), as
    /// [`crate::model::image_coords`].
    pub coords: &'a [f32],
    /// Targets output-major, `out_dim × m` (for a grayscale image: its pixels in `[0, 1]`).
    pub values: &'a [f32],
}

/// The SIREN of [`crate::model::siren_forward`] with its reconstruction loss, on the host in
/// complex f64 (for the complex-step derivative of its gradient).
pub struct HostSiren<'a> {
    config: &'a HyperInrConfig,
    /// `in_dim × m`, widened.
    coords: Vec<f64>,
    /// `out_dim × m`, widened.
    values: Vec<f64>,
    m: usize,
}

impl<'a> HostSiren<'a> {
    /// Checks the target's shape against the config.
    pub fn new(config: &'a HyperInrConfig, target: IftTarget<'_>) -> Result<Self> {
        let m = target.values.len() / config.out_dim.max(1);
        if m == 0
            || target.values.len() != config.out_dim * m
            || target.coords.len() != config.in_dim * m
        {
            bail!(
                "target has {} coordinates and {} values; expected {} × m and {} × m",
                target.coords.len(),
                target.values.len(),
                config.in_dim,
                config.out_dim
            );
        }
        Ok(HostSiren {
            config,
            coords: target.coords.iter().map(|&v| f64::from(v)).collect(),
            values: target.values.iter().map(|&v| f64::from(v)).collect(),
            m,
        })
    }

    /// `L(p) = mean((SIREN_p(x) − y)²)` and `∇_p L` by hand-written backpropagation, for
    /// complex `p`. Only `+`, `−`, `×`, `sin` and `cos` touch `p`, so the code is holomorphic
    /// in `p` and the complex-step rule holds: for real `p`, `v` and tiny `h`,
    /// `Im ∇L(p + i h v) / h = ∇²L(p) v` and `Re ∇L(p + i h v) = ∇L(p)`, both to rounding
    /// error (no subtraction of nearby values, hence no step-size trade-off).
    pub fn loss_grad(&self, p: &[C64]) -> (C64, Vec<C64>) {
        let layers = self.config.siren_layers();
        let last = layers.len() - 1;
        let omega = f64::from(self.config.omega0);
        let mut offsets = Vec::with_capacity(layers.len());
        let mut off = 0;
        for (i, o) in &layers {
            offsets.push(off);
            off += i * o + o;
        }
        let zero = C64::new(0.0, 0.0);
        let widest = layers.iter().map(|(i, o)| *i.max(o)).max().unwrap_or(1);
        // acts[k]: input of layer k; slopes[k]: ω0 cos(ω0 a_k) of hidden layer k.
        let mut acts = vec![vec![zero; widest]; layers.len() + 1];
        let mut slopes = vec![vec![zero; widest]; layers.len()];
        let (mut delta, mut next) = (vec![zero; widest], vec![zero; widest]);
        let mut grad = vec![zero; p.len()];
        let mut loss = zero;
        let (m, out_dim) = (self.m, self.config.out_dim);
        let scale = 1.0 / (out_dim * m) as f64;
        for t in 0..m {
            for (c, a) in acts[0][..self.config.in_dim].iter_mut().enumerate() {
                *a = C64::new(self.coords[c * m + t], 0.0);
            }
            for (k, &(i, o)) in layers.iter().enumerate() {
                let (w, b) = (
                    &p[offsets[k]..offsets[k] + i * o],
                    &p[offsets[k] + i * o..offsets[k] + i * o + o],
                );
                let (input, rest) = acts.split_at_mut(k + 1);
                let (x, y) = (&input[k], &mut rest[0]);
                for r in 0..o {
                    let mut s = b[r];
                    for (wc, xc) in w[r * i..(r + 1) * i].iter().zip(&x[..i]) {
                        s += wc * xc;
                    }
                    if k < last {
                        let u = s * omega;
                        y[r] = u.sin();
                        slopes[k][r] = u.cos() * omega;
                    } else {
                        y[r] = s;
                    }
                }
            }
            for r in 0..out_dim {
                let e = acts[last + 1][r] - self.values[r * m + t];
                loss += e * e * scale;
                delta[r] = e * (2.0 * scale);
            }
            for (k, &(i, o)) in layers.iter().enumerate().rev() {
                if k < last {
                    for r in 0..o {
                        delta[r] *= slopes[k][r];
                    }
                }
                let (wo, bo) = (offsets[k], offsets[k] + i * o);
                let x = &acts[k];
                for r in 0..o {
                    grad[bo + r] += delta[r];
                    for (g, xc) in grad[wo + r * i..wo + (r + 1) * i].iter_mut().zip(&x[..i]) {
                        *g += delta[r] * xc;
                    }
                }
                if k > 0 {
                    next[..i].fill(zero);
                    for r in 0..o {
                        for (n, wc) in next[..i].iter_mut().zip(&p[wo + r * i..wo + (r + 1) * i]) {
                            *n += wc * delta[r];
                        }
                    }
                    std::mem::swap(&mut delta, &mut next);
                }
            }
        }
        (loss, grad)
    }
}

/// `∇²_z L`, `∇_z L` and `L` at one latent.
#[derive(Clone, Debug)]
pub struct LossHessian {
    /// The symmetrised Hessian, row-major `l × l`.
    pub matrix: Vec<f64>,
    /// `l`.
    pub dim: usize,
    /// Frobenius norm of the computed matrix's antisymmetric part (the exact Hessian is
    /// symmetric): an estimate of its numerical error.
    pub asymmetry: f64,
    /// `∇_z L = Jᵀ ∇_p L`.
    pub grad: Vec<f64>,
    /// `L`: the mean squared error at the latent.
    pub mse: f64,
}

/// Hessian in `z` of the pure reconstruction loss `L = mean((SIREN_p(x) − y)²)`, `p = φ(z)`,
/// no latent regulariser:
/// `∇²_z L = Jᵀ (∇²_p L) J + Σ_k (∂L/∂p_k) ∇²_z φ_k`.
///
/// Each `∇²_p L · J e_j` is the complex-step derivative of the SIREN's gradient along
/// column `j` of `J` ([`HostSiren::loss_grad`], step `1e-20`), exact to rounding in f64.
/// The second term is φ's own curvature ([`HostMlp::weighted_curvature`]): zero almost
/// everywhere when φ is piecewise affine (ReLU, leaky ReLU — φ's kinks are then never
/// differentiated twice), complex-step through the MLP when it is smooth (SiLU). Cost: `l`
/// complex gradient evaluations over the `m` target points, plus `l` through φ.
///
/// `jac` comes from [`jacobian`] at `z` (its `params` are `φ(z)`); `phi` is the same
/// hypernetwork on the host; `target` must match the model's `in_dim` and `out_dim`.
pub fn reconstruction_hessian(
    config: &HyperInrConfig,
    phi: &HostMlp,
    z: &[f64],
    jac: &LatentJacobian,
    target: IftTarget<'_>,
) -> Result<LossHessian> {
    let (d, l) = (jac.rows, jac.cols);
    if z.len() != l {
        bail!("latent has {} values, the Jacobian {l} columns", z.len());
    }
    if d != config.siren_params() || jac.params.len() != d {
        bail!(
            "Jacobian has {d} rows, the SIREN {} parameters",
            config.siren_params()
        );
    }
    let siren = HostSiren::new(config, target)?;
    const STEP: f64 = 1e-20;
    // Column j of raw = Jᵀ (∇²_p L · J e_j); directions are spread over threads.
    let column = |j: usize| -> Vec<f64> {
        let p: Vec<C64> = jac
            .params
            .iter()
            .zip(jac.column(j))
            .map(|(p, x)| C64::new(*p, STEP * x))
            .collect();
        let (_, g) = siren.loss_grad(&p);
        let mut col = vec![0.0f64; l];
        for (k, gk) in g.iter().enumerate() {
            let hv = gk.im / STEP;
            for (c, jki) in col.iter_mut().zip(&jac.matrix[k * l..(k + 1) * l]) {
                *c += jki * hv;
            }
        }
        col
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, l.max(1));
    let columns: Vec<(usize, Vec<f64>)> = std::thread::scope(|scope| {
        let column = &column;
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    (t..l)
                        .step_by(threads)
                        .map(|j| (j, column(j)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    if columns.len() != l {
        bail!("a Hessian worker thread failed");
    }
    let mut raw = vec![0.0f64; l * l];
    for (j, col) in columns {
        for (i, v) in col.into_iter().enumerate() {
            raw[i * l + j] = v;
        }
    }
    let p: Vec<C64> = jac.params.iter().map(|&p| C64::new(p, 0.0)).collect();
    let (loss, g) = siren.loss_grad(&p);
    let mse = loss.re;
    let grad_p: Vec<f64> = g.iter().map(|c| c.re).collect();
    if let Some(curvature) = phi.weighted_curvature(z, &grad_p) {
        for (r, c) in raw.iter_mut().zip(curvature) {
            *r += c;
        }
    }
    let mut matrix = vec![0.0f64; l * l];
    let mut skew = 0.0f64;
    for i in 0..l {
        for j in 0..l {
            matrix[i * l + j] = 0.5 * (raw[i * l + j] + raw[j * l + i]);
            let s = 0.5 * (raw[i * l + j] - raw[j * l + i]);
            skew += s * s;
        }
    }
    let grad = (0..l)
        .map(|i| (0..d).map(|k| jac.matrix[k * l + i] * grad_p[k]).sum())
        .collect();
    Ok(LossHessian {
        matrix,
        dim: l,
        asymmetry: skew.sqrt(),
        grad,
        mse,
    })
}

impl HostMlp {
    /// Whether φ's second derivative in `z` vanishes almost everywhere (ReLU and leaky ReLU
    /// make φ piecewise affine; SiLU does not).
    pub fn piecewise_affine(&self) -> bool {
        !matches!(self.activation, crate::model::HyperActivation::Silu)
    }

    /// `∇²_z (gᵀ φ(z))` (row-major `l × l`) for a fixed weight vector `g` over φ's `d`
    /// outputs: φ's second-order term in the loss Hessian, `Σ_k (∂L/∂p_k) ∇²_z φ_k`, with
    /// `g = ∇_p L`. `None` where φ is piecewise affine (the term is zero almost everywhere).
    ///
    /// Column `j` is the complex-step derivative `Im ∇_z(gᵀφ)(z + i h e_j) / h` of the
    /// gradient, computed by backpropagation through the MLP in complex f64; SiLU
    /// `x σ(x)` is holomorphic, so this is exact to rounding. The linear path `A z + a`
    /// has no curvature and is left out.
    pub fn weighted_curvature(&self, z: &[f64], g: &[f64]) -> Option<Vec<f64>> {
        if self.piecewise_affine() {
            return None;
        }
        const STEP: f64 = 1e-20;
        let l = z.len();
        let last = self.layers.len().saturating_sub(1);
        let sigmoid = |x: C64| C64::new(1.0, 0.0) / (C64::new(1.0, 0.0) + (-x).exp());
        let mut hessian = vec![0.0f64; l * l];
        for j in 0..l {
            let mut x: Vec<C64> = z.iter().map(|&v| C64::new(v, 0.0)).collect();
            x[j].im = STEP;
            // Hidden pre-activations, for the activation's derivative on the way back.
            let mut pre = Vec::with_capacity(last);
            for (w, b, inputs) in &self.layers[..last] {
                let y: Vec<C64> = b
                    .iter()
                    .enumerate()
                    .map(|(o, &bo)| {
                        w[o * inputs..(o + 1) * inputs]
                            .iter()
                            .zip(&x)
                            .fold(C64::new(bo, 0.0), |s, (&a, &v)| s + v * a)
                    })
                    .collect();
                x = y.iter().map(|&v| v * sigmoid(v)).collect();
                pre.push(y);
            }
            let mut delta: Vec<C64> = g.iter().map(|&v| C64::new(v, 0.0)).collect();
            for k in (0..self.layers.len()).rev() {
                let (w, _, inputs) = &self.layers[k];
                let mut back = vec![C64::new(0.0, 0.0); *inputs];
                for (o, d) in delta.iter().enumerate() {
                    for (bk, &a) in back.iter_mut().zip(&w[o * inputs..(o + 1) * inputs]) {
                        *bk += d * a;
                    }
                }
                if k > 0 {
                    for (bk, &p) in back.iter_mut().zip(&pre[k - 1]) {
                        let s = sigmoid(p);
                        *bk *= s * (C64::new(1.0, 0.0) + p * (C64::new(1.0, 0.0) - s));
                    }
                }
                delta = back;
            }
            for (i, d) in delta.iter().enumerate() {
                hessian[i * l + j] = d.im / STEP;
            }
        }
        Some(hessian)
    }
}

/// Whether a Hessian is positive definite, as far as its accuracy can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Definiteness {
    /// `λ_min > tolerance`: a strict local minimum.
    PositiveDefinite,
    /// `λ_min < −tolerance`: a direction of negative curvature (not a minimum of `L` alone).
    Indefinite,
    /// `|λ_min| ≤ tolerance`: singular to working accuracy (a flat direction).
    NearSingular,
}

/// What the eigenvalues of `∇²_z L` say.
#[derive(Clone, Debug, Serialize)]
pub struct HessianSpectrum {
    /// Eigenvalues ascending.
    #[serde(skip)]
    pub eigenvalues: Vec<f64>,
    /// Smallest eigenvalue.
    pub min_eig: f64,
    /// Largest eigenvalue.
    pub max_eig: f64,
    /// `max|λ| · l · ε_f32 + asymmetry`.
    pub tolerance: f64,
    /// See [`Definiteness`].
    pub definiteness: Definiteness,
}

/// Eigenvalues and definiteness of a [`LossHessian`]. The tolerance is
/// `max|λ| · l · ε_f32` (the model's weights and `J` are f32-accurate) plus the
/// finite-difference error estimate [`LossHessian::asymmetry`].
pub fn hessian_spectrum(h: &LossHessian) -> HessianSpectrum {
    let e = symmetric_eigenvalues(&h.matrix, h.dim);
    let min_eig = e.first().copied().unwrap_or(0.0);
    let max_eig = e.last().copied().unwrap_or(0.0);
    let scale = e.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    let tolerance = scale * h.dim as f64 * f32::EPSILON as f64 + h.asymmetry;
    let definiteness = if min_eig > tolerance {
        Definiteness::PositiveDefinite
    } else if min_eig < -tolerance {
        Definiteness::Indefinite
    } else {
        Definiteness::NearSingular
    };
    HessianSpectrum {
        eigenvalues: e,
        min_eig,
        max_eig,
        tolerance,
        definiteness,
    }
}

// ---------------------------------------------------------------------------------------
// The run over a model's stored latents
// ---------------------------------------------------------------------------------------

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
#[cfg(test)]
pub fn run_ift<B: AutodiffBackend>(
    model_bytes: &[u8],
    images: &[Vec<f32>],
    limit: usize,
    device: &B::Device,
) -> Result<IftReport> {
    let model = hyperinr_runtime::Model::from_bytes(model_bytes).map_err(|e| anyhow!("{e}"))?;
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
    let model = hyperinr_runtime::Model::from_bytes(model_bytes).map_err(|e| anyhow!("{e}"))?;
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
        let info = model.stored_latent(k, &mut z).map_err(|e| anyhow!("{e}"))?;
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

// ---------------------------------------------------------------------------------------
// Histogram PNG
// ---------------------------------------------------------------------------------------

/// One histogram of a stacked-panel PNG.
#[derive(Clone, Copy, Debug)]
pub struct HistogramPanel<'a> {
    /// Title (drawn in upper case with a built-in 5×7 font: A–Z, 0–9, `.,-+()/:=_%|<>`).
    pub title: &'a str,
    /// Values, drawn blue; non-finite ones are left out (say so in the title).
    pub values: &'a [f64],
    /// A second series stacked on the first in orange (empty for none).
    pub values2: &'a [f64],
    /// Number of bins.
    pub bins: usize,
    /// A red vertical line at this value (the x range is widened to show it).
    pub marker: Option<f64>,
}

const PANEL_W: usize = 840;
const PANEL_H: usize = 260;

/// Writes `panels` as histograms stacked vertically into an RGB PNG at `path`: bars, axes,
/// the bin range (low, middle, high) under the x axis and the tallest bar's count on the y axis.
pub fn histogram_png(path: &Path, panels: &[HistogramPanel<'_>]) -> Result<()> {
    let mut canvas = Canvas::new(PANEL_W, PANEL_H * panels.len().max(1));
    for (i, panel) in panels.iter().enumerate() {
        draw_histogram(&mut canvas, i * PANEL_H, panel);
    }
    let mut bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut bytes, canvas.w as u32, canvas.h as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header()?;
        writer.write_image_data(&canvas.rgb)?;
    }
    hyperinr_data::io::write_atomic(path, &bytes)
}

/// The IFT histograms of a report: log10 σ_min(J), log10 cond(J), log10 λ_min(∇²L)
/// (positive ones) and the numerical rank of J (one bin per rank, a red line at full rank
/// `l`), counting what each panel leaves out in its title.
pub fn ift_histogram_png(report: &IftReport, path: &Path) -> Result<()> {
    let n = report.samples;
    let col = |f: &dyn Fn(&LatentIft) -> Option<f64>| {
        report.per_latent.iter().filter_map(f).collect::<Vec<f64>>()
    };
    let sig = col(&|r| (r.jacobian.sigma_min > 0.0).then(|| r.jacobian.sigma_min.log10()));
    let cond = col(&|r| r.jacobian.condition.map(f64::log10));
    // log10(|λ_min| / max|λ|), split by the sign of λ_min.
    let rel = |positive: bool| {
        col(&move |r| {
            let (lo, scale) = (
                r.hessian.min_eig,
                r.hessian.min_eig.abs().max(r.hessian.max_eig.abs()),
            );
            (lo != 0.0 && (lo > 0.0) == positive).then(|| (lo.abs() / scale).log10())
        })
    };
    let (rel_pos, rel_neg) = (rel(true), rel(false));
    let full = report
        .per_latent
        .iter()
        .filter(|r| r.jacobian.full_rank)
        .count();
    let pd = report
        .per_latent
        .iter()
        .filter(|r| r.hessian.definiteness == Definiteness::PositiveDefinite)
        .count();
    let t1 = format!("log10 sigma_min of J, n={n} ({} zero)", n - sig.len());
    let t2 = format!("log10 cond(J): {full}/{n} full rank, left of red line");
    let t3 = format!("log10 |min eig|/max|eig| of Hessian (orange <0): {pd}/{n} PD");
    // cond(J) ≥ 1 / (max(d, l) · ε_f32) exactly when σ_min is under the rank tolerance.
    let rank_line =
        -((report.siren_params.max(report.latent_dim) as f64) * f64::from(f32::EPSILON)).log10();
    let ranks: Vec<f64> = report
        .per_latent
        .iter()
        .map(|r| r.jacobian.rank as f64)
        .collect();
    let l = report.latent_dim;
    // One bin per integer from the smallest rank to l (the range draw_histogram spans with the
    // marker at l), at most 128.
    let rank_bins = (l.saturating_sub(report.rank_min) + 1).clamp(1, 128);
    let t4 = format!(
        "rank of J, n={n}: median {}, min {}, red line = l = {l}",
        report.rank_median, report.rank_min
    );
    histogram_png(
        path,
        &[
            HistogramPanel {
                title: &t1,
                values: &sig,
                values2: &[],
                bins: 30,
                marker: None,
            },
            HistogramPanel {
                title: &t2,
                values: &cond,
                values2: &[],
                bins: 30,
                marker: Some(rank_line),
            },
            HistogramPanel {
                title: &t3,
                values: &rel_pos,
                values2: &rel_neg,
                bins: 30,
                marker: None,
            },
            HistogramPanel {
                title: &t4,
                values: &ranks,
                values2: &[],
                bins: rank_bins,
                marker: Some(l as f64),
            },
        ],
    )
}

struct Canvas {
    w: usize,
    h: usize,
    rgb: Vec<u8>,
}

impl Canvas {
    fn new(w: usize, h: usize) -> Self {
        Canvas {
            w,
            h,
            rgb: vec![255; w * h * 3],
        }
    }

    fn rect(&mut self, x0: usize, y0: usize, x1: usize, y1: usize, color: [u8; 3]) {
        for y in y0.min(self.h)..y1.min(self.h) {
            for x in x0.min(self.w)..x1.min(self.w) {
                let i = (y * self.w + x) * 3;
                self.rgb[i..i + 3].copy_from_slice(&color);
            }
        }
    }

    /// Text with its top-left corner at `(x, y)`, glyphs scaled by `s`.
    fn text(&mut self, x: usize, y: usize, s: usize, text: &str, color: [u8; 3]) {
        for (k, ch) in text.chars().enumerate() {
            let Some(rows) = glyph(ch.to_ascii_uppercase()) else {
                continue;
            };
            let gx = x + k * 6 * s;
            for (r, row) in rows.split(' ').enumerate() {
                for (c, bit) in row.bytes().enumerate() {
                    if bit == b'#' {
                        self.rect(
                            gx + c * s,
                            y + r * s,
                            gx + (c + 1) * s,
                            y + (r + 1) * s,
                            color,
                        );
                    }
                }
            }
        }
    }
}

/// Width in pixels of `text` at scale `s`.
fn text_width(text: &str, s: usize) -> usize {
    (text.chars().count() * 6).saturating_sub(1) * s
}

fn draw_histogram(canvas: &mut Canvas, top: usize, panel: &HistogramPanel<'_>) {
    const INK: [u8; 3] = [0, 0, 0];
    const BAR: [u8; 3] = [70, 110, 170];
    const BAR2: [u8; 3] = [230, 140, 40];
    let (left, right, title_h, bottom_h) = (70, PANEL_W - 20, 34, 44);
    let (plot_top, plot_bottom) = (top + title_h, top + PANEL_H - bottom_h);
    canvas.text(left, top + 10, 2, panel.title, INK);
    let finite = |v: &[f64]| {
        v.iter()
            .copied()
            .filter(|v| v.is_finite())
            .collect::<Vec<f64>>()
    };
    let (values, values2) = (finite(panel.values), finite(panel.values2));
    // Axes.
    canvas.rect(left - 2, plot_top, left, plot_bottom + 2, INK);
    canvas.rect(left - 2, plot_bottom, right, plot_bottom + 2, INK);
    if values.is_empty() && values2.is_empty() {
        canvas.text(left + 20, (plot_top + plot_bottom) / 2, 2, "no data", INK);
        return;
    }
    let (mut lo, mut hi) = values
        .iter()
        .chain(&values2)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    if let Some(mk) = panel.marker.filter(|m| m.is_finite()) {
        lo = lo.min(mk);
        hi = hi.max(mk);
    }
    if hi - lo < 1e-12 {
        lo -= 0.5;
        hi += 0.5;
    }
    let bins = panel.bins.max(1);
    let count = |vals: &[f64]| {
        let mut counts = vec![0usize; bins];
        for v in vals {
            let b = (((v - lo) / (hi - lo)) * bins as f64).floor() as isize;
            counts[b.clamp(0, bins as isize - 1) as usize] += 1;
        }
        counts
    };
    let (counts, counts2) = (count(&values), count(&values2));
    let max_count = counts
        .iter()
        .zip(&counts2)
        .map(|(a, b)| a + b)
        .max()
        .unwrap_or(1)
        .max(1);
    let plot_w = right - left;
    let plot_h = plot_bottom - plot_top - 4;
    for (b, (&c, &c2)) in counts.iter().zip(&counts2).enumerate() {
        let x0 = left + b * plot_w / bins + 1;
        let x1 = (left + (b + 1) * plot_w / bins).max(x0 + 1);
        let h1 = (c * plot_h).div_ceil(max_count);
        let h12 = ((c + c2) * plot_h).div_ceil(max_count);
        canvas.rect(x0, plot_bottom - h1, x1, plot_bottom, BAR);
        canvas.rect(x0, plot_bottom - h12, x1, plot_bottom - h1, BAR2);
    }
    if let Some(mk) = panel.marker.filter(|m| m.is_finite()) {
        let x = left + ((mk - lo) / (hi - lo) * plot_w as f64) as usize;
        canvas.rect(
            x.saturating_sub(1),
            plot_top,
            x + 1,
            plot_bottom,
            [200, 40, 40],
        );
    }
    // y: the tallest bar's count; x: low, middle and high ends of the range.
    let label = max_count.to_string();
    canvas.text(
        left.saturating_sub(8 + text_width(&label, 2)),
        plot_top,
        2,
        &label,
        INK,
    );
    canvas.text(
        left.saturating_sub(8 + text_width("0", 2)),
        plot_bottom - 14,
        2,
        "0",
        INK,
    );
    let y = plot_bottom + 8;
    for (frac, v) in [(0.0, lo), (0.5, 0.5 * (lo + hi)), (1.0, hi)] {
        let s = format!("{v:.2}");
        let x = left + (frac * plot_w as f64) as usize;
        canvas.rect(
            x.saturating_sub(1),
            plot_bottom,
            x + 1,
            plot_bottom + 6,
            INK,
        );
        let tx = x
            .saturating_sub(text_width(&s, 2) / 2)
            .min(PANEL_W - text_width(&s, 2));
        canvas.text(tx, y + 4, 2, &s, INK);
    }
}

/// A 5×7 glyph: seven rows of `#` (ink) and `.`, separated by spaces; `None` for a blank
/// (space or unknown character).
fn glyph(c: char) -> Option<&'static str> {
    Some(match c {
        '0' => ".###. #...# #..## #.#.# ##..# #...# .###.",
        '1' => "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
        '2' => ".###. #...# ....# ...#. ..#.. .#... #####",
        '3' => "##### ...#. ..#.. ...#. ....# #...# .###.",
        '4' => "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
        '5' => "##### #.... ####. ....# ....# #...# .###.",
        '6' => "..##. .#... #.... ####. #...# #...# .###.",
        '7' => "##### ....# ...#. ..#.. .#... .#... .#...",
        '8' => ".###. #...# #...# .###. #...# #...# .###.",
        '9' => ".###. #...# #...# .#### ....# ...#. .##..",
        'A' => ".###. #...# #...# ##### #...# #...# #...#",
        'B' => "####. #...# #...# ####. #...# #...# ####.",
        'C' => ".###. #...# #.... #.... #.... #...# .###.",
        'D' => "###.. #..#. #...# #...# #...# #..#. ###..",
        'E' => "##### #.... #.... ####. #.... #.... #####",
        'F' => "##### #.... #.... ####. #.... #.... #....",
        'G' => ".###. #...# #.... #.### #...# #...# .####",
        'H' => "#...# #...# #...# ##### #...# #...# #...#",
        'I' => ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
        'J' => "..### ...#. ...#. ...#. ...#. #..#. .##..",
        'K' => "#...# #..#. #.#.. ##... #.#.. #..#. #...#",
        'L' => "#.... #.... #.... #.... #.... #.... #####",
        'M' => "#...# ##.## #.#.# #.#.# #...# #...# #...#",
        'N' => "#...# #...# ##..# #.#.# #..## #...# #...#",
        'O' => ".###. #...# #...# #...# #...# #...# .###.",
        'P' => "####. #...# #...# ####. #.... #.... #....",
        'Q' => ".###. #...# #...# #...# #.#.# #..#. .##.#",
        'R' => "####. #...# #...# ####. #.#.. #..#. #...#",
        'S' => ".#### #.... #.... .###. ....# ....# ####.",
        'T' => "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
        'U' => "#...# #...# #...# #...# #...# #...# .###.",
        'V' => "#...# #...# #...# #...# #...# .#.#. ..#..",
        'W' => "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.",
        'X' => "#...# #...# .#.#. ..#.. .#.#. #...# #...#",
        'Y' => "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..",
        'Z' => "##### ....# ...#. ..#.. .#... #.... #####",
        '.' => "..... ..... ..... ..... ..... .##.. .##..",
        ',' => "..... ..... ..... ..... .##.. ..#.. .#...",
        '-' => "..... ..... ..... ##### ..... ..... .....",
        '+' => "..... ..#.. ..#.. ##### ..#.. ..#.. .....",
        '(' => "...#. ..#.. .#... .#... .#... ..#.. ...#.",
        ')' => ".#... ..#.. ...#. ...#. ...#. ..#.. .#...",
        '/' => "..... ....# ...#. ..#.. .#... #.... .....",
        ':' => "..... .##.. .##.. ..... .##.. .##.. .....",
        '=' => "..... ..... ##### ..... ##### ..... .....",
        '_' => "..... ..... ..... ..... ..... ..... #####",
        '|' => "..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
        '<' => "...#. ..#.. .#... #.... .#... ..#.. ...#.",
        '>' => ".#... ..#.. ...#. ....# ...#. ..#.. .#...",
        '%' => "##... ##..# ...#. ..#.. .#... #..## ...##",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{image_coords, siren_forward};

    // Only f32 backends here: burn 0.21 fixes the CPU device's float dtype process-wide on
    // first use, so an `NdArray<f64>` test would flip other tests of this binary (see the
    // module docs).
    type Ad32 = burn::backend::Autodiff<burn::backend::NdArray<f32>>;

    fn tiny_config() -> HyperInrConfig {
        let mut cfg = HyperInrConfig::new();
        cfg.latent_dim = 4;
        cfg.hyper_hidden = vec![8];
        cfg.siren_hidden = vec![4];
        cfg
    }

    fn latent(seed: usize, l: usize) -> Vec<f32> {
        (0..l)
            .map(|i| (((i + 3 * seed) * 37 % 17) as f32 - 8.0) * 0.15)
            .collect()
    }

    /// SIREN forward on the host in f64 (`coords` feature-major `in × m`): `out × m`.
    fn host_siren(cfg: &HyperInrConfig, p: &[f64], coords: &[f64]) -> Vec<f64> {
        let m = coords.len() / cfg.in_dim;
        let layers = cfg.siren_layers();
        let last = layers.len() - 1;
        let mut x = coords.to_vec();
        let mut off = 0;
        for (k, (i, o)) in layers.into_iter().enumerate() {
            let (w, b) = (&p[off..off + i * o], &p[off + i * o..off + i * o + o]);
            off += i * o + o;
            let mut y = vec![0.0f64; o * m];
            for r in 0..o {
                for t in 0..m {
                    let mut s = b[r];
                    for c in 0..i {
                        s += w[r * i + c] * x[c * m + t];
                    }
                    y[r * m + t] = if k < last {
                        (f64::from(cfg.omega0) * s).sin()
                    } else {
                        s
                    };
                }
            }
            x = y;
        }
        x
    }

    /// `L(z)` on the host in f64, with φ's ReLU sign pattern.
    fn host_loss(
        cfg: &HyperInrConfig,
        mlp: &HostMlp,
        z: &[f64],
        coords: &[f64],
        target: &[f64],
    ) -> (f64, Vec<bool>) {
        let (p, pattern) = mlp.forward(z);
        let out = host_siren(cfg, &p, coords);
        let mse = out
            .iter()
            .zip(target)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            / out.len() as f64;
        (mse, pattern)
    }

    /// Oracle Hessian: second central differences of the host f64 loss (for a piecewise
    /// affine φ: same ReLU pattern at all four points, else the step is halved).
    fn host_hessian(
        cfg: &HyperInrConfig,
        mlp: &HostMlp,
        z: &[f64],
        coords: &[f64],
        target: &[f64],
    ) -> Vec<f64> {
        let l = z.len();
        let (_, p0) = host_loss(cfg, mlp, z, coords, target);
        let mut hm = vec![0.0; l * l];
        for i in 0..l {
            for j in 0..l {
                let mut h = 1e-4;
                loop {
                    let eval = |si: f64, sj: f64| {
                        let mut zz = z.to_vec();
                        zz[i] += si * h;
                        zz[j] += sj * h;
                        host_loss(cfg, mlp, &zz, coords, target)
                    };
                    let (a, pa) = eval(1.0, 1.0);
                    let (b, pb) = eval(1.0, -1.0);
                    let (c, pc) = eval(-1.0, 1.0);
                    let (d, pd) = eval(-1.0, -1.0);
                    let same = pa == p0 && pb == p0 && pc == p0 && pd == p0;
                    if same || !mlp.piecewise_affine() || h < 1e-9 {
                        hm[i * l + j] = (a - b - c + d) / (4.0 * h * h);
                        break;
                    }
                    h *= 0.5;
                }
            }
        }
        hm
    }

    fn coords_f32(w: usize, h: usize) -> Vec<f32> {
        image_coords::<burn::backend::NdArray<f32>>(w, h, &Default::default())
            .into_data()
            .to_vec::<f32>()
            .unwrap()
    }

    fn rel_frobenius(a: &[f64], b: &[f64]) -> f64 {
        let diff: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
        let norm: f64 = b.iter().map(|y| y * y).sum();
        (diff / norm).sqrt()
    }

    fn jacobian_matches_fd<B: AutodiffBackend>(cfg: HyperInrConfig) {
        let net = cfg.init::<B>(7, &Default::default());
        let zs: Vec<Vec<f32>> = (0..4).map(|s| latent(s, 4)).collect();
        let err = check_jacobian_fd(&net, &zs).unwrap();
        assert!(err < 1e-3, "relative error {err}");
        let j = jacobian(&net, &zs[0]).unwrap();
        assert_eq!((j.rows, j.cols), (cfg.siren_params(), 4));
        assert!(j.matrix.iter().any(|v| *v != 0.0));
        // φ(z) comes along.
        let mlp = HostMlp::from_hypernet(&net);
        let z64: Vec<f64> = zs[0].iter().map(|&v| f64::from(v)).collect();
        let p = mlp.forward(&z64).0;
        for (a, b) in j.params.iter().zip(&p) {
            assert!((a - b).abs() < 1e-5 * (1.0 + b.abs()));
        }
    }

    #[test]
    fn autodiff_jacobian_matches_finite_differences_f32() {
        jacobian_matches_fd::<Ad32>(tiny_config());
    }

    /// The oracle follows φ's activation and linear path (format version 2).
    #[test]
    fn autodiff_jacobian_matches_finite_differences_silu_leaky_linear_path() {
        use crate::model::HyperActivation;
        for (activation, linear) in [
            (HyperActivation::Silu, true),
            (HyperActivation::LeakyRelu, true),
            (HyperActivation::Silu, false),
            (HyperActivation::Relu, true),
        ] {
            let mut cfg = tiny_config();
            cfg.hyper_activation = activation;
            cfg.linear_path = linear;
            jacobian_matches_fd::<Ad32>(cfg);
        }
    }

    #[test]
    fn chunked_jacobian_equals_single_pass() {
        let cfg = tiny_config();
        let net = cfg.init::<Ad32>(11, &Default::default());
        let z = latent(2, 4);
        let one = jacobian_chunked(&net, &z, usize::MAX).unwrap();
        let many = jacobian_chunked(&net, &z, 5).unwrap();
        assert_eq!(one.matrix, many.matrix);
        assert_eq!(one.params, many.params);
    }

    #[test]
    fn jacobian_rejects_a_wrong_latent_length() {
        let net = tiny_config().init::<Ad32>(1, &Default::default());
        assert!(jacobian(&net, &[0.0; 3]).is_err());
    }

    /// `rows × cols` matrix with the given columns (column-major input).
    fn from_columns(cols: &[Vec<f64>]) -> Vec<f64> {
        let (rows, l) = (cols[0].len(), cols.len());
        let mut m = vec![0.0; rows * l];
        for (j, c) in cols.iter().enumerate() {
            for (i, v) in c.iter().enumerate() {
                m[i * l + j] = *v;
            }
        }
        m
    }

    #[test]
    fn spectrum_of_a_known_matrix() {
        // Orthogonal-ish columns scaled 4, 3, 2, 0.5: a 6×4 diagonal embedding, rows permuted.
        let mut cols = vec![vec![0.0; 6]; 4];
        for (j, s) in [4.0, 3.0, 2.0, 0.5].into_iter().enumerate() {
            cols[j][(j * 5 + 1) % 6] = s;
        }
        let s = jacobian_spectrum(&from_columns(&cols), 6, 4);
        for (a, b) in s.singular_values.iter().zip([4.0, 3.0, 2.0, 0.5]) {
            assert!((a - b).abs() < 1e-12, "{:?}", s.singular_values);
        }
        assert_eq!(s.rank, 4);
        assert!(s.full_rank);
        assert!((s.condition.unwrap() - 8.0).abs() < 1e-12);
    }

    #[test]
    fn rank_deficient_matrix_is_detected() {
        // Column 3 = column 0 + 2 · column 1: rank 3, σ_min at rounding level.
        let c0: Vec<f64> = (0..20).map(|i| ((i * 7 % 11) as f64 - 5.0) / 3.0).collect();
        let c1: Vec<f64> = (0..20).map(|i| ((i * 5 % 13) as f64 - 6.0) / 4.0).collect();
        let c2: Vec<f64> = (0..20).map(|i| (i as f64 * 0.7).sin()).collect();
        let c3: Vec<f64> = c0.iter().zip(&c1).map(|(a, b)| a + 2.0 * b).collect();
        let s = jacobian_spectrum(
            &from_columns(&[c0.clone(), c1.clone(), c2.clone(), c3]),
            20,
            4,
        );
        assert_eq!(s.rank, 3);
        assert!(!s.full_rank);
        assert!(s.sigma_min < s.tolerance);
        // A tiny but real fourth direction above the tolerance keeps full rank…
        let c3: Vec<f64> = c0
            .iter()
            .zip(&c1)
            .enumerate()
            .map(|(i, (a, b))| a + 2.0 * b + if i == 4 { 1e-2 } else { 0.0 })
            .collect();
        let s = jacobian_spectrum(
            &from_columns(&[c0.clone(), c1.clone(), c2.clone(), c3]),
            20,
            4,
        );
        assert_eq!(s.rank, 4);
        // …and an exactly zero column gives σ_min = 0 and an infinite condition number.
        let s = jacobian_spectrum(&from_columns(&[c0, c1, c2, vec![0.0; 20]]), 20, 4);
        assert_eq!(s.rank, 3);
        assert_eq!(s.sigma_min, 0.0);
        assert_eq!(s.condition, None);
        // A wide matrix (d < l) cannot have full column rank.
        let s = jacobian_spectrum(&[1.0, 0.0, 0.0, 0.0, 1.0, 0.0], 2, 3);
        assert_eq!((s.rank, s.full_rank, s.condition), (2, false, None));
    }

    /// Hessian of the tiny model at a latent, by the method under test and by the oracle.
    fn hessians(target_from_own_output: bool) -> (LossHessian, Vec<f64>, Vec<f64>) {
        hessians_of(tiny_config(), target_from_own_output)
    }

    /// A net of `cfg` and a latent where J has full column rank (with 8 ReLUs, some seeds
    /// leave fewer than 4 active and J rank-deficient).
    fn well_conditioned(cfg: &HyperInrConfig) -> (HyperNet<Ad32>, Vec<f32>) {
        let z = latent(1, 4);
        let net = (0..100)
            .map(|seed| cfg.init::<Ad32>(seed, &Default::default()))
            .find(|net| {
                let j = jacobian(net, &z).unwrap();
                jacobian_spectrum(&j.matrix, j.rows, j.cols)
                    .condition
                    .is_some_and(|c| c < 1e3)
            })
            .unwrap();
        (net, z)
    }

    /// The host SIREN loss of `cfg` for `values` at `coords`.
    fn host_siren_of<'a>(cfg: &'a HyperInrConfig, coords: &[f32], values: &[f32]) -> HostSiren<'a> {
        HostSiren::new(cfg, IftTarget { coords, values }).unwrap()
    }

    fn hessians_of(
        cfg: HyperInrConfig,
        target_from_own_output: bool,
    ) -> (LossHessian, Vec<f64>, Vec<f64>) {
        let (net, z) = well_conditioned(&cfg);
        let coords = coords_f32(7, 6);
        let mlp = HostMlp::from_hypernet(&net);
        let z64: Vec<f64> = z.iter().map(|&v| f64::from(v)).collect();
        let c64: Vec<f64> = coords.iter().map(|&v| f64::from(v)).collect();
        let target: Vec<f32> = if target_from_own_output {
            host_siren(&cfg, &mlp.forward(&z64).0, &c64)
                .iter()
                .map(|&v| v as f32)
                .collect()
        } else {
            (0..42).map(|i| ((i * 13 % 7) as f32) / 7.0).collect()
        };
        let t64: Vec<f64> = target.iter().map(|&v| f64::from(v)).collect();
        let jac = jacobian(&net, &z).unwrap();
        let h = reconstruction_hessian(
            &cfg,
            &mlp,
            &z64,
            &jac,
            IftTarget {
                coords: &coords,
                values: &target,
            },
        )
        .unwrap();
        let oracle = host_hessian(&cfg, &mlp, &z64, &c64, &t64);
        // Oracle gradient by first differences.
        let grad: Vec<f64> = (0..4)
            .map(|i| {
                let e = |s: f64| {
                    let mut zz = z64.clone();
                    zz[i] += s * 1e-6;
                    host_loss(&cfg, &mlp, &zz, &c64, &t64).0
                };
                (e(1.0) - e(-1.0)) / 2e-6
            })
            .collect();
        (h, oracle, grad)
    }

    /// The host SIREN (used for the Hessian) is the model's SIREN: loss and gradient agree
    /// with burn's `siren_forward` and autodiff (f32) on a 2-32-32-1 SIREN.
    #[test]
    fn host_siren_matches_burn() {
        let mut cfg = HyperInrConfig::new();
        cfg.siren_hidden = vec![32, 32];
        let d = cfg.siren_params();
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(9);
        let (p, _) = cfg.siren_init(&mut rng);
        let coords = coords_f32(9, 8);
        let target: Vec<f32> = (0..72).map(|i| ((i * 7 % 9) as f32) / 9.0).collect();
        let device = Default::default();
        let pt = Tensor::<Ad32, 2>::from_data(TensorData::new(p.clone(), [1, d]), &device)
            .require_grad();
        let ct = Tensor::<Ad32, 3>::from_data(TensorData::new(coords.clone(), [1, 2, 72]), &device);
        let tt = Tensor::<Ad32, 3>::from_data(TensorData::new(target.clone(), [1, 1, 72]), &device);
        let loss = (siren_forward(&cfg, pt.clone(), ct) - tt)
            .powi_scalar(2)
            .mean();
        let burn_loss = values_f64(loss.clone())[0];
        let burn_grad = values_f64(pt.grad(&loss.backward()).unwrap());
        let siren = host_siren_of(&cfg, &coords, &target);
        let pc: Vec<C64> = p.iter().map(|&v| C64::new(f64::from(v), 0.0)).collect();
        let (l, g) = siren.loss_grad(&pc);
        assert!(
            (l.re - burn_loss).abs() < 1e-5 * burn_loss,
            "{} vs {burn_loss}",
            l.re
        );
        let g: Vec<f64> = g.iter().map(|c| c.re).collect();
        assert!(g.iter().all(|v| v.is_finite()));
        let err = rel_frobenius(&g, &burn_grad);
        assert!(err < 1e-4, "gradient relative error {err}");
        // Mismatched targets are refused.
        assert!(HostSiren::new(
            &cfg,
            IftTarget {
                coords: &coords[..10],
                values: &target
            }
        )
        .is_err());
    }

    #[test]
    fn hessian_matches_f64_oracle_with_nonzero_residual() {
        let (h, oracle, grad) = hessians(false);
        let err = rel_frobenius(&h.matrix, &oracle);
        eprintln!(
            "nonzero residual: Hessian relative error {err:.2e}, asymmetry {:.2e}",
            h.asymmetry
        );
        // Not convex in general: the test only asks for agreement.
        assert!(
            err < 1e-5,
            "relative error {err}\n{:?}\n{:?}",
            h.matrix,
            oracle
        );
        assert!(
            rel_frobenius(&h.grad, &grad) < 1e-5,
            "{:?} vs {:?}",
            h.grad,
            grad
        );
        assert!(h.mse > 0.01);
    }

    /// With a smooth φ (SiLU, with and without the linear path) the Hessian includes φ's
    /// second-order term and still matches the finite-difference oracle of the whole loss;
    /// without that term it would not (the term is far above the tolerance here).
    #[test]
    fn hessian_of_a_smooth_hypernetwork_includes_its_curvature() {
        for linear in [false, true] {
            let mut cfg = tiny_config();
            cfg.hyper_activation = crate::model::HyperActivation::Silu;
            cfg.linear_path = linear;
            let (h, oracle, grad) = hessians_of(cfg.clone(), false);
            let err = rel_frobenius(&h.matrix, &oracle);
            assert!(err < 1e-5, "linear {linear}: relative error {err}");
            assert!(rel_frobenius(&h.grad, &grad) < 1e-5);
            // φ's own term alone, at the same latent: what a Jᵀ ∇²_p L J-only Hessian misses.
            let (net, z) = well_conditioned(&cfg);
            let mlp = HostMlp::from_hypernet(&net);
            let z64: Vec<f64> = z.iter().map(|&v| f64::from(v)).collect();
            let jac = jacobian(&net, &z).unwrap();
            let coords = coords_f32(7, 6);
            let target: Vec<f32> = (0..42).map(|i| ((i * 13 % 7) as f32) / 7.0).collect();
            let siren = host_siren_of(&cfg, &coords, &target);
            let p: Vec<C64> = jac.params.iter().map(|&v| C64::new(v, 0.0)).collect();
            let g: Vec<f64> = siren.loss_grad(&p).1.iter().map(|c| c.re).collect();
            let term = mlp.weighted_curvature(&z64, &g).expect("SiLU is smooth");
            let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
            assert!(
                norm(&term) > 1e-3 * norm(&oracle),
                "linear {linear}: φ's term {} vs Hessian {}",
                norm(&term),
                norm(&oracle)
            );
        }
        // Piecewise affine activations have no such term.
        let cfg = tiny_config();
        let mlp = HostMlp::from_hypernet(&cfg.init::<Ad32>(0, &Default::default()));
        let g = vec![1.0; cfg.siren_params()];
        assert!(mlp.weighted_curvature(&[0.1; 4], &g).is_none());
    }

    #[test]
    fn hessian_is_positive_definite_at_an_exact_fit() {
        // The target is the model's own output: zero residual, so ∇²L = (2/m) J_fᵀ J_f
        // (J_f: outputs w.r.t. z, 42 × 4, full column rank) — positive definite.
        let (h, oracle, _) = hessians(true);
        assert!(h.mse < 1e-12, "mse {}", h.mse);
        assert!(h.grad.iter().all(|g| g.abs() < 1e-6), "{:?}", h.grad);
        let err = rel_frobenius(&h.matrix, &oracle);
        eprintln!("exact fit: Hessian relative error {err:.2e}");
        assert!(err < 1e-5, "relative error {err}");
        let s = hessian_spectrum(&h);
        assert_eq!(s.definiteness, Definiteness::PositiveDefinite, "{s:?}");
        assert!(s.min_eig > 0.0);
    }

    #[test]
    fn definiteness_classification() {
        let mk = |m: Vec<f64>, asym: f64| LossHessian {
            matrix: m,
            dim: 2,
            asymmetry: asym,
            grad: vec![0.0; 2],
            mse: 0.0,
        };
        assert_eq!(
            hessian_spectrum(&mk(vec![2.0, 0.0, 0.0, 1.0], 0.0)).definiteness,
            Definiteness::PositiveDefinite
        );
        assert_eq!(
            hessian_spectrum(&mk(vec![1.0, 2.0, 2.0, 1.0], 0.0)).definiteness,
            Definiteness::Indefinite
        );
        assert_eq!(
            hessian_spectrum(&mk(vec![1.0, 0.0, 0.0, 0.0], 0.0)).definiteness,
            Definiteness::NearSingular
        );
        // An eigenvalue inside the error estimate is not claimed either way.
        assert_eq!(
            hessian_spectrum(&mk(vec![1.0, 0.0, 0.0, 1e-3], 1e-2)).definiteness,
            Definiteness::NearSingular
        );
    }

    /// Each activation's derivative (what decides "active") against central differences of
    /// the activation itself, away from the kink of ReLU and leaky ReLU.
    #[test]
    fn hidden_activation_derivatives_match_finite_differences() {
        use crate::model::HyperActivation;
        for a in [
            HyperActivation::Relu,
            HyperActivation::LeakyRelu,
            HyperActivation::Silu,
        ] {
            for x in [-30.0, -4.0, -1.3, -0.2, 0.05, 0.7, 2.5, 12.0] {
                let h = 1e-6;
                let fd = (host_activation(a, x + h) - host_activation(a, x - h)) / (2.0 * h);
                let d = hidden_activation_derivative(a, x);
                assert!((d - fd).abs() < 1e-8, "{a:?} at {x}: {d} vs {fd}");
            }
        }
        // SiLU units are all active but the deeply negative ones; leaky ReLU's all are.
        assert!(hidden_activation_derivative(HyperActivation::Silu, -20.0) < ACTIVE_DERIVATIVE);
        assert!(hidden_activation_derivative(HyperActivation::Silu, -1.0) > ACTIVE_DERIVATIVE);
        assert!(hidden_activation_derivative(HyperActivation::LeakyRelu, -5.0) > ACTIVE_DERIVATIVE);
    }

    #[test]
    fn active_units_of_a_hand_made_hypernetwork() {
        // φ: 2 → 3 → 2 → 1, ReLU hidden layers.
        // Layer 1 pre-activations: [z0, z1, z0 + z1 − 1].
        // Layer 2 on h = relu(layer 1): [h0 − h1 − 0.5, h2 + 1e-6].
        let mlp = HostMlp {
            layers: vec![
                (vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0], vec![0.0, 0.0, -1.0], 2),
                (vec![1.0, -1.0, 0.0, 0.0, 0.0, 1.0], vec![-0.5, 1e-6], 3),
                (vec![1.0, 1.0], vec![0.0], 2),
            ],
            linear: None,
            activation: crate::model::HyperActivation::Relu,
        };
        // z = (2, −1): layer 1 [2, −1, 0] → one active (a pre-activation of exactly 0 is
        // not); h = [2, 0, 0]; layer 2 [1.5, 1e-6] → both active (ReLU's slope is 1 however
        // small the positive pre-activation).
        assert_eq!(
            mlp.hidden_pre_activations(&[2.0, -1.0]),
            vec![vec![2.0, -1.0, 0.0], vec![1.5, 1e-6]]
        );
        assert_eq!(active_units(&mlp, &[2.0, -1.0]), vec![1, 2]);
        // z = (1, 2): layer 1 [1, 2, 2] → 3 active; layer 2 [1 − 2 − 0.5, 2 + 1e-6] → 1.
        assert_eq!(active_units(&mlp, &[1.0, 2.0]), vec![3, 1]);
        // z = (−1, −1): nothing passes layer 1; layer 2 [−0.5, 1e-6] → 1 (its bias).
        assert_eq!(active_units(&mlp, &[-1.0, -1.0]), vec![0, 1]);
        // The counts agree with the sign pattern forward() reports.
        for z in [[2.0, -1.0], [1.0, 2.0], [-1.0, -1.0], [0.3, 0.4]] {
            let pattern = mlp.forward(&z).1;
            let units = active_units(&mlp, &z);
            assert_eq!(pattern[..3].iter().filter(|a| **a).count(), units[0]);
            assert_eq!(pattern[3..].iter().filter(|a| **a).count(), units[1]);
        }
        // Per-layer medians over latents.
        assert_eq!(
            active_units_median(&[vec![1, 2], vec![3, 1], vec![0, 1]]),
            vec![1.0, 1.0]
        );
        assert_eq!(
            active_units_median(&[vec![1, 2], vec![3, 4]]),
            vec![2.0, 3.0]
        );
        assert!(active_units_median(&[]).is_empty());
    }

    #[test]
    fn median_handles_infinities() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[1.0, f64::INFINITY, 2.0]), 2.0);
        assert!(median(&[1.0, f64::INFINITY]).is_infinite());
        assert_eq!(median(&[]), 0.0);
    }

    /// A small exported model (8-d latents, 3 stored) and its images as decoded by the model.
    fn small_model() -> (Vec<u8>, Vec<Vec<f32>>) {
        use crate::artifacts::LatentFile;
        use crate::classifier::TrainedClassifier;
        use crate::export::{export, hypernet_rows, ExportInput};
        use hyperinr_data::Split;
        let mut cfg = HyperInrConfig::new();
        cfg.latent_dim = 8;
        cfg.hyper_hidden = vec![16];
        cfg.siren_hidden = vec![8, 8];
        let net = cfg.init::<burn::backend::NdArray<f32>>(3, &Default::default());
        let latents = LatentFile {
            split: Split::Test,
            dim: 8,
            values: (0..24)
                .map(|i| ((i * 37 % 11) as f32 - 5.0) * 0.1)
                .collect(),
            labels: vec![0, 1, 1],
            indices: vec![0, 1, 2],
        };
        let clf = TrainedClassifier {
            mean: vec![0.0; 8],
            inv_std: vec![1.0; 8],
            layers: vec![(
                (0..16).map(|i| i as f32 * 0.1 - 0.8).collect(),
                vec![0.0, 0.1],
                8,
                2,
            )],
        };
        let bytes = export(&ExportInput {
            dataset: "test",
            input: hyperinr_shared::InputKind::Image {
                width: 28,
                height: 28,
            },
            class_names: &["a", "b"],
            model: &cfg,
            hypernet: hypernet_rows(&net),
            linear: crate::export::linear_rows(&net),
            fit: crate::export::fit_settings(&crate::fitting::FitConfig::new()),
            classifier: &clf,
            latents: &latents,
            seed: 3,
            data_hash: "none",
            training_config: "{}",
            golden_coords: (0..8).map(|i| i as f32 / 8.0 - 0.5).collect(),
        })
        .unwrap();
        let model = hyperinr_runtime::Model::from_bytes(&bytes).unwrap();
        let s = model.sizes();
        let (mut w, mut scratch) = (vec![0.0; s.weights], vec![0.0; s.scratch]);
        let images = (0..3)
            .map(|k| {
                let mut z = vec![0.0; 8];
                model.stored_latent(k, &mut z).unwrap();
                model.decode_weights(&z, &mut w, &mut scratch).unwrap();
                let mut px = vec![0.0f32; 784];
                model.render_image(&w, &mut px, &mut scratch).unwrap();
                // Perturb so the residual is not zero.
                px.iter()
                    .enumerate()
                    .map(|(i, v)| v + 0.05 * ((i % 5) as f32 - 2.0))
                    .collect()
            })
            .collect();
        drop(model);
        (bytes, images)
    }

    #[test]
    fn run_ift_on_an_exported_model() {
        let (bytes, images) = small_model();
        let report = run_ift::<Ad32>(&bytes, &images, 10, &Default::default()).unwrap();
        assert_eq!(report.samples, 3);
        assert_eq!(
            (report.latent_dim, report.siren_params),
            (8, 8 * 2 + 8 + 8 * 8 + 8 + 8 + 1)
        );
        assert_eq!(report.jacobian_fd_latents, 3);
        let fd = report.jacobian_fd_max_rel_error.unwrap();
        assert!(fd < 1e-3, "fd error {fd}");
        for r in &report.per_latent {
            assert_eq!(r.jacobian.singular_values.len(), 8);
            assert!(r.jacobian.sigma_max >= r.jacobian.sigma_min);
            assert!(r.mse > 0.0 && r.mse < 0.01, "mse {}", r.mse);
            assert!(r.hessian.max_eig > 0.0);
            assert_eq!(r.active_units.len(), 1);
            assert!(r.jacobian.rank <= r.active_units[0]);
        }
        assert!((0.0..=1.0).contains(&report.full_rank_fraction));
        let mut ranks: Vec<usize> = report.per_latent.iter().map(|r| r.jacobian.rank).collect();
        ranks.sort();
        assert_eq!(report.rank_min, ranks[0]);
        assert_eq!(report.rank_median, ranks[1] as f64);
        let mut units: Vec<usize> = report
            .per_latent
            .iter()
            .map(|r| r.active_units[0])
            .collect();
        units.sort();
        assert_eq!(report.active_units_median, vec![units[1] as f64]);
        let json = serde_json::to_value(&report).unwrap();
        for key in [
            "full_rank_fraction",
            "sigma_min_median",
            "condition_median",
            "hessian_pd_fraction",
            "samples",
            "rank_median",
            "rank_min",
            "active_units_median",
        ] {
            assert!(json.get(key).is_some(), "{key} missing");
        }
        assert_eq!(
            json["per_latent"][0]["active_units"],
            serde_json::json!(report.per_latent[0].active_units)
        );
        // The limit and the target count are honoured.
        assert_eq!(
            run_ift::<Ad32>(&bytes, &images, 2, &Default::default())
                .unwrap()
                .samples,
            2
        );
        assert!(run_ift::<Ad32>(&bytes, &images[..1], 3, &Default::default()).is_err());
        // The histogram is written and decodes.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ift.png");
        ift_histogram_png(&report, &path).unwrap();
        let decoder = png::Decoder::new(std::fs::File::open(&path).unwrap());
        let reader = decoder.read_info().unwrap();
        assert_eq!(
            (reader.info().width, reader.info().height),
            (PANEL_W as u32, 4 * PANEL_H as u32)
        );
    }

    #[test]
    fn histogram_draws_bars_and_text() {
        let values: Vec<f64> = (0..100).map(|i| (i as f64 * 0.37).sin()).collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.png");
        histogram_png(
            &path,
            &[
                HistogramPanel {
                    title: "test (n=100)",
                    values: &values,
                    values2: &[0.9, 0.95, 0.97],
                    bins: 10,
                    marker: Some(0.0),
                },
                HistogramPanel {
                    title: "empty",
                    values: &[],
                    values2: &[],
                    bins: 10,
                    marker: None,
                },
            ],
        )
        .unwrap();
        let mut reader = png::Decoder::new(std::fs::File::open(&path).unwrap())
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(
            (info.width, info.height),
            (PANEL_W as u32, 2 * PANEL_H as u32)
        );
        let px = |x: usize, y: usize| &buf[(y * PANEL_W + x) * 3..(y * PANEL_W + x) * 3 + 3];
        let bar_pixels = (0..PANEL_H)
            .flat_map(|y| (0..PANEL_W).map(move |x| (x, y)))
            .filter(|&(x, y)| px(x, y) == [70, 110, 170])
            .count();
        assert!(bar_pixels > 1000, "{bar_pixels} bar pixels");
        let marker_pixels = (0..PANEL_H)
            .flat_map(|y| (0..PANEL_W).map(move |x| (x, y)))
            .filter(|&(x, y)| px(x, y) == [200, 40, 40])
            .count();
        assert!(marker_pixels > 100, "{marker_pixels} marker pixels");
        assert!(
            (0..PANEL_H).any(|y| (0..PANEL_W).any(|x| px(x, y) == [230, 140, 40])),
            "no second-series bar"
        );
        let title_ink = (10..24)
            .flat_map(|y| (70..300).map(move |x| (x, y)))
            .filter(|&(x, y)| px(x, y) == [0, 0, 0])
            .count();
        assert!(title_ink > 50, "{title_ink} title pixels");
        // Every glyph is 5 wide and 7 tall.
        for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,-+()/:=_%|<>".chars() {
            let g = glyph(c).unwrap();
            let rows: Vec<&str> = g.split(' ').collect();
            assert_eq!(rows.len(), 7, "{c}");
            assert!(
                rows.iter()
                    .all(|r| r.len() == 5 && r.bytes().all(|b| b == b'#' || b == b'.')),
                "{c}"
            );
        }
    }
}

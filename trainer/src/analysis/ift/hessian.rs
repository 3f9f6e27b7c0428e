//! Hessian of the reconstruction loss in z: `Jᵀ ∇²_p L J` plus φ's own curvature term,
//! both by complex-step differentiation of hand-written f64 gradients.

use super::*;

use crate::model::HyperInrConfig;
use anyhow::{bail, Result};
use serde::Serialize;

pub(super) type C64 = nalgebra::Complex<f64>;

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

//! φ re-implemented on the host in f64: a test oracle independent of burn's kernels, and
//! the finite-difference check of the autodiff Jacobian against it.

use super::*;
use crate::model::LinearRows;

use crate::model::HyperNet;
use anyhow::Result;
use burn::tensor::backend::{AutodiffBackend, Backend};

/// φ re-implemented on the host in f64 (a test oracle, independent of burn's kernels): the
/// MLP with φ's hidden activation, plus the linear path `A z + a` when φ has one.
#[derive(Clone, Debug)]
pub struct HostMlp {
    /// Per layer: row-major `[outputs, inputs]` weights, biases, inputs.
    pub(super) layers: Vec<(Vec<f64>, Vec<f64>, usize)>,
    /// The linear path, same layout, added to the last layer's output.
    pub(super) linear: Option<(Vec<f64>, Vec<f64>, usize)>,
    /// The hidden activation.
    pub(super) activation: crate::model::HyperActivation,
}

/// `y = W x + b` in f64 for row-major `w` (`b.len() × inputs`).
pub(super) fn host_affine(w: &[f64], b: &[f64], inputs: usize, x: &[f64]) -> Vec<f64> {
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
        let widen_layer = |layer: &burn::nn::Linear<B>| {
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
pub(super) fn host_activation(a: crate::model::HyperActivation, v: f64) -> f64 {
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
pub(super) fn hidden_activation_derivative(a: crate::model::HyperActivation, x: f64) -> f64 {
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
pub(super) fn active_units_median(counts: &[Vec<usize>]) -> Vec<f64> {
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

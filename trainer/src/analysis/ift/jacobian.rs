//! ∂φ/∂z by burn's reverse-mode autodiff, all rows of a chunk in one backward pass.

use super::*;

use crate::model::HyperNet;
use anyhow::{bail, Context, Result};
use burn::module::Module;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Tensor, TensorData};

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

pub(super) fn jacobian_chunked<B: AutodiffBackend>(
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

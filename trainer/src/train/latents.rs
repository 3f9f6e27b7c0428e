//! Per-sample latent codes with a sparse Adam: only the rows in a batch are updated, each
//! with its own step count, so a latent's trajectory does not depend on how often other
//! samples were seen. Kept on the host: a batch's rows are copied to the device, their
//! gradients copied back.

use anyhow::{bail, Result};
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

/// Adam's moment decays and ε for latents (training and fitting; a model file records them
/// in `config.fit`).
pub const BETA1: f32 = 0.9;
/// Adam's second-moment decay for latents.
pub const BETA2: f32 = 0.999;
/// Adam's ε for latents.
pub const EPS: f32 = 1e-8;

/// `count × dim` latents with Adam state.
#[derive(Clone, Debug, PartialEq)]
pub struct LatentTable {
    /// Latent length.
    pub dim: usize,
    /// `count × dim` values, row-major.
    pub values: Vec<f32>,
    m: Vec<f32>,
    v: Vec<f32>,
    steps: Vec<u32>,
}

impl LatentTable {
    /// `count` latents drawn from N(0, std²) (deterministic for `seed`; zeros when std = 0).
    pub fn new(count: usize, dim: usize, std: f32, seed: u64) -> Self {
        let values = if std > 0.0 {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let normal = Normal::new(0.0f32, std).unwrap_or(Normal::new(0.0, 1.0).unwrap());
            (0..count * dim).map(|_| normal.sample(&mut rng)).collect()
        } else {
            vec![0.0; count * dim]
        };
        Self::from_values(values, dim)
    }

    /// A table holding `values` (fresh optimiser state).
    pub fn from_values(values: Vec<f32>, dim: usize) -> Self {
        let n = values.len();
        LatentTable {
            dim,
            m: vec![0.0; n],
            v: vec![0.0; n],
            steps: vec![0; n / dim.max(1)],
            values,
        }
    }

    /// Number of latents.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// `true` when empty.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Latent `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.values[i * self.dim..(i + 1) * self.dim]
    }

    /// The rows `rows`, concatenated.
    pub fn gather(&self, rows: &[usize]) -> Vec<f32> {
        rows.iter()
            .flat_map(|&r| self.row(r).iter().copied())
            .collect()
    }

    /// One Adam step on `rows` with their gradients (`rows.len() × dim`, same order).
    pub fn adam_step(&mut self, rows: &[usize], grads: &[f32], lr: f32) {
        let d = self.dim;
        for (k, &r) in rows.iter().enumerate() {
            self.steps[r] += 1;
            let t = self.steps[r] as i32;
            let c1 = 1.0 - BETA1.powi(t);
            let c2 = 1.0 - BETA2.powi(t);
            for j in 0..d {
                let idx = r * d + j;
                let g = grads[k * d + j];
                self.m[idx] = BETA1 * self.m[idx] + (1.0 - BETA1) * g;
                self.v[idx] = BETA2 * self.v[idx] + (1.0 - BETA2) * g * g;
                let m_hat = self.m[idx] / c1;
                let v_hat = self.v[idx] / c2;
                self.values[idx] -= lr * m_hat / (v_hat.sqrt() + EPS);
            }
        }
    }

    /// Serialises values and optimiser state.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.values.len() * 12 + self.steps.len() * 4);
        out.extend_from_slice(&(self.dim as u64).to_le_bytes());
        out.extend_from_slice(&(self.len() as u64).to_le_bytes());
        for part in [&self.values, &self.m, &self.v] {
            out.extend_from_slice(&hyperinr_data::io::f32s_to_bytes(part));
        }
        for s in &self.steps {
            out.extend_from_slice(&s.to_le_bytes());
        }
        out
    }

    /// Reads [`LatentTable::to_bytes`] output.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < 16 {
            bail!("latent table: {} bytes, too short", bytes.len());
        }
        let dim = u64::from_le_bytes(bytes[0..8].try_into()?) as usize;
        let count = u64::from_le_bytes(bytes[8..16].try_into()?) as usize;
        let n = count.saturating_mul(dim);
        let need = n
            .saturating_mul(12)
            .saturating_add(count.saturating_mul(4))
            .saturating_add(16);
        if bytes.len() != need || dim == 0 {
            bail!(
                "latent table: {count} × {dim} needs {need} bytes, found {}",
                bytes.len()
            );
        }
        let f = |k: usize| {
            hyperinr_data::io::bytes_to_f32s(&bytes[16 + k * n * 4..16 + (k + 1) * n * 4])
        };
        let steps = bytes[16 + 12 * n..]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok(LatentTable {
            dim,
            values: f(0),
            m: f(1),
            v: f(2),
            steps,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adam_moves_against_the_gradient_by_lr() {
        let mut t = LatentTable::new(3, 2, 0.0, 0);
        t.adam_step(&[1], &[2.0, -0.5], 0.1);
        // First Adam step: m̂ = g, v̂ = g², update = lr · sign(g).
        assert!((t.row(1)[0] + 0.1).abs() < 1e-6 && (t.row(1)[1] - 0.1).abs() < 1e-6);
        assert_eq!(t.row(0), &[0.0, 0.0]);
        let back = LatentTable::from_bytes(&t.to_bytes()).unwrap();
        assert_eq!(back, t);
    }
}

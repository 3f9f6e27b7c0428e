//! Spectra in f64 (nalgebra): singular values of J, numerical rank, conditioning; symmetric
//! eigenvalues of the Hessian.

use serde::Serialize;

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

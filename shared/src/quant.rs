//! The quantisation scheme: symmetric int8, one `f32` scale per row.
//!
//! For a row `v`, `scale = max|v| / 127` and `q = round_half_away(v / scale)` clamped to
//! `[-127, 127]`; dequantised values are `q as f32 * scale`. An all-zero row has scale 0.
//! Weight matrices use one scale per output row, latents one scale per latent.

/// Quantises `row` into `out` and returns the row's scale.
///
/// Returns `None` when the lengths differ or a value is not finite.
///
/// ```
/// use hyperinr_shared::quant::{quantize_row, dequantize};
/// let mut q = [0i8; 3];
/// let scale = quantize_row(&[0.5, -1.0, 0.25], &mut q).unwrap();
/// assert_eq!(q, [64, -127, 32]);
/// assert!((dequantize(q[1], scale) + 1.0).abs() < 1e-7);
/// ```
pub fn quantize_row(row: &[f32], out: &mut [i8]) -> Option<f32> {
    if row.len() != out.len() || row.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let max_abs = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if max_abs == 0.0 {
        out.iter_mut().for_each(|q| *q = 0);
        return Some(0.0);
    }
    let scale = max_abs / 127.0;
    for (q, &v) in out.iter_mut().zip(row) {
        let r = v / scale;
        let rounded = if r >= 0.0 {
            (r + 0.5) as i32
        } else {
            (r - 0.5) as i32
        };
        *q = rounded.clamp(-127, 127) as i8;
    }
    Some(scale)
}

/// The dequantised value of `q` with `scale`: `q as f32 * scale`.
///
/// ```
/// assert_eq!(hyperinr_shared::quant::dequantize(-3, 0.5), -1.5);
/// ```
pub const fn dequantize(q: i8, scale: f32) -> f32 {
    q as f32 * scale
}

/// Quantises a row-major `rows × cols` matrix; returns int8 values and one scale per row.
///
/// ```
/// let (q, s) = hyperinr_shared::quant::quantize_matrix(&[1.0, 2.0, -4.0, 0.0], 2).unwrap();
/// assert_eq!(q, vec![64, 127, -127, 0]);
/// assert_eq!(s, vec![2.0 / 127.0, 4.0 / 127.0]);
/// ```
#[cfg(feature = "std")]
pub fn quantize_matrix(
    values: &[f32],
    cols: usize,
) -> Option<(std::vec::Vec<i8>, std::vec::Vec<f32>)> {
    if cols == 0 || !values.len().is_multiple_of(cols) {
        return None;
    }
    let mut q = std::vec![0i8; values.len()];
    let mut scales = std::vec::Vec::with_capacity(values.len() / cols);
    for (row, qrow) in values.chunks_exact(cols).zip(q.chunks_exact_mut(cols)) {
        scales.push(quantize_row(row, qrow)?);
    }
    Some((q, scales))
}

//! The arithmetic: int8 and f32 dense layers, the sine, MLP forwards over slices.
//!
//! Every dot product starts at `0.0` and adds `w · x` in ascending input index, then adds
//! the bias once (and, for int8 layers, multiplies by the row scale before the bias). No
//! `mul_add`: the same operations in the same order give the same bits on x86_64 and
//! Cortex-M4F.

use crate::error::{Buffer, Error};
use hyperinr_shared::{HyperActivation, QuantLinear};

// `src/sine.rs`, declared here so that the crate root stays as it is.
#[cfg_attr(feature = "fast-sin", allow(dead_code))]
#[path = "sine.rs"]
mod sine;

/// The one sine used for SIREN activations on every target.
///
/// A single-precision sine written in plain `f32` arithmetic (`src/sine.rs`: Cody–Waite
/// reduction by π/2 in four parts, minimax polynomials of degree 9 (sin) and 8 (cos) on
/// [−π/4, π/4]; no `f64`, no fused multiply–add), so host and device agree bit for bit
/// and the Cortex-M4F runs it on its single-precision FPU. libm's `sinf`, used before,
/// computes in `f64`, which the M4 emulates in software (≈1,900 instructions a call, 93 %
/// of a render). Measured max abs error against `f64` `sin`, over every `f32` in [0, 1e5]
/// (`tests/sine.rs`, `exhaustive_up_to_fallback`): 8.7e-8 for |x| ≤ 1e4 and 8.5e-8 up to
/// 1e5 (≈ 1.5 ulp of a result in [0.5, 1); libm's `sinf` is < 1 ulp). Above 1e5 it calls
/// `libm::sinf`, which is also bit-identical across targets; NaN and ±inf give NaN.
/// `sine(-x) == -sine(x)` bit for bit; `sine(±0.0) == ±0.0`.
///
/// With the `fast-sin` feature, micromath's approximation (≈2e-3 abs error; too coarse at
/// ω0 = 30, kept only to measure).
///
/// ```
/// assert_eq!(hyperinr_runtime::sine(0.0), 0.0);
/// assert!((hyperinr_runtime::sine(1.0) - 0.841_470_96).abs() < 1e-7);
/// ```
#[inline]
pub fn sine(x: f32) -> f32 {
    #[cfg(feature = "fast-sin")]
    {
        micromath::F32Ext::sin(x)
    }
    #[cfg(not(feature = "fast-sin"))]
    {
        sine::sin_f32(x)
    }
}

/// [`sine`] of [`LANES`](crate::LANES) arguments at once, branch-free (SIMD on hosts), the
/// same bits lane by lane.
#[inline]
pub(crate) fn sin_lanes(v: &mut [f32; crate::LANES]) {
    #[cfg(feature = "fast-sin")]
    for x in v.iter_mut() {
        *x = sine(*x);
    }
    #[cfg(not(feature = "fast-sin"))]
    sine::sin_lanes(v);
}

/// The cosine paired with [`sine`]: the same reduction and polynomials, the same bits on
/// every target (the derivative of a sine layer in fitting).
///
/// ```
/// assert_eq!(hyperinr_runtime::cosine(0.0), 1.0);
/// assert!((hyperinr_runtime::cosine(1.0) - 0.540_302_3).abs() < 1e-7);
/// ```
#[inline]
pub fn cosine(x: f32) -> f32 {
    sine::cos_f32(x)
}

/// Pixel-centre coordinate of index `i` along an axis of `n` pixels: `(2i+1)/n − 1`.
///
/// ```
/// use hyperinr_runtime::image_coord;
/// assert_eq!(image_coord(0, 2), -0.5);
/// assert_eq!(image_coord(1, 2), 0.5);
/// assert_eq!(image_coord(27, 28), 27.0 / 28.0);
/// ```
pub fn image_coord(i: u32, n: u32) -> f32 {
    (2 * i + 1) as f32 / n as f32 - 1.0
}

/// `y[o] = (Σ_i q[o][i] · x[i]) · scale[o] + bias[o]`, then `activation` when given.
///
/// `x` must have `cols` elements and `y` `rows`; returns `false` otherwise.
pub(crate) fn quant_linear(
    layer: &QuantLinear<'_>,
    x: &[f32],
    y: &mut [f32],
    activation: Option<HyperActivation>,
) -> bool {
    let cols = layer.cols as usize;
    if cols == 0 || x.len() != cols || y.len() != layer.rows as usize {
        return false;
    }
    let rows = layer.weights.as_bytes().chunks_exact(cols);
    let params = layer.scales.iter().zip(layer.bias.iter());
    for ((out, row), (scale, bias)) in y.iter_mut().zip(rows).zip(params) {
        let v = dot_q(row, x) * scale + bias;
        *out = match activation {
            Some(a) => activate(a, v),
            None => v,
        };
    }
    true
}

/// `Σ_i q[i] · x[i]` from 0.0 in ascending `i` (`q` int8 as bytes).
#[inline]
fn dot_q(row: &[u8], x: &[f32]) -> f32 {
    let mut acc = 0.0f32;
    for (&q, &xi) in row.iter().zip(x) {
        acc += (q as i8) as f32 * xi;
    }
    acc
}

/// Adds the linear path `A z + a` to `y`: `y[o] = y[o] + ((Σ_i q[o][i] · z[i]) · scale[o] +
/// bias[o])`, the sum from 0.0 in ascending input index as in [`quant_linear`].
///
/// `z` must have `cols` elements and `y` `rows`; returns `false` otherwise.
pub(crate) fn add_linear(layer: &QuantLinear<'_>, z: &[f32], y: &mut [f32]) -> bool {
    let cols = layer.cols as usize;
    if cols == 0 || z.len() != cols || y.len() != layer.rows as usize {
        return false;
    }
    let rows = layer.weights.as_bytes().chunks_exact(cols);
    let params = layer.scales.iter().zip(layer.bias.iter());
    for ((out, row), (scale, bias)) in y.iter_mut().zip(rows).zip(params) {
        let lin = dot_q(row, z) * scale + bias;
        *out += lin;
    }
    true
}

/// φ's hidden activation `a` at `v` (FORMAT.md 2.3), the same bits on every target:
///
/// - ReLU: `v` if `v > 0`, else `0` (NaN gives 0);
/// - leaky ReLU: `v` if `v > 0`, else `0.01 · v` (NaN stays NaN);
/// - SiLU: `v / (1 + libm::expf(−v))` (`v · σ(v)`; −0.0 for `v` below about −88.7, where
///   `expf` overflows; NaN for NaN and −∞).
///
/// ```
/// use hyperinr_runtime::activate;
/// use hyperinr_shared::HyperActivation::*;
/// assert_eq!(activate(Relu, -2.0), 0.0);
/// assert_eq!(activate(LeakyRelu, -2.0), -0.02);
/// assert_eq!(activate(Silu, 0.0), 0.0);
/// assert!((activate(Silu, 1.0) - 0.731_058_6).abs() < 1e-7);
/// assert_eq!(activate(Silu, -1000.0), 0.0);
/// ```
#[inline]
pub fn activate(a: HyperActivation, v: f32) -> f32 {
    match a {
        HyperActivation::Relu => relu_f32(v),
        HyperActivation::LeakyRelu => {
            if v > 0.0 {
                v
            } else {
                HyperActivation::LEAKY_SLOPE * v
            }
        }
        HyperActivation::Silu => v / (1.0 + libm::expf(-v)),
    }
}

#[inline]
fn relu_f32(v: f32) -> f32 {
    // NaN maps to 0 like `max(0)`; written out so the choice is explicit.
    if v > 0.0 {
        v
    } else {
        0.0
    }
}

/// A SIREN layer with f32 weights `w` (`y.len() × x.len()`, row-major) and bias `b`:
/// `y = sin(ω0 · (W x + b))` when `omega0` is given, else `y = W x + b`.
pub(crate) fn siren_linear(w: &[f32], b: &[f32], x: &[f32], y: &mut [f32], omega0: Option<f32>) {
    if x.is_empty() {
        return;
    }
    for ((out, row), &bias) in y.iter_mut().zip(w.chunks_exact(x.len())).zip(b) {
        let mut acc = 0.0f32;
        for (&wi, &xi) in row.iter().zip(x) {
            acc += wi * xi;
        }
        let pre = acc + bias;
        *out = match omega0 {
            Some(omega) => sine(omega * pre),
            None => pre,
        };
    }
}

fn scratch_err(needed: usize, got: usize) -> Error {
    Error::BufferSize {
        buffer: Buffer::Scratch,
        needed,
        got,
    }
}

/// Forward through int8 `layers` (`hidden` between, none after the last) from `input` into
/// `output`, ping-ponging hidden activations through the two halves of `scratch`.
pub(crate) fn quant_mlp(
    layers: &[QuantLinear<'_>],
    hidden: HyperActivation,
    input: &[f32],
    output: &mut [f32],
    scratch: &mut [f32],
) -> Result<(), Error> {
    let half = scratch.len() / 2;
    let (ping, pong) = scratch.split_at_mut(half);
    let count = layers.len();
    let mut prev_rows = input.len();
    for (i, layer) in layers.iter().enumerate() {
        let rows = layer.rows as usize;
        let last = i + 1 == count;
        if !last && rows > half {
            return Err(scratch_err(rows * 2, half * 2));
        }
        // Layer i reads from: the input (i = 0), ping (odd i), pong (even i > 0);
        // and writes to ping (even i), pong (odd i), or the output (last).
        let (src, dst): (&[f32], &mut [f32]) = match (i, i % 2) {
            (0, _) => (input, if last { &mut *output } else { &mut *ping }),
            (_, 1) => (&*ping, if last { &mut *output } else { &mut *pong }),
            _ => (&*pong, if last { &mut *output } else { &mut *ping }),
        };
        let src = src
            .get(..prev_rows)
            .ok_or(scratch_err(prev_rows * 2, half * 2))?;
        let dst_len = dst.len();
        let dst = dst.get_mut(..rows).ok_or(Error::BufferSize {
            buffer: Buffer::Outputs,
            needed: rows,
            got: dst_len,
        })?;
        let activation = if last { None } else { Some(hidden) };
        if !quant_linear(layer, src, dst, activation) {
            return Err(Error::BufferSize {
                buffer: if i == 0 {
                    Buffer::Latent
                } else {
                    Buffer::Scratch
                },
                needed: layer.cols as usize,
                got: src.len(),
            });
        }
        prev_rows = rows;
    }
    Ok(())
}

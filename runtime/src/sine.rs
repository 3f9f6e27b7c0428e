//! Single-precision sine in pure `f32` arithmetic (no `f64`, no fused multiply–add).
//!
//! Only `+`, `-`, `*`, comparisons, `as` casts and bit operations, each rounded to nearest
//! f32 as IEEE 754 prescribes, so x86_64 (SSE) and Cortex-M4F (FPv4-SP) give the same bits,
//! and the M4 runs it in hardware instead of emulating `f64`.
//!
//! 1. `|x| > REDUCE_MAX`, NaN, ±inf: `libm::sinf` (also bit-identical across targets).
//! 2. `|x| < 2⁻¹²`: `x` itself (`x³/6` is below half an ulp of `x`; keeps the sign of zero).
//! 3. Otherwise `k = round(x · 2/π)` (ties to even, via the `1.5 · 2²³` trick: exact for
//!    `|x · 2/π| < 2²²`) and `r = x − k · π/2` with a four-part Cody–Waite split of π/2
//!    (8 + 7 + 5 significant bits, then a full f32; 2⁻⁴⁸ relative): `k · P1`, `k · P2` and
//!    `k · P3` are exact for `|k| < 2¹⁶`, i.e. `|x| ≤ REDUCE_MAX = 1e5`. Then `|r| ≤ π/4`
//!    (plus a rounding sliver of `x · 2/π`, under 3.1e-3 at 1e5) and, by the quadrant
//!    `k mod 4`, `sin x = ±sin r` or `±cos r`, with minimax polynomials on `[−π/4, π/4]`:
//!    odd degree 9 for sin, even degree 8 for cos (musl's `__sindf`/`__cosdf` coefficients,
//!    rounded to f32).

/// Beyond this `|x|`, [`sin_f32`] falls back to `libm::sinf` (`|k| < 2¹⁶` below it).
pub(crate) const REDUCE_MAX: f32 = 1.0e5;

/// `2⁻¹²`: below it `sin x` rounds to `x`.
const TINY: f32 = 1.0 / 4096.0;

/// `1.5 · 2²³`: `(t + M) − M` rounds `t` to the nearest integer (ties to even) for `|t| < 2²²`.
const ROUND_MAGIC: f32 = 12_582_912.0;

const FRAC_2_PI: f32 = core::f32::consts::FRAC_2_PI;

// π/2 = P1 + P2 + P3 + P4 + O(2⁻⁵⁵); P1..P3 have at most 8 significant bits, so `k · Pi`
// is exact for |k| < 2¹⁶.
/// `0x1.92p0` (8 bits).
const PIO2_1: f32 = f32::from_bits(0x3fc9_0000);
/// `0x1.fcp-12` (7 bits).
const PIO2_2: f32 = f32::from_bits(0x39fe_0000);
/// `-0x1.58p-21` (5 bits).
const PIO2_3: f32 = f32::from_bits(0xb52c_0000);
/// `0x1.10b462p-30` (the rest, rounded to f32).
const PIO2_4: f32 = f32::from_bits(0x3088_5a31);

// sin r ≈ r + r³·(S1 + r²·(S2 + r²·(S3 + r²·S4))) on |r| ≤ π/4.
const S1: f32 = -1.666_666_7e-1;
const S2: f32 = 8.333_329e-3;
const S3: f32 = -1.983_933_5e-4;
const S4: f32 = 2.718_311_4e-6;

// cos r ≈ 1 − r²/2 + r⁴·(C1 + r²·(C2 + r²·C3)) on |r| ≤ π/4.
const C1: f32 = 4.166_662_3e-2;
const C2: f32 = -1.388_676_3e-3;
const C3: f32 = 2.439_045e-5;

/// `sin r` for `|r| ≲ π/4`, `z = r²`.
#[inline(always)]
fn sin_poly(r: f32, z: f32) -> f32 {
    let s = z * r;
    r + s * (S1 + z * (S2 + z * (S3 + z * S4)))
}

/// `cos r` for `|r| ≲ π/4`, `z = r²`.
#[inline(always)]
fn cos_poly(z: f32) -> f32 {
    let hz = 0.5 * z;
    let w = 1.0 - hz;
    // `(1 − w) − hz` is the rounding error of `w` (exact: w ∈ [0.69, 1]).
    w + (((1.0 - w) - hz) + z * z * (C1 + z * (C2 + z * C3)))
}

/// The sine of `x`, in `f32` arithmetic only; see the module documentation.
#[inline]
pub(crate) fn sin_f32(x: f32) -> f32 {
    let ax = f32::from_bits(x.to_bits() & 0x7fff_ffff);
    if ax.is_nan() || ax > REDUCE_MAX {
        // NaN, ±inf and huge arguments.
        return libm::sinf(x);
    }
    if ax < TINY {
        return x;
    }
    let kf = (x * FRAC_2_PI + ROUND_MAGIC) - ROUND_MAGIC;
    let r = (((x - kf * PIO2_1) - kf * PIO2_2) - kf * PIO2_3) - kf * PIO2_4;
    let z = r * r;
    // |kf| < 2¹⁶: the cast is exact; `& 3` is k mod 4 in two's complement.
    match (kf as i32) & 3 {
        0 => sin_poly(r, z),
        1 => cos_poly(z),
        2 => -sin_poly(r, z),
        _ => -cos_poly(z),
    }
}

/// The cosine of `x` with the same reduction and polynomials as [`sin_f32`] (quadrant
/// `k + 1`), for the sine layers' derivative in fitting; `libm::cosf` beyond
/// [`REDUCE_MAX`], for NaN and ±inf.
#[inline]
pub(crate) fn cos_f32(x: f32) -> f32 {
    let ax = f32::from_bits(x.to_bits() & 0x7fff_ffff);
    if ax.is_nan() || ax > REDUCE_MAX {
        return libm::cosf(x);
    }
    let kf = (x * FRAC_2_PI + ROUND_MAGIC) - ROUND_MAGIC;
    let r = (((x - kf * PIO2_1) - kf * PIO2_2) - kf * PIO2_3) - kf * PIO2_4;
    let z = r * r;
    match (kf as i32) & 3 {
        0 => cos_poly(z),
        1 => -sin_poly(r, z),
        2 => -cos_poly(z),
        _ => sin_poly(r, z),
    }
}

/// Sines of [`LANES`](crate::LANES) arguments side by side, each the bits of [`sin_f32`]:
/// the same reduction and polynomials, both polynomials evaluated and the quadrant's picked
/// without branches (so that a compiler can use SIMD lanes); `k mod 4` read from the low
/// mantissa bits of `x · 2/π + 1.5 · 2²³`, which hold `2²² + k`, i.e. `(kf as i32) & 3`.
/// Arguments [`sin_f32`] hands to libm (NaN, ±inf, `|x| > REDUCE_MAX`) go through it.
#[inline]
pub(crate) fn sin_lanes(v: &mut [f32; crate::LANES]) {
    let mut out = [0.0f32; crate::LANES];
    let mut outside = false;
    for (o, &x) in out.iter_mut().zip(v.iter()) {
        let t = x * FRAC_2_PI + ROUND_MAGIC;
        let kf = t - ROUND_MAGIC;
        let r = (((x - kf * PIO2_1) - kf * PIO2_2) - kf * PIO2_3) - kf * PIO2_4;
        let z = r * r;
        let (sin, cos) = (sin_poly(r, z), cos_poly(z));
        let q = t.to_bits() & 3;
        let magnitude = if q & 1 == 0 { sin } else { cos };
        let value = if q & 2 == 0 { magnitude } else { -magnitude };
        let ax = f32::from_bits(x.to_bits() & 0x7fff_ffff);
        *o = if ax < TINY { x } else { value };
        // NaN and ±inf count as outside, like `sin_f32`'s `is_nan() || > REDUCE_MAX`.
        outside |= ax.is_nan() || ax > REDUCE_MAX;
    }
    if outside {
        for (o, &x) in out.iter_mut().zip(v.iter()) {
            let ax = f32::from_bits(x.to_bits() & 0x7fff_ffff);
            if ax.is_nan() || ax > REDUCE_MAX {
                *o = sin_f32(x);
            }
        }
    }
    *v = out;
}

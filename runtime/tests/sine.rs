//! `hyperinr_runtime::sine` against `f64` `sin` (the host's libm, far more accurate than
//! f32): accuracy sweeps, special values, symmetry and monotonicity.
#![cfg(not(feature = "fast-sin"))]

use hyperinr_runtime::sine;

/// Max abs error for |x| ≤ 1e4.
const BOUND_NEAR: f64 = 2e-7;
/// Max abs error up to the libm fallback (1e5) and beyond.
const BOUND_FAR: f64 = 1e-6;

fn err(x: f32) -> f64 {
    (sine(x) as f64 - (x as f64).sin()).abs()
}

/// Max abs error over `f(i)` for `i in 0..n`, with the worst argument.
fn max_err(n: u64, mut f: impl FnMut(u64) -> f32) -> (f64, f32) {
    let mut worst = (0.0f64, 0.0f32);
    for i in 0..n {
        let x = f(i);
        let e = err(x);
        assert!(e.is_finite(), "sine({x}) = {}", sine(x));
        if e > worst.0 {
            worst = (e, x);
        }
    }
    worst
}

/// `n` points evenly spaced over [lo, hi].
fn even(lo: f64, hi: f64, n: u64) -> impl Fn(u64) -> f32 {
    move |i| (lo + (hi - lo) * i as f64 / (n - 1) as f64) as f32
}

/// SplitMix64, so the random points are the same on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [-a, a].
    fn uniform(&mut self, a: f64) -> f32 {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 * a - a) as f32
    }
}

#[test]
fn evenly_spaced_sweeps() {
    for (lo, hi, n, bound) in [
        (-4.0, 4.0, 2_000_000, BOUND_NEAR),
        (-200.0, 200.0, 4_000_000, BOUND_NEAR),
        (-1e4, 1e4, 3_000_000, BOUND_NEAR),
        (-1e5, 1e5, 1_000_000, BOUND_FAR),
    ] {
        let (e, x) = max_err(n, even(lo, hi, n));
        eprintln!("[{lo}, {hi}], {n} points: max abs error {e:.3e} at x = {x}");
        assert!(e <= bound, "error {e:e} at x = {x} ({:e})", x);
    }
}

#[test]
fn random_points() {
    let mut rng = Rng(0x5eed);
    for (a, n, bound) in [
        (1.0, 500_000, BOUND_NEAR),
        (50.0, 500_000, BOUND_NEAR),
        (1e3, 500_000, BOUND_NEAR),
        (1e4, 500_000, BOUND_NEAR),
        (1e5, 500_000, BOUND_FAR),
        (1e7, 200_000, BOUND_FAR),
    ] {
        let (e, x) = max_err(n, |_| rng.uniform(a));
        eprintln!("uniform ±{a}, {n} points: max abs error {e:.3e} at x = {x}");
        assert!(e <= bound, "error {e:e} at x = {x}");
    }
    // Random bit patterns: every exponent, huge values included (libm's path beyond 1e5).
    let (e, x) = max_err(1_000_000, |_| loop {
        let x = f32::from_bits(rng.next() as u32);
        if x.is_finite() {
            break x;
        }
    });
    eprintln!("random finite bit patterns: max abs error {e:.3e} at x = {x}");
    assert!(e <= BOUND_FAR, "error {e:e} at x = {x}");
}

/// Arguments next to multiples of π/2 (where the reduction cancels most) and every f32
/// around the fallback threshold.
#[test]
fn near_multiples_of_half_pi() {
    let mut worst = (0.0f64, 0.0f32);
    for k in (-70_000i64..=70_000).filter(|&k| k != 0) {
        let c = (k as f64 * core::f64::consts::FRAC_PI_2) as f32;
        let mut x = c;
        for _ in 0..4 {
            x = x.next_down();
        }
        for _ in 0..9 {
            let e = err(x);
            let bound = if x.abs() <= 1e4 {
                BOUND_NEAR
            } else {
                BOUND_FAR
            };
            assert!(e <= bound, "error {e:e} at x = {x}");
            if e > worst.0 {
                worst = (e, x);
            }
            x = f32::from_bits(x.to_bits().wrapping_add(1));
        }
    }
    eprintln!(
        "near k·π/2: max abs error {:.3e} at x = {}",
        worst.0, worst.1
    );
    // Around the switch to libm at |x| = 1e5.
    let t = 1.0e5f32;
    let mut x = f32::from_bits(t.to_bits() - 1000);
    for _ in 0..2001 {
        assert!(err(x) <= BOUND_FAR, "x = {x}");
        assert!(err(-x) <= BOUND_FAR, "x = {}", -x);
        x = f32::from_bits(x.to_bits() + 1);
    }
}

#[test]
fn special_values() {
    assert_eq!(sine(0.0).to_bits(), 0.0f32.to_bits());
    assert_eq!(sine(-0.0).to_bits(), (-0.0f32).to_bits());
    for x in [f32::NAN, -f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        assert!(sine(x).is_nan(), "sine({x}) = {}", sine(x));
    }
    // Tiny and subnormal arguments come back unchanged.
    for x in [f32::MIN_POSITIVE, 1e-40, 1e-30, 1e-10, 1e-5, 2.4e-4] {
        assert_eq!(sine(x), x);
        assert_eq!(sine(-x), -x);
    }
    for x in [f32::MAX, f32::MIN, 1e30, -1e20, 3.0e38] {
        let s = sine(x);
        assert!((-1.0..=1.0).contains(&s), "sine({x}) = {s}");
        assert!(err(x) <= BOUND_FAR, "sine({x}) = {s}");
    }
    assert_eq!(sine(core::f32::consts::FRAC_PI_2), 1.0);
    assert_eq!(sine(-core::f32::consts::FRAC_PI_2), -1.0);
    assert!(err(core::f32::consts::PI) <= 1e-12);
    assert!((sine(1.0) - 0.841_470_96).abs() < 1e-7);
}

/// Exactly odd (bit for bit) and within [-1, 1].
#[test]
fn odd_and_bounded() {
    let mut rng = Rng(7);
    for i in 0..2_000_000u32 {
        let x = if i % 2 == 0 {
            rng.uniform(300.0)
        } else {
            rng.uniform(2e5)
        };
        let (p, n) = (sine(x), sine(-x));
        assert_eq!(p.to_bits(), (-n).to_bits(), "sine(-{x}) != -sine({x})");
        assert!((-1.0..=1.0).contains(&p), "sine({x}) = {p}");
    }
}

/// Non-decreasing on [-π/2, π/2] and non-increasing on [π/2, 3π/2], checked on every f32
/// in [0, π/2] and in steps elsewhere (no wiggle where the quadrant changes at ±π/4).
#[test]
fn monotonic_on_quarter_periods() {
    use core::f32::consts::{FRAC_PI_2, PI};
    let mut x = 0.0f32;
    let mut prev = sine(x);
    while x < FRAC_PI_2 {
        x = f32::from_bits(x.to_bits() + 1);
        let s = sine(x);
        assert!(s >= prev, "sine decreases at {x}: {prev} -> {s}");
        prev = s;
    }
    // [π/2, 3π/2], and the same shape one and ten periods on.
    for shift in [0.0f32, 2.0 * PI, 20.0 * PI] {
        let lo = FRAC_PI_2 + shift;
        let hi = 3.0 * FRAC_PI_2 + shift;
        let mut x = f32::from_bits(lo.to_bits() + 1);
        let mut prev = sine(x);
        while x < hi {
            x = f32::from_bits(x.to_bits() + 1);
            let s = sine(x);
            assert!(s <= prev, "sine increases at {x}: {prev} -> {s}");
            prev = s;
        }
    }
}

/// Every f32 in [0, 1e5] (the negative half follows from `odd_and_bounded`'s exact
/// symmetry): ~1.2e9 evaluations, so run it in release:
/// `cargo test -p hyperinr-runtime --release --test sine -- --ignored --nocapture`.
#[test]
#[ignore]
fn exhaustive_up_to_fallback() {
    let mut near = (0.0f64, 0.0f32);
    let mut far = (0.0f64, 0.0f32);
    let last = 1.0e5f32.to_bits();
    for bits in 0..=last {
        let x = f32::from_bits(bits);
        let e = err(x);
        let w = if x <= 1e4 { &mut near } else { &mut far };
        if e > w.0 {
            *w = (e, x);
        }
    }
    eprintln!("|x| <= 1e4: max abs error {:.4e} at x = {}", near.0, near.1);
    eprintln!(
        "1e4 < |x| <= 1e5: max abs error {:.4e} at x = {}",
        far.0, far.1
    );
    assert!(near.0 <= BOUND_NEAR && far.0 <= BOUND_FAR);
}

/// `cosine` shares the reduction and polynomials: the same error bounds against `f64` `cos`,
/// even bit for bit, NaN for NaN and ±inf.
#[test]
fn cosine_accuracy() {
    use hyperinr_runtime::cosine;
    let cerr = |x: f32| (cosine(x) as f64 - (x as f64).cos()).abs();
    let mut rng = Rng(0xc05);
    for (a, n, bound) in [
        (1.0, 500_000, BOUND_NEAR),
        (50.0, 500_000, BOUND_NEAR),
        (1e4, 500_000, BOUND_NEAR),
        (1e6, 100_000, BOUND_FAR),
    ] {
        let mut worst = (0.0f64, 0.0f32);
        for _ in 0..n {
            let x = rng.uniform(a);
            let e = cerr(x);
            assert_eq!(cosine(x).to_bits(), cosine(-x).to_bits(), "x = {x}");
            if e > worst.0 {
                worst = (e, x);
            }
        }
        eprintln!(
            "cosine, uniform ±{a}: max abs error {:.3e} at x = {}",
            worst.0, worst.1
        );
        assert!(worst.0 <= bound, "error {:e} at x = {}", worst.0, worst.1);
    }
    let (e, x) = (-40_000..=40_000)
        .map(|i| i as f32 * 1e-3)
        .map(|x| (cerr(x), x))
        .fold((0.0, 0.0), |w, c| if c.0 > w.0 { c } else { w });
    assert!(e <= BOUND_NEAR, "error {e:e} at x = {x}");
    assert_eq!(cosine(0.0), 1.0);
    for x in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        assert!(cosine(x).is_nan());
    }
}

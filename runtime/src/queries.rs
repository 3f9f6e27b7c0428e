//! Query points for a shape observed as a raw point cloud, drawn on the device.
//!
//! The trainer observes a shape through query points around its surface and their
//! unsigned distances to the cloud, clamped (`geometry::UdfSampler`: near-surface points —
//! a cloud point plus Gaussian noise, the standard deviations taking turns — then uniform
//! points in a cube). [`udf_queries`] draws queries the same way with the runtime's own
//! generator ([`SplitMix64`]) and finds nearest distances by brute force (a cloud of a
//! thousand points needs no k-d tree), so that host and device draw the same bits.

use crate::error::{Buffer, Error};
use crate::model::exact;
use crate::nn::cosine;
use hyperinr_shared::{F32Slice, QuerySampler};

/// The generator of the runtime: SplitMix64 (Steele, Lea, Flood 2014), the same sequence on
/// every target.
///
/// ```
/// let mut rng = hyperinr_runtime::SplitMix64::new(7);
/// let u = rng.uniform();
/// assert!((0.0..1.0).contains(&u));
/// assert_eq!(hyperinr_runtime::SplitMix64::new(7).uniform(), u);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator starting at `seed`.
    pub const fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)` with 24 random bits (exact in `f32`).
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / 16_777_216.0)
    }

    /// Uniform integer in `0..n` (`n ≥ 1`; multiply–shift, bias below 2⁻³² · n).
    pub fn below(&mut self, n: u32) -> u32 {
        (((self.next_u64() >> 32) * u64::from(n)) >> 32) as u32
    }

    /// Standard normal (Box–Muller, the cosine branch; `libm::logf`, `libm::sqrtf` and this
    /// crate's cosine, so every target draws the same values).
    pub fn normal(&mut self) -> f32 {
        // 1 − u is in (0, 1]: the logarithm stays finite.
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        let r = libm::sqrtf(-2.0 * libm::logf(u1));
        r * cosine(core::f32::consts::TAU * u2)
    }
}

/// How [`udf_queries`] draws: a model file's [`QuerySampler`] (what its training drew,
/// the trainer's `UdfConfig`), its clamp and a seed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuerySettings {
    /// Near-surface σ (taking turns), the share of uniform queries (they come last) and
    /// their cube.
    pub sampler: QuerySampler,
    /// Distances above this are clamped to it (the model file's `udf_clamp`).
    pub clamp: f32,
    /// Seed of the generator.
    pub seed: u64,
}

impl QuerySettings {
    /// The trainer's default sampler (σ 0.01, 0.03, 0.1; 20 % uniform in `[-1.1, 1.1]³`)
    /// with clamp `clamp` and seed `seed`.
    pub const fn trainer_default(clamp: f32, seed: u64) -> Self {
        QuerySettings {
            sampler: QuerySampler::DEFAULT,
            clamp,
            seed,
        }
    }

    /// Uniform queries among `count` (rounded to nearest, as the trainer).
    pub fn uniform_count(&self, count: usize) -> usize {
        let n = (count as f32 * self.sampler.uniform_fraction + 0.5) as usize;
        n.min(count)
    }
}

/// Draws `targets.len()` query points around `cloud` (3 `f32` per point) into `coords`
/// (3 per query) and their clamped nearest distances into `targets`: near-surface queries
/// first (cloud point `below(N)` plus `σ · normal` per coordinate, σ taking turns through
/// `sigmas`), then uniform ones (`(2u − 1) · bound` per coordinate). Distances: the
/// smallest `dx² + dy² + dz²` over the cloud (points in order), its `sqrtf`, then at most
/// `clamp`. A non-finite cloud value gives NaN distances, never a panic.
///
/// ```
/// use hyperinr_runtime::{udf_queries, QuerySettings};
/// use hyperinr_shared::{F32Slice, QuerySampler};
/// let cloud: Vec<u8> = [0.0f32, 0.0, 0.0].iter().flat_map(|v| v.to_le_bytes()).collect();
/// let (mut coords, mut targets) = ([0.0f32; 12], [0.0f32; 4]);
/// let s = QuerySettings::trainer_default(0.1, 1);
/// udf_queries(F32Slice::new(&cloud), &s, &mut coords, &mut targets).unwrap();
/// assert!(targets.iter().all(|&t| (0.0..=0.1).contains(&t)));
/// ```
pub fn udf_queries(
    cloud: F32Slice<'_>,
    settings: &QuerySettings,
    coords: &mut [f32],
    targets: &mut [f32],
) -> Result<(), Error> {
    let count = targets.len();
    exact(Buffer::Coords, 3 * count, coords.len())?;
    let points = cloud.len() / 3;
    if points == 0 || cloud.len() != 3 * points {
        return Err(Error::BufferSize {
            buffer: Buffer::Observation,
            needed: 3 * points.max(1),
            got: cloud.len(),
        });
    }
    if count == 0 {
        return Ok(());
    }
    let mut rng = SplitMix64::new(settings.seed);
    let near = count - settings.uniform_count(count);
    for (j, q) in coords.chunks_exact_mut(3).enumerate() {
        if j < near {
            let sigma = settings.sampler.sigmas.get(j % 3).copied().unwrap_or(0.0);
            let p = rng.below(points as u32) as usize;
            for (k, c) in q.iter_mut().enumerate() {
                let v = cloud.get(3 * p + k).unwrap_or(f32::NAN);
                *c = v + sigma * rng.normal();
            }
        } else {
            for c in q.iter_mut() {
                *c = (2.0 * rng.uniform() - 1.0) * settings.sampler.bound;
            }
        }
    }
    for (q, t) in coords.chunks_exact(3).zip(targets.iter_mut()) {
        let &[qx, qy, qz] = q else { continue };
        let mut best = f32::INFINITY;
        let mut points = cloud.iter();
        while let (Some(x), Some(y), Some(z)) = (points.next(), points.next(), points.next()) {
            let (dx, dy, dz) = (x - qx, y - qy, z - qz);
            let d = dx * dx + dy * dy + dz * dz;
            // A NaN distance wins, so that a corrupt cloud shows in the targets.
            if d < best || d.is_nan() {
                best = d;
            }
        }
        let dist = libm::sqrtf(best);
        *t = if dist > settings.clamp {
            settings.clamp
        } else {
            dist
        };
    }
    Ok(())
}

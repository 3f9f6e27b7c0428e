//! Geometry of point clouds for the 3D half of the pipeline.
//!
//! - **UDF targets** for training a SIREN on the unsigned distance to a cloud ([`UdfSampler`]),
//!   through a k-d tree ([`CloudIndex`], the `kiddo` crate).
//! - **Evaluation**: the symmetric Chamfer distance ([`chamfer_distance`]) and the extraction of
//!   surface points from a (predicted) UDF ([`surface_points_from_udf`], [`SurfaceSearch`]).
//!
//! A cloud is always a flat `[f32]` of `N × 3` coordinates, point after point (`x, y, z`), in
//! unit-sphere coordinates (the datasets: `hyperinr_data::clouds`).
//!
//! Sampling is seeded: the same inputs and seed give the same bits (for a given build; the
//! generator is `rand`'s `StdRng`, whose stream is pinned by `Cargo.lock`).

use anyhow::{bail, ensure, Context, Result};
use hyperinr_data::npy::check_cloud;
use kiddo::immutable::float::kdtree::ImmutableKdTree;
use kiddo::SquaredEuclidean;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

/// Points per leaf of the k-d tree: 16 measured fastest for 1,024-point clouds (32, kiddo's
/// default, is about 1.5× slower).
const LEAF_SIZE: usize = 16;

/// A point set with a k-d tree over it, for nearest-neighbour distances.
pub struct CloudIndex {
    tree: ImmutableKdTree<f32, u32, 3, LEAF_SIZE>,
    points: Vec<[f32; 3]>,
}

impl std::fmt::Debug for CloudIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudIndex")
            .field("points", &self.points.len())
            .finish()
    }
}

impl CloudIndex {
    /// Builds the tree over `cloud` (`N × 3`, `1 ≤ N < 2³²`, finite values).
    pub fn new(cloud: &[f32]) -> Result<CloudIndex> {
        check_cloud(cloud)?;
        ensure!(
            cloud.len() / 3 <= u32::MAX as usize,
            "{} points, at most 2³² − 1 are supported",
            cloud.len() / 3
        );
        let points: Vec<[f32; 3]> = cloud.chunks_exact(3).map(|p| [p[0], p[1], p[2]]).collect();
        let tree = ImmutableKdTree::new_from_slice(&points);
        Ok(CloudIndex { tree, points })
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// True when there are no points.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Point `i`.
    pub fn point(&self, i: usize) -> [f32; 3] {
        self.points[i]
    }

    /// The nearest point to `q`: its position in the cloud and its Euclidean distance.
    pub fn nearest(&self, q: [f32; 3]) -> (usize, f32) {
        let nn = self.tree.nearest_one::<SquaredEuclidean>(&q);
        (nn.item as usize, nn.distance.sqrt())
    }

    /// Euclidean distance from `q` to the nearest point.
    pub fn distance(&self, q: [f32; 3]) -> f32 {
        self.nearest(q).1
    }

    /// Distances from each of `queries` (`M × 3`) to the nearest point.
    pub fn distances(&self, queries: &[f32]) -> Result<Vec<f32>> {
        ensure!(
            queries.len().is_multiple_of(3),
            "{} query values, not a multiple of 3",
            queries.len()
        );
        Ok(queries
            .chunks_exact(3)
            .map(|q| self.distance([q[0], q[1], q[2]]))
            .collect())
    }
}

/// Mixes a base seed with a stream number (shape index, epoch, …) into an independent seed
/// (SplitMix64 finaliser), so per-shape samplers do not share streams.
pub fn mix_seed(seed: u64, stream: u64) -> u64 {
    let mut z = seed ^ stream.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// How training queries for a cloud's unsigned distance field are drawn.
///
/// Of `n` queries, `round(n · uniform_fraction)` are uniform in the cube `[-bound, bound]³`;
/// the others are near-surface samples: a uniformly chosen cloud point plus isotropic Gaussian
/// noise, the standard deviations taking turns from `sigmas`. The target of each query is its
/// Euclidean distance to the nearest cloud point, clamped at `clamp`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UdfSampler {
    /// Noise standard deviations (per coordinate, unit-sphere units) of near-surface queries.
    pub sigmas: Vec<f32>,
    /// Share of uniform queries in the cube, 0..=1.
    pub uniform_fraction: f32,
    /// Half the side of the cube of uniform queries.
    pub bound: f32,
    /// Distances above this are clamped to it.
    pub clamp: f32,
}

impl Default for UdfSampler {
    fn default() -> Self {
        UdfSampler {
            sigmas: vec![0.01, 0.03, 0.1],
            uniform_fraction: 0.2,
            bound: 1.1,
            clamp: 0.1,
        }
    }
}

impl UdfSampler {
    /// Checks the configuration.
    pub fn validate(&self) -> Result<()> {
        ensure!(
            (0.0..=1.0).contains(&self.uniform_fraction),
            "UDF sampler: uniform_fraction {} is outside 0..=1",
            self.uniform_fraction
        );
        ensure!(
            self.uniform_fraction == 1.0 || !self.sigmas.is_empty(),
            "UDF sampler: sigmas is empty but uniform_fraction {} < 1 asks for near-surface queries",
            self.uniform_fraction
        );
        if let Some(s) = self.sigmas.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
            bail!("UDF sampler: sigma {s} must be positive and finite");
        }
        ensure!(
            self.bound.is_finite() && self.bound > 0.0,
            "UDF sampler: bound {} must be positive and finite",
            self.bound
        );
        ensure!(
            self.clamp.is_finite() && self.clamp > 0.0,
            "UDF sampler: clamp {} must be positive and finite",
            self.clamp
        );
        Ok(())
    }

    /// Number of uniform queries among `n_queries` (the rest are near-surface, and come first).
    pub fn uniform_count(&self, n_queries: usize) -> usize {
        ((n_queries as f64 * self.uniform_fraction as f64).round() as usize).min(n_queries)
    }

    /// Draws `n_queries` queries around `cloud` (`N × 3`) with their clamped unsigned
    /// distances: returns (`n_queries × 3` coordinates, `n_queries` targets). Near-surface
    /// queries come first, then the uniform ones. The same cloud, configuration and `seed`
    /// give the same bits.
    pub fn sample(
        &self,
        cloud: &[f32],
        n_queries: usize,
        seed: u64,
    ) -> Result<(Vec<f32>, Vec<f32>)> {
        let index = CloudIndex::new(cloud).context("UDF sampler: cloud")?;
        self.sample_with_index(&index, n_queries, seed)
    }

    /// [`sample`](Self::sample) with a prebuilt index (to draw fresh queries for the same
    /// cloud, e.g. every epoch, without rebuilding the tree).
    pub fn sample_with_index(
        &self,
        index: &CloudIndex,
        n_queries: usize,
        seed: u64,
    ) -> Result<(Vec<f32>, Vec<f32>)> {
        self.validate()?;
        let mut rng = StdRng::seed_from_u64(seed);
        let n_uniform = self.uniform_count(n_queries);
        let n_near = n_queries - n_uniform;
        let mut coords = Vec::with_capacity(n_queries * 3);
        for j in 0..n_near {
            let sigma = self.sigmas[j % self.sigmas.len()];
            let p = index.point(rng.random_range(0..index.len()));
            for v in p {
                let noise: f32 = rng.sample(StandardNormal);
                coords.push(v + sigma * noise);
            }
        }
        for _ in 0..n_uniform * 3 {
            coords.push(rng.random_range(-self.bound..=self.bound));
        }
        let udf = coords
            .chunks_exact(3)
            .map(|q| index.distance([q[0], q[1], q[2]]).min(self.clamp))
            .collect();
        Ok((coords, udf))
    }
}

// ---------------------------------------------------------------------------------------------
// Chamfer distance and surface extraction
// ---------------------------------------------------------------------------------------------

/// Mean Euclidean distance from each point of `from` (`M × 3`) to its nearest point in `to`.
pub fn mean_nearest_distance(from: &[f32], to: &CloudIndex) -> Result<f64> {
    check_cloud(from)?;
    let sum: f64 = from
        .chunks_exact(3)
        .map(|q| to.distance([q[0], q[1], q[2]]) as f64)
        .sum();
    Ok(sum / (from.len() / 3) as f64)
}

/// Symmetric Chamfer distance between point sets `a` and `b` (each `N × 3`, non-empty,
/// finite): the mean Euclidean nearest-neighbour distance from `a` to `b` and the one from
/// `b` to `a`, averaged. Not squared; in the sets' units (unit-sphere coordinates).
pub fn chamfer_distance(a: &[f32], b: &[f32]) -> Result<f64> {
    let ia = CloudIndex::new(a).context("Chamfer distance: first point set")?;
    let ib = CloudIndex::new(b).context("Chamfer distance: second point set")?;
    let ab = mean_nearest_distance(a, &ib)?;
    let ba = mean_nearest_distance(b, &ia)?;
    Ok(0.5 * (ab + ba))
}

/// How [`SurfaceSearch::run`] looks for points where a UDF is below ε.
///
/// The goal is points spread uniformly over the set `{x : UDF(x) < ε}` (a shell of
/// thickness 2ε around the reconstructed surface), as a plain uniform rejection sampler in
/// the cube `[-bound, bound]³` would give them, at a fraction of its evaluations:
///
/// 1. **Pruning pass**: the UDF is evaluated at the centres of a `grid³` grid over the cube.
///    A cell is kept when its centre's value is below `ε + lipschitz · r`, `r` being half the
///    cell's diagonal: if the UDF changes by at most `lipschitz` per unit length (a true
///    distance function: 1), no point of a dropped cell can be below ε.
/// 2. **Sampling**: candidates are drawn uniformly in the kept cells (a uniformly chosen cell,
///    then a uniform point inside it) and accepted when the UDF is below ε, until `n_points`
///    are accepted. Accepted points are therefore uniform over the shell, exactly as with
///    rejection in the whole cube.
///
/// Pruning only pays when `ε + lipschitz · r` is below the UDF's clamp (the value it takes far
/// from the surface): with the default 32³ grid over `[-1.1, 1.1]³`, `r ≈ 0.060`, which suits
/// a clamp of 0.1 and ε up to 0.04. Otherwise every cell is kept and the search degrades to
/// rejection in the whole cube (still correct, just slower). `grid = 0` skips the pruning pass.
/// A UDF steeper than `lipschitz` somewhere may lose the parts of the shell in cells it
/// dropped wrongly; raise `lipschitz` (and `grid`) for such models.
///
/// 3. **Refinement** (only for slow searches): when `refine_after` candidates have been drawn
///    and fewer than `n_points` accepted, and the rate so far says that many more candidates
///    than 64 per kept cell are still to come (a thin or absent shell: such a search may spend
///    the whole budget), each kept cell is split in 2³ and then 4³ sub-cells, pruned by the same
///    rule with their smaller radii. Candidates keep being drawn exactly as before (same
///    stream, same budget, which counts candidates drawn), but one that falls in a pruned
///    sub-cell is rejected without evaluating the UDF: under the same bound it cannot be below
///    ε, so the accepted points are the ones step 2 alone would accept. When every sub-cell is
///    pruned, no candidate can be accepted and the search stops there.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SurfaceSearch {
    /// Half the side of the cube searched.
    pub bound: f32,
    /// Cells per axis of the pruning grid; 0 = no pruning.
    pub grid: usize,
    /// Assumed bound on the UDF's change per unit length (its gradient norm).
    pub lipschitz: f32,
    /// Points per call of the UDF evaluator.
    pub batch: usize,
    /// Budget: at most this many grid points and candidates, pruning pass included.
    pub max_evaluations: usize,
    /// Refine the kept cells once this many candidates were drawn without finding `n_points`
    /// (0 = never).
    pub refine_after: usize,
}

impl Default for SurfaceSearch {
    fn default() -> Self {
        SurfaceSearch {
            bound: 1.1,
            grid: 32,
            lipschitz: 1.0,
            batch: 8192,
            max_evaluations: 1 << 20,
            refine_after: 1 << 16,
        }
    }
}

/// Points found by [`SurfaceSearch::run`].
#[derive(Clone, Debug, PartialEq)]
pub struct SurfaceSample {
    /// Up to `n_points × 3` coordinates, uniform over `{x : UDF(x) < ε}`.
    pub points: Vec<f32>,
    /// Grid points and candidates drawn: what the budget counts.
    pub drawn: usize,
    /// UDF evaluations spent, pruning pass and refinement included (below `drawn` when
    /// refined candidates were rejected without one).
    pub evaluated: usize,
    /// Share of the cube's volume kept by the pruning pass (1 without it).
    pub kept_volume: f64,
}

impl SurfaceSearch {
    /// Checks the configuration.
    pub fn validate(&self) -> Result<()> {
        ensure!(
            self.bound.is_finite() && self.bound > 0.0,
            "surface search: bound {} must be positive and finite",
            self.bound
        );
        ensure!(
            self.grid <= 1024,
            "surface search: grid {} is too fine (at most 1024 cells per axis)",
            self.grid
        );
        ensure!(
            self.lipschitz.is_finite() && self.lipschitz > 0.0,
            "surface search: lipschitz {} must be positive and finite",
            self.lipschitz
        );
        ensure!(self.batch >= 1, "surface search: batch must be at least 1");
        ensure!(
            self.max_evaluations > self.grid.pow(3),
            "surface search: max_evaluations {} leaves nothing after the {}-point pruning grid",
            self.max_evaluations,
            self.grid.pow(3)
        );
        Ok(())
    }

    /// Collects `n_points` points where `eval` (which maps `M × 3` coordinates to `M` UDF
    /// values) is below `eps`, uniform over that set (see [`SurfaceSearch`]); fewer when
    /// `max_evaluations` runs out first (check `points.len()`). NaN values are never below
    /// `eps`. Reproducible for the same `eval`, arguments and `seed`.
    ///
    /// Errors: invalid arguments, `eval` returning the wrong number of values, or no point
    /// found at all.
    pub fn run(
        &self,
        mut eval: impl FnMut(&[f32]) -> Vec<f32>,
        n_points: usize,
        eps: f32,
        seed: u64,
    ) -> Result<SurfaceSample> {
        self.validate()?;
        ensure!(n_points >= 1, "surface search: n_points must be at least 1");
        ensure!(
            eps.is_finite() && eps > 0.0,
            "surface search: eps {eps} must be positive and finite"
        );
        let b = self.bound;
        let mut evaluated = 0usize;
        let mut call = |coords: &[f32], evaluated: &mut usize| -> Result<Vec<f32>> {
            let m = coords.len() / 3;
            let values = eval(coords);
            ensure!(
                values.len() == m,
                "surface search: the UDF evaluator returned {} values for {m} points",
                values.len()
            );
            *evaluated += m;
            Ok(values)
        };

        // 1. Pruning pass: the kept cells' lower corners (all cells when there is no grid).
        let (cell, kept): (f32, Vec<[f32; 3]>) = if self.grid == 0 {
            (2.0 * b, vec![[-b; 3]])
        } else {
            let n = self.grid;
            let h = 2.0 * b / n as f32;
            let reach = eps + self.lipschitz * h * 3f32.sqrt() / 2.0;
            let corner = |i: usize| -b + h * i as f32;
            let mut kept = Vec::new();
            let mut coords = Vec::with_capacity(self.batch.min(n * n * n) * 3);
            let mut pending = Vec::with_capacity(self.batch);
            for i in 0..n * n * n {
                let c = [corner(i / (n * n)), corner(i / n % n), corner(i % n)];
                coords.extend(c.map(|v| v + h / 2.0));
                pending.push(c);
                if pending.len() == self.batch || i + 1 == n * n * n {
                    let values = call(&coords, &mut evaluated)?;
                    kept.extend(
                        pending
                            .iter()
                            .zip(&values)
                            .filter(|(_, &u)| u < reach)
                            .map(|(c, _)| *c),
                    );
                    coords.clear();
                    pending.clear();
                }
            }
            (h, kept)
        };
        let grid_points = evaluated;
        let kept_volume = kept.len() as f64 * (cell as f64 / (2.0 * b as f64)).powi(3);
        ensure!(
            !kept.is_empty(),
            "surface search: no point of [-{b}, {b}]³ can have UDF < {eps}: every grid cell's centre \
             is farther than {} (an empty reconstruction, or ε too small for it)",
            self.lipschitz * cell * 3f32.sqrt() / 2.0
        );

        // 2. Uniform candidates in the kept cells, accepted below eps.
        let mut drawn = evaluated;
        let mut rng = StdRng::seed_from_u64(seed);
        let mut points = Vec::with_capacity(n_points * 3);
        let mut coords = Vec::with_capacity(self.batch * 3);
        let mut candidate = Vec::with_capacity(3);
        // 3. After refinement: per kept cell, one bit per 4³ sub-cell that may hold a point
        // below eps (bit 16·x + 4·y + z).
        let mut open: Option<Vec<u64>> = None;
        let mut decided = self.refine_after == 0;
        while points.len() < n_points * 3 && drawn < self.max_evaluations {
            if !decided && drawn - grid_points >= self.refine_after {
                decided = true;
                // Refining costs up to 16 evaluations per kept cell and saves the evaluations
                // of the candidates still to come that fall in ruled-out sub-cells: worth it
                // when many more candidates are expected than that (always, when none was
                // accepted yet).
                let accepted = points.len() / 3;
                let left = self.max_evaluations - drawn;
                let expected = if accepted == 0 {
                    left
                } else {
                    ((n_points - accepted) as f64 * (drawn - grid_points) as f64 / accepted as f64)
                        .min(left as f64) as usize
                };
                if expected > 64 * kept.len() {
                    let masks = self.refine(&kept, cell, eps, &mut |c| call(c, &mut evaluated))?;
                    if masks.iter().all(|&m| m == 0) {
                        break;
                    }
                    open = Some(masks);
                }
            }
            let m = self.batch.min(self.max_evaluations - drawn);
            coords.clear();
            for _ in 0..m {
                let k = rng.random_range(0..kept.len());
                let c = kept[k];
                candidate.clear();
                let mut sub = 0u32;
                for v in c {
                    // `v + cell·U[0, 1)`, kept inside the cube against rounding.
                    let u = rng.random::<f32>();
                    candidate.push((v + cell * u).min(b));
                    sub = 4 * sub + ((u * 4.0) as u32).min(3);
                }
                if open.as_ref().is_none_or(|masks| masks[k] >> sub & 1 == 1) {
                    coords.extend_from_slice(&candidate);
                }
            }
            drawn += m;
            if coords.is_empty() {
                continue;
            }
            let values = call(&coords, &mut evaluated)?;
            for (p, &u) in coords.chunks_exact(3).zip(&values) {
                if u < eps && points.len() < n_points * 3 {
                    points.extend_from_slice(p);
                }
            }
        }
        ensure!(
            !points.is_empty(),
            "surface search: no point with UDF < {eps} among {drawn} candidates and grid points in \
             [-{b}, {b}]³ (an empty reconstruction, or ε too small for it)"
        );
        Ok(SurfaceSample {
            points,
            drawn,
            evaluated,
            kept_volume,
        })
    }
}

impl SurfaceSearch {
    /// Step 3 of [`SurfaceSearch`]: which of the 4³ sub-cells of each kept cell (lower
    /// corners `kept`, side `cell`) may hold a point below `eps`, as one bit each (bit
    /// 16·x + 4·y + z, the sub-cell's position along each axis). The 2³ halves are checked
    /// first, and only the quarters of a half that may hold one are evaluated.
    fn refine(
        &self,
        kept: &[[f32; 3]],
        cell: f32,
        eps: f32,
        call: &mut dyn FnMut(&[f32]) -> Result<Vec<f32>>,
    ) -> Result<Vec<u64>> {
        // A sub-cell is dropped when its centre's value is at least eps plus the bound on the
        // change over its half-diagonal (and a margin for where rounding puts a candidate).
        let reach = |side: f32| eps + self.lipschitz * (side * 3f32.sqrt() / 2.0) * 1.001 + 1e-6;
        let centres = |items: &[(usize, [u32; 3])], parts: f32| -> Vec<f32> {
            items
                .iter()
                .flat_map(|&(k, s)| {
                    let c = kept[k];
                    [0, 1, 2].map(|a| c[a] + cell * (2 * s[a] + 1) as f32 / (2.0 * parts))
                })
                .collect()
        };
        let mut evaluate = |items: &[(usize, [u32; 3])], parts: f32| -> Result<Vec<f32>> {
            let coords = centres(items, parts);
            let mut values = Vec::with_capacity(items.len());
            for chunk in coords.chunks(self.batch * 3) {
                values.extend(call(chunk)?);
            }
            Ok(values)
        };
        let cube = |n: u32| -> Vec<[u32; 3]> {
            (0..n * n * n)
                .map(|i| [i / (n * n), i / n % n, i % n])
                .collect()
        };
        let halves: Vec<(usize, [u32; 3])> = (0..kept.len())
            .flat_map(|k| cube(2).into_iter().map(move |s| (k, s)))
            .collect();
        let values = evaluate(&halves, 2.0)?;
        let quarters: Vec<(usize, [u32; 3])> = halves
            .iter()
            .zip(&values)
            .filter(|(_, &u)| u < reach(cell / 2.0))
            .flat_map(|(&(k, h), _)| {
                cube(2)
                    .into_iter()
                    .map(move |q| (k, [0, 1, 2].map(|a| 2 * h[a] + q[a])))
            })
            .collect();
        let values = evaluate(&quarters, 4.0)?;
        let mut masks = vec![0u64; kept.len()];
        for (&(k, q), &u) in quarters.iter().zip(&values) {
            if u < reach(cell / 4.0) {
                masks[k] |= 1 << (16 * q[0] + 4 * q[1] + q[2]);
            }
        }
        Ok(masks)
    }
}

/// Points of the surface a UDF describes: `n_points` points (fewer if the budget ran out)
/// uniform over where `eval` is below `eps`, found with [`SurfaceSearch::default`] (see
/// [`SurfaceSearch::run`]). This is how reconstructions become point sets for
/// [`chamfer_distance`].
pub fn surface_points_from_udf(
    eval: impl FnMut(&[f32]) -> Vec<f32>,
    n_points: usize,
    eps: f32,
    seed: u64,
) -> Result<Vec<f32>> {
    Ok(SurfaceSearch::default()
        .run(eval, n_points, eps, seed)?
        .points)
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    fn random_cloud(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..n * 3).map(|_| rng.random_range(-1.0f32..1.0)).collect()
    }

    fn sphere_cloud(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut out = Vec::with_capacity(n * 3);
        for _ in 0..n {
            let v: [f32; 3] = [
                rng.sample(StandardNormal),
                rng.sample(StandardNormal),
                rng.sample(StandardNormal),
            ];
            let r = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
            out.extend(v.map(|x| x / r));
        }
        out
    }

    fn brute_nearest(cloud: &[f32], q: &[f32]) -> f32 {
        cloud
            .chunks_exact(3)
            .map(|p| {
                let d = [p[0] - q[0], p[1] - q[1], p[2] - q[2]];
                (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt()
            })
            .fold(f32::INFINITY, f32::min)
    }

    #[test]
    fn udf_matches_brute_force() {
        let cloud = random_cloud(500, 7);
        let sampler = UdfSampler {
            clamp: 10.0,
            ..UdfSampler::default()
        };
        let (coords, udf) = sampler.sample(&cloud, 3000, 42).unwrap();
        assert_eq!((coords.len(), udf.len()), (9000, 3000));
        for (q, &u) in coords.chunks_exact(3).zip(&udf) {
            let want = brute_nearest(&cloud, q);
            assert!((u - want).abs() <= 1e-6, "{q:?}: kd {u} vs brute {want}");
        }
        // Clamped at the default 0.1; uniform queries last, inside the cube.
        let sampler = UdfSampler::default();
        let (coords, udf) = sampler.sample(&cloud, 1000, 42).unwrap();
        let n_uniform = sampler.uniform_count(1000);
        assert_eq!(n_uniform, 200);
        for (q, &u) in coords.chunks_exact(3).zip(&udf) {
            assert!((u - brute_nearest(&cloud, q).min(0.1)).abs() <= 1e-6);
        }
        assert!(coords[(1000 - n_uniform) * 3..]
            .iter()
            .all(|v| v.abs() <= 1.1));
        assert!(udf.contains(&0.1) && udf.iter().any(|&u| u < 0.02));
    }

    #[test]
    fn udf_handles_duplicates_and_tiny_clouds() {
        let one = [0.25f32, -0.5, 0.0];
        let index = CloudIndex::new(&one).unwrap();
        assert_eq!(index.nearest([0.25, -0.5, 1.0]), (0, 1.0));
        // Many identical points (k-d trees with buckets can choke on these).
        let mut dup: Vec<f32> = [0.1f32, 0.2, 0.3].repeat(300);
        dup.extend(random_cloud(50, 3));
        let index = CloudIndex::new(&dup).unwrap();
        let q = random_cloud(200, 4);
        for (q, d) in q.chunks_exact(3).zip(index.distances(&q).unwrap()) {
            assert!((d - brute_nearest(&dup, q)).abs() <= 1e-6);
        }
        assert!(CloudIndex::new(&[]).is_err());
        assert!(CloudIndex::new(&[1.0, 2.0]).is_err());
        assert!(CloudIndex::new(&[1.0, f32::NAN, 2.0]).is_err());
        assert!(index.distances(&[1.0]).is_err());
    }

    #[test]
    fn udf_sampling_is_deterministic() {
        let cloud = random_cloud(300, 9);
        let s = UdfSampler::default();
        let a = s.sample(&cloud, 777, 5).unwrap();
        let b = s.sample(&cloud, 777, 5).unwrap();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a.0), bits(&b.0));
        assert_eq!(bits(&a.1), bits(&b.1));
        let c = s.sample(&cloud, 777, 6).unwrap();
        assert_ne!(bits(&a.0), bits(&c.0));
        assert_ne!(mix_seed(1, 0), mix_seed(1, 1));
        assert_ne!(mix_seed(1, 0), mix_seed(2, 0));
        assert_eq!(mix_seed(3, 4), mix_seed(3, 4));
    }

    #[test]
    fn udf_sampler_config() {
        let s: UdfSampler = serde_json::from_str(r#"{"clamp": 0.2}"#).unwrap();
        assert_eq!(
            s,
            UdfSampler {
                clamp: 0.2,
                ..UdfSampler::default()
            }
        );
        let json = serde_json::to_string(&UdfSampler::default()).unwrap();
        assert_eq!(
            serde_json::from_str::<UdfSampler>(&json).unwrap(),
            UdfSampler::default()
        );
        let cloud = random_cloud(10, 1);
        for bad in [
            UdfSampler {
                sigmas: vec![],
                ..UdfSampler::default()
            },
            UdfSampler {
                sigmas: vec![0.0],
                ..UdfSampler::default()
            },
            UdfSampler {
                uniform_fraction: 1.5,
                ..UdfSampler::default()
            },
            UdfSampler {
                clamp: -1.0,
                ..UdfSampler::default()
            },
            UdfSampler {
                bound: f32::NAN,
                ..UdfSampler::default()
            },
        ] {
            assert!(bad.sample(&cloud, 10, 0).is_err(), "{bad:?}");
        }
        let all_uniform = UdfSampler {
            sigmas: vec![],
            uniform_fraction: 1.0,
            ..UdfSampler::default()
        };
        let (coords, _) = all_uniform.sample(&cloud, 10, 0).unwrap();
        assert!(coords.iter().all(|v| v.abs() <= 1.1));
        assert_eq!(
            UdfSampler::default().sample(&cloud, 0, 0).unwrap(),
            (vec![], vec![])
        );
    }

    #[test]
    fn chamfer_of_identical_and_shifted_sets() {
        let a = random_cloud(400, 11);
        assert_eq!(chamfer_distance(&a, &a).unwrap(), 0.0);
        // A shift much smaller than the spacing: every nearest neighbour is the shifted twin.
        let shift = 1e-3f32;
        let b: Vec<f32> = a
            .iter()
            .enumerate()
            .map(|(k, &v)| if k % 3 == 0 { v + shift } else { v })
            .collect();
        let d = chamfer_distance(&a, &b).unwrap();
        assert!((d - shift as f64).abs() < 1e-5, "{d}");
        // A translated single point: exactly the shift length.
        let d = chamfer_distance(&[0.0, 0.0, 0.0], &[0.3, 0.4, 0.0]).unwrap();
        assert!((d - 0.5).abs() < 1e-6, "{d}");
        // Asymmetric sets: the mean of both directions.
        let d = chamfer_distance(&[0.0, 0.0, 0.0], &[0.0, 0.0, 0.0, 1.0, 0.0, 0.0]).unwrap();
        assert!((d - 0.25).abs() < 1e-9, "{d}");
        let e = format!("{:#}", chamfer_distance(&a, &[]).unwrap_err());
        assert!(e.contains("second point set") && e.contains("empty"), "{e}");
    }

    /// The exact UDF of the unit sphere, optionally clamped.
    fn sphere_udf(clamp: f32) -> impl Fn(&[f32]) -> Vec<f32> + Copy {
        move |q: &[f32]| {
            q.chunks_exact(3)
                .map(|p| {
                    (((p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt() - 1.0).abs()).min(clamp)
                })
                .collect()
        }
    }

    #[test]
    fn surface_points_are_uniform_over_the_shell() {
        let eval = sphere_udf(0.1);
        let eps = 0.02;
        let search = SurfaceSearch::default();
        let found = search.run(eval, 2048, eps, 1).unwrap();
        assert_eq!(found.points.len(), 2048 * 3);
        assert!(eval(&found.points).iter().all(|&u| u < eps));
        // The pruning pass keeps a band around the sphere (|r − 1| < ε + 0.06: 19 % of the
        // cube) in which 1 in 4 candidates is accepted.
        assert!(found.kept_volume < 0.25, "{}", found.kept_volume);
        assert!(found.evaluated < 50_000, "{}", found.evaluated);
        // Uniform over the shell: |r − 1| is uniform in [0, ε), octants equally filled.
        let radial: f64 = eval(&found.points).iter().map(|&u| u as f64).sum::<f64>() / 2048.0;
        assert!((radial - 0.01).abs() < 0.001, "mean |r - 1| = {radial}");
        let mut octants = [0usize; 8];
        for p in found.points.chunks_exact(3) {
            octants
                [(p[0] > 0.0) as usize * 4 + (p[1] > 0.0) as usize * 2 + (p[2] > 0.0) as usize] +=
                1;
        }
        assert!(
            octants.iter().all(|&c| (196..=316).contains(&c)),
            "{octants:?}"
        );
        // As close to a dense sampling of the sphere as plain rejection sampling gets.
        let dense = sphere_cloud(8192, 2);
        let d = chamfer_distance(&dense, &found.points).unwrap();
        let plain = SurfaceSearch {
            grid: 0,
            ..SurfaceSearch::default()
        };
        let rejection = plain.run(eval, 2048, eps, 2).unwrap();
        assert!(rejection.evaluated > 35_000, "{}", rejection.evaluated);
        let d_rejection = chamfer_distance(&dense, &rejection.points).unwrap();
        assert!(
            (d - d_rejection).abs() < 0.05 * d_rejection,
            "{d} vs {d_rejection}"
        );
        // Reproducible.
        assert_eq!(search.run(eval, 2048, eps, 1).unwrap(), found);
        assert_eq!(
            surface_points_from_udf(eval, 2048, eps, 1).unwrap(),
            found.points
        );
        // A clamp below the pruning reach keeps every cell: slower, still correct.
        let low_clamp = search.run(sphere_udf(0.05), 512, eps, 1).unwrap();
        assert_eq!(low_clamp.kept_volume, 1.0);
        assert!(eval(&low_clamp.points).iter().all(|&u| u < eps));
    }

    /// Refinement (step 3) changes the cost, never the points: with a 1-Lipschitz UDF the
    /// refined search accepts exactly the candidates the plain one accepts, and a shell that
    /// never dips below ε is given up after a fraction of the budget with the same error.
    #[test]
    fn refinement_keeps_the_points_and_saves_evaluations() {
        let plain = SurfaceSearch {
            refine_after: 0,
            ..SurfaceSearch::default()
        };
        let refined = SurfaceSearch::default();
        // A thin shell (ε = 0.002 in a kept band of ±0.062 around a sphere of radius 0.4):
        // ~3 % of candidates accepted, so the search is refined after 2¹⁶ candidates and
        // goes on for ~2 × 10⁵ more.
        let small = |q: &[f32]| -> Vec<f32> {
            q.chunks_exact(3)
                .map(|p| (((p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt() - 0.4).abs()).min(0.1))
                .collect()
        };
        let a = plain.run(small, 8192, 0.002, 4).unwrap();
        let b = refined.run(small, 8192, 0.002, 4).unwrap();
        assert_eq!(a.points.len(), 8192 * 3);
        assert_eq!(b.points, a.points);
        assert_eq!((b.drawn, b.kept_volume), (a.drawn, a.kept_volume));
        assert!(a.drawn > 200_000 && a.evaluated == a.drawn, "{a:?}");
        assert!(
            b.evaluated * 10 < a.evaluated * 7,
            "{} vs {}",
            b.evaluated,
            a.evaluated
        );
        let eval = sphere_udf(0.1);
        // A fast search is never refined: same points, same evaluations.
        let c = plain.run(eval, 2048, 0.02, 1).unwrap();
        assert_eq!(refined.run(eval, 2048, 0.02, 1).unwrap(), c);
        // No point below ε anywhere (the UDF bottoms out at 0.03), yet cells are kept
        // (0.03 < ε + 0.06): the plain search evaluates its whole budget, the refined one
        // only the candidates in the sub-cells not ruled out (|r − 1| < 0.005).
        let lifted = |q: &[f32]| -> Vec<f32> { eval(q).iter().map(|u| u + 0.03).collect() };
        for search in [&plain, &refined] {
            let e = format!("{:#}", search.run(lifted, 2048, 0.02, 3).unwrap_err());
            assert!(e.contains("no point with UDF < 0.02"), "{e}");
        }
        let mut spent = [0usize; 2];
        for (search, spent) in [&plain, &refined].into_iter().zip(&mut spent) {
            let _ = search.run(
                |q| {
                    *spent += q.len() / 3;
                    lifted(q)
                },
                2048,
                0.02,
                3,
            );
        }
        assert_eq!(spent[0], 1 << 20);
        assert!(spent[1] < 400_000, "{spent:?} evaluations");
        // A UDF that stays far above ε in every sub-cell: given up right after refining.
        let far = |q: &[f32]| -> Vec<f32> { eval(q).iter().map(|u| u + 0.045).collect() };
        let mut spent = 0usize;
        let e = refined.run(
            |q| {
                spent += q.len() / 3;
                far(q)
            },
            2048,
            0.02,
            3,
        );
        assert!(e.is_err());
        assert!(spent < 200_000, "{spent} evaluations");
    }

    #[test]
    fn surface_search_errors_and_budget() {
        let far = |q: &[f32]| vec![1.0; q.len() / 3];
        let e = format!(
            "{:#}",
            surface_points_from_udf(far, 10, 0.01, 0).unwrap_err()
        );
        assert!(e.contains("no point of") && e.contains("UDF < 0.01"), "{e}");
        let plain = SurfaceSearch {
            grid: 0,
            max_evaluations: 50_000,
            ..SurfaceSearch::default()
        };
        let e = format!("{:#}", plain.run(far, 10, 0.01, 0).unwrap_err());
        assert!(
            e.contains("no point with UDF < 0.01 among 50000 candidates"),
            "{e}"
        );
        let e = format!(
            "{:#}",
            surface_points_from_udf(|_| vec![0.0], 10, 0.01, 0).unwrap_err()
        );
        assert!(e.contains("returned 1 values"), "{e}");
        let zero = |q: &[f32]| vec![0.0; q.len() / 3];
        assert!(surface_points_from_udf(zero, 0, 0.01, 0).is_err());
        assert!(surface_points_from_udf(zero, 1, 0.0, 0).is_err());
        assert!(surface_points_from_udf(|q| vec![f32::NAN; q.len() / 3], 1, 0.1, 0).is_err());
        for bad in [
            SurfaceSearch {
                max_evaluations: 32 * 32 * 32,
                ..SurfaceSearch::default()
            },
            SurfaceSearch {
                lipschitz: 0.0,
                ..SurfaceSearch::default()
            },
            SurfaceSearch {
                batch: 0,
                ..SurfaceSearch::default()
            },
            SurfaceSearch {
                bound: -1.0,
                ..SurfaceSearch::default()
            },
        ] {
            assert!(bad.run(zero, 1, 0.1, 0).is_err(), "{bad:?}");
        }
        // A budget too small for n_points: fewer points, no error.
        let search = SurfaceSearch {
            grid: 0,
            batch: 100,
            max_evaluations: 300,
            ..SurfaceSearch::default()
        };
        let found = search
            .run(
                |q| q.chunks_exact(3).map(|p| p[0].abs()).collect(),
                10_000,
                0.05,
                0,
            )
            .unwrap();
        assert_eq!(found.evaluated, 300);
        assert!(!found.points.is_empty() && found.points.len() < 300 * 3);
        assert!(found.points.chunks_exact(3).all(|p| p[0].abs() < 0.05));
    }

    /// UDF sampling and Chamfer on real ModelNet10 test shapes when the shared data folder is
    /// present (not in CI): `$HYPERINR_MODELNET40`, or `../shared/data/modelnet40` beside the
    /// workspace.
    #[test]
    fn real_modelnet40_if_present() {
        use hyperinr_data::clouds::{load_point_clouds, local_modelnet40, MODELNET10_CLASSES};
        use hyperinr_data::Split;
        let Some(root) = local_modelnet40() else {
            return;
        };
        let test = load_point_clouds(&root, Split::Test, Some(&MODELNET10_CLASSES)).unwrap();
        // Two shapes of different classes are far apart compared with the UDF clamp.
        let d = chamfer_distance(test.cloud(0), test.cloud(test.len() - 1)).unwrap();
        assert!(d > 0.1, "{d}");
        let (coords, udf) = UdfSampler::default()
            .sample(test.cloud(0), 4096, 0)
            .unwrap();
        assert_eq!((coords.len(), udf.len()), (4096 * 3, 4096));
    }
}

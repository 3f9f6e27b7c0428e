//! `hyperinr bench-surface`: the Chamfer distance's surface search as `eval` ran it before
//! issue 20 (one point at a time through `eval_siren`, no refinement of the pruning grid)
//! side by side with today's (`eval_siren_lanes`, refinement), on the same stored latents,
//! one core each, in one process.
//!
//! The search needs only the model and a latent, not the dataset: the latents are the file's
//! stored ones, each searched with the seed `eval` gives it (its dataset index). Both paths
//! must return the same points bit for bit (or both fail to find a surface below ε): the
//! report says so, and the bench fails if not.

use crate::eval::stored::StoredLatents;
use crate::eval::{search_surface, SirenPath, CHAMFER_POINTS};
use crate::geometry::SurfaceSearch;
use anyhow::{bail, Result};
use hyperinr_runtime::Model;
use serde::Serialize;
use std::time::Instant;

/// How one path did on the benchmarked latents.
#[derive(Debug, Default, Serialize)]
pub struct PathTotals {
    /// Wall-clock seconds, on the calling thread only.
    pub seconds: f64,
    /// UDF evaluations, pruning grid included.
    pub evaluations: usize,
    /// Latents whose reconstruction has no point below ε within the budget.
    pub failures: usize,
}

/// What `hyperinr bench-surface` prints.
#[derive(Debug, Serialize)]
pub struct SurfaceBenchReport {
    /// Latents searched (the first stored ones).
    pub shapes: usize,
    /// The surface threshold.
    pub eps: f32,
    /// Points per surface.
    pub points: usize,
    /// Before issue 20: scalar `eval_siren`, `refine_after` 0.
    pub before: PathTotals,
    /// Today's `eval`: 32-lane `eval_siren_lanes`, refinement after 2¹⁶ candidates.
    pub now: PathTotals,
    /// `before.seconds / now.seconds`.
    pub speedup: f64,
    /// Every latent gave the same points (or the same failure) on both paths.
    pub same_points: bool,
}

/// Runs both paths on the first `shapes` stored latents of `model` (all when 0).
pub fn bench_surface_search(
    model: &Model<'_>,
    shapes: usize,
    eps: f32,
) -> Result<SurfaceBenchReport> {
    if model.sizes().in_dim != 3 {
        bail!(
            "bench-surface: the model is not a shape model (its SIREN takes {} coordinates, not 3)",
            model.sizes().in_dim
        );
    }
    let stored = StoredLatents::read(model, shapes)?;
    if stored.is_empty() {
        bail!("bench-surface: the model file stores no latents");
    }
    let before_search = SurfaceSearch {
        refine_after: 0,
        ..SurfaceSearch::default()
    };
    let now_search = SurfaceSearch::default();
    let (mut before, mut now) = (PathTotals::default(), PathTotals::default());
    let mut same_points = true;
    for i in 0..stored.len() {
        let seed = stored.dataset_indices[i] as u64;
        let run = |search: &SurfaceSearch, path: SirenPath, totals: &mut PathTotals| {
            let t = Instant::now();
            let (points, evaluations) = search_surface(
                model,
                stored.latent(i),
                search,
                path,
                CHAMFER_POINTS,
                eps,
                seed,
            )?;
            totals.seconds += t.elapsed().as_secs_f64();
            totals.evaluations += evaluations;
            totals.failures += usize::from(points.is_err());
            anyhow::Ok(points.ok())
        };
        let a = run(&before_search, SirenPath::Scalar, &mut before)?;
        let b = run(&now_search, SirenPath::Lanes, &mut now)?;
        let bits = |p: &Option<Vec<f32>>| {
            p.as_ref()
                .map(|v| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>())
        };
        same_points &= bits(&a) == bits(&b);
    }
    let speedup = before.seconds / now.seconds.max(1e-9);
    Ok(SurfaceBenchReport {
        shapes: stored.len(),
        eps,
        points: CHAMFER_POINTS,
        before,
        now,
        speedup,
        same_points,
    })
}

//! Evaluation of a `.hinr` model with the runtime: classification accuracy, and the quality
//! of runtime reconstructions (PSNR for images; Chamfer distance and the UDF's RMSE at fixed
//! probe points for shapes), on stored latents or on freshly fitted ones.

pub mod baseline;
pub mod bench;
pub mod runtime_fit;
pub mod stored;
pub mod surface_bench;

use crate::data::samples::{cube_probes, ShapeSet};
use crate::geometry::{chamfer_distance, CloudIndex, SurfaceSearch};
use anyhow::{anyhow, Result};
use hyperinr_data::fashion::ImageSet;
use hyperinr_runtime::Model;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Points extracted from each reconstructed shape for the Chamfer distance.
pub const CHAMFER_POINTS: usize = 2048;

/// Fixed probe points ([`cube_probes`]) at which shape reconstructions are compared with the
/// true UDF (`udf_rmse`) and with each other (`hyperinr plot`'s neighbour check).
pub const UDF_PROBES: usize = 4096;

/// What `hyperinr eval --json` prints.
#[derive(Clone, Debug, serde::Serialize)]
pub struct EvalReport {
    /// Fraction of correctly classified samples.
    pub accuracy: f64,
    /// Samples evaluated.
    pub samples: usize,
    /// Images: PSNR over all pixels of all evaluated images, reconstructions clamped to [0, 1].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub psnr_db: Option<f64>,
    /// Shapes: mean over shapes of the symmetric Chamfer distance (unit-sphere units, not
    /// squared) between the input cloud and [`CHAMFER_POINTS`] points where the runtime's
    /// reconstructed UDF is below `chamfer_eps`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chamfer: Option<f64>,
    /// Shapes: the ε of the surface extraction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chamfer_eps: Option<f64>,
    /// Shapes: the first this many shapes had their Chamfer distance measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chamfer_samples: Option<usize>,
    /// Shapes: reconstructions with no point below ε (left out of `chamfer`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chamfer_failures: Option<usize>,
    /// Shapes: RMSE over all evaluated shapes and all [`UDF_PROBES`] probe points between the
    /// reconstructed UDF, clamped to `[0, clamp]`, and the true distance to the input cloud,
    /// clamped at `clamp` (the training target; unit-sphere units).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub udf_rmse: Option<f64>,
    /// Whether latents were fitted now (φ frozen) rather than read from the model.
    pub fitted: bool,
    /// Wall-clock seconds of the measurement (classification and reconstructions, after the
    /// data and the latents were ready).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
}

/// Per-sample runtime results.
pub struct SampleResult {
    /// Predicted class.
    pub class: usize,
    /// Sum of squared pixel errors.
    pub sq_err: f64,
    /// Reconstruction, clamped to [0, 1].
    pub pixels: Vec<f32>,
}

/// Runs decode + render + classify for `latent` against `image` with the runtime.
pub fn run_sample(model: &Model<'_>, latent: &[f32], image: &[u8]) -> Result<SampleResult> {
    let s = model.sizes();
    let mut w = vec![0.0f32; s.weights];
    let mut scratch = vec![0.0f32; s.scratch];
    let mut logits = vec![0.0f32; s.logits];
    model.decode_weights(latent, &mut w, &mut scratch)?;
    let mut px = vec![0.0f32; image.len() * s.out_dim];
    model.render_image(&w, &mut px, &mut scratch)?;
    let class = model.classify(latent, &mut logits, &mut scratch)?;
    let mut sq = 0.0f64;
    for (p, &t) in px.iter_mut().zip(image) {
        *p = p.clamp(0.0, 1.0);
        let d = *p as f64 - t as f64 / 255.0;
        sq += d * d;
    }
    Ok(SampleResult {
        class,
        sq_err: sq,
        pixels: px,
    })
}

/// Evaluates `latents` (`len × dim`, already int8-dequantised) against `images` in
/// parallel over the CPU cores.
pub fn evaluate(
    model: &Model<'_>,
    latents: &[f32],
    images: &ImageSet,
    fitted: bool,
) -> Result<EvalReport> {
    let dim = model.sizes().latent;
    let n = images.len();
    let threads = std::thread::available_parallelism()
        .map(|v| v.get())
        .unwrap_or(1);
    let chunk = n.div_ceil(threads).max(1);
    let results: Vec<Result<(usize, f64)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .step_by(chunk)
            .map(|start| {
                scope.spawn(move || -> Result<(usize, f64)> {
                    let (mut hits, mut sq) = (0usize, 0.0f64);
                    for i in start..(start + chunk).min(n) {
                        let r =
                            run_sample(model, &latents[i * dim..(i + 1) * dim], images.image(i))?;
                        hits += (r.class == images.labels[i] as usize) as usize;
                        sq += r.sq_err;
                    }
                    Ok((hits, sq))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(anyhow!("worker panicked"))))
            .collect()
    });
    let (mut hits, mut sq) = (0usize, 0.0f64);
    for r in results {
        let (h, s) = r?;
        hits += h;
        sq += s;
    }
    let mse = sq / (n.max(1) * images.pixel_count()) as f64;
    Ok(EvalReport {
        accuracy: hits as f64 / n.max(1) as f64,
        samples: n,
        psnr_db: Some(crate::train::psnr(mse)),
        chamfer: None,
        chamfer_eps: None,
        chamfer_failures: None,
        chamfer_samples: None,
        udf_rmse: None,
        fitted,
        seconds: None,
    })
}

/// The runtime's class for `latent`.
pub fn classify_latent(model: &Model<'_>, latent: &[f32]) -> Result<usize> {
    let s = model.sizes();
    let (mut logits, mut scratch) = (vec![0.0f32; s.logits], vec![0.0f32; s.scratch]);
    model
        .classify(latent, &mut logits, &mut scratch)
        .map_err(anyhow::Error::from)
}

/// Points where the runtime's reconstruction of `latent` has UDF below `eps`
/// (uniform over that shell, up to `n_points`).
pub fn reconstruct_surface(
    model: &Model<'_>,
    latent: &[f32],
    n_points: usize,
    eps: f32,
    seed: u64,
) -> Result<Vec<f32>> {
    // The runtime's values, many points at a time (`eval_siren_lanes`): the bits
    // `eval_siren` would give, in a fraction of the time.
    let (sample, _) = search_surface(
        model,
        latent,
        &SurfaceSearch::default(),
        SirenPath::Lanes,
        n_points,
        eps,
        seed,
    )?;
    sample
}

/// How a surface search evaluates the SIREN: both give the same bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SirenPath {
    /// `eval_siren`, one point at a time (the path before issue 20).
    Scalar,
    /// `eval_siren_lanes`, 32 points side by side.
    Lanes,
}

/// Runs `search` on the reconstruction of `latent`; the outer error is the runtime's, the
/// inner one the search's (no point below `eps` within the budget). Also returns the UDF
/// evaluations spent.
pub fn search_surface(
    model: &Model<'_>,
    latent: &[f32],
    search: &SurfaceSearch,
    path: SirenPath,
    n_points: usize,
    eps: f32,
    seed: u64,
) -> Result<(Result<Vec<f32>>, usize)> {
    let s = model.sizes();
    let mut w = vec![0.0f32; s.weights];
    let mut scratch = vec![0.0f32; s.scratch.max(model.lanes_scratch_len())];
    model.decode_weights(latent, &mut w, &mut scratch)?;
    let mut failed = None;
    let mut evaluations = 0usize;
    let sample = search.run(
        |coords| {
            evaluations += coords.len() / 3;
            let mut out = vec![0.0f32; coords.len() / 3 * s.out_dim];
            let r = match path {
                SirenPath::Lanes => model.eval_siren_lanes(&w, coords, &mut out, &mut scratch),
                SirenPath::Scalar => model.eval_siren(&w, coords, &mut out, &mut scratch),
            };
            if let Err(e) = r {
                failed = Some(e);
            }
            out
        },
        n_points,
        eps,
        seed,
    );
    if let Some(e) = failed {
        return Err(e.into());
    }
    Ok((sample.map(|s| s.points), evaluations))
}

/// The training target at `probes` (`M × 3`, point-major): the distance from each probe to
/// the nearest point of `cloud`, clamped at `clamp`.
pub fn true_udf_at(cloud: &[f32], probes: &[f32], clamp: f32) -> Result<Vec<f32>> {
    let index = CloudIndex::new(cloud)?;
    Ok(probes
        .chunks_exact(3)
        .map(|q| index.distance([q[0], q[1], q[2]]).min(clamp))
        .collect())
}

/// The runtime's reconstructed UDF of `latent` at `probes` (`M × 3`, point-major), clamped to
/// `[0, clamp]`.
pub fn model_udf_at(
    model: &Model<'_>,
    latent: &[f32],
    probes: &[f32],
    clamp: f32,
) -> Result<Vec<f32>> {
    let s = model.sizes();
    let mut w = vec![0.0f32; s.weights];
    let mut scratch = vec![0.0f32; s.scratch];
    model.decode_weights(latent, &mut w, &mut scratch)?;
    let mut out = vec![0.0f32; probes.len() / 3 * s.out_dim];
    let mut lanes = vec![0.0f32; model.lanes_scratch_len()];
    model.eval_siren_lanes(&w, probes, &mut out, &mut lanes)?;
    Ok(out.into_iter().map(|v| v.clamp(0.0, clamp)).collect())
}

/// Sum of squared differences.
fn sq_diff(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (*x as f64 - *y as f64).powi(2))
        .sum()
}

/// What [`evaluate_shapes`] measures on one shape.
struct ShapeResult {
    hit: bool,
    /// Sum of squared UDF errors at the probes.
    udf_sq: f64,
    /// `None`: not measured (past the Chamfer limit); `Some(None)`: no surface below ε.
    chamfer: Option<Option<f64>>,
}

/// Evaluates `latents` (`len × dim`, already int8-dequantised) against `shapes`: accuracy
/// and the RMSE of the clamped UDF at [`UDF_PROBES`] fixed points over all of them, and the
/// Chamfer distance between each of the first `chamfer_limit`
/// input clouds (all when 0) and its runtime reconstruction's surface points (UDF < `eps`),
/// in parallel over the CPU cores, with a progress bar on stderr.
///
/// Shapes are handed out one at a time to whichever core is free (a reconstruction whose
/// surface search runs out of budget costs ~25 ordinary ones), and the sums are taken in
/// shape order, so the figures do not depend on the number of cores.
pub fn evaluate_shapes(
    model: &Model<'_>,
    latents: &[f32],
    shapes: &ShapeSet,
    fitted: bool,
    eps: f32,
    chamfer_limit: usize,
) -> Result<EvalReport> {
    let started = std::time::Instant::now();
    let chamfer_n = if chamfer_limit == 0 {
        shapes.clouds.len()
    } else {
        chamfer_limit.min(shapes.clouds.len())
    };
    let dim = model.sizes().latent;
    let n = shapes.clouds.len();
    let threads = std::thread::available_parallelism()
        .map(|v| v.get())
        .unwrap_or(1)
        .min(n.max(1));
    let probes = &cube_probes(UDF_PROBES);
    let clamp = shapes.udf.clamp;
    let one = |i: usize| -> Result<ShapeResult> {
        let z = &latents[i * dim..(i + 1) * dim];
        let seed = shapes.clouds.indices[i] as u64;
        let hit = classify_latent(model, z)? == shapes.clouds.labels[i] as usize;
        let truth = true_udf_at(shapes.clouds.cloud(i), probes, clamp)
            .map_err(|e| anyhow!("{}: {e}", shapes.clouds.paths[i].display()))?;
        let udf_sq = sq_diff(&model_udf_at(model, z, probes, clamp)?, &truth);
        // No surface below ε: left out of the Chamfer mean, counted; a runtime error is an
        // error, not a failure.
        let chamfer = if i < chamfer_n {
            let search = SurfaceSearch::default();
            let (points, _) = search_surface(
                model,
                z,
                &search,
                SirenPath::Lanes,
                CHAMFER_POINTS,
                eps,
                seed,
            )?;
            Some(match points {
                Ok(points) => Some(chamfer_distance(shapes.clouds.cloud(i), &points)?),
                Err(_) => None,
            })
        } else {
            None
        };
        Ok(ShapeResult {
            hit,
            udf_sq,
            chamfer,
        })
    };
    let bar = crate::train::progress::bar(n as u64, false);
    bar.set_message(format!("shapes (Chamfer on the first {chamfer_n})"));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<ShapeResult>>> = Mutex::new((0..n).map(|_| None).collect());
    let outcome: Vec<Result<()>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> Result<()> {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            return Ok(());
                        }
                        let r = one(i)?;
                        results.lock().map_err(|_| anyhow!("a worker panicked"))?[i] = Some(r);
                        bar.inc(1);
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(anyhow!("worker panicked"))))
            .collect()
    });
    bar.finish_and_clear();
    for r in outcome {
        r?;
    }
    let results = results
        .into_inner()
        .map_err(|_| anyhow!("a worker panicked"))?;
    let (mut hits, mut sum, mut ok, mut failed) = (0usize, 0.0f64, 0usize, 0usize);
    let mut udf_sq = 0.0f64;
    for r in results {
        let r = r.ok_or_else(|| anyhow!("a shape was not evaluated"))?;
        hits += r.hit as usize;
        udf_sq += r.udf_sq;
        match r.chamfer {
            Some(Some(d)) => {
                sum += d;
                ok += 1;
            }
            Some(None) => failed += 1,
            None => {}
        }
    }
    Ok(EvalReport {
        accuracy: hits as f64 / n.max(1) as f64,
        samples: n,
        psnr_db: None,
        chamfer: Some(if ok > 0 { sum / ok as f64 } else { f64::NAN }),
        chamfer_eps: Some(eps as f64),
        chamfer_failures: Some(failed),
        chamfer_samples: Some(chamfer_n),
        udf_rmse: Some((udf_sq / (n.max(1) * UDF_PROBES) as f64).sqrt()),
        fitted,
        seconds: Some(started.elapsed().as_secs_f64()),
    })
}

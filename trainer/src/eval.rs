//! Evaluation of a `.hinr` model with the runtime: classification accuracy and PSNR of
//! runtime reconstructions, on stored latents or on freshly fitted ones.

use crate::data::ImageSet;
use anyhow::{anyhow, Result};
use hyperinr_runtime::Model;

/// What `hyperinr eval --json` prints.
#[derive(Clone, Debug, serde::Serialize)]
pub struct EvalReport {
    /// Fraction of correctly classified samples.
    pub accuracy: f64,
    /// Samples evaluated.
    pub samples: usize,
    /// PSNR over all pixels of all evaluated images, reconstructions clamped to [0, 1].
    pub psnr_db: f64,
    /// Whether latents were fitted now (φ frozen) rather than read from the model.
    pub fitted: bool,
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
    model
        .decode_weights(latent, &mut w, &mut scratch)
        .map_err(|e| anyhow!("{e}"))?;
    let mut px = vec![0.0f32; image.len() * s.out_dim];
    model
        .render_image(&w, &mut px, &mut scratch)
        .map_err(|e| anyhow!("{e}"))?;
    let class = model
        .classify(latent, &mut logits, &mut scratch)
        .map_err(|e| anyhow!("{e}"))?;
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
        psnr_db: crate::training::psnr(mse),
        fitted,
    })
}

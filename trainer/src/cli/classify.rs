//! `hyperinr classify`: a picture or point cloud of the user's own.

use super::*;
use crate::data::samples::{Samples, ShapeSet};
use crate::eval::run_sample;
use anyhow::{anyhow, Result};
use hyperinr_data::fashion::ImageSet;
use hyperinr_runtime::Model;
use std::path::PathBuf;

#[derive(clap::Args, Clone)]
pub struct ClassifyArgs {
    #[arg(long)]
    pub model: PathBuf,
    /// Image models: a PNG of any size (converted to the model's size, grayscale).
    /// Shape models: an `.npy` `(N, 3)` float32 point cloud (normalised to the unit sphere).
    #[arg(long)]
    pub input: PathBuf,
    /// Invert intensities (for dark objects on a light background).
    #[arg(long)]
    pub invert: bool,
    /// Adam steps of the latent's fit (default: the model file's fit settings).
    #[arg(long)]
    pub fit_steps: Option<usize>,
}

pub fn classify(a: ClassifyArgs) -> Result<()> {
    let bytes = crate::export::read_model_file(&a.model)?;
    let model = Model::from_bytes(&bytes).map_err(|e| anyhow!("{}: {e}", a.model.display()))?;
    let samples = match model.config().input {
        hyperinr_shared::InputKind::Image { width, height } => {
            let (w, h) = (width as usize, height as usize);
            let gray = crate::viz::read_png_gray(&a.input, w, h)?;
            let pixels: Vec<u8> = gray
                .iter()
                .map(|&v| {
                    ((if a.invert { 1.0 - v } else { v }) * 255.0)
                        .round()
                        .clamp(0.0, 255.0) as u8
                })
                .collect();
            Samples::Images(ImageSet {
                width: w,
                height: h,
                pixels,
                labels: vec![0],
                indices: vec![0],
            })
        }
        hyperinr_shared::InputKind::PointCloud { .. } => {
            let mut cloud = hyperinr_data::npy::read_npy_points(&a.input)?;
            hyperinr_data::clouds::normalize_unit_sphere(&mut cloud);
            let set = hyperinr_data::clouds::PointCloudSet {
                clouds: vec![cloud],
                labels: vec![0],
                class_names: vec![],
                paths: vec![a.input.clone()],
                indices: vec![0],
            };
            Samples::Shapes(ShapeSet::new(set, model_udf(&model), 0)?)
        }
    };
    let device = Default::default();
    let z = fit_for_model::<crate::backend::CpuBackend>(
        &device,
        &model,
        &samples,
        &fit_config_for_model(&model, a.fit_steps, None)?,
        true,
    )?;
    let s = model.sizes();
    let (mut logits, mut scratch) = (vec![0.0; s.logits], vec![0.0; s.scratch]);
    let class = model
        .classify(&z, &mut logits, &mut scratch)
        .map_err(|e| anyhow!("{e}"))?;
    let max = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = logits.iter().map(|l| (l - max).exp()).sum();
    let conf = 1.0 / sum;
    let name = model.config().class_name(class).unwrap_or("?");
    let quality = match &samples {
        Samples::Images(images) => {
            let r = run_sample(&model, &z, &images.pixels)?;
            format!(
                "reconstruction PSNR {:.2} dB",
                crate::train::psnr(r.sq_err / images.pixels.len() as f64)
            )
        }
        Samples::Shapes(shapes) => {
            let eps = 0.02;
            match crate::eval::reconstruct_surface(&model, &z, crate::eval::CHAMFER_POINTS, eps, 0)
            {
                Ok(points) => format!(
                    "reconstruction Chamfer {:.4} (ε {eps})",
                    crate::geometry::chamfer_distance(shapes.clouds.cloud(0), &points)?
                ),
                Err(e) => format!("no reconstructed surface: {e}"),
            }
        }
    };
    println!("{name} (class {class}), confidence {conf:.3}, {quality}");
    Ok(())
}

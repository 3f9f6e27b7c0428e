//! `hyperinr classify`: a picture or point cloud of the user's own.

use super::*;
use crate::data::picture::{prepare_file, Polarity};
use crate::data::samples::{Samples, ShapeSet};
use crate::eval::run_sample;
use crate::eval::runtime_fit::{fit_with_runtime, settings_for, FitEngine};
use anyhow::{bail, Result};
use hyperinr_data::fashion::ImageSet;
use hyperinr_runtime::Model;
use std::path::PathBuf;

#[derive(clap::Args, Clone)]
pub struct ClassifyArgs {
    #[arg(long)]
    pub model: PathBuf,
    /// Image models: a picture of any size (PNG, JPEG, BMP, GIF or WebP), prepared the way
    /// FashionMNIST's product photos were: trimmed to the object, its longer side scaled to
    /// the frame, centred, the object light on black, grayscale.
    /// Shape models: an `.npy` `(N, 3)` float32 point cloud (normalised to the unit sphere).
    #[arg(long)]
    pub input: PathBuf,
    /// Image models: which way round object and background are. `auto` reads it from the
    /// picture's border (a light border means a dark object, as in a product photo).
    #[arg(long, value_enum, default_value_t = Polarity::Auto)]
    pub polarity: Polarity,
    /// The same as `--polarity dark-object` (the former `--invert`).
    #[arg(long, hide = true, conflicts_with = "polarity")]
    pub invert: bool,
    /// Adam steps of the latent's fit (default: the model file's fit settings).
    #[arg(long)]
    pub fit_steps: Option<usize>,
    /// Which fitter: `burn` (batched, CPU) or `runtime` (the device's fitter, its bits).
    #[arg(long, value_enum, default_value_t = FitEngine::Burn)]
    pub engine: FitEngine,
}

pub fn classify(a: ClassifyArgs) -> Result<()> {
    let bytes = crate::export::read_model_file(&a.model)?;
    let model = Model::from_bytes(&bytes).with_context(|| a.model.display().to_string())?;
    let samples = match model.config().input {
        hyperinr_shared::InputKind::Image { width, height } => {
            if width != height {
                bail!(
                    "{}: the model's images are {width}×{height}; `classify --input` prepares \
                     pictures for square frames only",
                    a.model.display()
                );
            }
            let polarity = if a.invert {
                Polarity::DarkObject
            } else {
                a.polarity
            };
            let picture = prepare_file(&a.input, width, polarity)?;
            eprintln!("{}", picture.summary());
            let side = width as usize;
            Samples::Images(ImageSet {
                width: side,
                height: side,
                pixels: picture.pixels,
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
    let z = match a.engine {
        FitEngine::Burn => fit_for_model::<crate::backend::CpuBackend>(
            &Default::default(),
            &model,
            &samples,
            &fit_config_for_model(&model, a.fit_steps, None)?,
            true,
        )?,
        FitEngine::Runtime => {
            let settings = settings_for(&model, a.fit_steps, None)?;
            fit_with_runtime(&model, &samples, &settings, true)?
        }
    };
    let s = model.sizes();
    let (mut logits, mut scratch) = (vec![0.0; s.logits], vec![0.0; s.scratch]);
    let class = model.classify(&z, &mut logits, &mut scratch)?;
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

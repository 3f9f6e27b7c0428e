//! `hyperinr render`: originals beside runtime reconstructions.

use super::*;
use crate::data::samples::{load_samples, DatasetKind, Samples};
use crate::eval::run_sample;
use anyhow::{anyhow, bail, Result};
use hyperinr_data::Split;
use hyperinr_runtime::Model;
use std::path::PathBuf;

#[derive(clap::Args, Clone)]
pub struct RenderArgs {
    #[arg(long)]
    pub model: PathBuf,
    /// The dataset folder (FashionMNIST default: /usr/share/datasets/fashion-mnist).
    #[arg(long)]
    pub data: Option<PathBuf>,
    #[arg(long)]
    pub out: PathBuf,
    /// Number of stored latents to show (default: 24 images, 6 shapes).
    #[arg(long)]
    pub count: Option<usize>,
}

pub fn render(a: RenderArgs) -> Result<()> {
    let bytes = crate::export::read_model_file(&a.model)?;
    let model = Model::from_bytes(&bytes).map_err(|e| anyhow!("{}: {e}", a.model.display()))?;
    let kind = DatasetKind::from_name(model.config().dataset)
        .map_err(|e| anyhow!("{}: {e}", a.model.display()))?;
    let split = match model.file().latents.split {
        hyperinr_shared::Split::Train => Split::Train,
        hyperinr_shared::Split::Validation => Split::Val,
        hyperinr_shared::Split::Test => Split::Test,
    };
    let data = data_dir(kind, &a.data)?;
    let samples = load_samples(kind, &data, split, 0, &model_udf(&model), 0)?;
    let count = a
        .count
        .unwrap_or(if kind.is_shapes() { 6 } else { 24 })
        .min(model.latent_count());
    let mut z = vec![0.0; model.sizes().latent];
    let mut picked = Vec::new();
    let mut latents = Vec::new();
    for i in 0..count {
        let info = model.stored_latent(i, &mut z).map_err(|e| anyhow!("{e}"))?;
        let idx = info.dataset_index as usize;
        if idx >= samples.len() {
            bail!(
                "{}: stored latent {i} refers to sample {idx}, {} has {}",
                a.model.display(),
                data.display(),
                samples.len()
            );
        }
        picked.push(idx);
        latents.push(z.clone());
    }
    match samples.select(&picked)? {
        Samples::Images(images) => {
            let mut pairs = Vec::new();
            for (k, z) in latents.iter().enumerate() {
                let img = images.image(k);
                let r = run_sample(&model, z, img)?;
                pairs.push((img.iter().map(|&p| p as f32 / 255.0).collect(), r.pixels));
            }
            let (w, h, px) = crate::viz::pair_grid(&pairs, images.width, images.height, 6, 3);
            crate::viz::write_gray_png(&a.out, w, h, &px)?;
        }
        Samples::Shapes(shapes) => {
            let mut rows = Vec::new();
            for (k, z) in latents.iter().enumerate() {
                let points = crate::eval::reconstruct_surface(
                    &model,
                    z,
                    crate::eval::CHAMFER_POINTS,
                    0.02,
                    k as u64,
                )?;
                rows.push((shapes.clouds.cloud(k).to_vec(), points));
            }
            crate::viz::write_shape_grid(&a.out, &rows)?;
        }
    }
    eprintln!(
        "wrote {} ({count} originals | runtime reconstructions)",
        a.out.display()
    );
    Ok(())
}

//! `hyperinr render`: originals beside runtime reconstructions.

use super::*;
use crate::data::samples::{load_samples, DatasetKind, Samples};
use crate::eval::run_sample;
use crate::eval::stored::{stored_split, StoredLatents};
use crate::viz::{projection, ImageGrid, Tile, PANEL};
use anyhow::{anyhow, Context, Result};
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
    let model = Model::from_bytes(&bytes).with_context(|| a.model.display().to_string())?;
    let kind = DatasetKind::from_name(model.config().dataset)
        .map_err(|e| anyhow!("{}: {e}", a.model.display()))?;
    let split = stored_split(&model);
    let data = data_dir(kind, &a.data)?;
    let samples = load_samples(kind, &data, split, 0, &model_udf(&model), 0)?;
    let count = a
        .count
        .unwrap_or(if kind.is_shapes() { 6 } else { 24 })
        .min(model.latent_count());
    let stored = StoredLatents::read(&model, count.max(1))?;
    stored.check_indices(&a.model, &data, samples.len())?;
    let latents: Vec<&[f32]> = (0..stored.len()).map(|k| stored.latent(k)).collect();
    let class = |label: u8| {
        let name = model.config().class_name(label as usize);
        name.unwrap_or("?").to_string()
    };
    let split_name = format!("{split:?}").to_lowercase();
    let (kind, rows, captions, groups, row_captions, scale, group) =
        match samples.select(&stored.dataset_indices)? {
            Samples::Images(images) => {
                // Rows of PER_ROW (original, reconstruction) pairs; each original captioned with
                // its class.
                const PER_ROW: usize = 6;
                let (w, h) = (images.width, images.height);
                let mut tiles = Vec::new();
                for (k, z) in latents.iter().enumerate() {
                    let img = images.image(k);
                    let r = run_sample(&model, z, img)?;
                    let label = images.labels[k];
                    tiles.push(Tile::gray(img.to_vec(), w, h).with_caption(class(label)));
                    tiles.push(Tile::unit(&r.pixels, w, h));
                }
                let rows: Vec<Vec<Tile>> = tiles.chunks(2 * PER_ROW).map(<[_]>::to_vec).collect();
                let columns = (2 * PER_ROW).min(tiles.len());
                let captions: Vec<String> = (0..columns)
                    .map(|c| ["original", "reconstruction"][c % 2].to_string())
                    .collect();
                let kind = format!("{count} {split_name} images");
                (kind, rows, captions, Vec::new(), Vec::new(), 3, 2)
            }
            Samples::Shapes(shapes) => {
                // One row per shape: the input cloud's projections along x, y, z, then the
                // reconstruction's; the row captioned with the shape's class.
                let mut rows = Vec::new();
                let mut row_captions = Vec::new();
                for (k, z) in latents.iter().enumerate() {
                    let points = crate::eval::reconstruct_surface(
                        &model,
                        z,
                        crate::eval::CHAMFER_POINTS,
                        0.02,
                        k as u64,
                    )?;
                    let input = shapes.clouds.cloud(k);
                    let row = [input, &points[..]]
                        .into_iter()
                        .flat_map(|cloud| (0..3).map(move |axis| (cloud, axis)))
                        .map(|(cloud, axis)| Tile::gray(projection(cloud, axis), PANEL, PANEL));
                    rows.push(row.collect::<Vec<_>>());
                    row_captions.push(class(shapes.clouds.labels[k]));
                }
                let captions: Vec<String> = (0..6)
                    .map(|c| format!("along {}", ["x", "y", "z"][c % 3]))
                    .collect();
                let groups = [
                    "input point cloud".to_string(),
                    "runtime reconstruction (UDF < 0.02)".to_string(),
                ];
                let kind = format!("{count} {split_name} shapes");
                (kind, rows, captions, groups.to_vec(), row_captions, 1, 3)
            }
        };
    let title = format!(
        "{}: {kind} beside their runtime reconstructions",
        model.config().dataset
    );
    crate::viz::image_grid_png(
        &a.out,
        &ImageGrid {
            title: &title,
            column_captions: &captions,
            group_captions: &groups,
            row_captions: &row_captions,
            rows: &rows,
            scale,
            group,
        },
    )?;
    eprintln!(
        "wrote {} ({count} originals | runtime reconstructions)",
        a.out.display()
    );
    Ok(())
}

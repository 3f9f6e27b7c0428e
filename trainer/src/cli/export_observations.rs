//! `hyperinr export-observations`: raw samples (images as 8-bit pixels, shapes as point
//! clouds) with their labels, in the observations format the firmware embeds and fits on
//! the device (`HYPERINR_OBSERVATIONS`; shared/FORMAT.md §7).

use super::*;
use crate::data::samples::UdfConfig;
use crate::data::samples::{load_samples, DatasetKind, Samples};
use anyhow::{bail, Result};
use hyperinr_data::Split;
use hyperinr_shared::observations::{encode_clouds, encode_images, strided_pixels};
use std::path::PathBuf;

#[derive(clap::Args, Clone)]
pub struct ExportObservationsArgs {
    #[arg(long, value_enum, default_value_t = DatasetKind::FashionMnist)]
    pub dataset: DatasetKind,
    /// The dataset folder (FashionMNIST default: /usr/share/datasets/fashion-mnist).
    #[arg(long)]
    pub data: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Split::Test)]
    pub split: Split,
    /// The first N samples of the split (0 = all).
    #[arg(long, default_value_t = 16)]
    pub limit: usize,
    /// Images: the device fits every K-th pixel of every K-th row (2: 196 of 784 pixels,
    /// a quarter of the work per step); 1 = every pixel.
    #[arg(long, default_value_t = 1)]
    pub pixel_stride: u32,
    /// The observations file to write (replaced atomically).
    #[arg(long)]
    pub out: PathBuf,
}

pub fn export_observations(a: ExportObservationsArgs) -> Result<()> {
    if a.pixel_stride == 0 {
        bail!("--pixel-stride must be at least 1");
    }
    let data = data_dir(a.dataset, &a.data)?;
    let udf = UdfConfig::new();
    let samples = load_samples(a.dataset, &data, a.split, 0, &udf, 0)?.take(a.limit)?;
    let labels = samples.labels();
    let indices = samples.indices();
    let bytes = match &samples {
        Samples::Images(s) => {
            if a.pixel_stride > 1
                && (s.width < a.pixel_stride as usize || s.height < a.pixel_stride as usize)
            {
                bail!(
                    "--pixel-stride {} is larger than the {}×{} images",
                    a.pixel_stride,
                    s.width,
                    s.height
                );
            }
            let fitted: Vec<u32> = if a.pixel_stride > 1 {
                strided_pixels(s.width as u32, s.height as u32, a.pixel_stride).collect()
            } else {
                Vec::new()
            };
            let items: Vec<(u8, u32, &[u8])> = (0..s.len())
                .map(|i| (labels[i], indices[i], s.image(i)))
                .collect();
            encode_images(s.width as u32, s.height as u32, &fitted, &items)?
        }
        Samples::Shapes(s) => {
            if a.pixel_stride != 1 {
                bail!(
                    "--pixel-stride applies to images; {} holds point clouds",
                    a.dataset.name()
                );
            }
            let clouds = &s.clouds;
            let points = clouds.cloud(0).len() / 3;
            if let Some(i) = (0..clouds.len()).find(|&i| clouds.cloud(i).len() != 3 * points) {
                bail!(
                    "{}: {} points, but {} has {points}: an observations file holds clouds of one size",
                    clouds.paths[i].display(),
                    clouds.cloud(i).len() / 3,
                    clouds.paths[0].display()
                );
            }
            let items: Vec<(u8, u32, &[f32])> = (0..clouds.len())
                .map(|i| (labels[i], indices[i], clouds.cloud(i)))
                .collect();
            encode_clouds(points as u32, &items)?
        }
    };
    hyperinr_data::io::write_atomic(&a.out, &bytes)?;
    eprintln!(
        "wrote {}: {} {} observations of the {:?} split, {} bytes",
        a.out.display(),
        samples.len(),
        a.dataset.name(),
        a.split,
        bytes.len()
    );
    Ok(())
}

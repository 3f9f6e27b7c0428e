//! PNG writing and picture reading through the `image` crate.

use anyhow::{bail, Context, Result};
use hyperinr_data::io::write_atomic;
use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::{DynamicImage, ExtendedColorType, ImageEncoder, ImageReader};
use std::path::Path;

/// Encodes `pixels` (`width × height` samples of `color`) as PNG and writes it atomically.
fn write_png(
    path: &Path,
    width: usize,
    height: usize,
    pixels: &[u8],
    color: ExtendedColorType,
) -> Result<()> {
    let channels = color.channel_count() as usize;
    if pixels.len() != width * height * channels {
        bail!(
            "{}: {} bytes for a {width}×{height} image of {channels} channel(s)",
            path.display(),
            pixels.len()
        );
    }
    let mut bytes = Vec::new();
    // Best compression with adaptive row filters: a chart is flat colour and small, so this
    // costs milliseconds and keeps the pictures in docs/ small.
    PngEncoder::new_with_quality(&mut bytes, CompressionType::Best, PngFilter::Adaptive)
        .write_image(pixels, width as u32, height as u32, color)
        .with_context(|| format!("encoding {}", path.display()))?;
    write_atomic(path, &bytes)
}

/// Writes an 8-bit RGB PNG (`width × height × 3` bytes): the output of every drawn chart.
pub(crate) fn write_rgb_png(path: &Path, width: usize, height: usize, rgb: &[u8]) -> Result<()> {
    write_png(path, width, height, rgb, ExtendedColorType::Rgb8)
}

/// Decodes the picture at `path` in any format `image` reads here (PNG, JPEG, BMP, GIF,
/// WebP), told by its content, not its name: the one picture reader of the crate (the
/// input of `classify`). Errors name the file.
pub fn open_picture(path: &Path) -> Result<DynamicImage> {
    let img = ImageReader::open(path)
        .with_context(|| format!("opening {}", path.display()))?
        .with_guessed_format()
        .with_context(|| format!("reading {}", path.display()))?
        .decode()
        .with_context(|| {
            format!(
                "{}: not a PNG, JPEG, BMP, GIF or WebP picture",
                path.display()
            )
        })?;
    if img.width() == 0 || img.height() == 0 {
        bail!("{}: empty picture", path.display());
    }
    Ok(img)
}

//! PNG writing and picture reading through the `image` crate.

use anyhow::{bail, Context, Result};
use hyperinr_data::io::write_atomic;
use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::{DynamicImage, ExtendedColorType, GrayImage, ImageEncoder, ImageReader};
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

/// Writes a plain 8-bit grayscale PNG (`width × height` bytes, row by row), for pictures that
/// need no captions.
pub fn write_gray_png(path: &Path, width: usize, height: usize, pixels: &[u8]) -> Result<()> {
    write_png(path, width, height, pixels, ExtendedColorType::L8)
}

/// Writes an 8-bit RGB PNG (`width × height × 3` bytes): the output of every drawn chart.
pub(crate) fn write_rgb_png(path: &Path, width: usize, height: usize, rgb: &[u8]) -> Result<()> {
    write_png(path, width, height, rgb, ExtendedColorType::Rgb8)
}

/// Decodes the picture at `path` in any format `image` reads here (PNG, JPEG, BMP, GIF,
/// WebP), told by its content, not its name: the one picture reader of the crate (the
/// `classify` input and [`read_picture`] both come through it). Errors name the file.
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

/// Reads a picture ([`open_picture`]) as 8-bit grayscale at its own size. Transparent parts
/// are composited on white, as a viewer shows them. Preparing it for a model (size,
/// inversion) is the caller's business (`data::picture`).
pub fn read_picture(path: &Path) -> Result<GrayImage> {
    let img = open_picture(path)?;
    let rgba = img.to_rgba32f();
    let gray = rgba.pixels().map(|p| {
        let [r, g, b, a] = p.0;
        let luma = 0.299 * r + 0.587 * g + 0.114 * b;
        let v = luma * a + (1.0 - a);
        (v * 255.0).round().clamp(0.0, 255.0) as u8
    });
    let pixels: Vec<u8> = gray.collect();
    GrayImage::from_raw(img.width(), img.height(), pixels)
        .with_context(|| format!("{}: unexpected pixel count", path.display()))
}

/// Resizes a grayscale picture to `width × height` with `image::imageops::resize` and a
/// triangle filter, whose support widens when shrinking, so a large photo is averaged over
/// each target pixel's area (like the old hand resampler) instead of sampled.
pub fn resize_gray(img: &GrayImage, width: u32, height: u32) -> GrayImage {
    image::imageops::resize(img, width, height, image::imageops::FilterType::Triangle)
}

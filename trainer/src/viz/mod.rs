//! PNG output (grids of originals beside reconstructions) and PNG input for `classify`.

use anyhow::{bail, Context, Result};
use std::path::Path;

/// Writes an 8-bit grayscale PNG atomically.
pub fn write_gray_png(path: &Path, width: usize, height: usize, pixels: &[u8]) -> Result<()> {
    let mut buf = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut buf, width as u32, height as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header()?;
        w.write_image_data(pixels)?;
    }
    hyperinr_data::io::write_atomic(path, &buf)
}

/// A grid with one row per sample pair: `pairs` of (original, reconstruction) images of
/// `w × h` values in [0, 1], `per_row` pairs per row, each pixel drawn `zoom × zoom`.
pub fn pair_grid(
    pairs: &[(Vec<f32>, Vec<f32>)],
    w: usize,
    h: usize,
    per_row: usize,
    zoom: usize,
) -> (usize, usize, Vec<u8>) {
    let gap = 2;
    let cell_w = 2 * w * zoom + gap;
    let rows = pairs.len().div_ceil(per_row.max(1));
    let width = per_row * (cell_w + 2 * gap);
    let height = rows * (h * zoom + gap) + gap;
    let mut img = vec![40u8; width * height];
    for (k, (a, b)) in pairs.iter().enumerate() {
        let (gr, gc) = (k / per_row, k % per_row);
        let x0 = gc * (cell_w + 2 * gap) + gap;
        let y0 = gr * (h * zoom + gap) + gap;
        for (side, src) in [a, b].iter().enumerate() {
            for y in 0..h * zoom {
                for x in 0..w * zoom {
                    let v = src[(y / zoom) * w + x / zoom].clamp(0.0, 1.0);
                    let px = x0 + side * (w * zoom + gap) + x;
                    img[(y0 + y) * width + px] = (v * 255.0).round() as u8;
                }
            }
        }
    }
    (width, height, img)
}

/// Reads any PNG as grayscale `[0, 1]` and resamples it to `w × h` by area averaging.
pub fn read_png_gray(path: &Path, w: usize, h: usize) -> Result<Vec<f32>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut dec = png::Decoder::new(std::io::BufReader::new(file));
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = dec
        .read_info()
        .with_context(|| format!("{}: not a PNG", path.display()))?;
    let mut buf = vec![0u8; reader.output_buffer_size()];
    let info = reader
        .next_frame(&mut buf)
        .with_context(|| format!("{}: corrupt PNG data", path.display()))?;
    let (sw, sh) = (info.width as usize, info.height as usize);
    if sw == 0 || sh == 0 {
        bail!("{}: empty image", path.display());
    }
    let channels = info.color_type.samples();
    let gray: Vec<f32> = buf[..info.buffer_size()]
        .chunks_exact(channels)
        .map(|c| {
            let (v, a) = match channels {
                1 => (c[0] as f32, 255.0),
                2 => (c[0] as f32, c[1] as f32),
                3 => (
                    0.299 * c[0] as f32 + 0.587 * c[1] as f32 + 0.114 * c[2] as f32,
                    255.0,
                ),
                _ => (
                    0.299 * c[0] as f32 + 0.587 * c[1] as f32 + 0.114 * c[2] as f32,
                    c[3] as f32,
                ),
            };
            // Transparent pixels count as background (black, as in FashionMNIST).
            v / 255.0 * (a / 255.0)
        })
        .collect();
    let mut out = vec![0.0f32; w * h];
    for (oy, row) in out.chunks_exact_mut(w).enumerate() {
        for (ox, o) in row.iter_mut().enumerate() {
            let (y0, y1) = (oy * sh / h, ((oy + 1) * sh / h).max(oy * sh / h + 1));
            let (x0, x1) = (ox * sw / w, ((ox + 1) * sw / w).max(ox * sw / w + 1));
            let mut s = 0.0;
            for y in y0..y1.min(sh) {
                for x in x0..x1.min(sw) {
                    s += gray[y * sw + x];
                }
            }
            *o = s / ((y1.min(sh) - y0) * (x1.min(sw) - x0)).max(1) as f32;
        }
    }
    Ok(out)
}

/// Side of one orthographic projection panel, pixels.
pub const PANEL: usize = 96;

/// Draws `points` (`N × 3`, unit-sphere coordinates) into a `PANEL × PANEL` grayscale panel,
/// projected along `axis` (0 = x, 1 = y, 2 = z): white on black, brighter where nearer the
/// viewer, so depth reads at a glance.
pub fn projection(points: &[f32], axis: usize) -> Vec<u8> {
    let (u, v) = match axis {
        0 => (1, 2),
        1 => (0, 2),
        _ => (0, 1),
    };
    let mut px = vec![0u8; PANEL * PANEL];
    let to_px = |c: f32| (((c + 1.1) / 2.2) * PANEL as f32).floor() as i64;
    for p in points.chunks_exact(3) {
        let (x, y) = (to_px(p[u]), PANEL as i64 - 1 - to_px(p[v]));
        if (0..PANEL as i64).contains(&x) && (0..PANEL as i64).contains(&y) {
            let depth = ((p[axis] + 1.1) / 2.2).clamp(0.0, 1.0);
            let shade = (90.0 + 165.0 * depth) as u8;
            let cell = &mut px[y as usize * PANEL + x as usize];
            *cell = (*cell).max(shade);
        }
    }
    px
}

/// A PNG with one row per shape: the input cloud's three orthographic projections (along x,
/// y, z), a gap, then the reconstruction's. Atomic write.
pub fn write_shape_grid(path: &Path, rows: &[(Vec<f32>, Vec<f32>)]) -> Result<()> {
    let gap = 4;
    let width = 6 * PANEL + 5 * gap + 3 * gap;
    let height = rows.len().max(1) * (PANEL + gap);
    let mut img = vec![40u8; width * height];
    for (r, (input, recon)) in rows.iter().enumerate() {
        for (k, (cloud, axis)) in [
            (input, 0),
            (input, 1),
            (input, 2),
            (recon, 0),
            (recon, 1),
            (recon, 2),
        ]
        .into_iter()
        .enumerate()
        {
            let panel = projection(cloud, axis);
            let x0 = k * (PANEL + gap) + if k >= 3 { 3 * gap } else { 0 };
            let y0 = r * (PANEL + gap);
            for y in 0..PANEL {
                let dst = (y0 + y) * width + x0;
                img[dst..dst + PANEL].copy_from_slice(&panel[y * PANEL..(y + 1) * PANEL]);
            }
        }
    }
    write_gray_png(path, width, height, &img)
}

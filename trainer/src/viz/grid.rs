//! Captioned grids of grayscale images: originals beside reconstructions, interpolation
//! strips (a one-row grid), shape projections.

use super::canvas::Canvas;
use super::png::write_rgb_png;
use super::{anchored, ensure_font, text_size, HPos};
use anyhow::{bail, Context, Result};
use image::imageops::{self, FilterType};
use image::{DynamicImage, GrayImage, RgbImage};
use plotters::prelude::*;
use std::path::Path;

/// One grayscale image of a grid, with an optional caption drawn under it.
#[derive(Clone, Debug)]
pub struct Tile {
    /// `width × height` bytes, row by row (0 = black).
    pub pixels: Vec<u8>,
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Text under the tile, e.g. a class name or "t = 0.25".
    pub caption: Option<String>,
}

impl Tile {
    /// A tile of 8-bit gray pixels without caption.
    pub fn gray(pixels: Vec<u8>, width: usize, height: usize) -> Self {
        Tile {
            pixels,
            width,
            height,
            caption: None,
        }
    }

    /// A tile of intensities in [0, 1] (clamped), e.g. a decoded image.
    pub fn unit(values: &[f32], width: usize, height: usize) -> Self {
        let px = values
            .iter()
            .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8);
        Tile::gray(px.collect(), width, height)
    }

    /// The same tile with `caption` under it.
    pub fn with_caption(mut self, caption: impl Into<String>) -> Self {
        self.caption = Some(caption.into());
        self
    }
}

/// A grid of tiles with a title, captions over groups of columns, over the columns and at the
/// left of the rows.
#[derive(Clone, Copy, Debug)]
pub struct ImageGrid<'a> {
    /// Title over the grid ("" for none).
    pub title: &'a str,
    /// One caption per column, e.g. "original", "reconstruction" (empty slice for none).
    pub column_captions: &'a [String],
    /// One caption per group of columns (see `group`), centred over the group above the
    /// column captions, e.g. "input", "reconstruction" (empty slice for none).
    pub group_captions: &'a [String],
    /// One caption per row, drawn at its left (empty slice for none).
    pub row_captions: &'a [String],
    /// The tiles, row by row; rows may differ in length.
    pub rows: &'a [Vec<Tile>],
    /// Every tile is enlarged `scale` times (nearest neighbour, so pixels stay sharp).
    pub scale: u32,
    /// Columns per group: a wider gap after every `group` columns (0 = no groups), e.g. 2 for
    /// original | reconstruction pairs, 3 for a shape's x, y, z projections.
    pub group: usize,
}

const M: u32 = 14;
const GAP: u32 = 6;
const GROUP_GAP: u32 = 24;
const TITLE: u32 = 18;
const CAPTION: u32 = 14;
const TILE_CAPTION: u32 = 13;

/// Draws `grid` into an RGB PNG at `path` (atomic write) on white: title at the top, column
/// captions over the columns, row captions at the left, each tile enlarged with
/// `image::imageops::resize` (nearest) and its caption centred under it. Columns widen to fit
/// their captions, so no caption overlaps another.
pub fn image_grid_png(path: &Path, grid: &ImageGrid<'_>) -> Result<()> {
    let s = grid.scale.max(1);
    for (r, row) in grid.rows.iter().enumerate() {
        for (c, t) in row.iter().enumerate() {
            if t.pixels.len() != t.width * t.height || t.width == 0 || t.height == 0 {
                bail!(
                    "{}: tile ({r}, {c}) has {} pixels for {}×{}",
                    path.display(),
                    t.pixels.len(),
                    t.width,
                    t.height
                );
            }
        }
    }
    ensure_font()?;
    let cols = grid.rows.iter().map(Vec::len).max().unwrap_or(0);
    let caption = |c: usize| grid.column_captions.get(c).map_or("", String::as_str);
    let tile_cap = |t: &Tile| {
        t.caption
            .as_deref()
            .map_or(0, |c| text_size(c, TILE_CAPTION).0)
    };
    // Every column as wide as the widest tile or caption, so strips stay evenly spaced.
    let col_w = (grid.rows.iter().flatten())
        .map(|t| (t.width as u32 * s).max(tile_cap(t) + 6))
        .chain((0..cols).map(|c| text_size(caption(c), CAPTION).0 + 8))
        .max()
        .unwrap_or(0);
    let x_of = |c: usize| -> u32 {
        let groups = c.checked_div(grid.group).unwrap_or(0);
        (col_w + GAP) * c as u32 + (GROUP_GAP - GAP) * groups as u32
    };
    let row_cap_w = (grid.row_captions.iter())
        .map(|c| text_size(c, CAPTION).0 + 12)
        .max()
        .unwrap_or(0);
    let band = |caps: &[String]| 24 * caps.iter().any(|c| !c.is_empty()) as u32;
    let title_h = 36 * !grid.title.is_empty() as u32;
    let groupcap_h = band(grid.group_captions) * (grid.group > 0) as u32;
    let colcap_h = band(grid.column_captions);
    // Per row: tile height, and the caption band under it when a tile there has a caption.
    let row_h: Vec<(u32, u32)> = (grid.rows.iter())
        .map(|r| {
            let h = r.iter().map(|t| t.height as u32 * s).max().unwrap_or(0);
            (h, 22 * r.iter().any(|t| t.caption.is_some()) as u32)
        })
        .collect();
    let grid_w = cols.checked_sub(1).map_or(0, |c| x_of(c) + col_w);
    let width = (2 * M + row_cap_w + grid_w).max(text_size(grid.title, TITLE).0 + 2 * M);
    let top = M / 2 + title_h + groupcap_h + colcap_h;
    let y_of = |r: usize| top + row_h[..r].iter().map(|(h, c)| h + c + GAP).sum::<u32>();
    let height = y_of(row_h.len()) + M - GAP.min(y_of(row_h.len()));
    let left = M + row_cap_w;
    let centre = |c: usize| left + x_of(c) + col_w / 2;

    let mut img = RgbImage::from_pixel(width, height.max(1), image::Rgb([255, 255, 255]));
    for (r, row) in grid.rows.iter().enumerate() {
        for (c, t) in row.iter().enumerate() {
            let gray = GrayImage::from_raw(t.width as u32, t.height as u32, t.pixels.clone())
                .context("tile size")?;
            let (w, h) = (t.width as u32 * s, t.height as u32 * s);
            let big = DynamicImage::from(imageops::resize(&gray, w, h, FilterType::Nearest));
            let (x, y) = (centre(c) - w / 2, y_of(r));
            imageops::replace(&mut img, &big.to_rgb8(), x as i64, y as i64);
        }
    }
    let (w, h) = img.dimensions();
    {
        let root = Canvas::new(&mut img, (w, h)).into_drawing_area();
        let text = |s: &str, x: u32, y: u32, size: u32, hpos: HPos| {
            root.draw(&Text::new(s, (x as i32, y as i32), anchored(size, hpos)))
        };
        let draw_all = || -> Result<()> {
            if title_h > 0 {
                text(grid.title, M, M / 2 + title_h / 2, TITLE, HPos::Left)?;
            }
            for (g, cap) in grid.group_captions.iter().enumerate() {
                let (first, last) = (g * grid.group, ((g + 1) * grid.group).min(cols));
                if groupcap_h > 0 && first < last {
                    let (x, y) = ((centre(first) + centre(last - 1)) / 2, top - colcap_h);
                    text(cap, x, y - groupcap_h / 2, CAPTION, HPos::Center)?;
                }
            }
            for c in 0..cols {
                text(
                    caption(c),
                    centre(c),
                    top - colcap_h / 2,
                    CAPTION,
                    HPos::Center,
                )?;
            }
            for (r, (row, &(th, ch))) in grid.rows.iter().zip(&row_h).enumerate() {
                if let Some(cap) = grid.row_captions.get(r) {
                    text(cap, M, y_of(r) + th / 2, CAPTION, HPos::Left)?;
                }
                for (c, cap) in row.iter().enumerate() {
                    if let Some(cap) = &cap.caption {
                        text(
                            cap,
                            centre(c),
                            y_of(r) + th + ch / 2,
                            TILE_CAPTION,
                            HPos::Center,
                        )?;
                    }
                }
            }
            root.present()?;
            Ok(())
        };
        draw_all().with_context(|| format!("drawing {}", path.display()))?;
    }
    write_rgb_png(path, w as usize, h as usize, img.as_raw())
}

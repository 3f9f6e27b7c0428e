//! The one place that draws pictures: stacked histograms ([`histograms_png`]), class-coloured
//! scatter maps ([`scatter_map_png`]), captioned image grids and strips ([`image_grid_png`]),
//! orthographic point-cloud panels ([`projection`]), and reading a user's picture
//! ([`open_picture`]).
//!
//! Charts are drawn by `plotters` on an RGB buffer (its bitmap backend) with text set in the
//! bundled DejaVu Sans through `ab_glyph` (no system fonts, so it draws the same everywhere and
//! builds offline); pixels are read, resized and encoded by `image`. Every file is written
//! atomically (`hyperinr_data::io::write_atomic`), and every error names the file.

mod canvas;
mod chart;
mod cloud;
mod grid;
mod png;
mod scatter;

pub use chart::{histograms_png, Histogram, Marker};
pub use cloud::{projection, PANEL};
pub use grid::{image_grid_png, ImageGrid, Tile};
pub use png::open_picture;
pub use scatter::{class_colour, scatter_map_png, ScatterMap};

use anyhow::{anyhow, Result};
use plotters::prelude::*;
pub(crate) use plotters::style::text_anchor::HPos;
use plotters::style::text_anchor::{Pos, VPos};
use plotters::style::{register_font, FontStyle};
use std::sync::OnceLock;

/// Font family name the bundled font is registered under (plotters' default family).
pub(crate) const FAMILY: &str = "sans-serif";

/// DejaVu Sans (Bitstream Vera licence, see `assets/fonts/LICENSE-DejaVu.txt`).
pub(crate) static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Registers the bundled font with plotters, once per process; every drawing function calls
/// this first, since plotters' `ab_glyph` text has no font until one is registered.
pub(crate) fn ensure_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS).is_ok()
            && register_font(FAMILY, FontStyle::Bold, DEJAVU_SANS).is_ok()
    });
    ok.then_some(())
        .ok_or_else(|| anyhow!("the bundled DejaVu Sans font does not parse"))
}

/// The bundled font at `size` pixels.
pub(crate) fn font(size: u32) -> FontDesc<'static> {
    (FAMILY, size as f64).into_font()
}

/// The bundled font at `size` in ink, anchored at `h` horizontally and at its middle
/// vertically (where a caption's band is centred).
pub(crate) fn anchored(size: u32, h: HPos) -> TextStyle<'static> {
    font(size).color(&INK).pos(Pos::new(h, VPos::Center))
}

/// Width and height in pixels of `text` set at `size`.
pub(crate) fn text_size(text: &str, size: u32) -> (u32, u32) {
    font(size).box_size(text).unwrap_or((0, 0))
}

/// Ink for text and axes.
pub(crate) const INK: RGBColor = RGBColor(30, 30, 30);

/// A tick label for `v` on an axis whose ticks are about `step` apart: as few decimals as
/// tell the ticks apart, and no "-0".
pub(crate) fn tick_label(v: f64, step: f64) -> String {
    let decimals = (-(step.abs().max(1e-12)).log10()).ceil().clamp(0.0, 6.0) as usize;
    let v = if v.abs() < step.abs() * 1e-6 { 0.0 } else { v };
    format!("{v:.decimals$}")
}

#[cfg(test)]
mod tests;

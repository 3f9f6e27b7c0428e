//! Scatter maps of 2-D latent projections (PCA, t-SNE), one colour and marker per class.

use super::canvas::Canvas;
use super::png::write_rgb_png;
use super::{anchored, ensure_font, font, text_size, tick_label, HPos, INK};
use anyhow::{bail, Context, Result};
use plotters::prelude::*;
use std::path::Path;

/// A map of labelled 2-D points.
#[derive(Clone, Copy, Debug)]
pub struct ScatterMap<'a> {
    /// Title, e.g. "fashion_mnist: 1000 stored latents, PCA".
    pub title: &'a str,
    /// x axis label, e.g. "PC 1 (23.4 % of variance)".
    pub x_label: &'a str,
    /// y axis label.
    pub y_label: &'a str,
    /// The points.
    pub points: &'a [[f32; 2]],
    /// Class index of each point (same length as `points`).
    pub classes: &'a [usize],
    /// Legend names by class index; a class without a name is listed as "class k".
    pub class_names: &'a [String],
}

/// matplotlib's tab20, tab20b and tab20c: 60 colours that stay apart on white.
const PALETTE: [u32; 60] = [
    0x1f77b4, 0xaec7e8, 0xff7f0e, 0xffbb78, 0x2ca02c, 0x98df8a, 0xd62728, 0xff9896, 0x9467bd,
    0xc5b0d5, 0x8c564b, 0xc49c94, 0xe377c2, 0xf7b6d2, 0x7f7f7f, 0xc7c7c7, 0xbcbd22, 0xdbdb8d,
    0x17becf, 0x9edae5, 0x393b79, 0x5254a3, 0x6b6ecf, 0x9c9ede, 0x637939, 0x8ca252, 0xb5cf6b,
    0xcedb9c, 0x8c6d31, 0xbd9e39, 0xe7ba52, 0xe7cb94, 0x843c39, 0xad494a, 0xd6616b, 0xe7969c,
    0x7b4173, 0xa55194, 0xce6dbd, 0xde9ed6, 0x3182bd, 0x6baed6, 0x9ecae1, 0xc6dbef, 0xe6550d,
    0xfd8d3c, 0xfdae6b, 0xfdd0a2, 0x31a354, 0x74c476, 0xa1d99b, 0xc7e9c0, 0x756bb1, 0x9e9ac8,
    0xbcbddc, 0xdadaeb, 0x636363, 0x969696, 0xbdbdbd, 0xd9d9d9,
];

/// The colour of class `k` among `n`: matplotlib's tab10 up to 10 classes, tab20 up to 20,
/// then tab20b and tab20c (60 in all), then hues spaced by the golden angle. Distinct for
/// distinct `k`.
pub fn class_colour(k: usize, n: usize) -> [u8; 3] {
    let hex = match (n, k) {
        (..=10, 0..=9) => PALETTE[2 * k],
        (_, 0..=59) => PALETTE[k],
        _ => return hue(k),
    };
    [(hex >> 16) as u8, (hex >> 8) as u8, hex as u8]
}

/// A saturated colour at hue `k · 137.5°` and one of three lightness levels.
fn hue(k: usize) -> [u8; 3] {
    let h = (k as f64 * 137.507_764) % 360.0 / 60.0;
    let l = [0.45, 0.6, 0.35][k % 3];
    let c = (1.0 - (2.0 * l - 1.0f64).abs()) * 0.8;
    let x = c * (1.0 - (h % 2.0 - 1.0).abs());
    let (r, g, b) = match h as usize {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = l - c / 2.0;
    [r, g, b].map(|v| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8)
}

/// Marker of class `k` among `n`: circles, then (past 20 classes) triangles for the next 20,
/// then squares, so neighbouring palette colours also differ in shape.
fn shape(k: usize, n: usize) -> usize {
    if n <= 20 {
        0
    } else {
        (k / 20) % 3
    }
}

/// Draws one marker of `shape` at backend pixel `(x, y)`.
fn marker(
    area: &DrawingArea<Canvas<'_>, plotters::coord::Shift>,
    (x, y): (i32, i32),
    r: i32,
    shape: usize,
    style: ShapeStyle,
) -> Result<()> {
    match shape {
        0 => area.draw(&Circle::new((x, y), r, style))?,
        1 => area.draw(&TriangleMarker::new((x, y), r + 1, style))?,
        _ => area.draw(&Rectangle::new([(x - r, y - r), (x + r, y + r)], style))?,
    }
    Ok(())
}

const PLOT: u32 = 760;
const TITLE_H: u32 = 44;
const ROW_H: u32 = 22;

/// Draws the map into an RGB PNG at `path` (atomic write): a square plot with axes, ticks and
/// the given axis labels, one marker per point in its class's colour and shape, and a legend
/// of every class in a column at the right (several columns when the classes do not fit one).
/// Points with a non-finite coordinate are left out and counted in the title.
pub fn scatter_map_png(path: &Path, map: &ScatterMap<'_>) -> Result<()> {
    if map.points.len() != map.classes.len() {
        bail!(
            "{}: {} points but {} class indices",
            path.display(),
            map.points.len(),
            map.classes.len()
        );
    }
    ensure_font()?;
    let n = map
        .class_names
        .len()
        .max(map.classes.iter().map(|&c| c + 1).max().unwrap_or(0));
    let names: Vec<String> = (0..n)
        .map(|k| {
            map.class_names
                .get(k)
                .cloned()
                .unwrap_or(format!("class {k}"))
        })
        .collect();
    let rows = ((PLOT - 40) / ROW_H).max(1) as usize;
    let cols = n.div_ceil(rows).max(1);
    let rows = n.div_ceil(cols).max(1);
    let col_w = names.iter().map(|s| text_size(s, 14).0).max().unwrap_or(0) + 40;
    let (w, h) = (PLOT + 24 + cols as u32 * col_w, TITLE_H + PLOT);
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    draw(&mut rgb, (w, h), map, &names, rows, col_w)
        .with_context(|| format!("drawing {}", path.display()))?;
    write_rgb_png(path, w as usize, h as usize, &rgb)
}

fn draw(
    rgb: &mut [u8],
    size: (u32, u32),
    map: &ScatterMap<'_>,
    names: &[String],
    rows: usize,
    col_w: u32,
) -> Result<()> {
    let n = names.len();
    let root = Canvas::new(rgb, size).into_drawing_area();
    let keep: Vec<usize> = (0..map.points.len())
        .filter(|&i| map.points[i].iter().all(|v| v.is_finite()))
        .collect();
    let title = match map.points.len() - keep.len() {
        0 => map.title.to_string(),
        d => format!("{} [{d} non-finite point(s) left out]", map.title),
    };
    let (head, body) = root.split_vertically(TITLE_H);
    let style = anchored(20, HPos::Left);
    head.draw(&Text::new(title, (16, TITLE_H as i32 / 2), style))?;
    let (plot, side) = body.split_horizontally(PLOT);
    let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
    for &i in &keep {
        for a in 0..2 {
            lo[a] = lo[a].min(map.points[i][a] as f64);
            hi[a] = hi[a].max(map.points[i][a] as f64);
        }
    }
    let range = |a: usize| {
        if keep.is_empty() {
            return (-1.0, 1.0);
        }
        let pad = ((hi[a] - lo[a]) * 0.04).max(1e-9);
        (lo[a] - pad, hi[a] + pad)
    };
    let ((x0, x1), (y0, y1)) = (range(0), range(1));
    let mut chart = ChartBuilder::on(&plot)
        .margin(10)
        .margin_right(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    let (xf, yf) = (
        move |v: &f64| tick_label(*v, (x1 - x0) / 10.0),
        move |v: &f64| tick_label(*v, (y1 - y0) / 10.0),
    );
    chart
        .configure_mesh()
        .bold_line_style(RGBColor(230, 230, 230))
        .light_line_style(TRANSPARENT)
        .axis_style(INK)
        .x_labels(10)
        .y_labels(10)
        .x_label_formatter(&xf)
        .y_label_formatter(&yf)
        .x_desc(map.x_label)
        .y_desc(map.y_label)
        .label_style(font(13).color(&INK))
        .axis_desc_style(font(15).color(&INK))
        .draw()?;
    let r = match keep.len() {
        0..=2000 => 3,
        2001..=10000 => 2,
        _ => 1,
    };
    let area = chart.plotting_area().strip_coord_spec();
    let to_px = |p: [f32; 2]| chart.backend_coord(&(p[0] as f64, p[1] as f64));
    let origin = area.get_base_pixel();
    for &i in &keep {
        let (k, (x, y)) = (map.classes[i], to_px(map.points[i]));
        let [cr, cg, cb] = class_colour(k, n);
        let style = RGBColor(cr, cg, cb).mix(0.85).filled();
        marker(&area, (x - origin.0, y - origin.1), r, shape(k, n), style)?;
    }
    for (k, name) in names.iter().enumerate() {
        let (col, row) = (k / rows, k % rows);
        let (x, y) = (
            12 + (col as u32 * col_w) as i32,
            30 + (row as u32 * ROW_H) as i32,
        );
        let [cr, cg, cb] = class_colour(k, n);
        marker(
            &side,
            (x + 6, y),
            5,
            shape(k, n),
            RGBColor(cr, cg, cb).filled(),
        )?;
        let style = anchored(14, HPos::Left);
        side.draw(&Text::new(name.as_str(), (x + 18, y), style))?;
    }
    root.present()?;
    Ok(())
}

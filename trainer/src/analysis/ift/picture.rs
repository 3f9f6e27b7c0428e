//! The IFT histograms as a PNG.

use super::*;

use anyhow::Result;
use std::path::Path;

/// One histogram of a stacked-panel PNG.
#[derive(Clone, Copy, Debug)]
pub struct HistogramPanel<'a> {
    /// Title (drawn in upper case with a built-in 5×7 font: A–Z, 0–9, `.,-+()/:=_%|<>`).
    pub title: &'a str,
    /// Values, drawn blue; non-finite ones are left out (say so in the title).
    pub values: &'a [f64],
    /// A second series stacked on the first in orange (empty for none).
    pub values2: &'a [f64],
    /// Number of bins.
    pub bins: usize,
    /// A red vertical line at this value (the x range is widened to show it).
    pub marker: Option<f64>,
}

pub(super) const PANEL_W: usize = 840;
pub(super) const PANEL_H: usize = 260;

/// Writes `panels` as histograms stacked vertically into an RGB PNG at `path`: bars, axes,
/// the bin range (low, middle, high) under the x axis and the tallest bar's count on the y axis.
pub fn histogram_png(path: &Path, panels: &[HistogramPanel<'_>]) -> Result<()> {
    let mut canvas = Canvas::new(PANEL_W, PANEL_H * panels.len().max(1));
    for (i, panel) in panels.iter().enumerate() {
        draw_histogram(&mut canvas, i * PANEL_H, panel);
    }
    let mut bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut bytes, canvas.w as u32, canvas.h as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header()?;
        writer.write_image_data(&canvas.rgb)?;
    }
    hyperinr_data::io::write_atomic(path, &bytes)
}

/// The IFT histograms of a report: log10 σ_min(J), log10 cond(J), log10 λ_min(∇²L)
/// (positive ones) and the numerical rank of J (one bin per rank, a red line at full rank
/// `l`), counting what each panel leaves out in its title.
pub fn ift_histogram_png(report: &IftReport, path: &Path) -> Result<()> {
    let n = report.samples;
    let col = |f: &dyn Fn(&LatentIft) -> Option<f64>| {
        report.per_latent.iter().filter_map(f).collect::<Vec<f64>>()
    };
    let sig = col(&|r| (r.jacobian.sigma_min > 0.0).then(|| r.jacobian.sigma_min.log10()));
    let cond = col(&|r| r.jacobian.condition.map(f64::log10));
    // log10(|λ_min| / max|λ|), split by the sign of λ_min.
    let rel = |positive: bool| {
        col(&move |r| {
            let (lo, scale) = (
                r.hessian.min_eig,
                r.hessian.min_eig.abs().max(r.hessian.max_eig.abs()),
            );
            (lo != 0.0 && (lo > 0.0) == positive).then(|| (lo.abs() / scale).log10())
        })
    };
    let (rel_pos, rel_neg) = (rel(true), rel(false));
    let full = report
        .per_latent
        .iter()
        .filter(|r| r.jacobian.full_rank)
        .count();
    let pd = report
        .per_latent
        .iter()
        .filter(|r| r.hessian.definiteness == Definiteness::PositiveDefinite)
        .count();
    let t1 = format!("log10 sigma_min of J, n={n} ({} zero)", n - sig.len());
    let t2 = format!("log10 cond(J): {full}/{n} full rank, left of red line");
    let t3 = format!("log10 |min eig|/max|eig| of Hessian (orange <0): {pd}/{n} PD");
    // cond(J) ≥ 1 / (max(d, l) · ε_f32) exactly when σ_min is under the rank tolerance.
    let rank_line =
        -((report.siren_params.max(report.latent_dim) as f64) * f64::from(f32::EPSILON)).log10();
    let ranks: Vec<f64> = report
        .per_latent
        .iter()
        .map(|r| r.jacobian.rank as f64)
        .collect();
    let l = report.latent_dim;
    // One bin per integer from the smallest rank to l (the range draw_histogram spans with the
    // marker at l), at most 128.
    let rank_bins = (l.saturating_sub(report.rank_min) + 1).clamp(1, 128);
    let t4 = format!(
        "rank of J, n={n}: median {}, min {}, red line = l = {l}",
        report.rank_median, report.rank_min
    );
    histogram_png(
        path,
        &[
            HistogramPanel {
                title: &t1,
                values: &sig,
                values2: &[],
                bins: 30,
                marker: None,
            },
            HistogramPanel {
                title: &t2,
                values: &cond,
                values2: &[],
                bins: 30,
                marker: Some(rank_line),
            },
            HistogramPanel {
                title: &t3,
                values: &rel_pos,
                values2: &rel_neg,
                bins: 30,
                marker: None,
            },
            HistogramPanel {
                title: &t4,
                values: &ranks,
                values2: &[],
                bins: rank_bins,
                marker: Some(l as f64),
            },
        ],
    )
}

pub(super) struct Canvas {
    w: usize,
    h: usize,
    rgb: Vec<u8>,
}

impl Canvas {
    fn new(w: usize, h: usize) -> Self {
        Canvas {
            w,
            h,
            rgb: vec![255; w * h * 3],
        }
    }

    fn rect(&mut self, x0: usize, y0: usize, x1: usize, y1: usize, color: [u8; 3]) {
        for y in y0.min(self.h)..y1.min(self.h) {
            for x in x0.min(self.w)..x1.min(self.w) {
                let i = (y * self.w + x) * 3;
                self.rgb[i..i + 3].copy_from_slice(&color);
            }
        }
    }

    /// Text with its top-left corner at `(x, y)`, glyphs scaled by `s`.
    fn text(&mut self, x: usize, y: usize, s: usize, text: &str, color: [u8; 3]) {
        for (k, ch) in text.chars().enumerate() {
            let Some(rows) = glyph(ch.to_ascii_uppercase()) else {
                continue;
            };
            let gx = x + k * 6 * s;
            for (r, row) in rows.split(' ').enumerate() {
                for (c, bit) in row.bytes().enumerate() {
                    if bit == b'#' {
                        self.rect(
                            gx + c * s,
                            y + r * s,
                            gx + (c + 1) * s,
                            y + (r + 1) * s,
                            color,
                        );
                    }
                }
            }
        }
    }
}

/// Width in pixels of `text` at scale `s`.
pub(super) fn text_width(text: &str, s: usize) -> usize {
    (text.chars().count() * 6).saturating_sub(1) * s
}

pub(super) fn draw_histogram(canvas: &mut Canvas, top: usize, panel: &HistogramPanel<'_>) {
    const INK: [u8; 3] = [0, 0, 0];
    const BAR: [u8; 3] = [70, 110, 170];
    const BAR2: [u8; 3] = [230, 140, 40];
    let (left, right, title_h, bottom_h) = (70, PANEL_W - 20, 34, 44);
    let (plot_top, plot_bottom) = (top + title_h, top + PANEL_H - bottom_h);
    canvas.text(left, top + 10, 2, panel.title, INK);
    let finite = |v: &[f64]| {
        v.iter()
            .copied()
            .filter(|v| v.is_finite())
            .collect::<Vec<f64>>()
    };
    let (values, values2) = (finite(panel.values), finite(panel.values2));
    // Axes.
    canvas.rect(left - 2, plot_top, left, plot_bottom + 2, INK);
    canvas.rect(left - 2, plot_bottom, right, plot_bottom + 2, INK);
    if values.is_empty() && values2.is_empty() {
        canvas.text(left + 20, (plot_top + plot_bottom) / 2, 2, "no data", INK);
        return;
    }
    let (mut lo, mut hi) = values
        .iter()
        .chain(&values2)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    if let Some(mk) = panel.marker.filter(|m| m.is_finite()) {
        lo = lo.min(mk);
        hi = hi.max(mk);
    }
    if hi - lo < 1e-12 {
        lo -= 0.5;
        hi += 0.5;
    }
    let bins = panel.bins.max(1);
    let count = |vals: &[f64]| {
        let mut counts = vec![0usize; bins];
        for v in vals {
            let b = (((v - lo) / (hi - lo)) * bins as f64).floor() as isize;
            counts[b.clamp(0, bins as isize - 1) as usize] += 1;
        }
        counts
    };
    let (counts, counts2) = (count(&values), count(&values2));
    let max_count = counts
        .iter()
        .zip(&counts2)
        .map(|(a, b)| a + b)
        .max()
        .unwrap_or(1)
        .max(1);
    let plot_w = right - left;
    let plot_h = plot_bottom - plot_top - 4;
    for (b, (&c, &c2)) in counts.iter().zip(&counts2).enumerate() {
        let x0 = left + b * plot_w / bins + 1;
        let x1 = (left + (b + 1) * plot_w / bins).max(x0 + 1);
        let h1 = (c * plot_h).div_ceil(max_count);
        let h12 = ((c + c2) * plot_h).div_ceil(max_count);
        canvas.rect(x0, plot_bottom - h1, x1, plot_bottom, BAR);
        canvas.rect(x0, plot_bottom - h12, x1, plot_bottom - h1, BAR2);
    }
    if let Some(mk) = panel.marker.filter(|m| m.is_finite()) {
        let x = left + ((mk - lo) / (hi - lo) * plot_w as f64) as usize;
        canvas.rect(
            x.saturating_sub(1),
            plot_top,
            x + 1,
            plot_bottom,
            [200, 40, 40],
        );
    }
    // y: the tallest bar's count; x: low, middle and high ends of the range.
    let label = max_count.to_string();
    canvas.text(
        left.saturating_sub(8 + text_width(&label, 2)),
        plot_top,
        2,
        &label,
        INK,
    );
    canvas.text(
        left.saturating_sub(8 + text_width("0", 2)),
        plot_bottom - 14,
        2,
        "0",
        INK,
    );
    let y = plot_bottom + 8;
    for (frac, v) in [(0.0, lo), (0.5, 0.5 * (lo + hi)), (1.0, hi)] {
        let s = format!("{v:.2}");
        let x = left + (frac * plot_w as f64) as usize;
        canvas.rect(
            x.saturating_sub(1),
            plot_bottom,
            x + 1,
            plot_bottom + 6,
            INK,
        );
        let tx = x
            .saturating_sub(text_width(&s, 2) / 2)
            .min(PANEL_W - text_width(&s, 2));
        canvas.text(tx, y + 4, 2, &s, INK);
    }
}

/// A 5×7 glyph: seven rows of `#` (ink) and `.`, separated by spaces; `None` for a blank
/// (space or unknown character).
pub(super) fn glyph(c: char) -> Option<&'static str> {
    Some(match c {
        '0' => ".###. #...# #..## #.#.# ##..# #...# .###.",
        '1' => "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
        '2' => ".###. #...# ....# ...#. ..#.. .#... #####",
        '3' => "##### ...#. ..#.. ...#. ....# #...# .###.",
        '4' => "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
        '5' => "##### #.... ####. ....# ....# #...# .###.",
        '6' => "..##. .#... #.... ####. #...# #...# .###.",
        '7' => "##### ....# ...#. ..#.. .#... .#... .#...",
        '8' => ".###. #...# #...# .###. #...# #...# .###.",
        '9' => ".###. #...# #...# .#### ....# ...#. .##..",
        'A' => ".###. #...# #...# ##### #...# #...# #...#",
        'B' => "####. #...# #...# ####. #...# #...# ####.",
        'C' => ".###. #...# #.... #.... #.... #...# .###.",
        'D' => "###.. #..#. #...# #...# #...# #..#. ###..",
        'E' => "##### #.... #.... ####. #.... #.... #####",
        'F' => "##### #.... #.... ####. #.... #.... #....",
        'G' => ".###. #...# #.... #.### #...# #...# .####",
        'H' => "#...# #...# #...# ##### #...# #...# #...#",
        'I' => ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
        'J' => "..### ...#. ...#. ...#. ...#. #..#. .##..",
        'K' => "#...# #..#. #.#.. ##... #.#.. #..#. #...#",
        'L' => "#.... #.... #.... #.... #.... #.... #####",
        'M' => "#...# ##.## #.#.# #.#.# #...# #...# #...#",
        'N' => "#...# #...# ##..# #.#.# #..## #...# #...#",
        'O' => ".###. #...# #...# #...# #...# #...# .###.",
        'P' => "####. #...# #...# ####. #.... #.... #....",
        'Q' => ".###. #...# #...# #...# #.#.# #..#. .##.#",
        'R' => "####. #...# #...# ####. #.#.. #..#. #...#",
        'S' => ".#### #.... #.... .###. ....# ....# ####.",
        'T' => "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
        'U' => "#...# #...# #...# #...# #...# #...# .###.",
        'V' => "#...# #...# #...# #...# #...# .#.#. ..#..",
        'W' => "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.",
        'X' => "#...# #...# .#.#. ..#.. .#.#. #...# #...#",
        'Y' => "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..",
        'Z' => "##### ....# ...#. ..#.. .#... #.... #####",
        '.' => "..... ..... ..... ..... ..... .##.. .##..",
        ',' => "..... ..... ..... ..... .##.. ..#.. .#...",
        '-' => "..... ..... ..... ##### ..... ..... .....",
        '+' => "..... ..#.. ..#.. ##### ..#.. ..#.. .....",
        '(' => "...#. ..#.. .#... .#... .#... ..#.. ...#.",
        ')' => ".#... ..#.. ...#. ...#. ...#. ..#.. .#...",
        '/' => "..... ....# ...#. ..#.. .#... #.... .....",
        ':' => "..... .##.. .##.. ..... .##.. .##.. .....",
        '=' => "..... ..... ##### ..... ##### ..... .....",
        '_' => "..... ..... ..... ..... ..... ..... #####",
        '|' => "..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
        '<' => "...#. ..#.. .#... #.... .#... ..#.. ...#.",
        '>' => ".#... ..#.. ...#. ....# ...#. ..#.. .#...",
        '%' => "##... ##..# ...#. ..#.. .#... #..## ...##",
        _ => return None,
    })
}

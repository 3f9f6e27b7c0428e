//! Stacked histogram panels, one above the other in one PNG (the IFT report's picture).

use super::canvas::Canvas;
use super::png::write_rgb_png;
use super::{anchored, ensure_font, font, text_size, tick_label, HPos, INK};
use anyhow::{Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// A vertical line across a histogram panel (e.g. the full-rank value), with its legend entry.
#[derive(Clone, Copy, Debug)]
pub struct Marker<'a> {
    /// Where the line stands on the x axis; the x range widens to show it.
    pub at: f64,
    /// Legend text, e.g. "full rank l = 64".
    pub label: &'a str,
}

/// One histogram panel: blue bars of `values`, optionally orange bars of `stacked` on top of
/// them (counts add up per bin), and an optional red [`Marker`] line. Non-finite values are
/// left out of the bars and counted in the panel's title.
#[derive(Clone, Copy, Debug)]
pub struct Histogram<'a> {
    /// Panel title, e.g. "log₁₀ σ_min(J), n = 512 (3 zero)".
    pub title: &'a str,
    /// What the x axis measures, e.g. "log₁₀ σ_min(J)".
    pub x_label: &'a str,
    /// The first (blue) series.
    pub values: &'a [f64],
    /// Legend text of the first series ("" for no legend entry).
    pub label: &'a str,
    /// The second (orange) series, stacked on the first; empty for none.
    pub stacked: &'a [f64],
    /// Legend text of the second series.
    pub stacked_label: &'a str,
    /// Number of bins. When every value and the marker are whole numbers spanning at most
    /// `bins` integers, each integer gets its own bin centred on it instead (ranks), and the
    /// axis spans at least nine integers.
    pub bins: usize,
    /// A red vertical line with a legend entry.
    pub marker: Option<Marker<'a>>,
}

impl<'a> Histogram<'a> {
    /// One series, no legend, no marker.
    pub fn plain(title: &'a str, x_label: &'a str, values: &'a [f64], bins: usize) -> Self {
        Histogram {
            title,
            x_label,
            values,
            label: "",
            stacked: &[],
            stacked_label: "",
            bins,
            marker: None,
        }
    }
}

const BAR: RGBColor = RGBColor(70, 110, 170);
const BAR2: RGBColor = RGBColor(230, 140, 40);
const MARK: RGBColor = RGBColor(200, 40, 40);
const WIDTH: u32 = 1000;
const PANEL_H: u32 = 290;
const TITLE_H: u32 = 44;
/// Fewest integers an integer-valued panel spans (see [`Histogram::bins`]).
const MIN_INTEGER_BINS: usize = 9;

/// A panel's bins: `counts[k]` and `counts2[k]` values fall in `[lo + k·width, lo + (k+1)·width)`.
struct Binned {
    lo: f64,
    width: f64,
    counts: Vec<u32>,
    counts2: Vec<u32>,
    integer: bool,
}

/// Bins a panel's finite values; `None` when it has none.
fn bin(p: &Histogram<'_>) -> Option<Binned> {
    let finite = |v: &[f64]| {
        v.iter()
            .copied()
            .filter(|v| v.is_finite())
            .collect::<Vec<_>>()
    };
    let (a, b) = (finite(p.values), finite(p.stacked));
    let marker = p.marker.map(|m| m.at).filter(|m| m.is_finite());
    let all = || a.iter().chain(&b).chain(marker.iter()).copied();
    if a.is_empty() && b.is_empty() {
        return None;
    }
    let (mut lo, mut hi) = all().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
        (l.min(v), h.max(v))
    });
    let bins = p.bins.max(1);
    let integer = all().all(|v| v.fract() == 0.0) && hi - lo + 1.0 <= bins as f64;
    let (lo, width, n) = if integer {
        // At least MIN_INTEGER_BINS integers, centred on the values, so one rank alone
        // is a bar among its neighbours rather than the whole panel.
        let pad = MIN_INTEGER_BINS
            .saturating_sub((hi - lo) as usize + 1)
            .div_ceil(2) as f64;
        let (lo, hi) = (lo - pad, hi + pad);
        (lo - 0.5, 1.0, (hi - lo) as usize + 1)
    } else {
        if hi - lo < 1e-12 {
            lo -= 0.5;
            hi += 0.5;
        }
        (lo, (hi - lo) / bins as f64, bins)
    };
    let count = |vals: &[f64]| {
        let mut c = vec![0u32; n];
        for v in vals {
            c[(((v - lo) / width).floor().max(0.0) as usize).min(n - 1)] += 1;
        }
        c
    };
    Some(Binned {
        lo,
        width,
        counts: count(&a),
        counts2: count(&b),
        integer,
    })
}

/// The panel's legend entries: (colour, is a line, text).
fn legend(p: &Histogram<'_>) -> Vec<(RGBColor, bool, String)> {
    let mut out = Vec::new();
    if !p.label.is_empty() {
        out.push((BAR, false, p.label.to_string()));
    }
    if !p.stacked.is_empty() && !p.stacked_label.is_empty() {
        out.push((BAR2, false, p.stacked_label.to_string()));
    }
    if let Some(m) = p.marker.filter(|m| m.at.is_finite() && !m.label.is_empty()) {
        out.push((MARK, true, m.label.to_string()));
    }
    out
}

/// Draws `panels` as histograms stacked vertically under `title` into an RGB PNG at `path`
/// (atomic write). Each panel has its title, bars with a count axis ("latents") and ticks, an
/// x axis with ticks and label, and a legend column at the right naming the series and marker.
pub fn histograms_png(path: &Path, title: &str, panels: &[Histogram<'_>]) -> Result<()> {
    ensure_font()?;
    let legend_w = panels
        .iter()
        .flat_map(legend)
        .map(|(_, _, t)| text_size(&t, 14).0 + 48)
        .max()
        .unwrap_or(0);
    let title_h = if title.is_empty() { 0 } else { TITLE_H };
    let (w, h) = (
        WIDTH + legend_w,
        title_h + PANEL_H * panels.len().max(1) as u32,
    );
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    draw(&mut rgb, (w, h), title, panels).with_context(|| format!("drawing {}", path.display()))?;
    write_rgb_png(path, w as usize, h as usize, &rgb)
}

fn draw(rgb: &mut [u8], size: (u32, u32), title: &str, panels: &[Histogram<'_>]) -> Result<()> {
    let root = Canvas::new(rgb, size).into_drawing_area();
    let body = if title.is_empty() {
        root.clone()
    } else {
        let (head, body) = root.split_vertically(TITLE_H);
        head.draw(&Text::new(
            title.to_string(),
            (16, TITLE_H as i32 / 2),
            anchored(20, HPos::Left),
        ))?;
        body
    };
    for (area, p) in body
        .split_evenly((panels.len().max(1), 1))
        .iter()
        .zip(panels)
    {
        let (chart, side) = area.split_horizontally(WIDTH);
        draw_panel(&chart, p)?;
        for (k, (colour, line, text)) in legend(p).into_iter().enumerate() {
            let y = 44 + 24 * k as i32;
            if line {
                side.draw(&PathElement::new([(4, y), (24, y)], colour.stroke_width(3)))?;
            } else {
                side.draw(&Rectangle::new([(4, y - 7), (24, y + 7)], colour.filled()))?;
            }
            let style = anchored(14, HPos::Left);
            side.draw(&Text::new(text, (32, y), style))?;
        }
    }
    root.present()?;
    Ok(())
}

fn draw_panel(area: &DrawingArea<Canvas<'_>, Shift>, p: &Histogram<'_>) -> Result<()> {
    let dropped = [p.values, p.stacked]
        .iter()
        .map(|v| v.iter().filter(|v| !v.is_finite()).count())
        .sum::<usize>();
    let title = match dropped {
        0 => p.title.to_string(),
        d => format!("{} [{d} non-finite left out]", p.title),
    };
    let Some(b) = bin(p) else {
        let inner = area.titled(&title, font(16).color(&INK))?;
        let style = anchored(16, HPos::Center);
        let (w, h) = inner.dim_in_pixel();
        inner.draw(&Text::new("no data", (w as i32 / 2, h as i32 / 2), style))?;
        return Ok(());
    };
    let n = b.counts.len();
    let (x0, x1) = (b.lo, b.lo + b.width * n as f64);
    let pad = if b.integer { 0.0 } else { 0.02 * (x1 - x0) };
    let tallest = (0..n)
        .map(|k| b.counts[k] + b.counts2[k])
        .max()
        .unwrap_or(0);
    let y_top = ((tallest as f64 * 1.1).ceil() as u32).max(tallest + 1);
    let mut chart = ChartBuilder::on(area)
        .caption(&title, font(16).color(&INK))
        .margin(8)
        .margin_right(16)
        .x_label_area_size(46)
        .y_label_area_size(70)
        .build_cartesian_2d(x0 - pad..x1 + pad, 0u32..y_top)?;
    let x_span = x1 - x0 + 2.0 * pad;
    let integer = b.integer;
    // Integer panels label whole numbers only (plotters may place ticks between them).
    let x_fmt = move |v: &f64| match integer {
        true if (v - v.round()).abs() < 1e-6 => format!("{v:.0}"),
        true => String::new(),
        false => tick_label(*v, x_span / 10.0),
    };
    let x_ticks = if integer { (n + 1).min(12) } else { 12 };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .bold_line_style(RGBColor(225, 225, 225))
        .light_line_style(TRANSPARENT)
        .axis_style(INK)
        .x_labels(x_ticks)
        .y_labels(6)
        .x_label_formatter(&x_fmt)
        .x_desc(p.x_label)
        .y_desc("latents")
        .label_style(font(13).color(&INK))
        .axis_desc_style(font(14).color(&INK))
        .draw()?;
    let edge = |k: usize| b.lo + b.width * k as f64;
    let bars = |heights: &dyn Fn(usize) -> (u32, u32), colour: RGBColor| {
        (0..n)
            .filter(move |&k| heights(k).1 > heights(k).0)
            .map(move |k| {
                let (y0, y1) = heights(k);
                let mut r = Rectangle::new([(edge(k), y0), (edge(k + 1), y1)], colour.filled());
                r.set_margin(0, 0, 1, 1);
                r
            })
            .collect::<Vec<_>>()
    };
    chart.draw_series(bars(&|k| (0, b.counts[k]), BAR))?;
    chart.draw_series(bars(&|k| (b.counts[k], b.counts[k] + b.counts2[k]), BAR2))?;
    if let Some(m) = p.marker.filter(|m| m.at.is_finite()) {
        chart.draw_series(LineSeries::new(
            [(m.at, 0), (m.at, y_top)],
            MARK.stroke_width(2),
        ))?;
    }
    Ok(())
}

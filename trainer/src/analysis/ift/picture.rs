//! The IFT histograms as a PNG, drawn by [`crate::viz::histograms_png`].

use super::*;

use crate::viz::{histograms_png, Histogram, Marker};
use anyhow::Result;
use std::path::Path;

/// The IFT histograms of a report, one panel each, under a title naming `model` (e.g.
/// "fashion-mnist.hinr (fashion-mnist, test)"; "" leaves the name out) and the count:
///
/// 1. log₁₀ σ_min(J), counting latents with σ_min = 0 (left out: no logarithm);
/// 2. log₁₀ cond(J), counting infinite ones, with a red line at the rank tolerance
///    (latents left of it have full column rank);
/// 3. log₁₀ |λ_min| / max|λ| of the loss Hessian in z, positive λ_min in blue and negative
///    ones stacked in orange, counting the positive definite ones;
/// 4. the numerical rank of J, one bar per rank, with a red line at full rank `l`.
///
/// Non-finite values are left out of the bars and counted in their panel's title by
/// [`histograms_png`]. The figures are the report's: drawing changes no number.
pub fn ift_histogram_png(report: &IftReport, model: &str, path: &Path) -> Result<()> {
    let n = report.samples;
    let rows = &report.per_latent;
    let (l, d) = (report.latent_dim, report.siren_params);
    let sig: Vec<f64> = (rows.iter())
        .filter(|r| r.jacobian.sigma_min != 0.0)
        .map(|r| r.jacobian.sigma_min.log10())
        .collect();
    let cond: Vec<f64> = (rows.iter())
        .filter_map(|r| r.jacobian.condition.map(f64::log10))
        .collect();
    // log10(|λ_min| / max|λ|), split by the sign of λ_min (NaN goes with the negative ones
    // and is counted as non-finite).
    let rel = |positive: bool| -> Vec<f64> {
        (rows.iter())
            .filter(|r| r.hessian.min_eig != 0.0 && (r.hessian.min_eig > 0.0) == positive)
            .map(|r| {
                let (lo, hi) = (r.hessian.min_eig, r.hessian.max_eig);
                (lo.abs() / lo.abs().max(hi.abs())).log10()
            })
            .collect()
    };
    let (rel_pos, rel_neg) = (rel(true), rel(false));
    let zero_eig = rows.iter().filter(|r| r.hessian.min_eig == 0.0).count();
    let full = rows.iter().filter(|r| r.jacobian.full_rank).count();
    let pd = (rows.iter())
        .filter(|r| r.hessian.definiteness == Definiteness::PositiveDefinite)
        .count();
    let ranks: Vec<f64> = rows.iter().map(|r| r.jacobian.rank as f64).collect();

    let count_of = |k: usize, what: &str| match k {
        0 => String::new(),
        k => format!(", {k} {what} left out"),
    };
    let t1 = format!(
        "log₁₀ σ_min(J), smallest singular value of ∂φ/∂z{}",
        count_of(n - sig.len(), "with σ_min = 0")
    );
    let t2 = format!(
        "log₁₀ cond(J): {full} of {n} full rank (left of the red line){}",
        count_of(n - cond.len(), "infinite")
    );
    let t3 = format!(
        "log₁₀ |λ_min| / max|λ| of the loss Hessian in z: {pd} of {n} positive definite{}",
        count_of(zero_eig, "with λ_min = 0")
    );
    let t4 = format!(
        "rank of J: median {}, min {}, full rank l = {l}",
        report.rank_median, report.rank_min
    );
    // cond(J) ≥ 1 / (max(d, l) · ε_f32) exactly when σ_min is under the rank tolerance.
    let rank_line = -((d.max(l) as f64) * f64::from(f32::EPSILON)).log10();
    let tolerance = "rank tolerance 1 / (max(d, l) · ε_f32)";
    let full_label = format!("full rank l = {l}");
    // One bin per integer from the smallest rank to l, at most 128.
    let rank_bins = (l.saturating_sub(report.rank_min) + 1).clamp(1, 128);
    let panels = [
        Histogram::plain(&t1, "log₁₀ σ_min(J)", &sig, 30),
        Histogram {
            marker: Some(Marker {
                at: rank_line,
                label: tolerance,
            }),
            ..Histogram::plain(&t2, "log₁₀ cond(J) = log₁₀ σ_max / σ_min", &cond, 30)
        },
        Histogram {
            label: "λ_min > 0",
            stacked: &rel_neg,
            stacked_label: "λ_min < 0",
            ..Histogram::plain(&t3, "log₁₀ |λ_min| / max|λ|", &rel_pos, 30)
        },
        Histogram {
            marker: Some(Marker {
                at: l as f64,
                label: &full_label,
            }),
            ..Histogram::plain(&t4, "numerical rank of J", &ranks, rank_bins)
        },
    ];
    let subject = match model {
        "" => "IFT check".to_string(),
        m => format!("IFT check of {m}"),
    };
    let title = format!("{subject}: {n} stored latents, J = ∂φ/∂z is d × l = {d} × {l}");
    histograms_png(path, &title, &panels)
}

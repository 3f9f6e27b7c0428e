//! Pictures of the latent space: a 2-D PCA or t-SNE map of stored latents coloured by class
//! (with a legend), an interpolation strip between two latents decoded by the runtime (both
//! drawn by [`crate::viz`]), and the
//! neighbour check of the paper's claim (do latents that are close decode to shapes or
//! images that are close?).

use anyhow::{bail, Result};
use hyperinr_runtime::Model;
use nalgebra::{DMatrix, SymmetricEigen};
use std::path::Path;

pub use crate::eval::stored::StoredLatents;

/// A 2-D principal-component projection: coordinates and the variance share of each axis.
pub struct Projection {
    /// `n × 2` coordinates.
    pub points: Vec<[f64; 2]>,
    /// Share of the total variance along PC1 and PC2 (zero for t-SNE).
    pub explained: [f64; 2],
    /// What each axis is, for a map's axis labels: "PC 1 (23.4 % of variance)", "t-SNE 1".
    pub axes: [String; 2],
}

/// Projects the latents on their two leading principal components (eigenvectors of the
/// covariance, in f64).
pub fn pca_2d(latents: &StoredLatents) -> Result<Projection> {
    let (n, d) = (latents.len(), latents.dim);
    if n < 2 {
        bail!("PCA needs at least 2 latents, the model stores {n}");
    }
    let mut mean = vec![0.0f64; d];
    for i in 0..n {
        for (m, &v) in mean.iter_mut().zip(latents.latent(i)) {
            *m += v as f64 / n as f64;
        }
    }
    let centred = DMatrix::from_fn(n, d, |i, j| latents.latent(i)[j] as f64 - mean[j]);
    let cov = centred.transpose() * &centred / (n - 1) as f64;
    let eig = SymmetricEigen::new(cov);
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
    let total: f64 = eig.eigenvalues.iter().map(|v| v.max(0.0)).sum();
    let axes = [order[0], order[1.min(d - 1)]];
    let proj = |i: usize, a: usize| -> f64 {
        (0..d)
            .map(|j| centred[(i, j)] * eig.eigenvectors[(j, a)])
            .sum()
    };
    let explained = axes.map(|a| eig.eigenvalues[a].max(0.0) / total.max(f64::MIN_POSITIVE));
    Ok(Projection {
        points: (0..n)
            .map(|i| [proj(i, axes[0]), proj(i, axes[1])])
            .collect(),
        explained,
        axes: [0, 1].map(|k| format!("PC {} ({:.1} % of variance)", k + 1, 100.0 * explained[k])),
    })
}

/// A 2-D t-SNE embedding of the latents (Barnes-Hut, θ = 0.5, Euclidean distance, the
/// `bhtsne` crate), started from the PCA projection scaled to standard deviation 1e-4
/// (the usual PCA initialisation; the crate's own is random), which keeps well-separated
/// groups apart from the start. The crate's neighbour search is still randomised, so maps
/// differ slightly between runs. `explained` is not defined for t-SNE and is left at zero.
pub fn tsne_2d(latents: &StoredLatents, perplexity: f32, epochs: usize) -> Result<Projection> {
    let n = latents.len();
    // t-SNE needs about 3 × perplexity neighbours per point.
    if (n as f32) < 3.0 * perplexity + 2.0 {
        bail!(
            "t-SNE with perplexity {perplexity} needs more than {} latents, got {n}",
            (3.0 * perplexity + 1.0) as usize
        );
    }
    let rows: Vec<&[f32]> = (0..n).map(|i| latents.latent(i)).collect();
    // The embedding dimension is the const parameter, 2 by default.
    let pca = pca_2d(latents)?;
    let sd = (pca.points.iter().map(|p| p[0] * p[0]).sum::<f64>() / n as f64)
        .sqrt()
        .max(f64::MIN_POSITIVE);
    let init: Vec<f32> = pca
        .points
        .iter()
        .flat_map(|p| [(p[0] / sd * 1e-4) as f32, (p[1] / sd * 1e-4) as f32])
        .collect();
    let mut tsne: bhtsne::tSNE<f32, &[f32]> = bhtsne::tSNE::new(&rows);
    tsne.initial_embedding(init)
        .perplexity(perplexity)
        .epochs(epochs)
        .barnes_hut(0.5, |a, b| {
            a.iter()
                .zip(b.iter())
                .map(|(x, y)| (x - y) * (x - y))
                .sum::<f32>()
                .sqrt()
        });
    let flat = tsne.embedding();
    if flat.len() != 2 * n || flat.iter().any(|v| !v.is_finite()) {
        bail!(
            "t-SNE returned {} values for {n} latents (or non-finite ones)",
            flat.len()
        );
    }
    Ok(Projection {
        points: flat
            .chunks_exact(2)
            .map(|p| [p[0] as f64, p[1] as f64])
            .collect(),
        explained: [0.0, 0.0],
        axes: ["t-SNE 1".to_string(), "t-SNE 2".to_string()],
    })
}

/// Pearson correlation of two equally long series.
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len()) as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    sab / (saa * sbb).sqrt().max(f64::MIN_POSITIVE)
}

/// Ranks (average rank for ties), for Spearman's correlation.
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && v[order[j + 1]] == v[order[i]] {
            j += 1;
        }
        for &k in &order[i..=j] {
            r[k] = (i + j) as f64 / 2.0;
        }
        i = j + 1;
    }
    r
}

/// Spearman rank correlation.
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    pearson(&ranks(a), &ranks(b))
}

// ---------------------------------------------------------------------------------------------
// Drawing (by crate::viz)
// ---------------------------------------------------------------------------------------------

/// The map of a projection ([`pca_2d`], [`tsne_2d`]): one marker per latent in its class's
/// colour, axes labelled with what they are ([`Projection::axes`]), a legend of
/// `class_names` (indexed by label), under `title`. Drawn by [`crate::viz::scatter_map_png`].
pub fn latent_map_png(
    proj: &Projection,
    labels: &[u8],
    class_names: &[&str],
    title: &str,
    path: &Path,
) -> Result<()> {
    let points: Vec<[f32; 2]> = (proj.points.iter())
        .map(|p| [p[0] as f32, p[1] as f32])
        .collect();
    let classes: Vec<usize> = labels.iter().map(|&l| l as usize).collect();
    let names: Vec<String> = class_names.iter().map(|s| s.to_string()).collect();
    crate::viz::scatter_map_png(
        path,
        &crate::viz::ScatterMap {
            title,
            x_label: &proj.axes[0],
            y_label: &proj.axes[1],
            points: &points,
            classes: &classes,
            class_names: &names,
        },
    )
}

// ---------------------------------------------------------------------------------------------
// Reconstructions through the runtime
// ---------------------------------------------------------------------------------------------

/// What a latent decodes to, as a vector comparable across latents: the rendered image
/// (clamped to [0, 1]) or the UDF at fixed probe points (clamped to [0, clamp]).
pub fn reconstruction_signature(model: &Model<'_>, latent: &[f32]) -> Result<Vec<f32>> {
    match model.config().input {
        hyperinr_shared::InputKind::Image { width, height } => {
            let s = model.sizes();
            let mut w = vec![0.0f32; s.weights];
            let mut scratch = vec![0.0f32; s.scratch];
            model.decode_weights(latent, &mut w, &mut scratch)?;
            let mut px = vec![0.0f32; (width * height) as usize * s.out_dim];
            model.render_image(&w, &mut px, &mut scratch)?;
            Ok(px.into_iter().map(|v| v.clamp(0.0, 1.0)).collect())
        }
        hyperinr_shared::InputKind::PointCloud { udf_clamp, .. } => {
            let probes = crate::data::samples::cube_probes(crate::eval::UDF_PROBES);
            crate::eval::model_udf_at(model, latent, &probes, udf_clamp)
        }
    }
}

/// Latent distance vs reconstruction distance (both Euclidean; the reconstruction one is the
/// RMS difference of [`reconstruction_signature`]s).
#[derive(Clone, Debug, serde::Serialize)]
pub struct NeighbourReport {
    /// Latents compared.
    pub latents: usize,
    /// Nearest neighbours per latent.
    pub k: usize,
    /// Pearson correlation over the k-nearest-neighbour pairs.
    pub neighbour_pearson: f64,
    /// Spearman correlation over the k-nearest-neighbour pairs.
    pub neighbour_spearman: f64,
    /// Spearman correlation over all pairs.
    pub all_pairs_spearman: f64,
    /// Mean reconstruction distance to the nearest latent neighbour.
    pub nearest_recon_distance: f64,
    /// Mean reconstruction distance between random (all) pairs.
    pub all_pairs_recon_distance: f64,
    /// Share of latents whose nearest latent neighbour has the same label.
    pub nearest_same_class: f64,
}

/// The neighbour check over `latents` (all pairs; keep `n` to a few thousand).
pub fn neighbour_check(
    model: &Model<'_>,
    latents: &StoredLatents,
    k: usize,
) -> Result<NeighbourReport> {
    let n = latents.len();
    if n < k + 1 {
        bail!("the neighbour check needs more than {k} latents, got {n}");
    }
    let sig = (0..n)
        .map(|i| reconstruction_signature(model, latents.latent(i)))
        .collect::<Result<Vec<_>>>()?;
    let dist = |a: &[f32], b: &[f32]| -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| ((x - y) as f64).powi(2))
            .sum::<f64>()
    };
    let m = sig[0].len() as f64;
    let (mut all_z, mut all_x) = (Vec::new(), Vec::new());
    let mut dz = vec![vec![0.0f64; n]; n];
    for i in 0..n {
        for j in i + 1..n {
            let z = dist(latents.latent(i), latents.latent(j)).sqrt();
            let x = (dist(&sig[i], &sig[j]) / m).sqrt();
            dz[i][j] = z;
            dz[j][i] = z;
            all_z.push(z);
            all_x.push(x);
        }
    }
    let pair_x = |i: usize, j: usize| (dist(&sig[i], &sig[j]) / m).sqrt();
    let (mut nz, mut nx) = (Vec::new(), Vec::new());
    let (mut nearest_x, mut same) = (0.0f64, 0usize);
    for (i, row) in dz.iter().enumerate() {
        let mut order: Vec<usize> = (0..n).filter(|&j| j != i).collect();
        order.sort_by(|&a, &b| row[a].total_cmp(&row[b]));
        for (rank, &j) in order.iter().take(k).enumerate() {
            nz.push(row[j]);
            nx.push(pair_x(i, j));
            if rank == 0 {
                nearest_x += pair_x(i, j);
                same += (latents.labels[i] == latents.labels[j]) as usize;
            }
        }
    }
    Ok(NeighbourReport {
        latents: n,
        k,
        neighbour_pearson: pearson(&nz, &nx),
        neighbour_spearman: spearman(&nz, &nx),
        all_pairs_spearman: spearman(&all_z, &all_x),
        nearest_recon_distance: nearest_x / n as f64,
        all_pairs_recon_distance: all_x.iter().sum::<f64>() / all_x.len() as f64,
        nearest_same_class: same as f64 / n as f64,
    })
}

/// The strip: `steps` latents on the segment from `a` to `b`, each decoded by the runtime and
/// drawn side by side in one row, captioned with its `t` (the two ends also with `ends`, their
/// classes): images at 3× zoom; shapes as front projections (along y) of their
/// reconstructed surface at 2×. Drawn by [`crate::viz::image_grid_png`] under `title`.
pub fn interpolation_strip(
    model: &Model<'_>,
    a: &[f32],
    b: &[f32],
    steps: usize,
    ends: [&str; 2],
    title: &str,
    path: &Path,
) -> Result<()> {
    let steps = steps.max(2);
    let mut tiles = Vec::with_capacity(steps);
    let mut scale = 3;
    for k in 0..steps {
        let t = k as f32 / (steps - 1) as f32;
        let z: Vec<f32> = a
            .iter()
            .zip(b)
            .map(|(x, y)| (1.0 - t) * x + t * y)
            .collect();
        let tile = match model.config().input {
            hyperinr_shared::InputKind::Image { width, height } => {
                let img = reconstruction_signature(model, &z)?;
                crate::viz::Tile::unit(&img, width as usize, height as usize)
            }
            hyperinr_shared::InputKind::PointCloud { .. } => {
                let panel = crate::viz::PANEL;
                scale = 2;
                let px = match crate::eval::reconstruct_surface(model, &z, 2048, 0.02, k as u64) {
                    Ok(points) => crate::viz::projection(&points, 1),
                    Err(_) => vec![0u8; panel * panel],
                };
                crate::viz::Tile::gray(px, panel, panel)
            }
        };
        let caption = match k {
            0 => format!("t = 0 ({})", ends[0]),
            _ if k == steps - 1 => format!("t = 1 ({})", ends[1]),
            _ => format!("t = {t:.2}"),
        };
        tiles.push(tile.with_caption(caption));
    }
    crate::viz::image_grid_png(
        path,
        &crate::viz::ImageGrid {
            title,
            column_captions: &[],
            group_captions: &[],
            row_captions: &[],
            rows: &[tiles],
            scale,
            group: 0,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlations() {
        let a = [1.0, 2.0, 3.0, 4.0];
        assert!((pearson(&a, &[2.0, 4.0, 6.0, 8.0]) - 1.0).abs() < 1e-12);
        assert!((pearson(&a, &[8.0, 6.0, 4.0, 2.0]) + 1.0).abs() < 1e-12);
        // Monotone but not linear: Spearman 1, Pearson below 1.
        let cubic = [1.0, 8.0, 27.0, 64.0];
        assert!((spearman(&a, &cubic) - 1.0).abs() < 1e-12);
        assert!(pearson(&a, &cubic) < 0.99);
        assert_eq!(ranks(&[3.0, 1.0, 3.0]), vec![1.5, 0.0, 1.5]);
    }

    #[test]
    fn pca_finds_the_direction_of_spread() {
        // Points along (1, 2, 0) with a little noise along z.
        let values: Vec<f32> = (0..50)
            .flat_map(|i| {
                let t = i as f32 - 25.0;
                [t, 2.0 * t, 0.01 * ((i % 3) as f32 - 1.0)]
            })
            .collect();
        let latents = StoredLatents {
            dim: 3,
            values,
            labels: vec![0; 50],
            dataset_indices: (0..50).collect(),
        };
        let p = pca_2d(&latents).unwrap();
        assert!(
            p.explained[0] > 0.999 && p.explained[1] < 1e-3,
            "{:?}",
            p.explained
        );
        // PC1 coordinates are the points' positions along the line (up to sign).
        let scale = 5f64.sqrt();
        for (i, q) in p.points.iter().enumerate() {
            assert!((q[0].abs() - ((i as f64 - 24.5) * scale).abs()).abs() < 1e-3);
        }
    }

    #[test]
    fn tsne_separates_two_far_clusters() {
        // Two tight clusters far apart in 8-D: t-SNE keeps every point nearer its own
        // cluster's centre than the other's.
        let values: Vec<f32> = (0..200)
            .flat_map(|i| {
                let base = if i < 100 { 0.0 } else { 10.0 };
                (0..8).map(move |j| base + 0.01 * (((i * 7 + j * 13) % 17) as f32 - 8.0))
            })
            .collect();
        let latents = StoredLatents {
            dim: 8,
            values,
            labels: (0..200).map(|i| (i >= 100) as u8).collect(),
            dataset_indices: (0..200).collect(),
        };
        let p = tsne_2d(&latents, 10.0, 500).unwrap();
        let centre = |r: std::ops::Range<usize>| {
            let n = r.len() as f64;
            r.fold([0.0; 2], |c, i| {
                [c[0] + p.points[i][0] / n, c[1] + p.points[i][1] / n]
            })
        };
        let (a, b) = (centre(0..100), centre(100..200));
        let d = |q: [f64; 2], c: [f64; 2]| (q[0] - c[0]).hypot(q[1] - c[1]);
        for (i, q) in p.points.iter().enumerate() {
            let (own, other) = if i < 100 { (a, b) } else { (b, a) };
            assert!(d(*q, own) < d(*q, other), "point {i}");
        }
        assert!(tsne_2d(&latents.take_for_test(10), 30.0, 10).is_err());
    }

    impl StoredLatents {
        fn take_for_test(&self, n: usize) -> StoredLatents {
            StoredLatents {
                dim: self.dim,
                values: self.values[..n * self.dim].to_vec(),
                labels: self.labels[..n].to_vec(),
                dataset_indices: self.dataset_indices[..n].to_vec(),
            }
        }
    }
}

//! Pictures of the latent space: a 2-D PCA map of stored latents coloured by class (with a
//! legend), an interpolation strip between two latents decoded by the runtime, and the
//! neighbour check of the paper's claim (do latents that are close decode to shapes or
//! images that are close?).

use anyhow::{anyhow, bail, Result};
use hyperinr_runtime::Model;
use nalgebra::{DMatrix, SymmetricEigen};
use std::path::Path;

/// Stored latents of a model file (dequantised) with their labels from the file.
pub struct StoredLatents {
    /// Latent length.
    pub dim: usize,
    /// `n × dim` values.
    pub values: Vec<f32>,
    /// Label of each latent.
    pub labels: Vec<u8>,
}

impl StoredLatents {
    /// The first `limit` stored latents of `model` (all when 0).
    pub fn read(model: &Model<'_>, limit: usize) -> Result<Self> {
        let dim = model.sizes().latent;
        let n = if limit == 0 {
            model.latent_count()
        } else {
            limit.min(model.latent_count())
        };
        let mut values = vec![0.0f32; n * dim];
        let mut labels = Vec::with_capacity(n);
        for (i, z) in values.chunks_exact_mut(dim).enumerate() {
            labels.push(model.stored_latent(i, z).map_err(|e| anyhow!("{e}"))?.label);
        }
        Ok(StoredLatents {
            dim,
            values,
            labels,
        })
    }

    /// Number of latents.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no latents.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Latent `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.values[i * self.dim..(i + 1) * self.dim]
    }
}

/// A 2-D principal-component projection: coordinates and the variance share of each axis.
pub struct Projection {
    /// `n × 2` coordinates.
    pub points: Vec<[f64; 2]>,
    /// Share of the total variance along PC1 and PC2.
    pub explained: [f64; 2],
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
        for (m, &v) in mean.iter_mut().zip(latents.row(i)) {
            *m += v as f64 / n as f64;
        }
    }
    let centred = DMatrix::from_fn(n, d, |i, j| latents.row(i)[j] as f64 - mean[j]);
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
    Ok(Projection {
        points: (0..n)
            .map(|i| [proj(i, axes[0]), proj(i, axes[1])])
            .collect(),
        explained: axes.map(|a| eig.eigenvalues[a].max(0.0) / total.max(f64::MIN_POSITIVE)),
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
    let rows: Vec<&[f32]> = (0..n).map(|i| latents.row(i)).collect();
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
// Drawing
// ---------------------------------------------------------------------------------------------

/// An RGB canvas.
pub struct Canvas {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width × height × 3` bytes.
    pub rgb: Vec<u8>,
}

/// 5×7 glyphs (one byte per row, low 5 bits, MSB = left) for the characters class names use.
const FONT: &[(char, [u8; 7])] = &[
    ('a', [0, 0, 14, 1, 15, 17, 15]),
    ('b', [16, 16, 22, 25, 17, 17, 30]),
    ('c', [0, 0, 14, 16, 16, 17, 14]),
    ('d', [1, 1, 13, 19, 17, 17, 15]),
    ('e', [0, 0, 14, 17, 31, 16, 14]),
    ('f', [6, 9, 8, 28, 8, 8, 8]),
    ('g', [0, 15, 17, 17, 15, 1, 14]),
    ('h', [16, 16, 22, 25, 17, 17, 17]),
    ('i', [4, 0, 12, 4, 4, 4, 14]),
    ('j', [2, 0, 6, 2, 2, 18, 12]),
    ('k', [16, 16, 18, 20, 24, 20, 18]),
    ('l', [12, 4, 4, 4, 4, 4, 14]),
    ('m', [0, 0, 26, 21, 21, 17, 17]),
    ('n', [0, 0, 22, 25, 17, 17, 17]),
    ('o', [0, 0, 14, 17, 17, 17, 14]),
    ('p', [0, 0, 30, 17, 30, 16, 16]),
    ('q', [0, 0, 13, 19, 15, 1, 1]),
    ('r', [0, 0, 22, 25, 16, 16, 16]),
    ('s', [0, 0, 14, 16, 14, 1, 30]),
    ('t', [8, 8, 28, 8, 8, 9, 6]),
    ('u', [0, 0, 17, 17, 17, 19, 13]),
    ('v', [0, 0, 17, 17, 17, 10, 4]),
    ('w', [0, 0, 17, 17, 21, 21, 10]),
    ('x', [0, 0, 17, 10, 4, 10, 17]),
    ('y', [0, 0, 17, 17, 15, 1, 14]),
    ('z', [0, 0, 31, 2, 4, 8, 31]),
    ('0', [14, 17, 19, 21, 25, 17, 14]),
    ('1', [4, 12, 4, 4, 4, 4, 14]),
    ('2', [14, 17, 1, 2, 4, 8, 31]),
    ('3', [31, 2, 4, 2, 1, 17, 14]),
    ('4', [2, 6, 10, 18, 31, 2, 2]),
    ('5', [31, 16, 30, 1, 1, 17, 14]),
    ('6', [6, 8, 16, 30, 17, 17, 14]),
    ('7', [31, 1, 2, 4, 8, 8, 8]),
    ('8', [14, 17, 17, 14, 17, 17, 14]),
    ('9', [14, 17, 17, 15, 1, 2, 12]),
    ('_', [0, 0, 0, 0, 0, 0, 31]),
    ('-', [0, 0, 0, 14, 0, 0, 0]),
    ('/', [0, 1, 2, 4, 8, 16, 0]),
    ('.', [0, 0, 0, 0, 0, 12, 12]),
    ('%', [24, 25, 2, 4, 8, 19, 3]),
    ('(', [2, 4, 8, 8, 8, 4, 2]),
    (')', [8, 4, 2, 2, 2, 4, 8]),
    (',', [0, 0, 0, 0, 12, 4, 8]),
    (':', [0, 12, 12, 0, 12, 12, 0]),
];

impl Canvas {
    /// A canvas filled with `bg`.
    pub fn new(width: usize, height: usize, bg: [u8; 3]) -> Self {
        Canvas {
            width,
            height,
            rgb: bg.repeat(width * height),
        }
    }

    /// Sets a pixel (ignored outside the canvas).
    pub fn put(&mut self, x: i64, y: i64, c: [u8; 3]) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            let o = (y as usize * self.width + x as usize) * 3;
            self.rgb[o..o + 3].copy_from_slice(&c);
        }
    }

    /// A filled square of side `2r + 1` centred at `(x, y)`.
    pub fn dot(&mut self, x: i64, y: i64, r: i64, c: [u8; 3]) {
        for dy in -r..=r {
            for dx in -r..=r {
                self.put(x + dx, y + dy, c);
            }
        }
    }

    /// Text in the 5×7 font (upper case drawn as lower case; unknown characters as blanks).
    pub fn text(&mut self, x: i64, y: i64, s: &str, c: [u8; 3]) {
        for (k, ch) in s.chars().enumerate() {
            let ch = ch.to_ascii_lowercase();
            if let Some((_, rows)) = FONT.iter().find(|(g, _)| *g == ch) {
                for (ry, bits) in rows.iter().enumerate() {
                    for rx in 0..5 {
                        if bits & (16 >> rx) != 0 {
                            self.put(x + 6 * k as i64 + rx, y + ry as i64, c);
                        }
                    }
                }
            }
        }
    }

    /// Copies a grayscale image (`w × h` bytes) to `(x, y)`.
    pub fn blit_gray(&mut self, x: usize, y: usize, w: usize, h: usize, px: &[u8]) {
        for r in 0..h {
            for c in 0..w {
                let v = px[r * w + c];
                self.put((x + c) as i64, (y + r) as i64, [v, v, v]);
            }
        }
    }

    /// Writes an RGB PNG atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut buf = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut buf, self.width as u32, self.height as u32);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            enc.write_header()?.write_image_data(&self.rgb)?;
        }
        hyperinr_data::io::write_atomic(path, &buf)
    }
}

/// A distinct colour for class `k` of `n` (hues around the circle, two lightness levels).
pub fn class_colour(k: usize, n: usize) -> [u8; 3] {
    let h = (k as f64 / n.max(1) as f64) * 6.0;
    let (l, s) = if k.is_multiple_of(2) {
        (0.55, 0.85)
    } else {
        (0.40, 0.75)
    };
    let c = (1.0 - (2.0 * l - 1.0f64).abs()) * s;
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

/// The PCA map: one dot per latent, coloured by class, with a legend of class names.
pub fn latent_map_png(
    proj: &Projection,
    labels: &[u8],
    class_names: &[&str],
    title: &str,
    path: &Path,
) -> Result<()> {
    let n_classes = class_names.len();
    let plot = 560usize;
    let legend_rows = n_classes.min(40);
    let legend_cols = if legend_rows > 20 { 2 } else { 1 };
    let legend_w = 130 * legend_cols;
    let (w, h) = (plot + legend_w + 30, plot + 40);
    let mut c = Canvas::new(w, h, [255, 255, 255]);
    c.text(10, 8, title, [0, 0, 0]);
    let (x0, y0) = (10usize, 28usize);
    for k in 0..plot {
        for (x, y) in [
            (x0 + k, y0),
            (x0 + k, y0 + plot - 1),
            (x0, y0 + k),
            (x0 + plot - 1, y0 + k),
        ] {
            c.put(x as i64, y as i64, [180, 180, 180]);
        }
    }
    let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
    for p in &proj.points {
        for a in 0..2 {
            lo[a] = lo[a].min(p[a]);
            hi[a] = hi[a].max(p[a]);
        }
    }
    let span = (0..2)
        .map(|a| (hi[a] - lo[a]).max(1e-12))
        .collect::<Vec<_>>();
    for (p, &l) in proj.points.iter().zip(labels) {
        let px = x0 as f64 + 6.0 + (p[0] - lo[0]) / span[0] * (plot as f64 - 12.0);
        let py = y0 as f64 + plot as f64 - 6.0 - (p[1] - lo[1]) / span[1] * (plot as f64 - 12.0);
        c.dot(px as i64, py as i64, 1, class_colour(l as usize, n_classes));
    }
    let per_col = legend_rows.div_ceil(legend_cols).max(1);
    for (k, name) in class_names.iter().enumerate().take(legend_rows) {
        let (col, row) = (k / per_col, k % per_col);
        let lx = (x0 + plot + 14 + col * 130) as i64;
        let ly = (y0 + 4 + row * 13) as i64;
        c.dot(lx + 3, ly + 3, 3, class_colour(k, n_classes));
        c.text(lx + 11, ly, name, [0, 0, 0]);
    }
    c.save(path)
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
            model
                .decode_weights(latent, &mut w, &mut scratch)
                .map_err(|e| anyhow!("{e}"))?;
            let mut px = vec![0.0f32; (width * height) as usize * s.out_dim];
            model
                .render_image(&w, &mut px, &mut scratch)
                .map_err(|e| anyhow!("{e}"))?;
            Ok(px.into_iter().map(|v| v.clamp(0.0, 1.0)).collect())
        }
        hyperinr_shared::InputKind::PointCloud { udf_clamp } => {
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
        .map(|i| reconstruction_signature(model, latents.row(i)))
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
            let z = dist(latents.row(i), latents.row(j)).sqrt();
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
/// drawn side by side (images at 3× zoom; shapes as front projections of their surface).
pub fn interpolation_strip(
    model: &Model<'_>,
    a: &[f32],
    b: &[f32],
    steps: usize,
    path: &Path,
) -> Result<()> {
    let steps = steps.max(2);
    let panel = crate::viz::PANEL;
    let gap = 4;
    let mut c = Canvas::new(steps * (panel + gap) + gap, panel + 2 * gap, [40, 40, 40]);
    for k in 0..steps {
        let t = k as f32 / (steps - 1) as f32;
        let z: Vec<f32> = a
            .iter()
            .zip(b)
            .map(|(x, y)| (1.0 - t) * x + t * y)
            .collect();
        let px: Vec<u8> = match model.config().input {
            hyperinr_shared::InputKind::Image { width, height } => {
                let img = reconstruction_signature(model, &z)?;
                let (w, h) = (width as usize, height as usize);
                // Nearest-neighbour zoom to the panel size.
                (0..panel * panel)
                    .map(|i| {
                        let (y, x) = (i / panel * h / panel, i % panel * w / panel);
                        (img[y * w + x] * 255.0).round() as u8
                    })
                    .collect()
            }
            hyperinr_shared::InputKind::PointCloud { .. } => {
                match crate::eval::reconstruct_surface(model, &z, 2048, 0.02, k as u64) {
                    Ok(points) => crate::viz::projection(&points, 1),
                    Err(_) => vec![0u8; panel * panel],
                }
            }
        };
        c.blit_gray(gap + k * (panel + gap), gap, panel, panel, &px);
    }
    c.save(path)
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
            }
        }
    }

    #[test]
    fn class_colours_differ() {
        let c: Vec<[u8; 3]> = (0..40).map(|k| class_colour(k, 40)).collect();
        for i in 0..40 {
            for j in i + 1..40 {
                assert_ne!(c[i], c[j], "classes {i} and {j}");
            }
        }
    }
}

//! `hyperinr baseline`: the linear code of the same size as the latent, the comparison a
//! learned latent has to beat.
//!
//! PCA is fitted on the training split (FashionMNIST: the 55,000 images without the 5,000
//! validation images; shapes: the training folder without its validation tenth), mean-centred,
//! top-`K` principal components of the f64 covariance. Each sample is a vector of values in
//! `[0, 1]`: an image's pixels, or, for shapes, the clamped unsigned distance to the cloud at
//! the [`UDF_PROBES`] fixed probe points ([`cube_probes`]) at which `eval` and `plot` compare
//! shape reconstructions. The float codes of a split are `(x − mean) · V`; the reconstruction
//! `mean + codes · Vᵀ`, clamped (to `[0, 1]` for images, `[0, clamp]` for a UDF), is scored
//! like `eval` scores the runtime's (`psnr_db` from the MSE over all pixels of all images;
//! `udf_rmse` over all probes of all shapes). Accuracy comes from the project's classifier
//! recipe ([`train_classifier`], the shipped model's settings by default) trained on the
//! training split's codes and applied to the evaluated split's.
//!
//! Eigenvectors: nalgebra's `SymmetricEigen` of the covariance up to [`EXACT_MAX_DIM`]
//! values per sample (FashionMNIST's 784); above it (the 4,096 UDF probes) orthogonal
//! subspace iteration with Rayleigh–Ritz on `K + 16` vectors, run until every one of the
//! top-`K` Ritz pairs has residual `‖C v − λ v‖ ≤ 1e-9 · λ_max`: the same components to
//! working accuracy at a fraction of a full 4,096² eigen-decomposition's cost.

use crate::data::samples::{
    class_names, cube_probes, load_samples, DatasetKind, Samples, UdfConfig,
};
use crate::eval::{true_udf_at, EvalReport, UDF_PROBES};
use crate::model::classifier::ClassifierConfig;
use crate::train::classifier::{accuracy, train_classifier};
use anyhow::{anyhow, bail, Result};
use burn::tensor::backend::AutodiffBackend;
use hyperinr_data::Split;
use nalgebra::{DMatrix, SymmetricEigen};
use rand::{Rng, SeedableRng};
use std::path::PathBuf;
use std::time::Instant;

/// Values per sample up to which PCA uses a full symmetric eigen-decomposition.
pub const EXACT_MAX_DIM: usize = 1024;

/// Extra vectors of the subspace iteration beyond the `K` wanted.
const OVERSAMPLE: usize = 16;

/// Convergence of the subspace iteration: every top-`K` residual `‖C v − λ v‖ / λ_max`
/// below this.
const SUBSPACE_TOL: f64 = 1e-9;

/// Iteration limit of the subspace iteration.
const SUBSPACE_MAX_ITERATIONS: usize = 5000;

/// Samples per block when covariances, codes and reconstructions are computed.
const BLOCK: usize = 2048;

/// Baselines `hyperinr baseline` knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BaselineMethod {
    /// Principal component analysis of the training split.
    Pca,
}

/// One baseline run: a linear code of `dim` values per sample, fitted on the training split,
/// and the classifier recipe trained on the training codes.
pub struct BaselineSpec {
    /// Code length `K` (principal components).
    pub dim: usize,
    /// The dataset.
    pub dataset: DatasetKind,
    /// Its folder.
    pub data: PathBuf,
    /// The split evaluated.
    pub split: Split,
    /// Evaluate only the first N samples of the split (0 = all).
    pub limit: usize,
    /// Fit PCA and classifier on the first N training samples only (0 = all).
    pub train_limit: usize,
    /// Fit PCA and classifier on the training and val splits together (all the dataset's
    /// training files), as the shipped shape classifiers are trained.
    pub with_val: bool,
    /// How the eigenvectors are found.
    pub pca_solver: PcaSolver,
    /// Shapes: distances are clamped at this value (the training target's clamp).
    pub udf_clamp: f32,
    /// The classifier recipe (epochs, dropout, input noise, seed).
    pub classifier: ClassifierConfig,
}

/// What `hyperinr baseline --json` prints: `eval --json`'s keys and the baseline's own.
#[derive(Debug, serde::Serialize)]
pub struct BaselineReport {
    /// `"pca"`.
    pub method: &'static str,
    /// Code length `K`.
    pub dim: usize,
    /// Accuracy, samples, `psnr_db` or `udf_rmse`, `fitted: false`.
    #[serde(flatten)]
    pub eval: EvalReport,
    /// The dataset.
    pub dataset: &'static str,
    /// The split evaluated.
    pub split: String,
    /// Training samples PCA and classifier were fitted on.
    pub train_samples: usize,
    /// Values per sample (pixels, or UDF probe points).
    pub values_per_sample: usize,
    /// Share of the training split's variance the `K` components carry.
    pub explained_variance: f64,
    /// `"symmetric-eigen"` or `"subspace-iteration"`.
    pub pca_solver: &'static str,
    /// Largest top-`K` residual `‖C v − λ v‖ / λ_max` of the components.
    pub pca_residual: f64,
    /// Classifier input noise.
    pub classifier_input_noise: f32,
    /// Classifier seed.
    pub classifier_seed: u64,
}

/// How [`fit_pca`] computes the eigenvectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PcaSolver {
    /// `SymmetricEigen` up to [`EXACT_MAX_DIM`] values per sample, subspace iteration above.
    Auto,
    /// Always the full symmetric eigen-decomposition.
    Exact,
    /// Always subspace iteration.
    Subspace,
}

/// A fitted PCA.
#[derive(Clone, Debug)]
pub struct Pca {
    /// Per-value mean of the training samples (`d`).
    pub mean: Vec<f64>,
    /// The top-`K` components as rows (`K × d`, orthonormal).
    pub components_t: DMatrix<f64>,
    /// Their variances, descending (`K`).
    pub variances: Vec<f64>,
    /// Total variance of the training samples (trace of the covariance).
    pub total_variance: f64,
    /// Which solver ran.
    pub solver: &'static str,
    /// Largest `‖C v − λ v‖ / λ_max` over the components.
    pub residual: f64,
}

impl Pca {
    /// Values per sample.
    pub fn d(&self) -> usize {
        self.mean.len()
    }

    /// Code length.
    pub fn k(&self) -> usize {
        self.variances.len()
    }

    /// Share of the variance the components carry.
    pub fn explained_variance(&self) -> f64 {
        if self.total_variance > 0.0 {
            self.variances.iter().sum::<f64>() / self.total_variance
        } else {
            1.0
        }
    }

    /// Samples `start..end` of `x` (`n × d`, row-major), centred, as the columns of a `d × b`
    /// matrix.
    fn centred_block(&self, x: &[f64], start: usize, end: usize) -> DMatrix<f64> {
        let d = self.d();
        DMatrix::from_fn(d, end - start, |r, c| x[(start + c) * d + r] - self.mean[r])
    }

    /// Codes `(x − mean) · V` of `x` (`n × d`, row-major): `n × K`, row-major.
    pub fn encode(&self, x: &[f64]) -> Vec<f64> {
        let (d, k) = (self.d(), self.k());
        let n = x.len() / d;
        let mut codes = Vec::with_capacity(n * k);
        for start in (0..n).step_by(BLOCK) {
            let end = (start + BLOCK).min(n);
            let c = &self.components_t * self.centred_block(x, start, end);
            // Column j of `c` is sample start + j's code.
            codes.extend_from_slice(c.as_slice());
        }
        codes
    }

    /// Sum over all values of `x` (`n × d`, row-major) of `(clamp(mean + codes·Vᵀ) − x)²`,
    /// the reconstruction clamped to `[lo, hi]`, with `codes` from [`Pca::encode`].
    pub fn reconstruction_sq_error(&self, x: &[f64], codes: &[f64], lo: f64, hi: f64) -> f64 {
        let (d, k) = (self.d(), self.k());
        let n = x.len() / d;
        let v = self.components_t.transpose();
        let mut sq = 0.0f64;
        for start in (0..n).step_by(BLOCK) {
            let end = (start + BLOCK).min(n);
            let c = DMatrix::from_column_slice(k, end - start, &codes[start * k..end * k]);
            let r = &v * c;
            for (j, col) in r.column_iter().enumerate() {
                let sample = &x[(start + j) * d..(start + j + 1) * d];
                for ((rv, m), t) in col.iter().zip(&self.mean).zip(sample) {
                    let e = (rv + m).clamp(lo, hi) - t;
                    sq += e * e;
                }
            }
        }
        sq
    }
}

/// Fits PCA with `k` components to `x` (`n × d`, row-major).
pub fn fit_pca(x: &[f64], d: usize, k: usize, solver: PcaSolver) -> Result<Pca> {
    if d == 0 || !x.len().is_multiple_of(d) {
        bail!("PCA: {} values are not samples of {d} values each", x.len());
    }
    let n = x.len() / d;
    if k == 0 || k > d {
        bail!("--dim {k}: the code length must be in 1..={d} (values per sample)");
    }
    if n < 2 {
        bail!("PCA needs at least 2 training samples, got {n}");
    }
    let mut mean = vec![0.0f64; d];
    for row in x.chunks_exact(d) {
        for (m, v) in mean.iter_mut().zip(row) {
            *m += v;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let mut pca = Pca {
        mean,
        components_t: DMatrix::zeros(0, 0),
        variances: Vec::new(),
        total_variance: 0.0,
        solver: "",
        residual: 0.0,
    };
    // Covariance Σ (x − mean)(x − mean)ᵀ / n, block by block.
    let mut cov = DMatrix::<f64>::zeros(d, d);
    for start in (0..n).step_by(BLOCK) {
        let b = pca.centred_block(x, start, (start + BLOCK).min(n));
        cov.gemm(1.0 / n as f64, &b, &b.transpose(), 1.0);
    }
    pca.total_variance = cov.trace();
    let exact = match solver {
        PcaSolver::Auto => d <= EXACT_MAX_DIM,
        PcaSolver::Exact => true,
        PcaSolver::Subspace => false,
    };
    let (variances, vectors) = if exact {
        pca.solver = "symmetric-eigen";
        let eig = SymmetricEigen::new(cov.clone());
        let mut order: Vec<usize> = (0..d).collect();
        order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
        let top = &order[..k];
        (
            top.iter().map(|&i| eig.eigenvalues[i]).collect::<Vec<_>>(),
            DMatrix::from_fn(d, k, |r, c| eig.eigenvectors[(r, top[c])]),
        )
    } else {
        pca.solver = "subspace-iteration";
        top_eigenvectors(&cov, k)?
    };
    pca.residual = residual(&cov, &variances, &vectors);
    pca.variances = variances;
    pca.components_t = vectors.transpose();
    Ok(pca)
}

/// Largest `‖C v_i − λ_i v_i‖ / λ_max` over the columns of `vectors`.
fn residual(cov: &DMatrix<f64>, values: &[f64], vectors: &DMatrix<f64>) -> f64 {
    let cv = cov * vectors;
    let scale = values
        .first()
        .copied()
        .unwrap_or(0.0)
        .abs()
        .max(f64::MIN_POSITIVE);
    (0..values.len())
        .map(|i| (cv.column(i) - vectors.column(i) * values[i]).norm() / scale)
        .fold(0.0, f64::max)
}

/// The top `k` eigenpairs (descending) of the symmetric positive semi-definite `cov` by
/// orthogonal subspace iteration with Rayleigh–Ritz on `k + OVERSAMPLE` vectors.
fn top_eigenvectors(cov: &DMatrix<f64>, k: usize) -> Result<(Vec<f64>, DMatrix<f64>)> {
    let d = cov.nrows();
    let m = (k + OVERSAMPLE).min(d);
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5ca1ab1e);
    let start = DMatrix::<f64>::from_fn(d, m, |_, _| rng.random_range(-1.0..1.0));
    let mut q = start.qr().q();
    let mut worst = f64::INFINITY;
    for _ in 0..SUBSPACE_MAX_ITERATIONS {
        let y = cov * &q;
        let t = q.transpose() * &y;
        let t = (&t + t.transpose()) * 0.5;
        let eig = SymmetricEigen::new(t);
        let mut order: Vec<usize> = (0..m).collect();
        order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
        let w = DMatrix::from_fn(m, m, |r, c| eig.eigenvectors[(r, order[c])]);
        let values: Vec<f64> = order.iter().map(|&i| eig.eigenvalues[i]).collect();
        // Ritz vectors and C times them (C·Q·W = Y·W without another product with C).
        let ritz = &q * &w;
        let c_ritz = &y * &w;
        let scale = values[0].abs().max(f64::MIN_POSITIVE);
        worst = (0..k)
            .map(|i| (c_ritz.column(i) - ritz.column(i) * values[i]).norm() / scale)
            .fold(0.0, f64::max);
        if worst <= SUBSPACE_TOL {
            return Ok((values[..k].to_vec(), ritz.columns(0, k).into_owned()));
        }
        q = c_ritz.qr().q();
    }
    Err(anyhow!(
        "PCA: subspace iteration did not converge in {SUBSPACE_MAX_ITERATIONS} iterations \
         (largest residual {worst:.2e} of λ_max, wanted {SUBSPACE_TOL:.0e})"
    ))
}

/// The samples as rows of values in `[0, 1]` (images: pixels / 255) or `[0, clamp]` (shapes:
/// the clamped true UDF at the [`UDF_PROBES`] probe points), `n × d` row-major, and `d`.
pub fn sample_values(samples: &Samples, clamp: f32) -> Result<(Vec<f64>, usize)> {
    match samples {
        Samples::Images(s) => Ok((
            s.pixels.iter().map(|&p| p as f64 / 255.0).collect(),
            s.pixel_count(),
        )),
        Samples::Shapes(s) => {
            let probes = &cube_probes(UDF_PROBES);
            let clouds = &s.clouds;
            let n = clouds.len();
            let threads = std::thread::available_parallelism()
                .map(|v| v.get())
                .unwrap_or(1);
            let chunk = n.div_ceil(threads).max(1);
            let parts: Vec<Result<Vec<f64>>> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..n)
                    .step_by(chunk)
                    .map(|start| {
                        scope.spawn(move || -> Result<Vec<f64>> {
                            let mut out = Vec::with_capacity(chunk * UDF_PROBES);
                            for i in start..(start + chunk).min(n) {
                                let udf = true_udf_at(clouds.cloud(i), probes, clamp)
                                    .map_err(|e| anyhow!("{}: {e}", clouds.paths[i].display()))?;
                                out.extend(udf.into_iter().map(f64::from));
                            }
                            Ok(out)
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|_| Err(anyhow!("worker panicked"))))
                    .collect()
            });
            let mut values = Vec::with_capacity(n * UDF_PROBES);
            for p in parts {
                values.extend(p?);
            }
            Ok((values, UDF_PROBES))
        }
    }
}

/// Fits the baseline of `spec` and measures it as `eval` measures a model file.
pub fn run_baseline<B: AutodiffBackend>(
    device: &B::Device,
    a: &BaselineSpec,
) -> Result<BaselineReport> {
    let started = Instant::now();
    let say = |what: &str| {
        eprintln!(
            "[baseline {:>6.1}s] {what}",
            started.elapsed().as_secs_f64()
        )
    };
    if !(a.udf_clamp > 0.0 && a.udf_clamp.is_finite()) {
        bail!("--udf-clamp {}: must be a positive number", a.udf_clamp);
    }
    let data = &a.data;
    let udf = UdfConfig::new().with_clamp(a.udf_clamp);
    let shapes = a.dataset.is_shapes();
    let (lo, hi) = (0.0, if shapes { a.udf_clamp as f64 } else { 1.0 });
    if a.with_val && a.split == Split::Val {
        bail!("--with-val: the val split cannot be both fitted and evaluated");
    }
    let train = load_samples(a.dataset, data, Split::Train, a.train_limit, &udf, 0)?;
    let (mut train_x, d) = sample_values(&train, a.udf_clamp)?;
    let mut train_labels = train.labels().to_vec();
    if a.with_val {
        let val = load_samples(a.dataset, data, Split::Val, 0, &udf, 0)?;
        if class_names(&val) != class_names(&train) {
            bail!(
                "{}: the val split has other classes than the training split",
                data.display()
            );
        }
        train_x.extend(sample_values(&val, a.udf_clamp)?.0);
        train_labels.extend_from_slice(val.labels());
    }
    if a.dim == 0 || a.dim > d {
        bail!(
            "--dim {}: the code length must be in 1..={d} ({d} values per sample)",
            a.dim
        );
    }
    say(&format!(
        "fitting pca-{} on {} training samples of {d} values",
        a.dim,
        train_labels.len()
    ));
    let pca = fit_pca(&train_x, d, a.dim, a.pca_solver)?;
    let train_codes: Vec<f32> = pca.encode(&train_x).iter().map(|&v| v as f32).collect();
    drop(train_x);
    let eval_set = load_samples(a.dataset, data, a.split, a.limit, &udf, 0)?;
    let (eval_x, _) = sample_values(&eval_set, a.udf_clamp)?;
    let eval_codes = pca.encode(&eval_x);
    let sq = pca.reconstruction_sq_error(&eval_x, &eval_codes, lo, hi);
    let mse = sq / eval_x.len().max(1) as f64;
    let classes = class_names(&train);
    if class_names(&eval_set) != classes {
        bail!(
            "{}: split {:?} has other classes than the training split",
            data.display(),
            a.split
        );
    }
    say(&format!(
        "training the classifier on {} codes ({} epochs)",
        train_labels.len(),
        a.classifier.epochs
    ));
    let clf = train_classifier::<B>(
        &a.classifier,
        &train_codes,
        &train_labels,
        a.dim,
        classes.len(),
        None,
        device,
    )?;
    let eval_codes: Vec<f32> = eval_codes.iter().map(|&v| v as f32).collect();
    let acc = accuracy(&clf.predict(&eval_codes), eval_set.labels());
    say("done");
    Ok(BaselineReport {
        method: "pca",
        dim: a.dim,
        eval: EvalReport {
            accuracy: acc,
            samples: eval_set.len(),
            psnr_db: (!shapes).then(|| crate::train::psnr(mse)),
            chamfer: None,
            chamfer_eps: None,
            chamfer_samples: None,
            chamfer_failures: None,
            udf_rmse: shapes.then(|| mse.sqrt()),
            fitted: false,
            seconds: None,
        },
        dataset: a.dataset.name(),
        split: format!("{:?}", a.split).to_lowercase(),
        train_samples: train_labels.len(),
        values_per_sample: d,
        explained_variance: pca.explained_variance(),
        pca_solver: pca.solver,
        pca_residual: pca.residual,
        classifier_input_noise: a.classifier.input_noise,
        classifier_seed: a.classifier.seed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` samples `mean + A·z` of a `k`-dimensional affine subspace of `R^d`.
    fn subspace_data(n: usize, d: usize, k: usize, seed: u64) -> Vec<f64> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let basis: Vec<f64> = (0..d * k).map(|_| rng.random_range(-1.0..1.0)).collect();
        let mean: Vec<f64> = (0..d).map(|_| rng.random_range(0.0..1.0)).collect();
        (0..n)
            .flat_map(|_| {
                let z: Vec<f64> = (0..k).map(|_| rng.random_range(-1.0..1.0)).collect();
                (0..d)
                    .map(|r| mean[r] + (0..k).map(|c| basis[r * k + c] * z[c]).sum::<f64>())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn data_in_a_k_dim_subspace_reconstructs_exactly() {
        let (n, d, k) = (300, 40, 5);
        let x = subspace_data(n, d, k, 1);
        for solver in [PcaSolver::Exact, PcaSolver::Subspace] {
            let pca = fit_pca(&x, d, k, solver).unwrap();
            let codes = pca.encode(&x);
            assert_eq!(codes.len(), n * k);
            let sq = pca.reconstruction_sq_error(&x, &codes, f64::MIN, f64::MAX);
            let rms = (sq / x.len() as f64).sqrt();
            assert!(rms < 1e-9, "{solver:?}: rms error {rms}");
            assert!(
                (pca.explained_variance() - 1.0).abs() < 1e-9,
                "{solver:?}: {}",
                pca.explained_variance()
            );
            // Components are orthonormal.
            let gram = &pca.components_t * pca.components_t.transpose();
            assert!((gram - DMatrix::identity(k, k)).norm() < 1e-9, "{solver:?}");
            // One component fewer leaves an error.
            let short = fit_pca(&x, d, k - 1, solver).unwrap();
            let sq = short.reconstruction_sq_error(&x, &short.encode(&x), f64::MIN, f64::MAX);
            assert!((sq / x.len() as f64).sqrt() > 1e-3, "{solver:?}");
        }
    }

    #[test]
    fn subspace_iteration_matches_the_full_eigen_decomposition() {
        // Generic data: a decaying spectrum with noise in every direction.
        let (n, d, k) = (400, 60, 8);
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let x: Vec<f64> = (0..n * d)
            .map(|i| rng.random_range(-1.0..1.0) / (1.0 + (i % d) as f64 * 0.3))
            .collect();
        let exact = fit_pca(&x, d, k, PcaSolver::Exact).unwrap();
        let iter = fit_pca(&x, d, k, PcaSolver::Subspace).unwrap();
        assert_eq!(
            (exact.solver, iter.solver),
            ("symmetric-eigen", "subspace-iteration")
        );
        for (a, b) in exact.variances.iter().zip(&iter.variances) {
            assert!((a - b).abs() <= 1e-9 * exact.variances[0], "{a} vs {b}");
        }
        assert!(exact.variances.windows(2).all(|w| w[0] >= w[1]));
        // Same subspace: equal projectors.
        let p = |v: &DMatrix<f64>| v.transpose() * v;
        let diff = (p(&exact.components_t) - p(&iter.components_t)).norm();
        assert!(diff < 1e-6, "projectors differ by {diff}");
        assert!(exact.residual < 1e-9 && iter.residual < 1e-8);
    }

    #[test]
    fn reconstruction_is_clamped_and_bad_sizes_are_named() {
        // Two samples of 2 values; K = 1 keeps their difference direction, so the
        // reconstruction is exact; clamping to [0, 0.5] then costs (1 − 0.5)².
        let x = vec![0.0, 0.0, 1.0, 0.0];
        let pca = fit_pca(&x, 2, 1, PcaSolver::Exact).unwrap();
        let codes = pca.encode(&x);
        assert!(pca.reconstruction_sq_error(&x, &codes, 0.0, 1.0) < 1e-20);
        let sq = pca.reconstruction_sq_error(&x, &codes, 0.0, 0.5);
        assert!((sq - 0.25).abs() < 1e-12, "{sq}");
        let err = fit_pca(&x, 2, 3, PcaSolver::Auto).unwrap_err().to_string();
        assert!(err.contains("--dim 3") && err.contains("1..=2"), "{err}");
        let err = fit_pca(&x[..2], 2, 1, PcaSolver::Auto)
            .unwrap_err()
            .to_string();
        assert!(err.contains("at least 2 training samples"), "{err}");
        let err = fit_pca(&x[..3], 2, 1, PcaSolver::Auto)
            .unwrap_err()
            .to_string();
        assert!(err.contains("3 values"), "{err}");
    }
}

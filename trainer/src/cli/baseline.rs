//! `hyperinr baseline`: the linear code of the same size as the latent (PCA), with the same
//! classifier recipe, measured as `eval` measures a model file.

use super::*;
use crate::backend::{dispatch, BackendKind};
use crate::eval::baseline::{run_baseline, BaselineMethod, BaselineSpec, PcaSolver};
use crate::model::classifier::ClassifierConfig;
use hyperinr_data::Split;

/// Arguments of `hyperinr baseline`.
#[derive(clap::Args, Clone)]
pub struct BaselineArgs {
    #[arg(long, value_enum, default_value_t = BaselineMethod::Pca)]
    pub method: BaselineMethod,
    /// Code length `K` (principal components).
    #[arg(long, default_value_t = 64)]
    pub dim: usize,
    #[arg(long, value_enum, default_value_t = DatasetKind::FashionMnist)]
    pub dataset: DatasetKind,
    /// The dataset folder (FashionMNIST default: /usr/share/datasets/fashion-mnist).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// The split evaluated (PCA and classifier are always fitted on the training split).
    #[arg(long, value_enum, default_value_t = Split::Test)]
    pub split: Split,
    /// Evaluate only the first N samples of the split (0 = all).
    #[arg(long, default_value_t = 0)]
    pub limit: usize,
    /// Fit PCA and classifier on the first N training samples only (0 = all).
    #[arg(long, default_value_t = 0)]
    pub train_limit: usize,
    /// Fit PCA and classifier on the training and val splits together (all the dataset's
    /// training files), as `classifier --folds` trains the shipped shape classifiers.
    #[arg(long)]
    pub with_val: bool,
    /// Eigenvectors: `auto` (full eigen-decomposition up to 1,024 values per sample,
    /// subspace iteration above), `exact` or `subspace`.
    #[arg(long, value_enum, default_value_t = PcaSolver::Auto)]
    pub pca_solver: PcaSolver,
    /// Shapes: distances are clamped at this value (the training target's clamp).
    #[arg(long, default_value_t = 0.1)]
    pub udf_clamp: f32,
    /// Classifier epochs.
    #[arg(long, default_value_t = 60)]
    pub epochs: usize,
    /// Classifier dropout.
    #[arg(long, default_value_t = 0.3)]
    pub dropout: f64,
    /// Classifier input noise (the shipped FashionMNIST classifier used 0.2).
    #[arg(long, default_value_t = 0.2)]
    pub input_noise: f32,
    /// Classifier seed (the shipped classifier used 7).
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Class-balanced classifier loss, as `classifier --class-balance` (the shape models'
    /// recipe): compare codes under the same classifier.
    #[arg(long)]
    pub class_balance: bool,
    /// Backend of the classifier's training.
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    pub backend: BackendKind,
    #[arg(long)]
    pub json: bool,
}

/// Runs `hyperinr baseline`.
pub fn baseline(a: BaselineArgs) -> Result<()> {
    let BaselineMethod::Pca = a.method;
    let spec = BaselineSpec {
        dim: a.dim,
        dataset: a.dataset,
        data: data_dir(a.dataset, &a.data)?,
        split: a.split,
        limit: a.limit,
        train_limit: a.train_limit,
        with_val: a.with_val,
        pca_solver: a.pca_solver,
        udf_clamp: a.udf_clamp,
        classifier: ClassifierConfig::new()
            .with_epochs(a.epochs)
            .with_dropout(a.dropout)
            .with_input_noise(a.input_noise)
            .with_seed(a.seed)
            .with_class_balance(a.class_balance),
    };
    let report = dispatch!(a.backend, run_baseline, &spec)?;
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        let quality = match (report.eval.psnr_db, report.eval.udf_rmse) {
            (Some(p), _) => format!("PSNR {p:.2} dB"),
            (_, Some(r)) => format!("UDF RMSE {r:.5}"),
            _ => String::new(),
        };
        println!(
            "pca-{}: accuracy {:.4} over {} samples of {}, {quality} (explained variance {:.3})",
            report.dim,
            report.eval.accuracy,
            report.eval.samples,
            report.split,
            report.explained_variance
        );
    }
    Ok(())
}

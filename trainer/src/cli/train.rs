//! `hyperinr train`: latents and φ trained jointly (auto-decoding), resumable.

use super::*;
use crate::backend::siren_op::{SirenOp, TrainBackend};
use crate::backend::{dispatch, BackendKind};
use crate::data::samples::{load_training_samples, DatasetKind, UdfConfig};
use crate::train::artifacts::LatentFile;
use crate::train::{RunDir, Training, TrainingConfig};
use anyhow::{anyhow, bail, Context, Result};
use hyperinr_data::Split;
use std::path::PathBuf;

#[derive(clap::Args, Clone)]
pub struct TrainArgs {
    #[arg(long, value_enum, default_value_t = DatasetKind::FashionMnist)]
    pub dataset: DatasetKind,
    /// FashionMNIST: folder with the four official IDX files (plain or .gz; default
    /// /usr/share/datasets/fashion-mnist). Shapes: the per-class `.npy` folder.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Run directory (config, checkpoint, metrics).
    #[arg(long)]
    pub run: PathBuf,
    /// Continue from the run directory's checkpoint.
    #[arg(long)]
    pub resume: bool,
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    pub backend: BackendKind,
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    #[arg(long, default_value_t = 128)]
    pub batch: usize,
    /// Adam learning rate of the hypernetwork (default 1e-3). With `--resume`, a value
    /// given here replaces the run's from the next epoch on (a manual step decay).
    #[arg(long)]
    pub lr_hyper: Option<f64>,
    /// Adam learning rate of the latents (default 1e-2); replaces the run's on `--resume`.
    #[arg(long)]
    pub lr_latent: Option<f32>,
    #[arg(long, default_value_t = 64)]
    pub latent_dim: usize,
    /// Hypernetwork hidden widths.
    #[arg(long, value_parser = parse_widths, default_value = "256,256")]
    pub hyper_hidden: std::vec::Vec<usize>,
    /// SIREN hidden widths.
    #[arg(long, value_parser = parse_widths, default_value = "32,32")]
    pub siren_hidden: std::vec::Vec<usize>,
    /// Shapes: query points per shape and step.
    #[arg(long, default_value_t = 2048)]
    pub queries: usize,
    /// Shapes: noise standard deviations of the near-surface queries (unit-sphere units),
    /// taking turns, e.g. `0.01,0.03,0.1` (the default); a new run only, resumed runs keep
    /// their own.
    #[arg(long, value_delimiter = ',')]
    pub udf_sigmas: Vec<f32>,
    /// Shapes: share of the queries drawn uniformly in the cube (default 0.2); a new run only.
    #[arg(long)]
    pub udf_uniform_fraction: Option<f32>,
    /// Shapes: the UDF's clamp (default 0.1; the model file records it); a new run only.
    #[arg(long)]
    pub udf_clamp: Option<f32>,
    #[arg(long, default_value_t = 1e-4)]
    pub latent_l2: f32,
    /// Standard deviation of the initial latents.
    #[arg(long, default_value_t = 0.01)]
    pub latent_init_std: f32,
    /// ω0 of every sine layer.
    #[arg(long, default_value_t = 30.0)]
    pub omega0: f32,
    /// Scale of φ's last weight matrix at initialisation, relative to each SIREN
    /// parameter's initial range.
    #[arg(long, default_value_t = 0.1)]
    pub last_layer_scale: f32,
    /// Images: pixels per image and step, a random subset shared by the batch (0 = all,
    /// the default); replaces the run's on `--resume`.
    #[arg(long)]
    pub pixels: Option<usize>,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Use only the first N training images (0 = all).
    #[arg(long, default_value_t = 0)]
    pub limit: usize,
    /// How the SIREN runs: one fused operation (CPU backends) or burn's composed ops.
    #[arg(long, value_enum, default_value_t = SirenOp::Fused)]
    pub siren_op: SirenOp,
    /// φ's hidden activation.
    #[arg(long, value_parser = crate::model::parse_activation, default_value = "relu")]
    pub hyper_activation: crate::model::HyperActivation,
    /// φ(z) = A z + MLP(z): a linear path from the latent to the SIREN parameters.
    #[arg(long)]
    pub linear_path: bool,
    /// Latent updates per batch (latent-only steps before each joint step); replaces the
    /// run's on `--resume`.
    #[arg(long)]
    pub latent_steps: Option<usize>,
    /// Weight of an auxiliary classification loss on the training latents (a linear head
    /// trained jointly, never exported; 0 = none). Test latents are fitted without labels.
    #[arg(long, default_value_t = 0.0)]
    pub aux_class_weight: f32,
    /// Seconds between checkpoints: one is written at the end of the first epoch that ends
    /// this long after the previous one, and after the last epoch (0 = after every epoch).
    #[arg(long, default_value_t = 60.0)]
    pub checkpoint_every: f64,
    /// Train on the training files whole: the train split and its val hold-out (the final
    /// run once the recipe is chosen). The joint latents go to `train-joint` and
    /// `val-joint`; val is no hold-out for such a run, so its classifier is scored by
    /// cross-validation (`classifier --folds K`). A new run only: a resumed run keeps its own.
    #[arg(long)]
    pub with_val: bool,
    /// No progress bar; one line per epoch on stderr.
    #[arg(long)]
    pub quiet: bool,
}

pub fn train(a: TrainArgs) -> Result<()> {
    dispatch!(a.backend, train_on, a)
}

pub(crate) fn train_on<B: TrainBackend>(device: &B::Device, a: TrainArgs) -> Result<()> {
    let run = RunDir(a.run.clone());
    std::fs::create_dir_all(&run.0).with_context(|| format!("creating {}", run.0.display()))?;
    let data = data_dir(a.dataset, &a.data)?;
    let resuming = a.resume && run.checkpoint().exists();
    let (udf, seed, with_val) = if resuming {
        let (config, _) = run_config(&run)?;
        if config.dataset != a.dataset {
            bail!(
                "{}: the run trains on `{}`, not `{}`",
                run.config().display(),
                config.dataset.name(),
                a.dataset.name()
            );
        }
        if a.with_val && !config.trains_on_val() {
            bail!(
                "--with-val: {} trains on the train split only; a resumed run keeps its training set",
                run.config().display()
            );
        }
        (config.udf_or_default(), config.seed, config.trains_on_val())
    } else {
        let mut udf = UdfConfig::new().with_queries(a.queries);
        if !a.udf_sigmas.is_empty() {
            udf.sigmas = a.udf_sigmas.clone();
        }
        udf.uniform_fraction = a.udf_uniform_fraction.unwrap_or(udf.uniform_fraction);
        udf.clamp = a.udf_clamp.unwrap_or(udf.clamp);
        (udf, a.seed, a.with_val)
    };
    let (samples, train_rows) =
        load_training_samples(a.dataset, &data, with_val, a.limit, &udf, seed)?;
    let mut training = if resuming {
        let mut t = Training::<B>::load(&run.checkpoint(), Some(&samples), device)?;
        eprintln!("resuming {} after epoch {}", run.0.display(), t.epoch);
        let before = (
            t.config.lr_hyper,
            t.config.lr_latent,
            t.config.pixels_per_step,
        );
        t.config.lr_hyper = a.lr_hyper.unwrap_or(before.0);
        t.config.lr_latent = a.lr_latent.unwrap_or(before.1);
        t.config.pixels_per_step = a.pixels.unwrap_or(before.2);
        if let Some(k) = a.latent_steps {
            t.config.latent_steps = k.max(1);
        }
        let now = (
            t.config.lr_hyper,
            t.config.lr_latent,
            t.config.pixels_per_step,
        );
        if now != before {
            t.config.validate().context("--lr-hyper / --lr-latent")?;
            eprintln!(
                "from epoch {}: hypernetwork lr {} (was {}), latent lr {} (was {}), pixels per step {} (was {}; 0 = all)",
                t.epoch + 1,
                now.0,
                before.0,
                now.1,
                before.1,
                now.2,
                before.2
            );
            // The run's config.json says what the next epochs use; the checkpoint
            // written after the next epoch carries the same values.
            hyperinr_data::io::write_atomic(&run.config(), t.config.to_string().as_bytes())?;
        }
        t
    } else {
        let mut model = crate::model::HyperInrConfig::new();
        model.latent_dim = a.latent_dim;
        model.hyper_hidden = a.hyper_hidden.clone();
        model.siren_hidden = a.siren_hidden.clone();
        model.in_dim = a.dataset.in_dim();
        model.omega0 = a.omega0;
        model.last_layer_scale = a.last_layer_scale;
        model.hyper_activation = a.hyper_activation;
        model.linear_path = a.linear_path;
        if a.aux_class_weight > 0.0 {
            model.aux_classes = crate::data::samples::class_names(&samples).len().max(1);
        }
        let mut config = TrainingConfig::new(model)
            .with_aux_class_weight(a.aux_class_weight)
            .with_latent_steps(a.latent_steps.unwrap_or(1).max(1))
            .with_dataset(a.dataset)
            .with_class_names(crate::data::samples::class_names(&samples))
            .with_epochs(a.epochs)
            .with_batch_size(a.batch)
            .with_lr_hyper(a.lr_hyper.unwrap_or(1e-3))
            .with_lr_latent(a.lr_latent.unwrap_or(1e-2))
            .with_latent_l2(a.latent_l2)
            .with_latent_init_std(a.latent_init_std)
            .with_pixels_per_step(a.pixels.unwrap_or(0))
            .with_seed(a.seed)
            .with_include_val(Some(a.with_val));
        if a.dataset.is_shapes() {
            config.udf = Some(udf);
        }
        config.validate()?;
        hyperinr_data::io::write_atomic(&run.config(), config.to_string().as_bytes())?;
        hyperinr_data::io::write_atomic(&run.0.join("data.sha256"), samples.sha256().as_bytes())?;
        Training::<B>::new(config, &samples, device)
    };
    if !run.0.join("data.sha256").exists() {
        hyperinr_data::io::write_atomic(&run.0.join("data.sha256"), samples.sha256().as_bytes())?;
    }
    if training.config.epochs != a.epochs.max(training.epoch) {
        // The run's config.json names the epoch it trains to (the model file's provenance
        // copies it): a resumed run that goes further says so.
        training.config.epochs = a.epochs.max(training.epoch);
        hyperinr_data::io::write_atomic(&run.config(), training.config.to_string().as_bytes())?;
    }
    training.siren_op = a.siren_op;
    let checkpoint_every = std::time::Duration::try_from_secs_f64(a.checkpoint_every)
        .map_err(|e| anyhow!("--checkpoint-every {}: {e}", a.checkpoint_every))?;
    training.run(&samples, &run, a.quiet, checkpoint_every)?;
    // The jointly trained latents, in the same file format as fitted ones: one file per
    // split, each row indexed within its own split.
    let dim = training.latents.dim;
    let (labels, indices) = (samples.labels(), samples.indices());
    LatentFile {
        split: Split::Train,
        dim,
        values: training.latents.values[..train_rows * dim].to_vec(),
        labels: labels[..train_rows].to_vec(),
        indices: indices[..train_rows].to_vec(),
    }
    .save(&run.latents("train-joint"))?;
    if train_rows < samples.len() {
        LatentFile {
            split: Split::Val,
            dim,
            values: training.latents.values[train_rows * dim..].to_vec(),
            labels: labels[train_rows..].to_vec(),
            indices: indices[train_rows..]
                .iter()
                .map(|&i| i - train_rows as u32)
                .collect(),
        }
        .save(&run.latents("val-joint"))?;
    }
    Ok(())
}

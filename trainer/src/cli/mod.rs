//! The CLI's subcommands: argument structs and the pipeline stages they run.

use crate::artifacts::{load_classifier, save_classifier, LatentFile};
use crate::backend::{dispatch, BackendKind};
use crate::classifier::{accuracy, train_classifier, ClassifierConfig};
use crate::eval::{evaluate, evaluate_shapes, run_sample, EvalReport};
use crate::export::{dequantized_latents, hypernet_from_file, model_config_from_file};
use crate::fitting::{fit_latents, FitConfig};
use crate::samples::{load_samples, DatasetKind, Samples, ShapeSet, UdfConfig};
use crate::siren_op::{SirenOp, TrainBackend};
use crate::training::{RunDir, Training, TrainingConfig};
use anyhow::{anyhow, bail, Context, Result};
use burn::tensor::backend::AutodiffBackend;
use hyperinr_data::fashion::{ImageSet, FASHION_CLASSES};
use hyperinr_data::Split;
use hyperinr_runtime::Model;
use std::path::{Path, PathBuf};

const DEFAULT_DATA: &str = "/usr/share/datasets/fashion-mnist";

/// `--data`, or FashionMNIST's Debian location; point-cloud datasets have no default.
pub(crate) fn data_dir(kind: DatasetKind, data: &Option<PathBuf>) -> Result<PathBuf> {
    match (data, kind) {
        (Some(d), _) => Ok(d.clone()),
        (None, DatasetKind::FashionMnist) => Ok(PathBuf::from(DEFAULT_DATA)),
        (None, k) => bail!(
            "--dataset {}: give the dataset folder with --data DIR (e.g. ../shared/data/modelnet40)",
            k.name()
        ),
    }
}

/// The run's saved configuration.
fn run_config(run: &RunDir) -> Result<(TrainingConfig, String)> {
    let text = std::fs::read_to_string(run.config())
        .with_context(|| format!("reading {}", run.config().display()))?;
    let config = TrainingConfig::from_json(text.as_bytes())
        .with_context(|| format!("{}: not a training configuration", run.config().display()))?;
    Ok((config, text))
}

impl TrainingConfig {
    /// Class names in label order (runs made before shapes existed stored none: FashionMNIST).
    pub fn classes(&self) -> Vec<String> {
        if self.class_names.is_empty() {
            FASHION_CLASSES.iter().map(|s| s.to_string()).collect()
        } else {
            self.class_names.clone()
        }
    }

    /// The UDF sampling of a shape run (the default for images, where it is unused).
    pub fn udf_or_default(&self) -> UdfConfig {
        self.udf.clone().unwrap_or_else(UdfConfig::new)
    }
}

/// Comma-separated widths, e.g. `256,256`.
fn parse_widths(s: &str) -> std::result::Result<Vec<usize>, String> {
    s.split(',')
        .map(|w| {
            w.trim()
                .parse::<usize>()
                .ok()
                .filter(|&v| v > 0)
                .ok_or_else(|| format!("`{w}` is not a positive width"))
        })
        .collect()
}

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
    #[arg(long, value_enum, default_value_t = crate::model::HyperActivation::Relu)]
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
    /// No progress bar; one line per epoch on stderr.
    #[arg(long)]
    pub quiet: bool,
}

pub fn train(a: TrainArgs) -> Result<()> {
    dispatch!(a.backend, train_on, a)
}

fn train_on<B: TrainBackend>(device: &B::Device, a: TrainArgs) -> Result<()> {
    let run = RunDir(a.run.clone());
    std::fs::create_dir_all(&run.0).with_context(|| format!("creating {}", run.0.display()))?;
    let data = data_dir(a.dataset, &a.data)?;
    let resuming = a.resume && run.checkpoint().exists();
    let (udf, seed) = if resuming {
        let (config, _) = run_config(&run)?;
        if config.dataset != a.dataset {
            bail!(
                "{}: the run trains on `{}`, not `{}`",
                run.config().display(),
                config.dataset.name(),
                a.dataset.name()
            );
        }
        (config.udf_or_default(), config.seed)
    } else {
        (UdfConfig::new().with_queries(a.queries), a.seed)
    };
    let samples = load_samples(a.dataset, &data, Split::Train, a.limit, &udf, seed)?;
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
            model.aux_classes = crate::samples::class_names(&samples).len().max(1);
        }
        let mut config = TrainingConfig::new(model)
            .with_aux_class_weight(a.aux_class_weight)
            .with_latent_steps(a.latent_steps.unwrap_or(1).max(1))
            .with_dataset(a.dataset)
            .with_class_names(crate::samples::class_names(&samples))
            .with_epochs(a.epochs)
            .with_batch_size(a.batch)
            .with_lr_hyper(a.lr_hyper.unwrap_or(1e-3))
            .with_lr_latent(a.lr_latent.unwrap_or(1e-2))
            .with_latent_l2(a.latent_l2)
            .with_latent_init_std(a.latent_init_std)
            .with_pixels_per_step(a.pixels.unwrap_or(0))
            .with_seed(a.seed);
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
    // The jointly trained latents, in the same file format as fitted ones.
    LatentFile {
        split: Split::Train,
        dim: training.latents.dim,
        values: training.latents.values.clone(),
        labels: samples.labels().to_vec(),
        indices: samples.indices().to_vec(),
    }
    .save(&run.latents("train-joint"))?;
    Ok(())
}

#[derive(clap::Args, Clone)]
pub struct FitArgs {
    #[arg(long)]
    pub run: PathBuf,
    /// The dataset folder (default: FashionMNIST's Debian location; the run names the dataset).
    #[arg(long)]
    pub data: Option<PathBuf>,
    #[arg(long, value_enum)]
    pub split: Split,
    /// Fit only the first N samples of the split (0 = all).
    #[arg(long, default_value_t = 0)]
    pub limit: usize,
    #[arg(long, default_value_t = 30)]
    pub steps: usize,
    #[arg(long, default_value_t = 2e-2)]
    pub lr: f32,
    /// Samples fitted together (each latent's loss is its own: the batch changes speed,
    /// not results).
    #[arg(long, default_value_t = 1024)]
    pub batch: usize,
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    pub backend: BackendKind,
    /// How the SIREN runs: one fused operation (CPU backends) or burn's composed ops.
    #[arg(long, value_enum, default_value_t = SirenOp::Fused)]
    pub siren_op: SirenOp,
    /// Images: fit the split's images mirrored left to right instead, saved as
    /// `<split>-hflip` (extra training samples for the classifier:
    /// `classifier --train-latents train,train-hflip`).
    #[arg(long)]
    pub hflip: bool,
    #[arg(long)]
    pub quiet: bool,
}

pub fn fit(a: FitArgs) -> Result<()> {
    dispatch!(a.backend, fit_on, a)
}

fn fit_on<B: TrainBackend>(device: &B::Device, a: FitArgs) -> Result<()> {
    let run = RunDir(a.run.clone());
    let (config, _) = run_config(&run)?;
    let data = data_dir(config.dataset, &a.data)?;
    let samples = load_samples(
        config.dataset,
        &data,
        a.split,
        a.limit,
        &config.udf_or_default(),
        config.seed,
    )?;
    let samples = match (a.hflip, samples) {
        (false, s) => s,
        (true, Samples::Images(images)) => Samples::Images(images.mirrored()),
        (true, Samples::Shapes(_)) => bail!("--hflip: only images can be mirrored"),
    };
    let training = Training::<B>::load(&run.checkpoint(), None, device)?;
    let started = std::time::Instant::now();
    let fit_cfg = FitConfig::new()
        .with_steps(a.steps)
        .with_lr(a.lr)
        .with_batch_size(a.batch)
        .with_latent_l2(config.latent_l2)
        .with_siren_op(a.siren_op);
    let table = fit_latents(
        &config.model,
        &training.hypernet,
        &samples,
        &fit_cfg,
        device,
        a.quiet,
    )?;
    let name = format!("{:?}", a.split).to_lowercase() + if a.hflip { "-hflip" } else { "" };
    LatentFile {
        split: a.split,
        dim: table.dim,
        values: table.values,
        labels: samples.labels().to_vec(),
        indices: samples.indices().to_vec(),
    }
    .save(&run.latents(&name))?;
    hyperinr_data::io::write_atomic(
        &run.0.join(format!("fit-{name}.json")),
        fit_cfg.to_string().as_bytes(),
    )?;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "fitted {} latents of split {name} into {} in {seconds:.1} s ({:.0} samples/s)",
        samples.len(),
        run.latents(&name).display(),
        samples.len() as f64 / seconds.max(1e-9)
    );
    Ok(())
}

#[derive(clap::Args, Clone)]
pub struct ClassifierArgs {
    #[arg(long)]
    pub run: PathBuf,
    /// Which training latents: `train` (re-fitted, φ frozen), `train-joint`, or several
    /// joined with commas (`train,train-joint`): their union, one latent per row each.
    #[arg(long, default_value = "train")]
    pub train_latents: String,
    #[arg(long, default_value_t = 60)]
    pub epochs: usize,
    #[arg(long, default_value_t = 0.3)]
    pub dropout: f64,
    #[arg(long, default_value_t = 0.1)]
    pub input_noise: f32,
    /// Seed of the classifier's initialisation, batch order, dropout and input noise.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Hidden widths.
    #[arg(long, value_parser = parse_widths, default_value = "512,512")]
    pub hidden: std::vec::Vec<usize>,
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    pub backend: BackendKind,
}

pub fn classifier(a: ClassifierArgs) -> Result<()> {
    dispatch!(a.backend, classifier_on, a)
}

fn classifier_on<B: AutodiffBackend>(device: &B::Device, a: ClassifierArgs) -> Result<()> {
    let run = RunDir(a.run.clone());
    let (config, _) = run_config(&run)?;
    let mut sets = a
        .train_latents
        .split(',')
        .map(|name| LatentFile::load(&run.latents(name)));
    let mut train = sets
        .next()
        .ok_or_else(|| anyhow::anyhow!("--train-latents: no name given"))??;
    for more in sets {
        let more = more?;
        if more.dim != train.dim {
            bail!(
                "--train-latents {}: latent sizes differ ({} and {})",
                a.train_latents,
                train.dim,
                more.dim
            );
        }
        train.values.extend_from_slice(&more.values);
        train.labels.extend_from_slice(&more.labels);
        train.indices.extend_from_slice(&more.indices);
    }
    let val = LatentFile::load(&run.latents("val")).ok();
    let cfg = ClassifierConfig::new()
        .with_hidden(a.hidden.clone())
        .with_epochs(a.epochs)
        .with_dropout(a.dropout)
        .with_input_noise(a.input_noise)
        .with_seed(a.seed);
    // The classifier sees int8-dequantised latents, as it will on the device.
    let train_q = dequantized_latents(&train.values, train.dim)?;
    let val_q = match &val {
        Some(v) => Some(dequantized_latents(&v.values, v.dim)?),
        None => None,
    };
    let val_ref = val
        .as_ref()
        .zip(val_q.as_ref())
        .map(|(v, q)| (q.as_slice(), v.labels.as_slice()));
    let clf = train_classifier::<B>(
        &cfg,
        &train_q,
        &train.labels,
        train.dim,
        config.classes().len(),
        val_ref,
        device,
    )?;
    if let Some((vx, vy)) = val_ref {
        let acc = accuracy(&clf.predict(vx), vy);
        println!(
            "{}",
            serde_json::json!({"val_accuracy": acc, "train_latents": a.train_latents, "val_samples": vy.len()})
        );
    }
    save_classifier(&clf, &run.0.join("classifier.json"))?;
    hyperinr_data::io::write_atomic(
        &run.0.join("classifier-config.json"),
        cfg.to_string().as_bytes(),
    )?;
    Ok(())
}

#[derive(clap::Args, Clone)]
pub struct ExportArgs {
    #[arg(long)]
    pub run: PathBuf,
    /// Latents to store: `test`, `val`, `train`, optionally `:N` for the first N.
    #[arg(long, default_value = "test")]
    pub latents: String,
    #[arg(long)]
    pub out: PathBuf,
}

pub fn export(a: ExportArgs) -> Result<()> {
    let run = RunDir(a.run.clone());
    let (name, limit) = match a.latents.split_once(':') {
        Some((n, l)) => (
            n.to_string(),
            l.parse::<usize>()
                .with_context(|| format!("--latents {}: bad count", a.latents))?,
        ),
        None => (a.latents.clone(), usize::MAX),
    };
    let latents = LatentFile::load(&run.latents(&name))?.take(limit);
    let (config, cfg_text) = run_config(&run)?;
    let clf = load_classifier(&run.0.join("classifier.json"))?;
    type Cpu = burn::backend::Autodiff<burn::backend::NdArray<f32>>;
    let device = Default::default();
    let training = Training::<Cpu>::load(&run.checkpoint(), None, &device)?;
    let data_hash =
        std::fs::read_to_string(run.0.join("data.sha256")).unwrap_or_else(|_| "unknown".into());
    let (input, golden_coords) = if config.dataset.is_shapes() {
        let coords = crate::samples::cube_probes(16);
        let clamp = config.udf_or_default().clamp;
        (
            hyperinr_shared::InputKind::PointCloud { udf_clamp: clamp },
            coords,
        )
    } else {
        let mut coords = Vec::new();
        for k in 0..16u32 {
            coords.push(hyperinr_runtime::image_coord((k * 7) % 28, 28));
            coords.push(hyperinr_runtime::image_coord((k * 11 + 3) % 28, 28));
        }
        (
            hyperinr_shared::InputKind::Image {
                width: 28,
                height: 28,
            },
            coords,
        )
    };
    // How the stored latents were fitted: `fit` writes its settings beside them; latents
    // without that file (e.g. `train-joint`) get what `fit` would use by default.
    let fit_json = run.0.join(format!("fit-{name}.json"));
    let fit = match std::fs::read_to_string(&fit_json) {
        Ok(text) => crate::export::fit_settings_from_json(&text)
            .with_context(|| format!("reading {}", fit_json.display()))?,
        Err(_) => {
            let fit =
                crate::export::fit_settings(&FitConfig::new().with_latent_l2(config.latent_l2));
            eprintln!(
                "{} not found: recording fit's defaults ({} steps, lr {}, latent L2 {})",
                fit_json.display(),
                fit.steps,
                fit.lr,
                fit.latent_l2
            );
            fit
        }
    };
    let classes = config.classes();
    let class_refs: Vec<&str> = classes.iter().map(String::as_str).collect();
    let bytes = crate::export::export(&crate::export::ExportInput {
        dataset: config.dataset.name(),
        input,
        class_names: &class_refs,
        model: &config.model,
        hypernet: crate::export::hypernet_rows(&training.hypernet),
        linear: crate::export::linear_rows(&training.hypernet),
        fit,
        classifier: &clf,
        latents: &latents,
        seed: config.seed,
        data_hash: data_hash.trim(),
        training_config: &cfg_text,
        golden_coords,
    })?;
    hyperinr_data::io::write_atomic(&a.out, &bytes)?;
    // Float model (float latents, float classifier) vs the int8 file, on the stored latents.
    let float_acc = accuracy(&clf.predict(&latents.values), &latents.labels);
    let model = Model::from_bytes(&bytes).map_err(|e| anyhow!("{e}"))?;
    let s = model.sizes();
    let (mut z, mut logits, mut scratch) = (
        vec![0.0; s.latent],
        vec![0.0; s.logits],
        vec![0.0; s.scratch],
    );
    let mut hits = 0usize;
    for i in 0..model.latent_count() {
        let info = model.stored_latent(i, &mut z).map_err(|e| anyhow!("{e}"))?;
        let c = model
            .classify(&z, &mut logits, &mut scratch)
            .map_err(|e| anyhow!("{e}"))?;
        hits += (c == info.label as usize) as usize;
    }
    let int8_acc = hits as f64 / model.latent_count().max(1) as f64;
    println!(
        "{}",
        serde_json::json!({
            "out": a.out, "bytes": bytes.len(), "latents": latents.len(), "split": name,
            "float_accuracy": float_acc, "int8_accuracy": int8_acc
        })
    );
    Ok(())
}

#[derive(clap::Args, Clone)]
pub struct EvalArgs {
    #[arg(long)]
    pub model: PathBuf,
    #[arg(long, value_enum, default_value_t = DatasetKind::FashionMnist)]
    pub dataset: DatasetKind,
    /// The dataset folder (FashionMNIST default: /usr/share/datasets/fashion-mnist).
    #[arg(long)]
    pub data: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Split::Test)]
    pub split: Split,
    /// Evaluate only the first N samples (0 = all).
    #[arg(long, default_value_t = 0)]
    pub limit: usize,
    /// Fit fresh latents (φ frozen) instead of using the stored ones.
    #[arg(long)]
    pub fit: bool,
    /// With `--fit`: Adam steps per latent (default: the model file's fit settings, i.e.
    /// how its stored latents were fitted).
    #[arg(long)]
    pub fit_steps: Option<usize>,
    /// With `--fit`: Adam learning rate (default: the model file's fit settings).
    #[arg(long)]
    pub fit_lr: Option<f32>,
    /// Shapes: surface points for the Chamfer distance are where the reconstructed UDF < ε
    /// (unit-sphere units).
    #[arg(long, default_value_t = 0.02)]
    pub eps: f32,
    /// Shapes: measure the Chamfer distance on the first N evaluated shapes only (0 = all;
    /// accuracy always covers every shape).
    #[arg(long, default_value_t = 0)]
    pub chamfer_limit: usize,
    #[arg(long)]
    pub json: bool,
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    pub backend: BackendKind,
}

fn open_model<'a>(bytes: &'a [u8], path: &Path, dataset: &str) -> Result<Model<'a>> {
    let model = Model::from_bytes(bytes).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    if model.config().dataset != dataset {
        bail!(
            "{}: the model was trained on `{}`, not `{dataset}`",
            path.display(),
            model.config().dataset
        );
    }
    Ok(model)
}

/// How the model's training run observed shapes (from its provenance; defaults otherwise,
/// with the file's clamp).
fn model_udf(model: &Model<'_>) -> UdfConfig {
    let from_run = TrainingConfig::from_json(model.file().provenance.training_config.as_bytes())
        .ok()
        .and_then(|c| c.udf);
    match (from_run, model.config().input) {
        (Some(u), _) => u,
        (None, hyperinr_shared::InputKind::PointCloud { udf_clamp }) => {
            UdfConfig::new().with_clamp(udf_clamp)
        }
        (None, _) => UdfConfig::new(),
    }
}

pub fn eval(a: EvalArgs) -> Result<()> {
    let report = eval_report(&a)?;
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        let quality = match (report.psnr_db, report.chamfer) {
            (Some(p), _) => format!("PSNR {p:.2} dB"),
            (_, Some(c)) => format!("Chamfer {c:.4} (ε {})", a.eps),
            _ => String::new(),
        };
        println!(
            "accuracy {:.4} over {} samples, {quality} ({} latents)",
            report.accuracy,
            report.samples,
            if report.fitted { "fitted" } else { "stored" }
        );
    }
    Ok(())
}

/// Accuracy and reconstruction quality of `latents` (dequantised) for `samples`.
fn evaluate_samples(
    model: &Model<'_>,
    latents: &[f32],
    samples: &Samples,
    fitted: bool,
    a: &EvalArgs,
) -> Result<EvalReport> {
    match samples {
        Samples::Images(s) => evaluate(model, latents, s, fitted),
        Samples::Shapes(s) => evaluate_shapes(model, latents, s, fitted, a.eps, a.chamfer_limit),
    }
}

pub fn eval_report(a: &EvalArgs) -> Result<EvalReport> {
    let bytes = crate::export::read_model_file(&a.model)?;
    let model = open_model(&bytes, &a.model, a.dataset.name())?;
    let data = data_dir(a.dataset, &a.data)?;
    let udf = model_udf(&model);
    let split_samples = load_samples(
        a.dataset,
        &data,
        a.split,
        0,
        &udf,
        model.file().provenance.seed,
    )?;
    if a.fit {
        let samples = split_samples.take(a.limit)?;
        let latents = dispatch!(
            a.backend,
            fit_for_model,
            &model,
            &samples,
            &fit_config_for_model(&model, a.fit_steps, a.fit_lr)?,
            true
        )?;
        return evaluate_samples(&model, &latents, &samples, true, a);
    }
    let stored = model.file().latents.split;
    if stored != a.split.to_format() {
        bail!("{}: the model stores latents of split {stored:?}, not {:?} (use --fit to fit that split)", a.model.display(), a.split);
    }
    let n = if a.limit > 0 {
        a.limit.min(model.latent_count())
    } else {
        model.latent_count()
    };
    let dim = model.sizes().latent;
    let mut latents = vec![0.0f32; n * dim];
    let mut picked = Vec::with_capacity(n);
    for (i, z) in latents.chunks_exact_mut(dim).enumerate() {
        let info = model.stored_latent(i, z).map_err(|e| anyhow!("{e}"))?;
        let idx = info.dataset_index as usize;
        if idx >= split_samples.len() {
            bail!(
                "{}: stored latent {i} refers to sample {idx}, {} has {}",
                a.model.display(),
                data.display(),
                split_samples.len()
            );
        }
        picked.push(idx);
    }
    // Labels come from the dataset folder, not from the model file.
    let samples = split_samples.select(&picked)?;
    evaluate_samples(&model, &latents, &samples, false, a)
}

/// The fit the model file records for its stored latents (steps, lr, latent L2), with
/// `steps` and `lr` overridden where given. The trainer's fitter has one Adam (β1, β2, ε of
/// `latents.rs`) and starts at zero: a file that records other constants is refused rather
/// than fitted differently from how it says.
fn fit_config_for_model(
    model: &Model<'_>,
    steps: Option<usize>,
    lr: Option<f32>,
) -> Result<FitConfig> {
    let stored = model.fit_settings();
    let ours = crate::export::fit_settings(&FitConfig::new());
    let constants = |f: &hyperinr_shared::FitSettings| (f.beta1, f.beta2, f.eps, f.init_std);
    if constants(stored) != constants(&ours) {
        bail!(
            "the model file fitted its latents with Adam β1 {}, β2 {}, ε {}, init std {}; \
             this fitter uses β1 {}, β2 {}, ε {}, init std {}",
            stored.beta1,
            stored.beta2,
            stored.eps,
            stored.init_std,
            ours.beta1,
            ours.beta2,
            ours.eps,
            ours.init_std
        );
    }
    Ok(FitConfig::new()
        .with_steps(steps.unwrap_or(stored.steps as usize))
        .with_lr(lr.unwrap_or(stored.lr))
        .with_latent_l2(stored.latent_l2)
        .with_batch_size(1024))
}

/// Fits latents for `samples` with the model file's dequantised hypernetwork and returns
/// them after an int8 round trip (what the device would store).
fn fit_for_model<B: TrainBackend>(
    device: &B::Device,
    model: &Model<'_>,
    samples: &Samples,
    fit: &FitConfig,
    quiet: bool,
) -> Result<Vec<f32>> {
    let cfg = model_config_from_file(model.file());
    let hypernet = hypernet_from_file::<B>(model.file(), device)?;
    let table = fit_latents(&cfg, &hypernet, samples, fit, device, quiet)?;
    dequantized_latents(&table.values, table.dim)
}

#[derive(clap::Args, Clone)]
pub struct ClassifyArgs {
    #[arg(long)]
    pub model: PathBuf,
    /// Image models: a PNG of any size (converted to the model's size, grayscale).
    /// Shape models: an `.npy` `(N, 3)` float32 point cloud (normalised to the unit sphere).
    #[arg(long)]
    pub input: PathBuf,
    /// Invert intensities (for dark objects on a light background).
    #[arg(long)]
    pub invert: bool,
    /// Adam steps of the latent's fit (default: the model file's fit settings).
    #[arg(long)]
    pub fit_steps: Option<usize>,
}

pub fn classify(a: ClassifyArgs) -> Result<()> {
    let bytes = crate::export::read_model_file(&a.model)?;
    let model = Model::from_bytes(&bytes).map_err(|e| anyhow!("{}: {e}", a.model.display()))?;
    let samples = match model.config().input {
        hyperinr_shared::InputKind::Image { width, height } => {
            let (w, h) = (width as usize, height as usize);
            let gray = crate::render::read_png_gray(&a.input, w, h)?;
            let pixels: Vec<u8> = gray
                .iter()
                .map(|&v| {
                    ((if a.invert { 1.0 - v } else { v }) * 255.0)
                        .round()
                        .clamp(0.0, 255.0) as u8
                })
                .collect();
            Samples::Images(ImageSet {
                width: w,
                height: h,
                pixels,
                labels: vec![0],
                indices: vec![0],
            })
        }
        hyperinr_shared::InputKind::PointCloud { .. } => {
            let mut cloud = hyperinr_data::npy::read_npy_points(&a.input)?;
            hyperinr_data::clouds::normalize_unit_sphere(&mut cloud);
            let set = hyperinr_data::clouds::PointCloudSet {
                clouds: vec![cloud],
                labels: vec![0],
                class_names: vec![],
                paths: vec![a.input.clone()],
                indices: vec![0],
            };
            Samples::Shapes(ShapeSet::new(set, model_udf(&model), 0)?)
        }
    };
    let device = Default::default();
    let z = fit_for_model::<crate::backend::CpuBackend>(
        &device,
        &model,
        &samples,
        &fit_config_for_model(&model, a.fit_steps, None)?,
        true,
    )?;
    let s = model.sizes();
    let (mut logits, mut scratch) = (vec![0.0; s.logits], vec![0.0; s.scratch]);
    let class = model
        .classify(&z, &mut logits, &mut scratch)
        .map_err(|e| anyhow!("{e}"))?;
    let max = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = logits.iter().map(|l| (l - max).exp()).sum();
    let conf = 1.0 / sum;
    let name = model.config().class_name(class).unwrap_or("?");
    let quality = match &samples {
        Samples::Images(images) => {
            let r = run_sample(&model, &z, &images.pixels)?;
            format!(
                "reconstruction PSNR {:.2} dB",
                crate::training::psnr(r.sq_err / images.pixels.len() as f64)
            )
        }
        Samples::Shapes(shapes) => {
            let eps = 0.02;
            match crate::eval::reconstruct_surface(&model, &z, crate::eval::CHAMFER_POINTS, eps, 0)
            {
                Ok(points) => format!(
                    "reconstruction Chamfer {:.4} (ε {eps})",
                    crate::geometry::chamfer_distance(shapes.clouds.cloud(0), &points)?
                ),
                Err(e) => format!("no reconstructed surface: {e}"),
            }
        }
    };
    println!("{name} (class {class}), confidence {conf:.3}, {quality}");
    Ok(())
}

#[derive(clap::Args, Clone)]
pub struct InspectArgs {
    pub model: PathBuf,
}

pub fn inspect(a: InspectArgs) -> Result<()> {
    let bytes = crate::export::read_model_file(&a.model)?;
    let header = hyperinr_shared::Header::parse(&bytes);
    println!("file: {} ({} bytes)", a.model.display(), bytes.len());
    match header {
        Ok((h, _)) => println!(
            "header: version {}, payload {} bytes, CRC-32 {:#010x} OK",
            h.version, h.payload_len, h.payload_crc
        ),
        Err(e) => bail!("{}: {e}", a.model.display()),
    }
    let model = Model::from_bytes(&bytes).map_err(|e| anyhow!("{}: {e}", a.model.display()))?;
    let f = model.file();
    let c = &f.config;
    println!("dataset: {} ({:?})", c.dataset, c.input);
    println!(
        "latent {} → hypernet {:?} → {} SIREN params; SIREN {}-{:?}-{}, ω0 {}",
        c.latent_dim,
        c.hyper_hidden,
        model.sizes().weights,
        c.in_dim,
        c.siren_hidden,
        c.out_dim,
        c.omega0
    );
    println!(
        "φ: hidden activation {}, linear path {}",
        c.hyper_activation.name(),
        match &f.linear_path {
            Some(l) => format!("{} × {} (own bias)", l.rows, l.cols),
            None => "none".into(),
        }
    );
    let fit = &c.fit;
    println!(
        "stored latents fitted with: {} Adam steps, lr {}, β1 {}, β2 {}, ε {:e}, latent L2 {:e}, initial std {}",
        fit.steps, fit.lr, fit.beta1, fit.beta2, fit.eps, fit.latent_l2, fit.init_std
    );
    println!(
        "classes ({}): {}",
        c.class_count,
        c.class_names.replace('\n', ", ")
    );
    println!(
        "classifier: {} layers {:?}",
        f.classifier.layers.len(),
        f.classifier
            .layers
            .iter()
            .map(|l| (l.cols, l.rows))
            .collect::<Vec<_>>()
    );
    println!(
        "latents: {} of split {:?}",
        f.latents.count, f.latents.split
    );
    println!("golden vectors: {}", f.golden.len());
    println!(
        "provenance: commit {}, seed {}, data sha256 {}",
        f.provenance.source_commit, f.provenance.seed, f.provenance.data_hash
    );
    println!(
        "training config: {}",
        f.provenance.training_config.replace('\n', " ")
    );
    let s = model.sizes();
    println!(
        "buffers (f32): latent {}, weights {}, scratch {}, logits {}; MACs: decode {}, classify {}, SIREN per point {}",
        s.latent, s.weights, s.scratch, s.logits, model.decode_macs(), model.classify_macs(), model.siren_macs_per_point()
    );
    let mut ws = hyperinr_runtime::WorkspaceBuf::new(&model);
    match model.self_test(&mut ws.workspace()) {
        Ok(n) => println!("self-test: {n} golden vectors reproduce bit for bit"),
        Err(e) => bail!("{}: self-test failed: {e}", a.model.display()),
    }
    Ok(())
}

#[derive(clap::Args, Clone)]
pub struct RenderArgs {
    #[arg(long)]
    pub model: PathBuf,
    /// The dataset folder (FashionMNIST default: /usr/share/datasets/fashion-mnist).
    #[arg(long)]
    pub data: Option<PathBuf>,
    #[arg(long)]
    pub out: PathBuf,
    /// Number of stored latents to show (default: 24 images, 6 shapes).
    #[arg(long)]
    pub count: Option<usize>,
}

pub fn render(a: RenderArgs) -> Result<()> {
    let bytes = crate::export::read_model_file(&a.model)?;
    let model = Model::from_bytes(&bytes).map_err(|e| anyhow!("{}: {e}", a.model.display()))?;
    let kind = DatasetKind::from_name(model.config().dataset)
        .map_err(|e| anyhow!("{}: {e}", a.model.display()))?;
    let split = match model.file().latents.split {
        hyperinr_shared::Split::Train => Split::Train,
        hyperinr_shared::Split::Validation => Split::Val,
        hyperinr_shared::Split::Test => Split::Test,
    };
    let data = data_dir(kind, &a.data)?;
    let samples = load_samples(kind, &data, split, 0, &model_udf(&model), 0)?;
    let count = a
        .count
        .unwrap_or(if kind.is_shapes() { 6 } else { 24 })
        .min(model.latent_count());
    let mut z = vec![0.0; model.sizes().latent];
    let mut picked = Vec::new();
    let mut latents = Vec::new();
    for i in 0..count {
        let info = model.stored_latent(i, &mut z).map_err(|e| anyhow!("{e}"))?;
        let idx = info.dataset_index as usize;
        if idx >= samples.len() {
            bail!(
                "{}: stored latent {i} refers to sample {idx}, {} has {}",
                a.model.display(),
                data.display(),
                samples.len()
            );
        }
        picked.push(idx);
        latents.push(z.clone());
    }
    match samples.select(&picked)? {
        Samples::Images(images) => {
            let mut pairs = Vec::new();
            for (k, z) in latents.iter().enumerate() {
                let img = images.image(k);
                let r = run_sample(&model, z, img)?;
                pairs.push((img.iter().map(|&p| p as f32 / 255.0).collect(), r.pixels));
            }
            let (w, h, px) = crate::render::pair_grid(&pairs, images.width, images.height, 6, 3);
            crate::render::write_gray_png(&a.out, w, h, &px)?;
        }
        Samples::Shapes(shapes) => {
            let mut rows = Vec::new();
            for (k, z) in latents.iter().enumerate() {
                let points = crate::eval::reconstruct_surface(
                    &model,
                    z,
                    crate::eval::CHAMFER_POINTS,
                    0.02,
                    k as u64,
                )?;
                rows.push((shapes.clouds.cloud(k).to_vec(), points));
            }
            crate::render::write_shape_grid(&a.out, &rows)?;
        }
    }
    eprintln!(
        "wrote {} ({count} originals | runtime reconstructions)",
        a.out.display()
    );
    Ok(())
}

#[derive(clap::Args, Clone)]
pub struct SubsetArgs {
    #[arg(long, value_enum, default_value_t = DatasetKind::FashionMnist)]
    pub dataset: DatasetKind,
    /// The full dataset folder (FashionMNIST default: /usr/share/datasets/fashion-mnist).
    #[arg(long)]
    pub from: Option<PathBuf>,
    #[arg(long)]
    pub to: PathBuf,
    /// Training samples: images in all (FashionMNIST) or files per class (shapes).
    #[arg(long, default_value_t = 2000)]
    pub train: usize,
    /// Test samples: images in all (FashionMNIST) or files per class (shapes).
    #[arg(long, default_value_t = 500)]
    pub test: usize,
}

pub fn make_subset(a: SubsetArgs) -> Result<()> {
    let from = data_dir(a.dataset, &a.from)?;
    if !a.dataset.is_shapes() {
        return hyperinr_data::fashion::make_subset(&from, &a.to, a.train, a.test);
    }
    let summary = hyperinr_data::clouds::make_pointcloud_subset(
        &from,
        &a.to,
        a.dataset.class_filter(),
        a.train,
        a.test,
    )?;
    eprintln!(
        "wrote {}: {} classes, {} train / {} test files",
        a.to.display(),
        summary.classes.len(),
        summary.train_files,
        summary.test_files
    );
    Ok(())
}

#[derive(clap::Args, Clone)]
pub struct DemoArgs {
    /// Data folder (default: the subset shipped in the repo).
    #[arg(long, default_value = "data/fashion-mnist-subset")]
    pub data: PathBuf,
    #[arg(long, default_value = "runs/demo")]
    pub run: PathBuf,
    #[arg(long, default_value_t = 30)]
    pub epochs: usize,
    /// Adam steps per fitted latent (the FashionMNIST recipe's 100, docs/recipe.md).
    #[arg(long, default_value_t = 100)]
    pub fit_steps: usize,
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    pub backend: BackendKind,
}

/// The main job: the shipped FashionMNIST recipe (docs/recipe.md: SiLU φ with a linear
/// path, 100 fitting steps, classifier input noise 0.2) at the in-repo subset's scale.
pub fn demo(a: DemoArgs) -> Result<()> {
    let started = std::time::Instant::now();
    let run = a.run.clone();
    let say = |what: &str| eprintln!("[demo {:>6.1}s] {what}", started.elapsed().as_secs_f64());
    say("training on the in-repo subset");
    train(TrainArgs {
        dataset: DatasetKind::FashionMnist,
        data: Some(a.data.clone()),
        run: run.clone(),
        resume: false,
        backend: a.backend,
        epochs: a.epochs,
        batch: 64,
        lr_hyper: None,
        lr_latent: None,
        latent_dim: 64,
        hyper_hidden: vec![256, 256],
        siren_hidden: vec![32, 32],
        queries: 2048,
        latent_l2: 1e-4,
        latent_init_std: 0.01,
        omega0: 30.0,
        last_layer_scale: 0.1,
        pixels: None,
        seed: 42,
        limit: 0,
        siren_op: SirenOp::Fused,
        hyper_activation: crate::model::HyperActivation::Silu,
        linear_path: true,
        latent_steps: None,
        aux_class_weight: 0.0,
        checkpoint_every: 60.0,
        quiet: true,
    })?;
    for split in [Split::Train, Split::Val, Split::Test] {
        say(&format!("fitting {split:?} latents (φ frozen)"));
        fit(FitArgs {
            run: run.clone(),
            data: Some(a.data.clone()),
            split,
            limit: 0,
            steps: a.fit_steps,
            lr: 2e-2,
            batch: 1024,
            backend: a.backend,
            siren_op: SirenOp::Fused,
            hflip: false,
            quiet: true,
        })?;
    }
    say("training the classifier on re-fitted training latents");
    classifier(ClassifierArgs {
        run: run.clone(),
        train_latents: "train".into(),
        epochs: 60,
        dropout: 0.3,
        input_noise: 0.2,
        seed: 7,
        hidden: vec![512, 512],
        backend: a.backend,
    })?;
    say("exporting int8 model with the test latents");
    let model = run.join("model.hinr");
    export(ExportArgs {
        run: run.clone(),
        latents: "test".into(),
        out: model.clone(),
    })?;
    say("evaluating stored latents with the runtime");
    let mut e = EvalArgs {
        model: model.clone(),
        dataset: DatasetKind::FashionMnist,
        data: Some(a.data.clone()),
        split: Split::Test,
        limit: 0,
        fit: false,
        // The file records the fit above: `--fit` repeats it.
        fit_steps: None,
        fit_lr: None,
        eps: 0.02,
        chamfer_limit: 0,
        json: true,
        backend: a.backend,
    };
    eval(e.clone())?;
    say("evaluating freshly fitted latents");
    e.fit = true;
    eval(e)?;
    say("rendering");
    render(RenderArgs {
        model: model.clone(),
        data: Some(a.data.clone()),
        out: run.join("reconstructions.png"),
        count: Some(24),
    })?;
    inspect(InspectArgs { model })?;
    say("done");
    Ok(())
}

#[derive(clap::Args, Clone)]
pub struct IftArgs {
    #[arg(long)]
    pub model: PathBuf,
    /// The dataset folder (FashionMNIST default: /usr/share/datasets/fashion-mnist); the
    /// model names the dataset.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Shapes: query points per shape for the loss Hessian (UDF targets, drawn as in training).
    #[arg(long, default_value_t = 2048)]
    pub queries: usize,
    /// The split of the model's stored latents (checked against the file).
    #[arg(long, value_enum, default_value_t = Split::Test)]
    pub split: Split,
    /// Analyse the first N stored latents.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// Histogram PNG (log10 σ_min, log10 cond J, Hessian λ_min, rank of J).
    #[arg(long)]
    pub png: Option<PathBuf>,
    /// Include every latent's figures in the JSON.
    #[arg(long)]
    pub per_latent: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Clone)]
pub struct CapacityArgs {
    #[arg(long)]
    pub model: PathBuf,
    /// The dataset folder (default: FashionMNIST's Debian location; the model names the dataset).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// A split for tuning choices: validation by default, not test.
    #[arg(long, value_enum, default_value_t = Split::Val)]
    pub split: Split,
    /// The first N samples of the split.
    #[arg(long, default_value_t = 256)]
    pub limit: usize,
    /// Adam steps per level.
    #[arg(long, default_value_t = 500)]
    pub steps: usize,
    #[arg(long, default_value_t = 2e-2)]
    pub lr_latent: f32,
    #[arg(long, default_value_t = 3e-3)]
    pub lr_hidden: f32,
    #[arg(long, default_value_t = 1e-3)]
    pub lr_siren: f32,
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    pub backend: BackendKind,
}

/// The capacity report: the model, the samples and one line per level.
#[derive(serde::Serialize)]
struct CapacityReport {
    model: String,
    split: String,
    samples: usize,
    steps: usize,
    levels: Vec<CapacityLine>,
}

#[derive(serde::Serialize)]
struct CapacityLine {
    #[serde(flatten)]
    level: crate::capacity::LevelReport,
    /// PSNR (dB) of `mse` for images; `None` for shapes.
    psnr_db: Option<f64>,
    start_psnr_db: Option<f64>,
}

pub fn capacity(a: CapacityArgs) -> Result<()> {
    dispatch!(a.backend, capacity_on, a)
}

fn capacity_on<B: TrainBackend>(device: &B::Device, a: CapacityArgs) -> Result<()> {
    let bytes = crate::export::read_model_file(&a.model)?;
    let model = Model::from_bytes(&bytes).map_err(|e| anyhow!("{}: {e}", a.model.display()))?;
    let kind = DatasetKind::from_name(model.config().dataset)
        .map_err(|e| anyhow!("{}: {e}", a.model.display()))?;
    let data = data_dir(kind, &a.data)?;
    let samples = load_samples(
        kind,
        &data,
        a.split,
        a.limit,
        &model_udf(&model),
        model.file().provenance.seed,
    )?;
    let cfg = model_config_from_file(model.file());
    let hypernet = hypernet_from_file::<B>(model.file(), device)?;
    let fit = crate::capacity::CapacityConfig::new()
        .with_steps(a.steps)
        .with_lr_latent(a.lr_latent)
        .with_lr_hidden(a.lr_hidden)
        .with_lr_siren(a.lr_siren);
    let levels = crate::capacity::capacity_levels(&cfg, &hypernet, &samples, &fit, device)?;
    let images = !kind.is_shapes();
    let psnr = |mse: f64| images.then(|| crate::training::psnr(mse));
    let report = CapacityReport {
        model: a.model.display().to_string(),
        split: format!("{:?}", a.split).to_lowercase(),
        samples: samples.len(),
        steps: a.steps,
        levels: levels
            .into_iter()
            .map(|level| CapacityLine {
                psnr_db: psnr(level.mse),
                start_psnr_db: psnr(level.start_mse),
                level,
            })
            .collect(),
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

pub fn ift(a: IftArgs) -> Result<()> {
    let bytes = crate::export::read_model_file(&a.model)?;
    let model = Model::from_bytes(&bytes).map_err(|e| anyhow!("{}: {e}", a.model.display()))?;
    if model.file().latents.split != a.split.to_format() {
        bail!(
            "{}: the model stores latents of split {:?}, not {:?}",
            a.model.display(),
            model.file().latents.split,
            a.split
        );
    }
    let kind = DatasetKind::from_name(model.config().dataset)
        .map_err(|e| anyhow!("{}: {e}", a.model.display()))?;
    let data = data_dir(kind, &a.data)?;
    let udf = model_udf(&model).with_queries(a.queries);
    let set = load_samples(kind, &data, a.split, 0, &udf, model.file().provenance.seed)?;
    let n = a.limit.min(model.latent_count());
    let mut z = vec![0.0; model.sizes().latent];
    let mut picked = Vec::with_capacity(n);
    for k in 0..n {
        let info = model.stored_latent(k, &mut z).map_err(|e| anyhow!("{e}"))?;
        let idx = info.dataset_index as usize;
        if idx >= set.len() {
            bail!(
                "{}: stored latent {k} refers to sample {idx}, {} has {}",
                a.model.display(),
                data.display(),
                set.len()
            );
        }
        picked.push(idx);
    }
    // Each latent's reconstruction target, as the loss saw it: the image on its grid, or one
    // draw of UDF queries around the shape.
    let mut observed = Vec::with_capacity(n);
    for &idx in &picked {
        let obs = set.observe(&[idx], 0)?;
        let coords = match (obs.coords, set.shared_coords()) {
            (Some(c), _) => c,
            (None, Some((grid, _))) => grid,
            (None, None) => bail!("samples without coordinates"),
        };
        observed.push((coords, obs.targets));
    }
    let targets: Vec<crate::ift::IftTarget<'_>> = observed
        .iter()
        .map(|(coords, values)| crate::ift::IftTarget { coords, values })
        .collect();
    let report = crate::ift::run_ift_targets::<crate::backend::CpuBackend>(
        &bytes,
        &targets,
        n,
        crate::ift::FD_CHECK_LATENTS,
        &Default::default(),
    )?;
    if let Some(p) = &a.png {
        crate::ift::ift_histogram_png(&report, p)?;
    }
    let mut v = serde_json::to_value(&report)?;
    if !a.per_latent {
        if let Some(o) = v.as_object_mut() {
            o.remove("per_latent");
        }
    }
    if a.json {
        println!("{v}");
    } else {
        println!("{}", serde_json::to_string_pretty(&v)?);
    }
    Ok(())
}

#[derive(clap::Args, Clone)]
pub struct PlotArgs {
    #[arg(long)]
    pub model: PathBuf,
    /// PCA map of the stored latents, coloured by class (PNG).
    #[arg(long)]
    pub map: Option<PathBuf>,
    /// t-SNE map of the stored latents, coloured by class (PNG; Barnes-Hut, perplexity 30).
    #[arg(long)]
    pub tsne: Option<PathBuf>,
    /// Interpolation strip between stored latents `--from` and `--to` (PNG).
    #[arg(long)]
    pub strip: Option<PathBuf>,
    #[arg(long, default_value_t = 0)]
    pub from: usize,
    /// Default: the first stored latent of another class than `--from`'s.
    #[arg(long)]
    pub to: Option<usize>,
    #[arg(long, default_value_t = 8)]
    pub steps: usize,
    /// Latents in the neighbour check (latent vs reconstruction distance; 0 = skip).
    #[arg(long, default_value_t = 500)]
    pub neighbours: usize,
    /// Nearest neighbours per latent in that check.
    #[arg(long, default_value_t = 5)]
    pub k: usize,
    /// Latents on the map (0 = all stored).
    #[arg(long, default_value_t = 0)]
    pub limit: usize,
}

pub fn plot(a: PlotArgs) -> Result<()> {
    let bytes = crate::export::read_model_file(&a.model)?;
    let model = Model::from_bytes(&bytes).map_err(|e| anyhow!("{}: {e}", a.model.display()))?;
    let latents = crate::plot::StoredLatents::read(&model, a.limit)?;
    let names: Vec<&str> = (0..model.config().class_count as usize)
        .map(|k| model.config().class_name(k).unwrap_or("?"))
        .collect();
    let mut report = serde_json::json!({ "model": a.model, "latents": latents.len() });
    if let Some(path) = &a.map {
        let proj = crate::plot::pca_2d(&latents)?;
        let title = format!(
            "{}: {} stored latents, pca (pc1 {:.1}%, pc2 {:.1}%)",
            model.config().dataset,
            latents.len(),
            100.0 * proj.explained[0],
            100.0 * proj.explained[1]
        );
        crate::plot::latent_map_png(&proj, &latents.labels, &names, &title, path)?;
        report["pca_explained"] = serde_json::json!(proj.explained);
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &a.tsne {
        let proj = crate::plot::tsne_2d(&latents, 30.0, 1000)?;
        let title = format!(
            "{}: {} stored latents, t-sne (perplexity 30)",
            model.config().dataset,
            latents.len()
        );
        crate::plot::latent_map_png(&proj, &latents.labels, &names, &title, path)?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &a.strip {
        if a.from >= latents.len() {
            bail!(
                "--from {}: the model stores {} latents",
                a.from,
                latents.len()
            );
        }
        let to = match a.to {
            Some(t) if t < latents.len() => t,
            Some(t) => bail!("--to {t}: the model stores {} latents", latents.len()),
            None => (0..latents.len())
                .find(|&j| latents.labels[j] != latents.labels[a.from])
                .unwrap_or(latents.len() - 1),
        };
        crate::plot::interpolation_strip(
            &model,
            latents.row(a.from),
            latents.row(to),
            a.steps,
            path,
        )?;
        report["strip"] = serde_json::json!({
            "from": a.from, "to": to,
            "from_class": names.get(latents.labels[a.from] as usize),
            "to_class": names.get(latents.labels[to] as usize),
        });
        eprintln!("wrote {}", path.display());
    }
    if a.neighbours > 0 {
        let subset = crate::plot::StoredLatents::read(&model, a.neighbours)?;
        report["neighbours"] =
            serde_json::to_value(crate::plot::neighbour_check(&model, &subset, a.k)?)?;
    }
    println!("{report}");
    Ok(())
}

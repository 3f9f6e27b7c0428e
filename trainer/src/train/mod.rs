//! Joint auto-decoding: per-sample latents and the hypernetwork trained together on
//! reconstruction, with checkpoints at epoch ends, `metrics.csv` and resume.

use crate::latents::LatentTable;
use crate::model::{HyperInrConfig, HyperNet};
use crate::samples::{DatasetKind, Samples, UdfConfig};
use crate::siren_op::{siren, SirenOp, TrainBackend};
use anyhow::{bail, Context, Result};
use burn::config::Config;
use burn::module::Module;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{Adam, AdamConfig, GradientsParams, Optimizer};
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::{Tensor, TensorData, Transaction};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Every hyper-parameter of a training run.
#[derive(Config, Debug)]
pub struct TrainingConfig {
    /// Model shapes.
    pub model: HyperInrConfig,
    /// What is trained on.
    #[config(default = "DatasetKind::FashionMnist")]
    pub dataset: DatasetKind,
    /// Class names in label order (empty in runs made before shapes existed: FashionMNIST's).
    #[config(default = "Vec::new()")]
    pub class_names: Vec<String>,
    /// How shapes are observed (`None` for images).
    pub udf: Option<UdfConfig>,
    /// Passes over the training samples.
    #[config(default = 20)]
    pub epochs: usize,
    /// Samples per step.
    #[config(default = 128)]
    pub batch_size: usize,
    /// Adam learning rate of the hypernetwork.
    #[config(default = 1e-4)]
    pub lr_hyper: f64,
    /// Adam learning rate of the latents.
    #[config(default = 1e-3)]
    pub lr_latent: f32,
    /// Standard deviation of the initial latents.
    #[config(default = 0.01)]
    pub latent_init_std: f32,
    /// Weight of the mean squared latent norm in the loss.
    #[config(default = 1e-4)]
    pub latent_l2: f32,
    /// Seed for initialisation and shuffling.
    #[config(default = 42)]
    pub seed: u64,
    /// Images: pixels per image and step (0 = all). Each step draws a random subset, shared
    /// by the batch. The SIREN's cost scales with the pixel count and φ's does not, so fewer
    /// pixels buy more hypernetwork and latent steps per second, at the price of noisier ones.
    #[config(default = 0)]
    pub pixels_per_step: usize,
    /// Latent updates per batch: `latent_steps − 1` latent-only Adam steps (φ held) before
    /// the joint step. Each latent otherwise gets one update per epoch, φ one per batch.
    #[config(default = 1)]
    pub latent_steps: usize,
    /// Weight of the auxiliary classification loss (cross-entropy of φ's auxiliary head on
    /// the training latents; needs `model.aux_classes`). Test latents are still fitted
    /// without labels.
    #[config(default = 0.0)]
    pub aux_class_weight: f32,
}

impl TrainingConfig {
    /// Checks the shapes and rates a run can be built from (burn panics on zero widths).
    pub fn validate(&self) -> Result<()> {
        let m = &self.model;
        let widths_ok = |w: &[usize]| w.iter().all(|&v| (1..=1 << 16).contains(&v));
        if !(1..=4096).contains(&m.latent_dim) {
            bail!("latent_dim {} is not in 1..=4096", m.latent_dim);
        }
        if m.hyper_hidden.is_empty() || !widths_ok(&m.hyper_hidden) || !widths_ok(&m.siren_hidden) {
            bail!(
                "hidden widths {:?} / {:?} must be non-empty lists of 1..=65536",
                m.hyper_hidden,
                m.siren_hidden
            );
        }
        if !(2..=3).contains(&m.in_dim) || !(1..=16).contains(&m.out_dim) {
            bail!("SIREN {} → {} is not 2|3 → 1..=16", m.in_dim, m.out_dim);
        }
        if !(m.omega0.is_finite() && m.omega0 > 0.0) || self.batch_size == 0 {
            bail!(
                "omega0 {} and batch_size {} must be positive",
                m.omega0,
                self.batch_size
            );
        }
        let init_ok = self.latent_init_std.is_finite()
            && self.latent_init_std >= 0.0
            && m.last_layer_scale.is_finite();
        if !init_ok {
            bail!(
                "latent_init_std {} must be finite and ≥ 0, last_layer_scale {} finite",
                self.latent_init_std,
                m.last_layer_scale
            );
        }
        let rate_ok = |r: f64| r.is_finite() && r >= 0.0;
        if !rate_ok(self.lr_hyper) || !rate_ok(f64::from(self.lr_latent)) {
            bail!(
                "learning rates {} (hypernetwork) and {} (latents) must be finite and ≥ 0",
                self.lr_hyper,
                self.lr_latent
            );
        }
        Ok(())
    }

    /// Reads a saved configuration. Runs saved before shapes existed lack `dataset`,
    /// `class_names` and `udf`: they were FashionMNIST runs, and read as such. Runs saved
    /// before pixel subsampling existed lack `pixels_per_step`: they used every pixel.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let mut value: serde_json::Value = serde_json::from_slice(bytes)?;
        if let Some(fields) = value.as_object_mut() {
            fields
                .entry("dataset")
                .or_insert_with(|| serde_json::json!("fashion-mnist"));
            fields
                .entry("class_names")
                .or_insert_with(|| serde_json::json!([]));
            fields.entry("udf").or_insert(serde_json::Value::Null);
            fields
                .entry("pixels_per_step")
                .or_insert_with(|| serde_json::json!(0));
            fields
                .entry("latent_steps")
                .or_insert_with(|| serde_json::json!(1));
            fields
                .entry("aux_class_weight")
                .or_insert_with(|| serde_json::json!(0.0));
            // φ's activation and linear path came later: older runs had a ReLU MLP.
            if let Some(model) = fields.get_mut("model").and_then(|m| m.as_object_mut()) {
                model
                    .entry("hyper_activation")
                    .or_insert_with(|| serde_json::json!("relu"));
                model
                    .entry("linear_path")
                    .or_insert_with(|| serde_json::json!(false));
                model
                    .entry("aux_classes")
                    .or_insert_with(|| serde_json::json!(0));
            }
        }
        Ok(serde_json::from_value(value)?)
    }
}

/// Paths inside a run directory.
pub struct RunDir(pub PathBuf);

impl RunDir {
    /// `config.json`.
    pub fn config(&self) -> PathBuf {
        self.0.join("config.json")
    }
    /// The newest checkpoint.
    pub fn checkpoint(&self) -> PathBuf {
        self.0.join("checkpoint.bin")
    }
    /// `metrics.csv`.
    pub fn metrics(&self) -> PathBuf {
        self.0.join("metrics.csv")
    }
    /// Fitted latents of a split.
    pub fn latents(&self, name: &str) -> PathBuf {
        self.0.join(format!("latents-{name}.bin"))
    }
}

/// One step's inputs: the batch's latents `[b, l]`, coordinates (`[b, in, m]`, or the
/// shared grid `[1, in, m]`) and targets `[b, out, m]`.
pub fn batch_tensors<B: burn::tensor::backend::Backend>(
    samples: &Samples,
    shared: Option<&Tensor<B, 3>>,
    latents: &LatentTable,
    rows: &[usize],
    draw: u64,
    device: &B::Device,
) -> Result<(Tensor<B, 2>, Tensor<B, 3>, Tensor<B, 3>)> {
    let z = Tensor::from_data(
        TensorData::new(latents.gather(rows), [rows.len(), latents.dim]),
        device,
    );
    let obs = samples.observe(rows, draw)?;
    let m = obs.points;
    let coords = match (obs.coords, shared) {
        (Some(c), _) => Tensor::from_data(
            TensorData::new(c, [rows.len(), samples.in_dim(), m]),
            device,
        ),
        (None, Some(grid)) => grid.clone(),
        (None, None) => bail!("samples without coordinates"),
    };
    let out = obs.targets.len() / (rows.len() * m).max(1);
    let target = Tensor::from_data(TensorData::new(obs.targets, [rows.len(), out, m]), device);
    Ok((z, coords, target))
}

/// The grid shared by every sample of `samples`, as a `[1, in, m]` tensor (images).
pub fn shared_coords<B: burn::tensor::backend::Backend>(
    samples: &Samples,
    device: &B::Device,
) -> Option<Tensor<B, 3>> {
    samples.shared_coords().map(|(values, m)| {
        Tensor::from_data(TensorData::new(values, [1, samples.in_dim(), m]), device)
    })
}

/// Mean squared reconstruction error `[1]` (over the batch) and the loss with the latent
/// penalty: the mean over the batch of each sample's own mean over its points.
pub fn reconstruction_loss<B: TrainBackend>(
    model: &HyperInrConfig,
    hypernet: &HyperNet<B>,
    z: Tensor<B, 2>,
    coords: Tensor<B, 3>,
    target: Tensor<B, 3>,
    latent_l2: f32,
    op: SirenOp,
) -> (Tensor<B, 1>, Tensor<B, 1>) {
    let (per_sample, loss) = per_sample_loss(model, hypernet, z, coords, target, latent_l2, op);
    (per_sample.mean(), loss.mean())
}

/// Each sample's mean squared error over its own points `[b]`, and its loss with the latent
/// penalty `[b]` (φ's forward runs once for the batch).
pub fn per_sample_loss<B: TrainBackend>(
    model: &HyperInrConfig,
    hypernet: &HyperNet<B>,
    z: Tensor<B, 2>,
    coords: Tensor<B, 3>,
    target: Tensor<B, 3>,
    latent_l2: f32,
    op: SirenOp,
) -> (Tensor<B, 1>, Tensor<B, 1>) {
    let params = hypernet.forward(z.clone());
    let out = siren(model, params, coords, op);
    let [b, _, _] = out.dims();
    let mse: Tensor<B, 1> = (out - target)
        .powi_scalar(2)
        .reshape([b as i32, -1])
        .mean_dim(1)
        .reshape([b]);
    let loss = if latent_l2 > 0.0 {
        mse.clone()
            + z.powi_scalar(2)
                .sum_dim(1)
                .reshape([b])
                .mul_scalar(latent_l2)
    } else {
        mse.clone()
    };
    (mse, loss)
}

/// PSNR in dB of a mean squared error on `[0, 1]` data.
pub fn psnr(mse: f64) -> f64 {
    -10.0 * mse.max(1e-12).log10()
}

/// The per-epoch figure beside the MSE: PSNR (dB) for images, RMSE of the clamped distance
/// (unit-sphere units) for shapes.
fn quality(dataset: DatasetKind, mse: f64) -> (&'static str, f64) {
    if dataset.is_shapes() {
        ("train_udf_rmse", mse.max(0.0).sqrt())
    } else {
        ("train_psnr_db", psnr(mse))
    }
}

type HyperAdam<B> = OptimizerAdaptor<Adam, HyperNet<B>, B>;

/// A training run in progress.
pub struct Training<B: TrainBackend> {
    /// The run's configuration.
    pub config: TrainingConfig,
    /// The hypernetwork.
    pub hypernet: HyperNet<B>,
    optim: HyperAdam<B>,
    /// The latents.
    pub latents: LatentTable,
    /// Epochs completed.
    pub epoch: usize,
    coords: Option<Tensor<B, 3>>,
    device: B::Device,
    /// Read the latent gradients and the loss back in one transfer (one device round trip per
    /// step) rather than two. Same values either way; `hyperinr bench --two-reads` turns it off
    /// to measure what the second round trip costs.
    pub single_read: bool,
    /// How the SIREN runs (`--siren-op`); not part of the run's config: both give the same
    /// values up to f32 rounding.
    pub siren_op: SirenOp,
}

/// Checkpoint layout: magic, five length-prefixed sections (config, epoch, hypernet,
/// optimiser, latents), then the SHA-256 of everything before it. The checksum is checked
/// before any byte reaches burn's record loader, which panics on malformed records.
const CHECKPOINT_MAGIC: &[u8; 8] = b"HINRCKP2";
/// The first layout (no checksum), written by runs before the checksum existed; still read.
const CHECKPOINT_MAGIC_V1: &[u8; 8] = b"HINRCKP1";

fn section(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn read_section<'a>(bytes: &mut &'a [u8], what: &str, path: &Path) -> Result<&'a [u8]> {
    if bytes.len() < 8 {
        bail!("{}: truncated before the {what} section", path.display());
    }
    let n = u64::from_le_bytes(bytes[..8].try_into()?) as usize;
    if bytes.len() - 8 < n {
        bail!(
            "{}: {what} section declares {n} bytes, {} remain",
            path.display(),
            bytes.len() - 8
        );
    }
    let s = &bytes[8..8 + n];
    *bytes = &bytes[8 + n..];
    Ok(s)
}

impl<B: TrainBackend> Training<B> {
    /// A fresh run.
    pub fn new(config: TrainingConfig, samples: &Samples, device: &B::Device) -> Self {
        let hypernet = config.model.init::<B>(config.seed, device);
        let latents = LatentTable::new(
            samples.len(),
            config.model.latent_dim,
            config.latent_init_std,
            config.seed.wrapping_add(1),
        );
        let optim = AdamConfig::new().init::<B, HyperNet<B>>();
        let coords = shared_coords::<B>(samples, device);
        Training {
            config,
            hypernet,
            optim,
            latents,
            epoch: 0,
            coords,
            device: device.clone(),
            single_read: true,
            siren_op: SirenOp::default(),
        }
    }

    /// Serialises the whole state (config, epoch, hypernetwork, optimiser, latents).
    pub fn checkpoint_bytes(&self) -> Result<Vec<u8>> {
        let rec = BinBytesRecorder::<FullPrecisionSettings>::default();
        let net = rec.record(self.hypernet.clone().into_record(), ())?;
        let opt = rec.record(self.optim.to_record(), ())?;
        let mut out = CHECKPOINT_MAGIC.to_vec();
        section(&mut out, self.config.to_string().as_bytes());
        section(&mut out, &(self.epoch as u64).to_le_bytes());
        section(&mut out, &net);
        section(&mut out, &opt);
        section(&mut out, &self.latents.to_bytes());
        let digest = Sha256::digest(&out);
        out.extend_from_slice(&digest);
        Ok(out)
    }

    /// Restores a run from a checkpoint file.
    pub fn load(path: &Path, samples: Option<&Samples>, device: &B::Device) -> Result<Self> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("reading checkpoint {}", path.display()))?;
        let body = if bytes.starts_with(CHECKPOINT_MAGIC) {
            if bytes.len() < 8 + 32 {
                bail!(
                    "{}: truncated checkpoint ({} bytes)",
                    path.display(),
                    bytes.len()
                );
            }
            let (body, digest) = bytes.split_at(bytes.len() - 32);
            if Sha256::digest(body).as_slice() != digest {
                bail!(
                    "{}: checksum mismatch: the checkpoint is corrupt (SHA-256 at offset {} does not match its {} bytes)",
                    path.display(),
                    body.len(),
                    body.len()
                );
            }
            body
        } else if bytes.starts_with(CHECKPOINT_MAGIC_V1) {
            &bytes[..]
        } else {
            bail!("{}: offset 0: not a hyperinr checkpoint", path.display());
        };
        let mut rest = &body[8..];
        let cfg = read_section(&mut rest, "config", path)?;
        let config = TrainingConfig::from_json(cfg)
            .with_context(|| format!("{}: config section", path.display()))?;
        config
            .validate()
            .with_context(|| format!("{}: config section", path.display()))?;
        let epoch_bytes: [u8; 8] = read_section(&mut rest, "epoch", path)?
            .try_into()
            .map_err(|_| anyhow::anyhow!("{}: epoch section is not 8 bytes", path.display()))?;
        let epoch = u64::from_le_bytes(epoch_bytes) as usize;
        if epoch > config.epochs {
            bail!(
                "{}: epoch section says {epoch} epochs done, the run has {}",
                path.display(),
                config.epochs
            );
        }
        let rec = BinBytesRecorder::<FullPrecisionSettings>::default();
        let net = read_section(&mut rest, "hypernet", path)?.to_vec();
        let opt = read_section(&mut rest, "optimizer", path)?.to_vec();
        let lat = read_section(&mut rest, "latents", path)?;
        let hypernet = config.model.init::<B>(config.seed, device).load_record(
            rec.load(net, device)
                .with_context(|| format!("{}: hypernet record", path.display()))?,
        );
        let optim = AdamConfig::new().init::<B, HyperNet<B>>().load_record(
            rec.load(opt, device)
                .with_context(|| format!("{}: optimizer record", path.display()))?,
        );
        let latents = LatentTable::from_bytes(lat).with_context(|| path.display().to_string())?;
        if latents.dim != config.model.latent_dim {
            bail!(
                "{}: latents section has length {} but the config says {}",
                path.display(),
                latents.dim,
                config.model.latent_dim
            );
        }
        if latents.is_empty() || samples.is_some_and(|s| s.len() != latents.len()) {
            bail!(
                "{}: checkpoint has {} latents but the training split has {} samples",
                path.display(),
                latents.len(),
                samples.map_or(0, |s| s.len())
            );
        }
        Ok(Training {
            config,
            hypernet,
            optim,
            latents,
            epoch,
            coords: samples.and_then(|s| shared_coords::<B>(s, device)),
            device: device.clone(),
            single_read: true,
            siren_op: SirenOp::default(),
        })
    }

    /// One optimisation step on `rows` (after `latent_steps − 1` latent-only ones); returns
    /// the batch's mean squared error before the joint step.
    pub fn step(&mut self, samples: &Samples, rows: &[usize]) -> Result<f64> {
        if self.config.latent_steps > 1 {
            // Same pixels and loss (batch mean) as the joint step, so the latents' Adam sees
            // gradients of the same scale.
            let frozen = self.hypernet.clone().no_grad();
            for _ in 1..self.config.latent_steps {
                let (z, _, loss) = self.batch_loss(&frozen, samples, rows)?;
                let mut grads = loss.backward();
                let g = z
                    .grad_remove(&mut grads)
                    .context("latents received no gradient")?
                    .into_data()
                    .to_vec::<f32>()
                    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
                self.latents.adam_step(rows, &g, self.config.lr_latent);
            }
        }
        self.joint_step(samples, rows)
    }

    /// The batch's latents (tracked), its mean squared error and its loss through `net`.
    fn batch_loss(
        &self,
        net: &HyperNet<B>,
        samples: &Samples,
        rows: &[usize],
    ) -> Result<(Tensor<B, 2>, Tensor<B, 1>, Tensor<B, 1>)> {
        let (z, coords, target) = batch_tensors::<B>(
            samples,
            self.coords.as_ref(),
            &self.latents,
            rows,
            self.epoch as u64,
            &self.device,
        )?;
        let (coords, target) = self.subsample_pixels(coords, target, rows);
        let z = z.require_grad();
        let (mse, loss) = reconstruction_loss(
            &self.config.model,
            net,
            z.clone(),
            coords,
            target,
            self.config.latent_l2,
            self.siren_op,
        );
        Ok((z, mse, loss))
    }

    /// The joint step: φ and the batch's latents.
    fn joint_step(&mut self, samples: &Samples, rows: &[usize]) -> Result<f64> {
        let (z, mse, loss) = self.batch_loss(&self.hypernet, samples, rows)?;
        let loss = match (&self.hypernet.aux_head, self.config.aux_class_weight) {
            (Some(head), w) if w > 0.0 => {
                let labels: Vec<i64> = rows
                    .iter()
                    .map(|&r| i64::from(samples.labels()[r]))
                    .collect();
                let labels = Tensor::<B, 1, burn::tensor::Int>::from_data(
                    TensorData::new(labels, [rows.len()]),
                    &self.device,
                );
                let ce = burn::nn::loss::CrossEntropyLossConfig::new()
                    .init(&self.device)
                    .forward(head.forward(z.clone()), labels);
                loss + ce.mul_scalar(w)
            }
            _ => loss,
        };
        let mut grads = loss.backward();
        let z_grad = z
            .grad_remove(&mut grads)
            .context("latents received no gradient")?;
        // Each read waits for the device: on CUDA every step has at least one such round trip
        // (the latents' Adam runs on the host), so read both tensors in one.
        let (z_grad, mse) = if self.single_read {
            let data = Transaction::<B::InnerBackend>::default()
                .register(z_grad)
                .register(mse.inner())
                .try_execute()
                .map_err(|e| anyhow::anyhow!("reading the step's results: {e:?}"))?;
            let [z_grad, mse]: [TensorData; 2] = data
                .try_into()
                .map_err(|_| anyhow::anyhow!("a two-tensor read returned another count"))?;
            let mse = mse.iter::<f64>().next().context("empty loss tensor")?;
            (z_grad, mse)
        } else {
            let z_grad = z_grad.into_data();
            let mse: f64 = burn::tensor::ElementConversion::elem(mse.into_scalar());
            (z_grad, mse)
        };
        let z_grad = z_grad
            .to_vec::<f32>()
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        if !mse.is_finite() {
            bail!(
                "loss became {mse} at epoch {} — stopping; the last checkpoint is kept",
                self.epoch + 1
            );
        }
        let grads = GradientsParams::from_grads(grads, &self.hypernet);
        self.hypernet = self
            .optim
            .step(self.config.lr_hyper, self.hypernet.clone(), grads);
        self.latents.adam_step(rows, &z_grad, self.config.lr_latent);
        Ok(mse)
    }

    /// The step's pixels: all, or `pixels_per_step` of them drawn without replacement when
    /// the batch shares one coordinate grid (images). Deterministic for the seed, epoch and
    /// the batch's first row (unique within an epoch), so a resumed run draws the same pixels.
    fn subsample_pixels(
        &self,
        coords: Tensor<B, 3>,
        target: Tensor<B, 3>,
        rows: &[usize],
    ) -> (Tensor<B, 3>, Tensor<B, 3>) {
        let k = self.config.pixels_per_step;
        let [shared, _, m] = coords.dims();
        if k == 0 || k >= m || shared != 1 {
            return (coords, target);
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(
            self.config.seed
                ^ 0xD1B5_4A32_D192_ED03u64.wrapping_mul(self.epoch as u64 + 1)
                ^ 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(rows.first().map_or(0, |&r| r as u64 + 1)),
        );
        let mut picked: Vec<i64> = rand::seq::index::sample(&mut rng, m, k)
            .into_iter()
            .map(|i| i as i64)
            .collect();
        // Ascending indices keep the gathers' reads in order.
        picked.sort_unstable();
        let index = Tensor::<B, 1, burn::tensor::Int>::from_data(
            TensorData::new(picked, [k]),
            &self.device,
        );
        (coords.select(2, index.clone()), target.select(2, index))
    }

    /// The order of samples in `epoch` (deterministic for the seed and epoch).
    pub fn epoch_order(&self, n: usize, epoch: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..n).collect();
        let mut rng = rand::rngs::StdRng::seed_from_u64(
            self.config.seed ^ (0x9E37_79B9_7F4A_7C15u64.wrapping_mul(epoch as u64 + 1)),
        );
        order.shuffle(&mut rng);
        order
    }

    /// Trains until `config.epochs`, checkpointing into `run` at the end of the first epoch
    /// that ends at least `checkpoint_every` after the previous checkpoint (zero: after
    /// every epoch), and always after the last one. A checkpoint of the default FashionMNIST
    /// run is ≈ 48 MB (φ, its Adam moments, 55,000 latents with theirs): written after every
    /// 4.5-s epoch it costs ≈ 0.7 s, 15 % of the run; a crash loses at most the interval.
    pub fn run(
        &mut self,
        samples: &Samples,
        run: &RunDir,
        quiet: bool,
        checkpoint_every: std::time::Duration,
    ) -> Result<()> {
        let steps_per_epoch = samples.len().div_ceil(self.config.batch_size);
        let (quality_name, _) = quality(self.config.dataset, 0.0);
        let total = (self.config.epochs * steps_per_epoch) as u64;
        let bar = crate::progress::bar(total, quiet);
        bar.set_position((self.epoch * steps_per_epoch) as u64);
        let mut metrics = std::fs::read_to_string(run.metrics()).unwrap_or_default();
        if metrics.is_empty() {
            metrics.push_str(&format!("epoch,train_mse,{quality_name},seconds\n"));
        }
        // Keep only rows of completed epochs (a crash may have left none extra, but be sure).
        let keep: Vec<&str> = metrics.lines().take(self.epoch + 1).collect();
        metrics = keep.join("\n") + "\n";
        let mut last_checkpoint = Instant::now();
        while self.epoch < self.config.epochs {
            let started = Instant::now();
            let order = self.epoch_order(samples.len(), self.epoch);
            let (mut sum, mut count) = (0.0f64, 0usize);
            let mut in_steps = std::time::Duration::ZERO;
            for rows in order.chunks(self.config.batch_size) {
                let step_started = Instant::now();
                let mse = self.step(samples, rows)?;
                in_steps += step_started.elapsed();
                sum += mse * rows.len() as f64;
                count += rows.len();
                let mean = sum / count as f64;
                let (name, q) = quality(self.config.dataset, mean);
                bar.set_message(format!(
                    "epoch {} mse {:.5} {name} {q:.4}",
                    self.epoch + 1,
                    mean,
                ));
                bar.inc(1);
            }
            self.epoch += 1;
            let mse = sum / count.max(1) as f64;
            let secs = started.elapsed().as_secs_f64();
            let (name, q) = quality(self.config.dataset, mse);
            metrics.push_str(&format!("{},{mse:.6},{q:.4},{secs:.2}\n", self.epoch));
            if self.epoch == self.config.epochs || last_checkpoint.elapsed() >= checkpoint_every {
                // Metrics first: a crash between the two writes leaves an extra row, which
                // resume drops (it keeps one row per checkpointed epoch), never a missing one.
                hyperinr_data::io::write_atomic(&run.metrics(), metrics.as_bytes())?;
                hyperinr_data::io::write_atomic(&run.checkpoint(), &self.checkpoint_bytes()?)?;
                last_checkpoint = Instant::now();
            }
            if quiet {
                eprintln!(
                    "epoch {} mse {mse:.6} {name} {q:.4} ({secs:.1} s, {:.1} s in steps)",
                    self.epoch,
                    in_steps.as_secs_f64()
                );
            }
        }
        bar.finish();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyperinr_data::fashion::ImageSet;

    /// `n` 8×8 images; pixel `i` of the concatenated images has value `value(i)`.
    fn images_8x8(n: usize, value: impl Fn(usize) -> u8) -> Samples {
        Samples::Images(ImageSet {
            width: 8,
            height: 8,
            pixels: (0..n * 64).map(value).collect(),
            labels: vec![0; n],
            indices: (0..n as u32).collect(),
        })
    }

    #[test]
    fn one_read_per_step_changes_no_value() {
        type B = burn::backend::Autodiff<burn::backend::NdArray<f32>>;
        let images = images_8x8(6, |i| (i * 37 % 256) as u8);
        let config = || {
            TrainingConfig::new(
                HyperInrConfig::new()
                    .with_latent_dim(8)
                    .with_hyper_hidden(vec![16])
                    .with_siren_hidden(vec![8]),
            )
            .with_batch_size(3)
        };
        let device = Default::default();
        let run = |single_read: bool| {
            let mut t = Training::<B>::new(config(), &images, &device);
            t.single_read = single_read;
            let mse: Vec<f64> = [[0, 1, 2], [3, 4, 5], [2, 4, 0]]
                .iter()
                .map(|rows| t.step(&images, rows).unwrap())
                .collect();
            (mse, t.latents.values.clone())
        };
        let (one, two) = (run(true), run(false));
        assert!(one.0.iter().all(|m| m.is_finite() && *m > 0.0));
        assert_eq!(one, two);
    }

    #[test]
    fn configs_saved_before_pixel_subsampling_use_every_pixel() {
        let mut saved: serde_json::Value =
            serde_json::from_str(&TrainingConfig::new(HyperInrConfig::new()).to_string()).unwrap();
        saved.as_object_mut().unwrap().remove("pixels_per_step");
        let read = TrainingConfig::from_json(saved.to_string().as_bytes()).unwrap();
        assert_eq!(read.pixels_per_step, 0);
    }

    #[test]
    fn subsampled_pixels_keep_each_target_with_its_coordinates() {
        type B = burn::backend::Autodiff<burn::backend::NdArray<f32>>;
        // Pixel p of every image has value 3p, so a target names the pixel it came from.
        let images = images_8x8(4, |i| (i % 64 * 3) as u8);
        let model = HyperInrConfig::new()
            .with_latent_dim(4)
            .with_hyper_hidden(vec![8])
            .with_siren_hidden(vec![4]);
        let device = Default::default();
        let t = Training::<B>::new(
            TrainingConfig::new(model).with_pixels_per_step(10),
            &images,
            &device,
        );
        let pick = |rows: &[usize]| {
            let (_, coords, target) =
                batch_tensors::<B>(&images, t.coords.as_ref(), &t.latents, rows, 0, &device)
                    .unwrap();
            let (coords, target) = t.subsample_pixels(coords, target, rows);
            assert_eq!(coords.dims(), [1, 2, 10]);
            assert_eq!(target.dims(), [rows.len(), 1, 10]);
            let xy = coords.into_data().to_vec::<f32>().unwrap();
            let target = target.into_data().to_vec::<f32>().unwrap();
            let mut pixels: Vec<usize> = (0..10)
                .map(|j| {
                    let cell = |v: f32| ((v + 1.0) * 4.0 - 0.5).round() as usize;
                    let p = cell(xy[10 + j]) * 8 + cell(xy[j]);
                    for row in 0..rows.len() {
                        assert_eq!(target[row * 10 + j], (3 * p) as f32 / 255.0);
                    }
                    p
                })
                .collect();
            pixels.sort_unstable();
            pixels.dedup();
            assert_eq!(pixels.len(), 10, "drawn without replacement");
            pixels
        };
        // Deterministic for the batch (a resumed run draws the same pixels); another batch
        // of the epoch draws others.
        assert_eq!(pick(&[0, 1]), pick(&[0, 1]));
        assert_ne!(pick(&[0, 1]), pick(&[2, 3]));
    }
}

//! The latent classifier: an MLP on standardised latents, trained after the INR stage.

use crate::model::Dense;
use anyhow::Result;
use burn::config::Config;
use burn::module::{AutodiffModule, Module};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Dropout, DropoutConfig};
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::activation::relu;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor, TensorData};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

/// Parameter ids of classifier layers start here (hypernetwork layers use 0, 1, …).
const CLASSIFIER_IDS: u64 = 1000;

/// Hyper-parameters of the classifier.
#[derive(Config, Debug)]
pub struct ClassifierConfig {
    /// Hidden widths (ReLU).
    #[config(default = "vec![512, 512]")]
    pub hidden: Vec<usize>,
    /// Passes over the training latents.
    #[config(default = 60)]
    pub epochs: usize,
    /// Adam learning rate.
    #[config(default = 1e-3)]
    pub lr: f64,
    /// Latents per step.
    #[config(default = 256)]
    pub batch_size: usize,
    /// Dropout after each hidden layer.
    #[config(default = 0.3)]
    pub dropout: f64,
    /// Std of Gaussian noise added to standardised inputs while training.
    #[config(default = 0.1)]
    pub input_noise: f32,
    /// Seed.
    #[config(default = 7)]
    pub seed: u64,
}

/// The MLP.
#[derive(Module, Debug)]
pub struct LatentClassifier<B: Backend> {
    /// Layers, the last producing logits.
    pub layers: Vec<Dense<B>>,
    dropout: Dropout,
}

impl<B: Backend> LatentClassifier<B> {
    /// Logits `[n, classes]` for standardised inputs `[n, dim]`.
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let last = self.layers.len() - 1;
        let mut x = x;
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward(x);
            if i < last {
                x = self.dropout.forward(relu(x));
            }
        }
        x
    }
}

/// Per-dimension mean and reciprocal standard deviation of `values` (`n × dim`).
pub fn standardisation(values: &[f32], dim: usize) -> (Vec<f32>, Vec<f32>) {
    let n = (values.len() / dim).max(1) as f64;
    let mut mean = vec![0.0f64; dim];
    for row in values.chunks_exact(dim) {
        for (m, v) in mean.iter_mut().zip(row) {
            *m += *v as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n);
    let mut var = vec![0.0f64; dim];
    for row in values.chunks_exact(dim) {
        for ((s, v), m) in var.iter_mut().zip(row).zip(&mean) {
            *s += (*v as f64 - m).powi(2);
        }
    }
    let inv_std = var
        .iter()
        .map(|s| (1.0 / (s / n).sqrt().max(1e-6)) as f32)
        .collect();
    (mean.iter().map(|&m| m as f32).collect(), inv_std)
}

fn standardise(values: &[f32], mean: &[f32], inv_std: &[f32]) -> Vec<f32> {
    let dim = mean.len();
    values
        .chunks_exact(dim)
        .flat_map(|row| {
            row.iter()
                .zip(mean)
                .zip(inv_std)
                .map(|((v, m), s)| (v - m) * s)
        })
        .collect()
}

/// A trained classifier with its input standardisation, as plain arrays.
#[derive(Clone, Debug)]
pub struct TrainedClassifier {
    /// Per-dimension mean.
    pub mean: Vec<f32>,
    /// Per-dimension reciprocal std.
    pub inv_std: Vec<f32>,
    /// Layers as (row-major `[out, in]` weights, biases, in, out).
    pub layers: Vec<(Vec<f32>, Vec<f32>, usize, usize)>,
}

impl TrainedClassifier {
    /// Float predictions for raw latents (`n × dim`), via burn on the CPU.
    pub fn predict(&self, latents: &[f32]) -> Vec<usize> {
        type Cpu = burn::backend::NdArray<f32>;
        let device = Default::default();
        let dim = self.mean.len();
        let x = standardise(latents, &self.mean, &self.inv_std);
        let n = x.len() / dim;
        let layers = self
            .layers
            .iter()
            .enumerate()
            .map(|(k, (w, b, i, o))| {
                Dense::<Cpu>::from_rows(CLASSIFIER_IDS + k as u64, w, b, *i, *o, &device)
            })
            .collect();
        let clf = LatentClassifier::<Cpu> {
            layers,
            dropout: DropoutConfig::new(0.0).init(),
        };
        let logits = clf.forward(Tensor::from_data(TensorData::new(x, [n, dim]), &device));
        let am = logits.argmax(1).into_data();
        am.iter::<i64>().map(|v| v as usize).collect()
    }
}

fn snapshot<B: Backend>(
    model: &LatentClassifier<B>,
    mean: &[f32],
    inv_std: &[f32],
) -> TrainedClassifier {
    TrainedClassifier {
        mean: mean.to_vec(),
        inv_std: inv_std.to_vec(),
        layers: model
            .layers
            .iter()
            .map(|l| {
                let (w, b) = l.to_rows();
                let (i, o) = l.dims();
                (w, b, i, o)
            })
            .collect(),
    }
}

/// Fraction of `predicted` equal to `labels`.
pub fn accuracy(predicted: &[usize], labels: &[u8]) -> f64 {
    let hits = predicted
        .iter()
        .zip(labels)
        .filter(|(p, l)| **p == **l as usize)
        .count();
    hits as f64 / labels.len().max(1) as f64
}

/// Trains on `latents` (`n × dim`) with `labels`; reports accuracy on `val` each 10 epochs.
pub fn train_classifier<B: AutodiffBackend>(
    config: &ClassifierConfig,
    latents: &[f32],
    labels: &[u8],
    dim: usize,
    classes: usize,
    val: Option<(&[f32], &[u8])>,
    device: &B::Device,
) -> Result<TrainedClassifier> {
    let (mean, inv_std) = standardisation(latents, dim);
    let x = standardise(latents, &mean, &inv_std);
    let n = labels.len();
    let mut rng = rand::rngs::StdRng::seed_from_u64(config.seed);
    let mut dims = vec![dim];
    dims.extend(&config.hidden);
    dims.push(classes);
    let layers = dims
        .windows(2)
        .enumerate()
        .map(|(k, w)| {
            let (i, o) = (w[0], w[1]);
            let bound = (6.0 / i as f32).sqrt();
            let weight: Vec<f32> = (0..i * o)
                .map(|_| rng.random_range(-bound..bound))
                .collect();
            Dense::<B>::from_values(
                CLASSIFIER_IDS + k as u64,
                &weight,
                &vec![0.0; o],
                i,
                o,
                device,
            )
        })
        .collect();
    let mut model = LatentClassifier::<B> {
        layers,
        dropout: DropoutConfig::new(config.dropout).init(),
    };
    let mut optim = AdamConfig::new().init::<B, LatentClassifier<B>>();
    let loss_fn = CrossEntropyLossConfig::new().init(device);
    let normal = rand_distr::Normal::new(0.0f32, config.input_noise.max(1e-12))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut order: Vec<usize> = (0..n).collect();
    for epoch in 0..config.epochs {
        order.shuffle(&mut rng);
        // Cosine decay of the learning rate.
        let lr = config.lr
            * 0.5
            * (1.0 + (std::f64::consts::PI * epoch as f64 / config.epochs as f64).cos());
        for rows in order.chunks(config.batch_size) {
            let xb: Vec<f32> = rows
                .iter()
                .flat_map(|&r| x[r * dim..(r + 1) * dim].to_vec())
                .map(|v| {
                    if config.input_noise > 0.0 {
                        v + rand_distr::Distribution::sample(&normal, &mut rng)
                    } else {
                        v
                    }
                })
                .collect();
            let yb: Vec<i64> = rows.iter().map(|&r| labels[r] as i64).collect();
            let xb = Tensor::<B, 2>::from_data(TensorData::new(xb, [rows.len(), dim]), device);
            let yb = Tensor::<B, 1, Int>::from_data(TensorData::new(yb, [rows.len()]), device);
            let loss = loss_fn.forward(model.forward(xb), yb);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(lr, model, grads);
        }
        if let Some((vx, vy)) = val {
            if (epoch + 1) % 10 == 0 || epoch + 1 == config.epochs {
                let acc = accuracy(&snapshot(&model.valid(), &mean, &inv_std).predict(vx), vy);
                eprintln!("classifier epoch {} val accuracy {:.4}", epoch + 1, acc);
            }
        }
    }
    Ok(snapshot(&model, &mean, &inv_std))
}

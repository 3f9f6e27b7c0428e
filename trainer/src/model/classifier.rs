//! The latent classifier: an MLP on standardised latents, trained after the INR stage.

use crate::model::linear_from_rows;
use anyhow::Result;
use burn::config::Config;
use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::activation::relu;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

/// Parameter ids of classifier layers start here (hypernetwork layers use 0, 1, …).
pub(crate) const CLASSIFIER_IDS: u64 = 1000;

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
    /// Weight each class's cross-entropy by the inverse of its share of the training
    /// latents, so every class counts as much as any other: the classifier then optimises
    /// the mean per-class recall instead of favouring the classes with the most training
    /// shapes (ModelNet's training split is far more unbalanced than its test split).
    #[config(default = false)]
    pub class_balance: bool,
}

/// The MLP. Dropout is not a layer of it: training multiplies the hidden activations by
/// masks it draws from its own seeded generator (`forward_with`), because burn's `Dropout`
/// draws from the backend's process-wide generator, which the classifier's seed does not
/// reach (two runs with the same seed trained different classifiers).
#[derive(Module, Debug)]
pub struct LatentClassifier<B: Backend> {
    /// Layers, the last producing logits.
    pub layers: Vec<Linear<B>>,
}

impl<B: Backend> LatentClassifier<B> {
    /// Logits `[n, classes]` for standardised inputs `[n, dim]`.
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        self.forward_with(x, |hidden| hidden)
    }

    /// Logits with `after_hidden` applied to the ReLU output of every hidden layer
    /// (training: a dropout mask).
    pub fn forward_with(
        &self,
        x: Tensor<B, 2>,
        mut after_hidden: impl FnMut(Tensor<B, 2>) -> Tensor<B, 2>,
    ) -> Tensor<B, 2> {
        let last = self.layers.len() - 1;
        let mut x = x;
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward(x);
            if i < last {
                x = after_hidden(relu(x));
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

pub(crate) fn standardise(values: &[f32], mean: &[f32], inv_std: &[f32]) -> Vec<f32> {
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
                linear_from_rows::<Cpu>(CLASSIFIER_IDS + k as u64, w, b, *i, *o, &device)
            })
            .collect();
        let clf = LatentClassifier::<Cpu> { layers };
        let logits = clf.forward(Tensor::from_data(TensorData::new(x, [n, dim]), &device));
        let am = logits.argmax(1).into_data();
        am.iter::<i64>().map(|v| v as usize).collect()
    }
}

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
    /// Members of the ensemble (absent: 1): that many MLPs, the seeds `seed`, `seed + 1`, …,
    /// each trained as a single classifier is, whose mean logits decide
    /// ([`TrainedClassifier::ensemble`] stores them as one MLP). An option so that the
    /// configurations written before it still read (burn's `Config` does not apply defaults
    /// when deserialising).
    #[config(default = "None")]
    pub members: Option<usize>,
}

impl ClassifierConfig {
    /// Members of the ensemble (1 when not given).
    pub fn member_count(&self) -> usize {
        self.members.unwrap_or(1)
    }
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
    /// One MLP whose logits are the mean of `members`' logits, for members of one shape
    /// trained on the same latents (hence one standardisation): the first layers stacked,
    /// the hidden-to-hidden layers block-diagonal (zeros between members), the last layer's
    /// weights side by side and divided by the member count, its bias the members' mean.
    /// The model file and the runtime then hold and run an ensemble as the plain MLP they
    /// already know; the zero blocks cost flash (an ensemble of 4 MLPs 64-128-128-C takes
    /// what one 64-512-512-C does).
    ///
    /// ```
    /// use hyperinr_trainer::model::classifier::TrainedClassifier;
    /// // Two members 1-1-1: ReLU(w0·x) then w1·h + b1.
    /// let member = |w0: f32, w1: f32, b1: f32| TrainedClassifier {
    ///     mean: vec![0.0],
    ///     inv_std: vec![1.0],
    ///     layers: vec![(vec![w0], vec![0.0], 1, 1), (vec![w1], vec![b1], 1, 1)],
    /// };
    /// let merged = TrainedClassifier::ensemble(&[member(1.0, 2.0, 1.0), member(3.0, -1.0, 0.0)])
    ///     .unwrap();
    /// // x = 1: the members' logits are 3 and −3, their mean 0 = (2·1 − 1·3) / 2 + 0.5.
    /// assert_eq!(merged.layers[0], (vec![1.0, 3.0], vec![0.0, 0.0], 1, 2));
    /// assert_eq!(merged.layers[1], (vec![1.0, -0.5], vec![0.5], 2, 1));
    /// ```
    pub fn ensemble(members: &[TrainedClassifier]) -> Result<TrainedClassifier> {
        let first = members
            .first()
            .ok_or_else(|| anyhow::anyhow!("an ensemble needs a member"))?;
        if members.len() == 1 {
            return Ok(first.clone());
        }
        let shape = |c: &TrainedClassifier| -> Vec<(usize, usize)> {
            c.layers.iter().map(|l| (l.2, l.3)).collect()
        };
        for m in members {
            anyhow::ensure!(
                shape(m) == shape(first) && m.mean == first.mean && m.inv_std == first.inv_std,
                "ensemble members differ in shape or standardisation"
            );
        }
        let k = members.len();
        let last = first.layers.len() - 1;
        let mut layers = Vec::with_capacity(first.layers.len());
        for (l, &(_, _, i, o)) in first.layers.iter().enumerate() {
            let inputs = if l == 0 { i } else { k * i };
            let outputs = if l == last { o } else { k * o };
            let mut weights = vec![0.0f32; outputs * inputs];
            let mut bias = vec![0.0f32; outputs];
            for (m, member) in members.iter().enumerate() {
                let (w, b, _, _) = &member.layers[l];
                // Member m's block: its rows (or, for the last layer, all rows), its columns
                // (or, for the first layer, all columns).
                let row0 = if l == last { 0 } else { m * o };
                let col0 = if l == 0 { 0 } else { m * i };
                let share = if l == last { 1.0 / k as f32 } else { 1.0 };
                for r in 0..o {
                    for c in 0..i {
                        weights[(row0 + r) * inputs + col0 + c] += w[r * i + c] * share;
                    }
                    bias[row0 + r] += b[r] * share;
                }
            }
            layers.push((weights, bias, inputs, outputs));
        }
        Ok(TrainedClassifier {
            mean: first.mean.clone(),
            inv_std: first.inv_std.clone(),
            layers,
        })
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    /// Logits of `clf` for one standardised input, in plain f64 loops.
    fn logits(clf: &TrainedClassifier, x: &[f32]) -> Vec<f64> {
        let mut h: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        let last = clf.layers.len() - 1;
        for (l, (w, b, i, o)) in clf.layers.iter().enumerate() {
            h = (0..*o)
                .map(|r| {
                    let v = (0..*i).map(|c| w[r * i + c] as f64 * h[c]).sum::<f64>() + b[r] as f64;
                    if l < last {
                        v.max(0.0)
                    } else {
                        v
                    }
                })
                .collect();
        }
        h
    }

    #[test]
    fn an_ensemble_stored_as_one_mlp_gives_its_members_mean_logits() {
        // Three members 3-4-5-2 with weights from a fixed pseudo-random sequence.
        let mut state = 12345u32;
        let mut next = move || {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
        };
        let dims = [3usize, 4, 5, 2];
        let members: Vec<TrainedClassifier> = (0..3)
            .map(|_| TrainedClassifier {
                mean: vec![0.0; 3],
                inv_std: vec![1.0; 3],
                layers: dims
                    .windows(2)
                    .map(|w| {
                        let weights = (0..w[0] * w[1]).map(|_| next()).collect();
                        let bias = (0..w[1]).map(|_| next()).collect();
                        (weights, bias, w[0], w[1])
                    })
                    .collect(),
            })
            .collect();
        let merged = TrainedClassifier::ensemble(&members).unwrap();
        let shape: Vec<(usize, usize)> = merged.layers.iter().map(|l| (l.2, l.3)).collect();
        assert_eq!(shape, vec![(3, 12), (12, 15), (15, 2)]);
        for _ in 0..20 {
            let x: Vec<f32> = (0..3).map(|_| 3.0 * next()).collect();
            let mean: Vec<f64> = (0..2)
                .map(|c| members.iter().map(|m| logits(m, &x)[c]).sum::<f64>() / 3.0)
                .collect();
            let got = logits(&merged, &x);
            for c in 0..2 {
                assert!((got[c] - mean[c]).abs() < 1e-5, "{got:?} vs {mean:?}");
            }
        }
        // One member is itself; members of different shapes are refused.
        let one = TrainedClassifier::ensemble(&members[..1]).unwrap();
        assert_eq!(one.layers, members[0].layers);
        let mut other = members[1].clone();
        other.layers.pop();
        assert!(TrainedClassifier::ensemble(&[members[0].clone(), other]).is_err());
        assert!(TrainedClassifier::ensemble(&[]).is_err());
    }
}

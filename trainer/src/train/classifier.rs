//! Training the latent classifier: Adam on cross-entropy over standardised training latents,
//! with input noise, keeping the best epoch on the validation latents.

use crate::model::classifier::*;
use crate::model::{linear_from_values, LinearRows};
use anyhow::Result;
use burn::module::AutodiffModule;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::DropoutConfig;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor, TensorData};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

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

/// Mean over the classes present in `labels` of the share of their samples predicted right
/// (balanced accuracy: each class counts once, however many samples it has).
///
/// ```
/// use hyperinr_trainer::train::classifier::balanced_accuracy;
/// // Class 0: 3 of 3 right; class 1: 0 of 1 right → (1 + 0) / 2.
/// assert_eq!(balanced_accuracy(&[0, 0, 0, 0], &[0, 0, 0, 1]), 0.5);
/// ```
pub fn balanced_accuracy(predicted: &[usize], labels: &[u8]) -> f64 {
    let mut hits = [0usize; 256];
    let mut counts = [0usize; 256];
    for (p, &l) in predicted.iter().zip(labels) {
        counts[l as usize] += 1;
        hits[l as usize] += usize::from(*p == l as usize);
    }
    let (mut recall_sum, mut present) = (0.0f64, 0usize);
    for (&h, &c) in hits.iter().zip(&counts).filter(|(_, &c)| c > 0) {
        recall_sum += h as f64 / c as f64;
        present += 1;
    }
    recall_sum / present.max(1) as f64
}

/// Per-class weights `n / (present · count)` of the cross-entropy, `present` the number of
/// classes with training samples: every present class weighs the same in total and the mean
/// weight over the samples is 1. A class without training samples gets 1 (it never appears
/// in a batch).
pub fn class_balance_weights(labels: &[u8], classes: usize) -> Vec<f32> {
    let mut counts = vec![0usize; classes];
    for &l in labels {
        if let Some(c) = counts.get_mut(l as usize) {
            *c += 1;
        }
    }
    let present = counts.iter().filter(|&&c| c > 0).count();
    counts
        .iter()
        .map(|&c| {
            if c == 0 {
                1.0
            } else {
                (labels.len() as f64 / (present * c) as f64) as f32
            }
        })
        .collect()
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
            linear_from_values::<B>(
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
    let weights = config
        .class_balance
        .then(|| class_balance_weights(labels, classes));
    let loss_fn = CrossEntropyLossConfig::new()
        .with_weights(weights)
        .init(device);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_balance_weights_make_every_class_weigh_the_same() {
        // Three of class 0, one of class 2, none of class 1.
        let labels = [0u8, 0, 0, 2];
        let w = class_balance_weights(&labels, 3);
        assert_eq!(w, vec![2.0 / 3.0, 1.0, 2.0]);
        // Each present class's total weight is the same, and the mean weight per sample is 1.
        assert!((3.0 * w[0] - w[2]).abs() < 1e-6);
        let mean: f32 = labels.iter().map(|&l| w[l as usize]).sum::<f32>() / 4.0;
        assert!((mean - 1.0).abs() < 1e-6);
    }

    #[test]
    fn balanced_accuracy_counts_each_present_class_once() {
        // Class 0: 2 of 4 right, class 1: 1 of 1 right; plain accuracy 3 / 5.
        let labels = [0u8, 0, 0, 0, 1];
        let predicted = [0usize, 0, 1, 1, 1];
        assert!((accuracy(&predicted, &labels) - 0.6).abs() < 1e-12);
        assert!((balanced_accuracy(&predicted, &labels) - 0.75).abs() < 1e-12);
    }
}

//! Training the latent classifier: Adam on cross-entropy over standardised training latents,
//! with input noise, keeping the best epoch on the validation latents.

use crate::model::classifier::*;
use crate::model::{linear_from_values, LinearRows};
use anyhow::Result;
use burn::module::AutodiffModule;
use burn::nn::loss::CrossEntropyLossConfig;
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
    let present: Vec<f64> = per_class_recall(predicted, labels, 256)
        .into_iter()
        .filter(|r| !r.is_nan())
        .collect();
    present.iter().sum::<f64>() / present.len().max(1) as f64
}

/// Share of each of `classes` classes' samples predicted right (`NaN` for a class with no
/// sample in `labels`; labels at or above `classes` are not counted).
pub fn per_class_recall(predicted: &[usize], labels: &[u8], classes: usize) -> Vec<f64> {
    let mut hits = vec![0usize; classes];
    let mut counts = vec![0usize; classes];
    for (&p, &l) in predicted.iter().zip(labels) {
        if let Some(c) = counts.get_mut(l as usize) {
            *c += 1;
            hits[l as usize] += usize::from(p == l as usize);
        }
    }
    hits.iter()
        .zip(&counts)
        .map(|(&h, &c)| h as f64 / c as f64)
        .collect()
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

/// `hidden` with each entry kept with probability `1 − p` and scaled by `1 / (1 − p)`, else
/// zeroed; the mask drawn from `rng`, so the classifier's seed decides it.
fn inverted_dropout<B: Backend>(hidden: Tensor<B, 2>, p: f64, rng: &mut impl Rng) -> Tensor<B, 2> {
    if p <= 0.0 {
        return hidden;
    }
    let keep = 1.0 - p;
    let scale = (1.0 / keep) as f32;
    let [rows, cols] = hidden.dims();
    let mask: Vec<f32> = (0..rows * cols)
        .map(|_| if rng.random_bool(keep) { scale } else { 0.0 })
        .collect();
    let mask = Tensor::from_data(TensorData::new(mask, [rows, cols]), &hidden.device());
    hidden * mask
}

/// Trains on `latents` (`n × dim`) with `labels`; reports accuracy on `val` each 10 epochs.
/// With `config.members` K > 1, K classifiers with the seeds `seed, seed + 1, …` merged into
/// one that averages their logits ([`TrainedClassifier::ensemble`]).
pub fn train_classifier<B: AutodiffBackend>(
    config: &ClassifierConfig,
    latents: &[f32],
    labels: &[u8],
    dim: usize,
    classes: usize,
    val: Option<(&[f32], &[u8])>,
    device: &B::Device,
) -> Result<TrainedClassifier> {
    anyhow::ensure!(
        (0.0..1.0).contains(&config.dropout),
        "classifier dropout must be in [0, 1), got {}",
        config.dropout
    );
    anyhow::ensure!(
        config.member_count() >= 1,
        "an ensemble needs one member or more, got 0"
    );
    // One standardisation for every member: the merge needs them to share it.
    let (mean, inv_std) = standardisation(latents, dim);
    let inputs = Standardised {
        x: standardise(latents, &mean, &inv_std),
        mean,
        inv_std,
    };
    let members = (0..config.member_count() as u64)
        .map(|m| {
            let seed = config.seed.wrapping_add(m);
            train_member::<B>(config, seed, &inputs, labels, classes, val, device)
        })
        .collect::<Result<Vec<_>>>()?;
    let merged = TrainedClassifier::ensemble(&members)?;
    if let (Some((vx, vy)), true) = (val, members.len() > 1) {
        let acc = accuracy(&merged.predict(vx), vy);
        eprintln!(
            "classifier ensemble of {} val accuracy {acc:.4}",
            members.len()
        );
    }
    Ok(merged)
}

/// Training latents standardised (`x`, `n × dim`), with the per-dimension mean and
/// reciprocal standard deviation that did it.
struct Standardised {
    x: Vec<f32>,
    mean: Vec<f32>,
    inv_std: Vec<f32>,
}

/// One classifier, trained with `seed` on `inputs`.
fn train_member<B: AutodiffBackend>(
    config: &ClassifierConfig,
    seed: u64,
    inputs: &Standardised,
    labels: &[u8],
    classes: usize,
    val: Option<(&[f32], &[u8])>,
    device: &B::Device,
) -> Result<TrainedClassifier> {
    let Standardised { x, mean, inv_std } = inputs;
    let dim = mean.len();
    let n = labels.len();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
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
    let mut model = LatentClassifier::<B> { layers };
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
            let logits = model.forward_with(xb, |hidden| {
                inverted_dropout(hidden, config.dropout, &mut rng)
            });
            let loss = loss_fn.forward(logits, yb);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(lr, model, grads);
        }
        if let Some((vx, vy)) = val {
            if (epoch + 1) % 10 == 0 || epoch + 1 == config.epochs {
                let acc = accuracy(&snapshot(&model.valid(), mean, inv_std).predict(vx), vy);
                eprintln!("classifier epoch {} val accuracy {:.4}", epoch + 1, acc);
            }
        }
    }
    Ok(snapshot(&model, mean, inv_std))
}

/// Fold (`0..folds`) of each group for stratified `folds`-fold cross-validation, given each
/// group's label: within every class the groups are shuffled (seeded) and dealt to the folds
/// in turn, the dealing carrying on from one class to the next, so every fold gets its share
/// of every class and the folds' sizes differ by at most one.
///
/// ```
/// use hyperinr_trainer::train::classifier::stratified_folds;
/// let folds = stratified_folds(&[0, 0, 0, 0, 1, 1], 2, 7);
/// // Class 0's four groups: two per fold; class 1's two: one per fold.
/// assert_eq!(folds[..4].iter().filter(|&&f| f == 0).count(), 2);
/// assert_ne!(folds[4], folds[5]);
/// ```
pub fn stratified_folds(group_labels: &[u8], folds: usize, seed: u64) -> Vec<usize> {
    let folds = folds.max(1);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut fold_of = vec![0usize; group_labels.len()];
    let mut dealt = 0usize;
    for class in 0..=u8::MAX {
        let mut members: Vec<usize> = (0..group_labels.len())
            .filter(|&g| group_labels[g] == class)
            .collect();
        members.shuffle(&mut rng);
        for g in members {
            fold_of[g] = dealt % folds;
            dealt += 1;
        }
    }
    fold_of
}

/// Out-of-fold predictions of a cross-validation ([`cross_validate`]).
#[derive(Clone, Debug, PartialEq)]
pub struct CrossValidation {
    /// Labels of the evaluated rows, in row order.
    pub labels: Vec<u8>,
    /// Their out-of-fold predictions.
    pub predicted: Vec<usize>,
    /// Accuracy of each fold's evaluated rows.
    pub fold_accuracy: Vec<f64>,
    /// Balanced accuracy of each fold's evaluated rows.
    pub fold_balanced_accuracy: Vec<f64>,
}

impl CrossValidation {
    /// Share of the evaluated rows predicted right.
    pub fn accuracy(&self) -> f64 {
        accuracy(&self.predicted, &self.labels)
    }

    /// Mean per-class recall of the evaluated rows.
    pub fn balanced_accuracy(&self) -> f64 {
        balanced_accuracy(&self.predicted, &self.labels)
    }

    /// Recall of each of `classes` classes (`NaN` for a class with no evaluated row).
    pub fn recall(&self, classes: usize) -> Vec<f64> {
        per_class_recall(&self.predicted, &self.labels, classes)
    }
}

/// Standard error of the mean of `values` (sample standard deviation / √n; 0 for n < 2).
pub fn standard_error(values: &[f64]) -> f64 {
    let n = values.len();
    if n < 2 {
        return 0.0;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    (var / n as f64).sqrt()
}

/// Cross-validates the classifier: for each fold `k` of `fold_of_row`, trains on the rows of
/// the other folds (`config` as given, the same seed for every fold) and predicts the rows of
/// fold `k` that are `evaluated`. Rows of one shape (its latent fitted as is, an augmented
/// copy, its jointly trained latent) must share a fold, or the classifier would be scored on
/// shapes it was trained on.
#[allow(clippy::too_many_arguments)]
pub fn cross_validate<B: AutodiffBackend>(
    config: &ClassifierConfig,
    latents: &[f32],
    labels: &[u8],
    dim: usize,
    classes: usize,
    fold_of_row: &[usize],
    evaluated: &[bool],
    device: &B::Device,
) -> Result<CrossValidation> {
    let folds = fold_of_row.iter().max().map_or(0, |&f| f + 1);
    anyhow::ensure!(
        folds >= 2,
        "cross-validation needs two folds or more, got {folds}"
    );
    let mut out = CrossValidation {
        labels: Vec::new(),
        predicted: Vec::new(),
        fold_accuracy: Vec::new(),
        fold_balanced_accuracy: Vec::new(),
    };
    let mut by_row = vec![None; labels.len()];
    for fold in 0..folds {
        let (mut train_x, mut train_y, mut eval_rows) = (Vec::new(), Vec::new(), Vec::new());
        for (row, &f) in fold_of_row.iter().enumerate() {
            if f != fold {
                train_x.extend_from_slice(&latents[row * dim..(row + 1) * dim]);
                train_y.push(labels[row]);
            } else if evaluated[row] {
                eval_rows.push(row);
            }
        }
        anyhow::ensure!(
            !eval_rows.is_empty(),
            "fold {fold} has no evaluated latent: fewer shapes than folds"
        );
        let clf = train_classifier::<B>(config, &train_x, &train_y, dim, classes, None, device)?;
        let eval_x: Vec<f32> = eval_rows
            .iter()
            .flat_map(|&r| latents[r * dim..(r + 1) * dim].iter().copied())
            .collect();
        let eval_y: Vec<u8> = eval_rows.iter().map(|&r| labels[r]).collect();
        let predicted = clf.predict(&eval_x);
        out.fold_accuracy.push(accuracy(&predicted, &eval_y));
        out.fold_balanced_accuracy
            .push(balanced_accuracy(&predicted, &eval_y));
        for (&r, p) in eval_rows.iter().zip(predicted) {
            by_row[r] = Some(p);
        }
    }
    for (row, p) in by_row.into_iter().enumerate() {
        if let Some(p) = p {
            out.labels.push(labels[row]);
            out.predicted.push(p);
        }
    }
    Ok(out)
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
    fn the_seed_decides_the_trained_classifier_dropout_included() {
        type B = burn::backend::Autodiff<burn::backend::NdArray<f32>>;
        // Two noisy overlapping classes: enough for dropout and input noise to matter.
        let latents: Vec<f32> = (0..64)
            .flat_map(|i| {
                let c = (i % 2) as f32 * 2.0 - 1.0;
                [c + (i as f32 * 0.7).sin(), (i as f32 * 1.3).cos()]
            })
            .collect();
        let labels: Vec<u8> = (0..64).map(|i| (i % 2) as u8).collect();
        let train = |seed: u64| {
            let config = ClassifierConfig::new()
                .with_hidden(vec![16, 16])
                .with_epochs(5)
                .with_batch_size(8)
                .with_dropout(0.5)
                .with_seed(seed);
            train_classifier::<B>(&config, &latents, &labels, 2, 2, None, &Default::default())
                .unwrap()
                .layers
        };
        // Bit for bit the same weights for the same seed, other weights for another.
        assert_eq!(train(3), train(3));
        assert_ne!(train(3), train(4));
        // A dropout probability outside [0, 1) is refused, not a panic.
        let bad = ClassifierConfig::new().with_dropout(1.0);
        let err = train_classifier::<B>(&bad, &latents, &labels, 2, 2, None, &Default::default())
            .unwrap_err();
        assert!(err.to_string().contains("dropout"), "{err}");
    }

    #[test]
    fn stratified_folds_deal_every_class_evenly_and_depend_on_the_seed() {
        // 10 of class 0, 7 of class 1, 3 of class 2 into 3 folds.
        let labels: Vec<u8> = [vec![0u8; 10], vec![1; 7], vec![2; 3]].concat();
        let folds = stratified_folds(&labels, 3, 1);
        for class in 0..3u8 {
            let mut per_fold = [0usize; 3];
            for (g, &f) in folds.iter().enumerate() {
                if labels[g] == class {
                    per_fold[f] += 1;
                }
            }
            let (lo, hi) = (
                per_fold.iter().min().unwrap(),
                per_fold.iter().max().unwrap(),
            );
            assert!(hi - lo <= 1, "class {class}: {per_fold:?}");
        }
        let mut sizes = [0usize; 3];
        folds.iter().for_each(|&f| sizes[f] += 1);
        assert_eq!(sizes.iter().sum::<usize>(), 20);
        assert!(
            sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1,
            "{sizes:?}"
        );
        assert_eq!(folds, stratified_folds(&labels, 3, 1));
        assert_ne!(folds, stratified_folds(&labels, 3, 2));
    }

    #[test]
    fn standard_error_is_the_sample_std_over_root_n() {
        // Values 1, 2, 3: sample std 1, n 3.
        assert!((standard_error(&[1.0, 2.0, 3.0]) - 1.0 / 3f64.sqrt()).abs() < 1e-12);
        assert_eq!(standard_error(&[0.9]), 0.0);
    }

    #[test]
    fn cross_validation_scores_each_evaluated_row_once_out_of_its_fold() {
        type B = burn::backend::Autodiff<burn::backend::NdArray<f32>>;
        // Two well separated classes in 2-D, 12 shapes each; each shape also has a
        // training-only copy (not evaluated) in its fold.
        let mut latents = Vec::new();
        let mut labels = Vec::new();
        let mut groups = Vec::new();
        for g in 0..24usize {
            let class = (g % 2) as u8;
            let centre = if class == 0 { -2.0 } else { 2.0 };
            let jitter = (g as f32 * 0.37).sin() * 0.3;
            for _copy in 0..2 {
                latents.extend_from_slice(&[centre + jitter, centre - jitter]);
                labels.push(class);
                groups.push(g);
            }
        }
        let group_labels: Vec<u8> = (0..24).map(|g| (g % 2) as u8).collect();
        let fold_of_group = stratified_folds(&group_labels, 4, 3);
        let fold_of_row: Vec<usize> = groups.iter().map(|&g| fold_of_group[g]).collect();
        let evaluated: Vec<bool> = (0..labels.len()).map(|r| r % 2 == 0).collect();
        let config = ClassifierConfig::new()
            .with_hidden(vec![16])
            .with_epochs(30)
            .with_batch_size(8)
            .with_dropout(0.0);
        let cv = cross_validate::<B>(
            &config,
            &latents,
            &labels,
            2,
            2,
            &fold_of_row,
            &evaluated,
            &Default::default(),
        )
        .unwrap();
        assert_eq!(cv.labels.len(), 24);
        assert_eq!(cv.fold_accuracy.len(), 4);
        assert_eq!(cv.accuracy(), 1.0, "{:?}", cv.predicted);
        assert_eq!(cv.recall(2), vec![1.0, 1.0]);
        // One fold only: refused.
        let one = vec![0usize; labels.len()];
        assert!(cross_validate::<B>(
            &config,
            &latents,
            &labels,
            2,
            2,
            &one,
            &evaluated,
            &Default::default()
        )
        .is_err());
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

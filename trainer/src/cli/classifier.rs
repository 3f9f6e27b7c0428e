//! `hyperinr classifier`: the MLP on a run's latents.

use super::*;
use crate::backend::{dispatch, BackendKind};
use crate::export::dequantized_latents;
use crate::model::classifier::{ClassifierConfig, TrainedClassifier};
use crate::train::artifacts::{save_classifier, LatentFile};
use crate::train::classifier::{
    accuracy, balanced_accuracy, cross_validate, standard_error, stratified_folds, train_classifier,
};
use crate::train::RunDir;
use anyhow::{bail, Result};
use burn::tensor::backend::AutodiffBackend;
use hyperinr_data::Split;
use std::path::PathBuf;

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
    /// Weight each class's loss by the inverse of its share of the training latents (every
    /// class counts equally; see `val_balanced_accuracy`).
    #[arg(long)]
    pub class_balance: bool,
    /// Train this many classifiers (seeds `seed`, `seed + 1`, …) and keep their mean logits,
    /// stored as one MLP (hidden widths × members wide): 4 members of `--hidden 128,128`
    /// take the flash of one of `512,512`.
    #[arg(long, default_value_t = 1)]
    pub members: usize,
    /// Cross-validate instead of scoring on val: the training latents and the val latents
    /// pooled, split by shape into this many class-stratified folds; each fold is predicted
    /// by a classifier trained on the others (latents of sets other than `train` and `val`,
    /// e.g. `train-joint`, only train, in their shape's fold). Prints the out-of-fold
    /// accuracy, balanced accuracy, per-class recall and the folds' standard errors, then
    /// trains the saved classifier on the whole pool. 0: off.
    #[arg(long, default_value_t = 0)]
    pub folds: usize,
    /// Seed of the fold assignment.
    #[arg(long, default_value_t = 1)]
    pub fold_seed: u64,
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    pub backend: BackendKind,
}

pub fn classifier(a: ClassifierArgs) -> Result<()> {
    dispatch!(a.backend, classifier_on, a)
}

pub(crate) fn classifier_on<B: AutodiffBackend>(
    device: &B::Device,
    a: ClassifierArgs,
) -> Result<()> {
    let run = RunDir(a.run.clone());
    let (config, _) = run_config(&run)?;
    let names: Vec<&str> = a.train_latents.split(',').collect();
    let cfg = ClassifierConfig::new()
        .with_hidden(a.hidden.clone())
        .with_epochs(a.epochs)
        .with_dropout(a.dropout)
        .with_input_noise(a.input_noise)
        .with_seed(a.seed)
        .with_class_balance(a.class_balance)
        .with_members((a.members != 1).then_some(a.members));
    if a.folds > 0 {
        return cross_validated::<B>(device, &a, &run, &config.class_names, &names, &cfg);
    }
    if config.trains_on_val() {
        bail!(
            "{}: φ trained on val too (`train --with-val`), so val holds nothing out; score this run with --folds K",
            run.config().display()
        );
    }
    let train = pooled_latents(&run, &names, &a.train_latents)?.0;
    let val = LatentFile::load(&run.latents("val")).ok();
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
        config.class_names.clone().len(),
        val_ref,
        device,
    )?;
    if let Some((vx, vy)) = val_ref {
        let predicted = clf.predict(vx);
        println!(
            "{}",
            serde_json::json!({
                "val_accuracy": accuracy(&predicted, vy),
                "val_balanced_accuracy": balanced_accuracy(&predicted, vy),
                "train_latents": a.train_latents,
                "val_samples": vy.len(),
            })
        );
    }
    save_trained(&run, &clf, &cfg)
}

/// The latent sets `names` of `run`, joined (one latent per row each), and for each row the
/// name of its set and the split its shape belongs to.
fn pooled_latents<'n>(
    run: &RunDir,
    names: &[&'n str],
    flag: &str,
) -> Result<(LatentFile, Vec<(&'n str, Split)>)> {
    let mut pool: Option<LatentFile> = None;
    let mut row_set = Vec::new();
    for &name in names {
        let more = LatentFile::load(&run.latents(name))?;
        row_set.extend(std::iter::repeat_n((name, more.split), more.len()));
        match pool.as_mut() {
            None => pool = Some(more),
            Some(p) if p.dim != more.dim => bail!(
                "--train-latents {flag}: latent sizes differ ({} and {} in {name})",
                p.dim,
                more.dim
            ),
            Some(p) => {
                p.values.extend_from_slice(&more.values);
                p.labels.extend_from_slice(&more.labels);
                p.indices.extend_from_slice(&more.indices);
            }
        }
    }
    let pool = pool.ok_or_else(|| anyhow::anyhow!("--train-latents: no name given"))?;
    Ok((pool, row_set))
}

/// `--folds K`: K-fold cross-validation over the training sets and val, then the saved
/// classifier trained on all of them.
fn cross_validated<B: AutodiffBackend>(
    device: &B::Device,
    a: &ClassifierArgs,
    run: &RunDir,
    class_names: &[String],
    names: &[&str],
    cfg: &ClassifierConfig,
) -> Result<()> {
    if names.contains(&"val") {
        bail!("--folds: val joins the pool by itself; leave it out of --train-latents");
    }
    let mut with_val = names.to_vec();
    if run.latents("val").exists() {
        with_val.push("val");
    }
    let (pool, row_set) = pooled_latents(run, &with_val, &a.train_latents)?;
    if let Some((set, _)) = row_set.iter().find(|(_, split)| *split == Split::Test) {
        bail!("--folds: {set} holds test latents; the test split is for final figures only");
    }
    // A shape is its split and its index there: all its rows (as fitted, augmented copies,
    // the joint latent) fall in one fold.
    let mut shape_of_row = Vec::with_capacity(pool.len());
    let mut shapes: Vec<((Split, u32), u8)> = Vec::new();
    let mut id_of = std::collections::HashMap::new();
    for (row, &(set, split)) in row_set.iter().enumerate() {
        let key = (split, pool.indices[row]);
        let id = *id_of.entry(key).or_insert_with(|| {
            shapes.push((key, pool.labels[row]));
            shapes.len() - 1
        });
        if shapes[id].1 != pool.labels[row] {
            bail!(
                "--folds: shape {} of {set} has two labels ({} and {})",
                pool.indices[row],
                shapes[id].1,
                pool.labels[row]
            );
        }
        shape_of_row.push(id);
    }
    if shapes.len() < a.folds {
        bail!("--folds {}: only {} shapes", a.folds, shapes.len());
    }
    let shape_labels: Vec<u8> = shapes.iter().map(|s| s.1).collect();
    let fold_of_shape = stratified_folds(&shape_labels, a.folds, a.fold_seed);
    let fold_of_row: Vec<usize> = shape_of_row.iter().map(|&s| fold_of_shape[s]).collect();
    let evaluated: Vec<bool> = row_set
        .iter()
        .map(|&(set, _)| set == "train" || set == "val")
        .collect();
    let pool_q = dequantized_latents(&pool.values, pool.dim)?;
    let classes = class_names.len();
    let cv = cross_validate::<B>(
        cfg,
        &pool_q,
        &pool.labels,
        pool.dim,
        classes,
        &fold_of_row,
        &evaluated,
        device,
    )?;
    let recall: serde_json::Map<String, serde_json::Value> = class_names
        .iter()
        .zip(cv.recall(classes))
        .map(|(name, r)| (name.clone(), serde_json::json!(r)))
        .collect();
    println!(
        "{}",
        serde_json::json!({
            "folds": a.folds,
            "fold_seed": a.fold_seed,
            "cv_accuracy": cv.accuracy(),
            "cv_accuracy_se": standard_error(&cv.fold_accuracy),
            "cv_balanced_accuracy": cv.balanced_accuracy(),
            "cv_balanced_accuracy_se": standard_error(&cv.fold_balanced_accuracy),
            "cv_recall": recall,
            "cv_samples": cv.labels.len(),
            "train_latents": with_val.join(","),
        })
    );
    let clf = train_classifier::<B>(cfg, &pool_q, &pool.labels, pool.dim, classes, None, device)?;
    save_trained(run, &clf, cfg)
}

/// Writes the classifier and its config into the run (atomic writes).
fn save_trained(run: &RunDir, clf: &TrainedClassifier, cfg: &ClassifierConfig) -> Result<()> {
    save_classifier(clf, &run.0.join("classifier.json"))?;
    hyperinr_data::io::write_atomic(
        &run.0.join("classifier-config.json"),
        cfg.to_string().as_bytes(),
    )?;
    Ok(())
}

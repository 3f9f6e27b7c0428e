//! `hyperinr classifier`: the MLP on a run's latents.

use super::*;
use crate::backend::{dispatch, BackendKind};
use crate::export::dequantized_latents;
use crate::model::classifier::ClassifierConfig;
use crate::train::artifacts::{save_classifier, LatentFile};
use crate::train::classifier::{accuracy, balanced_accuracy, train_classifier};
use crate::train::RunDir;
use anyhow::{bail, Result};
use burn::tensor::backend::AutodiffBackend;
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
        .with_seed(a.seed)
        .with_class_balance(a.class_balance);
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
    save_classifier(&clf, &run.0.join("classifier.json"))?;
    hyperinr_data::io::write_atomic(
        &run.0.join("classifier-config.json"),
        cfg.to_string().as_bytes(),
    )?;
    Ok(())
}

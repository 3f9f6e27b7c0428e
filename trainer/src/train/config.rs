//! A run's hyper-parameters (`config.json`) and the paths inside its directory.

use crate::data::samples::{DatasetKind, UdfConfig};
use crate::model::HyperInrConfig;
use anyhow::{bail, Result};
use burn::config::Config;
use std::path::PathBuf;

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
    /// φ and the joint latents trained on the training files whole, the val hold-out
    /// included (the final run once the recipe is fixed). Val then holds nothing out from
    /// φ: such a run is scored by cross-validation (`classifier --folds`), not on val.
    /// An option so that configurations written before it existed (the shipped files'
    /// provenance) still read: absent means the train split only.
    pub include_val: Option<bool>,
}

impl TrainingConfig {
    /// Whether φ trained on the val hold-out too (`train --with-val`).
    pub fn trains_on_val(&self) -> bool {
        self.include_val == Some(true)
    }

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

    /// Reads a saved configuration: every field must be present (a 0.1 reads only what it
    /// writes).
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        Ok(serde_json::from_slice(bytes)?)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every shipped model records the complete configuration of the run it came from
    /// (what `eval`, `ift` and `plot` read for a shape model's UDF sampling).
    #[test]
    fn shipped_models_record_a_complete_training_config() {
        let models = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
        let mut seen = 0;
        for entry in std::fs::read_dir(&models).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("hinr") {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let file = hyperinr_shared::ModelFile::parse(&bytes).unwrap();
            let config = TrainingConfig::from_json(file.provenance.training_config.as_bytes())
                .unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
            config.validate().unwrap();
            assert_eq!(
                config.dataset.name(),
                file.config.dataset,
                "{}",
                path.display()
            );
            let names: Vec<&str> = file.config.class_names.split('\n').collect();
            assert_eq!(config.class_names, names, "{}", path.display());
            assert_eq!(config.model.hyper_activation, file.config.hyper_activation);
            assert_eq!(config.model.linear_path, file.linear_path.is_some());
            assert_eq!(config.udf.is_some(), config.dataset.is_shapes());
            seen += 1;
        }
        assert_eq!(seen, 4, "models/ holds the four shipped files");
    }
}

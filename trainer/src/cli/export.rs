//! `hyperinr export`: int8 quantisation into a `.hinr` file.

use super::*;
use crate::train::artifacts::{load_classifier, LatentFile};
use crate::train::classifier::accuracy;
use crate::train::fit::FitConfig;
use crate::train::{RunDir, Training};
use anyhow::{Context, Result};
use hyperinr_runtime::Model;
use std::path::PathBuf;

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
        let coords = crate::data::samples::cube_probes(16);
        let udf = config.udf_or_default();
        (
            hyperinr_shared::InputKind::PointCloud {
                udf_clamp: udf.clamp,
                sampler: udf.query_sampler()?,
            },
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
    let classes = config.class_names.clone();
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
    let model = Model::from_bytes(&bytes)?;
    let s = model.sizes();
    let (mut z, mut logits, mut scratch) = (
        vec![0.0; s.latent],
        vec![0.0; s.logits],
        vec![0.0; s.scratch],
    );
    let mut hits = 0usize;
    for i in 0..model.latent_count() {
        let info = model.stored_latent(i, &mut z)?;
        let c = model.classify(&z, &mut logits, &mut scratch)?;
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

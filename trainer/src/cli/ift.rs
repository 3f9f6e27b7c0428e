//! `hyperinr ift`: rank and conditioning of ∂φ/∂z and of the loss Hessian in z.

use super::*;
use crate::data::samples::{load_samples, DatasetKind};
use crate::eval::stored::{check_stored_split, StoredLatents};
use anyhow::{anyhow, bail, Result};
use hyperinr_data::Split;
use hyperinr_runtime::Model;
use std::path::PathBuf;

#[derive(clap::Args, Clone)]
pub struct IftArgs {
    #[arg(long)]
    pub model: PathBuf,
    /// The dataset folder (FashionMNIST default: /usr/share/datasets/fashion-mnist); the
    /// model names the dataset.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Shapes: query points per shape for the loss Hessian (UDF targets, drawn as in training).
    #[arg(long, default_value_t = 2048)]
    pub queries: usize,
    /// The split of the model's stored latents (checked against the file).
    #[arg(long, value_enum, default_value_t = Split::Test)]
    pub split: Split,
    /// Analyse the first N stored latents.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// Histogram PNG (log10 σ_min, log10 cond J, Hessian λ_min, rank of J).
    #[arg(long)]
    pub png: Option<PathBuf>,
    /// Include every latent's figures in the JSON.
    #[arg(long)]
    pub per_latent: bool,
    #[arg(long)]
    pub json: bool,
}

pub fn ift(a: IftArgs) -> Result<()> {
    let bytes = crate::export::read_model_file(&a.model)?;
    let model = Model::from_bytes(&bytes).with_context(|| a.model.display().to_string())?;
    check_stored_split(&model, &a.model, a.split, "")?;
    let kind = DatasetKind::from_name(model.config().dataset)
        .map_err(|e| anyhow!("{}: {e}", a.model.display()))?;
    let data = data_dir(kind, &a.data)?;
    let udf = model_udf(&model).with_queries(a.queries);
    let set = load_samples(kind, &data, a.split, 0, &udf, model.file().provenance.seed)?;
    if a.limit == 0 {
        bail!("--limit 0: the IFT check needs at least one latent");
    }
    let stored = StoredLatents::read(&model, a.limit)?;
    stored.check_indices(&a.model, &data, set.len())?;
    let (n, picked) = (stored.len(), &stored.dataset_indices);
    // Each latent's reconstruction target, as the loss saw it: the image on its grid, or one
    // draw of UDF queries around the shape.
    let mut observed = Vec::with_capacity(n);
    for &idx in picked {
        let obs = set.observe(&[idx], 0)?;
        let coords = match (obs.coords, set.shared_coords()) {
            (Some(c), _) => c,
            (None, Some((grid, _))) => grid,
            (None, None) => bail!("samples without coordinates"),
        };
        observed.push((coords, obs.targets));
    }
    let targets: Vec<crate::analysis::ift::IftTarget<'_>> = observed
        .iter()
        .map(|(coords, values)| crate::analysis::ift::IftTarget { coords, values })
        .collect();
    let report = crate::analysis::ift::run_ift_targets::<crate::backend::CpuBackend>(
        &bytes,
        &targets,
        n,
        crate::analysis::ift::FD_CHECK_LATENTS,
        &Default::default(),
    )?;
    if let Some(p) = &a.png {
        let file = a.model.file_name().unwrap_or(a.model.as_os_str());
        let name = format!(
            "{} ({}, {} split)",
            file.to_string_lossy(),
            model.config().dataset,
            format!("{:?}", a.split).to_lowercase()
        );
        crate::analysis::ift::ift_histogram_png(&report, &name, p)?;
    }
    let mut v = serde_json::to_value(&report)?;
    if !a.per_latent {
        if let Some(o) = v.as_object_mut() {
            o.remove("per_latent");
        }
    }
    if a.json {
        println!("{v}");
    } else {
        println!("{}", serde_json::to_string_pretty(&v)?);
    }
    Ok(())
}

//! `hyperinr plot`: latent-space maps, an interpolation strip, the neighbour check.

use anyhow::{bail, Context, Result};
use hyperinr_runtime::Model;
use std::path::PathBuf;

#[derive(clap::Args, Clone)]
pub struct PlotArgs {
    #[arg(long)]
    pub model: PathBuf,
    /// PCA map of the stored latents, coloured by class (PNG).
    #[arg(long)]
    pub map: Option<PathBuf>,
    /// t-SNE map of the stored latents, coloured by class (PNG; Barnes-Hut, perplexity 30).
    #[arg(long)]
    pub tsne: Option<PathBuf>,
    /// Interpolation strip between stored latents `--from` and `--to` (PNG).
    #[arg(long)]
    pub strip: Option<PathBuf>,
    #[arg(long, default_value_t = 0)]
    pub from: usize,
    /// Default: the first stored latent of another class than `--from`'s.
    #[arg(long)]
    pub to: Option<usize>,
    #[arg(long, default_value_t = 8)]
    pub steps: usize,
    /// Latents in the neighbour check (latent vs reconstruction distance; 0 = skip).
    #[arg(long, default_value_t = 500)]
    pub neighbours: usize,
    /// Nearest neighbours per latent in that check.
    #[arg(long, default_value_t = 5)]
    pub k: usize,
    /// Latents on the map (0 = all stored).
    #[arg(long, default_value_t = 0)]
    pub limit: usize,
}

pub fn plot(a: PlotArgs) -> Result<()> {
    let bytes = crate::export::read_model_file(&a.model)?;
    let model = Model::from_bytes(&bytes).with_context(|| a.model.display().to_string())?;
    let latents = crate::analysis::latent_map::StoredLatents::read(&model, a.limit)?;
    let names: Vec<&str> = (0..model.config().class_count as usize)
        .map(|k| model.config().class_name(k).unwrap_or("?"))
        .collect();
    let split = format!("{:?}", model.file().latents.split).to_lowercase();
    let mut report = serde_json::json!({ "model": a.model, "latents": latents.len() });
    if let Some(path) = &a.map {
        let proj = crate::analysis::latent_map::pca_2d(&latents)?;
        let title = format!(
            "{}: {} stored {split} latents, PCA",
            model.config().dataset,
            latents.len()
        );
        crate::analysis::latent_map::latent_map_png(&proj, &latents.labels, &names, &title, path)?;
        report["pca_explained"] = serde_json::json!(proj.explained);
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &a.tsne {
        let proj = crate::analysis::latent_map::tsne_2d(&latents, 30.0, 1000)?;
        let title = format!(
            "{}: {} stored {split} latents, t-SNE (perplexity 30)",
            model.config().dataset,
            latents.len()
        );
        crate::analysis::latent_map::latent_map_png(&proj, &latents.labels, &names, &title, path)?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &a.strip {
        if a.from >= latents.len() {
            bail!(
                "--from {}: the model stores {} latents",
                a.from,
                latents.len()
            );
        }
        let to = match a.to {
            Some(t) if t < latents.len() => t,
            Some(t) => bail!("--to {t}: the model stores {} latents", latents.len()),
            None => (0..latents.len())
                .find(|&j| latents.labels[j] != latents.labels[a.from])
                .unwrap_or(latents.len() - 1),
        };
        let class = |i: usize| {
            names
                .get(latents.labels[i] as usize)
                .copied()
                .unwrap_or("?")
        };
        let title = format!(
            "{}: decoded latents on the segment from stored latent {} ({}) to {} ({})",
            model.config().dataset,
            a.from,
            class(a.from),
            to,
            class(to)
        );
        crate::analysis::latent_map::interpolation_strip(
            &model,
            latents.latent(a.from),
            latents.latent(to),
            a.steps,
            [class(a.from), class(to)],
            &title,
            path,
        )?;
        report["strip"] = serde_json::json!({
            "from": a.from, "to": to,
            "from_class": names.get(latents.labels[a.from] as usize),
            "to_class": names.get(latents.labels[to] as usize),
        });
        eprintln!("wrote {}", path.display());
    }
    if a.neighbours > 0 {
        let subset = crate::analysis::latent_map::StoredLatents::read(&model, a.neighbours)?;
        report["neighbours"] = serde_json::to_value(crate::analysis::latent_map::neighbour_check(
            &model, &subset, a.k,
        )?)?;
    }
    println!("{report}");
    Ok(())
}

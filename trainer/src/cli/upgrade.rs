//! `hyperinr upgrade IN OUT`: a format-version-1 model file to version 2, losslessly
//! (`crate::export::upgrade`).

use crate::export::upgrade::{upgrade_bytes, FitOverrides};
use anyhow::{anyhow, Result};
use hyperinr_runtime::Model;
use std::path::PathBuf;

/// Arguments of `hyperinr upgrade`.
#[derive(clap::Args, Clone)]
pub struct UpgradeArgs {
    /// A format-version-1 `.hinr` file.
    pub input: PathBuf,
    /// Where the version-2 file goes (may be the input itself).
    pub output: PathBuf,
    /// How the stored latents were fitted.
    #[command(flatten)]
    pub fit: FitOverrides,
}

/// An f32 as JSON with its shortest decimal (0.9, not 0.8999999761581421).
fn short(v: f32) -> serde_json::Value {
    v.to_string()
        .parse::<f64>()
        .map(serde_json::Value::from)
        .unwrap_or(serde_json::Value::Null)
}

/// `hyperinr upgrade`.
pub fn upgrade(a: UpgradeArgs) -> Result<()> {
    let v1 = crate::export::read_model_file(&a.input)?;
    let (v2, fit) =
        upgrade_bytes(&v1, &a.fit).map_err(|e| anyhow!("{}: {e}", a.input.display()))?;
    hyperinr_data::io::write_atomic(&a.output, &v2)?;
    let golden = Model::from_bytes(&v2)
        .map(|m| m.file().golden.len())
        .unwrap_or(0);
    println!(
        "{}",
        serde_json::json!({
            "in": a.input, "out": a.output, "bytes_v1": v1.len(), "bytes_v2": v2.len(),
            "hyper_activation": "relu", "linear_path": false,
            "fit": {
                "steps": fit.steps, "lr": short(fit.lr), "beta1": short(fit.beta1),
                "beta2": short(fit.beta2), "eps": short(fit.eps),
                "latent_l2": short(fit.latent_l2), "init_std": short(fit.init_std)
            },
            "golden_vectors_reproduce": golden
        })
    );
    Ok(())
}

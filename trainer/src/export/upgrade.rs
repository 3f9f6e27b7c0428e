//! `hyperinr upgrade IN OUT`: a version-1 model file to version 2, losslessly.
//!
//! Version 1 has no `config.hyper_activation`, `config.fit` or `linear_path` (its φ is a ReLU
//! MLP without a linear path). The conversion (`hyperinr_shared::upgrade::parse_v1`) keeps
//! every other byte: layers, latents, classifier, provenance and golden vectors. A version-1
//! file does not say how its latents were fitted, so the fit settings come from the flags,
//! by default what `hyperinr fit` uses: its default steps and lr, the latents' Adam
//! constants, a zero initial latent, and the `latent_l2` of the file's training config
//! (what `fit` takes from the run), else `FitConfig`'s default. The result is checked before
//! it is written: its golden vectors reproduce, and its version-1 encoding is the input
//! byte for byte.

use crate::export::fit_settings;
use crate::train::fit::FitConfig;
use anyhow::{anyhow, bail, Result};
use hyperinr_runtime::Model;
use hyperinr_shared::FitSettings;
use std::path::PathBuf;

/// Arguments of `hyperinr upgrade`.
#[derive(clap::Args, Clone)]
pub struct UpgradeArgs {
    /// A format-version-1 `.hinr` file.
    pub input: PathBuf,
    /// Where the version-2 file goes (may be the input itself).
    pub output: PathBuf,
    /// Adam steps the stored latents were fitted with (default: `hyperinr fit`'s, 30).
    #[arg(long)]
    pub fit_steps: Option<u32>,
    /// Their learning rate (default: `hyperinr fit`'s, 0.02).
    #[arg(long)]
    pub fit_lr: Option<f32>,
    /// Their latent L2 weight (default: `latent_l2` of the file's training config, else 1e-4).
    #[arg(long)]
    pub fit_latent_l2: Option<f32>,
    /// Standard deviation of their initial latents (default 0: `fit` starts at zero).
    #[arg(long)]
    pub fit_init_std: Option<f32>,
}

/// `latent_l2` of a training config's JSON, if it has one.
fn training_latent_l2(training_config: &str) -> Option<f32> {
    let v: serde_json::Value = serde_json::from_str(training_config).ok()?;
    v.get("latent_l2")?.as_f64().map(|x| x as f32)
}

/// The fit settings `a` asks for, with the defaults above for what it leaves out.
fn settings(a: &UpgradeArgs, training_config: &str) -> FitSettings {
    let mut fit = fit_settings(&FitConfig::new());
    if let Some(l2) = training_latent_l2(training_config) {
        fit.latent_l2 = l2;
    }
    fit.steps = a.fit_steps.unwrap_or(fit.steps);
    fit.lr = a.fit_lr.unwrap_or(fit.lr);
    fit.latent_l2 = a.fit_latent_l2.unwrap_or(fit.latent_l2);
    fit.init_std = a.fit_init_std.unwrap_or(fit.init_std);
    fit
}

/// The version-2 bytes of version-1 `v1`, checked; `fit` as [`UpgradeArgs`] gives it.
pub fn upgrade_bytes(v1: &[u8], a: &UpgradeArgs) -> Result<(Vec<u8>, FitSettings)> {
    if let Ok((h, _)) = hyperinr_shared::Header::parse(v1) {
        bail!("already format version {}: nothing to upgrade", h.version);
    }
    // The provenance is read once without fit settings to find the training config's
    // latent_l2; any valid settings do for that.
    let probe = hyperinr_shared::upgrade::parse_v1(v1, fit_settings(&FitConfig::new()))
        .map_err(|e| anyhow!("not a valid version-1 model file: {e}"))?;
    let fit = settings(a, probe.provenance.training_config);
    let file = hyperinr_shared::upgrade::parse_v1(v1, fit)
        .map_err(|e| anyhow!("fit settings rejected: {e}"))?;
    let v2 = file.to_bytes().map_err(|e| anyhow!("{e}"))?;
    {
        // Lossless: the converted file, encoded in version 1 again, is the input.
        let back = hyperinr_shared::ModelFile::parse(&v2).map_err(|e| anyhow!("{e}"))?;
        let again = hyperinr_shared::upgrade::encode_v1(&back).map_err(|e| anyhow!("{e}"))?;
        if again != v1 {
            bail!("internal error: the version-2 file does not encode back to the input");
        }
        let model = Model::from_bytes(&v2).map_err(|e| anyhow!("{e}"))?;
        let mut ws = hyperinr_runtime::WorkspaceBuf::new(&model);
        model
            .self_test(&mut ws.workspace())
            .map_err(|e| anyhow!("the converted model fails its self-test: {e}"))?;
    }
    Ok((v2, fit))
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
    let (v2, fit) = upgrade_bytes(&v1, &a).map_err(|e| anyhow!("{}: {e}", a.input.display()))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use hyperinr_shared::example::ExampleModel;

    fn args() -> UpgradeArgs {
        UpgradeArgs {
            input: "in".into(),
            output: "out".into(),
            fit_steps: None,
            fit_lr: None,
            fit_latent_l2: None,
            fit_init_std: None,
        }
    }

    #[test]
    fn upgrade_is_lossless_and_takes_latent_l2_from_the_training_config() {
        let example = ExampleModel::new();
        let mut file = example.file();
        file.provenance.training_config = r#"{"latent_l2": 0.0005, "seed": 1}"#;
        let v1 = hyperinr_shared::upgrade::encode_v1(&file).unwrap();
        let (v2, fit) = upgrade_bytes(&v1, &args()).unwrap();
        assert_eq!((fit.steps, fit.lr, fit.latent_l2), (30, 0.02, 5e-4));
        assert_eq!(
            (fit.beta1, fit.beta2, fit.eps, fit.init_std),
            (0.9, 0.999, 1e-8, 0.0)
        );
        let parsed = hyperinr_shared::ModelFile::parse(&v2).unwrap();
        assert_eq!(parsed.config.fit, fit);
        assert_eq!(
            parsed.config.hyper_activation,
            hyperinr_shared::HyperActivation::Relu
        );
        assert!(parsed.linear_path.is_none());
        assert_eq!(parsed.hypernet, file.hypernet);
        assert_eq!(parsed.latents, file.latents);
        // Flags win; a second upgrade is refused.
        let mut a = args();
        a.fit_steps = Some(100);
        a.fit_latent_l2 = Some(0.0);
        let (_, fit) = upgrade_bytes(&v1, &a).unwrap();
        assert_eq!((fit.steps, fit.latent_l2), (100, 0.0));
        let err = upgrade_bytes(&v2, &args()).unwrap_err().to_string();
        assert!(err.contains("already format version 2"), "{err}");
        let mut a = args();
        a.fit_lr = Some(-1.0);
        let err = upgrade_bytes(&v1, &a).unwrap_err().to_string();
        assert!(err.contains("config.fit.lr"), "{err}");
    }
}

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

/// The fit settings a version-1 file cannot say, where the caller knows them (`hyperinr
/// upgrade`'s `--fit-*` flags); what is left out takes the defaults above.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct FitOverrides {
    /// Adam steps the stored latents were fitted with (default: `hyperinr fit`'s, 30).
    #[arg(long = "fit-steps")]
    pub steps: Option<u32>,
    /// Their learning rate (default: `hyperinr fit`'s, 0.02).
    #[arg(long = "fit-lr")]
    pub lr: Option<f32>,
    /// Their latent L2 weight (default: `latent_l2` of the file's training config, else 1e-4).
    #[arg(long = "fit-latent-l2")]
    pub latent_l2: Option<f32>,
    /// Standard deviation of their initial latents (default 0: `fit` starts at zero).
    #[arg(long = "fit-init-std")]
    pub init_std: Option<f32>,
}

/// `latent_l2` of a training config's JSON, if it has one.
fn training_latent_l2(training_config: &str) -> Option<f32> {
    let v: serde_json::Value = serde_json::from_str(training_config).ok()?;
    v.get("latent_l2")?.as_f64().map(|x| x as f32)
}

/// The fit settings `a` asks for, with the defaults above for what it leaves out.
fn settings(a: &FitOverrides, training_config: &str) -> FitSettings {
    let mut fit = fit_settings(&FitConfig::new());
    if let Some(l2) = training_latent_l2(training_config) {
        fit.latent_l2 = l2;
    }
    fit.steps = a.steps.unwrap_or(fit.steps);
    fit.lr = a.lr.unwrap_or(fit.lr);
    fit.latent_l2 = a.latent_l2.unwrap_or(fit.latent_l2);
    fit.init_std = a.init_std.unwrap_or(fit.init_std);
    fit
}

/// The version-2 bytes of version-1 `v1`, checked, and the fit settings they record.
pub fn upgrade_bytes(v1: &[u8], a: &FitOverrides) -> Result<(Vec<u8>, FitSettings)> {
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
    let v2 = file.to_bytes()?;
    {
        // Lossless: the converted file, encoded in version 1 again, is the input.
        let back = hyperinr_shared::ModelFile::parse(&v2)?;
        let again = hyperinr_shared::upgrade::encode_v1(&back)?;
        if again != v1 {
            bail!("internal error: the version-2 file does not encode back to the input");
        }
        let model = Model::from_bytes(&v2)?;
        let mut ws = hyperinr_runtime::WorkspaceBuf::new(&model);
        model
            .self_test(&mut ws.workspace())
            .map_err(|e| anyhow!("the converted model fails its self-test: {e}"))?;
    }
    Ok((v2, fit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyperinr_shared::example::ExampleModel;

    fn args() -> FitOverrides {
        FitOverrides::default()
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
        a.steps = Some(100);
        a.latent_l2 = Some(0.0);
        let (_, fit) = upgrade_bytes(&v1, &a).unwrap();
        assert_eq!((fit.steps, fit.latent_l2), (100, 0.0));
        let err = upgrade_bytes(&v2, &args()).unwrap_err().to_string();
        assert!(err.contains("already format version 2"), "{err}");
        let mut a = args();
        a.lr = Some(-1.0);
        let err = upgrade_bytes(&v1, &a).unwrap_err().to_string();
        assert!(err.contains("config.fit.lr"), "{err}");
    }
}

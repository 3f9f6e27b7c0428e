//! Version 1 → version 2 conversion (feature `std`), for files written before φ's activation,
//! its linear path and the fit settings were stored.
//!
//! A version-1 file is a version-2 file without `config.hyper_activation`, `config.fit`
//! and the `linear_path` section; its φ is a ReLU MLP without a linear path. The conversion
//! keeps every other byte as it is (every int8 array, scale, bias, latent and golden
//! vector is borrowed from the input), sets `hyper_activation = Relu`, `linear_path = None`
//! and the caller's fit settings (a version-1 file does not say how its latents were
//! fitted), and validates the result. The golden vectors stay valid: ReLU without a linear
//! path is what a version-1 reader computed.
//!
//! ```
//! use hyperinr_shared::{example::ExampleModel, upgrade, FormatError, ModelFile};
//! let example = ExampleModel::new();
//! let v1 = upgrade::encode_v1(&example.file()).unwrap();
//! assert!(matches!(
//!     ModelFile::parse(&v1),
//!     Err(FormatError::UnsupportedVersion { found: 1, supported: 3 })
//! ));
//! let v2 = upgrade::parse_v1(&v1, example.fit).unwrap().to_bytes().unwrap();
//! assert_eq!(ModelFile::parse(&v2).unwrap(), example.file());
//! ```

use crate::error::{FormatError, Section};
use crate::header::{Header, HEADER_LEN};
use crate::model::{
    Classifier, FitSettings, GoldenVector, HyperActivation, InputKind, LatentStore, ModelConfig,
    ModelFile, Provenance, QuantLinear, MAX_GOLDEN, MAX_HIDDEN_LAYERS, MAX_LAYERS,
};
use crate::read::section;
use serde::{Deserialize, Serialize};
use std::vec::Vec;

/// The version-1 `config` section: version 2's without `hyper_activation` and `fit`.
#[derive(Serialize, Deserialize)]
struct ConfigV1<'a> {
    dataset: &'a str,
    input: InputKind,
    latent_dim: u32,
    hyper_hidden: heapless::Vec<u32, MAX_HIDDEN_LAYERS>,
    siren_hidden: heapless::Vec<u32, MAX_HIDDEN_LAYERS>,
    omega0: f32,
    in_dim: u32,
    out_dim: u32,
    class_count: u32,
    class_names: &'a str,
}

/// The version-1 payload: version 2's without the `linear_path` section.
#[derive(Serialize)]
struct FileV1<'f, 'a> {
    config: ConfigV1<'a>,
    provenance: &'f Provenance<'a>,
    hypernet: &'f heapless::Vec<QuantLinear<'a>, MAX_LAYERS>,
    classifier: &'f Classifier<'a>,
    latents: &'f LatentStore<'a>,
    golden: &'f heapless::Vec<GoldenVector<'a>, MAX_GOLDEN>,
}

/// Reads a version-1 file as the equivalent version-2 model (ReLU, no linear path, `fit`),
/// borrowing every array from `file`; checks it as [`ModelFile::parse`] checks a
/// version-2 file. A file of another version gives `UnsupportedVersion { supported: 1 }`.
pub fn parse_v1(file: &[u8], fit: FitSettings) -> Result<ModelFile<'_>, FormatError> {
    let (_, payload) = Header::parse_version(file, 1)?;
    let mut rest = payload;
    let mut offset = HEADER_LEN;
    let c: ConfigV1<'_> = section(&mut rest, &mut offset, Section::Config)?;
    let provenance = section(&mut rest, &mut offset, Section::Provenance)?;
    let hypernet = section(&mut rest, &mut offset, Section::Hypernet)?;
    let classifier = section(&mut rest, &mut offset, Section::Classifier)?;
    let latents = section(&mut rest, &mut offset, Section::Latents)?;
    let golden = section(&mut rest, &mut offset, Section::Golden)?;
    if !rest.is_empty() {
        return Err(FormatError::TrailingPayload { offset });
    }
    let model = ModelFile {
        config: ModelConfig {
            dataset: c.dataset,
            input: c.input,
            latent_dim: c.latent_dim,
            hyper_hidden: c.hyper_hidden,
            siren_hidden: c.siren_hidden,
            omega0: c.omega0,
            in_dim: c.in_dim,
            out_dim: c.out_dim,
            class_count: c.class_count,
            class_names: c.class_names,
            hyper_activation: HyperActivation::Relu,
            fit,
        },
        provenance,
        hypernet,
        linear_path: None,
        classifier,
        latents,
        golden,
    };
    crate::validate::validate(&model)?;
    Ok(model)
}

/// Encodes `file` in the version-1 layout (tests and the converter's own checks): only a
/// ReLU model without a linear path has one; its fit settings are dropped.
pub fn encode_v1(file: &ModelFile<'_>) -> Result<Vec<u8>, crate::write::WriteError> {
    use crate::write::WriteError;
    crate::validate::validate(file).map_err(WriteError::Invalid)?;
    if file.config.hyper_activation != HyperActivation::Relu {
        return Err(WriteError::NotVersion1("config.hyper_activation"));
    }
    if file.linear_path.is_some() {
        return Err(WriteError::NotVersion1("linear_path"));
    }
    let c = &file.config;
    let v1 = FileV1 {
        config: ConfigV1 {
            dataset: c.dataset,
            input: c.input,
            latent_dim: c.latent_dim,
            hyper_hidden: c.hyper_hidden.clone(),
            siren_hidden: c.siren_hidden.clone(),
            omega0: c.omega0,
            in_dim: c.in_dim,
            out_dim: c.out_dim,
            class_count: c.class_count,
            class_names: c.class_names,
        },
        provenance: &file.provenance,
        hypernet: &file.hypernet,
        classifier: &file.classifier,
        latents: &file.latents,
        golden: &file.golden,
    };
    let payload = postcard::to_allocvec(&v1).map_err(WriteError::Encode)?;
    let mut out = Header::encode_version(&payload, 1).to_vec();
    out.extend_from_slice(&payload);
    Ok(out)
}

//! A tiny model whose every output can be worked out by hand (feature `std`).
//!
//! Used by tests and documentation: latent dimension 2, hypernetwork 2 → 3 → 9 (ReLU),
//! SIREN 2-2-1 (9 parameters), ω0 = 30, two classes, two stored latents, no golden vectors,
//! no linear path. Set [`ExampleModel::hyper_activation`] and [`ExampleModel::linear_path`]
//! (then [`ExampleModel::refresh`]) for the version-2 variants.
//!
//! ```
//! use hyperinr_shared::{example::ExampleModel, ModelFile};
//! let example = ExampleModel::new();
//! let bytes = example.file().to_bytes().unwrap();
//! let parsed = ModelFile::parse(&bytes).unwrap();
//! assert_eq!(parsed, example.file());
//! ```

use crate::model::*;
use crate::slices::{F32Slice, I8Slice, U32Slice};
use crate::write::{f32_bytes, i8_bytes, u32_bytes};
use std::vec::Vec;

/// Owned arrays of the example model; [`ExampleModel::file`] borrows them.
#[derive(Clone, Debug)]
pub struct ExampleModel {
    /// Hypernetwork layer 0: 3 × 2 int8 weights (identity on z0, z1, then z0 + z1).
    pub h0_weights: Vec<i8>,
    /// Its scales `[1, 1, 0.5]`.
    pub h0_scales: Vec<f32>,
    /// Its biases `[0, 0.5, 0]`.
    pub h0_bias: Vec<f32>,
    /// Hypernetwork layer 1: 9 × 3, row `o` is `[o − 4, 1, −1]`.
    pub h1_weights: Vec<i8>,
    /// Its scales, all 0.25.
    pub h1_scales: Vec<f32>,
    /// Its biases, `0.01 · o`.
    pub h1_bias: Vec<f32>,
    /// Classifier mean `[0.5, 0.5]`.
    pub mean: Vec<f32>,
    /// Classifier inverse std `[2, 1]`.
    pub inv_std: Vec<f32>,
    /// Classifier layer 2 × 2: identity.
    pub c_weights: Vec<i8>,
    /// Its scales `[1, 1]`.
    pub c_scales: Vec<f32>,
    /// Its biases `[0, 0]`.
    pub c_bias: Vec<f32>,
    /// Stored latents: `[2, −4]` (scale 0.5, label 0) and `[−1, 3]` (scale 1, label 1).
    pub codes: Vec<i8>,
    /// Their scales.
    pub scales: Vec<f32>,
    /// Their labels.
    pub labels: Vec<u8>,
    /// Their dataset indices `[7, 9]`.
    pub indices: Vec<u32>,
    /// φ's hidden activation (default ReLU).
    pub hyper_activation: HyperActivation,
    /// Whether the file has the linear path below (default `false`).
    pub linear_path: bool,
    /// Linear path: 9 × 2 int8 weights, row `o` is `[o − 4, 2]`.
    pub lin_weights: Vec<i8>,
    /// Its scales, all 0.125.
    pub lin_scales: Vec<f32>,
    /// Its biases, `−0.02 · o`.
    pub lin_bias: Vec<f32>,
    /// Fit settings: 30 steps, lr 0.02, Adam (0.9, 0.999, 1e-8), latent L2 1e-4, from zero.
    pub fit: FitSettings,
    bytes: [Vec<u8>; 17],
}

impl Default for ExampleModel {
    fn default() -> Self {
        Self::new()
    }
}

impl ExampleModel {
    /// The example with the values documented on each field.
    pub fn new() -> Self {
        let mut m = ExampleModel {
            h0_weights: std::vec![1, 0, 0, 1, 1, 1],
            h0_scales: std::vec![1.0, 1.0, 0.5],
            h0_bias: std::vec![0.0, 0.5, 0.0],
            h1_weights: (0..9i8).flat_map(|o| [o - 4, 1, -1]).collect(),
            h1_scales: std::vec![0.25; 9],
            h1_bias: (0..9).map(|o| 0.01 * o as f32).collect(),
            mean: std::vec![0.5, 0.5],
            inv_std: std::vec![2.0, 1.0],
            c_weights: std::vec![1, 0, 0, 1],
            c_scales: std::vec![1.0, 1.0],
            c_bias: std::vec![0.0, 0.0],
            codes: std::vec![2, -4, -1, 3],
            scales: std::vec![0.5, 1.0],
            labels: std::vec![0, 1],
            indices: std::vec![7, 9],
            hyper_activation: HyperActivation::Relu,
            linear_path: false,
            lin_weights: (0..9i8).flat_map(|o| [o - 4, 2]).collect(),
            lin_scales: std::vec![0.125; 9],
            lin_bias: (0..9).map(|o| -0.02 * o as f32).collect(),
            fit: FitSettings {
                steps: 30,
                lr: 0.02,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                latent_l2: 1e-4,
                init_std: 0.0,
            },
            bytes: Default::default(),
        };
        m.refresh();
        m
    }

    /// Re-encodes the byte views after the public fields were changed.
    pub fn refresh(&mut self) {
        self.bytes = [
            i8_bytes(&self.h0_weights),
            f32_bytes(&self.h0_scales),
            f32_bytes(&self.h0_bias),
            i8_bytes(&self.h1_weights),
            f32_bytes(&self.h1_scales),
            f32_bytes(&self.h1_bias),
            f32_bytes(&self.mean),
            f32_bytes(&self.inv_std),
            i8_bytes(&self.c_weights),
            f32_bytes(&self.c_scales),
            f32_bytes(&self.c_bias),
            i8_bytes(&self.codes),
            f32_bytes(&self.scales),
            u32_bytes(&self.indices),
            i8_bytes(&self.lin_weights),
            f32_bytes(&self.lin_scales),
            f32_bytes(&self.lin_bias),
        ];
    }

    /// The model file borrowing this example's arrays.
    pub fn file(&self) -> ModelFile<'_> {
        let b = &self.bytes;
        let mut hypernet = heapless::Vec::new();
        hypernet.extend([
            layer(3, 2, &b[0], &b[1], &b[2]),
            layer(9, 3, &b[3], &b[4], &b[5]),
        ]);
        let mut classifier_layers = heapless::Vec::new();
        classifier_layers.extend([layer(2, 2, &b[8], &b[9], &b[10])]);
        let mut hyper_hidden = heapless::Vec::new();
        hyper_hidden.extend([3]);
        let mut siren_hidden = heapless::Vec::new();
        siren_hidden.extend([2]);
        ModelFile {
            config: ModelConfig {
                dataset: "example",
                input: InputKind::Image {
                    width: 2,
                    height: 2,
                },
                latent_dim: 2,
                hyper_hidden,
                siren_hidden,
                omega0: 30.0,
                in_dim: 2,
                out_dim: 1,
                class_count: 2,
                class_names: "even\nodd",
                hyper_activation: self.hyper_activation,
                fit: self.fit,
            },
            provenance: Provenance {
                source_commit: "0000000",
                seed: 1,
                data_hash: "none",
                training_config: "{}",
            },
            hypernet,
            linear_path: self
                .linear_path
                .then(|| layer(9, 2, &b[14], &b[15], &b[16])),
            classifier: Classifier {
                mean: F32Slice(&b[6]),
                inv_std: F32Slice(&b[7]),
                layers: classifier_layers,
            },
            latents: LatentStore {
                split: Split::Test,
                count: self.labels.len() as u32,
                codes: I8Slice(&b[11]),
                scales: F32Slice(&b[12]),
                labels: &self.labels,
                dataset_indices: U32Slice(&b[13]),
            },
            golden: heapless::Vec::new(),
        }
    }
}

fn layer<'a>(rows: u32, cols: u32, w: &'a [u8], s: &'a [u8], bias: &'a [u8]) -> QuantLinear<'a> {
    QuantLinear {
        rows,
        cols,
        weights: I8Slice(w),
        scales: F32Slice(s),
        bias: F32Slice(bias),
    }
}

/// Encodes `file` without validating it, to build deliberately inconsistent files in tests.
///
/// ```
/// use hyperinr_shared::{example::{ExampleModel, encode_unchecked}, FormatError, ModelFile};
/// let example = ExampleModel::new();
/// let mut file = example.file();
/// file.config.omega0 = f32::NAN;
/// let bytes = encode_unchecked(&file);
/// assert!(matches!(ModelFile::parse(&bytes), Err(FormatError::Invalid { field: "config.omega0", .. })));
/// ```
pub fn encode_unchecked(file: &ModelFile<'_>) -> Vec<u8> {
    let payload = postcard::to_allocvec(file).unwrap_or_default();
    let mut out = crate::Header::encode_version(&payload, file.format_version()).to_vec();
    out.extend_from_slice(&payload);
    out
}

//! Int8 quantisation and `.hinr` export; golden vectors come from `hyperinr-runtime`.

use crate::artifacts::LatentFile;
use crate::classifier::TrainedClassifier;
use crate::model::{Dense, HyperInrConfig, HyperNet};
use anyhow::{anyhow, bail, Context, Result};
use burn::tensor::backend::Backend;
use hyperinr_shared::quant::{quantize_matrix, quantize_row};
use hyperinr_shared::write::{f32_bytes, i8_bytes, u32_bytes};
use hyperinr_shared::{
    Classifier, F32Slice, GoldenVector, I8Slice, InputKind, LatentStore, ModelConfig, ModelFile,
    Provenance, QuantLinear, U32Slice,
};

/// An int8 layer's bytes.
pub struct QuantBytes {
    rows: u32,
    cols: u32,
    weights: Vec<u8>,
    scales: Vec<u8>,
    bias: Vec<u8>,
}

impl QuantBytes {
    /// Quantises row-major `[rows, cols]` weights with one scale per row.
    pub fn new(w_rows: &[f32], bias: &[f32], cols: usize) -> Result<Self> {
        let (q, s) = quantize_matrix(w_rows, cols)
            .ok_or_else(|| anyhow!("non-finite weight in a layer to quantise"))?;
        Ok(QuantBytes {
            rows: bias.len() as u32,
            cols: cols as u32,
            weights: i8_bytes(&q),
            scales: f32_bytes(&s),
            bias: f32_bytes(bias),
        })
    }

    fn view(&self) -> QuantLinear<'_> {
        QuantLinear {
            rows: self.rows,
            cols: self.cols,
            weights: I8Slice::new(&self.weights),
            scales: F32Slice::new(&self.scales),
            bias: F32Slice::new(&self.bias),
        }
    }
}

/// Int8 latents: codes and one scale per latent.
pub fn quantize_latents(values: &[f32], dim: usize) -> Result<(Vec<i8>, Vec<f32>)> {
    let mut codes = vec![0i8; values.len()];
    let mut scales = Vec::with_capacity(values.len() / dim);
    for (row, q) in values.chunks_exact(dim).zip(codes.chunks_exact_mut(dim)) {
        scales.push(quantize_row(row, q).ok_or_else(|| anyhow!("non-finite latent"))?);
    }
    Ok((codes, scales))
}

/// Latents after an int8 round trip (what the runtime will see).
pub fn dequantized_latents(values: &[f32], dim: usize) -> Result<Vec<f32>> {
    let (codes, scales) = quantize_latents(values, dim)?;
    Ok(codes
        .chunks_exact(dim)
        .zip(&scales)
        .flat_map(|(row, &s)| {
            row.iter()
                .map(move |&q| hyperinr_shared::quant::dequantize(q, s))
        })
        .collect())
}

/// Everything an export needs.
pub struct ExportInput<'a> {
    /// Dataset name, e.g. `fashion-mnist`.
    pub dataset: &'a str,
    /// Input kind.
    pub input: InputKind,
    /// Class names.
    pub class_names: &'a [&'a str],
    /// Model shapes.
    pub model: &'a HyperInrConfig,
    /// Hypernetwork layers as (row-major `[out, in]` weights, biases, in).
    pub hypernet: Vec<(Vec<f32>, Vec<f32>, usize)>,
    /// Classifier.
    pub classifier: &'a TrainedClassifier,
    /// Latents to store.
    pub latents: &'a LatentFile,
    /// Seed of the run.
    pub seed: u64,
    /// Hash of the training data.
    pub data_hash: &'a str,
    /// Training config JSON.
    pub training_config: &'a str,
    /// Golden query coordinates (`in_dim` each).
    pub golden_coords: Vec<f32>,
}

/// Hypernetwork layers of a burn model as (row-major weights, biases, in).
pub fn hypernet_rows<B: Backend>(h: &HyperNet<B>) -> Vec<(Vec<f32>, Vec<f32>, usize)> {
    h.layers
        .iter()
        .map(|l| {
            let (w, b) = l.to_rows();
            (w, b, l.dims().0)
        })
        .collect()
}

/// The source commit (`-dirty` when the work tree has changes), or `unknown`.
pub fn source_commit() -> String {
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match run(&["rev-parse", "--short=12", "HEAD"]) {
        Some(c) => {
            let dirty = run(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{c}-dirty")
            } else {
                c
            }
        }
        None => "unknown".into(),
    }
}

/// Builds the `.hinr` bytes: quantise, encode, parse with the runtime, compute golden
/// vectors with the runtime, encode again with them.
pub fn export(input: &ExportInput<'_>) -> Result<Vec<u8>> {
    let m = input.model;
    let hyper: Vec<QuantBytes> = input
        .hypernet
        .iter()
        .map(|(w, b, i)| QuantBytes::new(w, b, *i))
        .collect::<Result<_>>()?;
    let clf: Vec<QuantBytes> = input
        .classifier
        .layers
        .iter()
        .map(|(w, b, i, _)| QuantBytes::new(w, b, *i))
        .collect::<Result<_>>()?;
    let mean = f32_bytes(&input.classifier.mean);
    let inv_std = f32_bytes(&input.classifier.inv_std);
    let lat = input.latents;
    if lat.dim != m.latent_dim {
        bail!(
            "latents have dimension {}, the model {}",
            lat.dim,
            m.latent_dim
        );
    }
    let (codes, scales) = quantize_latents(&lat.values, lat.dim)?;
    let codes_b = i8_bytes(&codes);
    let scales_b = f32_bytes(&scales);
    let indices_b = u32_bytes(&lat.indices);
    let names = input.class_names.join("\n");
    let commit = source_commit();
    let to_vec = |v: &[usize]| -> hyperinr_shared::heapless::Vec<
        u32,
        { hyperinr_shared::MAX_HIDDEN_LAYERS },
    > { v.iter().map(|&x| x as u32).collect() };
    let commit_ref: &str = &commit;
    let build = |golden: hyperinr_shared::heapless::Vec<
        GoldenVector<'_>,
        { hyperinr_shared::MAX_GOLDEN },
    >|
     -> Result<Vec<u8>> {
        let file = ModelFile {
            config: ModelConfig {
                dataset: input.dataset,
                input: input.input,
                latent_dim: m.latent_dim as u32,
                hyper_hidden: to_vec(&m.hyper_hidden),
                siren_hidden: to_vec(&m.siren_hidden),
                omega0: m.omega0,
                in_dim: m.in_dim as u32,
                out_dim: m.out_dim as u32,
                class_count: input.class_names.len() as u32,
                class_names: &names,
            },
            provenance: Provenance {
                source_commit: commit_ref,
                seed: input.seed,
                data_hash: input.data_hash,
                training_config: input.training_config,
            },
            hypernet: hyper.iter().map(QuantBytes::view).collect(),
            classifier: Classifier {
                mean: F32Slice::new(&mean),
                inv_std: F32Slice::new(&inv_std),
                layers: clf.iter().map(QuantBytes::view).collect(),
            },
            latents: LatentStore {
                split: lat.split.to_format(),
                count: lat.len() as u32,
                codes: I8Slice::new(&codes_b),
                scales: F32Slice::new(&scales_b),
                labels: &lat.labels,
                dataset_indices: U32Slice::new(&indices_b),
            },
            golden,
        };
        file.to_bytes().map_err(|e| anyhow!("{e}"))
    };
    let plain = build(hyperinr_shared::heapless::Vec::new())?;
    let model = hyperinr_runtime::Model::from_bytes(&plain).map_err(|e| anyhow!("{e}"))?;
    // Golden vectors: the first stored latents (up to 4), or a zero latent if none.
    let mut golden_src: Vec<(Vec<i8>, f32)> = (0..lat.len().min(4))
        .map(|i| (codes[i * lat.dim..(i + 1) * lat.dim].to_vec(), scales[i]))
        .collect();
    if golden_src.is_empty() {
        golden_src.push((vec![0; lat.dim], 0.0));
    }
    let goldens: Vec<_> = golden_src
        .iter()
        .map(|(c, s)| {
            hyperinr_runtime::compute_golden(&model, c, *s, &input.golden_coords)
                .map_err(|e| anyhow!("{e}"))
        })
        .collect::<Result<_>>()?;
    let encoded: Vec<_> = goldens.iter().map(|g| g.encode()).collect();
    let golden = encoded.iter().map(|g| g.view()).collect();
    let bytes = build(golden)?;
    // The file must verify itself before it leaves the trainer.
    {
        let model = hyperinr_runtime::Model::from_bytes(&bytes).map_err(|e| anyhow!("{e}"))?;
        let mut ws = hyperinr_runtime::WorkspaceBuf::new(&model);
        model
            .self_test(&mut ws.workspace())
            .map_err(|e| anyhow!("exported model fails its self-test: {e}"))?;
    }
    Ok(bytes)
}

/// The burn hypernetwork with a model file's dequantised weights (`q as f32 * scale`).
pub fn hypernet_from_file<B: Backend>(
    file: &ModelFile<'_>,
    device: &B::Device,
) -> Result<HyperNet<B>> {
    let layers = file
        .hypernet
        .iter()
        .enumerate()
        .map(|(k, l)| {
            let cols = l.cols as usize;
            let rows = l.rows as usize;
            let mut w = Vec::with_capacity(rows * cols);
            for (r, s) in l.scales.iter().enumerate() {
                w.extend(
                    l.weights.as_bytes()[r * cols..(r + 1) * cols]
                        .iter()
                        .map(|&q| hyperinr_shared::quant::dequantize(q as i8, s)),
                );
            }
            let b: Vec<f32> = l.bias.iter().collect();
            Dense::from_rows(k as u64, &w, &b, cols, rows, device)
        })
        .collect();
    Ok(HyperNet {
        layers,
        linear: None,
        aux_head: None,
        activation: crate::model::HyperActivation::Relu,
    })
}

/// Model shapes from a file's config.
pub fn model_config_from_file(file: &ModelFile<'_>) -> HyperInrConfig {
    let c = &file.config;
    let mut m = HyperInrConfig::new();
    m.latent_dim = c.latent_dim as usize;
    m.hyper_hidden = c.hyper_hidden.iter().map(|&v| v as usize).collect();
    m.siren_hidden = c.siren_hidden.iter().map(|&v| v as usize).collect();
    m.omega0 = c.omega0;
    m.in_dim = c.in_dim as usize;
    m.out_dim = c.out_dim as usize;
    m
}

/// Reads a model file, naming it in errors.
pub fn read_model_file(path: &std::path::Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading model {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::SplitName;
    use crate::model::{image_coords, siren_forward};
    use burn::tensor::{Tensor, TensorData};

    type Cpu = burn::backend::NdArray<f32>;

    fn small_export(seed: u64) -> (HyperInrConfig, Vec<u8>, LatentFile) {
        let device = Default::default();
        let mut cfg = HyperInrConfig::new();
        cfg.latent_dim = 8;
        cfg.hyper_hidden = vec![16];
        cfg.siren_hidden = vec![8, 8];
        let net = cfg.init::<Cpu>(seed, &device);
        let latents = LatentFile {
            split: SplitName::Test,
            dim: 8,
            values: (0..24)
                .map(|i| ((i * 37 % 11) as f32 - 5.0) * 0.1)
                .collect(),
            labels: vec![0, 1, 1],
            indices: vec![0, 1, 2],
        };
        let clf = TrainedClassifier {
            mean: vec![0.0; 8],
            inv_std: vec![1.0; 8],
            layers: vec![(
                (0..16).map(|i| i as f32 * 0.1 - 0.8).collect(),
                vec![0.0, 0.1],
                8,
                2,
            )],
        };
        let coords: Vec<f32> = (0..8).map(|i| i as f32 / 8.0 - 0.5).collect();
        let bytes = export(&ExportInput {
            dataset: "test",
            input: InputKind::Image {
                width: 28,
                height: 28,
            },
            class_names: &["a", "b"],
            model: &cfg,
            hypernet: hypernet_rows(&net),
            classifier: &clf,
            latents: &latents,
            seed,
            data_hash: "none",
            training_config: "{}",
            golden_coords: coords,
        })
        .unwrap();
        (cfg, bytes, latents)
    }

    /// The runtime's reconstruction and burn's forward with the same dequantised weights
    /// agree to 1e-4 (they differ in summation order and sine implementation only).
    #[test]
    fn runtime_matches_burn_forward_with_dequantised_weights() {
        let device = Default::default();
        let (cfg, bytes, latents) = small_export(3);
        let model = hyperinr_runtime::Model::from_bytes(&bytes).unwrap();
        let file = model.file();
        let net = hypernet_from_file::<Cpu>(file, &device).unwrap();
        let z = dequantized_latents(&latents.values, 8).unwrap();
        let params = net.forward(Tensor::from_data(
            TensorData::new(z.clone(), [3, 8]),
            &device,
        ));
        let burn_out = siren_forward(&cfg, params, image_coords::<Cpu>(28, 28, &device))
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        let s = model.sizes();
        let (mut w, mut scratch) = (vec![0.0; s.weights], vec![0.0; s.scratch]);
        let mut px = vec![0.0f32; 784];
        let mut max_diff = 0.0f32;
        for k in 0..3 {
            let mut zk = vec![0.0; 8];
            model.stored_latent(k, &mut zk).unwrap();
            assert_eq!(zk, z[k * 8..(k + 1) * 8]);
            model.decode_weights(&zk, &mut w, &mut scratch).unwrap();
            model.render_image(&w, &mut px, &mut scratch).unwrap();
            for (a, b) in px.iter().zip(&burn_out[k * 784..(k + 1) * 784]) {
                max_diff = max_diff.max((a - b).abs());
            }
        }
        assert!(max_diff <= 1e-4, "max abs difference {max_diff}");
        assert!(
            max_diff > 0.0 || burn_out.iter().all(|v| *v == 0.0),
            "suspiciously exact"
        );
    }

    #[test]
    fn export_is_deterministic_and_self_tests() {
        let (_, a, _) = small_export(5);
        let (_, b, _) = small_export(5);
        assert_eq!(a, b);
        let model = hyperinr_runtime::Model::from_bytes(&a).unwrap();
        assert_eq!(model.file().golden.len(), 3);
        let mut ws = hyperinr_runtime::WorkspaceBuf::new(&model);
        assert_eq!(model.self_test(&mut ws.workspace()), Ok(3));
    }

    #[test]
    fn int8_round_trip_error_is_bounded_by_half_a_step() {
        let v: Vec<f32> = (0..64).map(|i| (i as f32 * 0.37).sin()).collect();
        let d = dequantized_latents(&v, 64).unwrap();
        let step = 1.0 / 127.0;
        for (a, b) in v.iter().zip(&d) {
            assert!((a - b).abs() <= step / 2.0 + 1e-7);
        }
    }
}

//! Int8 quantisation and `.hinr` export; golden vectors come from `hyperinr-runtime`.

pub mod upgrade;

use crate::model::classifier::TrainedClassifier;
use crate::model::{linear_from_rows, HyperInrConfig, HyperNet, LinearRows};
use crate::train::artifacts::LatentFile;
use anyhow::{anyhow, bail, Context, Result};
use burn::nn::Linear;
use burn::tensor::backend::Backend;
use hyperinr_shared::quant::{quantize_matrix, quantize_row};
use hyperinr_shared::write::{f32_bytes, i8_bytes, u32_bytes};
use hyperinr_shared::{
    Classifier, F32Slice, FitSettings, GoldenVector, I8Slice, InputKind, LatentStore, ModelConfig,
    ModelFile, Provenance, QuantLinear, U32Slice,
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
    let mut out = vec![0.0f32; codes.len()];
    for ((row, &s), z) in codes
        .chunks_exact(dim)
        .zip(&scales)
        .zip(out.chunks_exact_mut(dim))
    {
        hyperinr_runtime::dequantize_latent(I8Slice::new(&i8_bytes(row)), s, z)?;
    }
    Ok(out)
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
    /// φ's linear path `A` as (row-major `[params, latent]` weights, its bias, latent), when
    /// `model.linear_path` ([`linear_rows`]).
    pub linear: Option<(Vec<f32>, Vec<f32>, usize)>,
    /// How the stored latents were fitted ([`fit_settings`]).
    pub fit: FitSettings,
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

/// The latents' initial standard deviation in `hyperinr fit` (`fit_latents` starts every
/// latent at zero).
pub const FIT_INIT_STD: f32 = 0.0;

/// The fit settings of `fit` (steps, lr, latent L2) with the latents' Adam constants
/// (`latents.rs`) and [`FIT_INIT_STD`]: what `config.fit` records.
pub fn fit_settings(fit: &crate::train::fit::FitConfig) -> FitSettings {
    FitSettings {
        steps: fit.steps.min(u32::MAX as usize) as u32,
        lr: fit.lr,
        beta1: crate::train::latents::BETA1,
        beta2: crate::train::latents::BETA2,
        eps: crate::train::latents::EPS,
        latent_l2: fit.latent_l2,
        init_std: FIT_INIT_STD,
    }
}

/// The fit settings of the JSON `hyperinr fit` writes next to the latents
/// (`fit-<split>.json`: `steps`, `lr`, `latent_l2`, and fields the file does not need).
pub fn fit_settings_from_json(text: &str) -> Result<FitSettings> {
    let v: serde_json::Value = serde_json::from_str(text).context("not JSON")?;
    let field = |name: &str| {
        v.get(name)
            .and_then(serde_json::Value::as_f64)
            .ok_or_else(|| anyhow!("no number `{name}`"))
    };
    let mut fit = crate::train::fit::FitConfig::new();
    fit.steps = field("steps")? as usize;
    fit.lr = field("lr")? as f32;
    fit.latent_l2 = field("latent_l2")? as f32;
    Ok(fit_settings(&fit))
}

/// φ's linear path of a burn model as (row-major `[params, latent]` weights, bias, latent).
pub fn linear_rows<B: Backend>(h: &HyperNet<B>) -> Option<(Vec<f32>, Vec<f32>, usize)> {
    h.linear.as_ref().map(|l| {
        let (w, b) = l.to_rows();
        (w, b, l.dims().0)
    })
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
    if m.linear_path != input.linear.is_some() {
        bail!(
            "the model config says linear_path = {}, the hypernetwork {} one",
            m.linear_path,
            if input.linear.is_some() {
                "has"
            } else {
                "has no"
            }
        );
    }
    // The linear path keeps its own bias (FORMAT.md 2.4), quantised like every layer.
    let linear: Option<QuantBytes> = input
        .linear
        .as_ref()
        .map(|(w, b, i)| QuantBytes::new(w, b, *i))
        .transpose()?;
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
                hyper_activation: m.hyper_activation,
                fit: input.fit,
            },
            provenance: Provenance {
                source_commit: commit_ref,
                seed: input.seed,
                data_hash: input.data_hash,
                training_config: input.training_config,
            },
            hypernet: hyper.iter().map(QuantBytes::view).collect(),
            linear_path: linear.as_ref().map(QuantBytes::view),
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
        Ok(file.to_bytes()?)
    };
    let plain = build(hyperinr_shared::heapless::Vec::new())?;
    let model = hyperinr_runtime::Model::from_bytes(&plain)?;
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
                .map_err(anyhow::Error::from)
        })
        .collect::<Result<_>>()?;
    let encoded: Vec<_> = goldens.iter().map(|g| g.encode()).collect();
    let golden = encoded.iter().map(|g| g.view()).collect();
    let bytes = build(golden)?;
    // The file must verify itself before it leaves the trainer.
    {
        let model = hyperinr_runtime::Model::from_bytes(&bytes)?;
        let mut ws = hyperinr_runtime::WorkspaceBuf::new(&model);
        model
            .self_test(&mut ws.workspace())
            .map_err(|e| anyhow!("exported model fails its self-test: {e}"))?;
    }
    Ok(bytes)
}

/// A model file's int8 layer as a burn layer with dequantised weights (`q as f32 * scale`).
fn dense_from_file<B: Backend>(
    id: u64,
    l: &QuantLinear<'_>,
    device: &B::Device,
) -> Result<Linear<B>> {
    let (cols, rows) = (l.cols as usize, l.rows as usize);
    let mut w = vec![0.0f32; rows * cols];
    for ((r, s), out) in l.scales.iter().enumerate().zip(w.chunks_exact_mut(cols)) {
        let codes = l.weights.sub(r * cols, cols).ok_or_else(|| {
            anyhow!("layer {id}: row {r} of {rows} lies outside its {cols}-column weights")
        })?;
        hyperinr_runtime::dequantize_latent(codes, s, out)?;
    }
    let b: Vec<f32> = l.bias.iter().collect();
    Ok(linear_from_rows(id, &w, &b, cols, rows, device))
}

/// Layer id of a loaded linear path (the trainer's, `model.rs`).
const LINEAR_PATH_ID: u64 = 1000;

/// The burn hypernetwork with a model file's dequantised weights (`q as f32 * scale`), its
/// activation and its linear path.
pub fn hypernet_from_file<B: Backend>(
    file: &ModelFile<'_>,
    device: &B::Device,
) -> Result<HyperNet<B>> {
    let layers = file
        .hypernet
        .iter()
        .enumerate()
        .map(|(k, l)| dense_from_file(k as u64, l, device))
        .collect::<Result<_>>()?;
    let linear = file
        .linear_path
        .as_ref()
        .map(|l| dense_from_file(LINEAR_PATH_ID, l, device))
        .transpose()?;
    Ok(HyperNet {
        layers,
        linear,
        aux_head: None,
        activation: file.config.hyper_activation,
    })
}

/// Model shapes from a file's config (φ's activation and linear path included).
pub fn model_config_from_file(file: &ModelFile<'_>) -> HyperInrConfig {
    let c = &file.config;
    let mut m = HyperInrConfig::new();
    m.latent_dim = c.latent_dim as usize;
    m.hyper_hidden = c.hyper_hidden.iter().map(|&v| v as usize).collect();
    m.siren_hidden = c.siren_hidden.iter().map(|&v| v as usize).collect();
    m.omega0 = c.omega0;
    m.in_dim = c.in_dim as usize;
    m.out_dim = c.out_dim as usize;
    m.hyper_activation = c.hyper_activation;
    m.linear_path = file.linear_path.is_some();
    m
}

/// Reads a model file, naming it in errors.
pub fn read_model_file(path: &std::path::Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading model {}", path.display()))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::{image_coords, siren_forward, HyperActivation};
    use burn::tensor::{Tensor, TensorData};
    use hyperinr_data::Split;

    type Cpu = burn::backend::NdArray<f32>;

    fn small_export(seed: u64) -> (HyperInrConfig, Vec<u8>, LatentFile) {
        small_export_with(seed, HyperActivation::Relu, false)
    }

    /// A small exported model (8-d latents, 3 stored; seed, φ's activation and linear path
    /// as given): for these tests and the IFT check's.
    pub(crate) fn small_export_with(
        seed: u64,
        activation: HyperActivation,
        linear_path: bool,
    ) -> (HyperInrConfig, Vec<u8>, LatentFile) {
        let device = Default::default();
        let mut cfg = HyperInrConfig::new();
        cfg.latent_dim = 8;
        cfg.hyper_hidden = vec![16];
        cfg.siren_hidden = vec![8, 8];
        cfg.hyper_activation = activation;
        cfg.linear_path = linear_path;
        let net = cfg.init::<Cpu>(seed, &device);
        let latents = LatentFile {
            split: Split::Test,
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
            linear: linear_rows(&net),
            fit: fit_settings(&crate::train::fit::FitConfig::new().with_steps(42)),
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
        for (activation, linear) in [
            (HyperActivation::Relu, false),
            (HyperActivation::LeakyRelu, true),
            (HyperActivation::Silu, true),
            (HyperActivation::Silu, false),
        ] {
            runtime_matches_burn_forward(activation, linear);
        }
    }

    fn runtime_matches_burn_forward(activation: HyperActivation, linear: bool) {
        let device = Default::default();
        let (cfg, bytes, latents) = small_export_with(3, activation, linear);
        let model = hyperinr_runtime::Model::from_bytes(&bytes).unwrap();
        let file = model.file();
        assert_eq!(model_config_from_file(file).hyper_activation, activation);
        assert_eq!(model_config_from_file(file).linear_path, linear);
        let net = hypernet_from_file::<Cpu>(file, &device).unwrap();
        assert_eq!(net.activation, activation);
        assert_eq!(net.linear.is_some(), linear);
        let z = dequantized_latents(&latents.values, 8).unwrap();
        let params = net.forward(Tensor::from_data(
            TensorData::new(z.clone(), [3, 8]),
            &device,
        ));
        let burn_params = params.clone().into_data().to_vec::<f32>().unwrap();
        let burn_out = siren_forward(&cfg, params, image_coords::<Cpu>(28, 28, &device))
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        let s = model.sizes();
        let (mut w, mut scratch) = (vec![0.0; s.weights], vec![0.0; s.scratch]);
        let mut px = vec![0.0f32; 784];
        let (mut max_diff, mut max_param_diff) = (0.0f32, 0.0f32);
        for k in 0..3 {
            let mut zk = vec![0.0; 8];
            model.stored_latent(k, &mut zk).unwrap();
            assert_eq!(zk, z[k * 8..(k + 1) * 8]);
            model.decode_weights(&zk, &mut w, &mut scratch).unwrap();
            for (a, b) in w
                .iter()
                .zip(&burn_params[k * s.weights..(k + 1) * s.weights])
            {
                max_param_diff = max_param_diff.max((a - b).abs());
            }
            model.render_image(&w, &mut px, &mut scratch).unwrap();
            for (a, b) in px.iter().zip(&burn_out[k * 784..(k + 1) * 784]) {
                max_diff = max_diff.max((a - b).abs());
            }
        }
        assert!(
            max_param_diff <= 1e-5,
            "{activation:?}, linear {linear}: SIREN parameters differ by {max_param_diff}"
        );
        assert!(
            max_diff <= 1e-4,
            "{activation:?}, linear {linear}: max abs difference {max_diff}"
        );
        assert!(
            max_diff > 0.0 || burn_out.iter().all(|v| *v == 0.0),
            "suspiciously exact"
        );
    }

    /// The file records φ's activation, the linear path (its own bias, int8 like the other
    /// layers) and the fit settings; the runtime decodes the trained float φ within int8
    /// rounding of burn's float forward, and a ReLU reading of the same weights does not.
    #[test]
    fn silu_linear_path_export_records_phi_and_decodes_like_the_float_model() {
        let device = Default::default();
        let mut cfg = HyperInrConfig::new();
        cfg.latent_dim = 8;
        cfg.hyper_hidden = vec![16];
        cfg.siren_hidden = vec![8, 8];
        cfg.hyper_activation = HyperActivation::Silu;
        cfg.linear_path = true;
        let float_net = cfg.init::<Cpu>(3, &device);
        let (_, bytes, latents) = small_export_with(3, HyperActivation::Silu, true);
        let model = hyperinr_runtime::Model::from_bytes(&bytes).unwrap();
        let f = model.file();
        assert_eq!(
            f.config.hyper_activation,
            hyperinr_shared::HyperActivation::Silu
        );
        let a = f.linear_path.as_ref().unwrap();
        assert_eq!((a.rows as usize, a.cols), (cfg.siren_params(), 8));
        let fit = model.fit_settings();
        assert_eq!((fit.steps, fit.lr, fit.latent_l2), (42, 2e-2, 1e-4));
        assert_eq!(
            (fit.beta1, fit.beta2, fit.eps, fit.init_std),
            (0.9, 0.999, 1e-8, 0.0)
        );
        // The float φ on the int8 latents vs the runtime's decode of the int8 φ.
        let z = dequantized_latents(&latents.values, 8).unwrap();
        let want = float_net
            .forward(Tensor::from_data(
                TensorData::new(z.clone(), [3, 8]),
                &device,
            ))
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        let s = model.sizes();
        let (mut w, mut scratch) = (vec![0.0; s.weights], vec![0.0; s.scratch]);
        let (mut err_sq, mut sq) = (0.0f64, 0.0f64);
        for k in 0..3 {
            model
                .decode_weights(&z[k * 8..(k + 1) * 8], &mut w, &mut scratch)
                .unwrap();
            for (a, b) in w.iter().zip(&want[k * s.weights..(k + 1) * s.weights]) {
                err_sq += ((a - b) as f64).powi(2);
                sq += (*b as f64).powi(2);
            }
        }
        let rel = (err_sq / sq).sqrt();
        assert!(rel > 0.0 && rel < 0.01, "relative RMS difference {rel}");
    }

    #[test]
    fn fit_settings_come_from_the_fit_json() {
        let json = crate::train::fit::FitConfig::new()
            .with_steps(100)
            .with_lr(0.01)
            .with_latent_l2(3e-4)
            .to_string();
        let fit = fit_settings_from_json(&json).unwrap();
        assert_eq!((fit.steps, fit.lr, fit.latent_l2), (100, 0.01, 3e-4));
        assert_eq!(
            (fit.beta1, fit.beta2, fit.eps, fit.init_std),
            (0.9, 0.999, 1e-8, 0.0)
        );
        // An older file without the fields added since (batch_size, siren_op) still reads.
        let fit = fit_settings_from_json(r#"{"steps":30,"lr":0.02,"latent_l2":0.0001}"#).unwrap();
        assert_eq!(fit.steps, 30);
        assert!(fit_settings_from_json(r#"{"lr":0.02}"#).is_err());
    }

    #[test]
    fn export_refuses_a_linear_path_the_config_does_not_declare() {
        let device = Default::default();
        let mut cfg = HyperInrConfig::new();
        cfg.latent_dim = 4;
        cfg.hyper_hidden = vec![8];
        cfg.siren_hidden = vec![4];
        cfg.linear_path = true;
        let net = cfg.init::<Cpu>(1, &device);
        cfg.linear_path = false;
        let latents = LatentFile {
            split: Split::Test,
            dim: 4,
            values: vec![0.1; 4],
            labels: vec![0],
            indices: vec![0],
        };
        let clf = TrainedClassifier {
            mean: vec![0.0; 4],
            inv_std: vec![1.0; 4],
            layers: vec![(vec![0.1; 8], vec![0.0, 0.0], 4, 2)],
        };
        let err = export(&ExportInput {
            dataset: "test",
            input: InputKind::Image {
                width: 4,
                height: 4,
            },
            class_names: &["a", "b"],
            model: &cfg,
            hypernet: hypernet_rows(&net),
            linear: linear_rows(&net),
            fit: fit_settings(&crate::train::fit::FitConfig::new()),
            classifier: &clf,
            latents: &latents,
            seed: 1,
            data_hash: "none",
            training_config: "{}",
            golden_coords: vec![0.0, 0.0],
        })
        .err()
        .unwrap();
        assert!(err.to_string().contains("linear_path"), "{err}");
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

//! Writes the seed corpus of the `from_bytes` fuzz target: a few small, valid model files
//! (format version 2: image and point-cloud models, with and without golden vectors,
//! shallow and as deep and wide as the format allows in one dimension or another, every
//! hypernetwork activation, with and without the linear path). Deterministic: the same files
//! on every run.
//!
//! ```text
//! cargo +nightly run --release --bin make_corpus -- corpus/from_bytes
//! ```

use std::path::PathBuf;

use hyperinr_runtime::{compute_golden, Model};
use hyperinr_shared::example::ExampleModel;
use hyperinr_shared::layout::siren_param_count;
use hyperinr_shared::write::{f32_bytes, i8_bytes, u32_bytes};
use hyperinr_shared::{
    Classifier, F32Slice, FitSettings, GoldenVector, HyperActivation, I8Slice, InputKind,
    QuerySampler,
    LatentStore, ModelConfig, ModelFile, Provenance, QuantLinear, Split, U32Slice, MAX_GOLDEN,
};

/// `hyperinr fit`'s defaults.
const FIT: FitSettings = FitSettings {
    steps: 30,
    lr: 0.02,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    latent_l2: 1e-4,
    init_std: 0.0,
};

/// xorshift64*: enough for reproducible weights.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn i8(&mut self) -> i8 {
        (((self.next() >> 32) % 255) as i32 - 127) as i8
    }
    /// Uniform in `[lo, hi)`.
    fn f32(&mut self, lo: f32, hi: f32) -> f32 {
        let u = (self.next() >> 40) as f32 / (1u64 << 24) as f32;
        lo + (hi - lo) * u
    }
}

/// One seed model's shape.
struct Spec {
    name: &'static str,
    input: InputKind,
    latent_dim: u32,
    hyper_hidden: &'static [u32],
    activation: HyperActivation,
    linear_path: bool,
    siren_hidden: &'static [u32],
    out_dim: u32,
    classes: u32,
    classifier_hidden: &'static [u32],
    latents: u32,
    golden: usize,
    points: usize,
    seed: u64,
}

/// Owned bytes of one int8 layer.
struct Layer {
    rows: u32,
    cols: u32,
    weights: Vec<u8>,
    scales: Vec<u8>,
    bias: Vec<u8>,
}

impl Layer {
    fn random(rng: &mut Rng, rows: u32, cols: u32) -> Layer {
        let weights: Vec<i8> = (0..rows * cols).map(|_| rng.i8()).collect();
        let scale = 1.0 / (127.0 * cols as f32);
        let scales: Vec<f32> = (0..rows).map(|_| rng.f32(0.5, 2.0) * scale).collect();
        let bias: Vec<f32> = (0..rows).map(|_| rng.f32(-0.1, 0.1)).collect();
        Layer {
            rows,
            cols,
            weights: i8_bytes(&weights),
            scales: f32_bytes(&scales),
            bias: f32_bytes(&bias),
        }
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

/// Layers `inputs → hidden… → outputs`.
fn mlp(rng: &mut Rng, inputs: u32, hidden: &[u32], outputs: u32) -> Vec<Layer> {
    let widths: Vec<u32> = std::iter::once(inputs)
        .chain(hidden.iter().copied())
        .chain(std::iter::once(outputs))
        .collect();
    widths
        .windows(2)
        .map(|p| Layer::random(rng, p[1], p[0]))
        .collect()
}

/// The shape `spec` describes with random weights, without golden vectors.
fn build(spec: &Spec) -> Vec<u8> {
    let mut rng = Rng(spec.seed);
    let in_dim = spec.input.coord_dim();
    let hidden: Vec<usize> = spec.siren_hidden.iter().map(|&w| w as usize).collect();
    let params = siren_param_count(in_dim as usize, &hidden, spec.out_dim as usize) as u32;
    let hypernet = mlp(&mut rng, spec.latent_dim, spec.hyper_hidden, params);
    let classifier = mlp(&mut rng, spec.latent_dim, spec.classifier_hidden, spec.classes);
    // Drawn here only for models that have one, so that the others keep their weights.
    let linear = spec
        .linear_path
        .then(|| Layer::random(&mut rng, params, spec.latent_dim));
    let l = spec.latent_dim as usize;
    let mean = f32_bytes(&(0..l).map(|_| rng.f32(-0.2, 0.2)).collect::<Vec<_>>());
    let inv_std = f32_bytes(&(0..l).map(|_| rng.f32(0.5, 4.0)).collect::<Vec<_>>());
    let n = spec.latents;
    let codes: Vec<i8> = (0..n as usize * l).map(|_| rng.i8()).collect();
    let codes = i8_bytes(&codes);
    let scales = f32_bytes(&(0..n).map(|_| rng.f32(0.001, 0.02)).collect::<Vec<_>>());
    let labels: Vec<u8> = (0..n).map(|i| (i % spec.classes) as u8).collect();
    let indices = u32_bytes(&(0..n).map(|i| 3 * i + 1).collect::<Vec<_>>());
    let class_names = (0..spec.classes)
        .map(|i| format!("c{i}"))
        .collect::<Vec<_>>()
        .join("\n");
    let file = ModelFile {
        config: ModelConfig {
            dataset: spec.name,
            input: spec.input,
            latent_dim: spec.latent_dim,
            hyper_hidden: spec.hyper_hidden.iter().copied().collect(),
            siren_hidden: spec.siren_hidden.iter().copied().collect(),
            omega0: 30.0,
            in_dim,
            out_dim: spec.out_dim,
            class_count: spec.classes,
            class_names: &class_names,
            hyper_activation: spec.activation,
            fit: FitSettings {
                steps: 30 + spec.seed as u32,
                ..FIT
            },
        },
        provenance: Provenance {
            source_commit: "fuzz-seed",
            seed: spec.seed,
            data_hash: "none",
            training_config: "{}",
        },
        hypernet: hypernet.iter().map(Layer::view).collect(),
        linear_path: linear.as_ref().map(Layer::view),
        classifier: Classifier {
            mean: F32Slice::new(&mean),
            inv_std: F32Slice::new(&inv_std),
            layers: classifier.iter().map(Layer::view).collect(),
        },
        latents: LatentStore {
            split: Split::Test,
            count: n,
            codes: I8Slice::new(&codes),
            scales: F32Slice::new(&scales),
            labels: &labels,
            dataset_indices: U32Slice::new(&indices),
        },
        golden: Default::default(),
    };
    let plain = file.to_bytes().expect("seed model is valid");
    if spec.golden == 0 {
        return plain;
    }
    let latents: Vec<(Vec<i8>, f32)> = (0..spec.golden)
        .map(|_| ((0..l).map(|_| rng.i8()).collect(), rng.f32(0.001, 0.02)))
        .collect();
    let coords: Vec<f32> = (0..spec.points * in_dim as usize)
        .map(|_| rng.f32(-1.0, 1.0))
        .collect();
    with_golden(&plain, &latents, &coords)
}

/// `plain` (a valid file) with golden vectors for `latents` at `coords`, computed by the
/// runtime.
fn with_golden(plain: &[u8], latents: &[(Vec<i8>, f32)], coords: &[f32]) -> Vec<u8> {
    assert!(latents.len() <= MAX_GOLDEN);
    let model = Model::from_bytes(plain).expect("plain seed parses");
    let goldens: Vec<_> = latents
        .iter()
        .map(|(codes, scale)| compute_golden(&model, codes, *scale, coords).expect("golden"))
        .collect();
    let owned: Vec<[Vec<u8>; 4]> = goldens
        .iter()
        .map(|g| {
            [
                i8_bytes(&g.codes),
                f32_bytes(&g.coords),
                f32_bytes(&g.outputs),
                f32_bytes(&g.logits),
            ]
        })
        .collect();
    let mut file = ModelFile::parse(plain).expect("plain seed parses");
    for (g, b) in goldens.iter().zip(&owned) {
        let v = GoldenVector {
            codes: I8Slice::new(&b[0]),
            scale: g.scale,
            weights_crc: g.weights_crc,
            coords: F32Slice::new(&b[1]),
            outputs: F32Slice::new(&b[2]),
            logits: F32Slice::new(&b[3]),
            class: g.class,
        };
        assert!(file.golden.push(v).is_ok());
    }
    file.to_bytes().expect("seed with golden vectors is valid")
}

const SPECS: &[Spec] = &[
    // 28×28 grayscale, the default shape scaled down.
    Spec {
        name: "image-28",
        input: InputKind::Image { width: 28, height: 28 },
        latent_dim: 8,
        hyper_hidden: &[16],
        activation: HyperActivation::Relu,
        linear_path: false,
        siren_hidden: &[8, 8],
        out_dim: 1,
        classes: 10,
        classifier_hidden: &[12],
        latents: 6,
        golden: 2,
        points: 4,
        seed: 1,
    },
    // Non-square RGB image, a single-layer hypernetwork and classifier.
    Spec {
        name: "image-rgb",
        input: InputKind::Image { width: 5, height: 3 },
        latent_dim: 4,
        hyper_hidden: &[],
        activation: HyperActivation::Relu,
        linear_path: false,
        siren_hidden: &[4],
        out_dim: 3,
        classes: 3,
        classifier_hidden: &[],
        latents: 3,
        golden: 1,
        points: 2,
        seed: 2,
    },
    // Point cloud, deeper networks everywhere.
    Spec {
        name: "points-3d",
        input: InputKind::PointCloud {
            udf_clamp: 0.1,
            sampler: QuerySampler::DEFAULT,
        },
        latent_dim: 6,
        hyper_hidden: &[10, 10],
        activation: HyperActivation::Relu,
        linear_path: false,
        siren_hidden: &[6, 6, 6],
        out_dim: 1,
        classes: 4,
        classifier_hidden: &[8, 8],
        latents: 5,
        golden: 3,
        points: 5,
        seed: 3,
    },
    // Point cloud, linear SIREN (no hidden layer), empty latent store.
    Spec {
        name: "points-linear",
        input: InputKind::PointCloud {
            udf_clamp: 0.25,
            sampler: QuerySampler::DEFAULT,
        },
        latent_dim: 3,
        hyper_hidden: &[4],
        activation: HyperActivation::Relu,
        linear_path: false,
        siren_hidden: &[],
        out_dim: 1,
        classes: 2,
        classifier_hidden: &[],
        latents: 0,
        golden: 1,
        points: 1,
        seed: 4,
    },
    // Every MLP at the maximum depth, the maximum class count.
    Spec {
        name: "image-deep",
        input: InputKind::Image { width: 4, height: 4 },
        latent_dim: 2,
        hyper_hidden: &[3; 7],
        activation: HyperActivation::Relu,
        linear_path: false,
        siren_hidden: &[2; 7],
        out_dim: 1,
        classes: 256,
        classifier_hidden: &[2; 7],
        latents: 2,
        golden: 1,
        points: 1,
        seed: 5,
    },
    // The widest SIREN output; a sampler of its own (`InputKind` variant 2 on the wire).
    Spec {
        name: "points-out16",
        input: InputKind::PointCloud {
            udf_clamp: 1.0,
            sampler: QuerySampler {
                sigmas: [0.005, 0.02, 0.2],
                uniform_fraction: 0.8,
                bound: 1.0,
            },
        },
        latent_dim: 2,
        hyper_hidden: &[4],
        activation: HyperActivation::Relu,
        linear_path: false,
        siren_hidden: &[3],
        out_dim: 16,
        classes: 2,
        classifier_hidden: &[3],
        latents: 1,
        golden: 2,
        points: 2,
        seed: 6,
    },
    // Image without golden vectors: self_test has nothing to check.
    Spec {
        name: "image-plain",
        input: InputKind::Image { width: 1, height: 7 },
        latent_dim: 5,
        hyper_hidden: &[6],
        activation: HyperActivation::Relu,
        linear_path: false,
        siren_hidden: &[5],
        out_dim: 2,
        classes: 5,
        classifier_hidden: &[4],
        latents: 4,
        golden: 0,
        points: 0,
        seed: 7,
    },
    // Format version 2: SiLU and a linear path (image), leaky ReLU and a linear path over a
    // deeper φ (point cloud), SiLU without one.
    Spec {
        name: "image-silu-linear",
        input: InputKind::Image { width: 6, height: 6 },
        latent_dim: 8,
        hyper_hidden: &[12],
        activation: HyperActivation::Silu,
        linear_path: true,
        siren_hidden: &[8],
        out_dim: 1,
        classes: 3,
        classifier_hidden: &[6],
        latents: 4,
        golden: 2,
        points: 3,
        seed: 8,
    },
    Spec {
        name: "points-leaky-linear",
        input: InputKind::PointCloud {
            udf_clamp: 0.1,
            sampler: QuerySampler::DEFAULT,
        },
        latent_dim: 4,
        hyper_hidden: &[8, 8],
        activation: HyperActivation::LeakyRelu,
        linear_path: true,
        siren_hidden: &[6, 6],
        out_dim: 1,
        classes: 2,
        classifier_hidden: &[],
        latents: 3,
        golden: 1,
        points: 4,
        seed: 9,
    },
    Spec {
        name: "image-silu",
        input: InputKind::Image { width: 3, height: 5 },
        latent_dim: 3,
        hyper_hidden: &[5, 5, 5],
        activation: HyperActivation::Silu,
        linear_path: false,
        siren_hidden: &[4],
        out_dim: 2,
        classes: 4,
        classifier_hidden: &[3],
        latents: 2,
        golden: 1,
        points: 2,
        seed: 10,
    },
];

fn main() {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "corpus/from_bytes".into()),
    );
    std::fs::create_dir_all(&dir).expect("create corpus directory");
    let example = ExampleModel::new();
    let example_plain = example.file().to_bytes().expect("example is valid");
    let example_golden = with_golden(
        &example_plain,
        &[(vec![2, -4], 0.5), (vec![-1, 3], 1.0)],
        &[0.1, 0.2, -0.7, 0.9, 0.3, -0.3],
    );
    let mut v2 = ExampleModel::new();
    v2.hyper_activation = HyperActivation::Silu;
    v2.linear_path = true;
    v2.refresh();
    let v2_plain = v2.file().to_bytes().expect("example is valid");
    let v2_golden = with_golden(
        &v2_plain,
        &[(vec![2, -4], 0.5), (vec![-1, 3], 1.0)],
        &[0.1, 0.2, -0.7, 0.9, 0.3, -0.3],
    );
    let mut seeds = vec![
        ("example".to_string(), example_plain),
        ("example-golden".to_string(), example_golden),
        ("example-silu-linear-golden".to_string(), v2_golden),
    ];
    seeds.extend(SPECS.iter().map(|s| (s.name.to_string(), build(s))));
    for (name, bytes) in &seeds {
        // Every seed must be accepted and pass its own self-test.
        let model = Model::from_bytes(bytes).expect("seed parses");
        let mut ws = hyperinr_runtime::WorkspaceBuf::new(&model);
        let checked = model
            .self_test(&mut ws.workspace())
            .expect("seed passes its self-test");
        let path = dir.join(format!("seed-{name}.hinr"));
        std::fs::write(&path, bytes).expect("write seed");
        println!("{} ({} bytes, {checked} golden vectors)", path.display(), bytes.len());
    }
}

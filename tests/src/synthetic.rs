//! Synthetic model files with the shapes of the real exports and seeded random int8 weights.
//!
//! They stand in for the trainer's MCU export (`models/fashion-mnist-mcu.hinr`) until it
//! exists, and keep exercising the point-cloud path. The arithmetic the parity tests
//! check does not care whether the weights were trained, only that every value is finite
//! and in the ranges a trained model has: the hypernetwork's last layer is initialised so
//! that it produces SIREN-initialisation-like parameters (DESIGN.md), so the SIREN's
//! pre-activations and images look like a real model's. Golden vectors come from
//! `hyperinr_runtime::compute_golden`, exactly as the trainer computes them.

use hyperinr_data::clouds::MODELNET10_CLASSES;
use hyperinr_runtime::{compute_golden, GoldenOwned, Model};
use hyperinr_shared::layout::{siren_init_bounds, siren_layer_dims};
use hyperinr_shared::write::{f32_bytes, i8_bytes, u32_bytes};
use hyperinr_shared::{
    Classifier, F32Slice, FitSettings, GoldenVector, HyperActivation, I8Slice, InputKind,
    LatentStore, ModelConfig, ModelFile, Provenance, QuantLinear, Split, U32Slice,
};

/// Shapes and seed of a synthetic model.
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    /// Written into `config.dataset`.
    pub dataset: String,
    /// Image or point cloud.
    pub input: InputKind,
    /// Latent code length.
    pub latent_dim: u32,
    /// Hypernetwork hidden widths.
    pub hyper_hidden: Vec<u32>,
    /// φ's hidden activation.
    pub hyper_activation: HyperActivation,
    /// Whether φ has a linear path `A z + a` beside the MLP.
    pub linear_path: bool,
    /// What `config.fit` records.
    pub fit: FitSettings,
    /// SIREN hidden widths.
    pub siren_hidden: Vec<u32>,
    /// ω0.
    pub omega0: f32,
    /// Class names (their count is the class count).
    pub class_names: Vec<String>,
    /// Classifier hidden widths.
    pub classifier_hidden: Vec<u32>,
    /// Stored latents.
    pub latent_count: u32,
    /// Golden vectors (at most `hyperinr_shared::MAX_GOLDEN`).
    pub golden_count: usize,
    /// Query points per golden vector.
    pub golden_points: usize,
    /// Fraction of stored labels equal to the model's own prediction (the rest random),
    /// so that the accuracy the firmware reports is neither 0 nor 100 %.
    pub label_agreement: f64,
    /// RNG seed.
    pub seed: u64,
}

const FASHION_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

impl Spec {
    /// FashionMNIST-shaped, as DESIGN.md sizes the MCU export: latent 64, hypernetwork
    /// 64-256-256-1185, SIREN 2-32-32-1, ω0 = 30, classifier 64-128-10, 1,000 latents.
    pub fn fashion_mnist() -> Spec {
        Spec {
            dataset: "synthetic-fashion-mnist".into(),
            input: InputKind::Image {
                width: 28,
                height: 28,
            },
            latent_dim: 64,
            hyper_hidden: vec![256, 256],
            hyper_activation: HyperActivation::Relu,
            linear_path: false,
            fit: DEFAULT_FIT,
            siren_hidden: vec![32, 32],
            omega0: 30.0,
            class_names: FASHION_CLASSES.iter().map(|s| s.to_string()).collect(),
            classifier_hidden: vec![128],
            latent_count: 1000,
            golden_count: 4,
            golden_points: 16,
            label_agreement: 0.85,
            seed: 0x4859_5045_5249_4E52, // "HYPERINR"
        }
    }

    /// A small ModelNet10-shaped point-cloud model: latent 32, hypernetwork 32-64-1153,
    /// SIREN 3-32-32-1 on the unsigned distance, 10 classes, 100 latents.
    pub fn point_cloud() -> Spec {
        Spec {
            dataset: "synthetic-modelnet10".into(),
            input: InputKind::PointCloud {
                udf_clamp: 0.1,
                sampler: hyperinr_shared::QuerySampler::DEFAULT,
            },
            latent_dim: 32,
            hyper_hidden: vec![64],
            hyper_activation: HyperActivation::Relu,
            linear_path: false,
            fit: DEFAULT_FIT,
            siren_hidden: vec![32, 32],
            omega0: 30.0,
            class_names: MODELNET10_CLASSES.iter().map(|s| s.to_string()).collect(),
            classifier_hidden: vec![64],
            latent_count: 100,
            golden_count: 3,
            golden_points: 8,
            label_agreement: 0.7,
            seed: 0x5043_4C4F_5544, // "PCLOUD"
        }
    }

    /// The FashionMNIST shape with φ = SiLU MLP + linear path (format version 2), its own
    /// seed, and fit settings other than the defaults (100 steps, lr 0.01).
    pub fn fashion_mnist_silu_linear() -> Spec {
        Spec {
            dataset: "synthetic-fashion-mnist-silu-linear".into(),
            hyper_activation: HyperActivation::Silu,
            linear_path: true,
            fit: FitSettings {
                steps: 100,
                lr: 0.01,
                ..DEFAULT_FIT
            },
            seed: 0x0053_494C_554C_494E, // "SILULIN"
            ..Spec::fashion_mnist()
        }
    }

    fn in_dim(&self) -> usize {
        self.input.coord_dim() as usize
    }
}

/// SplitMix64: small, seeded, the same on every platform.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in `[-a, a)`.
    pub fn symmetric(&mut self, a: f64) -> f32 {
        ((self.unit() * 2.0 - 1.0) * a) as f32
    }
    /// Uniform integer in `[0, n)`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// Uniform int8 in `[-127, 127]`.
fn int8(rng: &mut Rng) -> i8 {
    (rng.below(255) as i16 - 127) as i8
}

/// `hyperinr fit`'s defaults with the latents' Adam constants (trainer/src/train/latents.rs).
pub const DEFAULT_FIT: FitSettings = FitSettings {
    steps: 30,
    lr: 0.02,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    latent_l2: 1e-4,
    init_std: 0.0,
};

/// SIREN output width of every synthetic model (intensity, or unsigned distance).
const OUT_DIM: usize = 1;

/// Standard deviation of a uniform int8 in `[-127, 127]`.
const INT8_STD: f64 = 73.6;

/// A dense layer's arrays, owned.
#[derive(Clone, Debug)]
struct Layer {
    rows: u32,
    cols: u32,
    weights: Vec<u8>,
    scales: Vec<u8>,
    bias: Vec<u8>,
}

impl Layer {
    /// Random int8 weights with per-row scales giving weights of standard deviation
    /// `row_std[o]`, biases `bias[o]`.
    fn random(rng: &mut Rng, rows: usize, cols: usize, row_std: &[f64], bias: &[f32]) -> Layer {
        let q: Vec<i8> = (0..rows * cols).map(|_| int8(rng)).collect();
        let scales: Vec<f32> = row_std.iter().map(|s| (s / INT8_STD) as f32).collect();
        Layer {
            rows: rows as u32,
            cols: cols as u32,
            weights: i8_bytes(&q),
            scales: f32_bytes(&scales),
            bias: f32_bytes(bias),
        }
    }

    /// He-initialised hidden layer (ReLU follows).
    fn he(rng: &mut Rng, rows: usize, cols: usize) -> Layer {
        let std = (2.0 / cols as f64).sqrt();
        let bias: Vec<f32> = (0..rows).map(|_| rng.symmetric(0.05)).collect();
        Layer::random(rng, rows, cols, &vec![std; rows], &bias)
    }

    fn view(&self) -> QuantLinear<'_> {
        QuantLinear {
            rows: self.rows,
            cols: self.cols,
            weights: I8Slice(&self.weights),
            scales: F32Slice(&self.scales),
            bias: F32Slice(&self.bias),
        }
    }
}

/// A whole synthetic model's arrays; [`Owned::file`] borrows them as a [`ModelFile`].
#[derive(Clone, Debug)]
struct Owned {
    spec: Spec,
    class_names: String,
    training_config: String,
    hypernet: Vec<Layer>,
    linear: Option<Layer>,
    mean: Vec<u8>,
    inv_std: Vec<u8>,
    classifier: Vec<Layer>,
    codes: Vec<u8>,
    scales: Vec<u8>,
    labels: Vec<u8>,
    indices: Vec<u8>,
    golden: Vec<[Vec<u8>; 4]>,
    golden_meta: Vec<(f32, u32, u32)>,
}

impl Owned {
    fn file(&self) -> ModelFile<'_> {
        let s = &self.spec;
        let hv = |v: &[u32]| {
            let mut out = heapless::Vec::new();
            for &w in v {
                let _ = out.push(w);
            }
            out
        };
        fn layers(ls: &[Layer]) -> heapless::Vec<QuantLinear<'_>, { hyperinr_shared::MAX_LAYERS }> {
            let mut out = heapless::Vec::new();
            for l in ls {
                let _ = out.push(l.view());
            }
            out
        }
        let mut golden = heapless::Vec::new();
        for (arrays, &(scale, weights_crc, class)) in self.golden.iter().zip(&self.golden_meta) {
            let _ = golden.push(GoldenVector {
                codes: I8Slice(&arrays[0]),
                scale,
                weights_crc,
                coords: F32Slice(&arrays[1]),
                outputs: F32Slice(&arrays[2]),
                logits: F32Slice(&arrays[3]),
                class,
            });
        }
        ModelFile {
            config: ModelConfig {
                dataset: &s.dataset,
                input: s.input,
                latent_dim: s.latent_dim,
                hyper_hidden: hv(&s.hyper_hidden),
                siren_hidden: hv(&s.siren_hidden),
                omega0: s.omega0,
                in_dim: s.input.coord_dim(),
                out_dim: OUT_DIM as u32,
                class_count: s.class_names.len() as u32,
                class_names: &self.class_names,
                hyper_activation: s.hyper_activation,
                fit: s.fit,
            },
            provenance: Provenance {
                source_commit: "synthetic (hyperinr-tests)",
                seed: s.seed,
                data_hash: "none: seeded random weights",
                training_config: &self.training_config,
            },
            hypernet: layers(&self.hypernet),
            linear_path: self.linear.as_ref().map(Layer::view),
            classifier: Classifier {
                mean: F32Slice(&self.mean),
                inv_std: F32Slice(&self.inv_std),
                layers: layers(&self.classifier),
            },
            latents: LatentStore {
                split: Split::Test,
                count: s.latent_count,
                codes: I8Slice(&self.codes),
                scales: F32Slice(&self.scales),
                labels: &self.labels,
                dataset_indices: U32Slice(&self.indices),
            },
            golden,
        }
    }
}

/// SIREN initialisation range of each parameter, in the hypernetwork's output order
/// (per layer: weights row-major, then biases), from `siren_init_bounds` (the trainer's
/// initialisation), with a centre drawn in that range; the output bias is centred on 0.5
/// (mid-grey) for images and on half the clamp for distances.
fn siren_init(spec: &Spec, rng: &mut Rng) -> (Vec<f64>, Vec<f32>) {
    let mut ranges = Vec::new();
    let mut centres = Vec::new();
    let hidden: Vec<usize> = spec.siren_hidden.iter().map(|&w| w as usize).collect();
    let layers: Vec<(usize, usize)> = siren_layer_dims(spec.in_dim(), &hidden, OUT_DIM).collect();
    let last = layers.len() - 1;
    for (i, &(inputs, outputs)) in layers.iter().enumerate() {
        let (w, b) = siren_init_bounds(i, inputs, spec.omega0);
        let (w, b) = (f64::from(w), f64::from(b));
        for _ in 0..inputs * outputs {
            ranges.push(w);
            centres.push(rng.symmetric(w));
        }
        for _ in 0..outputs {
            ranges.push(b);
            let centre = match (i == last, spec.input) {
                (true, InputKind::Image { .. }) => 0.5,
                (true, InputKind::PointCloud { udf_clamp, .. }) => udf_clamp / 2.0,
                _ => rng.symmetric(b),
            };
            centres.push(centre);
        }
    }
    (ranges, centres)
}

/// A synthetic model file for `spec`: seeded random int8 weights, labels partly agreeing
/// with the model's own predictions, golden vectors from `compute_golden`.
///
/// ```
/// let bytes = hyperinr_tests::synthetic::model_bytes(&hyperinr_tests::synthetic::Spec::point_cloud());
/// let model = hyperinr_runtime::Model::from_bytes(&bytes).unwrap();
/// assert_eq!(model.latent_count(), 100);
/// ```
pub fn model_bytes(spec: &Spec) -> Vec<u8> {
    let mut rng = Rng::new(spec.seed);
    let latent = spec.latent_dim as usize;
    let classes = spec.class_names.len();
    let count = spec.latent_count as usize;

    // Hypernetwork: He-initialised hidden layers; the last layer's bias is a SIREN
    // initialisation and its weights perturb it by about half its range.
    let mut hypernet = Vec::new();
    let mut prev = latent;
    for &w in &spec.hyper_hidden {
        hypernet.push(Layer::he(&mut rng, w as usize, prev));
        prev = w as usize;
    }
    let (ranges, centres) = siren_init(spec, &mut rng);
    let row_std: Vec<f64> = ranges
        .iter()
        .map(|r| 0.5 * r / (prev as f64).sqrt())
        .collect();
    hypernet.push(Layer::random(
        &mut rng,
        ranges.len(),
        prev,
        &row_std,
        &centres,
    ));

    // Classifier on standardised latents.
    let mean: Vec<f32> = (0..latent).map(|_| rng.symmetric(0.05)).collect();
    let inv_std: Vec<f32> = (0..latent).map(|_| 1.6 + rng.symmetric(0.2)).collect();
    let mut classifier = Vec::new();
    let mut prev = latent;
    for &w in &spec.classifier_hidden {
        classifier.push(Layer::he(&mut rng, w as usize, prev));
        prev = w as usize;
    }
    let std = (1.0 / prev as f64).sqrt();
    let bias: Vec<f32> = (0..classes).map(|_| rng.symmetric(0.1)).collect();
    classifier.push(Layer::random(
        &mut rng,
        classes,
        prev,
        &vec![std; classes],
        &bias,
    ));

    // Latents: int8 codes, one scale each (|z| up to about 0.6).
    let codes: Vec<i8> = (0..count * latent).map(|_| int8(&mut rng)).collect();
    let scales: Vec<f32> = (0..count)
        .map(|_| ((0.4 + 0.4 * rng.unit()) / 127.0) as f32)
        .collect();
    let indices: Vec<u32> = (0..count as u32).map(|j| j * 7 % 10_000).collect();

    // Linear path (drawn last, so that models without one keep their weights): `A z`
    // perturbs each SIREN parameter by about a quarter of its range, `a` a little more.
    let linear = spec.linear_path.then(|| {
        let row_std: Vec<f64> = ranges
            .iter()
            .map(|r| 0.25 * r / (latent as f64).sqrt())
            .collect();
        let bias: Vec<f32> = ranges.iter().map(|&r| rng.symmetric(0.05 * r)).collect();
        Layer::random(&mut rng, ranges.len(), latent, &row_std, &bias)
    });

    let mut owned = Owned {
        spec: spec.clone(),
        class_names: spec.class_names.join("\n"),
        training_config: format!(
            "{{\"synthetic\":true,\"seed\":{},\"latent_dim\":{},\"hyper_hidden\":{:?},\"hyper_activation\":\"{}\",\"linear_path\":{},\"siren_hidden\":{:?},\"classifier_hidden\":{:?}}}",
            spec.seed, spec.latent_dim, spec.hyper_hidden, spec.hyper_activation.name(), spec.linear_path, spec.siren_hidden, spec.classifier_hidden
        ),
        hypernet,
        linear,
        mean: f32_bytes(&mean),
        inv_std: f32_bytes(&inv_std),
        classifier,
        codes: i8_bytes(&codes),
        scales: f32_bytes(&scales),
        labels: vec![0; count],
        indices: u32_bytes(&indices),
        golden: Vec::new(),
        golden_meta: Vec::new(),
    };

    // Pass 1 (labels 0, no golden vectors): the model's own predictions become the labels
    // of `label_agreement` of the latents; golden vectors from the runtime.
    let draft = owned
        .file()
        .to_bytes()
        .unwrap_or_else(|e| panic!("synthetic model does not validate: {e}"));
    let model = Model::from_bytes(&draft).unwrap_or_else(|e| panic!("synthetic model: {e}"));
    let mut z = vec![0.0f32; latent];
    let mut logits = vec![0.0f32; classes];
    let mut scratch = vec![0.0f32; model.sizes().scratch];
    for j in 0..count {
        model.stored_latent(j, &mut z).expect("stored latent");
        let class = model
            .classify(&z, &mut logits, &mut scratch)
            .expect("classify");
        owned.labels[j] = if rng.unit() < spec.label_agreement {
            class as u8
        } else {
            rng.below(classes as u64) as u8
        };
    }
    let in_dim = spec.in_dim();
    for k in 0..spec.golden_count {
        // Stored latents 0, 1, last…, and one fresh random latent.
        let (gcodes, gscale): (Vec<i8>, f32) = if k + 1 == spec.golden_count {
            ((0..latent).map(|_| int8(&mut rng)).collect(), 0.5 / 127.0)
        } else {
            let j = if k == 2 { count - 1 } else { k.min(count - 1) };
            (codes[j * latent..(j + 1) * latent].to_vec(), scales[j])
        };
        let coords: Vec<f32> = (0..spec.golden_points * in_dim)
            .map(|i| {
                // Half pixel centres (or grid-like values), half arbitrary points.
                if i < spec.golden_points * in_dim / 2 {
                    hyperinr_runtime::image_coord(rng.below(28) as u32, 28)
                } else {
                    rng.symmetric(1.0)
                }
            })
            .collect();
        let g: GoldenOwned =
            compute_golden(&model, &gcodes, gscale, &coords).expect("compute_golden");
        owned.golden.push([
            i8_bytes(&g.codes),
            f32_bytes(&g.coords),
            f32_bytes(&g.outputs),
            f32_bytes(&g.logits),
        ]);
        owned.golden_meta.push((g.scale, g.weights_crc, g.class));
    }
    let bytes = owned.file().to_bytes();
    bytes.unwrap_or_else(|e| panic!("synthetic model does not validate: {e}"))
}

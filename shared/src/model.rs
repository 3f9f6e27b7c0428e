//! The payload's sections. Each struct borrows its arrays from the blob.

use crate::slices::{F32Slice, I8Slice, U32Slice};
use serde::{Deserialize, Serialize};

/// Most hidden layers in the hypernetwork, the SIREN or the classifier.
pub const MAX_HIDDEN_LAYERS: usize = 7;
/// Most layers of an MLP (hidden layers + output layer).
pub const MAX_LAYERS: usize = MAX_HIDDEN_LAYERS + 1;
/// Most golden vectors in a file.
pub const MAX_GOLDEN: usize = 8;
/// Largest latent dimension, layer width, or point count accepted.
pub const MAX_WIDTH: u32 = 1 << 16;
/// Largest image width or height.
pub const MAX_IMAGE_SIDE: u32 = 4096;
/// Most classes.
pub const MAX_CLASSES: u32 = 256;
/// Largest SIREN output width.
pub const MAX_OUT_DIM: u32 = 16;

/// How the query points of a shape are drawn, in training and when a new shape is fitted
/// (the runtime's `udf_queries`): near-surface queries first, a cloud point plus
/// `σ · N(0, 1)` per coordinate with σ taking turns through `sigmas`, then the
/// `uniform_fraction` share (rounded to nearest) uniform in `[−bound, bound]³`.
///
/// A latent is only as good as the queries it was fitted on: a shape fitted with another
/// sampler than its model's training gets a latent from another distribution, which the
/// classifier was not trained on. Hence the file records the sampler.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuerySampler {
    /// Standard deviations of the near-surface queries (finite, > 0), taking turns.
    pub sigmas: [f32; 3],
    /// Share of uniform queries (finite, in `[0, 1]`).
    pub uniform_fraction: f32,
    /// Half the side of the cube of uniform queries (finite, > 0).
    pub bound: f32,
}

impl QuerySampler {
    /// The trainer's default: σ 0.01, 0.03, 0.1 and 20 % uniform in `[−1.1, 1.1]³`. A
    /// point-cloud model with this sampler is written as `InputKind` variant 1, as before
    /// the sampler was recorded.
    pub const DEFAULT: QuerySampler = QuerySampler {
        sigmas: [0.01, 0.03, 0.1],
        uniform_fraction: 0.2,
        bound: 1.1,
    };
}

/// What the SIREN's input coordinates are.
///
/// On the wire (postcard) a point cloud is variant 1 `{ udf_clamp }` when its sampler is
/// [`QuerySampler::DEFAULT`] (every file written before the sampler was recorded reads as
/// such) and variant 2 `{ udf_clamp, sampler }` otherwise, which only format version 3
/// holds; see `FORMAT.md` §2.1.
///
/// ```
/// use hyperinr_shared::{InputKind, QuerySampler};
/// let default = InputKind::PointCloud { udf_clamp: 0.1, sampler: QuerySampler::DEFAULT };
/// let mut buf = [0u8; 32];
/// let bytes = postcard::to_slice(&default, &mut buf).unwrap();
/// assert_eq!(bytes, [1, 0xcd, 0xcc, 0xcc, 0x3d]); // variant 1, clamp 0.1
/// let mut wide = default;
/// if let InputKind::PointCloud { sampler, .. } = &mut wide {
///     sampler.uniform_fraction = 0.8;
/// }
/// let bytes = postcard::to_slice(&wide, &mut buf).unwrap();
/// assert_eq!((bytes[0], bytes.len()), (2, 25)); // variant 2: clamp, 3 σ, share, bound
/// assert_eq!(postcard::from_bytes::<InputKind>(bytes).unwrap(), wide);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "InputKindWire", into = "InputKindWire")]
pub enum InputKind {
    /// A grayscale image; coordinates are pixel centres `(2i+1)/n − 1` in `[-1, 1]²`
    /// (x = column, y = row), the output is intensity in `[0, 1]`.
    Image {
        /// Pixels per row.
        width: u32,
        /// Rows.
        height: u32,
    },
    /// A 3-D shape in the unit sphere; the output is the unsigned distance to the surface,
    /// clamped at `udf_clamp`.
    PointCloud {
        /// Distances above this were clamped in training.
        udf_clamp: f32,
        /// How training drew the query points, and how a new shape's are drawn.
        sampler: QuerySampler,
    },
}

/// [`InputKind`] as postcard writes it: variant 1 keeps the files written before the
/// sampler was recorded readable byte for byte.
#[derive(Clone, Copy, Serialize, Deserialize)]
enum InputKindWire {
    Image {
        width: u32,
        height: u32,
    },
    DefaultPointCloud {
        udf_clamp: f32,
    },
    PointCloud {
        udf_clamp: f32,
        sampler: QuerySampler,
    },
}

/// Variant 2 carrying the default sampler is refused (a decode error): every model has one
/// encoding, and variant 2 only in format version 3.
impl TryFrom<InputKindWire> for InputKind {
    type Error = &'static str;

    fn try_from(wire: InputKindWire) -> Result<Self, Self::Error> {
        Ok(match wire {
            InputKindWire::Image { width, height } => InputKind::Image { width, height },
            InputKindWire::DefaultPointCloud { udf_clamp } => InputKind::PointCloud {
                udf_clamp,
                sampler: QuerySampler::DEFAULT,
            },
            InputKindWire::PointCloud { sampler, .. } if sampler == QuerySampler::DEFAULT => {
                return Err("the default query sampler is written as variant 1")
            }
            InputKindWire::PointCloud { udf_clamp, sampler } => {
                InputKind::PointCloud { udf_clamp, sampler }
            }
        })
    }
}

impl From<InputKind> for InputKindWire {
    fn from(input: InputKind) -> Self {
        match input {
            InputKind::Image { width, height } => InputKindWire::Image { width, height },
            InputKind::PointCloud { udf_clamp, sampler } if sampler == QuerySampler::DEFAULT => {
                InputKindWire::DefaultPointCloud { udf_clamp }
            }
            InputKind::PointCloud { udf_clamp, sampler } => {
                InputKindWire::PointCloud { udf_clamp, sampler }
            }
        }
    }
}

impl InputKind {
    /// Coordinate dimension this kind implies.
    ///
    /// ```
    /// use hyperinr_shared::{InputKind, QuerySampler};
    /// assert_eq!(InputKind::Image { width: 28, height: 28 }.coord_dim(), 2);
    /// let cloud = InputKind::PointCloud { udf_clamp: 0.1, sampler: QuerySampler::DEFAULT };
    /// assert_eq!(cloud.coord_dim(), 3);
    /// ```
    pub const fn coord_dim(&self) -> u32 {
        match self {
            InputKind::Image { .. } => 2,
            InputKind::PointCloud { .. } => 3,
        }
    }
}

/// φ's hidden activation: applied after every hypernetwork layer but the last.
///
/// Encoded as a postcard enum (varint variant index: 0, 1, 2). The runtime computes, in
/// `f32`:
///
/// - `Relu`: `x` if `x > 0`, else `0` (NaN gives 0);
/// - `LeakyRelu`: `x` if `x > 0`, else `0.01 · x` ([`HyperActivation::LEAKY_SLOPE`], the
///   `f32` nearest 0.01);
/// - `Silu`: `x · σ(x)`, computed as `x / (1 + expf(−x))` with libm's `expf` (one division,
///   one addition, no fused multiply–add; `expf` overflows to +∞ below x ≈ −88.7, where the
///   result is `−0.0`).
///
/// In JSON (the trainer's run configuration) the variants are named as [`Self::name`] says;
/// postcard, the model file's encoding, stores the variant index only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[serde(rename_all = "kebab-case")]
pub enum HyperActivation {
    /// `max(0, x)`.
    #[default]
    Relu,
    /// `x` for `x > 0`, else `0.01 · x`.
    LeakyRelu,
    /// `x / (1 + e^(−x))`.
    Silu,
}

impl HyperActivation {
    /// Every activation, in variant order.
    pub const ALL: [HyperActivation; 3] = [
        HyperActivation::Relu,
        HyperActivation::LeakyRelu,
        HyperActivation::Silu,
    ];

    /// The slope of [`HyperActivation::LeakyRelu`] for `x ≤ 0`.
    pub const LEAKY_SLOPE: f32 = 0.01;

    /// The name the trainer's CLI and `hyperinr inspect` use.
    ///
    /// ```
    /// assert_eq!(hyperinr_shared::HyperActivation::LeakyRelu.name(), "leaky-relu");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            HyperActivation::Relu => "relu",
            HyperActivation::LeakyRelu => "leaky-relu",
            HyperActivation::Silu => "silu",
        }
    }
}

/// How the stored latents were fitted (`hyperinr fit`: Adam on each latent with φ frozen),
/// so that a device or a later tool can fit new samples the same way.
///
/// Each latent starts from `init_std · N(0, 1)` (0: from zero) and takes `steps` Adam steps
/// (`lr`, `beta1`, `beta2`, `eps`, bias-corrected moments) on its own loss: the mean squared
/// reconstruction error over its points plus `latent_l2 · mean(z²)`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FitSettings {
    /// Adam steps per latent (≥ 1).
    pub steps: u32,
    /// Adam learning rate (finite, > 0).
    pub lr: f32,
    /// Adam's first-moment decay (finite, in `[0, 1)`).
    pub beta1: f32,
    /// Adam's second-moment decay (finite, in `[0, 1)`).
    pub beta2: f32,
    /// Adam's ε, added to `√v̂` (finite, > 0).
    pub eps: f32,
    /// Weight of the latent's mean squared value in the loss (finite, ≥ 0).
    pub latent_l2: f32,
    /// Standard deviation of the initial latent (finite, ≥ 0; 0 = start at zero).
    pub init_std: f32,
}

/// Shapes and names: everything needed to interpret the rest of the file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig<'a> {
    /// Dataset the model was trained on, e.g. `fashion-mnist`, `modelnet40`.
    pub dataset: &'a str,
    /// What the SIREN's coordinates mean.
    pub input: InputKind,
    /// Latent code length `l`.
    pub latent_dim: u32,
    /// Hypernetwork hidden widths (`hyper_activation` after each).
    pub hyper_hidden: heapless::Vec<u32, MAX_HIDDEN_LAYERS>,
    /// SIREN hidden widths (sine after each).
    pub siren_hidden: heapless::Vec<u32, MAX_HIDDEN_LAYERS>,
    /// ω0: every sine layer computes `sin(ω0 · (W x + b))`.
    pub omega0: f32,
    /// SIREN input width (2 for images, 3 for shapes).
    pub in_dim: u32,
    /// SIREN output width.
    pub out_dim: u32,
    /// Number of classes.
    pub class_count: u32,
    /// Class names separated by `\n`, exactly `class_count` of them, none empty.
    pub class_names: &'a str,
    /// φ's hidden activation (format version 2).
    pub hyper_activation: HyperActivation,
    /// How the stored latents were fitted (format version 2).
    pub fit: FitSettings,
}

/// Where the model came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance<'a> {
    /// `git` commit of the trainer source (with `-dirty` when the tree had changes).
    pub source_commit: &'a str,
    /// Seed of the training run.
    pub seed: u64,
    /// Hex SHA-256 of the training data as the trainer read it.
    pub data_hash: &'a str,
    /// The training configuration as JSON.
    pub training_config: &'a str,
}

/// A dense layer with int8 weights: `y[o] = (Σ_i q[o][i] · x[i]) · scale[o] + bias[o]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuantLinear<'a> {
    /// Output width.
    pub rows: u32,
    /// Input width.
    pub cols: u32,
    /// `rows × cols` int8 weights, row-major.
    #[serde(borrow)]
    pub weights: I8Slice<'a>,
    /// One `f32` scale per row.
    #[serde(borrow)]
    pub scales: F32Slice<'a>,
    /// One `f32` bias per row.
    #[serde(borrow)]
    pub bias: F32Slice<'a>,
}

/// MLP on standardised latents: `x = (z − mean) · inv_std`, ReLU between layers, logits out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classifier<'a> {
    /// Per-dimension mean of the training latents (`latent_dim` values).
    #[serde(borrow)]
    pub mean: F32Slice<'a>,
    /// Per-dimension reciprocal standard deviation (`latent_dim` values).
    #[serde(borrow)]
    pub inv_std: F32Slice<'a>,
    /// Layers, the last one producing `class_count` logits.
    #[serde(borrow)]
    pub layers: heapless::Vec<QuantLinear<'a>, MAX_LAYERS>,
}

/// Which dataset split stored latents come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Split {
    /// Training split (validation part excluded).
    Train,
    /// Validation part held out of the training split.
    Validation,
    /// The official test split.
    Test,
}

/// Int8 latent codes of a set of samples, each with its own scale.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatentStore<'a> {
    /// The split the samples come from.
    pub split: Split,
    /// Number of latents.
    pub count: u32,
    /// `count × latent_dim` int8 codes, row-major.
    #[serde(borrow)]
    pub codes: I8Slice<'a>,
    /// One `f32` scale per latent: `z[j] = codes[j] · scale`.
    #[serde(borrow)]
    pub scales: F32Slice<'a>,
    /// One class id per latent.
    #[serde(borrow)]
    pub labels: &'a [u8],
    /// Each latent's index in its split, in dataset order.
    #[serde(borrow)]
    pub dataset_indices: U32Slice<'a>,
}

/// One latent with the bits the runtime must reproduce from it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GoldenVector<'a> {
    /// `latent_dim` int8 codes.
    #[serde(borrow)]
    pub codes: I8Slice<'a>,
    /// The latent's scale.
    pub scale: f32,
    /// CRC-32 of the decoded SIREN parameters as little-endian `f32` bytes.
    pub weights_crc: u32,
    /// Query points, `in_dim` values each.
    #[serde(borrow)]
    pub coords: F32Slice<'a>,
    /// Expected SIREN outputs, `out_dim` per point.
    #[serde(borrow)]
    pub outputs: F32Slice<'a>,
    /// Expected classifier logits (`class_count`).
    #[serde(borrow)]
    pub logits: F32Slice<'a>,
    /// Expected class.
    pub class: u32,
}

/// A whole model file's payload, in section order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelFile<'a> {
    /// Section `config`.
    #[serde(borrow)]
    pub config: ModelConfig<'a>,
    /// Section `provenance`.
    #[serde(borrow)]
    pub provenance: Provenance<'a>,
    /// Section `hypernet`: latent → hidden (`config.hyper_activation`) … → SIREN
    /// parameters (no activation).
    #[serde(borrow)]
    pub hypernet: heapless::Vec<QuantLinear<'a>, MAX_LAYERS>,
    /// Section `linear_path` (format version 2): `A z + a` (rows = SIREN parameter count,
    /// cols = `latent_dim`, its own bias), added to the hypernetwork's output when present.
    #[serde(borrow)]
    pub linear_path: Option<QuantLinear<'a>>,
    /// Section `classifier`.
    #[serde(borrow)]
    pub classifier: Classifier<'a>,
    /// Section `latents`.
    #[serde(borrow)]
    pub latents: LatentStore<'a>,
    /// Section `golden`.
    #[serde(borrow)]
    pub golden: heapless::Vec<GoldenVector<'a>, MAX_GOLDEN>,
}

impl<'a> ModelConfig<'a> {
    /// Class name `i`, or `None` past the end.
    ///
    /// ```
    /// # use hyperinr_shared::{ModelConfig, InputKind, FitSettings};
    /// # let fit = FitSettings { steps: 30, lr: 0.02, beta1: 0.9, beta2: 0.999, eps: 1e-8,
    /// #   latent_l2: 1e-4, init_std: 0.0 };
    /// # let mut c = ModelConfig { dataset: "d", input: InputKind::Image { width: 2, height: 2 },
    /// #   latent_dim: 1, hyper_hidden: Default::default(), siren_hidden: Default::default(),
    /// #   omega0: 30.0, in_dim: 2, out_dim: 1, class_count: 2, class_names: "",
    /// #   hyper_activation: Default::default(), fit };
    /// c.class_names = "cat\ndog";
    /// assert_eq!(c.class_name(1), Some("dog"));
    /// assert_eq!(c.class_name(2), None);
    /// ```
    pub fn class_name(&self, i: usize) -> Option<&'a str> {
        self.class_names.split('\n').nth(i)
    }

    /// Number of SIREN parameters the hypernetwork must produce.
    pub fn siren_param_count(&self) -> usize {
        let mut hidden = [0usize; MAX_HIDDEN_LAYERS];
        let n = self.siren_hidden.len().min(MAX_HIDDEN_LAYERS);
        for (slot, &w) in hidden.iter_mut().zip(self.siren_hidden.iter()) {
            *slot = w as usize;
        }
        crate::layout::siren_param_count(
            self.in_dim as usize,
            hidden.get(..n).unwrap_or(&[]),
            self.out_dim as usize,
        )
    }

    /// The SIREN's layers as `(inputs, outputs)` pairs, first to last
    /// ([`crate::layout::siren_layer_dims`] of this config's widths).
    pub fn siren_layers(&self) -> impl Iterator<Item = (usize, usize)> + Clone + '_ {
        crate::layout::layer_pairs(
            self.in_dim as usize,
            self.siren_hidden.iter().map(|&w| w as usize),
            self.out_dim as usize,
        )
    }
}

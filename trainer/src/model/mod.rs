//! The HyperINR model in burn: the hypernetwork φ and the batched SIREN it parameterises.

pub mod classifier;
mod linear;

pub use linear::{linear_from_rows, linear_from_values, LinearRows};

use burn::config::Config;
use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::backend::Backend;
use burn::tensor::{activation, Tensor, TensorData};
use hyperinr_shared::layout::{siren_init_bounds, siren_layer_dims};
use rand::{Rng, SeedableRng};

/// Shapes of the hypernetwork and the SIREN (everything the model file's config holds).
#[derive(Config, Debug, PartialEq)]
pub struct HyperInrConfig {
    /// Latent code length.
    #[config(default = 64)]
    pub latent_dim: usize,
    /// Hypernetwork hidden widths (ReLU).
    #[config(default = "vec![256, 256]")]
    pub hyper_hidden: Vec<usize>,
    /// SIREN hidden widths (sine).
    #[config(default = "vec![32, 32]")]
    pub siren_hidden: Vec<usize>,
    /// ω0 of every sine layer.
    #[config(default = 30.0)]
    pub omega0: f32,
    /// SIREN input width (2: pixel coordinates).
    #[config(default = 2)]
    pub in_dim: usize,
    /// SIREN output width (1: intensity).
    #[config(default = 1)]
    pub out_dim: usize,
    /// Scale of the hypernetwork's last weight matrix relative to each SIREN parameter's
    /// initial range: small, so that φ(z ≈ 0) is close to the SIREN initialisation in the bias.
    #[config(default = 0.1)]
    pub last_layer_scale: f32,
    /// φ's hidden activation.
    #[config(default = "HyperActivation::Relu")]
    pub hyper_activation: HyperActivation,
    /// A linear path from the latent to the SIREN parameters beside the MLP:
    /// φ(z) = A z + MLP(z). Every latent direction then moves the SIREN (∂φ/∂z ⊇ A).
    #[config(default = false)]
    pub linear_path: bool,
    /// Classes of an auxiliary linear classification head on the latents, trained jointly
    /// (0: none). Training only: it shapes the latents, it is never exported.
    #[config(default = 0)]
    pub aux_classes: usize,
}

/// φ's hidden activation: the model file's enum (`hyperinr_shared::HyperActivation`), whose
/// kebab-case names (`relu`, `leaky-relu`, `silu`) the CLI and the run's JSON use.
pub use hyperinr_shared::HyperActivation;

/// `--hyper-activation`: one of [`HyperActivation::ALL`]'s names.
pub fn parse_activation(name: &str) -> Result<HyperActivation, String> {
    HyperActivation::ALL
        .into_iter()
        .find(|a| a.name() == name)
        .ok_or_else(|| {
            let names: Vec<_> = HyperActivation::ALL.iter().map(|a| a.name()).collect();
            format!("`{name}` is not one of {}", names.join(", "))
        })
}

/// Applies φ's hidden activation to a burn tensor (the runtime's is its f32 twin).
pub fn activate<B: Backend, const D: usize>(a: HyperActivation, x: Tensor<B, D>) -> Tensor<B, D> {
    match a {
        HyperActivation::Relu => activation::relu(x),
        HyperActivation::LeakyRelu => {
            activation::leaky_relu(x, f64::from(HyperActivation::LEAKY_SLOPE))
        }
        HyperActivation::Silu => activation::silu(x),
    }
}

impl HyperInrConfig {
    /// SIREN layers as `(inputs, outputs)` (`hyperinr_shared::layout::siren_layer_dims`).
    pub fn siren_layers(&self) -> Vec<(usize, usize)> {
        siren_layer_dims(self.in_dim, &self.siren_hidden, self.out_dim).collect()
    }

    /// Number of SIREN parameters.
    pub fn siren_params(&self) -> usize {
        self.siren_layers().iter().map(|(i, o)| i * o + o).sum()
    }

    /// A SIREN initialisation (Sitzmann et al.; the bounds are
    /// `hyperinr_shared::layout::siren_init_bounds`, shared with the tests' synthetic
    /// models): returns a sample drawn uniformly in each parameter's range and the half-range.
    pub fn siren_init(&self, rng: &mut impl Rng) -> (Vec<f32>, Vec<f32>) {
        let mut values = Vec::with_capacity(self.siren_params());
        let mut bounds = Vec::with_capacity(self.siren_params());
        for (l, (i, o)) in self.siren_layers().into_iter().enumerate() {
            let (w_bound, b_bound) = siren_init_bounds(l, i, self.omega0);
            for (count, bound) in [(i * o, w_bound), (o, b_bound)] {
                for _ in 0..count {
                    values.push(rng.random_range(-bound..bound));
                    bounds.push(bound);
                }
            }
        }
        (values, bounds)
    }

    /// A freshly initialised hypernetwork (deterministic for `seed`).
    pub fn init<B: Backend>(&self, seed: u64, device: &B::Device) -> HyperNet<B> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut dims = vec![self.latent_dim];
        dims.extend(&self.hyper_hidden);
        let mut layers = Vec::new();
        for (k, w) in dims.windows(2).enumerate() {
            let (i, o) = (w[0], w[1]);
            // Kaiming-uniform for ReLU layers.
            let bound = (6.0 / i as f32).sqrt();
            let weight: Vec<f32> = (0..i * o)
                .map(|_| rng.random_range(-bound..bound))
                .collect();
            let b_bound = 1.0 / (i as f32).sqrt();
            let bias: Vec<f32> = (0..o)
                .map(|_| rng.random_range(-b_bound..b_bound))
                .collect();
            layers.push(linear_from_values(k as u64, &weight, &bias, i, o, device));
        }
        let last_in = *dims.last().unwrap_or(&self.latent_dim);
        let (bias, bounds) = self.siren_init(&mut rng);
        let p = bias.len();
        let mut weight = vec![0.0f32; last_in * p];
        let fan = 1.0 / (last_in as f32).sqrt();
        for r in 0..last_in {
            for (c, b) in bounds.iter().enumerate() {
                weight[r * p + c] =
                    rng.random_range(-1.0f32..1.0) * fan * self.last_layer_scale * b;
            }
        }
        layers.push(linear_from_values(
            (dims.len() - 1) as u64,
            &weight,
            &bias,
            last_in,
            p,
            device,
        ));
        // The linear path starts like the last layer: small against the SIREN's ranges.
        let linear = self.linear_path.then(|| {
            let fan = 1.0 / (self.latent_dim as f32).sqrt();
            let weight: Vec<f32> = (0..self.latent_dim * p)
                .map(|k| {
                    rng.random_range(-1.0f32..1.0) * fan * self.last_layer_scale * bounds[k % p]
                })
                .collect();
            linear_from_values(
                LINEAR_PATH_ID,
                &weight,
                &vec![0.0; p],
                self.latent_dim,
                p,
                device,
            )
        });
        let aux_head = (self.aux_classes > 0).then(|| {
            let bound = 1.0 / (self.latent_dim as f32).sqrt();
            let weight: Vec<f32> = (0..self.latent_dim * self.aux_classes)
                .map(|_| rng.random_range(-bound..bound))
                .collect();
            let bias = vec![0.0; self.aux_classes];
            linear_from_values(
                AUX_HEAD_ID,
                &weight,
                &bias,
                self.latent_dim,
                self.aux_classes,
                device,
            )
        });
        HyperNet {
            layers,
            linear,
            aux_head,
            activation: self.hyper_activation,
        }
    }
}

/// Layer id of the linear path (parameter ids 2·id, 2·id + 1), far from the MLP's.
const LINEAR_PATH_ID: u64 = 1000;
/// Layer id of the auxiliary classification head.
const AUX_HEAD_ID: u64 = 1001;

/// φ: latent → SIREN parameters. The activation after every layer but the last; with a
/// linear path, `A z` added to the last layer's output.
#[derive(Module, Debug)]
pub struct HyperNet<B: Backend> {
    /// The layers, first to last.
    pub layers: Vec<Linear<B>>,
    /// The linear path `A` (latent → SIREN parameters) with its own bias, starting at zero;
    /// the model file stores it as its own layer.
    pub linear: Option<Linear<B>>,
    /// Training only: an auxiliary linear classifier on the latents (`aux_classes` logits).
    pub aux_head: Option<Linear<B>>,
    /// The hidden activation.
    #[module(skip)]
    pub activation: HyperActivation,
}

impl<B: Backend> HyperNet<B> {
    /// SIREN parameters `[n, params]` for latents `[n, latent_dim]`.
    pub fn forward(&self, z: Tensor<B, 2>) -> Tensor<B, 2> {
        let mlp = self.output_layer().forward(self.last_hidden(z.clone()));
        match &self.linear {
            Some(a) => mlp + a.forward(z),
            None => mlp,
        }
    }

    /// The input of the last layer `[n, width]`: every layer but the last, each with the
    /// activation.
    pub fn last_hidden(&self, z: Tensor<B, 2>) -> Tensor<B, 2> {
        let mut x = z;
        for layer in &self.layers[..self.layers.len() - 1] {
            x = activate(self.activation, layer.forward(x));
        }
        x
    }

    /// The last layer (linear: its outputs are the SIREN parameters).
    pub fn output_layer(&self) -> &Linear<B> {
        &self.layers[self.layers.len() - 1]
    }
}

/// SIREN forward for a batch of parameter vectors `params` `[b, P]` at `coords`
/// (`[1, in, m]`, feature-major and shared by the batch): returns `[b, out, m]`.
///
/// Each layer reads its `out × in` row-major weights and `out` biases from the flat
/// parameter vector in the model file's order; every layer but the last is
/// `sin(ω0 (W x + b))`. Activations are kept feature-major (`[b, width, m]`) so that the
/// row-major weights multiply from the left without a transpose.
pub fn siren_forward<B: Backend>(
    config: &HyperInrConfig,
    params: Tensor<B, 2>,
    coords: Tensor<B, 3>,
) -> Tensor<B, 3> {
    let [b, p] = params.dims();
    let layers = config.siren_layers();
    let last = layers.len() - 1;
    // sin(ω0 (W x + b)) = sin((ω0 W) x + ω0 b): scaling the [b, P] parameters once is far
    // cheaper than scaling every [b, width, m] pre-activation.
    let mut scale = vec![config.omega0; p];
    let (li, lo) = layers[last];
    for s in &mut scale[p - (li * lo + lo)..] {
        *s = 1.0;
    }
    let scale = Tensor::<B, 2>::from_data(TensorData::new(scale, [1, p]), &params.device());
    let params = params * scale;
    let mut x = coords;
    let mut offset = 0;
    for (l, (i, o)) in layers.into_iter().enumerate() {
        let w = params
            .clone()
            .slice([0..b, offset..offset + i * o])
            .reshape([b, o, i]);
        let bias = params
            .clone()
            .slice([0..b, offset + i * o..offset + i * o + o])
            .reshape([b, o, 1]);
        offset += i * o + o;
        let pre = w.matmul(x) + bias;
        x = if l < last { pre.sin() } else { pre };
    }
    x
}

/// Pixel-centre coordinates of a `width × height` image, row-major, feature-major
/// (`[2, w·h]`: the x row, then the y row); the values come from the runtime so that trainer
/// and runtime agree exactly.
pub fn image_coord_values(width: usize, height: usize) -> Vec<f32> {
    let mut xs = Vec::with_capacity(width * height * 2);
    let mut ys = Vec::with_capacity(width * height);
    for r in 0..height as u32 {
        for c in 0..width as u32 {
            xs.push(hyperinr_runtime::image_coord(c, width as u32));
            ys.push(hyperinr_runtime::image_coord(r, height as u32));
        }
    }
    xs.extend(ys);
    xs
}

/// [`image_coord_values`] as a `[1, 2, w·h]` tensor.
pub fn image_coords<B: Backend>(width: usize, height: usize, device: &B::Device) -> Tensor<B, 3> {
    Tensor::from_data(
        TensorData::new(image_coord_values(width, height), [1, 2, width * height]),
        device,
    )
}

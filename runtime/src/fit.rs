//! Test-time fitting on the device: a latent for a sample nobody fitted, with φ frozen.
//!
//! [`Model::fit_latent`] minimises, over the latent `z` alone, the sample's own loss
//!
//! ```text
//! L(z) = (1 / (M · d)) Σ_points Σ_k (f_φ(z)(x)_k − t_k)²  +  λ · Σ_j z_j²
//! ```
//!
//! (`M` observed points, `d` = `out_dim`, λ = [`FitSettings::latent_l2`]) with Adam, as the
//! trainer's batched fit does for each sample of a batch. The gradient is analytic: through
//! the SIREN (sine layers `sin(ω0 · (W x + b))`, accumulated point by point, so RAM does not
//! grow with `M`) into its parameters, then through φ's int8 layers (transposed) and
//! hidden activation, and the linear path, into `z`.
//!
//! Numeric contract, as for inference: `f32` only, int8 dequantised as `q as f32 * scale`,
//! every sum from `0.0` in a fixed order (points ascending; inputs ascending; in a
//! transposed product, rows ascending), no fused multiply–add; the forward pass is
//! [`Model::decode_weights`] and the SIREN of [`Model::eval_siren`] bit for bit; the sine
//! layers' derivative uses [`cosine`](crate::cosine), Adam's square root `libm::sqrtf`
//! (correctly rounded), SiLU's derivative `libm::expf`. Host and Cortex-M4F produce the
//! same latent bits.

use crate::error::{Buffer, Error};
use crate::model::{at_least, exact, Model};
use crate::nn::{activate, add_linear, cosine, image_coord, quant_linear, sine};
use crate::queries::SplitMix64;
use hyperinr_shared::{FitSettings, HyperActivation, InputKind, QuantLinear, U32Slice, MAX_LAYERS};

/// Seed of the generator that draws the initial latent when
/// [`FitSettings::init_std`] is positive (the trainer's files record 0: start at zero).
pub const INIT_SEED: u64 = 0x4849_4E52_4649_5400;

/// One sample as observed on the device.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Observation<'a> {
    /// An image model's sample: every pixel as an 8-bit intensity, row-major (`width ×
    /// height` bytes; the target of pixel `p` is `p as f32 / 255.0`), and which of them
    /// the fit looks at.
    Image {
        /// `width × height` intensities.
        pixels: &'a [u8],
        /// The pixels the loss is taken over.
        fitted: PixelSet<'a>,
    },
    /// A point-cloud model's sample: query points and their target (unsigned, clamped)
    /// distances, e.g. from [`udf_queries`](crate::udf_queries).
    Points {
        /// `3 × M` coordinates, point-major.
        coords: &'a [f32],
        /// `M × out_dim` targets.
        targets: &'a [f32],
    },
}

/// Which pixels of an [`Observation::Image`] the loss is taken over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PixelSet<'a> {
    /// Every pixel, row by row.
    All,
    /// These row-major pixel indices, in this order (each below `width × height`).
    Indices(U32Slice<'a>),
}

/// Buffers for [`Model::fit_latent`]; their lengths come from [`Model::sizes`].
#[derive(Debug)]
pub struct FitWorkspace<'b> {
    /// `Sizes::weights`: the SIREN parameters of the current latent.
    pub weights: &'b mut [f32],
    /// `Sizes::weights`: their gradient.
    pub weight_grads: &'b mut [f32],
    /// `Sizes::fit_state`: Adam's moments and the latent's gradient.
    pub state: &'b mut [f32],
    /// At least `Sizes::fit_scratch`.
    pub scratch: &'b mut [f32],
}

/// What a fit did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FitOutcome {
    /// Adam steps taken.
    pub steps: u32,
    /// Mean squared error of the last step, at the latent before its update (the trainer's
    /// fit reports the same figure).
    pub mse: f32,
    /// Points the loss was taken over.
    pub points: usize,
}

/// Elements of [`FitWorkspace::state`]: Adam's two moments and the gradient, one latent each.
pub(crate) const fn fit_state_len(latent: usize) -> usize {
    3 * latent
}

/// Elements of [`FitWorkspace::scratch`]: φ's saved pre- and post-activations and two
/// backward buffers of its widest hidden layer, then the SIREN's saved input, sine
/// arguments and activations, output, and two backward buffers of its widest layer.
pub(crate) fn fit_scratch_len(hyper_hidden: &[u32], siren: (&[u32], usize, usize)) -> usize {
    let (siren_hidden, in_dim, out_dim) = siren;
    let sum = |w: &[u32]| w.iter().map(|&x| x as usize).sum::<usize>();
    let max = |w: &[u32]| w.iter().map(|&x| x as usize).max().unwrap_or(0);
    let hyper = 2 * sum(hyper_hidden) + 2 * max(hyper_hidden);
    let widest = max(siren_hidden).max(out_dim);
    let siren = in_dim + 2 * sum(siren_hidden) + out_dim + 2 * widest;
    hyper + siren
}

/// One SIREN layer's shape and where its parameters start.
#[derive(Clone, Copy, Default)]
struct SirenLayer {
    inputs: usize,
    outputs: usize,
    /// Offset of `W` in the parameters; `b` follows it.
    weights: usize,
    /// Offset of the layer's input among the saved activations.
    input_at: usize,
    /// Offset of its sine arguments among the saved arguments (sine layers).
    args_at: usize,
}

/// The SIREN's layers (at most [`MAX_LAYERS`]) with their offsets.
struct SirenShape {
    layers: [SirenLayer; MAX_LAYERS],
    count: usize,
    /// Saved activations: the input and every sine layer's output.
    acts_len: usize,
    /// Saved sine arguments.
    args_len: usize,
    /// Widest layer output.
    widest: usize,
    omega0: f32,
}

impl SirenShape {
    fn of(model: &Model<'_>) -> SirenShape {
        let c = model.config();
        let mut shape = SirenShape {
            layers: [SirenLayer::default(); MAX_LAYERS],
            count: 0,
            acts_len: c.in_dim as usize,
            args_len: 0,
            widest: 0,
            omega0: c.omega0,
        };
        let (mut weights, mut input_at, mut args_at) = (0, 0, 0);
        for (slot, (inputs, outputs)) in shape.layers.iter_mut().zip(c.siren_layers()) {
            *slot = SirenLayer {
                inputs,
                outputs,
                weights,
                input_at,
                args_at,
            };
            weights += inputs * outputs + outputs;
            input_at += inputs;
            args_at += outputs;
            shape.count += 1;
            shape.widest = shape.widest.max(outputs);
        }
        // Every layer but the last is a sine layer: its arguments and outputs are saved.
        for l in shape.layers.iter().take(shape.count.saturating_sub(1)) {
            shape.args_len += l.outputs;
            shape.acts_len += l.outputs;
        }
        shape
    }

    fn layers(&self) -> &[SirenLayer] {
        self.layers.get(..self.count).unwrap_or(&[])
    }
}

/// `d_in[i] += Σ_o (d_out[o] · scale[o]) · q[o][i]`, rows `o` ascending: the transpose of
/// [`quant_linear`]'s weights applied to `d_out`.
fn quant_linear_backward(layer: &QuantLinear<'_>, d_out: &[f32], d_in: &mut [f32]) {
    let cols = layer.cols as usize;
    if cols == 0 {
        return;
    }
    let rows = layer.weights.as_bytes().chunks_exact(cols);
    for ((row, &g), scale) in rows.zip(d_out).zip(layer.scales.iter()) {
        let gs = g * scale;
        for (d, &q) in d_in.iter_mut().zip(row) {
            *d += gs * (q as i8) as f32;
        }
    }
}

/// `∂ activate(a, v) / ∂v`: ReLU 1 above 0, else 0; leaky ReLU 1 or its slope; SiLU
/// `σ(v) · (1 + v · (1 − σ(v)))`.
///
/// ```
/// use hyperinr_runtime::activation_derivative;
/// use hyperinr_shared::HyperActivation::*;
/// assert_eq!(activation_derivative(Relu, -1.0), 0.0);
/// assert_eq!(activation_derivative(LeakyRelu, -1.0), 0.01);
/// assert_eq!(activation_derivative(Silu, 0.0), 0.5);
/// ```
pub fn activation_derivative(a: HyperActivation, v: f32) -> f32 {
    match a {
        HyperActivation::Relu => {
            if v > 0.0 {
                1.0
            } else {
                0.0
            }
        }
        HyperActivation::LeakyRelu => {
            if v > 0.0 {
                1.0
            } else {
                HyperActivation::LEAKY_SLOPE
            }
        }
        HyperActivation::Silu => {
            let s = 1.0 / (1.0 + libm::expf(-v));
            s * (1.0 + v * (1.0 - s))
        }
    }
}

impl Model<'_> {
    /// Adam steps' multiply–accumulates at `points` observed points: φ forward and
    /// backward (each [`Model::decode_macs`]) and, per point, the SIREN forward, its
    /// parameter gradient and the backward through every layer but the first.
    pub fn fit_step_macs(&self, points: usize) -> usize {
        let layers = || self.config().siren_layers();
        let forward: usize = layers().map(|(i, o)| i * o).sum();
        let backward: usize = layers().skip(1).map(|(i, o)| i * o).sum();
        let per_point = 2 * forward + backward;
        2 * self.decode_macs() + points * per_point
    }

    /// Fits a latent to `observation` with φ frozen (module docs: the loss, the gradient,
    /// the numeric contract) and writes it to `latent`.
    ///
    /// `settings` is normally [`Model::fit_settings`], what the file's stored latents were
    /// fitted with; pass a modified copy to override steps or the learning rate. The latent
    /// starts at zero, or, with a positive `init_std`, at `init_std` times standard normals
    /// from [`SplitMix64`] seeded with [`INIT_SEED`].
    ///
    /// Errors, before any step: an observation of the wrong kind for the model
    /// ([`Error::ObservationKind`]), a pixel buffer that is not `width × height`, query and
    /// target buffers that disagree ([`Error::BufferSize`] with [`Buffer::Observation`]), a
    /// pixel index past the image ([`Error::PixelIndex`]), no point at all
    /// ([`Error::EmptyObservation`]), and the workspace's sizes.
    pub fn fit_latent(
        &self,
        observation: Observation<'_>,
        settings: &FitSettings,
        ws: &mut FitWorkspace<'_>,
        latent: &mut [f32],
    ) -> Result<FitOutcome, Error> {
        let sizes = self.sizes();
        exact(Buffer::Latent, sizes.latent, latent.len())?;
        exact(Buffer::Weights, sizes.weights, ws.weights.len())?;
        exact(Buffer::Weights, sizes.weights, ws.weight_grads.len())?;
        exact(Buffer::Scratch, sizes.fit_state, ws.state.len())?;
        at_least(Buffer::Scratch, sizes.fit_scratch, ws.scratch.len())?;
        let points = self.check_observation(&observation)?;
        let shape = SirenShape::of(self);

        if settings.init_std > 0.0 {
            let mut rng = SplitMix64::new(INIT_SEED);
            for z in latent.iter_mut() {
                *z = settings.init_std * rng.normal();
            }
        } else {
            latent.fill(0.0);
        }
        let state_short = Error::BufferSize {
            buffer: Buffer::Scratch,
            needed: sizes.fit_state,
            got: ws.state.len(),
        };
        let (moments, grad) = ws
            .state
            .split_at_mut_checked(2 * sizes.latent)
            .ok_or(state_short)?;
        let (m, v) = moments
            .split_at_mut_checked(sizes.latent)
            .ok_or(state_short)?;
        m.fill(0.0);
        v.fill(0.0);
        // β^t for Adam's bias correction as running products: `core` has no `powi`, and a
        // product is the same bits on every target.
        let (mut beta1_t, mut beta2_t) = (1.0f32, 1.0f32);
        // Zero steps leave the initial latent and report NaN.
        let mut mse = f32::NAN;
        for _ in 0..settings.steps {
            mse = self.gradient_at(
                observation,
                &shape,
                settings,
                ws.weights,
                ws.weight_grads,
                ws.scratch,
                latent,
                grad,
            )?;
            beta1_t *= settings.beta1;
            beta2_t *= settings.beta2;
            let (c1, c2) = (1.0 - beta1_t, 1.0 - beta2_t);
            for (((z, m), v), &g) in latent
                .iter_mut()
                .zip(m.iter_mut())
                .zip(v.iter_mut())
                .zip(grad.iter())
            {
                *m = settings.beta1 * *m + (1.0 - settings.beta1) * g;
                *v = settings.beta2 * *v + (1.0 - settings.beta2) * g * g;
                let m_hat = *m / c1;
                let v_hat = *v / c2;
                *z -= settings.lr * m_hat / (libm::sqrtf(v_hat) + settings.eps);
            }
        }
        Ok(FitOutcome {
            steps: settings.steps,
            mse,
            points,
        })
    }

    /// Checks an observation against the model; returns its point count.
    fn check_observation(&self, observation: &Observation<'_>) -> Result<usize, Error> {
        let sizes = self.sizes();
        let points = match (*observation, self.config().input) {
            (Observation::Image { pixels, fitted }, InputKind::Image { width, height }) => {
                let count = width as usize * height as usize;
                exact(Buffer::Observation, count, pixels.len())?;
                match fitted {
                    PixelSet::All => count,
                    PixelSet::Indices(indices) => {
                        let bad = indices
                            .iter()
                            .enumerate()
                            .find(|&(_, p)| p as usize >= count);
                        if let Some((position, index)) = bad {
                            return Err(Error::PixelIndex {
                                position,
                                index,
                                pixels: count,
                            });
                        }
                        indices.len()
                    }
                }
            }
            (Observation::Points { coords, targets }, InputKind::PointCloud { .. }) => {
                let points = targets.len() / sizes.out_dim.max(1);
                exact(Buffer::Observation, points * sizes.out_dim, targets.len())?;
                exact(Buffer::Observation, points * sizes.in_dim, coords.len())?;
                points
            }
            (Observation::Image { .. }, InputKind::PointCloud { .. }) => {
                return Err(Error::ObservationKind {
                    model_is_image: false,
                })
            }
            (Observation::Points { .. }, InputKind::Image { .. }) => {
                return Err(Error::ObservationKind {
                    model_is_image: true,
                })
            }
        };
        if points == 0 {
            return Err(Error::EmptyObservation);
        }
        Ok(points)
    }

    /// The gradient of the fitting loss (module docs) with respect to `latent`, written to
    /// `grad` (`Sizes::latent`); returns the mean squared error at `latent`. What one step
    /// of [`Model::fit_latent`] computes before Adam's update; uses the workspace's
    /// `weights`, `weight_grads` and `scratch` (not `state`). Errors as `fit_latent`'s.
    pub fn latent_gradient(
        &self,
        observation: Observation<'_>,
        latent_l2: f32,
        ws: &mut FitWorkspace<'_>,
        latent: &[f32],
        grad: &mut [f32],
    ) -> Result<f32, Error> {
        let sizes = self.sizes();
        exact(Buffer::Latent, sizes.latent, latent.len())?;
        exact(Buffer::Latent, sizes.latent, grad.len())?;
        exact(Buffer::Weights, sizes.weights, ws.weights.len())?;
        exact(Buffer::Weights, sizes.weights, ws.weight_grads.len())?;
        at_least(Buffer::Scratch, sizes.fit_scratch, ws.scratch.len())?;
        self.check_observation(&observation)?;
        let shape = SirenShape::of(self);
        let settings = FitSettings {
            latent_l2,
            ..*self.fit_settings()
        };
        self.gradient_at(
            observation,
            &shape,
            &settings,
            ws.weights,
            ws.weight_grads,
            ws.scratch,
            latent,
            grad,
        )
    }

    /// [`Model::latent_gradient`] once the buffers and the observation are checked.
    #[allow(clippy::too_many_arguments)]
    fn gradient_at(
        &self,
        observation: Observation<'_>,
        shape: &SirenShape,
        settings: &FitSettings,
        weights: &mut [f32],
        weight_grads: &mut [f32],
        scratch: &mut [f32],
        latent: &[f32],
        grad: &mut [f32],
    ) -> Result<f32, Error> {
        let c = self.config();
        let hidden = c.hyper_hidden.as_slice();
        let hidden_sum: usize = hidden.iter().map(|&h| h as usize).sum();
        let hidden_max = hidden.iter().map(|&h| h as usize).max().unwrap_or(0);
        let short = Error::BufferSize {
            buffer: Buffer::Scratch,
            needed: self.sizes().fit_scratch,
            got: scratch.len(),
        };
        let (pre, rest) = scratch.split_at_mut_checked(hidden_sum).ok_or(short)?;
        let (post, rest) = rest.split_at_mut_checked(hidden_sum).ok_or(short)?;
        let (back, siren_scratch) = rest.split_at_mut_checked(2 * hidden_max).ok_or(short)?;

        // φ forward, keeping every hidden layer's pre- and post-activation.
        self.decode_saving(latent, weights, pre, post)?;

        // The SIREN at every point: the error, and the gradient of the parameters.
        weight_grads.fill(0.0);
        let mse = match observation {
            Observation::Image { pixels, fitted } => {
                let InputKind::Image { width, height } = c.input else {
                    return Err(Error::ObservationKind {
                        model_is_image: false,
                    });
                };
                let count = match fitted {
                    PixelSet::All => pixels.len(),
                    PixelSet::Indices(i) => i.len(),
                };
                let mut acc = Accumulator::new(count, 1);
                let mut fit_pixel = |p: usize| -> Result<(), Error> {
                    let w = width as usize;
                    let x = [
                        image_coord((p % w.max(1)) as u32, width),
                        image_coord((p / w.max(1)) as u32, height),
                    ];
                    let target = [pixels.get(p).map_or(f32::NAN, |&v| v as f32 / 255.0)];
                    acc.point(shape, weights, weight_grads, siren_scratch, &x, &target)
                };
                match fitted {
                    PixelSet::All => (0..pixels.len()).try_for_each(&mut fit_pixel)?,
                    PixelSet::Indices(i) => i.iter().try_for_each(|p| fit_pixel(p as usize))?,
                }
                acc.mse()
            }
            Observation::Points { coords, targets } => {
                let (in_dim, out_dim) = (c.in_dim as usize, c.out_dim as usize);
                let mut acc = Accumulator::new(targets.len() / out_dim.max(1), out_dim);
                for (x, t) in coords
                    .chunks_exact(in_dim.max(1))
                    .zip(targets.chunks_exact(out_dim.max(1)))
                {
                    acc.point(shape, weights, weight_grads, siren_scratch, x, t)?;
                }
                acc.mse()
            }
        };

        // φ backward: the parameters' gradient through the layers, last first; `cur` holds
        // the gradient of the current layer's output (after the first, which reads
        // `weight_grads`), `next` receives that of its input.
        grad.fill(0.0);
        let (mut cur, mut next) = back.split_at_mut(hidden_max);
        let layers = self.file().hypernet.as_slice();
        let mut offset = hidden_sum;
        let mut first = true;
        for (k, layer) in layers.iter().enumerate().rev() {
            let rows = layer.rows as usize;
            let d_out: &[f32] = if first {
                weight_grads
            } else {
                cur.get(..rows).ok_or(short)?
            };
            if k == 0 {
                quant_linear_backward(layer, d_out, grad);
                break;
            }
            // The layer's input is hidden layer k − 1: the gradient of its activation, then
            // through the activation's derivative at the saved pre-activation.
            let cols = layer.cols as usize;
            offset = offset.checked_sub(cols).ok_or(short)?;
            let dst = next.get_mut(..cols).ok_or(short)?;
            dst.fill(0.0);
            quant_linear_backward(layer, d_out, dst);
            let saved = pre.get(offset..offset + cols).ok_or(short)?;
            for (d, &v) in dst.iter_mut().zip(saved) {
                *d *= activation_derivative(c.hyper_activation, v);
            }
            core::mem::swap(&mut cur, &mut next);
            first = false;
        }
        if let Some(a) = self.linear_path() {
            quant_linear_backward(a, weight_grads, grad);
        }
        for (g, &z) in grad.iter_mut().zip(latent) {
            *g += 2.0 * settings.latent_l2 * z;
        }
        Ok(mse)
    }

    /// [`Model::decode_weights`] that also keeps each hidden layer's pre-activation (`pre`)
    /// and activation (`post`), layer after layer: the same operations, the same bits.
    fn decode_saving(
        &self,
        latent: &[f32],
        weights: &mut [f32],
        pre: &mut [f32],
        post: &mut [f32],
    ) -> Result<(), Error> {
        let c = self.config();
        let layers = self.file().hypernet.as_slice();
        let (hidden, last) = match layers.split_last() {
            Some((last, hidden)) => (hidden, last),
            None => {
                return Err(Error::BufferSize {
                    buffer: Buffer::Weights,
                    needed: 1,
                    got: 0,
                })
            }
        };
        let mut offset = 0;
        let mut input_at: Option<usize> = None;
        let got = pre.len();
        let short = |needed| Error::BufferSize {
            buffer: Buffer::Scratch,
            needed,
            got,
        };
        for layer in hidden {
            let rows = layer.rows as usize;
            let (before, from) = post.split_at_mut(offset);
            let input: &[f32] = match input_at {
                None => latent,
                Some(at) => before.get(at..).ok_or(short(offset))?,
            };
            let dst = pre
                .get_mut(offset..offset + rows)
                .ok_or(short(offset + rows))?;
            if !quant_linear(layer, input, dst, None) {
                return Err(short(offset + rows));
            }
            let act = from.get_mut(..rows).ok_or(short(offset + rows))?;
            for (a, &v) in act.iter_mut().zip(dst.iter()) {
                *a = activate(c.hyper_activation, v);
            }
            input_at = Some(offset);
            offset += rows;
        }
        let input: &[f32] = match input_at {
            None => latent,
            Some(at) => post.get(at..offset).ok_or(short(offset))?,
        };
        if !quant_linear(last, input, weights, None) {
            return Err(Error::BufferSize {
                buffer: Buffer::Weights,
                needed: last.rows as usize,
                got: weights.len(),
            });
        }
        match self.linear_path() {
            Some(a) if !add_linear(a, latent, weights) => Err(Error::BufferSize {
                buffer: Buffer::Weights,
                needed: a.rows as usize,
                got: weights.len(),
            }),
            _ => Ok(()),
        }
    }
}

/// The squared error summed over points, and `2 / (M · d)`, the factor of each residual in
/// the gradient of the mean.
struct Accumulator {
    sum: f32,
    inv: f32,
}

impl Accumulator {
    fn new(points: usize, out_dim: usize) -> Self {
        Accumulator {
            sum: 0.0,
            inv: 1.0 / (points * out_dim).max(1) as f32,
        }
    }

    fn mse(&self) -> f32 {
        self.sum * self.inv
    }

    /// One point: the SIREN forward with its sine arguments and activations saved, the
    /// squared error, and the backward pass adding this point's share to `grads`.
    fn point(
        &mut self,
        shape: &SirenShape,
        weights: &[f32],
        grads: &mut [f32],
        scratch: &mut [f32],
        x: &[f32],
        target: &[f32],
    ) -> Result<(), Error> {
        let short = Error::BufferSize {
            buffer: Buffer::Scratch,
            needed: shape.acts_len + shape.args_len,
            got: scratch.len(),
        };
        let (acts, rest) = scratch.split_at_mut_checked(shape.acts_len).ok_or(short)?;
        let (args, rest) = rest.split_at_mut_checked(shape.args_len).ok_or(short)?;
        let (d_a, rest) = rest.split_at_mut_checked(shape.widest).ok_or(short)?;
        let (d_b, _) = rest.split_at_mut_checked(shape.widest).ok_or(short)?;
        let layers = shape.layers();
        let last_index = layers.len().saturating_sub(1);

        // Forward: the same operations as `siren_linear`, keeping what the backward needs.
        let input = acts.get_mut(..x.len()).ok_or(short)?;
        input.copy_from_slice(x);
        let mut y = [0.0f32; hyperinr_shared::MAX_OUT_DIM as usize];
        for (j, l) in layers.iter().enumerate() {
            let w = weights
                .get(l.weights..l.weights + l.inputs * l.outputs)
                .ok_or(short)?;
            let b = weights
                .get(l.weights + l.inputs * l.outputs..l.weights + l.inputs * l.outputs + l.outputs)
                .ok_or(short)?;
            let (before, after) = acts.split_at_mut(l.input_at + l.inputs);
            let src = before.get(l.input_at..).ok_or(short)?;
            let last = j == last_index;
            for (o, (row, &bias)) in w.chunks_exact(l.inputs.max(1)).zip(b).enumerate() {
                let mut acc = 0.0f32;
                for (&wi, &xi) in row.iter().zip(src) {
                    acc += wi * xi;
                }
                let pre = acc + bias;
                if last {
                    if let Some(slot) = y.get_mut(o) {
                        *slot = pre;
                    }
                } else {
                    let arg = shape.omega0 * pre;
                    if let Some(slot) = args.get_mut(l.args_at + o) {
                        *slot = arg;
                    }
                    if let Some(slot) = after.get_mut(o) {
                        *slot = sine(arg);
                    }
                }
            }
        }

        // The error and ∂L/∂y.
        let out = layers.last().map_or(0, |l| l.outputs);
        let d_out = d_a.get_mut(..out).ok_or(short)?;
        for ((d, &yk), &tk) in d_out.iter_mut().zip(&y).zip(target) {
            let r = yk - tk;
            self.sum += r * r;
            *d = 2.0 * r * self.inv;
        }

        // Backward, last layer first: `d_a` / `d_b` take turns holding the gradient of the
        // current layer's output.
        let mut in_a = true;
        for (j, l) in layers.iter().enumerate().rev() {
            let (d_cur, d_next): (&mut [f32], &mut [f32]) = if in_a {
                (&mut *d_a, &mut *d_b)
            } else {
                (&mut *d_b, &mut *d_a)
            };
            let d_cur = d_cur.get_mut(..l.outputs).ok_or(short)?;
            if j != last_index {
                // Through the sine: ∂ sin(ω0 p) / ∂p = ω0 cos(ω0 p).
                let saved = args.get(l.args_at..l.args_at + l.outputs).ok_or(short)?;
                for (d, &arg) in d_cur.iter_mut().zip(saved) {
                    *d *= shape.omega0 * cosine(arg);
                }
            }
            let src = acts.get(l.input_at..l.input_at + l.inputs).ok_or(short)?;
            let n = l.inputs * l.outputs;
            let (gw, gb) = grads
                .get_mut(l.weights..l.weights + n + l.outputs)
                .ok_or(short)?
                .split_at_mut(n);
            for ((row, gbo), &d) in gw
                .chunks_exact_mut(l.inputs.max(1))
                .zip(gb.iter_mut())
                .zip(d_cur.iter())
            {
                for (g, &xi) in row.iter_mut().zip(src) {
                    *g += d * xi;
                }
                *gbo += d;
            }
            if j > 0 {
                let w = weights.get(l.weights..l.weights + n).ok_or(short)?;
                let d_in = d_next.get_mut(..l.inputs).ok_or(short)?;
                d_in.fill(0.0);
                for (row, &d) in w.chunks_exact(l.inputs.max(1)).zip(d_cur.iter()) {
                    for (di, &wi) in d_in.iter_mut().zip(row) {
                        *di += d * wi;
                    }
                }
                in_a = !in_a;
            }
        }
        Ok(())
    }
}

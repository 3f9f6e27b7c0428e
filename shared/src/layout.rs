//! Shapes implied by a model config: the SIREN's layer sizes and parameter layout.
//!
//! The hypernetwork's output is the SIREN's parameters, flattened layer by layer: for each
//! layer, the weight matrix (`out × in`, row-major: row `o` holds the weights into output
//! `o`), then the bias (`out`). The sizes are `const fn` so that firmware can size static
//! buffers at compile time. [`siren_layer_dims`] and [`siren_init_bounds`] are the one
//! definition of the SIREN's layer chain and of its initialisation, for the trainer and for
//! the synthetic models of the tests alike.

/// Parameters of a SIREN with input width `in_dim`, hidden widths `hidden` and output
/// width `out_dim` (weights and biases of every layer). Saturates instead of overflowing.
///
/// ```
/// use hyperinr_shared::layout::siren_param_count;
/// // 2-32-32-1: (2·32+32) + (32·32+32) + (32·1+1)
/// assert_eq!(siren_param_count(2, &[32, 32], 1), 1185);
/// assert_eq!(siren_param_count(3, &[], 1), 4);
/// ```
pub const fn siren_param_count(in_dim: usize, hidden: &[usize], out_dim: usize) -> usize {
    let mut total = 0usize;
    let mut prev = in_dim;
    let mut rest = hidden;
    while let [width, tail @ ..] = rest {
        total = total.saturating_add(layer_params(prev, *width));
        prev = *width;
        rest = tail;
    }
    total.saturating_add(layer_params(prev, out_dim))
}

const fn layer_params(inputs: usize, outputs: usize) -> usize {
    inputs.saturating_mul(outputs).saturating_add(outputs)
}

/// The widest activation vector of an MLP (inputs, hidden layers and outputs).
///
/// ```
/// use hyperinr_shared::layout::max_width;
/// assert_eq!(max_width(64, &[256, 256], 1185), 1185);
/// ```
pub const fn max_width(in_dim: usize, hidden: &[usize], out_dim: usize) -> usize {
    let mut m = if in_dim > out_dim { in_dim } else { out_dim };
    let mut rest = hidden;
    while let [width, tail @ ..] = rest {
        if *width > m {
            m = *width;
        }
        rest = tail;
    }
    m
}

/// `f32` scratch an MLP forward needs: two ping-pong buffers as wide as the widest
/// hidden layer (inputs and outputs live in caller buffers).
///
/// ```
/// use hyperinr_shared::layout::mlp_scratch_len;
/// assert_eq!(mlp_scratch_len(&[256, 256]), 512);
/// assert_eq!(mlp_scratch_len(&[]), 0);
/// ```
pub const fn mlp_scratch_len(hidden: &[usize]) -> usize {
    max_width(0, hidden, 0).saturating_mul(2)
}

/// Multiply–accumulates of one MLP forward (weights only, biases excluded).
///
/// ```
/// use hyperinr_shared::layout::mlp_macs;
/// assert_eq!(mlp_macs(64, &[256, 256], 1185), 64 * 256 + 256 * 256 + 256 * 1185);
/// ```
pub const fn mlp_macs(in_dim: usize, hidden: &[usize], out_dim: usize) -> usize {
    let mut total = 0usize;
    let mut prev = in_dim;
    let mut rest = hidden;
    while let [width, tail @ ..] = rest {
        total = total.saturating_add(prev.saturating_mul(*width));
        prev = *width;
        rest = tail;
    }
    total.saturating_add(prev.saturating_mul(out_dim))
}

/// The SIREN's layers as `(inputs, outputs)` pairs, first to last:
/// `in_dim → hidden[0] → … → out_dim`.
///
/// ```
/// use hyperinr_shared::layout::siren_layer_dims;
/// let layers: Vec<_> = siren_layer_dims(2, &[32, 16], 1).collect();
/// assert_eq!(layers, [(2, 32), (32, 16), (16, 1)]);
/// assert_eq!(siren_layer_dims(3, &[], 1).collect::<Vec<_>>(), [(3, 1)]);
/// ```
pub fn siren_layer_dims(
    in_dim: usize,
    hidden: &[usize],
    out_dim: usize,
) -> impl Iterator<Item = (usize, usize)> + Clone + '_ {
    layer_pairs(in_dim, hidden.iter().copied(), out_dim)
}

/// [`siren_layer_dims`] over any widths (the model file stores them as `u32`).
pub(crate) fn layer_pairs<H: Iterator<Item = usize> + Clone>(
    in_dim: usize,
    hidden: H,
    out_dim: usize,
) -> impl Iterator<Item = (usize, usize)> + Clone {
    let ins = core::iter::once(in_dim).chain(hidden.clone());
    let outs = hidden.chain(core::iter::once(out_dim));
    ins.zip(outs)
}

/// Half-ranges of the SIREN initialisation (Sitzmann et al. 2020) of layer `layer_index`
/// with `inputs` inputs, as `(weight, bias)`: its weights are drawn from `U(−w, w)`, its
/// biases from `U(−b, b)`.
///
/// The first layer's weights get `w = 1 / inputs` (its inputs are coordinates, and ω0
/// multiplies its pre-activation); later layers `w = √(6 / inputs) / ω0`, so that after the
/// ω0 factor the pre-activations are spread over a few periods of the sine whatever the
/// width; every bias `b = 1 / √inputs`. Computed in `f32` exactly as written here (the
/// square root is correctly rounded, like `f32::sqrt`), so that the trainer and the tests'
/// synthetic models agree to the bit.
///
/// ```
/// use hyperinr_shared::layout::siren_init_bounds;
/// assert_eq!(siren_init_bounds(0, 2, 30.0), (0.5, 1.0 / 2f32.sqrt()));
/// let (w, b) = siren_init_bounds(1, 32, 30.0);
/// assert_eq!(w, (6.0f32 / 32.0).sqrt() / 30.0);
/// assert_eq!(b, 1.0 / 32f32.sqrt());
/// ```
pub fn siren_init_bounds(layer_index: usize, inputs: usize, omega0: f32) -> (f32, f32) {
    let n = inputs as f32;
    let weight = if layer_index == 0 {
        1.0 / n
    } else {
        libm::sqrtf(6.0 / n) / omega0
    };
    (weight, 1.0 / libm::sqrtf(n))
}

//! Shapes implied by a model config: the SIREN's layer sizes and parameter layout.
//!
//! The hypernetwork's output is the SIREN's parameters, flattened layer by layer: for each
//! layer, the weight matrix (`out × in`, row-major: row `o` holds the weights into output
//! `o`), then the bias (`out`). Everything here is `const fn` so that firmware can size
//! static buffers at compile time.

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

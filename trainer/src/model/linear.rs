//! burn's [`Linear`] layer with what the model file and checkpoints need on top: parameter
//! ids fixed by layer rather than random, so that checkpoints of the same run are
//! byte-identical (the optimiser state is keyed by parameter id), and the model file's
//! row-major `[outputs, inputs]` weight layout (burn stores `[inputs, outputs]`).

use burn::module::{Param, ParamId};
use burn::nn::Linear;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

/// A layer `y = x W + b` from row-major `[inputs, outputs]` weights (burn's layout) and
/// biases; its parameter ids are `2·id` and `2·id + 1`.
pub fn linear_from_values<B: Backend>(
    id: u64,
    weight: &[f32],
    bias: &[f32],
    inputs: usize,
    outputs: usize,
    device: &B::Device,
) -> Linear<B> {
    let w = Tensor::from_data(TensorData::new(weight.to_vec(), [inputs, outputs]), device);
    let b = Tensor::from_data(TensorData::new(bias.to_vec(), [outputs]), device);
    Linear {
        weight: Param::initialized(ParamId::from(2 * id), w.require_grad()),
        bias: Some(Param::initialized(
            ParamId::from(2 * id + 1),
            b.require_grad(),
        )),
    }
}

/// A layer from row-major `[outputs, inputs]` weights (the model file's layout).
pub fn linear_from_rows<B: Backend>(
    id: u64,
    rows: &[f32],
    bias: &[f32],
    inputs: usize,
    outputs: usize,
    device: &B::Device,
) -> Linear<B> {
    let mut w = vec![0.0f32; inputs * outputs];
    for o in 0..outputs {
        for i in 0..inputs {
            w[i * outputs + o] = rows[o * inputs + i];
        }
    }
    linear_from_values(id, &w, bias, inputs, outputs, device)
}

/// A [`Linear`] layer read back in the model file's layout.
pub trait LinearRows {
    /// `(inputs, outputs)`.
    fn dims(&self) -> (usize, usize);
    /// Weights as row-major `[outputs, inputs]` and biases (zeros for a layer without bias).
    fn to_rows(&self) -> (Vec<f32>, Vec<f32>);
}

impl<B: Backend> LinearRows for Linear<B> {
    fn dims(&self) -> (usize, usize) {
        let [i, o] = self.weight.val().dims();
        (i, o)
    }

    fn to_rows(&self) -> (Vec<f32>, Vec<f32>) {
        let values = |t: Tensor<B, 1>| t.into_data().to_vec::<f32>().unwrap_or_default();
        let (_, outputs) = self.dims();
        let w = values(self.weight.val().transpose().flatten(0, 1));
        let b = match &self.bias {
            Some(b) => values(b.val()),
            None => vec![0.0; outputs],
        };
        (w, b)
    }
}

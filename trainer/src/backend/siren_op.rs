//! The batched SIREN as one burn operation: a backend extension (`SirenBackend`) whose CPU
//! implementations run [`crate::backend::siren_kernel`] and whose `Autodiff` implementation registers
//! one backward step for the whole network, instead of a graph node per matmul, add and sine.
//!
//! Backends without a fused kernel (CUDA, with or without fusion) keep the composition of
//! burn ops (`model::siren_forward`); `--siren-op composed` selects it everywhere, so the two
//! paths run side by side from one binary.

use crate::backend::siren_kernel::{self, Batch, SirenShape};
use crate::model::{siren_forward, HyperInrConfig};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::Autodiff;
use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;
use burn::tensor::{Tensor, TensorData, TensorPrimitive};
use std::sync::Arc;

/// How the SIREN is evaluated.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum SirenOp {
    /// burn's tensor ops, one per layer step (matmul, add, sine), each an autodiff node.
    Composed,
    /// One fused operation (CPU backends); falls back to `composed` where none exists.
    #[default]
    Fused,
}

impl SirenOp {
    /// The op that actually runs on backend `B`.
    pub fn on<B: SirenBackend>(self) -> SirenOp {
        if self == SirenOp::Fused && B::has_fused() {
            SirenOp::Fused
        } else {
            SirenOp::Composed
        }
    }
    /// `"composed"` / `"fused"`.
    pub fn name(self) -> &'static str {
        match self {
            SirenOp::Composed => "composed",
            SirenOp::Fused => "fused",
        }
    }
}

impl HyperInrConfig {
    /// The SIREN's shapes.
    pub fn siren_shape(&self) -> SirenShape {
        SirenShape {
            layers: self.siren_layers(),
            omega0: self.omega0,
        }
    }
}

/// What training, fitting and analysis run on: autodiff and the SIREN op.
pub trait TrainBackend: burn::tensor::backend::AutodiffBackend + SirenBackend {}
impl<B: burn::tensor::backend::AutodiffBackend + SirenBackend> TrainBackend for B {}

/// A backend that can run the batched SIREN as one operation.
pub trait SirenBackend: Backend {
    /// Whether [`SirenBackend::siren_fused`] is a fused kernel (otherwise the composed path).
    fn has_fused() -> bool {
        false
    }
    /// SIREN outputs `[b, out, m]` for parameters `[b, P]` at coordinates `[1 | b, in, m]`.
    /// The coordinates are data: no gradient flows to them.
    fn siren_fused(
        shape: &SirenShape,
        params: FloatTensor<Self>,
        coords: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let out = siren_forward_shape(
            shape,
            Tensor::<Self, 2>::from_primitive(TensorPrimitive::Float(params)),
            Tensor::<Self, 3>::from_primitive(TensorPrimitive::Float(coords)),
        );
        out.into_primitive().tensor()
    }
}

/// The SIREN with the chosen op: `[b, P]` parameters at `[1 | b, in, m]` coordinates →
/// `[b, out, m]`.
pub fn siren<B: SirenBackend>(
    model: &HyperInrConfig,
    params: Tensor<B, 2>,
    coords: Tensor<B, 3>,
    op: SirenOp,
) -> Tensor<B, 3> {
    match op.on::<B>() {
        SirenOp::Composed => siren_forward(model, params, coords),
        SirenOp::Fused => Tensor::from_primitive(TensorPrimitive::Float(B::siren_fused(
            &model.siren_shape(),
            params.into_primitive().tensor(),
            coords.into_primitive().tensor(),
        ))),
    }
}

/// The composed path for a [`SirenShape`] (the same ops as `model::siren_forward`).
fn siren_forward_shape<B: Backend>(
    shape: &SirenShape,
    params: Tensor<B, 2>,
    coords: Tensor<B, 3>,
) -> Tensor<B, 3> {
    let (i0, o_last) = (shape.in_dim(), shape.out_dim());
    let hidden: Vec<usize> = shape.layers[..shape.layers.len() - 1]
        .iter()
        .map(|l| l.1)
        .collect();
    let model = HyperInrConfig::new()
        .with_in_dim(i0)
        .with_out_dim(o_last)
        .with_siren_hidden(hidden)
        .with_omega0(shape.omega0);
    siren_forward(&model, params, coords)
}

fn host_values<B: Backend>(t: FloatTensor<B>) -> (Vec<f32>, Vec<usize>) {
    let data = burn::tensor::try_read_sync(B::float_into_data(t))
        .expect("CPU backends read synchronously")
        .expect("reading a CPU tensor");
    let dims = data.shape.to_vec();
    let values = data
        .convert::<f32>()
        .into_vec::<f32>()
        .expect("a float tensor converts to f32 values");
    (values, dims)
}

fn from_host<B: Backend>(values: Vec<f32>, dims: Vec<usize>, device: &B::Device) -> FloatTensor<B> {
    B::float_from_data(TensorData::new(values, dims), device)
}

/// Inputs of one call, read back to the host, with their checked dimensions.
struct HostCall {
    params: Vec<f32>,
    coords: Vec<f32>,
    b: usize,
    m: usize,
    shared_coords: bool,
}

impl HostCall {
    fn read<B: Backend>(
        shape: &SirenShape,
        params: FloatTensor<B>,
        coords: FloatTensor<B>,
    ) -> Self {
        let (params, pd) = host_values::<B>(params);
        let (coords, cd) = host_values::<B>(coords);
        let b = pd[0];
        // Checked here rather than deep inside the kernel: a shape error names the tensors.
        assert!(
            pd.len() == 2 && pd[1] == shape.params(),
            "siren: parameters {pd:?}, expected [b, {}]",
            shape.params()
        );
        assert!(
            cd.len() == 3 && cd[1] == shape.in_dim() && (cd[0] == 1 || cd[0] == b),
            "siren: coordinates {cd:?}, expected [1 or {b}, {}, m]",
            shape.in_dim()
        );
        HostCall {
            params,
            coords,
            b,
            m: cd[2],
            shared_coords: cd[0] == 1,
        }
    }

    fn batch(&self) -> Batch<'_> {
        Batch {
            params: &self.params,
            coords: &self.coords,
            b: self.b,
            m: self.m,
            shared_coords: self.shared_coords,
        }
    }
}

/// The CPU backends: inputs are read to the host, the kernel runs, the output is written back.
/// For these backends a read is a copy of a few hundred kilobytes (parameters and
/// coordinates), small against the SIREN's activations, which never leave the kernel.
pub trait HostSiren: Backend {}
impl HostSiren for burn::backend::NdArray<f32> {}
impl HostSiren for burn::backend::Flex {}

fn host_forward<B: HostSiren>(
    shape: &SirenShape,
    params: FloatTensor<B>,
    coords: FloatTensor<B>,
) -> FloatTensor<B> {
    let device = B::float_device(&params);
    let call = HostCall::read::<B>(shape, params, coords);
    let (out, _) = siren_kernel::forward(shape, &call.batch(), false);
    from_host::<B>(out, vec![call.b, shape.out_dim(), call.m], &device)
}

macro_rules! host_siren_backend {
    ($t:ty) => {
        impl SirenBackend for $t {
            fn has_fused() -> bool {
                true
            }
            fn siren_fused(
                shape: &SirenShape,
                params: FloatTensor<Self>,
                coords: FloatTensor<Self>,
            ) -> FloatTensor<Self> {
                host_forward::<Self>(shape, params, coords)
            }
        }
    };
}
host_siren_backend!(burn::backend::NdArray<f32>);
host_siren_backend!(burn::backend::Flex);

/// What the backward step needs: the inputs and the forward pass's sines and cosines.
#[derive(Debug)]
struct Saved<D> {
    shape: SirenShape,
    params: Vec<f32>,
    coords: Vec<f32>,
    b: usize,
    m: usize,
    shared_coords: bool,
    sin_cos: siren_kernel::Pooled,
    device: D,
}

#[derive(Debug)]
struct SirenStep;

impl<B: HostSiren> Backward<B, 1> for SirenStep {
    type State = Arc<Saved<B::Device>>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad_out = grads.consume::<B>(&ops.node);
        let Some(parent) = &ops.parents[0] else {
            return;
        };
        let s = &ops.state;
        let (grad_out, _) = host_values::<B>(grad_out);
        let batch = Batch {
            params: &s.params,
            coords: &s.coords,
            b: s.b,
            m: s.m,
            shared_coords: s.shared_coords,
        };
        let grad = siren_kernel::backward(&s.shape, &batch, &s.sin_cos, &grad_out);
        grads.register::<B>(
            parent.id,
            from_host::<B>(grad, vec![s.b, s.shape.params()], &s.device),
        );
    }
}

impl<B: HostSiren + SirenBackend, C: CheckpointStrategy> SirenBackend for Autodiff<B, C> {
    fn has_fused() -> bool {
        true
    }

    fn siren_fused(
        shape: &SirenShape,
        params: FloatTensor<Self>,
        coords: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        if coords.is_tracked() {
            // The kernel has no gradient for coordinates: keep autodiff exact.
            let out = siren_forward_shape(
                shape,
                Tensor::<Self, 2>::from_primitive(TensorPrimitive::Float(params)),
                Tensor::<Self, 3>::from_primitive(TensorPrimitive::Float(coords)),
            );
            return out.into_primitive().tensor();
        }
        let device = B::float_device(&params.primitive);
        let prep = SirenStep
            .prepare::<C>([params.node.clone()])
            .compute_bound()
            .stateful();
        let call = HostCall::read::<B>(shape, params.primitive, coords.primitive);
        let dims = vec![call.b, shape.out_dim(), call.m];
        match prep {
            OpsKind::Tracked(prep) => {
                let (out, sin_cos) = siren_kernel::forward(shape, &call.batch(), true);
                let out = from_host::<B>(out, dims, &device);
                let saved = Saved {
                    shape: shape.clone(),
                    params: call.params,
                    coords: call.coords,
                    b: call.b,
                    m: call.m,
                    shared_coords: call.shared_coords,
                    sin_cos,
                    device,
                };
                prep.finish(Arc::new(saved), out)
            }
            OpsKind::UnTracked(prep) => {
                let (out, _) = siren_kernel::forward(shape, &call.batch(), false);
                prep.finish(from_host::<B>(out, dims, &device))
            }
        }
    }
}

#[cfg(feature = "cuda")]
mod cuda {
    use super::SirenBackend;
    use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
    use burn::backend::Autodiff;
    type Fused = burn::backend::Cuda<f32>;
    type Plain = burn_cubecl::CubeBackend<burn_cubecl::cubecl::cuda::CudaRuntime, f32, i32, u8>;
    // No cubecl kernel yet (none could be checked on a GPU): the composed path.
    impl SirenBackend for Fused {}
    impl SirenBackend for Plain {}
    impl<C: CheckpointStrategy> SirenBackend for Autodiff<Fused, C> {}
    impl<C: CheckpointStrategy> SirenBackend for Autodiff<Plain, C> {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::HyperNet;
    use rand::{Rng, SeedableRng};

    type Nd = Autodiff<burn::backend::NdArray<f32>>;
    type Fx = Autodiff<burn::backend::Flex>;

    fn random(rng: &mut impl Rng, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| rng.random_range(-scale..scale)).collect()
    }

    /// ‖a − b‖∞ / ‖b‖∞.
    fn rel_inf(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        let diff = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max);
        let norm = b.iter().map(|y| y.abs()).fold(0.0, f32::max);
        assert!(norm > 0.0, "a reference of zeros checks nothing");
        diff / norm
    }

    fn values<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
        t.into_data().to_vec::<f32>().unwrap()
    }

    /// Outputs and gradients (parameters, latents and φ's weights) of
    /// `Σ out ⊙ w` through φ and the SIREN, with `op`.
    fn through_phi<B: TrainBackend>(
        model: &HyperInrConfig,
        b: usize,
        coords: (&[f32], [usize; 3]),
        seed: u64,
        op: SirenOp,
    ) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let device = Default::default();
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let phi: HyperNet<B> = model.init(seed, &device);
        let z = Tensor::<B, 2>::from_data(
            TensorData::new(
                random(&mut rng, b * model.latent_dim, 1.0),
                [b, model.latent_dim],
            ),
            &device,
        )
        .require_grad();
        let coords =
            Tensor::<B, 3>::from_data(TensorData::new(coords.0.to_vec(), coords.1), &device);
        let params = phi.forward(z.clone());
        let out = siren(model, params, coords, op);
        let dims = out.dims();
        let w = Tensor::<B, 3>::from_data(
            TensorData::new(random(&mut rng, dims.iter().product(), 1.0), dims),
            &device,
        );
        let mut grads = (out.clone() * w).sum().backward();
        let gz = z.grad_remove(&mut grads).unwrap();
        let gw = phi.layers[0].weight.val().grad_remove(&mut grads).unwrap();
        let gb = phi
            .output_layer()
            .weight
            .val()
            .grad_remove(&mut grads)
            .unwrap();
        let mut gphi = values(gw);
        gphi.extend(values(gb));
        (values(out.inner()), values(gz), gphi)
    }

    fn check_against_composed<B: TrainBackend>(
        case: &str,
        model: &HyperInrConfig,
        b: usize,
        coords: (&[f32], [usize; 3]),
    ) {
        assert!(SirenOp::Fused.on::<B>() == SirenOp::Fused);
        let fused = through_phi::<B>(model, b, coords, 5, SirenOp::Fused);
        let composed = through_phi::<B>(model, b, coords, 5, SirenOp::Composed);
        for (what, a, r) in [
            ("outputs", &fused.0, &composed.0),
            ("latent gradients", &fused.1, &composed.1),
            ("φ gradients", &fused.2, &composed.2),
        ] {
            let e = rel_inf(a, r);
            assert!(
                e <= 1e-5,
                "{case}: {what} differ by {e:e} (‖a − b‖∞ / ‖b‖∞)"
            );
        }
    }

    /// Parameter gradients directly (no φ), fused against composed.
    fn param_gradients<B: TrainBackend>(
        model: &HyperInrConfig,
        b: usize,
        coords: (&[f32], [usize; 3]),
        op: SirenOp,
    ) -> (Vec<f32>, Vec<f32>) {
        let device = Default::default();
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let mut init = rand::rngs::StdRng::seed_from_u64(3);
        let mut p = Vec::new();
        for _ in 0..b {
            p.extend(model.siren_init(&mut init).0);
        }
        let params =
            Tensor::<B, 2>::from_data(TensorData::new(p, [b, model.siren_params()]), &device)
                .require_grad();
        let coords =
            Tensor::<B, 3>::from_data(TensorData::new(coords.0.to_vec(), coords.1), &device);
        let out = siren(model, params.clone(), coords, op);
        let dims = out.dims();
        let w = Tensor::<B, 3>::from_data(
            TensorData::new(random(&mut rng, dims.iter().product(), 1.0), dims),
            &device,
        );
        let mut grads = (out.clone() * w).sum().backward();
        let g = params.grad_remove(&mut grads).unwrap();
        (values(out.inner()), values(g))
    }

    /// A case: name, model, batch, coordinates and their dimensions.
    type Case = (String, HyperInrConfig, usize, Vec<f32>, [usize; 3]);

    fn cases() -> Vec<Case> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let base = HyperInrConfig::new()
            .with_latent_dim(8)
            .with_hyper_hidden(vec![16]);
        let grid = crate::model::image_coord_values(28, 28);
        // Every 16th pixel: a subsampled grid of 49 points.
        let sub: Vec<f32> = (0..2)
            .flat_map(|r| (0..49).map(move |j| (r, j)))
            .map(|(r, j)| grid[r * 784 + j * 16])
            .collect();
        let b3 = 5;
        let points = random(&mut rng, b3 * 3 * 61, 1.1);
        vec![
            (
                "full grid, batch 7".into(),
                base.clone(),
                7,
                grid,
                [1, 2, 784],
            ),
            (
                "49 subsampled pixels, partial batch of 3".into(),
                base.clone().with_siren_hidden(vec![24, 16]),
                3,
                sub,
                [1, 2, 49],
            ),
            (
                "per-sample 3-D points, 3-20-12-1".into(),
                base.clone().with_in_dim(3).with_siren_hidden(vec![20, 12]),
                b3,
                points,
                [b3, 3, 61],
            ),
            (
                "one sample, one hidden layer, 2 outputs".into(),
                base.with_siren_hidden(vec![9]).with_out_dim(2),
                1,
                random(&mut rng, 2 * 13, 1.0),
                [1, 2, 13],
            ),
        ]
    }

    #[test]
    fn fused_matches_composed_outputs_and_gradients_on_ndarray_and_flex() {
        for (case, model, b, coords, dims) in cases() {
            check_against_composed::<Nd>(&case, &model, b, (&coords, dims));
            check_against_composed::<Fx>(&case, &model, b, (&coords, dims));
            let f = param_gradients::<Fx>(&model, b, (&coords, dims), SirenOp::Fused);
            let c = param_gradients::<Fx>(&model, b, (&coords, dims), SirenOp::Composed);
            let (eo, eg) = (rel_inf(&f.0, &c.0), rel_inf(&f.1, &c.1));
            assert!(
                eo <= 1e-5 && eg <= 1e-5,
                "{case}: parameter path: outputs {eo:e}, gradients {eg:e}"
            );
        }
    }

    #[test]
    fn fused_forward_without_autodiff_matches_composed() {
        type B = burn::backend::Flex;
        let (case, model, b, coords, dims) = cases().remove(2);
        let device = Default::default();
        let mut init = rand::rngs::StdRng::seed_from_u64(3);
        let p: Vec<f32> = (0..b).flat_map(|_| model.siren_init(&mut init).0).collect();
        let run = |op| {
            let params = Tensor::<B, 2>::from_data(
                TensorData::new(p.clone(), [b, model.siren_params()]),
                &device,
            );
            let coords = Tensor::<B, 3>::from_data(TensorData::new(coords.clone(), dims), &device);
            values(siren(&model, params, coords, op))
        };
        let e = rel_inf(&run(SirenOp::Fused), &run(SirenOp::Composed));
        assert!(e <= 1e-5, "{case}: {e:e}");
    }

    #[test]
    fn twenty_training_steps_give_the_same_losses() {
        use crate::data::samples::Samples;
        use crate::train::{Training, TrainingConfig};
        use hyperinr_data::fashion::ImageSet;
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        // Smooth 28×28 images (a blob each) so the losses move.
        let n = 40;
        let mut pixels = Vec::with_capacity(n * 784);
        for k in 0..n {
            let (cx, cy) = (
                rng.random_range(8.0..20.0f32),
                rng.random_range(8.0..20.0f32),
            );
            for r in 0..28 {
                for c in 0..28 {
                    let d2 = (r as f32 - cy).powi(2) + (c as f32 - cx).powi(2);
                    pixels.push((255.0 * (-d2 / (20.0 + k as f32)).exp()) as u8);
                }
            }
        }
        let images = Samples::Images(ImageSet {
            width: 28,
            height: 28,
            pixels,
            labels: vec![0; n],
            indices: (0..n as u32).collect(),
        });
        let config = || {
            TrainingConfig::new(
                HyperInrConfig::new()
                    .with_latent_dim(16)
                    .with_hyper_hidden(vec![64]),
            )
            .with_batch_size(16)
            .with_lr_hyper(1e-3)
            .with_lr_latent(1e-2)
        };
        let run = |op: SirenOp| -> Vec<f64> {
            let device = Default::default();
            let mut t = Training::<Fx>::new(config(), &images, &device);
            t.siren_op = op;
            (0..20)
                .map(|k| {
                    // Batches of 16, the last of each pass partial (40 = 16 + 16 + 8).
                    let start = (k % 3) * 16;
                    let rows: Vec<usize> = (start..(start + 16).min(n)).collect();
                    t.step(&images, &rows).unwrap()
                })
                .collect()
        };
        let (fused, composed) = (run(SirenOp::Fused), run(SirenOp::Composed));
        assert!(
            composed.last() < composed.first(),
            "training must move: {composed:?}"
        );
        for (k, (f, c)) in fused.iter().zip(&composed).enumerate() {
            assert!(
                ((f - c) / c).abs() <= 1e-3,
                "step {k}: fused {f} vs composed {c}"
            );
        }
    }
}

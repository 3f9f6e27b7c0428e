//! One step's tensors and the reconstruction losses, shared by training and fitting.

use crate::backend::siren_op::{siren, SirenOp, TrainBackend};
use crate::data::samples::{DatasetKind, Samples};
use crate::model::{HyperInrConfig, HyperNet};
use crate::train::latents::LatentTable;
use anyhow::{bail, Result};
use burn::tensor::{Tensor, TensorData, Transaction};

/// One step's inputs: the batch's latents `[b, l]`, coordinates (`[b, in, m]`, or the
/// shared grid `[1, in, m]`) and targets `[b, out, m]`.
pub fn batch_tensors<B: burn::tensor::backend::Backend>(
    samples: &Samples,
    shared: Option<&Tensor<B, 3>>,
    latents: &LatentTable,
    rows: &[usize],
    draw: u64,
    device: &B::Device,
) -> Result<(Tensor<B, 2>, Tensor<B, 3>, Tensor<B, 3>)> {
    let z = Tensor::from_data(
        TensorData::new(latents.gather(rows), [rows.len(), latents.dim]),
        device,
    );
    let obs = samples.observe(rows, draw)?;
    let m = obs.points;
    let coords = match (obs.coords, shared) {
        (Some(c), _) => Tensor::from_data(
            TensorData::new(c, [rows.len(), samples.in_dim(), m]),
            device,
        ),
        (None, Some(grid)) => grid.clone(),
        (None, None) => bail!("samples without coordinates"),
    };
    let out = obs.targets.len() / (rows.len() * m).max(1);
    let target = Tensor::from_data(TensorData::new(obs.targets, [rows.len(), out, m]), device);
    Ok((z, coords, target))
}

/// The grid shared by every sample of `samples`, as a `[1, in, m]` tensor (images).
pub fn shared_coords<B: burn::tensor::backend::Backend>(
    samples: &Samples,
    device: &B::Device,
) -> Option<Tensor<B, 3>> {
    samples.shared_coords().map(|(values, m)| {
        Tensor::from_data(TensorData::new(values, [1, samples.in_dim(), m]), device)
    })
}

/// Mean squared reconstruction error `[1]` (over the batch) and the loss with the latent
/// penalty: the mean over the batch of each sample's own mean over its points.
pub fn reconstruction_loss<B: TrainBackend>(
    model: &HyperInrConfig,
    hypernet: &HyperNet<B>,
    z: Tensor<B, 2>,
    coords: Tensor<B, 3>,
    target: Tensor<B, 3>,
    latent_l2: f32,
    op: SirenOp,
) -> (Tensor<B, 1>, Tensor<B, 1>) {
    let (per_sample, loss) = per_sample_loss(model, hypernet, z, coords, target, latent_l2, op);
    (per_sample.mean(), loss.mean())
}

/// Each sample's mean squared error over its own points `[b]`, and its loss with the latent
/// penalty `[b]` (φ's forward runs once for the batch).
pub fn per_sample_loss<B: TrainBackend>(
    model: &HyperInrConfig,
    hypernet: &HyperNet<B>,
    z: Tensor<B, 2>,
    coords: Tensor<B, 3>,
    target: Tensor<B, 3>,
    latent_l2: f32,
    op: SirenOp,
) -> (Tensor<B, 1>, Tensor<B, 1>) {
    let params = hypernet.forward(z.clone());
    let out = siren(model, params, coords, op);
    let [b, _, _] = out.dims();
    let mse: Tensor<B, 1> = (out - target)
        .powi_scalar(2)
        .reshape([b as i32, -1])
        .mean_dim(1)
        .reshape([b]);
    let loss = if latent_l2 > 0.0 {
        mse.clone()
            + z.powi_scalar(2)
                .sum_dim(1)
                .reshape([b])
                .mul_scalar(latent_l2)
    } else {
        mse.clone()
    };
    (mse, loss)
}

/// PSNR in dB of a mean squared error on `[0, 1]` data.
pub fn psnr(mse: f64) -> f64 {
    -10.0 * mse.max(1e-12).log10()
}

/// The per-epoch figure beside the MSE: PSNR (dB) for images, RMSE of the clamped distance
/// (unit-sphere units) for shapes.
pub(super) fn quality(dataset: DatasetKind, mse: f64) -> (&'static str, f64) {
    if dataset.is_shapes() {
        ("train_udf_rmse", mse.max(0.0).sqrt())
    } else {
        ("train_psnr_db", psnr(mse))
    }
}

/// A step's latent gradient and its loss values read back in one transfer: each read waits
/// for the device, and on CUDA every step needs at least one (the latents' Adam runs on the
/// host), so training, fitting and the capacity ladder read both tensors together.
pub fn read_step<B: burn::tensor::backend::Backend, const D: usize>(
    gradient: Tensor<B, 2>,
    loss: Tensor<B, D>,
) -> Result<(Vec<f32>, Vec<f32>)> {
    let data = Transaction::<B>::default()
        .register(gradient)
        .register(loss)
        .try_execute()
        .map_err(|e| anyhow::anyhow!("reading the step's results: {e:?}"))?;
    let [gradient, loss]: [TensorData; 2] = data
        .try_into()
        .map_err(|_| anyhow::anyhow!("a two-tensor read returned another count"))?;
    let values = |d: TensorData| {
        d.to_vec::<f32>()
            .map_err(|e| anyhow::anyhow!("reading the step's results: {e:?}"))
    };
    Ok((values(gradient)?, values(loss)?))
}

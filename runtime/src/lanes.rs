//! The SIREN forward for many points side by side, for hosts that evaluate millions of
//! points (the trainer's surface search for the Chamfer distance).
//!
//! [`Model::eval_siren`] runs one point after another, as the microcontroller must: each
//! neuron's dot product is one chain of dependent additions. [`Model::eval_siren_lanes`]
//! evaluates [`LANES`] points together: every point still gets exactly `eval_siren`'s
//! operations in its order (sums from 0 in ascending input index, `+ bias`, `ω0 ·`, the
//! sine's bits), only interleaved across points, so the outputs are `eval_siren`'s bits and a
//! compiler can keep the lanes in SIMD registers.

use crate::error::{Buffer, Error};
use crate::model::{at_least, Model};

/// Points evaluated side by side: enough independent accumulators to hide the latency of
/// the additions (4 cycles on current x86 cores) behind their throughput.
pub const LANES: usize = 32;

impl Model<'_> {
    /// Scratch (`f32` elements) of [`Model::eval_siren_lanes`]: two feature-major blocks of
    /// the widest SIREN layer, [`LANES`] points each.
    pub fn lanes_scratch_len(&self) -> usize {
        let widest = self
            .config()
            .siren_layers()
            .map(|(i, o)| i.max(o))
            .max()
            .unwrap_or(0);
        2 * widest * LANES
    }

    /// [`Model::eval_siren`] with [`LANES`] points at a time: `coords` holds `in_dim` values
    /// per point, `out` receives `out_dim` per point, the same bits; `scratch` at least
    /// [`Model::lanes_scratch_len`].
    ///
    /// ```
    /// use hyperinr_runtime::Model;
    /// use hyperinr_shared::example::ExampleModel;
    /// let blob = ExampleModel::new().file().to_bytes().unwrap();
    /// let model = Model::from_bytes(&blob).unwrap();
    /// let s = model.sizes();
    /// let (mut w, mut scratch) = (vec![0.0; s.weights], vec![0.0; s.scratch]);
    /// model.decode_weights(&[0.5, -1.0], &mut w, &mut scratch).unwrap();
    /// let coords: Vec<f32> = (0..70).map(|i| i as f32 / 35.0 - 1.0).collect(); // 35 points
    /// let (mut one, mut lanes) = (vec![0.0; 35], vec![0.0; 35]);
    /// model.eval_siren(&w, &coords, &mut one, &mut scratch).unwrap();
    /// let mut block = vec![0.0; model.lanes_scratch_len()];
    /// model.eval_siren_lanes(&w, &coords, &mut lanes, &mut block).unwrap();
    /// assert_eq!(one.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
    ///            lanes.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
    /// ```
    pub fn eval_siren_lanes(
        &self,
        weights: &[f32],
        coords: &[f32],
        out: &mut [f32],
        scratch: &mut [f32],
    ) -> Result<(), Error> {
        let sizes = self.sizes();
        let (in_dim, out_dim) = (sizes.in_dim, sizes.out_dim);
        let needed = self.lanes_scratch_len();
        at_least(Buffer::Scratch, needed, scratch.len())?;
        self.check_siren_batch(weights, coords, out)?;
        let short = Error::BufferSize {
            buffer: Buffer::Scratch,
            needed,
            got: scratch.len(),
        };
        let (mut ping, mut pong) = scratch
            .get_mut(..needed)
            .ok_or(short)?
            .split_at_mut(needed / 2);
        let c = self.config();
        let layer_count = c.siren_hidden.len() + 1;
        for (block, ys) in coords
            .chunks(LANES * in_dim)
            .zip(out.chunks_mut(LANES * out_dim.max(1)))
        {
            let n = block.len() / in_dim;
            // Unused lanes of a short last block hold zeros and are never read back.
            ping.get_mut(..in_dim * LANES).ok_or(short)?.fill(0.0);
            for (p, x) in block.chunks_exact(in_dim).enumerate() {
                for (k, &v) in x.iter().enumerate() {
                    if let Some(slot) = ping.get_mut(k * LANES + p) {
                        *slot = v;
                    }
                }
            }
            let mut rest = weights;
            for (i, (inputs, outputs)) in c.siren_layers().enumerate() {
                let (w, tail) = rest.split_at_checked(inputs * outputs).ok_or(short)?;
                let (b, tail) = tail.split_at_checked(outputs).ok_or(short)?;
                rest = tail;
                let omega = (i + 1 != layer_count).then_some(c.omega0);
                layer_lanes(w, b, inputs, &*ping, pong, omega);
                core::mem::swap(&mut ping, &mut pong);
            }
            for (p, y) in ys.chunks_exact_mut(out_dim.max(1)).take(n).enumerate() {
                for (o, slot) in y.iter_mut().enumerate() {
                    *slot = ping.get(o * LANES + p).copied().unwrap_or(f32::NAN);
                }
            }
        }
        Ok(())
    }
}

/// `y = sin(ω0 · (W x + b))` (or `W x + b` without ω0) for [`LANES`] points, feature-major
/// (`x[k · LANES + p]`): `siren_linear`'s operations, lane by lane.
#[inline]
fn layer_lanes(w: &[f32], b: &[f32], inputs: usize, x: &[f32], y: &mut [f32], omega0: Option<f32>) {
    if inputs == 0 {
        return;
    }
    for ((row, &bias), yj) in w.chunks_exact(inputs).zip(b).zip(y.chunks_exact_mut(LANES)) {
        let mut acc = [0.0f32; LANES];
        for (&wk, xk) in row.iter().zip(x.chunks_exact(LANES)) {
            for (a, &v) in acc.iter_mut().zip(xk) {
                *a += wk * v;
            }
        }
        let mut pre = acc.map(|a| a + bias);
        if let Some(omega) = omega0 {
            for v in &mut pre {
                *v *= omega;
            }
            crate::nn::sin_lanes(&mut pre);
        }
        yj.copy_from_slice(&pre);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{sin_lanes, sine};
    use std::vec::Vec;

    /// The lane sine is the sine, bit for bit: sweeps over the SIREN's range, every
    /// quadrant boundary's neighbourhood, tiny values, and what goes to libm.
    #[test]
    fn lane_sine_is_the_sine() {
        let mut values: Vec<f32> = (-400_000..=400_000).map(|i| i as f32 * 1e-4).collect();
        values.extend((-20_000..20_000).map(|k| (k as f32) * core::f32::consts::FRAC_PI_2));
        values.extend([
            0.0,
            -0.0,
            1e-30,
            -3e-5,
            f32::MIN_POSITIVE,
            1e5,
            1.00001e5,
            -2e6,
            3e38,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ]);
        for chunk in values.chunks(LANES) {
            let mut lanes = [0.0f32; LANES];
            lanes[..chunk.len()].copy_from_slice(chunk);
            sin_lanes(&mut lanes);
            for (&x, &got) in chunk.iter().zip(&lanes) {
                assert_eq!(got.to_bits(), sine(x).to_bits(), "x = {x:e}");
            }
        }
    }
}

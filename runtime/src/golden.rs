//! Golden vectors computed by this runtime (feature `std`), for writers of model files.
//!
//! The trainer calls [`compute_golden`] on a model parsed from the bytes it is about to
//! ship, so that the expected bits come from the one implementation of inference.

use crate::{dequantize_latent, weights_crc, Error, Model};
use hyperinr_shared::I8Slice;
use std::vec;
use std::vec::Vec;

/// The owned contents of one `hyperinr_shared::GoldenVector`.
#[derive(Clone, Debug, PartialEq)]
pub struct GoldenOwned {
    /// Int8 latent codes.
    pub codes: Vec<i8>,
    /// The latent's scale.
    pub scale: f32,
    /// CRC-32 of the decoded parameters.
    pub weights_crc: u32,
    /// Query points (`in_dim` each).
    pub coords: Vec<f32>,
    /// SIREN outputs at those points.
    pub outputs: Vec<f32>,
    /// Classifier logits.
    pub logits: Vec<f32>,
    /// Predicted class.
    pub class: u32,
}

impl GoldenOwned {
    /// The arrays encoded as the model file stores them, ready for [`GoldenBytes::view`].
    pub fn encode(&self) -> GoldenBytes {
        let f32s = |v: &[f32]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
        GoldenBytes {
            codes: self.codes.iter().map(|&q| q as u8).collect(),
            coords: f32s(&self.coords),
            outputs: f32s(&self.outputs),
            logits: f32s(&self.logits),
            scale: self.scale,
            weights_crc: self.weights_crc,
            class: self.class,
        }
    }
}

/// A golden vector's arrays as little-endian bytes; [`GoldenBytes::view`] borrows them as
/// the format's `GoldenVector`.
#[derive(Clone, Debug, PartialEq)]
pub struct GoldenBytes {
    codes: Vec<u8>,
    coords: Vec<u8>,
    outputs: Vec<u8>,
    logits: Vec<u8>,
    scale: f32,
    weights_crc: u32,
    class: u32,
}

impl GoldenBytes {
    /// The golden vector as the model file's section holds it.
    pub fn view(&self) -> hyperinr_shared::GoldenVector<'_> {
        use hyperinr_shared::{F32Slice, I8Slice};
        hyperinr_shared::GoldenVector {
            codes: I8Slice::new(&self.codes),
            scale: self.scale,
            weights_crc: self.weights_crc,
            coords: F32Slice::new(&self.coords),
            outputs: F32Slice::new(&self.outputs),
            logits: F32Slice::new(&self.logits),
            class: self.class,
        }
    }
}

/// Runs `model` on the int8 latent `(codes, scale)` at `coords` and records every output.
pub fn compute_golden(
    model: &Model<'_>,
    codes: &[i8],
    scale: f32,
    coords: &[f32],
) -> Result<GoldenOwned, Error> {
    let sizes = model.sizes();
    let code_bytes: Vec<u8> = codes.iter().map(|&q| q as u8).collect();
    let mut latent = vec![0.0f32; sizes.latent];
    dequantize_latent(I8Slice::new(&code_bytes), scale, &mut latent)?;
    let mut weights = vec![0.0f32; sizes.weights];
    let mut scratch = vec![0.0f32; sizes.scratch];
    model.decode_weights(&latent, &mut weights, &mut scratch)?;
    let points = coords.len() / sizes.in_dim.max(1);
    let mut outputs = vec![0.0f32; points * sizes.out_dim];
    model.eval_siren(&weights, coords, &mut outputs, &mut scratch)?;
    let mut logits = vec![0.0f32; sizes.logits];
    let class = model.classify(&latent, &mut logits, &mut scratch)?;
    Ok(GoldenOwned {
        codes: codes.to_vec(),
        scale,
        weights_crc: weights_crc(&weights),
        coords: coords.to_vec(),
        outputs,
        logits,
        class: class as u32,
    })
}

/// Heap buffers sized for one model, lent out as a [`crate::Workspace`].
#[derive(Clone, Debug)]
pub struct WorkspaceBuf {
    latent: Vec<f32>,
    weights: Vec<f32>,
    scratch: Vec<f32>,
    logits: Vec<f32>,
}

impl WorkspaceBuf {
    /// Buffers of the sizes `model` needs.
    pub fn new(model: &Model<'_>) -> Self {
        let s = model.sizes();
        Self {
            latent: vec![0.0; s.latent],
            weights: vec![0.0; s.weights],
            scratch: vec![0.0; s.scratch],
            logits: vec![0.0; s.logits],
        }
    }

    /// The buffers as a [`crate::Workspace`].
    pub fn workspace(&mut self) -> crate::Workspace<'_> {
        crate::Workspace {
            latent: &mut self.latent,
            weights: &mut self.weights,
            scratch: &mut self.scratch,
            logits: &mut self.logits,
        }
    }
}

/// Owned buffers for [`Model::fit_latent`](crate::Model::fit_latent) (feature `std`).
#[derive(Clone, Debug)]
pub struct FitWorkspaceBuf {
    weights: Vec<f32>,
    weight_grads: Vec<f32>,
    state: Vec<f32>,
    scratch: Vec<f32>,
}

impl FitWorkspaceBuf {
    /// Buffers of the sizes `model` needs.
    pub fn new(model: &Model<'_>) -> Self {
        let s = model.sizes();
        Self {
            weights: vec![0.0; s.weights],
            weight_grads: vec![0.0; s.weights],
            state: vec![0.0; s.fit_state],
            scratch: vec![0.0; s.fit_scratch],
        }
    }

    /// The buffers as a [`crate::FitWorkspace`].
    pub fn workspace(&mut self) -> crate::FitWorkspace<'_> {
        crate::FitWorkspace {
            weights: &mut self.weights,
            weight_grads: &mut self.weight_grads,
            state: &mut self.state,
            scratch: &mut self.scratch,
        }
    }
}

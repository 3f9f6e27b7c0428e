//! [`Model`]: a parsed model file and the inference entry points.

use crate::error::{Buffer, Error, GoldenCheck};
use crate::nn::{add_linear, image_coord, quant_mlp, siren_linear};
use hyperinr_shared::crc32::Crc32;
use hyperinr_shared::{
    FitSettings, HyperActivation, I8Slice, InputKind, ModelConfig, ModelFile, QuantLinear,
    MAX_OUT_DIM,
};

/// A validated model, borrowing every array from the blob it was parsed from.
#[derive(Clone, Debug)]
pub struct Model<'a> {
    file: ModelFile<'a>,
    sizes: Sizes,
}

/// Buffer sizes (in `f32` elements) the entry points need for one model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Sizes {
    /// A latent code: `latent_dim`.
    pub latent: usize,
    /// SIREN parameters: the hypernetwork's output width.
    pub weights: usize,
    /// Scratch shared by every entry point (the largest of what each needs).
    pub scratch: usize,
    /// Logits: `class_count`.
    pub logits: usize,
    /// SIREN input width.
    pub in_dim: usize,
    /// SIREN output width.
    pub out_dim: usize,
    /// [`FitWorkspace::state`](crate::FitWorkspace): Adam's moments and the gradient.
    pub fit_state: usize,
    /// [`FitWorkspace::scratch`](crate::FitWorkspace): what fitting saves between its
    /// forward and backward passes.
    pub fit_scratch: usize,
}

/// Buffers for [`Model::self_test`] and other multi-step work.
#[derive(Debug)]
pub struct Workspace<'b> {
    /// `Sizes::latent` elements.
    pub latent: &'b mut [f32],
    /// `Sizes::weights` elements.
    pub weights: &'b mut [f32],
    /// At least `Sizes::scratch` elements.
    pub scratch: &'b mut [f32],
    /// `Sizes::logits` elements.
    pub logits: &'b mut [f32],
}

/// What the store records about a latent besides its code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StoredLatent {
    /// Class label.
    pub label: u8,
    /// Index of the sample in its dataset split.
    pub dataset_index: u32,
}

/// `Ok` when a buffer has exactly the `needed` length.
pub(crate) fn exact(buffer: Buffer, needed: usize, got: usize) -> Result<(), Error> {
    if needed == got {
        Ok(())
    } else {
        Err(Error::BufferSize {
            buffer,
            needed,
            got,
        })
    }
}

/// `Ok` when a buffer has at least the `needed` length.
pub(crate) fn at_least(buffer: Buffer, needed: usize, got: usize) -> Result<(), Error> {
    if got >= needed {
        Ok(())
    } else {
        Err(Error::BufferSize {
            buffer,
            needed,
            got,
        })
    }
}

fn max_rows(layers: &[hyperinr_shared::QuantLinear<'_>]) -> usize {
    let hidden = layers.len().saturating_sub(1);
    layers
        .iter()
        .take(hidden)
        .map(|l| l.rows as usize)
        .max()
        .unwrap_or(0)
}

/// Dequantises int8 `codes` with `scale` into `out` (`q as f32 * scale`): a stored latent, or
/// one output row of a layer (the trainer loads a file's φ into burn with it).
///
/// ```
/// use hyperinr_shared::I8Slice;
/// let mut z = [0.0f32; 2];
/// hyperinr_runtime::dequantize_latent(I8Slice::new(&[2, 0xFE]), 0.25, &mut z).unwrap();
/// assert_eq!(z, [0.5, -0.5]);
/// ```
pub fn dequantize_latent(codes: I8Slice<'_>, scale: f32, out: &mut [f32]) -> Result<(), Error> {
    exact(Buffer::Latent, codes.len(), out.len())?;
    for (o, q) in out.iter_mut().zip(codes.iter()) {
        *o = hyperinr_shared::quant::dequantize(q, scale);
    }
    Ok(())
}

impl<'a> Model<'a> {
    /// Parses and validates `bytes` (see `hyperinr_shared::ModelFile::parse`).
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Model<'a>, Error> {
        let file = ModelFile::parse(bytes)?;
        let c = &file.config;
        let siren_scratch = 2 * c.siren_hidden.iter().copied().max().unwrap_or(0) as usize;
        let decode_scratch = 2 * max_rows(&file.hypernet);
        let classify_scratch = c.latent_dim as usize + 2 * max_rows(&file.classifier.layers);
        let sizes = Sizes {
            latent: c.latent_dim as usize,
            weights: c.siren_param_count(),
            scratch: siren_scratch.max(decode_scratch).max(classify_scratch),
            logits: c.class_count as usize,
            in_dim: c.in_dim as usize,
            out_dim: c.out_dim as usize,
            fit_state: crate::fit::fit_state_len(c.latent_dim as usize),
            fit_scratch: crate::fit::fit_scratch_len(
                &c.hyper_hidden,
                (&c.siren_hidden, c.in_dim as usize, c.out_dim as usize),
            ),
        };
        Ok(Model { file, sizes })
    }

    /// The parsed file (config, provenance, layers, store, golden vectors).
    pub fn file(&self) -> &ModelFile<'a> {
        &self.file
    }

    /// The model config.
    pub fn config(&self) -> &ModelConfig<'a> {
        &self.file.config
    }

    /// Buffer sizes the entry points need.
    pub fn sizes(&self) -> Sizes {
        self.sizes
    }

    /// φ's hidden activation.
    pub fn hyper_activation(&self) -> HyperActivation {
        self.file.config.hyper_activation
    }

    /// φ's linear path `A z + a`, if the model has one.
    pub fn linear_path(&self) -> Option<&QuantLinear<'a>> {
        self.file.linear_path.as_ref()
    }

    /// How the stored latents were fitted (steps, Adam settings, L2 weight, initial std):
    /// what fitting a new sample the same way takes.
    pub fn fit_settings(&self) -> &FitSettings {
        &self.file.config.fit
    }

    /// Multiply–accumulates of one [`Model::decode_weights`] (the linear path included).
    pub fn decode_macs(&self) -> usize {
        self.file
            .hypernet
            .iter()
            .chain(self.file.linear_path.iter())
            .map(|l| l.rows as usize * l.cols as usize)
            .sum()
    }

    /// Multiply–accumulates of one SIREN evaluation at one point.
    pub fn siren_macs_per_point(&self) -> usize {
        self.config().siren_layers().map(|(i, o)| i * o).sum()
    }

    /// Multiply–accumulates of one [`Model::classify`].
    pub fn classify_macs(&self) -> usize {
        self.file
            .classifier
            .layers
            .iter()
            .map(|l| l.rows as usize * l.cols as usize)
            .sum()
    }

    /// Number of stored latents.
    pub fn latent_count(&self) -> usize {
        self.file.latents.count as usize
    }

    /// Dequantises stored latent `index` into `out` and returns its label and dataset index.
    pub fn stored_latent(&self, index: usize, out: &mut [f32]) -> Result<StoredLatent, Error> {
        let store = &self.file.latents;
        let count = store.count as usize;
        let oob = Error::LatentIndex { index, count };
        if index >= count {
            return Err(oob);
        }
        let dim = self.sizes.latent;
        let codes = store.codes.sub(index * dim, dim).ok_or(oob)?;
        let scale = store.scales.get(index).ok_or(oob)?;
        dequantize_latent(codes, scale, out)?;
        Ok(StoredLatent {
            label: store.labels.get(index).copied().ok_or(oob)?,
            dataset_index: store.dataset_indices.get(index).ok_or(oob)?,
        })
    }

    /// Hypernetwork forward: SIREN parameters for `latent`, written to `weights`.
    ///
    /// The MLP (its hidden layers followed by [`Model::hyper_activation`]), then, with a
    /// linear path, `weights[o] += (Σ_i A[o][i] · z[i]) · scale[o] + a[o]` (FORMAT.md 2.4).
    ///
    /// `latent`: `sizes().latent`; `weights`: `sizes().weights`; `scratch`: at least
    /// `sizes().scratch`.
    pub fn decode_weights(
        &self,
        latent: &[f32],
        weights: &mut [f32],
        scratch: &mut [f32],
    ) -> Result<(), Error> {
        exact(Buffer::Latent, self.sizes.latent, latent.len())?;
        exact(Buffer::Weights, self.sizes.weights, weights.len())?;
        at_least(Buffer::Scratch, self.sizes.scratch, scratch.len())?;
        let c = &self.file.config;
        quant_mlp(
            &self.file.hypernet,
            c.hyper_activation,
            latent,
            weights,
            scratch,
        )?;
        match &self.file.linear_path {
            Some(a) if !add_linear(a, latent, weights) => Err(Error::BufferSize {
                buffer: Buffer::Weights,
                needed: a.rows as usize,
                got: weights.len(),
            }),
            _ => Ok(()),
        }
    }

    /// SIREN forward for a batch of points: `coords` holds `in_dim` values per point,
    /// `out` receives `out_dim` values per point.
    pub fn eval_siren(
        &self,
        weights: &[f32],
        coords: &[f32],
        out: &mut [f32],
        scratch: &mut [f32],
    ) -> Result<(), Error> {
        let Sizes {
            in_dim, out_dim, ..
        } = self.sizes;
        at_least(Buffer::Scratch, self.sizes.scratch, scratch.len())?;
        self.check_siren_batch(weights, coords, out)?;
        for (x, y) in coords
            .chunks_exact(in_dim)
            .zip(out.chunks_exact_mut(out_dim.max(1)))
        {
            self.siren_point(weights, x, y, scratch)?;
        }
        Ok(())
    }

    /// Checks a SIREN batch's buffers: `weights` of the model's size, whole points in
    /// `coords`, `out_dim` outputs per point in `out`.
    pub(crate) fn check_siren_batch(
        &self,
        weights: &[f32],
        coords: &[f32],
        out: &[f32],
    ) -> Result<(), Error> {
        let Sizes {
            in_dim, out_dim, ..
        } = self.sizes;
        exact(Buffer::Weights, self.sizes.weights, weights.len())?;
        if in_dim == 0 || !coords.len().is_multiple_of(in_dim) {
            return Err(Error::BufferSize {
                buffer: Buffer::Coords,
                needed: coords.len() / in_dim.max(1) * in_dim,
                got: coords.len(),
            });
        }
        exact(Buffer::Outputs, coords.len() / in_dim * out_dim, out.len())
    }

    /// SIREN forward at one point.
    fn siren_point(
        &self,
        weights: &[f32],
        x: &[f32],
        y: &mut [f32],
        scratch: &mut [f32],
    ) -> Result<(), Error> {
        let c = self.config();
        let layer_count = c.siren_hidden.len() + 1;
        let half = scratch.len() / 2;
        let (ping, pong) = scratch.split_at_mut(half);
        let mut rest = weights;
        let short = Error::BufferSize {
            buffer: Buffer::Weights,
            needed: self.sizes.weights,
            got: weights.len(),
        };
        for (i, (inputs, outputs)) in c.siren_layers().enumerate() {
            let (w, tail) = rest.split_at_checked(inputs * outputs).ok_or(short)?;
            let (b, tail) = tail.split_at_checked(outputs).ok_or(short)?;
            rest = tail;
            let last = i + 1 == layer_count;
            let omega = if last { None } else { Some(c.omega0) };
            let (src, dst): (&[f32], &mut [f32]) = match (i, i % 2) {
                (0, _) => (x, if last { &mut *y } else { &mut *ping }),
                (_, 1) => (&*ping, if last { &mut *y } else { &mut *pong }),
                _ => (&*pong, if last { &mut *y } else { &mut *ping }),
            };
            let scratch_short = Error::BufferSize {
                buffer: Buffer::Scratch,
                needed: self.sizes.scratch,
                got: half * 2,
            };
            let src = src.get(..inputs).ok_or(scratch_short)?;
            let dst = dst.get_mut(..outputs).ok_or(scratch_short)?;
            siren_linear(w, b, src, dst, omega);
        }
        Ok(())
    }

    /// Renders an image model's SIREN at every pixel centre, row by row, into `pixels`
    /// (`width × height × out_dim` values, unclamped).
    pub fn render_image(
        &self,
        weights: &[f32],
        pixels: &mut [f32],
        scratch: &mut [f32],
    ) -> Result<(), Error> {
        let (width, height) = match self.config().input {
            InputKind::Image { width, height } => (width, height),
            InputKind::PointCloud { .. } => return Err(Error::NotAnImage),
        };
        let out_dim = self.sizes.out_dim;
        exact(Buffer::Weights, self.sizes.weights, weights.len())?;
        at_least(Buffer::Scratch, self.sizes.scratch, scratch.len())?;
        // The reader caps width and height at 4096, so this cannot overflow even with a
        // 32-bit usize; checked anyway so that the bound lives in one place.
        let needed = (width as usize)
            .checked_mul(height as usize)
            .and_then(|n| n.checked_mul(out_dim))
            .ok_or(Error::BufferSize {
                buffer: Buffer::Outputs,
                needed: usize::MAX,
                got: pixels.len(),
            })?;
        exact(Buffer::Outputs, needed, pixels.len())?;
        let coords = (0..height).flat_map(|r| (0..width).map(move |col| (col, r)));
        for ((col, row), y) in coords.zip(pixels.chunks_exact_mut(out_dim.max(1))) {
            let xy = [image_coord(col, width), image_coord(row, height)];
            self.siren_point(weights, &xy, y, scratch)?;
        }
        Ok(())
    }

    /// Classifies `latent`: standardises it, runs the classifier MLP into `logits` and
    /// returns the arg-max (the first of equal maxima; NaN never wins).
    pub fn classify(
        &self,
        latent: &[f32],
        logits: &mut [f32],
        scratch: &mut [f32],
    ) -> Result<usize, Error> {
        exact(Buffer::Latent, self.sizes.latent, latent.len())?;
        exact(Buffer::Logits, self.sizes.logits, logits.len())?;
        at_least(Buffer::Scratch, self.sizes.scratch, scratch.len())?;
        let cl = &self.file.classifier;
        let (standard, rest) = scratch.split_at_mut(latent.len());
        let stats = cl.mean.iter().zip(cl.inv_std.iter());
        for ((s, &z), (mean, inv_std)) in standard.iter_mut().zip(latent).zip(stats) {
            *s = (z - mean) * inv_std;
        }
        quant_mlp(&cl.layers, HyperActivation::Relu, standard, logits, rest)?;
        Ok(argmax(logits))
    }

    /// Recomputes every golden vector and compares bits; returns how many were checked.
    pub fn self_test(&self, ws: &mut Workspace<'_>) -> Result<usize, Error> {
        let out_dim = self.sizes.out_dim;
        let in_dim = self.sizes.in_dim;
        for (v, g) in self.file.golden.iter().enumerate() {
            let vector = v as u32;
            dequantize_latent(g.codes, g.scale, ws.latent)?;
            self.decode_weights(ws.latent, ws.weights, ws.scratch)?;
            let found = weights_crc(ws.weights);
            if found != g.weights_crc {
                let check = GoldenCheck::Weights {
                    expected: g.weights_crc,
                    found,
                };
                return Err(Error::GoldenMismatch { vector, check });
            }
            let mut y = [0.0f32; MAX_OUT_DIM as usize];
            let y = y.get_mut(..out_dim).ok_or(Error::BufferSize {
                buffer: Buffer::Outputs,
                needed: out_dim,
                got: MAX_OUT_DIM as usize,
            })?;
            let points = g.coords.len() / in_dim.max(1);
            for p in 0..points {
                let mut x = [0.0f32; 3];
                for (k, slot) in x.iter_mut().enumerate().take(in_dim) {
                    *slot = g.coords.get(p * in_dim + k).unwrap_or(f32::NAN);
                }
                let x = x.get(..in_dim).unwrap_or(&[]);
                self.eval_siren(ws.weights, x, y, ws.scratch)?;
                for (k, &got) in y.iter().enumerate() {
                    let index = p * out_dim + k;
                    if g.outputs.get(index).map(f32::to_bits) != Some(got.to_bits()) {
                        let check = GoldenCheck::Output {
                            index: index as u32,
                        };
                        return Err(Error::GoldenMismatch { vector, check });
                    }
                }
            }
            let class = self.classify(ws.latent, ws.logits, ws.scratch)?;
            for (k, &got) in ws.logits.iter().enumerate() {
                if g.logits.get(k).map(f32::to_bits) != Some(got.to_bits()) {
                    let check = GoldenCheck::Logit { index: k as u32 };
                    return Err(Error::GoldenMismatch { vector, check });
                }
            }
            if class as u32 != g.class {
                let check = GoldenCheck::Class {
                    expected: g.class,
                    found: class as u32,
                };
                return Err(Error::GoldenMismatch { vector, check });
            }
        }
        Ok(self.file.golden.len())
    }
}

/// Index of the largest value (the first of equal maxima; NaN never wins; 0 if empty).
///
/// ```
/// assert_eq!(hyperinr_runtime::argmax(&[0.5, 2.0, f32::NAN, 2.0]), 1);
/// ```
pub fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    let mut best_value = f32::NEG_INFINITY;
    for (i, &v) in values.iter().enumerate() {
        if v > best_value {
            best = i;
            best_value = v;
        }
    }
    best
}

/// CRC-32 of SIREN parameters as little-endian `f32` bytes (what golden vectors store).
///
/// ```
/// assert_eq!(hyperinr_runtime::weights_crc(&[]), 0);
/// ```
pub fn weights_crc(weights: &[f32]) -> u32 {
    let mut crc = Crc32::new();
    for w in weights {
        crc.update(&w.to_le_bytes());
    }
    crc.finish()
}

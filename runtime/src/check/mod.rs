//! The boot check: the one sequence of steps the firmware runs on boot and the host tests
//! replay, so that both sides compute the same outputs in the same order and the parity
//! tests can compare them bit for bit.
//!
//! [`run`] takes a parsed [`Model`] (parsing is the caller's step 0: its error has no model
//! to go on with) and caller-provided [`Buffers`], and reports every result through a
//! [`Report`], in this order:
//!
//! 1. the self-test ([`Model::self_test`], timed): [`Event::SelfTest`], pass or mismatch —
//!    a mismatch does not stop the sequence, the rest still runs for diagnosis;
//! 2. every golden vector recomputed: [`Event::GoldenStart`], one [`Event::GoldenOutputs`]
//!    per query point, [`Event::GoldenLogits`];
//! 3. every stored latent classified: [`Event::ClassesStart`], one [`Event::Classified`]
//!    each, then [`Event::Accuracy`] against the stored labels; without stored latents the
//!    sequence ends here;
//! 4. the stored latents of [`decoded_latents`] (first, middle, last) decoded:
//!    [`Event::Decoded`] each;
//! 5. stored latent 0 decoded, classified and rendered, each timed ([`Report::measure`]):
//!    every pixel of an image model, or a [`CLOUD_GRID`]³ grid of cell centres in
//!    `[-1, 1]³` for a point-cloud model ([`cloud_grid`]): [`Event::Rendered`].
//!
//! 6. with observations embedded, a separate call, [`fit_observations`]: every observation
//!    fitted (φ frozen), classified, [`Event::Fitted`] each, then [`Event::FitAccuracy`].
//!
//! Every [`Event`] maps to a record of the results file: `hyperinr_shared::results::Encoder`
//! implements [`Report`] (`record.rs`), for the firmware and for the host's replay alike.
//!
//! Nothing here allocates or panics; an inference error (only a wrong buffer can cause one
//! once a model parsed) ends the sequence with `Err`. Buffers are checked before step 1,
//! so that no step stops half-way through what it reports.

use crate::error::{Buffer, Error};
use crate::model::{at_least, dequantize_latent, exact, weights_crc, Model, Workspace};
use crate::nn::image_coord;
use hyperinr_shared::results::RenderKind;
use hyperinr_shared::{InputKind, MAX_OUT_DIM};

mod fit;
mod record;

pub use fit::{
    fit_coords_len, fit_observations, fit_targets_len, query_settings, FitBuffers, FitSummary,
    FIT_QUERIES,
};

/// Grid points per axis of a point-cloud model's render.
pub const CLOUD_GRID: u32 = 8;

/// Widest SIREN input ([`InputKind::coord_dim`]: 2 or 3).
const MAX_IN_DIM: usize = 3;

/// A step [`run`] times through [`Report::measure`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Timed {
    /// [`Model::self_test`] over every golden vector (work: 0).
    SelfTest,
    /// One [`Model::decode_weights`] (work: [`Model::decode_macs`]).
    Decode,
    /// One [`Model::classify`] (work: [`Model::classify_macs`]).
    Classify,
    /// The render of step 5 (work: [`Model::siren_macs_per_point`] × points).
    Render,
    /// Step 6: one observation's [`Model::fit_latent`] (work: its steps ×
    /// [`Model::fit_step_macs`]).
    Fit,
    /// Step 6: a cloud's query points drawn ([`crate::udf_queries`]; work: queries × cloud
    /// points, the distances computed).
    Queries,
}

/// What one step produced, borrowed from the buffers for the duration of the call.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Event<'a> {
    /// Step 1: golden vectors that reproduced bit for bit, or the first mismatch.
    SelfTest(Result<usize, Error>),
    /// Step 2: golden vector `index` recomputed; `outputs` SIREN values (in
    /// [`Event::GoldenOutputs`] pieces) and `logits` logits follow.
    GoldenStart {
        /// Index among the file's golden vectors.
        index: usize,
        /// CRC-32 of the decoded parameters ([`weights_crc`]).
        weights_crc: u32,
        /// Predicted class.
        class: usize,
        /// Output values to follow: points × `out_dim`.
        outputs: usize,
        /// Logits to follow.
        logits: usize,
    },
    /// Step 2: the outputs at the next query point (`out_dim` values).
    GoldenOutputs(&'a [f32]),
    /// Step 2: the golden vector's logits; its record is complete.
    GoldenLogits(&'a [f32]),
    /// Step 3: `count` stored latents with `logits` logits each follow.
    ClassesStart {
        /// Stored latents.
        count: usize,
        /// Logits per latent.
        logits: usize,
    },
    /// Step 3: stored latent `latent` classified.
    Classified {
        /// Stored latent index.
        latent: usize,
        /// Predicted class.
        class: usize,
        /// The store's label.
        label: u8,
        /// The logits.
        logits: &'a [f32],
    },
    /// Step 3: latents whose class is their label.
    Accuracy {
        /// Correctly classified.
        correct: usize,
        /// Classified.
        count: usize,
    },
    /// Step 4: stored latent `latent` decoded.
    Decoded {
        /// Stored latent index.
        latent: usize,
        /// Its SIREN parameters.
        weights: &'a [f32],
    },
    /// Step 5: stored latent `latent` rendered.
    Rendered {
        /// Stored latent index (0).
        latent: usize,
        /// Pixels or grid points.
        kind: RenderKind,
        /// Points evaluated.
        points: usize,
        /// Outputs per point.
        out_dim: usize,
        /// `points × out_dim` outputs.
        values: &'a [f32],
    },
    /// Step 6: an observation fitted on the device and classified.
    Fitted {
        /// Index in the observations file.
        observation: usize,
        /// Its dataset index.
        dataset_index: u32,
        /// Its label.
        label: u8,
        /// The fitted latent's class.
        class: usize,
        /// Steps, points, last error.
        outcome: crate::FitOutcome,
        /// The fitted latent.
        latent: &'a [f32],
        /// Its logits.
        logits: &'a [f32],
    },
    /// Step 6: observations whose fitted latent classifies as their label.
    FitAccuracy {
        /// Correctly classified.
        correct: usize,
        /// Fitted.
        count: usize,
    },
}

/// Where [`run`] reports. The results file's encoder is one
/// (`hyperinr_shared::results::Encoder`: each event becomes its record, FORMAT.md §6), so
/// the firmware and the host tests write the same file from the same events; the firmware
/// wraps it to add its log lines and timings.
pub trait Report {
    /// One step's result, in sequence order.
    fn event(&mut self, event: Event<'_>);

    /// Runs `step` (`f`), `work` being its multiply–accumulates; the firmware counts the
    /// ticks it takes. By default it just runs it.
    fn measure<T>(&mut self, step: Timed, work: usize, f: impl FnOnce() -> T) -> T {
        let _ = (step, work);
        f()
    }
}

/// Everything [`run`] writes into.
#[derive(Debug)]
pub struct Buffers<'b> {
    /// Sized by [`Model::sizes`].
    pub ws: Workspace<'b>,
    /// [`render_len`] values.
    pub render: &'b mut [f32],
    /// [`coords_len`] values (none for an image model).
    pub coords: &'b mut [f32],
}

/// What a finished sequence found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Step 1's result.
    pub self_test: Result<usize, Error>,
    /// Stored latents classified as their label.
    pub correct: usize,
    /// Stored latents.
    pub count: usize,
}

/// The kind of step 5's render.
pub const fn render_kind(input: &InputKind) -> RenderKind {
    match input {
        InputKind::Image { .. } => RenderKind::Image,
        InputKind::PointCloud { .. } => RenderKind::PointGrid,
    }
}

/// Points step 5 evaluates: every pixel, or the [`CLOUD_GRID`]³ grid.
///
/// ```
/// use hyperinr_runtime::check::render_points;
/// use hyperinr_shared::{InputKind, QuerySampler};
/// assert_eq!(render_points(&InputKind::Image { width: 28, height: 28 }), 784);
/// let cloud = InputKind::PointCloud { udf_clamp: 0.1, sampler: QuerySampler::DEFAULT };
/// assert_eq!(render_points(&cloud), 512);
/// ```
pub const fn render_points(input: &InputKind) -> usize {
    match input {
        InputKind::Image { width, height } => (*width as usize).saturating_mul(*height as usize),
        InputKind::PointCloud { .. } => (CLOUD_GRID * CLOUD_GRID * CLOUD_GRID) as usize,
    }
}

/// Length of [`Buffers::render`]: points × `out_dim`.
pub fn render_len(model: &Model<'_>) -> usize {
    render_points(&model.config().input).saturating_mul(model.sizes().out_dim)
}

/// Length of [`Buffers::coords`]: the grid's coordinates for a point-cloud model, else 0.
pub fn coords_len(model: &Model<'_>) -> usize {
    match model.config().input {
        InputKind::Image { .. } => 0,
        InputKind::PointCloud { .. } => render_points(&model.config().input) * MAX_IN_DIM,
    }
}

/// The stored latents step 4 decodes: the first, middle and last of `count`, each once.
///
/// ```
/// use hyperinr_runtime::check::decoded_latents;
/// assert_eq!(decoded_latents(0).count(), 0);
/// assert_eq!(decoded_latents(2).collect::<Vec<_>>(), [0, 1]);
/// assert_eq!(decoded_latents(1000).collect::<Vec<_>>(), [0, 500, 999]);
/// ```
pub fn decoded_latents(count: usize) -> impl Iterator<Item = usize> {
    let picks = [0, count / 2, count.saturating_sub(1)];
    let n = if count == 0 { 0 } else { picks.len() };
    (0..n).filter_map(move |k| {
        let j = *picks.get(k)?;
        let seen = picks.get(..k)?;
        (!seen.contains(&j)).then_some(j)
    })
}

/// Writes the point-cloud render's query points into `coords`, 3 values per point: point
/// `p` is `(image_coord(p % n, n), image_coord(p / n % n, n), image_coord(p / n², n))`
/// with `n` = [`CLOUD_GRID`] (cell centres, x fastest). Returns the number of points.
///
/// ```
/// let mut coords = [0.0f32; 6];
/// assert_eq!(hyperinr_runtime::check::cloud_grid(&mut coords), 2);
/// assert_eq!(coords, [-0.875, -0.875, -0.875, -0.625, -0.875, -0.875]);
/// ```
pub fn cloud_grid(coords: &mut [f32]) -> usize {
    let n = CLOUD_GRID;
    let mut points = 0;
    for (p, xyz) in coords.chunks_exact_mut(MAX_IN_DIM).enumerate() {
        let p = p as u32;
        let axes = [p % n, (p / n) % n, p / (n * n)];
        for (slot, a) in xyz.iter_mut().zip(axes) {
            *slot = image_coord(a, n);
        }
        points += 1;
    }
    points
}

/// Checks every buffer before anything is reported.
fn check_buffers(model: &Model<'_>, b: &Buffers<'_>) -> Result<(), Error> {
    let s = model.sizes();
    exact(Buffer::Latent, s.latent, b.ws.latent.len())?;
    exact(Buffer::Weights, s.weights, b.ws.weights.len())?;
    exact(Buffer::Logits, s.logits, b.ws.logits.len())?;
    at_least(Buffer::Scratch, s.scratch, b.ws.scratch.len())?;
    exact(Buffer::Outputs, render_len(model), b.render.len())?;
    exact(Buffer::Coords, coords_len(model), b.coords.len())?;
    // The golden vectors are evaluated one point at a time in fixed arrays.
    if s.in_dim > MAX_IN_DIM || s.in_dim == 0 {
        return Err(Error::BufferSize {
            buffer: Buffer::Coords,
            needed: s.in_dim,
            got: MAX_IN_DIM,
        });
    }
    if s.out_dim > MAX_OUT_DIM as usize {
        return Err(Error::BufferSize {
            buffer: Buffer::Outputs,
            needed: s.out_dim,
            got: MAX_OUT_DIM as usize,
        });
    }
    Ok(())
}

/// Runs the boot check on `model` (module docs: the steps and their order).
pub fn run(
    model: &Model<'_>,
    buffers: &mut Buffers<'_>,
    report: &mut impl Report,
) -> Result<Outcome, Error> {
    check_buffers(model, buffers)?;
    let Buffers { ws, render, coords } = buffers;

    // 1. Golden vectors, compared.
    let self_test = report.measure(Timed::SelfTest, 0, || model.self_test(ws));
    report.event(Event::SelfTest(self_test));

    // 2. Golden vectors, recomputed.
    golden_outputs(model, ws, report)?;

    // 3. Every stored latent through the classifier.
    let count = model.latent_count();
    report.event(Event::ClassesStart {
        count,
        logits: ws.logits.len(),
    });
    let mut correct = 0;
    for latent in 0..count {
        let stored = model.stored_latent(latent, ws.latent)?;
        let class = model.classify(ws.latent, ws.logits, ws.scratch)?;
        if class == usize::from(stored.label) {
            correct += 1;
        }
        report.event(Event::Classified {
            latent,
            class,
            label: stored.label,
            logits: ws.logits,
        });
    }
    report.event(Event::Accuracy { correct, count });
    let outcome = Outcome {
        self_test,
        correct,
        count,
    };
    if count == 0 {
        return Ok(outcome);
    }

    // 4. Decoded SIREN parameters of the first, middle and last latent.
    for latent in decoded_latents(count) {
        model.stored_latent(latent, ws.latent)?;
        model.decode_weights(ws.latent, ws.weights, ws.scratch)?;
        report.event(Event::Decoded {
            latent,
            weights: ws.weights,
        });
    }

    // 5. Latent 0: one decode, one classification, one render, each timed.
    model.stored_latent(0, ws.latent)?;
    report.measure(Timed::Decode, model.decode_macs(), || {
        model.decode_weights(ws.latent, ws.weights, ws.scratch)
    })?;
    report.measure(Timed::Classify, model.classify_macs(), || {
        model.classify(ws.latent, ws.logits, ws.scratch)
    })?;
    let input = model.config().input;
    let points = render_points(&input);
    let macs = model.siren_macs_per_point().saturating_mul(points);
    report.measure(Timed::Render, macs, || match input {
        InputKind::Image { .. } => model.render_image(ws.weights, render, ws.scratch),
        InputKind::PointCloud { .. } => {
            cloud_grid(coords);
            model.eval_siren(ws.weights, coords, render, ws.scratch)
        }
    })?;
    report.event(Event::Rendered {
        latent: 0,
        kind: render_kind(&input),
        points,
        out_dim: model.sizes().out_dim,
        values: render,
    });
    Ok(outcome)
}

/// Step 2: every golden vector's outputs, logits and class, as this runtime computes them
/// (the self-test compares them; this reports them).
fn golden_outputs(
    model: &Model<'_>,
    ws: &mut Workspace<'_>,
    report: &mut impl Report,
) -> Result<(), Error> {
    let sizes = model.sizes();
    let (in_dim, out_dim) = (sizes.in_dim, sizes.out_dim);
    let mut x = [0.0f32; MAX_IN_DIM];
    let mut y = [0.0f32; MAX_OUT_DIM as usize];
    // `check_buffers` bounded both widths; the fallbacks only keep this panic-free.
    let x = x.get_mut(..in_dim).unwrap_or_default();
    let y = y.get_mut(..out_dim).unwrap_or_default();
    for (index, g) in model.file().golden.iter().enumerate() {
        dequantize_latent(g.codes, g.scale, ws.latent)?;
        model.decode_weights(ws.latent, ws.weights, ws.scratch)?;
        let class = model.classify(ws.latent, ws.logits, ws.scratch)?;
        let points = g.coords.len() / in_dim.max(1);
        report.event(Event::GoldenStart {
            index,
            weights_crc: weights_crc(ws.weights),
            class,
            outputs: points * out_dim,
            logits: ws.logits.len(),
        });
        for p in 0..points {
            for (k, slot) in x.iter_mut().enumerate() {
                *slot = g.coords.get(p * in_dim + k).unwrap_or(f32::NAN);
            }
            model.eval_siren(ws.weights, x, y, ws.scratch)?;
            report.event(Event::GoldenOutputs(y));
        }
        report.event(Event::GoldenLogits(ws.logits));
    }
    Ok(())
}

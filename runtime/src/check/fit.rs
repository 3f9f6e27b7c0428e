//! Step 6 of the boot check, when observations are embedded: every observation fitted on
//! the device (φ frozen, [`Model::fit_latent`] with the file's settings), classified, and
//! scored against its label.

use super::{Event, Report, Timed};
use crate::error::{Buffer, Error};
use crate::fit::{FitWorkspace, Observation, PixelSet};
use crate::model::{at_least, exact, Model, Workspace};
use crate::queries::{udf_queries, QuerySettings};
use hyperinr_shared::observations::{ObservationData, ObservationKind, Observations};
use hyperinr_shared::{InputKind, QuerySampler};

/// Query points drawn per point-cloud observation ([`udf_queries`] with the model's
/// sampler; the trainer fits shapes at 1,024 queries per step too).
pub const FIT_QUERIES: usize = 1024;

/// Buffers of step 6, besides the [`Workspace`] of the other steps.
#[derive(Debug)]
pub struct FitBuffers<'b> {
    /// The fitting workspace ([`Model::sizes`]).
    pub fit: FitWorkspace<'b>,
    /// [`fit_coords_len`] values: the query points of a cloud.
    pub coords: &'b mut [f32],
    /// [`fit_targets_len`] values: their target distances.
    pub targets: &'b mut [f32],
}

/// Length of [`FitBuffers::coords`]: `3 ×` [`FIT_QUERIES`] for a point-cloud model, else 0.
pub fn fit_coords_len(model: &Model<'_>) -> usize {
    3 * fit_targets_len(model)
}

/// Length of [`FitBuffers::targets`]: [`FIT_QUERIES`] `× out_dim` for a point-cloud model,
/// else 0.
pub fn fit_targets_len(model: &Model<'_>) -> usize {
    match model.config().input {
        InputKind::Image { .. } => 0,
        InputKind::PointCloud { .. } => FIT_QUERIES * model.sizes().out_dim,
    }
}

/// The query sampler of observation `dataset_index`: the model's sampler and clamp (what its
/// training drew), seeded with the dataset index (host and device draw the same queries).
/// An image model gets the default sampler with clamp 0 (it draws no queries).
pub fn query_settings(model: &Model<'_>, dataset_index: u32) -> QuerySettings {
    let (sampler, clamp) = match model.config().input {
        InputKind::PointCloud { udf_clamp, sampler } => (sampler, udf_clamp),
        InputKind::Image { .. } => (QuerySampler::DEFAULT, 0.0),
    };
    QuerySettings {
        sampler,
        clamp,
        seed: u64::from(dataset_index),
    }
}

/// What step 6 found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FitSummary {
    /// Observations whose fitted latent classifies as their label.
    pub correct: usize,
    /// Observations fitted.
    pub count: usize,
}

/// Checks that `observations` suit `model` and the buffers their sizes, before anything is
/// reported.
fn check(
    model: &Model<'_>,
    observations: &Observations<'_>,
    ws: &Workspace<'_>,
    b: &FitBuffers<'_>,
) -> Result<(), Error> {
    let s = model.sizes();
    match (observations.kind, model.config().input) {
        (
            ObservationKind::Image { width, height },
            InputKind::Image {
                width: w,
                height: h,
            },
        ) => {
            if (width, height) != (w, h) {
                return Err(Error::BufferSize {
                    buffer: Buffer::Observation,
                    needed: w as usize * h as usize,
                    got: width as usize * height as usize,
                });
            }
        }
        (ObservationKind::PointCloud { .. }, InputKind::PointCloud { .. }) => {}
        (_, input) => {
            return Err(Error::ObservationKind {
                model_is_image: matches!(input, InputKind::Image { .. }),
            })
        }
    }
    exact(Buffer::Latent, s.latent, ws.latent.len())?;
    exact(Buffer::Logits, s.logits, ws.logits.len())?;
    at_least(Buffer::Scratch, s.scratch, ws.scratch.len())?;
    exact(Buffer::Weights, s.weights, b.fit.weights.len())?;
    exact(Buffer::Weights, s.weights, b.fit.weight_grads.len())?;
    exact(Buffer::Scratch, s.fit_state, b.fit.state.len())?;
    at_least(Buffer::Scratch, s.fit_scratch, b.fit.scratch.len())?;
    exact(Buffer::Coords, fit_coords_len(model), b.coords.len())?;
    exact(Buffer::Observation, fit_targets_len(model), b.targets.len())
}

/// Step 6: fits every observation of `observations` ([`Timed::Fit`]; a cloud's queries
/// first, [`Timed::Queries`]), classifies the latent and reports [`Event::Fitted`], then
/// [`Event::FitAccuracy`]. An observation of the wrong kind or size for the model, or a
/// buffer of the wrong size, is an error before anything is reported.
pub fn fit_observations(
    model: &Model<'_>,
    observations: &Observations<'_>,
    ws: &mut Workspace<'_>,
    b: &mut FitBuffers<'_>,
    report: &mut impl Report,
) -> Result<FitSummary, Error> {
    check(model, observations, ws, b)?;
    let settings = *model.fit_settings();
    let fitted = if observations.fitted.is_empty() {
        PixelSet::All
    } else {
        PixelSet::Indices(observations.fitted)
    };
    let mut correct = 0;
    for (index, raw) in observations.iter().enumerate() {
        let observation = match raw.data {
            ObservationData::Pixels(pixels) => Observation::Image { pixels, fitted },
            ObservationData::Cloud(cloud) => {
                let query = query_settings(model, raw.dataset_index);
                let work = b.targets.len().saturating_mul(cloud.len() / 3);
                report.measure(Timed::Queries, work, || {
                    udf_queries(cloud, &query, b.coords, b.targets)
                })?;
                Observation::Points {
                    coords: b.coords,
                    targets: b.targets,
                }
            }
        };
        let points = match observation {
            Observation::Image { pixels, fitted } => match fitted {
                PixelSet::All => pixels.len(),
                PixelSet::Indices(i) => i.len(),
            },
            Observation::Points { targets, .. } => targets.len() / model.sizes().out_dim.max(1),
        };
        let work = model
            .fit_step_macs(points)
            .saturating_mul(settings.steps as usize);
        let outcome = report.measure(Timed::Fit, work, || {
            model.fit_latent(observation, &settings, &mut b.fit, ws.latent)
        })?;
        let class = model.classify(ws.latent, ws.logits, ws.scratch)?;
        if class == usize::from(raw.label) {
            correct += 1;
        }
        report.event(Event::Fitted {
            observation: index,
            dataset_index: raw.dataset_index,
            label: raw.label,
            class,
            outcome,
            latent: ws.latent,
            logits: ws.logits,
        });
    }
    let count = observations.len();
    report.event(Event::FitAccuracy { correct, count });
    Ok(FitSummary { correct, count })
}

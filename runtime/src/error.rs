//! Runtime errors.

use core::fmt;
use hyperinr_shared::FormatError;

/// A caller-provided buffer, named in [`Error::BufferSize`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Buffer {
    /// A latent code (`latent_dim`).
    Latent,
    /// SIREN parameters (`weights_len`).
    Weights,
    /// Query coordinates (a multiple of `in_dim`).
    Coords,
    /// SIREN outputs (`points × out_dim`).
    Outputs,
    /// Scratch (`scratch_len`).
    Scratch,
    /// Classifier logits (`class_count`).
    Logits,
    /// An observation to fit: pixels (`width × height`), or query points (`in_dim` each)
    /// and their targets (`out_dim` each).
    Observation,
}

/// Which part of a golden vector did not reproduce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum GoldenCheck {
    /// The CRC-32 of the decoded SIREN parameters.
    Weights {
        /// CRC in the file.
        expected: u32,
        /// CRC of what this runtime decoded.
        found: u32,
    },
    /// A SIREN output value (index into the golden outputs).
    Output {
        /// Index of the value.
        index: u32,
    },
    /// A logit (class index).
    Logit {
        /// Index of the logit.
        index: u32,
    },
    /// The predicted class.
    Class {
        /// Class in the file.
        expected: u32,
        /// Class this runtime predicted.
        found: u32,
    },
}

/// Everything the runtime can report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error {
    /// The model file was rejected.
    Format(FormatError),
    /// A buffer has the wrong length.
    BufferSize {
        /// Which buffer.
        buffer: Buffer,
        /// Length required (minimum for scratch, exact otherwise).
        needed: usize,
        /// Length given.
        got: usize,
    },
    /// A stored-latent index past the end of the store.
    LatentIndex {
        /// Index asked for.
        index: usize,
        /// Latents stored.
        count: usize,
    },
    /// The model is not an image model (for image rendering).
    NotAnImage,
    /// An observation of the other kind than the model's input (an image for a point-cloud
    /// model, or query points for an image model).
    ObservationKind {
        /// The model represents images (else point clouds).
        model_is_image: bool,
    },
    /// A pixel index of an observation lies outside the image.
    PixelIndex {
        /// Position of the index in the list.
        position: usize,
        /// The index.
        index: u32,
        /// Pixels in the image (`width × height`).
        pixels: usize,
    },
    /// An observation with no point to fit.
    EmptyObservation,
    /// A golden vector did not reproduce bit for bit.
    GoldenMismatch {
        /// Index of the golden vector.
        vector: u32,
        /// What differed.
        check: GoldenCheck,
    },
}

impl From<FormatError> for Error {
    fn from(e: FormatError) -> Self {
        Error::Format(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Format(e) => write!(f, "invalid model file: {e}"),
            Error::BufferSize {
                buffer,
                needed,
                got,
            } => write!(f, "{buffer:?} buffer has {got} elements, needs {needed}"),
            Error::LatentIndex { index, count } => {
                write!(f, "latent {index} requested, the store holds {count}")
            }
            Error::NotAnImage => f.write_str("the model does not represent images"),
            Error::ObservationKind { model_is_image } => f.write_str(if *model_is_image {
                "the model represents images; the observation is a set of query points"
            } else {
                "the model represents point clouds; the observation is an image"
            }),
            Error::PixelIndex {
                position,
                index,
                pixels,
            } => write!(
                f,
                "pixel index {index} at position {position} is outside the image ({pixels} pixels)"
            ),
            Error::EmptyObservation => f.write_str("the observation has no point to fit"),
            Error::GoldenMismatch { vector, check } => {
                write!(f, "golden vector {vector} does not reproduce: {check:?}")
            }
        }
    }
}

impl core::error::Error for Error {}

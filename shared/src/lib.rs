//! The one definition of the HyperINR model file (`*.hinr`) and its quantisation scheme,
//! of the firmware's results file ([`results`], magic `HIRS`) and of raw observations for
//! on-device fitting ([`observations`], magic `HOBS`).
//!
//! A model file is a 16-byte [`Header`] followed by a postcard payload of six sections
//! ([`ModelFile`]). The reader ([`ModelFile::parse`]) is `no_std`, allocates nothing and
//! borrows every array from the input bytes; the writer ([`ModelFile::to_bytes`]) needs the
//! `std` feature. The byte-level specification is `FORMAT.md` next to this crate.
//!
//! ```
//! use hyperinr_shared::{ModelFile, FormatError};
//! let err = ModelFile::parse(b"not a model file at all").unwrap_err();
//! assert!(matches!(err, FormatError::BadMagic { .. }));
//! ```
#![no_std]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]
#![warn(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

pub mod crc32;
mod error;
#[cfg(feature = "std")]
pub mod example;
mod header;
pub mod layout;
mod model;
pub mod observations;
pub mod quant;
mod read;
pub mod results;
mod slices;
#[cfg(feature = "std")]
pub mod upgrade;
mod validate;
#[cfg(feature = "std")]
pub mod write;

pub use error::{FormatError, Problem, Section};
pub use header::{
    Header, FORMAT_VERSION, HEADER_LEN, MAGIC, MAX_PAYLOAD_LEN, OLDEST_FORMAT_VERSION,
};
/// The `heapless` version the model structs use (for writers building them).
pub use heapless;
pub use model::{
    Classifier, FitSettings, GoldenVector, HyperActivation, InputKind, LatentStore, ModelConfig,
    ModelFile, Provenance, QuantLinear, QuerySampler, Split, MAX_CLASSES, MAX_GOLDEN,
    MAX_HIDDEN_LAYERS, MAX_IMAGE_SIDE, MAX_LAYERS, MAX_OUT_DIM, MAX_WIDTH,
};
pub use slices::{F32Slice, I8Slice, U32Slice};

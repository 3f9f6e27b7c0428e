//! HyperINR inference for hosts and microcontrollers: `no_std`, no heap, no panics.
//!
//! [`Model::from_bytes`] validates a `.hinr` blob (zero-copy: it can live in flash);
//! [`Model::decode_weights`] turns a latent into SIREN parameters (the hypernetwork
//! forward), [`Model::eval_siren`] evaluates the SIREN at a batch of points,
//! [`Model::classify`] classifies a latent, [`Model::self_test`] replays the file's golden
//! vectors, and [`check::run`] is the boot check the firmware runs and the host tests
//! replay. Every entry point writes into caller-provided buffers whose sizes
//! [`Model::sizes`] gives; the `const fn`s in [`layout`] give the same sizes at compile time.
//!
//! Numeric contract: f32 arithmetic, int8 dequantised as `q as f32 * scale`, dot products
//! accumulated from 0 in ascending input index, no fused multiply–add, one `f32` sine ([`sine`]),
//! one formula per hypernetwork activation ([`activate`]; SiLU through libm's `expf`). The
//! same blob and inputs give the same bits on x86_64 and Cortex-M4F.
//!
//! ```
//! use hyperinr_runtime::{Error, Model};
//! use hyperinr_shared::FormatError;
//! assert!(matches!(
//!     Model::from_bytes(&[0u8; 8]),
//!     Err(Error::Format(FormatError::TooShort { len: 8 }))
//! ));
//! ```
#![no_std]
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::indexing_slicing))]

#[cfg(feature = "std")]
extern crate std;

pub mod check;
mod error;
mod fit;
#[cfg(feature = "std")]
mod golden;
mod lanes;
mod model;
mod nn;
mod queries;

pub use error::{Buffer, Error, GoldenCheck};
pub use fit::{activation_derivative, FitOutcome, FitWorkspace, Observation, PixelSet, INIT_SEED};
#[cfg(feature = "std")]
pub use golden::{compute_golden, FitWorkspaceBuf, GoldenBytes, GoldenOwned, WorkspaceBuf};
pub use hyperinr_shared::layout;
pub use lanes::LANES;
pub use model::{argmax, dequantize_latent, weights_crc, Model, Sizes, StoredLatent, Workspace};
pub use nn::{activate, cosine, image_coord, sine};
pub use queries::{udf_queries, QuerySettings, SplitMix64};

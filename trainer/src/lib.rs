//! The HyperINR trainer as a library: everything `hyperinr` does, one folder per stage of
//! the pipeline (the layout, one line per folder, is in `trainer/README.md`).
//!
//! - [`data`]: what the INR stage fits — images and shapes as [`data::samples::Samples`]
//!   (the readers themselves are the burn-free `hyperinr-data` crate);
//! - [`geometry`]: point clouds — nearest neighbours, UDF sampling, Chamfer distance;
//! - [`model`]: the hypernetwork φ, the SIREN it parameterises, the latent classifier;
//! - [`backend`]: which burn backend runs, and the fused SIREN op that extends it;
//! - [`train`]: auto-decoding, per-sample latents, checkpoints, test-time fitting,
//!   classifier training, the files a run directory holds;
//! - [`export`]: int8 quantisation and the `.hinr` file (golden vectors from the runtime);
//! - [`eval`]: a model file measured with the runtime, the PCA baseline, speed benches;
//! - [`analysis`]: the IFT check, the capacity ladder, latent-space maps;
//! - [`viz`]: the one place that draws;
//! - [`cli`]: one file per subcommand: its arguments and its run function.
//!
//! Modules are generic over burn's `Backend` where they touch tensors; the numeric
//! inference code (decode, SIREN, classify) is `hyperinr-runtime`'s, not repeated here.

pub mod analysis;
pub mod backend;
pub mod cli;
pub mod data;
pub mod eval;
pub mod export;
pub mod geometry;
pub mod model;
pub mod train;
pub mod viz;

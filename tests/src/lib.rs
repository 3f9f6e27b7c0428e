//! Cross-crate contract tests: host/firmware bitwise parity.
//!
//! - [`synthetic`]: model files with the real shapes and seeded random weights, standing
//!   in for the trainer's export.
//! - [`results`]: the firmware's results file (its layout is in firmware/README.md).
//! - [`firmware`]: builds the firmware for a blob, runs it in QEMU, decodes its defmt log.
//! - [`expected`]: what the host runtime computes for the same blob.

pub mod expected;
pub mod firmware;
pub mod results;
pub mod synthetic;

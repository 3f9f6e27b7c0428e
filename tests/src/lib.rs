//! Cross-crate contract tests: host/firmware bitwise parity.
//!
//! - [`synthetic`]: model files with the real shapes and seeded random weights, standing
//!   in for the trainer's export.
//! - [`results`]: the firmware's results file as owned values (the layout is
//!   `hyperinr_shared::results`, spec in shared/FORMAT.md §6).
//! - [`firmware`]: builds the firmware for a blob, runs it in QEMU, decodes its defmt log.
//! - [`expected`]: what the host runtime computes for the same blob, replaying the
//!   firmware's boot check (`hyperinr_runtime::check`).
//! - [`observations`]: observations files cut from the in-repo subsets, for fitting on the
//!   device.

pub mod expected;
pub mod firmware;
pub mod observations;
pub mod results;
pub mod synthetic;

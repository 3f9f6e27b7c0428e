//! What the INR stage fits, built on the burn-free readers of `hyperinr-data`.

pub mod samples;

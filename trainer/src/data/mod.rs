//! What the INR stage fits, built on the burn-free readers of `hyperinr-data`, and a user's
//! picture prepared the way the dataset's items were (`classify --input`).

pub mod augment;
pub mod picture;
pub mod samples;

//! Models the runtime's integration tests share.
#![allow(clippy::unwrap_used, dead_code)]

use hyperinr_runtime::{compute_golden, Model};
use hyperinr_shared::example::ExampleModel;

/// Query points of [`with_golden`]'s golden vectors: three `(x, y)` pairs.
pub const GOLDEN_COORDS: [f32; 6] = [0.1, 0.2, -0.7, 0.9, 0.3, -0.3];

/// The example model with two golden vectors computed by the runtime itself (its two
/// stored latents, at [`GOLDEN_COORDS`]).
pub fn with_golden() -> Vec<u8> {
    let example = ExampleModel::new();
    let plain = example.file().to_bytes().unwrap();
    let model = Model::from_bytes(&plain).unwrap();
    let goldens: Vec<_> = [([2i8, -4], 0.5f32), ([-1, 3], 1.0)]
        .iter()
        .map(|(codes, scale)| compute_golden(&model, codes, *scale, &GOLDEN_COORDS).unwrap())
        .collect();
    let encoded: Vec<_> = goldens.iter().map(|g| g.encode()).collect();
    let mut file = example.file();
    for g in &encoded {
        file.golden.push(g.view()).unwrap();
    }
    file.to_bytes().unwrap()
}

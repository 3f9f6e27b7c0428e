//! Every layer against values worked out by hand on the example model
//! (`hyperinr_shared::example`), plus golden vectors and buffer checks.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use hyperinr_runtime::{weights_crc, Buffer, Error, GoldenCheck, Model, WorkspaceBuf};
use hyperinr_shared::example::ExampleModel;
use hyperinr_shared::{crc32::crc32, ModelFile, HEADER_LEN};
use proptest::prelude::*;

mod common;
use common::with_golden;

fn example_bytes() -> Vec<u8> {
    ExampleModel::new().file().to_bytes().unwrap()
}

/// Expected SIREN parameters for latent z = [1, −2]: the hidden layer gives
/// relu([1, −2·1 + 0.5, (1 − 2)·0.5]) = [1, 0, 0], so parameter o is (o − 4)·0.25 + 0.01·o.
fn expected_params() -> Vec<f32> {
    (0..9)
        .map(|o| (o as f32 - 4.0) * 0.25 + 0.01 * o as f32)
        .collect()
}

/// The SIREN 2-2-1 at (x, y) with parameters p, in f64 from the definition.
fn siren_f64(p: &[f32], x: f64, y: f64) -> f64 {
    let p: Vec<f64> = p.iter().map(|&v| v as f64).collect();
    let h0 = (30.0 * (p[0] * x + p[1] * y + p[4])).sin();
    let h1 = (30.0 * (p[2] * x + p[3] * y + p[5])).sin();
    p[6] * h0 + p[7] * h1 + p[8]
}

#[test]
fn stored_latents_dequantise() {
    let bytes = example_bytes();
    let model = Model::from_bytes(&bytes).unwrap();
    assert_eq!(model.latent_count(), 2);
    let mut z = [0.0f32; 2];
    let info = model.stored_latent(0, &mut z).unwrap();
    assert_eq!(z, [1.0, -2.0]);
    assert_eq!((info.label, info.dataset_index), (0, 7));
    let info = model.stored_latent(1, &mut z).unwrap();
    assert_eq!(z, [-1.0, 3.0]);
    assert_eq!((info.label, info.dataset_index), (1, 9));
    assert_eq!(
        model.stored_latent(2, &mut z),
        Err(Error::LatentIndex { index: 2, count: 2 })
    );
}

#[test]
fn hypernetwork_by_hand() {
    let bytes = example_bytes();
    let model = Model::from_bytes(&bytes).unwrap();
    let sizes = model.sizes();
    assert_eq!((sizes.latent, sizes.weights, sizes.logits), (2, 9, 2));
    let mut w = vec![0.0; sizes.weights];
    let mut scratch = vec![0.0; sizes.scratch];
    model
        .decode_weights(&[1.0, -2.0], &mut w, &mut scratch)
        .unwrap();
    assert_eq!(w, expected_params());
    // ReLU: with z = [−1, 3] the hidden layer is relu([−1, 3.5, 1]) = [0, 3.5, 1], so
    // parameter o is (3.5 − 1)·0.25 + 0.01·o.
    model
        .decode_weights(&[-1.0, 3.0], &mut w, &mut scratch)
        .unwrap();
    let expected: Vec<f32> = (0..9).map(|o| 2.5 * 0.25 + 0.01 * o as f32).collect();
    assert_eq!(w, expected);
}

/// micromath's sine (`fast-sin`) is ≈2e-3 off, beyond this test's tolerance.
#[cfg(not(feature = "fast-sin"))]
#[test]
fn siren_by_hand() {
    let bytes = example_bytes();
    let model = Model::from_bytes(&bytes).unwrap();
    let p = expected_params();
    let mut scratch = vec![0.0; model.sizes().scratch];
    let coords = [0.25f32, -0.5, -1.0, 1.0, 0.0, 0.0];
    let mut out = [0.0f32; 3];
    model
        .eval_siren(&p, &coords, &mut out, &mut scratch)
        .unwrap();
    for (k, xy) in coords.chunks(2).enumerate() {
        let want = siren_f64(&p, xy[0] as f64, xy[1] as f64);
        assert!(
            (out[k] as f64 - want).abs() < 2e-5,
            "point {k}: {} vs {want}",
            out[k]
        );
    }
    // The exact f32 sequence of the numeric contract, written out.
    let (x, y) = (0.25f32, -0.5f32);
    let h0 = hyperinr_runtime::sine(30.0 * ((0.0 + p[0] * x + p[1] * y) + p[4]));
    let h1 = hyperinr_runtime::sine(30.0 * ((0.0 + p[2] * x + p[3] * y) + p[5]));
    let y0 = (0.0 + p[6] * h0 + p[7] * h1) + p[8];
    assert_eq!(out[0].to_bits(), y0.to_bits());
}

#[test]
fn render_uses_pixel_centres_row_major() {
    let bytes = example_bytes();
    let model = Model::from_bytes(&bytes).unwrap();
    let p = expected_params();
    let mut scratch = vec![0.0; model.sizes().scratch];
    let mut pixels = [0.0f32; 4];
    model.render_image(&p, &mut pixels, &mut scratch).unwrap();
    let coords = [-0.5f32, -0.5, 0.5, -0.5, -0.5, 0.5, 0.5, 0.5];
    let mut direct = [0.0f32; 4];
    model
        .eval_siren(&p, &coords, &mut direct, &mut scratch)
        .unwrap();
    assert_eq!(pixels, direct);
}

#[test]
fn classifier_by_hand() {
    let bytes = example_bytes();
    let model = Model::from_bytes(&bytes).unwrap();
    let mut scratch = vec![0.0; model.sizes().scratch];
    let mut logits = [0.0f32; 2];
    // Standardised: [(1 − 0.5)·2, (−2 − 0.5)·1] = [1, −2.5]; identity layer.
    let class = model
        .classify(&[1.0, -2.0], &mut logits, &mut scratch)
        .unwrap();
    assert_eq!((class, logits), (0, [1.0, -2.5]));
    let class = model
        .classify(&[-1.0, 3.0], &mut logits, &mut scratch)
        .unwrap();
    assert_eq!((class, logits), (1, [-3.0, 2.5]));
}

#[test]
fn buffer_sizes_are_checked() {
    let bytes = example_bytes();
    let model = Model::from_bytes(&bytes).unwrap();
    let s = model.sizes();
    let mut w = vec![0.0; s.weights];
    let mut scratch = vec![0.0; s.scratch];
    assert_eq!(
        model.decode_weights(&[1.0], &mut w, &mut scratch),
        Err(Error::BufferSize {
            buffer: Buffer::Latent,
            needed: 2,
            got: 1
        })
    );
    assert!(matches!(
        model.decode_weights(&[1.0, 2.0], &mut w[..8], &mut scratch),
        Err(Error::BufferSize {
            buffer: Buffer::Weights,
            ..
        })
    ));
    assert!(matches!(
        model.decode_weights(&[1.0, 2.0], &mut w, &mut scratch[..1]),
        Err(Error::BufferSize {
            buffer: Buffer::Scratch,
            ..
        })
    ));
    let mut out = [0.0f32; 2];
    assert!(matches!(
        model.eval_siren(&w, &[0.0; 3], &mut out, &mut scratch),
        Err(Error::BufferSize {
            buffer: Buffer::Coords,
            ..
        })
    ));
    assert!(matches!(
        model.eval_siren(&w, &[0.0; 6], &mut out, &mut scratch),
        Err(Error::BufferSize {
            buffer: Buffer::Outputs,
            ..
        })
    ));
}

#[test]
fn golden_vectors_round_trip() {
    let bytes = with_golden();
    let model = Model::from_bytes(&bytes).unwrap();
    let mut ws = WorkspaceBuf::new(&model);
    assert_eq!(model.self_test(&mut ws.workspace()), Ok(2));
    let g = &model.file().golden[0];
    assert_eq!(g.class, 0);
    assert_eq!(g.weights_crc, weights_crc(&expected_params()));
    assert_eq!(g.logits.iter().collect::<Vec<_>>(), vec![1.0, -2.5]);
}

/// Changes one golden field in the encoded file (CRC fixed) and returns the self-test error.
fn tampered(edit: impl FnOnce(&mut ModelFile<'_>, &mut Vec<u8>)) -> Error {
    let bytes = with_golden();
    let file = ModelFile::parse(&bytes).unwrap();
    let mut copy = file.clone();
    let mut scratch = Vec::new();
    edit(&mut copy, &mut scratch);
    let out = copy.to_bytes().unwrap();
    let model = Model::from_bytes(&out).unwrap();
    let mut ws = WorkspaceBuf::new(&model);
    model.self_test(&mut ws.workspace()).unwrap_err()
}

#[test]
fn golden_mismatches_are_reported() {
    let err = tampered(|f, _| f.golden[1].weights_crc ^= 1);
    assert!(matches!(
        err,
        Error::GoldenMismatch {
            vector: 1,
            check: GoldenCheck::Weights { .. }
        }
    ));
    let err = tampered(|f, _| f.golden[0].class = 1);
    assert_eq!(
        err,
        Error::GoldenMismatch {
            vector: 0,
            check: GoldenCheck::Class {
                expected: 1,
                found: 0
            }
        }
    );
}

#[test]
fn a_flipped_bit_in_outputs_is_caught_by_crc_first() {
    let mut bytes = with_golden();
    let at = bytes.len() - 20;
    bytes[at] ^= 1;
    assert!(matches!(
        Model::from_bytes(&bytes),
        Err(Error::Format(
            hyperinr_shared::FormatError::CrcMismatch { .. }
        ))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Mutated payloads that still parse must run every entry point without panicking.
    #[test]
    fn mutated_models_never_panic(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
        let mut bytes = with_golden();
        let n = bytes.len() - HEADER_LEN;
        for (at, value) in edits {
            bytes[HEADER_LEN + at % n] = value;
        }
        let crc = crc32(&bytes[HEADER_LEN..]);
        bytes[12..16].copy_from_slice(&crc.to_le_bytes());
        let parsed = Model::from_bytes(&bytes);
        if let Ok(model) = &parsed {
            let mut ws = WorkspaceBuf::new(model);
            let _ = model.self_test(&mut ws.workspace());
            let s = model.sizes();
            let mut z = vec![0.0; s.latent];
            let mut w = vec![0.0; s.weights];
            let mut scratch = vec![0.0; s.scratch];
            let mut logits = vec![0.0; s.logits];
            for i in 0..model.latent_count() {
                model.stored_latent(i, &mut z).unwrap();
                model.decode_weights(&z, &mut w, &mut scratch).unwrap();
                model.classify(&z, &mut logits, &mut scratch).unwrap();
                let coords = vec![0.5; s.in_dim * 2];
                let mut out = vec![0.0; s.out_dim * 2];
                model.eval_siren(&w, &coords, &mut out, &mut scratch).unwrap();
            }
        }
    }

    #[test]
    fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = Model::from_bytes(&bytes);
    }
}

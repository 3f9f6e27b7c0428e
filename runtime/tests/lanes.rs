//! `Model::eval_siren_lanes` gives `Model::eval_siren`'s bits: every shipped model, several
//! stored latents, points inside and far outside the unit cube, blocks that end short.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use hyperinr_runtime::{Buffer, Error, Model, LANES};

fn shipped(name: &str) -> Vec<u8> {
    let path = format!("{}/../models/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn lanes_give_the_one_point_bits_on_every_shipped_model() {
    for name in [
        "fashion-mnist.hinr",
        "fashion-mnist-mcu.hinr",
        "modelnet10.hinr",
        "modelnet40.hinr",
    ] {
        let blob = shipped(name);
        let model = Model::from_bytes(&blob).unwrap();
        let s = model.sizes();
        let (mut z, mut w, mut scratch) = (
            vec![0.0; s.latent],
            vec![0.0; s.weights],
            vec![0.0; s.scratch],
        );
        let mut lanes_scratch = vec![f32::NAN; model.lanes_scratch_len()];
        for latent in [0, model.latent_count() / 2, model.latent_count() - 1] {
            model.stored_latent(latent, &mut z).unwrap();
            model.decode_weights(&z, &mut w, &mut scratch).unwrap();
            // 3 · LANES + 5 points: a short last block.
            let points = 3 * LANES + 5;
            let coords: Vec<f32> = (0..points * s.in_dim)
                .map(|i| {
                    ((i * 7919 % 1000) as f32 / 500.0 - 1.0) * if i % 11 == 0 { 40.0 } else { 1.1 }
                })
                .collect();
            let (mut one, mut lanes) =
                (vec![0.0; points * s.out_dim], vec![0.0; points * s.out_dim]);
            model
                .eval_siren(&w, &coords, &mut one, &mut scratch)
                .unwrap();
            model
                .eval_siren_lanes(&w, &coords, &mut lanes, &mut lanes_scratch)
                .unwrap();
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&one), bits(&lanes), "{name}, latent {latent}");
        }
    }
}

#[test]
fn wrong_buffers_are_typed_errors() {
    let blob = shipped("modelnet10.hinr");
    let model = Model::from_bytes(&blob).unwrap();
    let s = model.sizes();
    let w = vec![0.0; s.weights];
    let mut scratch = vec![0.0; model.lanes_scratch_len()];
    let mut out = vec![0.0; 2];
    assert!(matches!(
        model.eval_siren_lanes(&w, &[0.0; 5], &mut out, &mut scratch),
        Err(Error::BufferSize {
            buffer: Buffer::Coords,
            ..
        })
    ));
    assert!(matches!(
        model.eval_siren_lanes(&w, &[0.0; 6], &mut out[..1], &mut scratch),
        Err(Error::BufferSize {
            buffer: Buffer::Outputs,
            ..
        })
    ));
    assert!(matches!(
        model.eval_siren_lanes(&w, &[0.0; 6], &mut out, &mut scratch[..10]),
        Err(Error::BufferSize {
            buffer: Buffer::Scratch,
            ..
        })
    ));
    assert!(matches!(
        model.eval_siren_lanes(&w[1..], &[0.0; 6], &mut out, &mut scratch),
        Err(Error::BufferSize {
            buffer: Buffer::Weights,
            ..
        })
    ));
}

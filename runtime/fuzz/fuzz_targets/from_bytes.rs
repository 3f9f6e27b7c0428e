//! Fuzz target `from_bytes`: any byte string through `Model::from_bytes`, then every
//! runtime entry point on whatever parses.
//!
//! Built by cargo-fuzz with `--cfg fuzzing`, so the header CRC is not checked and mutated
//! payloads reach the postcard decoder and the validator.
//!
//! Beyond "never panics", the target checks the runtime's contract on a validated model:
//! with buffers of the lengths `Model::sizes` gives, every entry point returns `Ok` (only
//! `self_test` may report a golden mismatch, only `render_image` may say `NotAnImage`);
//! with a wrong length it returns `Error::BufferSize`; outputs do not depend on the scratch
//! buffer's length or prior contents; `render_image` agrees bit for bit with `eval_siren`
//! at pixel centres; and the writer re-encodes the parsed file into one that parses back
//! equal. Any violation is an `assert!` failure, which libFuzzer reports as a crash.
#![no_main]

use hyperinr_runtime::{image_coord, Buffer, Error, Model, Sizes, Workspace, WorkspaceBuf};
use hyperinr_shared::{InputKind, ModelFile, MAX_CLASSES, MAX_OUT_DIM};
use libfuzzer_sys::fuzz_target;

/// Largest buffer (in `f32` elements) the target allocates; larger models are skipped.
const MAX_ELEMS: usize = 1 << 20;
/// Stored latents run per input.
const MAX_LATENTS: usize = 64;
/// Largest `pixels × SIREN MACs per point` rendered (keeps one execution in milliseconds).
const MAX_RENDER_MACS: usize = 1 << 20;

/// Query coordinates, `in_dim` (2 or 3) per point: ordinary, boundary and non-finite values.
const COORDS: [f32; 12] = [
    0.0,
    0.0,
    0.0,
    -1.0,
    1.0,
    0.5,
    1e30,
    -1e30,
    3.0,
    f32::NAN,
    f32::INFINITY,
    f32::NEG_INFINITY,
];

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

fn is_buffer_error(r: Result<impl core::fmt::Debug, Error>, which: Buffer) -> bool {
    matches!(r, Err(Error::BufferSize { buffer, .. }) if buffer == which)
}

fn too_big(s: &Sizes) -> bool {
    [s.latent, s.weights, s.scratch, s.logits]
        .iter()
        .any(|&n| n > MAX_ELEMS)
}

fuzz_target!(|data: &[u8]| {
    let Ok(model) = Model::from_bytes(data) else {
        return;
    };
    let s = model.sizes();
    if too_big(&s) {
        return;
    }

    // What validation promises about the shapes.
    let kind = model.config().input;
    assert_eq!(s.in_dim as u32, kind.coord_dim(), "in_dim matches the input kind");
    assert!((1..=MAX_OUT_DIM as usize).contains(&s.out_dim), "out_dim in range");
    assert!((1..=MAX_CLASSES as usize).contains(&s.logits), "class_count in range");
    assert!(s.latent >= 1, "latent_dim non-zero");
    assert!(s.scratch >= s.latent, "classify needs the latent in scratch");
    assert_eq!(s.weights, model.config().siren_param_count());
    if let Some(linear) = model.linear_path() {
        assert_eq!(linear.rows as usize, s.weights, "linear path rows = SIREN parameters");
        assert_eq!(linear.cols as usize, s.latent, "linear path cols = latent_dim");
    }
    let fit = model.fit_settings();
    assert!(fit.steps >= 1 && fit.lr > 0.0 && fit.eps > 0.0, "fit settings validated");
    assert!((0.0..1.0).contains(&fit.beta1) && (0.0..1.0).contains(&fit.beta2));
    assert!(fit.latent_l2 >= 0.0 && fit.init_std >= 0.0 && fit.init_std.is_finite());

    // The writer accepts what the reader accepted, and what it writes reads back equal.
    let rewritten = model
        .file()
        .to_bytes()
        .expect("contract: a parsed model re-encodes");
    assert_eq!(
        ModelFile::parse(&rewritten).as_ref(),
        Ok(model.file()),
        "contract: re-encoded model parses back equal"
    );

    // Golden vectors: with exact buffers, Ok or a mismatch, nothing else.
    let golden = model.file().golden.len();
    let mut ws = WorkspaceBuf::new(&model);
    match model.self_test(&mut ws.workspace()) {
        Ok(n) => assert_eq!(n, golden),
        Err(Error::GoldenMismatch { vector, .. }) => assert!((vector as usize) < golden),
        Err(e) => panic!("contract: self_test with exact buffers failed: {e:?}"),
    }
    // A scratch one element short: an error or (no golden vectors) Ok(0), never a panic.
    if s.scratch > 0 {
        let mut latent = vec![0.0; s.latent];
        let mut weights = vec![0.0; s.weights];
        let mut scratch = vec![0.0; s.scratch - 1];
        let mut logits = vec![0.0; s.logits];
        let mut short = Workspace {
            latent: &mut latent,
            weights: &mut weights,
            scratch: &mut scratch,
            logits: &mut logits,
        };
        let r = model.self_test(&mut short);
        assert!(r.is_err() || golden == 0, "short scratch accepted: {r:?}");
    }

    let mut z = vec![0.0f32; s.latent];
    let mut w = vec![0.0f32; s.weights];
    let mut w2 = vec![0.0f32; s.weights];
    let mut scratch = vec![0.0f32; s.scratch];
    // Larger than needed, odd length, full of NaN: results must not change.
    let mut junk = vec![f32::NAN; s.scratch + 3];
    let mut logits = vec![0.0f32; s.logits];
    let mut logits2 = vec![0.0f32; s.logits];
    let points = COORDS.len() / s.in_dim;
    let coords = &COORDS[..points * s.in_dim];
    let mut out = vec![0.0f32; points * s.out_dim];
    let mut out2 = vec![0.0f32; points * s.out_dim];

    // Out-of-range and wrong-length requests on the store.
    let count = model.latent_count();
    assert!(matches!(
        model.stored_latent(count, &mut z),
        Err(Error::LatentIndex { .. })
    ));
    assert!(model.stored_latent(usize::MAX, &mut z).is_err());
    if count > 0 {
        let mut long = vec![0.0f32; s.latent + 1];
        assert!(is_buffer_error(model.stored_latent(0, &mut long), Buffer::Latent));
    }

    // Every stored latent (capped); a model without any still runs once on z = 0.
    let runs = count.clamp(1, MAX_LATENTS);
    for i in 0..runs {
        if count > 0 {
            let meta = model
                .stored_latent(i, &mut z)
                .expect("contract: stored_latent in range");
            assert!((meta.label as usize) < s.logits, "label in range");
        }

        model
            .decode_weights(&z, &mut w, &mut scratch)
            .expect("contract: decode_weights with exact buffers");
        model
            .decode_weights(&z, &mut w2, &mut junk)
            .expect("contract: decode_weights with a larger scratch");
        assert_eq!(bits(&w), bits(&w2), "decode_weights depends on scratch");

        let class = model
            .classify(&z, &mut logits, &mut scratch)
            .expect("contract: classify with exact buffers");
        let class2 = model
            .classify(&z, &mut logits2, &mut junk)
            .expect("contract: classify with a larger scratch");
        assert!(class < s.logits);
        assert_eq!((class, bits(&logits)), (class2, bits(&logits2)), "classify depends on scratch");

        model
            .eval_siren(&w, coords, &mut out, &mut scratch)
            .expect("contract: eval_siren with exact buffers");
        model
            .eval_siren(&w, coords, &mut out2, &mut junk)
            .expect("contract: eval_siren with a larger scratch");
        assert_eq!(bits(&out), bits(&out2), "eval_siren depends on scratch");

        if i == 0 {
            wrong_lengths(&model, &s, &z, &w, &mut scratch);
            render(&model, &s, &w, &mut scratch, &mut junk);
        }
    }
});

/// Each entry point with one buffer of the wrong length must say which.
fn wrong_lengths(model: &Model<'_>, s: &Sizes, z: &[f32], w: &[f32], scratch: &mut [f32]) {
    let mut z_long = z.to_vec();
    z_long.push(0.0);
    let mut w_long = w.to_vec();
    w_long.push(0.0);
    let mut logits = vec![0.0f32; s.logits];
    let mut logits_long = vec![0.0f32; s.logits + 1];
    let mut out = vec![0.0f32; s.out_dim];
    let mut out_long = vec![0.0f32; s.out_dim + 1];
    let x = vec![0.25f32; s.in_dim];
    let x_long = vec![0.25f32; s.in_dim + 1];
    let short = &mut vec![0.0f32; s.scratch - 1][..];

    let mut w_tmp = w.to_vec();
    assert!(is_buffer_error(model.decode_weights(&z_long, &mut w_tmp, scratch), Buffer::Latent));
    assert!(is_buffer_error(model.decode_weights(z, &mut w_long, scratch), Buffer::Weights));
    assert!(is_buffer_error(model.decode_weights(z, &mut w_tmp, short), Buffer::Scratch));

    assert!(is_buffer_error(model.classify(&z_long, &mut logits, scratch), Buffer::Latent));
    assert!(is_buffer_error(model.classify(z, &mut logits_long, scratch), Buffer::Logits));
    assert!(is_buffer_error(model.classify(z, &mut logits, short), Buffer::Scratch));

    assert!(is_buffer_error(model.eval_siren(&w_long, &x, &mut out, scratch), Buffer::Weights));
    assert!(is_buffer_error(model.eval_siren(w, &x_long, &mut out, scratch), Buffer::Coords));
    assert!(is_buffer_error(model.eval_siren(w, &x, &mut out_long, scratch), Buffer::Outputs));
    assert!(is_buffer_error(model.eval_siren(w, &x, &mut out, short), Buffer::Scratch));
    // No points at all: nothing to do.
    assert!(model.eval_siren(w, &[], &mut [], scratch).is_ok());
}

/// `render_image` for image models whose output fits the caps; `NotAnImage` otherwise.
fn render(model: &Model<'_>, s: &Sizes, w: &[f32], scratch: &mut [f32], junk: &mut [f32]) {
    let (width, height) = match model.config().input {
        InputKind::Image { width, height } => (width, height),
        InputKind::PointCloud { .. } => {
            assert_eq!(model.render_image(w, &mut [], scratch), Err(Error::NotAnImage));
            return;
        }
    };
    let pixels = width as usize * height as usize;
    let values = pixels * s.out_dim;
    let macs = model.siren_macs_per_point().max(1);
    if values > MAX_ELEMS || pixels.saturating_mul(macs) > MAX_RENDER_MACS {
        return;
    }
    let mut image = vec![0.0f32; values];
    model
        .render_image(w, &mut image, scratch)
        .expect("contract: render_image with exact buffers");
    let mut image2 = vec![0.0f32; values];
    model
        .render_image(w, &mut image2, junk)
        .expect("contract: render_image with a larger scratch");
    assert_eq!(bits(&image), bits(&image2), "render_image depends on scratch");

    // The first and the last pixel equal eval_siren at their centres.
    let last = pixels - 1;
    for p in [0, last] {
        let (col, row) = ((p % width as usize) as u32, (p / width as usize) as u32);
        let xy = [image_coord(col, width), image_coord(row, height)];
        let mut y = vec![0.0f32; s.out_dim];
        model
            .eval_siren(w, &xy, &mut y, scratch)
            .expect("contract: eval_siren at a pixel centre");
        let got = &image[p * s.out_dim..(p + 1) * s.out_dim];
        assert_eq!(bits(got), bits(&y), "render_image differs from eval_siren at pixel {p}");
    }

    let mut long = vec![0.0f32; values + 1];
    assert!(is_buffer_error(model.render_image(w, &mut long, scratch), Buffer::Outputs));
}

//! On-device fitting: the analytic gradient against central differences of an independent
//! `f64` evaluation of the loss, on the shipped models and on every φ variant of the example
//! model; fitting that recovers a decoded sample; pixel subsets; typed errors; the query
//! sampler against brute force in `f64`.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::needless_range_loop,
    clippy::panic
)]

use hyperinr_runtime::{
    udf_queries, Buffer, Error, FitWorkspaceBuf, Model, Observation, PixelSet, QuerySettings,
    WorkspaceBuf,
};
use hyperinr_shared::example::ExampleModel;
use hyperinr_shared::write::u32_bytes;
use hyperinr_shared::HyperActivation::{LeakyRelu, Relu, Silu};
use hyperinr_shared::{F32Slice, InputKind, U32Slice};

fn shipped(name: &str) -> Vec<u8> {
    let path = format!("{}/../models/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The fitting loss at `z`, computed in `f64` from the file's int8 layers (dequantised as
/// `q · scale`), with `f64` sines: nothing shared with the runtime's `f32` code path.
fn loss_f64(model: &Model<'_>, obs: &Obs, z: &[f64], latent_l2: f64) -> f64 {
    let file = model.file();
    let c = model.config();
    let act = |v: f64| match c.hyper_activation {
        Relu => v.max(0.0),
        LeakyRelu => {
            if v > 0.0 {
                v
            } else {
                0.01 * v
            }
        }
        Silu => v / (1.0 + (-v).exp()),
    };
    let linear = |l: &hyperinr_shared::QuantLinear<'_>, x: &[f64]| -> Vec<f64> {
        let cols = l.cols as usize;
        (0..l.rows as usize)
            .map(|o| {
                let dot: f64 = (0..cols)
                    .map(|i| l.weights.get(o * cols + i).unwrap() as f64 * x[i])
                    .sum();
                dot * l.scales.get(o).unwrap() as f64 + l.bias.get(o).unwrap() as f64
            })
            .collect()
    };
    let mut h = z.to_vec();
    let n = file.hypernet.len();
    for (k, l) in file.hypernet.iter().enumerate() {
        h = linear(l, &h);
        if k + 1 < n {
            h = h.into_iter().map(act).collect();
        }
    }
    if let Some(a) = &file.linear_path {
        for (w, v) in h.iter_mut().zip(linear(a, z)) {
            *w += v;
        }
    }
    let omega = c.omega0 as f64;
    let layers: Vec<(usize, usize)> = c.siren_layers().collect();
    let siren = |x: &[f64]| -> Vec<f64> {
        let mut a = x.to_vec();
        let mut off = 0;
        for (j, &(i, o)) in layers.iter().enumerate() {
            let w = &h[off..off + i * o];
            let b = &h[off + i * o..off + i * o + o];
            off += i * o + o;
            a = (0..o)
                .map(|r| {
                    let pre = (0..i).map(|k| w[r * i + k] * a[k]).sum::<f64>() + b[r];
                    if j + 1 < layers.len() {
                        (omega * pre).sin()
                    } else {
                        pre
                    }
                })
                .collect();
        }
        a
    };
    let mut sum = 0.0;
    let mut count = 0usize;
    for (x, t) in obs.coords.iter().zip(&obs.targets) {
        for (y, t) in siren(x).iter().zip(t) {
            sum += (y - t) * (y - t);
            count += 1;
        }
    }
    sum / count as f64 + latent_l2 * z.iter().map(|v| v * v).sum::<f64>()
}

/// An observation as (coordinates, targets) per point, for the `f64` reference.
struct Obs {
    coords: Vec<Vec<f64>>,
    targets: Vec<Vec<f64>>,
}

fn image_obs(model: &Model<'_>, pixels: &[u8], fitted: &[usize]) -> Obs {
    let InputKind::Image { width, height } = model.config().input else {
        panic!("not an image model")
    };
    let coord = |i: usize, n: u32| (2 * i + 1) as f64 / n as f64 - 1.0;
    Obs {
        coords: fitted
            .iter()
            .map(|&p| {
                vec![
                    coord(p % width as usize, width),
                    coord(p / width as usize, height),
                ]
            })
            .collect(),
        targets: fitted
            .iter()
            .map(|&p| vec![pixels[p] as f64 / 255.0])
            .collect(),
    }
}

/// Renders stored latent `index` and rounds it to 8-bit pixels: a sample the model can
/// represent, observed as a sensor would deliver it.
fn rendered_pixels(model: &Model<'_>, index: usize) -> Vec<u8> {
    let s = model.sizes();
    let (mut z, mut w, mut scratch) = (
        vec![0.0; s.latent],
        vec![0.0; s.weights],
        vec![0.0; s.scratch],
    );
    model.stored_latent(index, &mut z).unwrap();
    model.decode_weights(&z, &mut w, &mut scratch).unwrap();
    let InputKind::Image { width, height } = model.config().input else {
        panic!("not an image model")
    };
    let mut out = vec![0.0; (width * height) as usize];
    model.render_image(&w, &mut out, &mut scratch).unwrap();
    out.iter()
        .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
        .collect()
}

fn stored(model: &Model<'_>, index: usize) -> Vec<f32> {
    let mut z = vec![0.0; model.sizes().latent];
    model.stored_latent(index, &mut z).unwrap();
    z
}

/// Analytic gradient (f32) against `f64` central differences at `z`: every component
/// within `tol` of the largest.
fn check_gradient(model: &Model<'_>, obs: Observation<'_>, reference: &Obs, z: &[f32], tol: f64) {
    let l2 = 1e-3f32;
    let mut buf = FitWorkspaceBuf::new(model);
    let mut grad = vec![0.0f32; z.len()];
    let mse = model
        .latent_gradient(obs, l2, &mut buf.workspace(), z, &mut grad)
        .unwrap();
    let z64: Vec<f64> = z.iter().map(|&v| v as f64).collect();
    let loss = loss_f64(model, reference, &z64, l2 as f64);
    let penalty = l2 as f64 * z64.iter().map(|v| v * v).sum::<f64>();
    assert!(
        ((mse as f64) - (loss - penalty)).abs() <= 1e-5 * (loss - penalty).abs().max(1e-3),
        "mse {mse} vs f64 {}",
        loss - penalty
    );
    let h = 1e-4;
    let numeric: Vec<f64> = (0..z.len())
        .map(|j| {
            let (mut plus, mut minus) = (z64.clone(), z64.clone());
            plus[j] += h;
            minus[j] -= h;
            (loss_f64(model, reference, &plus, l2 as f64)
                - loss_f64(model, reference, &minus, l2 as f64))
                / (2.0 * h)
        })
        .collect();
    let scale = numeric.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(scale > 0.0, "a zero gradient checks nothing");
    for (j, (&a, &n)) in grad.iter().zip(&numeric).enumerate() {
        assert!(
            (a as f64 - n).abs() <= tol * scale,
            "component {j}: analytic {a}, central difference {n} (largest {scale})"
        );
    }
}

#[test]
fn image_gradient_matches_central_differences_on_the_mcu_model() {
    let blob = shipped("fashion-mnist-mcu.hinr");
    let model = Model::from_bytes(&blob).unwrap();
    let pixels = rendered_pixels(&model, 0);
    let all: Vec<usize> = (0..pixels.len()).collect();
    let z = stored(&model, 3);
    let obs = Observation::Image {
        pixels: &pixels,
        fitted: PixelSet::All,
    };
    check_gradient(&model, obs, &image_obs(&model, &pixels, &all), &z, 2e-3);
    // A subset of pixels: the loss is its own mean.
    let subset: Vec<u32> = (0..pixels.len() as u32).step_by(7).collect();
    let bytes = u32_bytes(&subset);
    let fitted: Vec<usize> = subset.iter().map(|&p| p as usize).collect();
    let obs = Observation::Image {
        pixels: &pixels,
        fitted: PixelSet::Indices(U32Slice::new(&bytes)),
    };
    check_gradient(&model, obs, &image_obs(&model, &pixels, &fitted), &z, 2e-3);
}

#[test]
fn point_gradient_matches_central_differences_on_the_shape_model() {
    let blob = shipped("modelnet10.hinr");
    let model = Model::from_bytes(&blob).unwrap();
    // Queries on a small sphere-like cloud; targets its clamped distances.
    let cloud: Vec<f32> = (0..200)
        .flat_map(|i| {
            let t = i as f32 * 0.7;
            let u = (i as f32 * 0.37).sin();
            [
                0.5 * t.cos() * (1.0 - u * u).sqrt(),
                0.5 * t.sin() * (1.0 - u * u).sqrt(),
                0.5 * u,
            ]
        })
        .collect();
    let cloud_bytes = hyperinr_shared::write::f32_bytes(&cloud);
    let (mut coords, mut targets) = (vec![0.0f32; 3 * 128], vec![0.0f32; 128]);
    let InputKind::PointCloud { udf_clamp, sampler } = model.config().input else {
        panic!("not a shape model")
    };
    udf_queries(
        F32Slice::new(&cloud_bytes),
        &QuerySettings {
            sampler,
            clamp: udf_clamp,
            seed: 5,
        },
        &mut coords,
        &mut targets,
    )
    .unwrap();
    let reference = Obs {
        coords: coords
            .chunks(3)
            .map(|c| c.iter().map(|&v| v as f64).collect())
            .collect(),
        targets: targets.iter().map(|&t| vec![t as f64]).collect(),
    };
    let obs = Observation::Points {
        coords: &coords,
        targets: &targets,
    };
    check_gradient(&model, obs, &reference, &stored(&model, 1), 2e-3);
}

#[test]
fn gradient_matches_for_every_activation_and_the_linear_path() {
    for activation in [Relu, LeakyRelu, Silu] {
        for linear in [false, true] {
            let mut m = ExampleModel::new();
            m.hyper_activation = activation;
            m.linear_path = linear;
            m.refresh();
            // A 2 × 2 image; the latent keeps φ's hidden pre-activations (z0, z1 + 0.5,
            // (z0 + z1) / 2) clear of ReLU's kink.
            let (pixels, z) = ([30u8, 200, 90, 255], [0.31f32, -0.22]);
            let mut file = m.file();
            file.config.input = InputKind::Image {
                width: 2,
                height: 2,
            };
            let blob = file.to_bytes().unwrap();
            let model = Model::from_bytes(&blob).unwrap();
            let all: Vec<usize> = (0..4).collect();
            let obs = Observation::Image {
                pixels: &pixels,
                fitted: PixelSet::All,
            };
            check_gradient(&model, obs, &image_obs(&model, &pixels, &all), &z, 1e-3);
        }
    }
}

#[test]
fn fitting_recovers_a_decoded_image() {
    let blob = shipped("fashion-mnist-mcu.hinr");
    let model = Model::from_bytes(&blob).unwrap();
    let mut buf = FitWorkspaceBuf::new(&model);
    let settings = *model.fit_settings();
    for index in [0, 1, 2] {
        let pixels = rendered_pixels(&model, index);
        let obs = Observation::Image {
            pixels: &pixels,
            fitted: PixelSet::All,
        };
        let mut start = vec![0.0f32; model.sizes().latent];
        let mut grad = start.clone();
        let mse0 = model
            .latent_gradient(obs, 0.0, &mut buf.workspace(), &start.clone(), &mut grad)
            .unwrap();
        let outcome = model
            .fit_latent(obs, &settings, &mut buf.workspace(), &mut start)
            .unwrap();
        let mut g = vec![0.0f32; start.len()];
        let fitted_mse = model
            .latent_gradient(obs, 0.0, &mut buf.workspace(), &start, &mut g)
            .unwrap();
        eprintln!(
            "latent {index}: mse {mse0:.5} at zero, {:.5} at the last step, {fitted_mse:.5} fitted ({} steps)",
            outcome.mse, outcome.steps
        );
        assert_eq!(outcome.steps, settings.steps);
        assert_eq!(outcome.points, pixels.len());
        // A sample the model can draw is found again: 100 steps take the error below 2 % of
        // where the zero latent starts (measured ≈ 0.1–0.3 %).
        assert!(fitted_mse < 0.02 * mse0, "{fitted_mse} vs {mse0}");
        // The fitted latent is read as the same class as the latent that drew the image.
        let mut ws = WorkspaceBuf::new(&model);
        let w = ws.workspace();
        let fitted_class = model.classify(&start, w.logits, w.scratch).unwrap();
        let z = stored(&model, index);
        let drawn_class = model.classify(&z, w.logits, w.scratch).unwrap();
        assert_eq!(fitted_class, drawn_class, "latent {index}");
    }
}

#[test]
fn every_pixel_listed_is_the_same_fit_as_all_pixels_bit_for_bit() {
    let blob = shipped("fashion-mnist-mcu.hinr");
    let model = Model::from_bytes(&blob).unwrap();
    let pixels = rendered_pixels(&model, 4);
    let indices: Vec<u32> = (0..pixels.len() as u32).collect();
    let bytes = u32_bytes(&indices);
    let mut settings = *model.fit_settings();
    settings.steps = 5;
    let fit = |fitted| {
        let mut buf = FitWorkspaceBuf::new(&model);
        let mut z = vec![0.0f32; model.sizes().latent];
        let outcome = model
            .fit_latent(
                Observation::Image {
                    pixels: &pixels,
                    fitted,
                },
                &settings,
                &mut buf.workspace(),
                &mut z,
            )
            .unwrap();
        (
            z.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            outcome.mse.to_bits(),
        )
    };
    let all = fit(PixelSet::All);
    assert_eq!(all, fit(PixelSet::Indices(U32Slice::new(&bytes))));
    // And a different subset gives a different latent.
    let half = u32_bytes(&indices[..392]);
    assert_ne!(all.0, fit(PixelSet::Indices(U32Slice::new(&half))).0);
}

#[test]
fn bad_observations_are_typed_errors() {
    let image = shipped("fashion-mnist-mcu.hinr");
    let image = Model::from_bytes(&image).unwrap();
    let shape = shipped("modelnet10.hinr");
    let shape = Model::from_bytes(&shape).unwrap();
    let settings = *image.fit_settings();
    let run = |model: &Model<'_>, obs: Observation<'_>| {
        let mut buf = FitWorkspaceBuf::new(model);
        let mut z = vec![0.0f32; model.sizes().latent];
        model.fit_latent(obs, &settings, &mut buf.workspace(), &mut z)
    };
    let pixels = [0u8; 784];
    let bad = u32_bytes(&[3, 783, 784, 5]);
    assert_eq!(
        run(
            &image,
            Observation::Image {
                pixels: &pixels,
                fitted: PixelSet::Indices(U32Slice::new(&bad))
            }
        ),
        Err(Error::PixelIndex {
            position: 2,
            index: 784,
            pixels: 784
        })
    );
    assert_eq!(
        run(
            &image,
            Observation::Image {
                pixels: &pixels[..783],
                fitted: PixelSet::All
            }
        ),
        Err(Error::BufferSize {
            buffer: Buffer::Observation,
            needed: 784,
            got: 783
        })
    );
    assert_eq!(
        run(
            &image,
            Observation::Image {
                pixels: &pixels,
                fitted: PixelSet::Indices(U32Slice::new(&[]))
            }
        ),
        Err(Error::EmptyObservation)
    );
    let (coords, targets) = ([0.0f32; 6], [0.0f32; 2]);
    let points = Observation::Points {
        coords: &coords,
        targets: &targets,
    };
    assert_eq!(
        run(&image, points),
        Err(Error::ObservationKind {
            model_is_image: true
        })
    );
    let image_obs = Observation::Image {
        pixels: &pixels,
        fitted: PixelSet::All,
    };
    assert_eq!(
        run(&shape, image_obs),
        Err(Error::ObservationKind {
            model_is_image: false
        })
    );
    assert_eq!(
        run(
            &shape,
            Observation::Points {
                coords: &coords[..5],
                targets: &targets
            }
        ),
        Err(Error::BufferSize {
            buffer: Buffer::Observation,
            needed: 6,
            got: 5
        })
    );
    // A workspace of the wrong size.
    let mut buf = FitWorkspaceBuf::new(&shape);
    let mut z = vec![0.0f32; image.sizes().latent];
    assert!(matches!(
        image.fit_latent(image_obs, &settings, &mut buf.workspace(), &mut z),
        Err(Error::BufferSize { .. })
    ));
}

#[test]
fn queries_match_brute_force_nearest_distances() {
    let cloud: Vec<f32> = (0..1024)
        .flat_map(|i| {
            let t = i as f32 * 0.013;
            [t.sin() * 0.8, (2.0 * t).cos() * 0.3, (t * 0.5).sin() * 0.6]
        })
        .collect();
    let bytes = hyperinr_shared::write::f32_bytes(&cloud);
    let s = QuerySettings::trainer_default(0.1, 42);
    let (mut coords, mut targets) = (vec![0.0f32; 3 * 500], vec![0.0f32; 500]);
    udf_queries(F32Slice::new(&bytes), &s, &mut coords, &mut targets).unwrap();
    let near = 500 - s.uniform_count(500);
    assert_eq!(near, 400);
    for (j, (q, &t)) in coords.chunks(3).zip(&targets).enumerate() {
        let d = cloud
            .chunks(3)
            .map(|p| {
                (0..3)
                    .map(|k| (p[k] as f64 - q[k] as f64).powi(2))
                    .sum::<f64>()
            })
            .fold(f64::INFINITY, f64::min)
            .sqrt()
            .min(0.1);
        assert!((t as f64 - d).abs() < 1e-6, "query {j}: {t} vs {d}");
        if j >= near {
            assert!(q.iter().all(|v| v.abs() <= 1.1), "uniform query {j} {q:?}");
        }
    }
    // The queries drawn with σ = 0.01 (every third near-surface one) lie on the surface's
    // scale, uniform ones mostly beyond the clamp.
    let closest: Vec<f32> = targets[..near].iter().step_by(3).copied().collect();
    let close = closest.iter().filter(|&&t| t < 0.03).count();
    assert!(
        close as f64 > 0.95 * closest.len() as f64,
        "{close} of {}",
        closest.len()
    );
    let far = targets[near..].iter().filter(|&&t| t == 0.1).count();
    assert!(
        far as f64 > 0.5 * (500 - near) as f64,
        "{far} of {}",
        500 - near
    );
    // The seed decides the draw, bit for bit.
    let (mut again, mut again_t) = (vec![0.0f32; 3 * 500], vec![0.0f32; 500]);
    udf_queries(F32Slice::new(&bytes), &s, &mut again, &mut again_t).unwrap();
    assert_eq!(coords, again);
    let other = QuerySettings::trainer_default(0.1, 43);
    udf_queries(F32Slice::new(&bytes), &other, &mut again, &mut again_t).unwrap();
    assert_ne!(coords, again);
    // An empty or ragged cloud, a coordinate buffer of the wrong size.
    assert!(matches!(
        udf_queries(F32Slice::new(&bytes[..8]), &s, &mut coords, &mut targets),
        Err(Error::BufferSize {
            buffer: Buffer::Observation,
            ..
        })
    ));
    assert!(matches!(
        udf_queries(F32Slice::new(&bytes), &s, &mut coords[..6], &mut targets),
        Err(Error::BufferSize {
            buffer: Buffer::Coords,
            ..
        })
    ));
}

mod damaged {
    use super::*;
    use hyperinr_runtime::check::{self, FitBuffers};
    use hyperinr_shared::observations::{encode_images, Observations};
    use hyperinr_shared::results::Encoder;
    use proptest::prelude::*;

    /// The example model (2 × 2 images, 30 steps) and a valid two-image file for it.
    fn example() -> (Vec<u8>, Vec<u8>) {
        let blob = ExampleModel::new().file().to_bytes().unwrap();
        let file = encode_images(
            2,
            2,
            &[3, 0],
            &[(0, 7, &[1, 2, 3, 4]), (1, 9, &[9, 0, 255, 4])],
        )
        .unwrap();
        (blob, file)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Any damage to an observations file: the reader rejects it with a typed error, or
        /// step 6 fits whatever it accepts; nothing panics, and an accepted file fits to
        /// finite latents or reports a typed error before reporting anything.
        #[test]
        fn damaged_files_never_panic(
            flips in proptest::collection::vec((0usize..62, any::<u8>()), 1..6),
            cut in 0usize..70,
            repair_crc in any::<bool>(),
        ) {
            let (blob, mut file) = example();
            for (at, byte) in flips {
                if let Some(b) = file.get_mut(at) {
                    *b ^= byte;
                }
            }
            file.truncate(cut.max(1).min(file.len()));
            // Half the cases get a right CRC again, so that the damage reaches the
            // structural checks and step 6 rather than stopping at the checksum.
            if repair_crc && file.len() > 32 {
                let crc = hyperinr_shared::crc32::crc32(&file[32..]);
                file[28..32].copy_from_slice(&crc.to_le_bytes());
            }
            let model = Model::from_bytes(&blob).unwrap();
            if let Ok(observations) = Observations::parse(&file) {
                let mut ws = WorkspaceBuf::new(&model);
                let mut fit = FitWorkspaceBuf::new(&model);
                let mut buffers = FitBuffers { fit: fit.workspace(), coords: &mut [], targets: &mut [] };
                let mut out = Encoder::new(Vec::new());
                match check::fit_observations(&model, &observations, &mut ws.workspace(), &mut buffers, &mut out) {
                    Ok(summary) => prop_assert_eq!(summary.count, observations.len()),
                    Err(e) => {
                        let typed = matches!(e, Error::BufferSize { .. } | Error::ObservationKind { .. });
                        prop_assert!(typed, "{:?}", e);
                    }
                }
            }
        }
    }

    /// The pristine file fits: the property above is not vacuous.
    #[test]
    fn the_pristine_file_fits() {
        let (blob, file) = example();
        let model = Model::from_bytes(&blob).unwrap();
        let observations = Observations::parse(&file).unwrap();
        let mut ws = WorkspaceBuf::new(&model);
        let mut fit = FitWorkspaceBuf::new(&model);
        let mut buffers = FitBuffers {
            fit: fit.workspace(),
            coords: &mut [],
            targets: &mut [],
        };
        let mut out = Encoder::new(Vec::new());
        let summary = check::fit_observations(
            &model,
            &observations,
            &mut ws.workspace(),
            &mut buffers,
            &mut out,
        )
        .unwrap();
        assert_eq!(summary.count, 2);
    }
}

#[test]
fn shape_queries_follow_the_sampler_the_file_records() {
    use hyperinr_runtime::check::query_settings;
    use hyperinr_shared::{ModelFile, QuerySampler};
    // The board's shape model was trained with 80 % uniform queries: it records them, which
    // takes format version 3 (variant 2 on the wire), and the runtime draws them.
    let recorded = shipped("modelnet10.hinr");
    let model = Model::from_bytes(&recorded).unwrap();
    let InputKind::PointCloud { udf_clamp, sampler } = model.config().input else {
        panic!("not a shape model")
    };
    let wide = QuerySampler {
        uniform_fraction: 0.8,
        ..QuerySampler::DEFAULT
    };
    assert_eq!((sampler, udf_clamp, recorded[4]), (wide, 0.2, 3));
    let s = query_settings(&model, 9);
    assert_eq!(
        s,
        QuerySettings {
            sampler: wide,
            clamp: udf_clamp,
            seed: 9
        }
    );
    let cloud: Vec<f32> = (0..64)
        .flat_map(|i| {
            let t = i as f32 * 0.1;
            [0.5 * t.sin(), 0.5 * t.cos(), 0.05 * t - 0.3]
        })
        .collect();
    let bytes = hyperinr_shared::write::f32_bytes(&cloud);
    let (mut coords, mut targets) = (vec![0.0f32; 3 * 100], vec![0.0f32; 100]);
    udf_queries(F32Slice::new(&bytes), &s, &mut coords, &mut targets).unwrap();
    assert_eq!(s.uniform_count(100), 80);
    // The last 80 queries are uniform in ±1.1, the first 20 near the cloud (those drawn with
    // σ = 0.01, every third, on it).
    assert!(coords[3 * 20..].iter().all(|v| v.abs() <= 1.1));
    assert!(coords[3 * 20..].iter().any(|v| v.abs() > 1.0));
    assert!(targets[..20].iter().step_by(3).all(|&t| t < 0.05));
    // The same model with the default sampler: 20 bytes fewer (variant 1), version 2, the
    // default draw.
    let mut file = ModelFile::parse(&recorded).unwrap();
    file.config.input = InputKind::PointCloud {
        udf_clamp,
        sampler: QuerySampler::DEFAULT,
    };
    let default = file.to_bytes().unwrap();
    assert_eq!((default.len() + 20, default[4]), (recorded.len(), 2));
    let model = Model::from_bytes(&default).unwrap();
    assert_eq!(
        query_settings(&model, 9),
        QuerySettings::trainer_default(udf_clamp, 9)
    );
    // One version per model: either header on the other file is an error (a version-2
    // reader rejects the recorded sampler at the header, not at the config).
    let mismatch = |declared, content| {
        Some(Error::Format(
            hyperinr_shared::FormatError::VersionMismatch { declared, content },
        ))
    };
    let mut new = recorded.clone();
    new[4] = 2;
    assert_eq!(Model::from_bytes(&new).err(), mismatch(2, 3));
    let mut old = default.clone();
    old[4] = 3;
    assert_eq!(Model::from_bytes(&old).err(), mismatch(3, 2));
    // Every single-bit flip in the header and the first 240 payload bytes (the config, its
    // sampler included, ≈ 150 bytes here), with the CRC repaired: an error or a model that
    // writes again, never a panic.
    for at in 4..256 {
        for bit in 0..8 {
            let mut flipped = recorded.clone();
            flipped[at] ^= 1 << bit;
            let crc = hyperinr_shared::crc32::crc32(&flipped[16..]);
            flipped[12..16].copy_from_slice(&crc.to_le_bytes());
            let rewrites = Model::from_bytes(&flipped).map(|m| m.file().to_bytes().is_ok());
            assert!(rewrites.unwrap_or(true), "byte {at} bit {bit}");
        }
    }
}

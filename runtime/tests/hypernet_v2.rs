//! Format version 2's φ: the hidden activation (ReLU, leaky ReLU, SiLU) and the linear path
//! `A z + a`, by hand on the example model (bit for bit, the numeric contract's exact f32
//! sequence) and against a float reference within int8 tolerance.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::needless_range_loop
)]

use hyperinr_runtime::{activate, compute_golden, Model, WorkspaceBuf};
use hyperinr_shared::example::ExampleModel;
use hyperinr_shared::quant::{dequantize, quantize_matrix};
use hyperinr_shared::write::{f32_bytes, i8_bytes, u32_bytes};
use hyperinr_shared::HyperActivation::{self, LeakyRelu, Relu, Silu};
use hyperinr_shared::{
    Classifier, F32Slice, FitSettings, I8Slice, InputKind, LatentStore, ModelConfig, ModelFile,
    Provenance, QuantLinear, Split, U32Slice,
};

fn example(activation: HyperActivation, linear: bool) -> Vec<u8> {
    let mut m = ExampleModel::new();
    m.hyper_activation = activation;
    m.linear_path = linear;
    m.refresh();
    let bytes = m.file().to_bytes().unwrap();
    bytes
}

/// The example's φ at `z`, written out in the numeric contract's order: hidden layer
/// `act((0 + q0·z0 + q1·z1)·s + b)`, output `(0 + Σ q·h)·0.25 + 0.01·o`, then (linear path)
/// `+ ((0 + (o−4)·z0 + 2·z1)·0.125 + (−0.02·o))`.
fn example_phi(a: HyperActivation, linear: bool, z: [f32; 2]) -> Vec<f32> {
    let m = ExampleModel::new();
    let q0 = &m.h0_weights;
    let h: Vec<f32> = (0..3)
        .map(|k| {
            let pre = (0.0 + q0[2 * k] as f32 * z[0] + q0[2 * k + 1] as f32 * z[1])
                * m.h0_scales[k]
                + m.h0_bias[k];
            activate(a, pre)
        })
        .collect();
    (0..9)
        .map(|o| {
            let q = &m.h1_weights[3 * o..3 * o + 3];
            let acc = 0.0 + q[0] as f32 * h[0] + q[1] as f32 * h[1] + q[2] as f32 * h[2];
            let mlp = acc * m.h1_scales[o] + m.h1_bias[o];
            if linear {
                let ql = &m.lin_weights[2 * o..2 * o + 2];
                let lin = (0.0 + ql[0] as f32 * z[0] + ql[1] as f32 * z[1]) * m.lin_scales[o]
                    + m.lin_bias[o];
                mlp + lin
            } else {
                mlp
            }
        })
        .collect()
}

fn decode(bytes: &[u8], z: [f32; 2]) -> Vec<f32> {
    let model = Model::from_bytes(bytes).unwrap();
    let s = model.sizes();
    let (mut w, mut scratch) = (vec![0.0; s.weights], vec![0.0; s.scratch]);
    model.decode_weights(&z, &mut w, &mut scratch).unwrap();
    w
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn activations_follow_their_formulas() {
    for v in [
        -100.0f32, -3.5, -1.0, -1e-30, -0.0, 0.0, 1e-30, 0.5, 2.0, 90.0,
    ] {
        assert_eq!(activate(Relu, v), if v > 0.0 { v } else { 0.0 });
        assert_eq!(
            activate(LeakyRelu, v).to_bits(),
            if v > 0.0 { v } else { 0.01f32 * v }.to_bits()
        );
        let want = v as f64 / (1.0 + (-(v as f64)).exp());
        assert!(
            (activate(Silu, v) as f64 - want).abs() <= 1e-6 * want.abs().max(1.0),
            "silu({v}) = {} vs {want}",
            activate(Silu, v)
        );
        assert_eq!(
            activate(Silu, v).to_bits(),
            (v / (1.0 + libm::expf(-v))).to_bits()
        );
    }
    assert_eq!(activate(Silu, -1000.0).to_bits(), (-0.0f32).to_bits());
    assert_eq!(activate(Silu, f32::INFINITY), f32::INFINITY);
    assert_eq!(activate(Relu, f32::NAN), 0.0);
    assert!(activate(LeakyRelu, f32::NAN).is_nan() && activate(Silu, f32::NAN).is_nan());
}

#[test]
fn every_activation_and_linear_path_by_hand_bit_for_bit() {
    for a in [Relu, LeakyRelu, Silu] {
        for linear in [false, true] {
            let bytes = example(a, linear);
            for z in [[1.0, -2.0], [-1.0, 3.0], [0.25, 0.75], [-3.0, -0.5]] {
                let got = decode(&bytes, z);
                let want = example_phi(a, linear, z);
                assert_eq!(bits(&got), bits(&want), "{a:?}, linear {linear}, z {z:?}");
            }
        }
    }
    // The activations differ where a pre-activation is negative: z = [−1, 3] has hidden
    // pre-activation [−1, 3.5, 1].
    let z = [-1.0, 3.0];
    let relu = decode(&example(Relu, false), z);
    let leaky = decode(&example(LeakyRelu, false), z);
    // Leaky: hidden [−0.01, 3.5, 1], so parameter o is ((o − 4)·(−0.01) + 2.5)·0.25 + 0.01·o.
    for o in 0..9 {
        let want = ((o as f64 - 4.0) * -0.01 + 2.5) * 0.25 + 0.01 * o as f64;
        assert!((leaky[o] as f64 - want).abs() < 1e-6, "{o}: {}", leaky[o]);
    }
    assert_ne!(relu, leaky);
    // The linear path adds ((o − 4)·z0 + 2·z1)·0.125 − 0.02·o to ReLU's output.
    let with = decode(&example(Relu, true), z);
    for o in 0..9 {
        let lin = (6.0 - (o as f64 - 4.0)) * 0.125 - 0.02 * o as f64;
        assert!(((with[o] - relu[o]) as f64 - lin).abs() < 1e-6, "{o}");
    }
}

#[test]
fn model_api_exposes_the_version_2_fields() {
    let mut m = ExampleModel::new();
    m.hyper_activation = Silu;
    m.linear_path = true;
    m.fit.steps = 100;
    m.refresh();
    let bytes = m.file().to_bytes().unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    assert_eq!(model.hyper_activation(), Silu);
    assert_eq!(*model.fit_settings(), m.fit);
    let a = model.linear_path().unwrap();
    assert_eq!((a.rows, a.cols), (9, 2));
    // 2·3 + 3·9 in the MLP, 2·9 in the linear path.
    assert_eq!(model.decode_macs(), 6 + 27 + 18);
    let plain = example(Relu, false);
    let plain = Model::from_bytes(&plain).unwrap();
    assert!(plain.linear_path().is_none());
    assert_eq!(plain.decode_macs(), 6 + 27);
    // The linear path needs no buffer beyond what the MLP needs.
    assert_eq!(model.sizes(), plain.sizes());
}

#[test]
fn golden_vectors_of_a_silu_linear_model_self_test() {
    let bytes = example(Silu, true);
    let model = Model::from_bytes(&bytes).unwrap();
    let g = compute_golden(&model, &[2, -4], 0.5, &[0.1, 0.2, -0.7, 0.9]).unwrap();
    let encoded = g.encode();
    let mut file = ModelFile::parse(&bytes).unwrap();
    file.golden.push(encoded.view()).unwrap();
    let with = file.to_bytes().unwrap();
    let model = Model::from_bytes(&with).unwrap();
    let mut ws = WorkspaceBuf::new(&model);
    assert_eq!(model.self_test(&mut ws.workspace()), Ok(1));
    // The same golden vector does not hold for ReLU or without the linear path.
    for (a, linear) in [(Relu, true), (Silu, false)] {
        let mut m = ExampleModel::new();
        m.hyper_activation = a;
        m.linear_path = linear;
        m.refresh();
        let mut file = m.file();
        file.golden.push(encoded.view()).unwrap();
        let other = file.to_bytes().unwrap();
        let model = Model::from_bytes(&other).unwrap();
        let mut ws = WorkspaceBuf::new(&model);
        assert!(matches!(
            model.self_test(&mut ws.workspace()),
            Err(hyperinr_runtime::Error::GoldenMismatch { vector: 0, .. })
        ));
    }
}

// ---------------------------------------------------------------------------------------
// Against a float reference
// ---------------------------------------------------------------------------------------

/// SplitMix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn symmetric(&mut self, a: f64) -> f32 {
        (((self.next() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) * a) as f32
    }
}

/// Float weights of one layer (row-major `rows × cols`) and biases.
struct FloatLayer {
    w: Vec<f32>,
    b: Vec<f32>,
    cols: usize,
}

/// Its int8 quantisation as bytes.
struct QuantLayer {
    rows: u32,
    cols: u32,
    q: Vec<u8>,
    s: Vec<u8>,
    b: Vec<u8>,
    scales: Vec<f32>,
}

impl FloatLayer {
    fn random(rng: &mut Rng, rows: usize, cols: usize, std: f64) -> FloatLayer {
        let a = std * 3f64.sqrt();
        FloatLayer {
            w: (0..rows * cols).map(|_| rng.symmetric(a)).collect(),
            b: (0..rows).map(|_| rng.symmetric(0.1)).collect(),
            cols,
        }
    }
    fn quantise(&self) -> QuantLayer {
        let (q, scales) = quantize_matrix(&self.w, self.cols).unwrap();
        QuantLayer {
            rows: self.b.len() as u32,
            cols: self.cols as u32,
            q: i8_bytes(&q),
            s: f32_bytes(&scales),
            b: f32_bytes(&self.b),
            scales,
        }
    }
}

impl QuantLayer {
    fn view(&self) -> QuantLinear<'_> {
        QuantLinear {
            rows: self.rows,
            cols: self.cols,
            weights: I8Slice::new(&self.q),
            scales: F32Slice::new(&self.s),
            bias: F32Slice::new(&self.b),
        }
    }
}

fn silu64(x: f64) -> f64 {
    x / (1.0 + (-x).exp())
}

/// The float φ in f64 and, per output, the standard deviation σ of what int8 weights do
/// to it: rounding leaves each weight off by an error uniform in ±scale/2 (variance
/// scale²/12), independent across weights, so an output's error has variance
/// `(scale²/12) Σ x² + Σ (w² + scale²/12) σ_in²`, with SiLU's slope (at most 1.1) between
/// layers. (The worst case, every rounding the same way, is orders of magnitude wider.)
fn float_phi(
    layers: &[(FloatLayer, QuantLayer)],
    linear: &(FloatLayer, QuantLayer),
    z: &[f32],
) -> (Vec<f64>, Vec<f64>) {
    let mut x: Vec<f64> = z.iter().map(|&v| v as f64).collect();
    let mut var = vec![0.0f64; x.len()];
    let last = layers.len() - 1;
    for (k, (f, q)) in layers.iter().enumerate() {
        let rows = f.b.len();
        let mut y = vec![0.0f64; rows];
        let mut vy = vec![0.0f64; rows];
        let sq_x: f64 = x.iter().map(|v| v * v).sum();
        for o in 0..rows {
            let row = &f.w[o * f.cols..(o + 1) * f.cols];
            y[o] = f.b[o] as f64 + row.iter().zip(&x).map(|(&w, &v)| w as f64 * v).sum::<f64>();
            let step_var = (q.scales[o] as f64).powi(2) / 12.0;
            let through: f64 = row
                .iter()
                .zip(&var)
                .map(|(&w, &vi)| ((w as f64).powi(2) + step_var) * vi)
                .sum();
            vy[o] = step_var * sq_x + through;
        }
        if k < last {
            for (v, vv) in y.iter_mut().zip(&mut vy) {
                *v = silu64(*v);
                *vv *= 1.1 * 1.1;
            }
        }
        x = y;
        var = vy;
    }
    let (f, q) = linear;
    let zf: Vec<f64> = z.iter().map(|&v| v as f64).collect();
    let sq_z: f64 = zf.iter().map(|v| v * v).sum();
    for o in 0..x.len() {
        let row = &f.w[o * f.cols..(o + 1) * f.cols];
        x[o] += f.b[o] as f64
            + row
                .iter()
                .zip(&zf)
                .map(|(&w, &v)| w as f64 * v)
                .sum::<f64>();
        var[o] += (q.scales[o] as f64).powi(2) / 12.0 * sq_z;
    }
    (x, var.into_iter().map(f64::sqrt).collect())
}

/// A FashionMNIST-shaped φ (latent 16 → 64 → 64 → 1185 SIREN parameters of 2-32-32-1) with
/// SiLU and a linear path, float weights quantised to int8: the runtime's decoded weights
/// agree with the f64 float reference within 6 σ of int8 rounding everywhere, the errors
/// are of the size σ predicts (so the tolerance means something), and a ReLU reading of the
/// same weights is far outside it.
#[test]
fn silu_linear_path_decodes_like_the_float_reference_within_int8_tolerance() {
    let mut rng = Rng(0x5349_4C55);
    let (l, hidden, params) = (16usize, [64usize, 64], 1185usize);
    let mut dims = vec![l];
    dims.extend(hidden);
    dims.push(params);
    let layers: Vec<(FloatLayer, QuantLayer)> = dims
        .windows(2)
        .map(|p| {
            let f = FloatLayer::random(&mut rng, p[1], p[0], (2.0 / p[0] as f64).sqrt());
            let q = f.quantise();
            (f, q)
        })
        .collect();
    let lf = FloatLayer::random(&mut rng, params, l, 0.05);
    let lq = lf.quantise();
    let linear = (lf, lq);

    let classes = 2u32;
    let cf = FloatLayer::random(&mut rng, classes as usize, l, 0.3);
    let cq = cf.quantise();
    let (mean, inv_std) = (f32_bytes(&vec![0.0; l]), f32_bytes(&vec![1.0; l]));
    let no_indices = u32_bytes(&[]);
    let build = |activation: HyperActivation| -> Vec<u8> {
        let file = ModelFile {
            config: ModelConfig {
                dataset: "float-reference",
                input: InputKind::Image {
                    width: 28,
                    height: 28,
                },
                latent_dim: l as u32,
                hyper_hidden: hidden.iter().map(|&w| w as u32).collect(),
                siren_hidden: [32u32, 32].into_iter().collect(),
                omega0: 30.0,
                in_dim: 2,
                out_dim: 1,
                class_count: classes,
                class_names: "a\nb",
                hyper_activation: activation,
                fit: FitSettings {
                    steps: 30,
                    lr: 0.02,
                    beta1: 0.9,
                    beta2: 0.999,
                    eps: 1e-8,
                    latent_l2: 1e-4,
                    init_std: 0.0,
                },
            },
            provenance: Provenance {
                source_commit: "test",
                seed: 0,
                data_hash: "none",
                training_config: "{}",
            },
            hypernet: layers.iter().map(|(_, q)| q.view()).collect(),
            linear_path: Some(linear.1.view()),
            classifier: Classifier {
                mean: F32Slice::new(&mean),
                inv_std: F32Slice::new(&inv_std),
                layers: [cq.view()].into_iter().collect(),
            },
            latents: LatentStore {
                split: Split::Test,
                count: 0,
                codes: I8Slice::new(&[]),
                scales: F32Slice::new(&[]),
                labels: &[],
                dataset_indices: U32Slice::new(&no_indices),
            },
            golden: Default::default(),
        };
        file.to_bytes().unwrap()
    };
    let silu = build(Silu);
    let relu = build(Relu);
    let (mut worst_z, mut worst_abs, mut relu_outside) = (0.0f64, 0.0f64, 0usize);
    let (mut sum_sigma_sq, mut sum_sq, mut sum_err_sq) = (0.0f64, 0.0f64, 0.0f64);
    let model = Model::from_bytes(&silu).unwrap();
    let relu_model = Model::from_bytes(&relu).unwrap();
    let s = model.sizes();
    assert_eq!(s, relu_model.sizes());
    let (mut w, mut wr, mut scratch) = (
        vec![0.0; s.weights],
        vec![0.0; s.weights],
        vec![0.0; s.scratch],
    );
    let latents = 8;
    for k in 0..latents {
        let z: Vec<f32> = (0..l)
            .map(|_| rng.symmetric(0.5 + 0.2 * k as f64))
            .collect();
        let (want, sigma) = float_phi(&layers, &linear, &z);
        model.decode_weights(&z, &mut w, &mut scratch).unwrap();
        relu_model
            .decode_weights(&z, &mut wr, &mut scratch)
            .unwrap();
        for o in 0..params {
            // f32 rounding on top of the int8 rounding.
            let tolerance = 6.0 * sigma[o] + 1e-5 * want[o].abs().max(1.0);
            let err = (w[o] as f64 - want[o]).abs();
            assert!(
                err <= tolerance,
                "latent {k}, parameter {o}: runtime {} vs float {} (σ {})",
                w[o],
                want[o],
                sigma[o]
            );
            worst_z = worst_z.max(err / sigma[o]);
            worst_abs = worst_abs.max(err);
            sum_sigma_sq += sigma[o] * sigma[o];
            sum_sq += want[o] * want[o];
            sum_err_sq += err * err;
            relu_outside += ((wr[o] as f64 - want[o]).abs() > tolerance) as usize;
        }
    }
    let n = (latents * params) as f64;
    let (rms_sigma, rms, rms_err) = (
        (sum_sigma_sq / n).sqrt(),
        (sum_sq / n).sqrt(),
        (sum_err_sq / n).sqrt(),
    );
    eprintln!(
        "max |err| {worst_abs:.3e} ({worst_z:.2} σ), rms err {rms_err:.3e}, rms σ {rms_sigma:.3e}, \
         rms parameter {rms:.3e}; ReLU outside the tolerance at {relu_outside} of {n}"
    );
    // The int8 error is there and as large as σ says (not vacuous, not loose), and small
    // against the parameters.
    assert!(
        rms_err > 0.3 * rms_sigma && rms_err < 1.5 * rms_sigma,
        "{rms_err} vs σ {rms_sigma}"
    );
    assert!(rms_err < 0.02 * rms, "{rms_err} vs {rms}");
    // Reading the same weights with ReLU instead of SiLU moves most parameters out.
    assert!(relu_outside as f64 > 0.5 * n, "{relu_outside} of {n}");
    // Every value dequantises as q · scale (the reference above used the float weights).
    let q = &layers[0].1;
    assert_eq!(
        dequantize(q.q[0] as i8, q.scales[0]),
        q.q[0] as i8 as f32 * q.scales[0]
    );
}

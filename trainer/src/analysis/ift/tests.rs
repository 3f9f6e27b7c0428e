use super::hessian::C64;
use super::*;
use crate::model::HyperInrConfig;
use crate::model::{image_coords, siren_forward};
use burn::tensor::TensorData;

// Only f32 backends here: burn 0.21 fixes the CPU device's float dtype process-wide on
// first use, so an `NdArray<f64>` test would flip other tests of this binary (see the
// module docs).
type Ad32 = burn::backend::Autodiff<burn::backend::NdArray<f32>>;

fn tiny_config() -> HyperInrConfig {
    let mut cfg = HyperInrConfig::new();
    cfg.latent_dim = 4;
    cfg.hyper_hidden = vec![8];
    cfg.siren_hidden = vec![4];
    cfg
}

fn latent(seed: usize, l: usize) -> Vec<f32> {
    (0..l)
        .map(|i| (((i + 3 * seed) * 37 % 17) as f32 - 8.0) * 0.15)
        .collect()
}

/// SIREN forward on the host in f64 (`coords` feature-major `in × m`): `out × m`.
fn host_siren(cfg: &HyperInrConfig, p: &[f64], coords: &[f64]) -> Vec<f64> {
    let m = coords.len() / cfg.in_dim;
    let layers = cfg.siren_layers();
    let last = layers.len() - 1;
    let mut x = coords.to_vec();
    let mut off = 0;
    for (k, (i, o)) in layers.into_iter().enumerate() {
        let (w, b) = (&p[off..off + i * o], &p[off + i * o..off + i * o + o]);
        off += i * o + o;
        let mut y = vec![0.0f64; o * m];
        for r in 0..o {
            for t in 0..m {
                let mut s = b[r];
                for c in 0..i {
                    s += w[r * i + c] * x[c * m + t];
                }
                y[r * m + t] = if k < last {
                    (f64::from(cfg.omega0) * s).sin()
                } else {
                    s
                };
            }
        }
        x = y;
    }
    x
}

/// `L(z)` on the host in f64, with φ's ReLU sign pattern.
fn host_loss(
    cfg: &HyperInrConfig,
    mlp: &HostMlp,
    z: &[f64],
    coords: &[f64],
    target: &[f64],
) -> (f64, Vec<bool>) {
    let (p, pattern) = mlp.forward(z);
    let out = host_siren(cfg, &p, coords);
    let mse = out
        .iter()
        .zip(target)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        / out.len() as f64;
    (mse, pattern)
}

/// Oracle Hessian: second central differences of the host f64 loss (for a piecewise
/// affine φ: same ReLU pattern at all four points, else the step is halved).
fn host_hessian(
    cfg: &HyperInrConfig,
    mlp: &HostMlp,
    z: &[f64],
    coords: &[f64],
    target: &[f64],
) -> Vec<f64> {
    let l = z.len();
    let (_, p0) = host_loss(cfg, mlp, z, coords, target);
    let mut hm = vec![0.0; l * l];
    for i in 0..l {
        for j in 0..l {
            let mut h = 1e-4;
            loop {
                let eval = |si: f64, sj: f64| {
                    let mut zz = z.to_vec();
                    zz[i] += si * h;
                    zz[j] += sj * h;
                    host_loss(cfg, mlp, &zz, coords, target)
                };
                let (a, pa) = eval(1.0, 1.0);
                let (b, pb) = eval(1.0, -1.0);
                let (c, pc) = eval(-1.0, 1.0);
                let (d, pd) = eval(-1.0, -1.0);
                let same = pa == p0 && pb == p0 && pc == p0 && pd == p0;
                if same || !mlp.piecewise_affine() || h < 1e-9 {
                    hm[i * l + j] = (a - b - c + d) / (4.0 * h * h);
                    break;
                }
                h *= 0.5;
            }
        }
    }
    hm
}

fn coords_f32(w: usize, h: usize) -> Vec<f32> {
    image_coords::<burn::backend::NdArray<f32>>(w, h, &Default::default())
        .into_data()
        .to_vec::<f32>()
        .unwrap()
}

fn rel_frobenius(a: &[f64], b: &[f64]) -> f64 {
    let diff: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
    let norm: f64 = b.iter().map(|y| y * y).sum();
    (diff / norm).sqrt()
}

fn jacobian_matches_fd<B: AutodiffBackend>(cfg: HyperInrConfig) {
    let net = cfg.init::<B>(7, &Default::default());
    let zs: Vec<Vec<f32>> = (0..4).map(|s| latent(s, 4)).collect();
    let err = check_jacobian_fd(&net, &zs).unwrap();
    assert!(err < 1e-3, "relative error {err}");
    let j = jacobian(&net, &zs[0]).unwrap();
    assert_eq!((j.rows, j.cols), (cfg.siren_params(), 4));
    assert!(j.matrix.iter().any(|v| *v != 0.0));
    // φ(z) comes along.
    let mlp = HostMlp::from_hypernet(&net);
    let z64: Vec<f64> = zs[0].iter().map(|&v| f64::from(v)).collect();
    let p = mlp.forward(&z64).0;
    for (a, b) in j.params.iter().zip(&p) {
        assert!((a - b).abs() < 1e-5 * (1.0 + b.abs()));
    }
}

#[test]
fn autodiff_jacobian_matches_finite_differences_f32() {
    jacobian_matches_fd::<Ad32>(tiny_config());
}

/// The oracle follows φ's activation and linear path (format version 2).
#[test]
fn autodiff_jacobian_matches_finite_differences_silu_leaky_linear_path() {
    use crate::model::HyperActivation;
    for (activation, linear) in [
        (HyperActivation::Silu, true),
        (HyperActivation::LeakyRelu, true),
        (HyperActivation::Silu, false),
        (HyperActivation::Relu, true),
    ] {
        let mut cfg = tiny_config();
        cfg.hyper_activation = activation;
        cfg.linear_path = linear;
        jacobian_matches_fd::<Ad32>(cfg);
    }
}

#[test]
fn chunked_jacobian_equals_single_pass() {
    let cfg = tiny_config();
    let net = cfg.init::<Ad32>(11, &Default::default());
    let z = latent(2, 4);
    let one = jacobian_chunked(&net, &z, usize::MAX).unwrap();
    let many = jacobian_chunked(&net, &z, 5).unwrap();
    assert_eq!(one.matrix, many.matrix);
    assert_eq!(one.params, many.params);
}

#[test]
fn jacobian_rejects_a_wrong_latent_length() {
    let net = tiny_config().init::<Ad32>(1, &Default::default());
    assert!(jacobian(&net, &[0.0; 3]).is_err());
}

/// `rows × cols` matrix with the given columns (column-major input).
fn from_columns(cols: &[Vec<f64>]) -> Vec<f64> {
    let (rows, l) = (cols[0].len(), cols.len());
    let mut m = vec![0.0; rows * l];
    for (j, c) in cols.iter().enumerate() {
        for (i, v) in c.iter().enumerate() {
            m[i * l + j] = *v;
        }
    }
    m
}

#[test]
fn spectrum_of_a_known_matrix() {
    // Orthogonal-ish columns scaled 4, 3, 2, 0.5: a 6×4 diagonal embedding, rows permuted.
    let mut cols = vec![vec![0.0; 6]; 4];
    for (j, s) in [4.0, 3.0, 2.0, 0.5].into_iter().enumerate() {
        cols[j][(j * 5 + 1) % 6] = s;
    }
    let s = jacobian_spectrum(&from_columns(&cols), 6, 4);
    for (a, b) in s.singular_values.iter().zip([4.0, 3.0, 2.0, 0.5]) {
        assert!((a - b).abs() < 1e-12, "{:?}", s.singular_values);
    }
    assert_eq!(s.rank, 4);
    assert!(s.full_rank);
    assert!((s.condition.unwrap() - 8.0).abs() < 1e-12);
}

#[test]
fn rank_deficient_matrix_is_detected() {
    // Column 3 = column 0 + 2 · column 1: rank 3, σ_min at rounding level.
    let c0: Vec<f64> = (0..20).map(|i| ((i * 7 % 11) as f64 - 5.0) / 3.0).collect();
    let c1: Vec<f64> = (0..20).map(|i| ((i * 5 % 13) as f64 - 6.0) / 4.0).collect();
    let c2: Vec<f64> = (0..20).map(|i| (i as f64 * 0.7).sin()).collect();
    let c3: Vec<f64> = c0.iter().zip(&c1).map(|(a, b)| a + 2.0 * b).collect();
    let s = jacobian_spectrum(
        &from_columns(&[c0.clone(), c1.clone(), c2.clone(), c3]),
        20,
        4,
    );
    assert_eq!(s.rank, 3);
    assert!(!s.full_rank);
    assert!(s.sigma_min < s.tolerance);
    // A tiny but real fourth direction above the tolerance keeps full rank…
    let c3: Vec<f64> = c0
        .iter()
        .zip(&c1)
        .enumerate()
        .map(|(i, (a, b))| a + 2.0 * b + if i == 4 { 1e-2 } else { 0.0 })
        .collect();
    let s = jacobian_spectrum(
        &from_columns(&[c0.clone(), c1.clone(), c2.clone(), c3]),
        20,
        4,
    );
    assert_eq!(s.rank, 4);
    // …and an exactly zero column gives σ_min = 0 and an infinite condition number.
    let s = jacobian_spectrum(&from_columns(&[c0, c1, c2, vec![0.0; 20]]), 20, 4);
    assert_eq!(s.rank, 3);
    assert_eq!(s.sigma_min, 0.0);
    assert_eq!(s.condition, None);
    // A wide matrix (d < l) cannot have full column rank.
    let s = jacobian_spectrum(&[1.0, 0.0, 0.0, 0.0, 1.0, 0.0], 2, 3);
    assert_eq!((s.rank, s.full_rank, s.condition), (2, false, None));
}

/// Hessian of the tiny model at a latent, by the method under test and by the oracle.
fn hessians(target_from_own_output: bool) -> (LossHessian, Vec<f64>, Vec<f64>) {
    hessians_of(tiny_config(), target_from_own_output)
}

/// A net of `cfg` and a latent where J has full column rank (with 8 ReLUs, some seeds
/// leave fewer than 4 active and J rank-deficient).
fn well_conditioned(cfg: &HyperInrConfig) -> (HyperNet<Ad32>, Vec<f32>) {
    let z = latent(1, 4);
    let net = (0..100)
        .map(|seed| cfg.init::<Ad32>(seed, &Default::default()))
        .find(|net| {
            let j = jacobian(net, &z).unwrap();
            jacobian_spectrum(&j.matrix, j.rows, j.cols)
                .condition
                .is_some_and(|c| c < 1e3)
        })
        .unwrap();
    (net, z)
}

/// The host SIREN loss of `cfg` for `values` at `coords`.
fn host_siren_of<'a>(cfg: &'a HyperInrConfig, coords: &[f32], values: &[f32]) -> HostSiren<'a> {
    HostSiren::new(cfg, IftTarget { coords, values }).unwrap()
}

fn hessians_of(
    cfg: HyperInrConfig,
    target_from_own_output: bool,
) -> (LossHessian, Vec<f64>, Vec<f64>) {
    let (net, z) = well_conditioned(&cfg);
    let coords = coords_f32(7, 6);
    let mlp = HostMlp::from_hypernet(&net);
    let z64: Vec<f64> = z.iter().map(|&v| f64::from(v)).collect();
    let c64: Vec<f64> = coords.iter().map(|&v| f64::from(v)).collect();
    let target: Vec<f32> = if target_from_own_output {
        host_siren(&cfg, &mlp.forward(&z64).0, &c64)
            .iter()
            .map(|&v| v as f32)
            .collect()
    } else {
        (0..42).map(|i| ((i * 13 % 7) as f32) / 7.0).collect()
    };
    let t64: Vec<f64> = target.iter().map(|&v| f64::from(v)).collect();
    let jac = jacobian(&net, &z).unwrap();
    let h = reconstruction_hessian(
        &cfg,
        &mlp,
        &z64,
        &jac,
        IftTarget {
            coords: &coords,
            values: &target,
        },
    )
    .unwrap();
    let oracle = host_hessian(&cfg, &mlp, &z64, &c64, &t64);
    // Oracle gradient by first differences.
    let grad: Vec<f64> = (0..4)
        .map(|i| {
            let e = |s: f64| {
                let mut zz = z64.clone();
                zz[i] += s * 1e-6;
                host_loss(&cfg, &mlp, &zz, &c64, &t64).0
            };
            (e(1.0) - e(-1.0)) / 2e-6
        })
        .collect();
    (h, oracle, grad)
}

/// The host SIREN (used for the Hessian) is the model's SIREN: loss and gradient agree
/// with burn's `siren_forward` and autodiff (f32) on a 2-32-32-1 SIREN.
#[test]
fn host_siren_matches_burn() {
    let mut cfg = HyperInrConfig::new();
    cfg.siren_hidden = vec![32, 32];
    let d = cfg.siren_params();
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(9);
    let (p, _) = cfg.siren_init(&mut rng);
    let coords = coords_f32(9, 8);
    let target: Vec<f32> = (0..72).map(|i| ((i * 7 % 9) as f32) / 9.0).collect();
    let device = Default::default();
    let pt =
        Tensor::<Ad32, 2>::from_data(TensorData::new(p.clone(), [1, d]), &device).require_grad();
    let ct = Tensor::<Ad32, 3>::from_data(TensorData::new(coords.clone(), [1, 2, 72]), &device);
    let tt = Tensor::<Ad32, 3>::from_data(TensorData::new(target.clone(), [1, 1, 72]), &device);
    let loss = (siren_forward(&cfg, pt.clone(), ct) - tt)
        .powi_scalar(2)
        .mean();
    let burn_loss = values_f64(loss.clone())[0];
    let burn_grad = values_f64(pt.grad(&loss.backward()).unwrap());
    let siren = host_siren_of(&cfg, &coords, &target);
    let pc: Vec<C64> = p.iter().map(|&v| C64::new(f64::from(v), 0.0)).collect();
    let (l, g) = siren.loss_grad(&pc);
    assert!(
        (l.re - burn_loss).abs() < 1e-5 * burn_loss,
        "{} vs {burn_loss}",
        l.re
    );
    let g: Vec<f64> = g.iter().map(|c| c.re).collect();
    assert!(g.iter().all(|v| v.is_finite()));
    let err = rel_frobenius(&g, &burn_grad);
    assert!(err < 1e-4, "gradient relative error {err}");
    // Mismatched targets are refused.
    assert!(HostSiren::new(
        &cfg,
        IftTarget {
            coords: &coords[..10],
            values: &target
        }
    )
    .is_err());
}

#[test]
fn hessian_matches_f64_oracle_with_nonzero_residual() {
    let (h, oracle, grad) = hessians(false);
    let err = rel_frobenius(&h.matrix, &oracle);
    eprintln!(
        "nonzero residual: Hessian relative error {err:.2e}, asymmetry {:.2e}",
        h.asymmetry
    );
    // Not convex in general: the test only asks for agreement.
    assert!(
        err < 1e-5,
        "relative error {err}\n{:?}\n{:?}",
        h.matrix,
        oracle
    );
    assert!(
        rel_frobenius(&h.grad, &grad) < 1e-5,
        "{:?} vs {:?}",
        h.grad,
        grad
    );
    assert!(h.mse > 0.01);
}

/// With a smooth φ (SiLU, with and without the linear path) the Hessian includes φ's
/// second-order term and still matches the finite-difference oracle of the whole loss;
/// without that term it would not (the term is far above the tolerance here).
#[test]
fn hessian_of_a_smooth_hypernetwork_includes_its_curvature() {
    for linear in [false, true] {
        let mut cfg = tiny_config();
        cfg.hyper_activation = crate::model::HyperActivation::Silu;
        cfg.linear_path = linear;
        let (h, oracle, grad) = hessians_of(cfg.clone(), false);
        let err = rel_frobenius(&h.matrix, &oracle);
        assert!(err < 1e-5, "linear {linear}: relative error {err}");
        assert!(rel_frobenius(&h.grad, &grad) < 1e-5);
        // φ's own term alone, at the same latent: what a Jᵀ ∇²_p L J-only Hessian misses.
        let (net, z) = well_conditioned(&cfg);
        let mlp = HostMlp::from_hypernet(&net);
        let z64: Vec<f64> = z.iter().map(|&v| f64::from(v)).collect();
        let jac = jacobian(&net, &z).unwrap();
        let coords = coords_f32(7, 6);
        let target: Vec<f32> = (0..42).map(|i| ((i * 13 % 7) as f32) / 7.0).collect();
        let siren = host_siren_of(&cfg, &coords, &target);
        let p: Vec<C64> = jac.params.iter().map(|&v| C64::new(v, 0.0)).collect();
        let g: Vec<f64> = siren.loss_grad(&p).1.iter().map(|c| c.re).collect();
        let term = mlp.weighted_curvature(&z64, &g).expect("SiLU is smooth");
        let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
        assert!(
            norm(&term) > 1e-3 * norm(&oracle),
            "linear {linear}: φ's term {} vs Hessian {}",
            norm(&term),
            norm(&oracle)
        );
    }
    // Piecewise affine activations have no such term.
    let cfg = tiny_config();
    let mlp = HostMlp::from_hypernet(&cfg.init::<Ad32>(0, &Default::default()));
    let g = vec![1.0; cfg.siren_params()];
    assert!(mlp.weighted_curvature(&[0.1; 4], &g).is_none());
}

#[test]
fn hessian_is_positive_definite_at_an_exact_fit() {
    // The target is the model's own output: zero residual, so ∇²L = (2/m) J_fᵀ J_f
    // (J_f: outputs w.r.t. z, 42 × 4, full column rank) — positive definite.
    let (h, oracle, _) = hessians(true);
    assert!(h.mse < 1e-12, "mse {}", h.mse);
    assert!(h.grad.iter().all(|g| g.abs() < 1e-6), "{:?}", h.grad);
    let err = rel_frobenius(&h.matrix, &oracle);
    eprintln!("exact fit: Hessian relative error {err:.2e}");
    assert!(err < 1e-5, "relative error {err}");
    let s = hessian_spectrum(&h);
    assert_eq!(s.definiteness, Definiteness::PositiveDefinite, "{s:?}");
    assert!(s.min_eig > 0.0);
}

#[test]
fn definiteness_classification() {
    let mk = |m: Vec<f64>, asym: f64| LossHessian {
        matrix: m,
        dim: 2,
        asymmetry: asym,
        grad: vec![0.0; 2],
        mse: 0.0,
    };
    assert_eq!(
        hessian_spectrum(&mk(vec![2.0, 0.0, 0.0, 1.0], 0.0)).definiteness,
        Definiteness::PositiveDefinite
    );
    assert_eq!(
        hessian_spectrum(&mk(vec![1.0, 2.0, 2.0, 1.0], 0.0)).definiteness,
        Definiteness::Indefinite
    );
    assert_eq!(
        hessian_spectrum(&mk(vec![1.0, 0.0, 0.0, 0.0], 0.0)).definiteness,
        Definiteness::NearSingular
    );
    // An eigenvalue inside the error estimate is not claimed either way.
    assert_eq!(
        hessian_spectrum(&mk(vec![1.0, 0.0, 0.0, 1e-3], 1e-2)).definiteness,
        Definiteness::NearSingular
    );
}

/// Each activation's derivative (what decides "active") against central differences of
/// the activation itself, away from the kink of ReLU and leaky ReLU.
#[test]
fn hidden_activation_derivatives_match_finite_differences() {
    use crate::model::HyperActivation;
    for a in [
        HyperActivation::Relu,
        HyperActivation::LeakyRelu,
        HyperActivation::Silu,
    ] {
        for x in [-30.0, -4.0, -1.3, -0.2, 0.05, 0.7, 2.5, 12.0] {
            let h = 1e-6;
            let fd = (host_activation(a, x + h) - host_activation(a, x - h)) / (2.0 * h);
            let d = hidden_activation_derivative(a, x);
            assert!((d - fd).abs() < 1e-8, "{a:?} at {x}: {d} vs {fd}");
        }
    }
    // SiLU units are all active but the deeply negative ones; leaky ReLU's all are.
    assert!(hidden_activation_derivative(HyperActivation::Silu, -20.0) < ACTIVE_DERIVATIVE);
    assert!(hidden_activation_derivative(HyperActivation::Silu, -1.0) > ACTIVE_DERIVATIVE);
    assert!(hidden_activation_derivative(HyperActivation::LeakyRelu, -5.0) > ACTIVE_DERIVATIVE);
}

#[test]
fn active_units_of_a_hand_made_hypernetwork() {
    // φ: 2 → 3 → 2 → 1, ReLU hidden layers.
    // Layer 1 pre-activations: [z0, z1, z0 + z1 − 1].
    // Layer 2 on h = relu(layer 1): [h0 − h1 − 0.5, h2 + 1e-6].
    let mlp = HostMlp {
        layers: vec![
            (vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0], vec![0.0, 0.0, -1.0], 2),
            (vec![1.0, -1.0, 0.0, 0.0, 0.0, 1.0], vec![-0.5, 1e-6], 3),
            (vec![1.0, 1.0], vec![0.0], 2),
        ],
        linear: None,
        activation: crate::model::HyperActivation::Relu,
    };
    // z = (2, −1): layer 1 [2, −1, 0] → one active (a pre-activation of exactly 0 is
    // not); h = [2, 0, 0]; layer 2 [1.5, 1e-6] → both active (ReLU's slope is 1 however
    // small the positive pre-activation).
    assert_eq!(
        mlp.hidden_pre_activations(&[2.0, -1.0]),
        vec![vec![2.0, -1.0, 0.0], vec![1.5, 1e-6]]
    );
    assert_eq!(active_units(&mlp, &[2.0, -1.0]), vec![1, 2]);
    // z = (1, 2): layer 1 [1, 2, 2] → 3 active; layer 2 [1 − 2 − 0.5, 2 + 1e-6] → 1.
    assert_eq!(active_units(&mlp, &[1.0, 2.0]), vec![3, 1]);
    // z = (−1, −1): nothing passes layer 1; layer 2 [−0.5, 1e-6] → 1 (its bias).
    assert_eq!(active_units(&mlp, &[-1.0, -1.0]), vec![0, 1]);
    // The counts agree with the sign pattern forward() reports.
    for z in [[2.0, -1.0], [1.0, 2.0], [-1.0, -1.0], [0.3, 0.4]] {
        let pattern = mlp.forward(&z).1;
        let units = active_units(&mlp, &z);
        assert_eq!(pattern[..3].iter().filter(|a| **a).count(), units[0]);
        assert_eq!(pattern[3..].iter().filter(|a| **a).count(), units[1]);
    }
    // Per-layer medians over latents.
    assert_eq!(
        active_units_median(&[vec![1, 2], vec![3, 1], vec![0, 1]]),
        vec![1.0, 1.0]
    );
    assert_eq!(
        active_units_median(&[vec![1, 2], vec![3, 4]]),
        vec![2.0, 3.0]
    );
    assert!(active_units_median(&[]).is_empty());
}

#[test]
fn median_handles_infinities() {
    assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
    assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    assert_eq!(median(&[1.0, f64::INFINITY, 2.0]), 2.0);
    assert!(median(&[1.0, f64::INFINITY]).is_infinite());
    assert_eq!(median(&[]), 0.0);
}

/// A small exported model (8-d latents, 3 stored) and its images as decoded by the model.
fn small_model() -> (Vec<u8>, Vec<Vec<f32>>) {
    let (_, bytes, _) =
        crate::export::tests::small_export_with(3, crate::model::HyperActivation::Relu, false);
    let model = hyperinr_runtime::Model::from_bytes(&bytes).unwrap();
    let s = model.sizes();
    let (mut w, mut scratch) = (vec![0.0; s.weights], vec![0.0; s.scratch]);
    let images = (0..3)
        .map(|k| {
            let mut z = vec![0.0; 8];
            model.stored_latent(k, &mut z).unwrap();
            model.decode_weights(&z, &mut w, &mut scratch).unwrap();
            let mut px = vec![0.0f32; 784];
            model.render_image(&w, &mut px, &mut scratch).unwrap();
            // Perturb so the residual is not zero.
            px.iter()
                .enumerate()
                .map(|(i, v)| v + 0.05 * ((i % 5) as f32 - 2.0))
                .collect()
        })
        .collect();
    drop(model);
    (bytes, images)
}

#[test]
fn run_ift_on_an_exported_model() {
    let (bytes, images) = small_model();
    let report = run_ift::<Ad32>(&bytes, &images, 10, &Default::default()).unwrap();
    assert_eq!(report.samples, 3);
    assert_eq!(
        (report.latent_dim, report.siren_params),
        (8, 8 * 2 + 8 + 8 * 8 + 8 + 8 + 1)
    );
    assert_eq!(report.jacobian_fd_latents, 3);
    let fd = report.jacobian_fd_max_rel_error.unwrap();
    assert!(fd < 1e-3, "fd error {fd}");
    for r in &report.per_latent {
        assert_eq!(r.jacobian.singular_values.len(), 8);
        assert!(r.jacobian.sigma_max >= r.jacobian.sigma_min);
        assert!(r.mse > 0.0 && r.mse < 0.01, "mse {}", r.mse);
        assert!(r.hessian.max_eig > 0.0);
        assert_eq!(r.active_units.len(), 1);
        assert!(r.jacobian.rank <= r.active_units[0]);
    }
    assert!((0.0..=1.0).contains(&report.full_rank_fraction));
    let mut ranks: Vec<usize> = report.per_latent.iter().map(|r| r.jacobian.rank).collect();
    ranks.sort();
    assert_eq!(report.rank_min, ranks[0]);
    assert_eq!(report.rank_median, ranks[1] as f64);
    let mut units: Vec<usize> = report
        .per_latent
        .iter()
        .map(|r| r.active_units[0])
        .collect();
    units.sort();
    assert_eq!(report.active_units_median, vec![units[1] as f64]);
    let json = serde_json::to_value(&report).unwrap();
    for key in [
        "full_rank_fraction",
        "sigma_min_median",
        "condition_median",
        "hessian_pd_fraction",
        "samples",
        "rank_median",
        "rank_min",
        "active_units_median",
    ] {
        assert!(json.get(key).is_some(), "{key} missing");
    }
    assert_eq!(
        json["per_latent"][0]["active_units"],
        serde_json::json!(report.per_latent[0].active_units)
    );
    // The limit and the target count are honoured.
    assert_eq!(
        run_ift::<Ad32>(&bytes, &images, 2, &Default::default())
            .unwrap()
            .samples,
        2
    );
    assert!(run_ift::<Ad32>(&bytes, &images[..1], 3, &Default::default()).is_err());
    // The histogram is written and decodes: a title band over four panels, with bars.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ift.png");
    ift_histogram_png(&report, "tiny.hinr", &path).unwrap();
    let img = image::open(&path).unwrap().to_rgb8();
    assert!(
        img.width() >= 1000 && img.height() >= 4 * 250,
        "{:?}",
        img.dimensions()
    );
    let bars = img.pixels().filter(|p| p.0 == [70, 110, 170]).count();
    assert!(bars > 1000, "{bars} bar pixels");
}

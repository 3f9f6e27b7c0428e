//! `hyperinr baseline` through the CLI on the in-repo subsets: PCA codes of the training
//! split, their reconstruction quality on another split (`eval`'s keys), a classifier on them;
//! more components reconstruct strictly better; bad code lengths are refused by name.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_hyperinr");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn baseline(args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("baseline")
        .args(args)
        .output()
        .unwrap()
}

fn json_ok(args: &[&str]) -> serde_json::Value {
    let out = baseline(args);
    assert!(
        out.status.success(),
        "hyperinr baseline {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object on stdout")
}

fn f(v: &serde_json::Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} missing: {v}"))
}

#[test]
fn pca_baseline_on_the_fashion_mnist_subset() {
    let data = repo().join("data/fashion-mnist-subset");
    let data = data.to_str().unwrap();
    let run = |dim: &str, limit: &str| {
        json_ok(&[
            "--method",
            "pca",
            "--dim",
            dim,
            "--dataset",
            "fashion-mnist",
            "--data",
            data,
            "--split",
            "test",
            "--limit",
            limit,
            "--epochs",
            "20",
            "--json",
        ])
    };
    let r64 = run("64", "0");
    assert_eq!(r64["method"], "pca");
    assert_eq!(r64["dim"], 64);
    assert_eq!(r64["fitted"], false);
    assert_eq!(r64["samples"], 500);
    // The training split is the subset's 2,000 training images minus their last tenth.
    assert_eq!(r64["train_samples"], 1800);
    assert_eq!(r64["pca_solver"], "symmetric-eigen");
    assert!(r64.get("udf_rmse").is_none() && r64.get("chamfer").is_none());
    let (psnr64, acc64) = (f(&r64, "psnr_db"), f(&r64, "accuracy"));
    assert!(psnr64.is_finite() && psnr64 > 15.0, "{r64}");
    assert!((0.0..=1.0).contains(&acc64), "{r64}");
    // Far better than chance (0.1) on PCA codes of clothes.
    assert!(acc64 > 0.6, "{r64}");
    let explained = f(&r64, "explained_variance");
    assert!(explained > 0.5 && explained < 1.0, "{r64}");

    let r16 = run("16", "0");
    let psnr16 = f(&r16, "psnr_db");
    assert!(
        psnr64 > psnr16,
        "PCA-64 {psnr64} dB not above PCA-16 {psnr16} dB"
    );
    assert!(f(&r64, "explained_variance") > f(&r16, "explained_variance"));

    // --limit takes the first N of the evaluated split only.
    let r = run("16", "100");
    assert_eq!(
        (r["samples"].as_u64(), r["train_samples"].as_u64()),
        (Some(100), Some(1800))
    );
}

#[test]
fn pca_baseline_on_the_modelnet10_subset_scores_the_udf() {
    let data = repo().join("data/modelnet10-subset");
    let data = data.to_str().unwrap();
    let run = |dim: &str, extra: &[&str]| {
        let mut args = vec![
            "--dim",
            dim,
            "--dataset",
            "modelnet10",
            "--data",
            data,
            "--split",
            "test",
            "--epochs",
            "10",
            "--json",
        ];
        args.extend_from_slice(extra);
        json_ok(&args)
    };
    let (small, large) = (run("4", &[]), run("32", &[]));
    assert_eq!(small["samples"], 30);
    assert_eq!(small["values_per_sample"], 4096);
    // 4,096 probe values per shape: above the full eigen-decomposition's limit.
    assert_eq!(small["pca_solver"], "subspace-iteration");
    assert!(f(&small, "pca_residual") <= 1e-9, "{small}");
    assert!(small.get("psnr_db").is_none(), "{small}");
    let (a, b) = (f(&small, "udf_rmse"), f(&large, "udf_rmse"));
    // Distances are clamped at 0.1, so the RMSE is in (0, 0.1]; more components fit better.
    assert!(a > 0.0 && a <= 0.1 && b > 0.0 && b < a, "{small} {large}");
    assert!((0.0..=1.0).contains(&f(&large, "accuracy")), "{large}");

    // --with-val fits on all 80 training files (8 per class), not the 70 of the training
    // split; evaluating val while fitting it is refused.
    let pooled = run("4", &["--with-val"]);
    assert_eq!(small["train_samples"], 70, "{small}");
    assert_eq!(pooled["train_samples"], 80, "{pooled}");
    assert_eq!(pooled["samples"], 30);
    let out = baseline(&[
        "--dataset",
        "modelnet10",
        "--data",
        data,
        "--split",
        "val",
        "--with-val",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--with-val"), "{err}");
}

#[test]
fn bad_code_lengths_are_refused() {
    let data = repo().join("data/fashion-mnist-subset");
    for dim in ["0", "785"] {
        let out = baseline(&["--dim", dim, "--data", data.to_str().unwrap(), "--json"]);
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("--dim {dim}")) && err.contains("1..=784"),
            "{err}"
        );
    }
    let out = baseline(&["--dataset", "modelnet10", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--data DIR"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

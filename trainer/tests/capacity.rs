//! `hyperinr capacity` on the shipped FashionMNIST model and the in-repo subset: the four
//! levels come out in order, each fit lowers its error, and each of the middle levels starts
//! where the one before ended (the same function, so the same error).

use std::path::Path;
use std::process::Command;

#[test]
fn capacity_levels_on_the_shipped_model() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(env!("CARGO_BIN_EXE_hyperinr"))
        .arg("capacity")
        .arg("--model")
        .arg(repo.join("models/fashion-mnist.hinr"))
        .arg("--data")
        .arg(repo.join("data/fashion-mnist-subset"))
        .args(["--split", "val", "--limit", "4", "--steps", "25"])
        .output()
        .expect("run hyperinr");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(report["samples"], 4);
    let levels = report["levels"].as_array().expect("levels");
    let names: Vec<&str> = levels
        .iter()
        .map(|l| l["level"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        names,
        [
            "latent",
            "last-hidden",
            "siren-from-hypernet",
            "siren-from-init"
        ]
    );
    let dims: Vec<u64> = levels
        .iter()
        .map(|l| l["dims"].as_u64().unwrap_or(0))
        .collect();
    // The shipped φ has a linear path: its last level-2 values are h (256) and u (64).
    assert_eq!(dims, [64, 256 + 64, 1185, 1185]);
    let f = |l: &serde_json::Value, k: &str| l[k].as_f64().unwrap_or(f64::NAN);
    for l in levels {
        assert!(f(l, "psnr_db") > f(l, "start_psnr_db"), "no progress: {l}");
    }
    for k in 1..3 {
        let (start, prev) = (f(&levels[k], "start_psnr_db"), f(&levels[k - 1], "psnr_db"));
        assert!(
            (start - prev).abs() < 0.01,
            "level {k} starts at {start} dB, not {prev}"
        );
    }
}

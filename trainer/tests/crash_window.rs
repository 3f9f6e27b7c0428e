//! The end of an epoch writes two files, `metrics.csv` then `checkpoint.bin`, each atomically.
//! A crash between the two leaves the metrics one epoch ahead of the checkpoint; `--resume`
//! must then drop the extra row and redo the epoch, ending exactly like an uninterrupted run.
//! (Writing them the other way round, a crash there lost the last epoch's row.) The crash
//! state is built by restoring the previous epoch's checkpoint, since the window is too
//! short to hit with a signal.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_hyperinr");

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/fashion-mnist-subset")
}

fn train(run: &Path, epochs: u32, resume: bool) {
    let mut c = Command::new(BIN);
    c.args(["train", "--quiet", "--limit", "128", "--batch", "64"])
        .args(["--epochs", &epochs.to_string()])
        .arg("--data")
        .arg(data())
        .arg("--run")
        .arg(run);
    if resume {
        c.arg("--resume");
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Sections of a checkpoint file: config, epoch, hypernet, optimiser, latents.
fn sections(path: &Path) -> Vec<Vec<u8>> {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..8], b"HINRCKP2");
    // The last 32 bytes are the SHA-256 of the rest.
    let b = &b[..b.len() - 32];
    let mut out = Vec::new();
    let mut o = 8;
    while o < b.len() {
        let n = u64::from_le_bytes(b[o..o + 8].try_into().unwrap()) as usize;
        out.push(b[o + 8..o + 8 + n].to_vec());
        o += 8 + n;
    }
    out
}

/// `epoch,mse,psnr` of every row (the seconds column differs between runs).
fn metrics(run: &Path) -> Vec<String> {
    std::fs::read_to_string(run.join("metrics.csv"))
        .unwrap()
        .lines()
        .map(|l| l.rsplit_once(',').unwrap().0.to_string())
        .collect()
}

#[test]
fn crash_between_the_metrics_and_the_checkpoint_write() {
    let dir = tempfile::tempdir().unwrap();
    let (straight, crashed) = (dir.path().join("straight"), dir.path().join("crashed"));
    train(&straight, 3, false);

    train(&crashed, 1, false);
    let epoch1 = std::fs::read(crashed.join("checkpoint.bin")).unwrap();
    train(&crashed, 2, true);
    assert_eq!(metrics(&crashed).len(), 3, "header and two epochs");
    // Killed after epoch 2's metrics were written, before its checkpoint was.
    std::fs::write(crashed.join("checkpoint.bin"), epoch1).unwrap();
    train(&crashed, 3, true);

    assert_eq!(metrics(&crashed), metrics(&straight));
    assert_eq!(metrics(&straight).len(), 4);
    let (a, b) = (
        sections(&straight.join("checkpoint.bin")),
        sections(&crashed.join("checkpoint.bin")),
    );
    assert_eq!(a[1], b[1], "epoch");
    assert!(a[2] == b[2], "hypernetwork weights differ");
    assert!(a[4] == b[4], "latents differ");
}

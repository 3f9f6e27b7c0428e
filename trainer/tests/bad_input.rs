//! Bad input through the `hyperinr` CLI, one test per case: every one must end with a clear
//! error — exit status 1 (101 would be a panic), and stderr naming the file and what is
//! wrong — and nothing may panic.
//!
//! Datasets are copies of the in-repo FashionMNIST and ModelNet10 subsets with one file
//! damaged; models are `models/fashion-mnist-mcu.hinr` with bytes changed, or synthetic ones.
//! (The NPY reader's cases are also unit tests in `datasets/src/clouds.rs`, the IDX reader's in
//! `datasets/src/fashion.rs`; both readers are fuzzed in `datasets/fuzz/`.)

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_hyperinr");
const IMAGES: &str = "train-images-idx3-ubyte";
const LABELS: &str = "train-labels-idx1-ubyte";
/// Images in the in-repo subset's training file.
const TRAIN_IMAGES: usize = 2000;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn subset() -> PathBuf {
    repo().join("data/fashion-mnist-subset")
}

fn real_model() -> PathBuf {
    repo().join("models/fashion-mnist-mcu.hinr")
}

fn hyperinr(args: &[&str], paths: &[&Path]) -> Output {
    let mut c = Command::new(BIN);
    c.args(args).args(paths).env("RUST_BACKTRACE", "0");
    c.output().expect("run hyperinr")
}

/// Exit status 1 and every one of `needles` in stderr.
fn assert_clean_error(out: &Output, needles: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_ne!(out.status.code(), Some(101), "hyperinr panicked:\n{stderr}");
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected exit status 1, got {:?}; stderr:\n{stderr}",
        out.status
    );
    assert!(!stderr.contains("panicked"), "a thread panicked:\n{stderr}");
    for n in needles {
        assert!(stderr.contains(n), "stderr lacks `{n}`:\n{stderr}");
    }
    stderr
}

fn gunzip(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// A copy of the in-repo subset in a temp dir, with the training images and labels
/// decompressed (plain files are found before `.gz` ones).
struct Data {
    dir: tempfile::TempDir,
}

impl Data {
    fn new() -> Data {
        let dir = tempfile::tempdir().unwrap();
        for e in std::fs::read_dir(subset()).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
        }
        let d = Data { dir };
        for name in [IMAGES, LABELS] {
            let gz = d.path().join(format!("{name}.gz"));
            std::fs::write(d.path().join(name), gunzip(&gz)).unwrap();
            std::fs::remove_file(gz).unwrap();
        }
        d
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn file(&self, name: &str) -> PathBuf {
        self.path().join(name)
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.file(name)).unwrap()
    }

    fn write(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.file(name), bytes).unwrap();
    }

    /// `hyperinr train` on this data (fails while loading, before any training).
    fn train(&self) -> Output {
        let run = self.path().join("run");
        hyperinr(
            &["train", "--quiet", "--epochs", "1", "--data"],
            &[self.path(), Path::new("--run"), &run],
        )
    }
}

// ---- IDX / gzip -------------------------------------------------------------------------

#[test]
fn idx_truncated() {
    let d = Data::new();
    let bytes = d.read(IMAGES);
    d.write(IMAGES, &bytes[..bytes.len() - 1000]);
    assert_clean_error(
        &d.train(),
        &[
            &d.file(IMAGES).display().to_string(),
            "offset 16: file truncated",
            &format!("need {} data bytes", TRAIN_IMAGES * 784),
            &format!("file has {}", TRAIN_IMAGES * 784 - 1000),
        ],
    );
}

#[test]
fn idx_trailing_bytes() {
    let d = Data::new();
    let mut bytes = d.read(LABELS);
    bytes.extend_from_slice(b"junk");
    d.write(LABELS, &bytes);
    assert_clean_error(
        &d.train(),
        &[
            &d.file(LABELS).display().to_string(),
            &format!(
                "offset {}: 4 unexpected bytes after the data",
                8 + TRAIN_IMAGES
            ),
        ],
    );
}

#[test]
fn idx_empty_file() {
    let d = Data::new();
    d.write(IMAGES, &[]);
    assert_clean_error(
        &d.train(),
        &[
            &d.file(IMAGES).display().to_string(),
            "offset 0",
            "too short",
        ],
    );
}

#[test]
fn idx_missing_file() {
    let d = Data::new();
    std::fs::remove_file(d.file(LABELS)).unwrap();
    assert_clean_error(
        &d.train(),
        &[
            &d.path().display().to_string(),
            "neither train-labels-idx1-ubyte nor train-labels-idx1-ubyte.gz found",
        ],
    );
}

#[test]
fn idx_not_an_idx_file() {
    let d = Data::new();
    d.write(IMAGES, b"\x89PNG\r\n\x1a\n not an IDX file");
    assert_clean_error(
        &d.train(),
        &[
            &d.file(IMAGES).display().to_string(),
            "offset 0: magic must start with two zero bytes, found 89 50",
        ],
    );
}

#[test]
fn idx_wrong_element_type() {
    let d = Data::new();
    let mut bytes = d.read(IMAGES);
    bytes[2] = 0x0D; // float
    d.write(IMAGES, &bytes);
    assert_clean_error(
        &d.train(),
        &[
            &d.file(IMAGES).display().to_string(),
            "offset 2: element type 0x0d, expected 0x08 (unsigned byte)",
        ],
    );
}

#[test]
fn idx_wrong_dimension_count() {
    // The label file where the images belong (files swapped).
    let d = Data::new();
    d.write(IMAGES, &d.read(LABELS));
    assert_clean_error(
        &d.train(),
        &[
            &d.file(IMAGES).display().to_string(),
            "offset 3: 1 dimensions, expected 3",
        ],
    );
}

#[test]
fn idx_wrong_image_size() {
    // 20 images of 0×28 and of 32×32: well-formed IDX, not FashionMNIST.
    for (h, w) in [(0u32, 28u32), (32, 32)] {
        let d = Data::new();
        let mut bytes = vec![0, 0, 8, 3];
        for dim in [20, h, w] {
            bytes.extend_from_slice(&dim.to_be_bytes());
        }
        bytes.resize(bytes.len() + (20 * h * w) as usize, 0);
        d.write(IMAGES, &bytes);
        let mut labels = vec![0, 0, 8, 1, 0, 0, 0, 20];
        labels.extend_from_slice(&[3; 20]);
        d.write(LABELS, &labels);
        assert_clean_error(
            &d.train(),
            &[
                &d.file(IMAGES).display().to_string(),
                &format!("offset 8: images are {h}×{w} pixels, FashionMNIST images are 28×28"),
            ],
        );
    }
}

#[test]
fn idx_image_label_count_mismatch() {
    let d = Data::new();
    let mut labels = d.read(LABELS);
    labels.pop();
    labels[4..8].copy_from_slice(&(TRAIN_IMAGES as u32 - 1).to_be_bytes());
    d.write(LABELS, &labels);
    assert_clean_error(
        &d.train(),
        &[
            &d.file(LABELS).display().to_string(),
            &format!("{} labels for {TRAIN_IMAGES} images", TRAIN_IMAGES - 1),
        ],
    );
}

#[test]
fn idx_label_out_of_range() {
    let d = Data::new();
    let mut labels = d.read(LABELS);
    labels[8 + 17] = 10;
    d.write(LABELS, &labels);
    assert_clean_error(
        &d.train(),
        &[
            &d.file(LABELS).display().to_string(),
            "offset 25: label 10 out of range 0..10",
        ],
    );
}

#[test]
fn idx_no_images() {
    let d = Data::new();
    d.write(IMAGES, &[0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28]);
    d.write(LABELS, &[0, 0, 8, 1, 0, 0, 0, 0]);
    assert_clean_error(
        &d.train(),
        &[&d.path().display().to_string(), "split Train has no"],
    );
}

#[test]
fn gzip_truncated() {
    let d = Data::new();
    let gz = gzip(&d.read(IMAGES));
    std::fs::remove_file(d.file(IMAGES)).unwrap();
    let name = format!("{IMAGES}.gz");
    d.write(&name, &gz[..gz.len() / 2]);
    assert_clean_error(
        &d.train(),
        &[&d.file(&name).display().to_string(), "corrupt gzip stream"],
    );
}

#[test]
fn gzip_corrupt() {
    let d = Data::new();
    let mut gz = gzip(&d.read(IMAGES));
    std::fs::remove_file(d.file(IMAGES)).unwrap();
    let name = format!("{IMAGES}.gz");
    // A flipped byte in the deflate data (and, separately, in the stored CRC-32).
    for at in [gz.len() / 2, gz.len() - 6] {
        gz[at] ^= 0x55;
        d.write(&name, &gz);
        assert_clean_error(
            &d.train(),
            &[&d.file(&name).display().to_string(), "corrupt gzip stream"],
        );
        gz[at] ^= 0x55;
    }
}

// ---- model files ------------------------------------------------------------------------

/// Writes `bytes` as a model file in a temp dir.
fn model_file(bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.hinr");
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

fn inspect(model: &Path) -> Output {
    hyperinr(&["inspect"], &[model])
}

fn eval(model: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["eval", "--json"];
    args.extend_from_slice(extra);
    hyperinr(
        &args,
        &[Path::new("--model"), model, Path::new("--data"), &subset()],
    )
}

/// The real model's bytes with `edit` applied.
fn edited(edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut bytes = std::fs::read(real_model()).unwrap();
    edit(&mut bytes);
    bytes
}

#[test]
fn model_missing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.hinr");
    assert_clean_error(
        &inspect(&path),
        &[&path.display().to_string(), "No such file"],
    );
}

#[test]
fn model_truncated() {
    let full = std::fs::read(real_model()).unwrap();
    for (len, what) in [
        (
            0,
            "file is 0 bytes, shorter than the 16-byte header".to_string(),
        ),
        (
            10,
            "file is 10 bytes, shorter than the 16-byte header".into(),
        ),
        (
            full.len() / 2,
            format!(
                "truncated: header declares {} payload bytes, file has {}",
                full.len() - 16,
                full.len() / 2 - 16
            ),
        ),
        (full.len() - 1, "truncated: header declares".into()),
    ] {
        let (_dir, path) = model_file(&full[..len]);
        for out in [inspect(&path), eval(&path, &[])] {
            assert_clean_error(&out, &[&path.display().to_string(), &what]);
        }
    }
}

#[test]
fn model_future_format_version() {
    let (_dir, path) = model_file(&edited(|b| b[4..6].copy_from_slice(&4u16.to_le_bytes())));
    for out in [inspect(&path), eval(&path, &[])] {
        assert_clean_error(
            &out,
            &[
                &path.display().to_string(),
                "offset 4: format version 4, this reader supports versions 2 to 3",
            ],
        );
    }
}

/// A version-1 file (before φ's activation, linear path and fit settings were stored) is
/// refused with the way out; `hyperinr upgrade` converts it, and the result inspects clean.
#[test]
fn model_format_version_1_and_its_upgrade() {
    // A model that has a version-1 form: the ModelNet10 model shipped until issue 20 (ReLU
    // φ, upgraded from version 1), kept as a fixture; every shipped model now has a SiLU φ
    // and a linear path, which version 1 cannot hold.
    let v2 = std::fs::read(repo().join("trainer/tests/data/modelnet10-relu.hinr")).unwrap();
    let file = hyperinr_shared::ModelFile::parse(&v2).unwrap();
    let v1 = hyperinr_shared::upgrade::encode_v1(&file).unwrap();
    let (dir, path) = model_file(&v1);
    for out in [inspect(&path), eval(&path, &[])] {
        assert_clean_error(
            &out,
            &[
                &path.display().to_string(),
                "offset 4: format version 1, this reader supports versions 2 to 3 only",
                "hyperinr upgrade IN OUT",
            ],
        );
    }
    let out_path = dir.path().join("upgraded.hinr");
    let out = hyperinr(&["upgrade"], &[&path, &out_path]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(&out_path).unwrap(),
        v2,
        "the shipped file again"
    );
    let out = inspect(&out_path);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "header: version 2",
        "φ: hidden activation relu, linear path none",
        "stored latents fitted with: 30 Adam steps, lr 0.02, β1 0.9, β2 0.999, ε 1e-8, latent L2 1e-4, initial std 0",
        "self-test: 4 golden vectors reproduce bit for bit",
    ] {
        assert!(stdout.contains(needle), "inspect lacks `{needle}`:\n{stdout}");
    }
    // Already version 2: nothing to do, a clear error.
    assert_clean_error(
        &hyperinr(&["upgrade"], &[&out_path, &dir.path().join("again.hinr")]),
        &["already format version 2"],
    );
}

#[test]
fn model_not_a_model() {
    // An IDX file given as the model.
    let labels = gunzip(&subset().join("t10k-labels-idx1-ubyte.gz"));
    let (_dir, path) = model_file(&labels);
    assert_clean_error(
        &inspect(&path),
        &[
            &path.display().to_string(),
            "offset 0: magic is",
            "expected \"HINR\"",
        ],
    );
}

#[test]
fn model_flipped_byte_in_header() {
    for (at, mask, what) in [
        (0, 0x01, "offset 0: magic is"),
        (3, 0x01, "offset 0: magic is"),
        (5, 0x01, "offset 4: format version 258"),
        (7, 0x01, "offset 6: reserved flags 0x0100 are set"),
        (11, 0x80, "offset 8: payload length"),
        (12, 0x01, "offset 12: payload CRC-32"),
        (15, 0x01, "offset 12: payload CRC-32"),
    ] {
        let (_dir, path) = model_file(&edited(|b| b[at] ^= mask));
        for out in [inspect(&path), eval(&path, &[])] {
            assert_clean_error(&out, &[&path.display().to_string(), what]);
        }
    }
    // The payload length one more and one less than the bytes that follow (a flipped bit's
    // direction would depend on the shipped model's length).
    for (delta, what) in [
        (1i64, "truncated: header declares"),
        (-1, "payload bytes but"),
    ] {
        let (_dir, path) = model_file(&edited(|b| {
            let n = u32::from_le_bytes(b[8..12].try_into().unwrap());
            let n = u32::try_from(i64::from(n) + delta).unwrap();
            b[8..12].copy_from_slice(&n.to_le_bytes());
        }));
        for out in [inspect(&path), eval(&path, &[])] {
            assert_clean_error(&out, &[&path.display().to_string(), what]);
        }
    }
}

#[test]
fn model_flipped_byte_in_payload() {
    // Config, provenance, hypernetwork, classifier, latents, golden vectors, last byte: the
    // header's CRC-32 catches every one.
    let len = std::fs::read(real_model()).unwrap().len();
    for at in [
        16,
        40,
        200,
        len / 4,
        len / 2,
        3 * len / 4,
        len - 100,
        len - 1,
    ] {
        let (_dir, path) = model_file(&edited(|b| b[at] ^= 0x80));
        for out in [inspect(&path), eval(&path, &[])] {
            assert_clean_error(
                &out,
                &[
                    &path.display().to_string(),
                    "offset 12: payload CRC-32",
                    "corrupted file",
                ],
            );
        }
    }
}

#[test]
fn model_flipped_byte_with_a_matching_crc() {
    // A flip with the CRC recomputed (a buggy writer, or deliberate): the reader's decoder,
    // its validator or the golden-vector self-test may catch it, or the file is still a
    // valid model — a flip in a stored latent that no golden vector uses, in a provenance
    // string, or in a hypernetwork weight behind a ReLU unit that no golden latent
    // activates (about two thirds of these 48 flips, measured). Only the CRC catches every
    // flip. Never a panic; an error names the file.
    let good = std::fs::read(real_model()).unwrap();
    let payload_len = good.len() - 16;
    let mut rejected = 0;
    let positions: Vec<usize> = (0..48).map(|k| 16 + k * payload_len / 48).collect();
    for &at in &positions {
        let mut payload = good[16..].to_vec();
        payload[at - 16] ^= 0x01;
        // The file's own version: another would be rejected at the header.
        let version = u16::from_le_bytes([good[4], good[5]]);
        let mut bytes = hyperinr_shared::Header::encode_version(&payload, version).to_vec();
        bytes.extend_from_slice(&payload);
        let (_dir, path) = model_file(&bytes);
        let out = inspect(&path);
        if out.status.success() {
            continue;
        }
        rejected += 1;
        assert_clean_error(&out, &[&path.display().to_string()]);
    }
    assert!(
        rejected >= positions.len() / 6,
        "only {rejected} of {} flips rejected",
        positions.len()
    );
}

#[test]
fn model_from_another_dataset() {
    use hyperinr_tests::synthetic::{model_bytes, Spec};
    let (_dir, path) = model_file(&model_bytes(&Spec::point_cloud()));
    let p = path.display().to_string();
    assert_clean_error(
        &eval(&path, &["--dataset", "fashion-mnist"]),
        &[&p, "trained on `synthetic-modelnet10`, not `fashion-mnist`"],
    );
    // The FashionMNIST model evaluated on shapes.
    let fm = real_model();
    assert_clean_error(
        &hyperinr(
            &["eval", "--dataset", "modelnet10"],
            &[
                Path::new("--model"),
                &fm,
                Path::new("--data"),
                &shapes_subset(),
            ],
        ),
        &[
            &fm.display().to_string(),
            "trained on `fashion-mnist`, not `modelnet10`",
        ],
    );
    let png = path.with_extension("png");
    assert_clean_error(
        &hyperinr(
            &["render"],
            &[
                Path::new("--model"),
                &path,
                Path::new("--data"),
                &subset(),
                Path::new("--out"),
                &png,
            ],
        ),
        &[&p, "unknown dataset `synthetic-modelnet10`"],
    );
    assert!(!png.exists());
    // Input of the other kind: a PNG for a shape model, a point cloud for an image model.
    std::fs::write(&png, b"\x89PNG\r\n\x1a\n and not even a whole PNG").unwrap();
    assert_clean_error(
        &hyperinr(
            &["classify"],
            &[Path::new("--model"), &path, Path::new("--input"), &png],
        ),
        &[&png.display().to_string(), "not an NPY file"],
    );
    let npy = shapes_subset().join("bed/test/bed_0516.npy");
    assert_clean_error(
        &hyperinr(
            &["classify"],
            &[Path::new("--model"), &fm, Path::new("--input"), &npy],
        ),
        &[&npy.display().to_string(), "not a PNG"],
    );
}

#[test]
fn model_latents_beyond_the_dataset() {
    // The model stores latents of test images 0..1000; a dataset with 10 test images.
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small");
    let out = hyperinr(
        &["make-subset", "--train", "20", "--test", "10", "--from"],
        &[&subset(), Path::new("--to"), &small],
    );
    assert!(out.status.success(), "{out:?}");
    let model = real_model();
    let png = dir.path().join("r.png");
    let needles = [
        &model.display().to_string()[..],
        "refers to sample 10",
        "has 10",
    ];
    assert_clean_error(
        &hyperinr(
            &["render", "--count", "24"],
            &[
                Path::new("--model"),
                &model,
                Path::new("--data"),
                &small,
                Path::new("--out"),
                &png,
            ],
        ),
        &needles,
    );
    assert!(!png.exists());
    assert_clean_error(
        &hyperinr(
            &["eval"],
            &[Path::new("--model"), &model, Path::new("--data"), &small],
        ),
        &needles,
    );
}

// ---- NPY point clouds (ModelNet10 subset) ------------------------------------------------

fn shapes_subset() -> PathBuf {
    repo().join("data/modelnet10-subset")
}

/// One file of the subset that every training run reads.
const CLOUD: &str = "bed/train/bed_0001.npy";

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}

/// A copy of the in-repo ModelNet10 subset in a temp dir.
struct Shapes {
    dir: tempfile::TempDir,
}

impl Shapes {
    fn new() -> Shapes {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&shapes_subset(), &dir.path().join("data"));
        Shapes { dir }
    }

    fn file(&self, rel: &str) -> PathBuf {
        self.dir.path().join("data").join(rel)
    }

    /// The values of `CLOUD` (`(N, 3)` little-endian f32).
    fn cloud(&self) -> Vec<f32> {
        let b = std::fs::read(self.file(CLOUD)).unwrap();
        let header = u16::from_le_bytes([b[8], b[9]]) as usize;
        b[10 + header..]
            .chunks_exact(4)
            .map(|w| f32::from_le_bytes(w.try_into().unwrap()))
            .collect()
    }

    /// Replaces `CLOUD` by an NPY 1.0 file with header `dict` and `data`.
    fn write_cloud(&self, dict: &str, data: &[u8]) -> String {
        let mut header = dict.to_string();
        while !(10 + header.len() + 1).is_multiple_of(64) {
            header.push(' ');
        }
        header.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        std::fs::write(self.file(CLOUD), out).unwrap();
        self.file(CLOUD).display().to_string()
    }

    /// `hyperinr train --dataset modelnet10` on this data (fails while loading).
    fn train(&self) -> Output {
        let run = self.dir.path().join("run");
        hyperinr(
            &[
                "train",
                "--quiet",
                "--epochs",
                "1",
                "--dataset",
                "modelnet10",
                "--data",
            ],
            &[&self.dir.path().join("data"), Path::new("--run"), &run],
        )
    }
}

fn f32_bytes(values: impl IntoIterator<Item = f32>) -> Vec<u8> {
    values.into_iter().flat_map(f32::to_le_bytes).collect()
}

#[test]
fn npy_truncated() {
    let s = Shapes::new();
    let bytes = std::fs::read(s.file(CLOUD)).unwrap();
    std::fs::write(s.file(CLOUD), &bytes[..bytes.len() - 5]).unwrap();
    assert_clean_error(
        &s.train(),
        &[
            &s.file(CLOUD).display().to_string(),
            &format!("offset {}: file truncated", bytes.len() - 5),
        ],
    );
}

#[test]
fn npy_wrong_dtype() {
    let s = Shapes::new();
    let cloud = s.cloud();
    let data: Vec<u8> = cloud
        .iter()
        .flat_map(|&v| (v as f64).to_le_bytes())
        .collect();
    let n = cloud.len() / 3;
    let file = s.write_cloud(
        &format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({n}, 3), }}"),
        &data,
    );
    assert_clean_error(
        &s.train(),
        &[&file, "offset 20: dtype '<f8' (float64", "expected '<f4'"],
    );
}

#[test]
fn npy_wrong_shape() {
    let s = Shapes::new();
    let cloud = s.cloud();
    let n = cloud.len() / 2;
    let file = s.write_cloud(
        &format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({n}, 2), }}"),
        &f32_bytes(cloud),
    );
    assert_clean_error(
        &s.train(),
        &[&file, &format!("shape ({n}, 2), expected (N, 3)")],
    );
}

#[test]
fn npy_fortran_order() {
    let s = Shapes::new();
    let cloud = s.cloud();
    let n = cloud.len() / 3;
    let file = s.write_cloud(
        &format!("{{'descr': '<f4', 'fortran_order': True, 'shape': ({n}, 3), }}"),
        &f32_bytes(cloud),
    );
    assert_clean_error(&s.train(), &[&file, "fortran_order is True"]);
}

#[test]
fn npy_nan() {
    let s = Shapes::new();
    let mut cloud = s.cloud();
    cloud[7] = f32::NAN;
    let n = cloud.len() / 3;
    let file = s.write_cloud(
        &format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({n}, 3), }}"),
        &f32_bytes(cloud),
    );
    assert_clean_error(
        &s.train(),
        &[&file, "offset 156: point 2 coordinate y is NaN"],
    );
}

#[test]
fn npy_not_an_npy_file() {
    let s = Shapes::new();
    std::fs::write(s.file(CLOUD), b"\x89PNG\r\n\x1a\n not a point cloud").unwrap();
    assert_clean_error(
        &s.train(),
        &[&s.file(CLOUD).display().to_string(), "not an NPY file"],
    );
}

#[test]
fn npy_empty_class_folder() {
    let s = Shapes::new();
    let dir = s.file("bed/train");
    for e in std::fs::read_dir(&dir).unwrap() {
        std::fs::remove_file(e.unwrap().path()).unwrap();
    }
    assert_clean_error(
        &s.train(),
        &[&dir.display().to_string(), "empty class folder"],
    );
}

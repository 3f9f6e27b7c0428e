//! `hyperinr classify --input` on a user's picture: the first five FashionMNIST test items of
//! the in-repo subset drawn the way a user would draw or photograph them — dark on white,
//! enlarged seven times to 196×196 and placed off-centre on a 200×240 white page — must be
//! classified as the shipped model classifies the items themselves, and so as their labels
//! wherever the model gets the item right. (The old path squashed the whole page to 28×28;
//! `data::picture` trims, scales and centres it as FashionMNIST prepared its photos.)
//!
//! The shipped model, fitting as its file records, gets four of the five originals right:
//! item 4, a shirt, reads as a t-shirt/top from the exact 28×28 item too.

use image::imageops::{self, FilterType};
use image::{GrayImage, Luma};
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_hyperinr");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The user's picture of a 28×28 item: negated (dark object on white), enlarged ×7 with
/// nearest-neighbour, on a 200×240 white page at (3, 10).
fn page(item: &[u8]) -> GrayImage {
    let drawn = GrayImage::from_fn(28, 28, |x, y| Luma([255 - item[(y * 28 + x) as usize]]));
    let big = imageops::resize(&drawn, 196, 196, FilterType::Nearest);
    let mut page = GrayImage::from_pixel(200, 240, Luma([255]));
    imageops::replace(&mut page, &big, 3, 10);
    page
}

/// The class index `classify` printed ("ankle boot (class 9), confidence …"), and its stderr.
fn classify(model: &Path, input: &Path) -> (usize, String) {
    let out = Command::new(BIN)
        .args(["classify", "--model"])
        .arg(model)
        .arg("--input")
        .arg(input)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run hyperinr");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "{}:\n{stderr}", input.display());
    let class = stdout
        .split("(class ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|k| k.parse().ok())
        .unwrap_or_else(|| panic!("no class in `{stdout}`"));
    (class, stderr)
}

/// The item as the dataset stores it: 28×28, light on black.
fn square(item: &[u8]) -> GrayImage {
    GrayImage::from_raw(28, 28, item.to_vec()).unwrap()
}

#[test]
fn padded_dark_on_white_pictures_are_classified_as_their_items() {
    let subset = repo().join("data/fashion-mnist-subset");
    let items = hyperinr_data::fashion::load_idx_pair(&subset, "t10k").unwrap();
    let model = repo().join("models/fashion-mnist.hinr");
    let dir = tempfile::tempdir().unwrap();
    // Per item: (label, class of the original, class of the user's picture).
    let mut got = Vec::new();
    for i in 0..5 {
        let original = dir.path().join(format!("item-{i}-28x28.png"));
        square(items.image(i)).save(&original).unwrap();
        let (class_of_original, _) = classify(&model, &original);
        let path = dir.path().join(format!("item-{i}.png"));
        page(items.image(i)).save(&path).unwrap();
        let (class, stderr) = classify(&model, &path);
        // The preparation's summary: a light background read, the object found where it was
        // drawn, negated to light on black, brought back to the item's 28 pixels.
        assert!(
            stderr.contains("picture 200×240: background level 255"),
            "{stderr}"
        );
        assert!(stderr.contains("inverted"), "{stderr}");
        assert!(
            stderr.contains("scaled to") && stderr.contains("in 28×28"),
            "{stderr}"
        );
        got.push((items.labels[i] as usize, class_of_original, class));
    }
    for (i, &(label, original, picture)) in got.iter().enumerate() {
        assert_eq!(
            picture, original,
            "item {i} (label {label}): (label, original, picture) per item: {got:?}"
        );
    }
    let right = got.iter().filter(|(l, _, c)| c == l).count();
    assert!(right >= 4, "(label, original, picture) per item: {got:?}");
}

#[test]
fn a_model_with_oblong_images_is_refused() {
    use hyperinr_tests::synthetic::{model_bytes, Spec};
    let mut spec = Spec::fashion_mnist();
    spec.input = hyperinr_shared::InputKind::Image {
        width: 32,
        height: 24,
    };
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("oblong.hinr");
    std::fs::write(&model, model_bytes(&spec)).unwrap();
    let input = dir.path().join("shirt.png");
    page(&[128; 784]).save(&input).unwrap();
    let out = Command::new(BIN)
        .args(["classify", "--model"])
        .arg(&model)
        .arg("--input")
        .arg(&input)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run hyperinr");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for needle in ["oblong.hinr", "32×24", "square frames only"] {
        assert!(
            stderr.contains(needle),
            "stderr lacks `{needle}`:\n{stderr}"
        );
    }
}

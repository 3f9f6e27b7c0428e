//! Issue 18's host side: `export-observations` writes what the firmware embeds, and
//! `--engine runtime` fits exactly the latents the device fits for the same samples — the
//! host replay of the firmware's step 6 (`check::fit_observations`) on the exported file
//! gives the same bits as the trainer's runtime engine on the dataset's samples.

use hyperinr_runtime::check::{self, FitBuffers};
use hyperinr_runtime::{FitWorkspaceBuf, Model, WorkspaceBuf};
use hyperinr_shared::observations::{ObservationData, Observations};
use hyperinr_shared::results::{decode, Encoder, Record};
use hyperinr_trainer::data::samples::{load_samples, DatasetKind, UdfConfig};
use hyperinr_trainer::eval::runtime_fit::fit_with_runtime;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_hyperinr");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn hyperinr(args: &[&str]) -> (String, String) {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(repo())
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run hyperinr");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "hyperinr {args:?}:\n{stderr}");
    (stdout, stderr)
}

/// The latents (bits) the firmware's step 6 fits for `observations`, replayed on the host.
fn device_latents(model: &Model<'_>, observations: &Observations<'_>) -> Vec<Vec<u32>> {
    let mut ws = WorkspaceBuf::new(model);
    let mut fit = FitWorkspaceBuf::new(model);
    let mut coords = vec![0.0f32; check::fit_coords_len(model)];
    let mut targets = vec![0.0f32; check::fit_targets_len(model)];
    let mut buffers = FitBuffers {
        fit: fit.workspace(),
        coords: &mut coords,
        targets: &mut targets,
    };
    let mut file = Encoder::new(Vec::new());
    check::fit_observations(
        model,
        observations,
        &mut ws.workspace(),
        &mut buffers,
        &mut file,
    )
    .unwrap();
    let (file, status) = file.finish();
    status.unwrap();
    decode(&file)
        .unwrap()
        .filter_map(|r| match r.unwrap() {
            Record::Fitted(f) => Some(f.latent.iter().collect()),
            _ => None,
        })
        .collect()
}

fn engine_latents(model: &Model<'_>, kind: DatasetKind, data: &Path, n: usize) -> Vec<Vec<u32>> {
    let samples = load_samples(
        kind,
        data,
        hyperinr_data::Split::Test,
        0,
        &UdfConfig::new(),
        0,
    )
    .unwrap()
    .take(n)
    .unwrap();
    let latents = fit_with_runtime(model, &samples, model.fit_settings(), true).unwrap();
    latents
        .chunks(model.sizes().latent)
        .map(|z| z.iter().map(|v| v.to_bits()).collect())
        .collect()
}

#[test]
fn exported_images_fit_on_the_device_as_the_runtime_engine_fits_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fm.hobs");
    let data = repo().join("data/fashion-mnist-subset");
    hyperinr(&[
        "export-observations",
        "--data",
        data.to_str().unwrap(),
        "--limit",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    let bytes = std::fs::read(&out).unwrap();
    let observations = Observations::parse(&bytes).unwrap();
    let items = hyperinr_data::fashion::load_idx_pair(&data, "t10k").unwrap();
    assert_eq!(observations.len(), 3);
    assert!(observations.fitted.is_empty(), "stride 1: every pixel");
    for (i, o) in observations.iter().enumerate() {
        assert_eq!((o.label, o.dataset_index), (items.labels[i], i as u32));
        assert_eq!(o.data, ObservationData::Pixels(items.image(i)));
    }
    let blob = std::fs::read(repo().join("models/fashion-mnist-mcu.hinr")).unwrap();
    let model = Model::from_bytes(&blob).unwrap();
    let device = device_latents(&model, &observations);
    assert_eq!(device.len(), 3);
    assert_eq!(
        device,
        engine_latents(&model, DatasetKind::FashionMnist, &data, 3)
    );
}

#[test]
fn exported_clouds_fit_on_the_device_as_the_runtime_engine_fits_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mn10.hobs");
    let data = repo().join("data/modelnet10-subset");
    hyperinr(&[
        "export-observations",
        "--dataset",
        "modelnet10",
        "--data",
        data.to_str().unwrap(),
        "--limit",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    let bytes = std::fs::read(&out).unwrap();
    let observations = Observations::parse(&bytes).unwrap();
    assert_eq!(observations.len(), 2);
    let blob = std::fs::read(repo().join("models/modelnet10.hinr")).unwrap();
    let model = Model::from_bytes(&blob).unwrap();
    let device = device_latents(&model, &observations);
    assert_eq!(
        device,
        engine_latents(&model, DatasetKind::Modelnet10, &data, 2)
    );
}

#[test]
fn strided_export_lists_a_quarter_of_the_pixels_and_eval_names_its_engine() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fm196.hobs");
    let data = repo().join("data/fashion-mnist-subset");
    let data = data.to_str().unwrap();
    let (_, stderr) = hyperinr(&[
        "export-observations",
        "--data",
        data,
        "--limit",
        "2",
        "--pixel-stride",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(stderr.contains("2 fashion-mnist observations"), "{stderr}");
    let bytes = std::fs::read(&out).unwrap();
    let observations = Observations::parse(&bytes).unwrap();
    let fitted: Vec<u32> = observations.fitted.iter().collect();
    assert_eq!(fitted.len(), 196);
    assert_eq!(&fitted[..3], &[0, 2, 4]);
    assert_eq!(fitted[14], 56, "row 2 starts after 14 pixels of row 0");

    let (stdout, _) = hyperinr(&[
        "eval",
        "--model",
        "models/fashion-mnist-mcu.hinr",
        "--data",
        data,
        "--limit",
        "4",
        "--fit",
        "--engine",
        "runtime",
        "--fit-steps",
        "10",
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["engine"], "runtime", "{stdout}");
    assert_eq!(report["samples"], 4, "{stdout}");
    assert!(report["psnr_db"].as_f64().unwrap() > 10.0, "{stdout}");
}

#[test]
fn a_pixel_stride_for_clouds_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["export-observations", "--dataset", "modelnet10", "--data"])
        .arg(repo().join("data/modelnet10-subset"))
        .args(["--pixel-stride", "2", "--out"])
        .arg(dir.path().join("x.hobs"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--pixel-stride applies to images"),
        "{stderr}"
    );
    assert!(!dir.path().join("x.hobs").exists());
}

//! The 3-D half of the pipeline end to end through the CLI, on the ModelNet10 subset in the
//! repository (`data/modelnet10-subset`, 8 train / 3 test shapes per class): train on UDF
//! targets, fit latents (φ frozen), train the classifier, export int8, evaluate with the
//! runtime (accuracy + Chamfer distance), render, classify a cloud of one's own; and the
//! same stages refuse a model of the wrong kind.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_hyperinr");

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/modelnet10-subset")
}

fn run_ok(args: &[&str], extra: &[&Path]) -> Output {
    let out = Command::new(BIN).args(args).args(extra).output().unwrap();
    assert!(
        out.status.success(),
        "hyperinr {args:?} {extra:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json(out: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().rev().find(|l| l.starts_with('{')).unwrap();
    serde_json::from_str(line).unwrap()
}

#[test]
fn modelnet10_subset_trains_exports_and_evaluates() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let d = data();
    // The shipped shape recipe (80 % uniform queries, UDF clamped at 0.2) for 30 epochs of
    // batches of 8: ≈ 3 s here, and a model that learns. Over 36 training and classifier
    // seeds the eval accuracy below read 0.40–0.63 (mean 0.50) and the CV accuracy 0.55–0.70;
    // the former test model (8 epochs of 16, the default sampler) read 0.10–0.40 and failed
    // the chance check in 3 of 12.
    run_ok(
        &[
            "train",
            "--dataset",
            "modelnet10",
            "--quiet",
            "--epochs",
            "30",
            "--batch",
            "8",
            "--queries",
            "512",
            "--udf-uniform-fraction",
            "0.8",
            "--udf-clamp",
            "0.2",
            "--data",
        ],
        &[&d, Path::new("--run"), &run],
    );
    // The UDF loss falls: the last epoch's MSE is well below the first's.
    let metrics = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let rows: Vec<Vec<&str>> = metrics.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows[0], ["epoch", "train_mse", "train_udf_rmse", "seconds"]);
    let mse = |r: &Vec<&str>| r[1].parse::<f64>().unwrap();
    assert_eq!(rows.len(), 31);
    assert!(
        mse(&rows[30]) < 0.8 * mse(&rows[1]),
        "UDF loss did not fall: {metrics}"
    );

    for split in ["train", "val", "test"] {
        run_ok(
            &["fit", "--quiet", "--steps", "10", "--split", split, "--run"],
            &[&run, Path::new("--data"), &d],
        );
    }
    // Cross-validation over train and val pooled: every one of the 80 shapes (8 per class)
    // predicted once out of its fold, by classifiers that learn (chance is 0.1).
    let cv = json(&run_ok(
        &["classifier", "--epochs", "20", "--folds", "4", "--run"],
        &[&run],
    ));
    assert_eq!(cv["cv_samples"], 80, "{cv}");
    assert_eq!(cv["train_latents"], "train,val");
    assert_eq!(cv["cv_recall"].as_object().unwrap().len(), 10, "{cv}");
    // Every class has 8 shapes: accuracy, balanced accuracy and the mean recall agree.
    let recall: Vec<f64> = cv["cv_recall"]
        .as_object()
        .unwrap()
        .values()
        .map(|r| r.as_f64().unwrap())
        .collect();
    let mean_recall = recall.iter().sum::<f64>() / 10.0;
    let (acc, balanced) = (
        cv["cv_accuracy"].as_f64().unwrap(),
        cv["cv_balanced_accuracy"].as_f64().unwrap(),
    );
    assert!(
        (acc - balanced).abs() < 1e-9 && (acc - mean_recall).abs() < 1e-9,
        "{cv}"
    );
    // 80 shapes scored once each: the accuracy is a multiple of 1/80.
    assert!(((acc * 80.0) - (acc * 80.0).round()).abs() < 1e-9, "{cv}");
    assert!(acc >= 0.3, "{cv}");
    // The pool is the training sets and val: val named again, or test latents, are refused.
    for (sets, message) in [
        ("train,val", "val joins the pool by itself"),
        ("train,test", "test holds test latents"),
    ] {
        let out = Command::new(BIN)
            .args([
                "classifier",
                "--folds",
                "4",
                "--train-latents",
                sets,
                "--run",
            ])
            .arg(&run)
            .output()
            .unwrap();
        assert!(!out.status.success(), "--train-latents {sets} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{err}");
    }
    run_ok(&["classifier", "--epochs", "20", "--run"], &[&run]);
    let model = run.join("model.hinr");
    let export = json(&run_ok(
        &["export", "--latents", "test", "--run"],
        &[&run, Path::new("--out"), &model],
    ));
    assert_eq!(export["latents"], 30);
    let (float, int8) = (
        export["float_accuracy"].as_f64().unwrap(),
        export["int8_accuracy"].as_f64().unwrap(),
    );
    assert!((float - int8).abs() <= 0.05, "{export}");

    let eval = json(&run_ok(
        &["eval", "--dataset", "modelnet10", "--json", "--model"],
        &[&model, Path::new("--data"), &d],
    ));
    assert_eq!(eval["samples"], 30);
    assert_eq!(eval["fitted"], false);
    assert!(eval.get("psnr_db").is_none(), "{eval}");
    // Better than chance (0.1) on 30 shapes after a few seconds of training.
    assert!(eval["accuracy"].as_f64().unwrap() >= 0.2, "{eval}");
    let chamfer = eval["chamfer"].as_f64().unwrap();
    // Reconstructions are coarse here but shapes, not noise: a random cloud in the cube is
    // ≈ 0.5 from a ModelNet shape.
    assert!(chamfer > 0.0 && chamfer < 0.45, "{eval}");
    assert!((eval["chamfer_eps"].as_f64().unwrap() - 0.02).abs() < 1e-6);
    // The reconstructed UDF at the 4,096 probe points against the true distance, both
    // clamped at the file's 0.2: an error in (0, 0.1).
    let udf_rmse = eval["udf_rmse"].as_f64().unwrap();
    assert!(udf_rmse > 0.0 && udf_rmse < 0.1, "{eval}");

    let png = run.join("shapes.png");
    run_ok(
        &["render", "--count", "2", "--model"],
        &[&model, Path::new("--data"), &d, Path::new("--out"), &png],
    );
    let header = std::fs::read(&png).unwrap();
    assert_eq!(&header[1..4], b"PNG");
    // Two rows of six 96-pixel panels, with a title and captions around them (not three
    // rows: `--count 2`).
    let w = u32::from_be_bytes(header[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(header[20..24].try_into().unwrap());
    assert!(w >= 6 * 96 && (2 * 96..4 * 96).contains(&h), "{w}×{h}");

    let cloud = d.join("chair/test/chair_0890.npy");
    let out = run_ok(
        &["classify", "--fit-steps", "10", "--model"],
        &[&model, Path::new("--input"), &cloud],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("confidence") && text.contains("Chamfer"),
        "{text}"
    );

    // A shape model is not a FashionMNIST model, and an image is not a cloud.
    let wrong = Command::new(BIN)
        .args(["eval", "--dataset", "fashion-mnist", "--model"])
        .arg(&model)
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(1));
    let err = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        err.contains("trained on `modelnet10`, not `fashion-mnist`"),
        "{err}"
    );
    let not_npy = Command::new(BIN)
        .args(["classify", "--model"])
        .arg(&model)
        .arg("--input")
        .arg(d.join("manifest.csv"))
        .output()
        .unwrap();
    assert_eq!(not_npy.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&not_npy.stderr).contains("manifest.csv"),
        "{}",
        String::from_utf8_lossy(&not_npy.stderr)
    );

    // An ensemble of 3 classifiers 64-16-16-10 is stored as one MLP 64-48-48-10 that the
    // model file and the runtime run as any other (export checks the golden vectors with
    // the runtime), and its configuration records the members.
    run_ok(
        &[
            "classifier",
            "--epochs",
            "20",
            "--hidden",
            "16,16",
            "--members",
            "3",
            "--run",
        ],
        &[&run],
    );
    let config = std::fs::read_to_string(run.join("classifier-config.json")).unwrap();
    assert!(config.contains("\"members\": 3"), "{config}");
    let ensemble = run.join("ensemble.hinr");
    let export = json(&run_ok(
        &["export", "--latents", "test", "--run"],
        &[&run, Path::new("--out"), &ensemble],
    ));
    let (float, int8) = (
        export["float_accuracy"].as_f64().unwrap(),
        export["int8_accuracy"].as_f64().unwrap(),
    );
    assert!((float - int8).abs() <= 0.05, "{export}");
    let inspect = run_ok(&["inspect"], &[&ensemble]);
    let text = String::from_utf8_lossy(&inspect.stdout);
    assert!(
        text.contains("classifier: 3 layers [(64, 48), (48, 48), (48, 10)]")
            && text.contains("self-test: 4 golden vectors reproduce bit for bit"),
        "{text}"
    );
    let refused = Command::new(BIN)
        .args(["classifier", "--members", "0", "--run"])
        .arg(&run)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("one member or more"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

/// `train --with-val` trains φ on the training files whole: its joint latents come out per
/// split (`train-joint`, `val-joint`, each indexed within its split), the run says so, its val
/// is not scored as a hold-out, and cross-validation pools every shape once; a resumed run
/// keeps its training set.
#[test]
fn training_on_val_too_is_scored_by_cross_validation_only() {
    use hyperinr_trainer::train::artifacts::LatentFile;
    let dir = tempfile::tempdir().unwrap();
    let d = data();
    let train = |run: &Path, extra: &[&str]| {
        let mut args = vec![
            "train",
            "--dataset",
            "modelnet10",
            "--quiet",
            "--epochs",
            "2",
            "--batch",
            "8",
            "--queries",
            "128",
        ];
        args.extend_from_slice(extra);
        args.push("--data");
        Command::new(BIN)
            .args(&args)
            .arg(&d)
            .arg("--run")
            .arg(run)
            .output()
            .unwrap()
    };
    let run = dir.path().join("all");
    let out = train(&run, &["--with-val"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["include_val"], true, "{config}");
    for split in ["train", "val"] {
        run_ok(
            &["fit", "--quiet", "--steps", "2", "--split", split, "--run"],
            &[&run, Path::new("--data"), &d],
        );
    }
    // The subset has 8 training files per class, the last of each held out as val.
    let latents = |name: &str| LatentFile::load(&run.join(format!("latents-{name}.bin"))).unwrap();
    let (joint, val_joint, val) = (latents("train-joint"), latents("val-joint"), latents("val"));
    assert_eq!((joint.len(), val_joint.len()), (70, 10));
    assert_eq!(joint.labels, latents("train").labels);
    assert_eq!(
        (&val_joint.labels, &val_joint.indices),
        (&val.labels, &val.indices)
    );
    assert_eq!(val_joint.split, hyperinr_data::Split::Val);

    let refused = Command::new(BIN)
        .args(["classifier", "--epochs", "2", "--run"])
        .arg(&run)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("val holds nothing out") && err.contains("--folds"),
        "{err}"
    );
    // The joint latents join the pool as extra training rows of their shapes: still 80
    // shapes, each scored once.
    let cv = json(&run_ok(
        &[
            "classifier",
            "--epochs",
            "2",
            "--folds",
            "4",
            "--train-latents",
            "train,train-joint,val-joint",
            "--run",
        ],
        &[&run],
    ));
    assert_eq!(cv["cv_samples"], 80, "{cv}");

    let split_only = dir.path().join("split-only");
    let out = train(&split_only, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!split_only.join("latents-val-joint.bin").exists());
    let resumed = train(&split_only, &["--resume", "--with-val"]);
    assert_eq!(resumed.status.code(), Some(1));
    let err = String::from_utf8_lossy(&resumed.stderr);
    assert!(err.contains("keeps its training set"), "{err}");
}

/// `bench-surface` times the surface search before and after issue 20 on the shipped shape
/// model's stored latents: both paths find the same points, the new one with no more UDF
/// evaluations; an image model is refused by name.
#[test]
fn surface_search_bench_compares_the_two_paths() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let report = json(&run_ok(
        &["bench-surface", "--shapes", "2", "--json", "--model"],
        &[&root.join("models/modelnet10.hinr")],
    ));
    assert_eq!(report["shapes"], 2, "{report}");
    assert_eq!(report["same_points"], true, "{report}");
    let (before, now) = (&report["before"], &report["now"]);
    assert_eq!(before["failures"], now["failures"], "{report}");
    let evals = |p: &serde_json::Value| p["evaluations"].as_u64().unwrap();
    assert!(evals(now) > 0 && evals(now) <= evals(before), "{report}");
    assert!(now["seconds"].as_f64().unwrap() > 0.0, "{report}");

    let image = Command::new(BIN)
        .args(["bench-surface", "--model"])
        .arg(root.join("models/fashion-mnist.hinr"))
        .output()
        .unwrap();
    assert_eq!(image.status.code(), Some(1));
    let err = String::from_utf8_lossy(&image.stderr);
    assert!(err.contains("not a shape model"), "{err}");
}

/// The runtime's fitter draws a new shape's queries with the sampler its file records
/// (format version 3). A file written before samplers were recorded reads as the default
/// sampler whatever its training drew; `--engine runtime` refuses such a file, naming both.
#[test]
fn runtime_fitting_draws_the_files_sampler_and_refuses_a_file_without_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cloud = data().join("chair/test/chair_0890.npy");
    let classify = |model: &Path, engine: &str| {
        Command::new(BIN)
            .args([
                "classify",
                "--fit-steps",
                "2",
                "--engine",
                engine,
                "--model",
            ])
            .arg(model)
            .arg("--input")
            .arg(&cloud)
            .output()
            .unwrap()
    };
    // The shipped ModelNet40 file, trained with 80 % uniform queries, as a file from before
    // samplers were recorded: its config says the default sampler, its provenance 80 %.
    let shipped = std::fs::read(root.join("models/modelnet40.hinr")).unwrap();
    let mut file = hyperinr_shared::ModelFile::parse(&shipped).unwrap();
    let hyperinr_shared::InputKind::PointCloud { sampler, .. } = &mut file.config.input else {
        panic!("not a shape model")
    };
    assert_eq!(
        sampler.uniform_fraction, 0.8,
        "the shipped file records its sampler"
    );
    *sampler = hyperinr_shared::QuerySampler::DEFAULT;
    let dir = tempfile::tempdir().unwrap();
    let legacy = dir.path().join("legacy.hinr");
    std::fs::write(&legacy, file.to_bytes().unwrap()).unwrap();
    let refused = classify(&legacy, "runtime");
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("80 % uniform")
            && err.contains("20 % uniform")
            && err.contains("hyperinr export")
            && err.contains("--engine burn"),
        "{err}"
    );
    // `inspect` names both samplers.
    for (model, sampler) in [
        (
            root.join("models/modelnet40.hinr"),
            "σ 0.01 / 0.03 / 0.1 near the surface, 80 % uniform in ±1.1)",
        ),
        (legacy.clone(), "20 % uniform in ±1.1 (the default sampler)"),
    ] {
        let out = Command::new(BIN)
            .arg("inspect")
            .arg(&model)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("point cloud, UDF clamped at 0.2; queries:")
                && stdout.contains(sampler),
            "{stdout}"
        );
    }
    for (model, engine) in [
        ("models/modelnet40.hinr", "runtime"),
        ("models/modelnet40.hinr", "burn"),
        ("models/modelnet10.hinr", "runtime"),
    ] {
        let out = classify(&root.join(model), engine);
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("confidence"),
            "{model} {engine}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

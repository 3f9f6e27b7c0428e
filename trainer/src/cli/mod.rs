//! The `hyperinr` command line: one file per subcommand, each with its arguments and its
//! run function; [`Cli`] parses, [`run`] dispatches. `main.rs` only calls these.

mod baseline;
mod bench;
mod bench_surface;
mod capacity;
mod classifier;
mod classify;
mod demo;
mod eval;
mod export;
mod export_observations;
mod fit;
mod ift;
mod inspect;
mod make_subset;
mod plot;
mod render;
mod train;
mod upgrade;

pub use baseline::BaselineArgs;
pub use bench::BenchArgs;
pub use bench_surface::BenchSurfaceArgs;
pub use capacity::CapacityArgs;
pub use classifier::ClassifierArgs;
pub use classify::ClassifyArgs;
pub use demo::DemoArgs;
pub use eval::{eval_report, EvalArgs};
pub use export::ExportArgs;
pub use export_observations::ExportObservationsArgs;
pub use fit::FitArgs;
pub use ift::IftArgs;
pub use inspect::InspectArgs;
pub use make_subset::SubsetArgs;
pub use plot::PlotArgs;
pub use render::RenderArgs;
pub use train::TrainArgs;
pub use upgrade::UpgradeArgs;

use eval::{fit_config_for_model, fit_for_model};
pub(crate) use eval::{model_udf, provenance_udf};

use crate::data::samples::{DatasetKind, UdfConfig};
use crate::train::{RunDir, TrainingConfig};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;

const DEFAULT_DATA: &str = "/usr/share/datasets/fashion-mnist";

/// `--data`, or FashionMNIST's Debian location; point-cloud datasets have no default.
pub(crate) fn data_dir(kind: DatasetKind, data: &Option<PathBuf>) -> Result<PathBuf> {
    match (data, kind) {
        (Some(d), _) => Ok(d.clone()),
        (None, DatasetKind::FashionMnist) => Ok(PathBuf::from(DEFAULT_DATA)),
        (None, k) => bail!(
            "--dataset {}: give the dataset folder with --data DIR (e.g. ../shared/data/modelnet40)",
            k.name()
        ),
    }
}

/// The run's saved configuration.
fn run_config(run: &RunDir) -> Result<(TrainingConfig, String)> {
    let text = std::fs::read_to_string(run.config())
        .with_context(|| format!("reading {}", run.config().display()))?;
    let config = TrainingConfig::from_json(text.as_bytes())
        .with_context(|| format!("{}: not a training configuration", run.config().display()))?;
    Ok((config, text))
}

impl TrainingConfig {
    /// The UDF sampling of a shape run (the default for images, where it is unused).
    pub fn udf_or_default(&self) -> UdfConfig {
        self.udf.clone().unwrap_or_else(UdfConfig::new)
    }
}

/// Comma-separated widths, e.g. `256,256`.
fn parse_widths(s: &str) -> std::result::Result<Vec<usize>, String> {
    s.split(',')
        .map(|w| {
            w.trim()
                .parse::<usize>()
                .ok()
                .filter(|&v| v > 0)
                .ok_or_else(|| format!("`{w}` is not a positive width"))
        })
        .collect()
}

/// `hyperinr`'s arguments.
#[derive(clap::Parser)]
#[command(
    name = "hyperinr",
    version,
    about = "HyperINR: hypernetwork-decoded SIRENs, trained on the host, run anywhere"
)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// README's main job: train on the in-repo subset, fit, classify, export, evaluate, render.
    Demo(DemoArgs),
    /// Train latents and hypernetwork jointly (auto-decoding).
    Train(TrainArgs),
    /// Fit latents for a split with the hypernetwork frozen.
    Fit(FitArgs),
    /// Train the latent classifier.
    Classifier(ClassifierArgs),
    /// Quantise to int8 and write a `.hinr` model file.
    Export(ExportArgs),
    /// Write raw samples (pixels or point clouds, with labels) for fitting on the device.
    ExportObservations(ExportObservationsArgs),
    /// Evaluate a model file on a dataset split (JSON with --json).
    Eval(EvalArgs),
    /// Classify a picture (PNG, JPEG, …) or a point cloud (`.npy`) of your own.
    Classify(ClassifyArgs),
    /// Show a model file's config, provenance, sizes and CRC status.
    Inspect(InspectArgs),
    /// Convert a format-version-1 model file to version 2 (same weights and latents).
    Upgrade(UpgradeArgs),
    /// PNG grid: originals beside runtime reconstructions of stored latents.
    Render(RenderArgs),
    /// IFT check: rank and conditioning of ∂φ/∂z and the loss Hessian in z, per stored latent.
    Ift(IftArgs),
    /// Latent-space pictures: PCA map by class, interpolation strip, neighbour check (JSON).
    Plot(PlotArgs),
    /// Where the reconstruction ceiling comes from: fits at four levels of freedom (JSON).
    Capacity(CapacityArgs),
    /// Time training steps (warm-up excluded).
    Bench(BenchArgs),
    /// Time Chamfer's surface search before and after issue 20 on a model's stored latents
    /// (same points required; JSON).
    BenchSurface(BenchSurfaceArgs),
    /// Linear baseline of the same code length: PCA codes, their reconstruction and a
    /// classifier on them (JSON with --json, keys as `eval`'s).
    Baseline(BaselineArgs),
    /// Cut a small subset of the official IDX files (for the repo).
    MakeSubset(SubsetArgs),
}

/// Runs one subcommand.
pub fn run(command: Command) -> Result<()> {
    match command {
        Command::Demo(a) => demo::demo(a),
        Command::Train(a) => train::train(a),
        Command::Fit(a) => fit::fit(a),
        Command::Classifier(a) => classifier::classifier(a),
        Command::Export(a) => export::export(a),
        Command::Eval(a) => eval::eval(a),
        Command::Classify(a) => classify::classify(a),
        Command::Inspect(a) => inspect::inspect(a),
        Command::Upgrade(a) => upgrade::upgrade(a),
        Command::Render(a) => render::render(a),
        Command::Ift(a) => ift::ift(a),
        Command::Plot(a) => plot::plot(a),
        Command::Capacity(a) => capacity::capacity(a),
        Command::Bench(a) => bench::bench(a),
        Command::BenchSurface(a) => bench_surface::bench_surface(a),
        Command::Baseline(a) => baseline::baseline(a),
        Command::MakeSubset(a) => make_subset::make_subset(a),
        Command::ExportObservations(a) => export_observations::export_observations(a),
    }
}

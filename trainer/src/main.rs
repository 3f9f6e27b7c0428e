//! `hyperinr`: train, fit, classify, export, evaluate and inspect HyperINR models.

mod artifacts;
mod backend;
mod baseline;
mod bench;
mod capacity;
mod classifier;
mod commands;
mod cubecl_config;
mod eval;
mod export;
mod fitting;
mod geometry;
mod ift;
mod latents;
mod model;
mod plot;
mod progress;
mod render;
mod samples;
mod siren_kernel;
mod siren_op;
mod training;
mod upgrade;

// burn allocates a fresh buffer per tensor op; the system allocator hands large buffers back
// to the kernel and page-faults them in again every step (a third of the run time).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "hyperinr",
    version,
    about = "HyperINR: hypernetwork-decoded SIRENs, trained on the host, run anywhere"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// README's main job: train on the in-repo subset, fit, classify, export, evaluate, render.
    Demo(commands::DemoArgs),
    /// Train latents and hypernetwork jointly (auto-decoding).
    Train(commands::TrainArgs),
    /// Fit latents for a split with the hypernetwork frozen.
    Fit(commands::FitArgs),
    /// Train the latent classifier.
    Classifier(commands::ClassifierArgs),
    /// Quantise to int8 and write a `.hinr` model file.
    Export(commands::ExportArgs),
    /// Evaluate a model file on a dataset split (JSON with --json).
    Eval(commands::EvalArgs),
    /// Classify a PNG of your own.
    Classify(commands::ClassifyArgs),
    /// Show a model file's config, provenance, sizes and CRC status.
    Inspect(commands::InspectArgs),
    /// Convert a format-version-1 model file to version 2 (same weights and latents).
    Upgrade(upgrade::UpgradeArgs),
    /// PNG grid: originals beside runtime reconstructions of stored latents.
    Render(commands::RenderArgs),
    /// IFT check: rank and conditioning of ∂φ/∂z and the loss Hessian in z, per stored latent.
    Ift(commands::IftArgs),
    /// Latent-space pictures: PCA map by class, interpolation strip, neighbour check (JSON).
    Plot(commands::PlotArgs),
    /// Where the reconstruction ceiling comes from: fits at four levels of freedom (JSON).
    Capacity(commands::CapacityArgs),
    /// Time training steps (warm-up excluded).
    Bench(bench::BenchArgs),
    /// Linear baseline of the same code length: PCA codes, their reconstruction and a
    /// classifier on them (JSON with --json, keys as `eval`'s).
    Baseline(baseline::BaselineArgs),
    /// Cut a small subset of the official IDX files (for the repo).
    MakeSubset(commands::SubsetArgs),
}

fn main() {
    // Rust ignores SIGPIPE, so `hyperinr inspect M | head` would panic in println! once the
    // reader goes away; restore the default so the process ends quietly like any Unix tool.
    #[cfg(unix)]
    // SAFETY: called before any thread starts; SIG_DFL is a valid handler for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(a) => commands::demo(a),
        Command::Train(a) => commands::train(a),
        Command::Fit(a) => commands::fit(a),
        Command::Classifier(a) => commands::classifier(a),
        Command::Export(a) => commands::export(a),
        Command::Eval(a) => commands::eval(a),
        Command::Classify(a) => commands::classify(a),
        Command::Inspect(a) => commands::inspect(a),
        Command::Upgrade(a) => upgrade::upgrade(a),
        Command::Render(a) => commands::render(a),
        Command::Ift(a) => commands::ift(a),
        Command::Plot(a) => commands::plot(a),
        Command::Capacity(a) => commands::capacity(a),
        Command::Bench(a) => bench::bench(a),
        Command::Baseline(a) => baseline::baseline(a),
        Command::MakeSubset(a) => commands::make_subset(a),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

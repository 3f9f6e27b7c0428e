//! `hyperinr`: train, fit, classify, export, evaluate and inspect HyperINR models.

mod backend;
mod data;
mod io;
mod latents;
mod model;
mod progress;
mod training;

use anyhow::Result;

// burn allocates a fresh buffer per tensor op; the system allocator hands large buffers back
// to the kernel and page-faults them in again every step (a third of the run time).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "hyperinr", version, about = "HyperINR: hypernetwork-decoded SIRENs, trained on the host, run anywhere")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train latents and hypernetwork jointly (auto-decoding).
    Train(cmd::TrainArgs),
    /// Cut a small subset of the official IDX files (for the repo).
    MakeSubset(cmd::SubsetArgs),
}

mod cmd {
    use super::*;
    use crate::backend::BackendKind;
    use crate::data::{load_fashion_mnist, SplitName};
    use crate::training::{RunDir, Training, TrainingConfig};
    use burn::tensor::backend::AutodiffBackend;

    #[derive(clap::Args)]
    pub struct TrainArgs {
        /// Folder with the four official FashionMNIST IDX files (plain or .gz).
        #[arg(long, default_value = "/usr/share/datasets/fashion-mnist")]
        pub data: PathBuf,
        /// Run directory (config, checkpoints, metrics).
        #[arg(long)]
        pub run: PathBuf,
        /// Continue from the run directory's checkpoint.
        #[arg(long)]
        pub resume: bool,
        #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
        pub backend: BackendKind,
        #[arg(long, default_value_t = 20)]
        pub epochs: usize,
        #[arg(long, default_value_t = 128)]
        pub batch: usize,
        #[arg(long, default_value_t = 1e-4)]
        pub lr_hyper: f64,
        #[arg(long, default_value_t = 1e-3)]
        pub lr_latent: f32,
        #[arg(long, default_value_t = 64)]
        pub latent_dim: usize,
        #[arg(long, default_value_t = 1e-4)]
        pub latent_l2: f32,
        #[arg(long, default_value_t = 42)]
        pub seed: u64,
        /// Use only the first N training images (0 = all).
        #[arg(long, default_value_t = 0)]
        pub limit: usize,
        /// No progress bar; one line per epoch on stderr.
        #[arg(long)]
        pub quiet: bool,
    }

    pub fn train(a: TrainArgs) -> Result<()> {
        crate::backend::dispatch!(a.backend, train_on, a)
    }

    fn train_on<B: AutodiffBackend>(device: &B::Device, a: TrainArgs) -> Result<()> {
        let mut images = load_fashion_mnist(&a.data, SplitName::Train)?;
        if a.limit > 0 {
            images = images.take(a.limit);
        }
        let run = RunDir(a.run.clone());
        std::fs::create_dir_all(&run.0)?;
        let mut training = if a.resume && run.checkpoint().exists() {
            let t = Training::<B>::load(&run.checkpoint(), images.len(), (images.width, images.height), device)?;
            eprintln!("resuming {} at epoch {}", run.0.display(), t.epoch);
            t
        } else {
            let mut model = crate::model::HyperInrConfig::new();
            model.latent_dim = a.latent_dim;
            let config = TrainingConfig::new(model)
                .with_epochs(a.epochs)
                .with_batch_size(a.batch)
                .with_lr_hyper(a.lr_hyper)
                .with_lr_latent(a.lr_latent)
                .with_latent_l2(a.latent_l2)
                .with_seed(a.seed);
            crate::io::write_atomic(&run.config(), config.to_string().as_bytes())?;
            Training::<B>::new(config, &images, device)
        };
        training.config.epochs = a.epochs.max(training.epoch);
        training.run(&images, &run, a.quiet)?;
        Ok(())
    }

    #[derive(clap::Args)]
    pub struct SubsetArgs {
        #[arg(long, default_value = "/usr/share/datasets/fashion-mnist")]
        pub from: PathBuf,
        #[arg(long)]
        pub to: PathBuf,
        #[arg(long, default_value_t = 2000)]
        pub train: usize,
        #[arg(long, default_value_t = 500)]
        pub test: usize,
    }

    pub fn make_subset(a: SubsetArgs) -> Result<()> {
        crate::data::make_subset(&a.from, &a.to, a.train, a.test)
    }
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(a) => cmd::train(a),
        Command::MakeSubset(a) => cmd::make_subset(a),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

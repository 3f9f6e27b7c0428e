//! `hyperinr bench`: seconds per training or fitting step, warm-up excluded
//! (`crate::eval::bench`).

use crate::backend::dispatch;
use crate::eval::bench::{run_bench, BenchConfig};
use anyhow::{Context, Result};

/// Arguments of `hyperinr bench`.
#[derive(clap::Args, Clone)]
pub struct BenchArgs {
    /// What is timed, and on which engine.
    #[command(flatten)]
    pub config: BenchConfig,
    /// One JSON line instead of an indented report.
    #[arg(long)]
    pub json: bool,
}

/// Runs `hyperinr bench`.
pub fn bench(a: BenchArgs) -> Result<()> {
    let report = dispatch!(a.config.backend, run_bench, a.config.clone())?;
    if a.json {
        println!("{report}");
    } else {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).context("formatting the report")?
        );
    }
    Ok(())
}

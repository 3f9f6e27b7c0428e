//! `hyperinr bench-surface`: the Chamfer surface search before and after issue 20, side by
//! side on one model file's stored latents (`crate::eval::surface_bench`).

use crate::eval::surface_bench::bench_surface_search;
use anyhow::{bail, Context, Result};
use hyperinr_runtime::Model;
use std::path::PathBuf;

/// Arguments of `hyperinr bench-surface`.
#[derive(clap::Args, Clone)]
pub struct BenchSurfaceArgs {
    /// A shape model file with stored latents.
    #[arg(long)]
    pub model: PathBuf,
    /// Search the first N stored latents (0 = all).
    #[arg(long, default_value_t = 100)]
    pub shapes: usize,
    /// The surface threshold, as `eval --eps`.
    #[arg(long, default_value_t = 0.02)]
    pub eps: f32,
    /// One JSON line instead of an indented report.
    #[arg(long)]
    pub json: bool,
}

/// Runs `hyperinr bench-surface`.
pub fn bench_surface(a: BenchSurfaceArgs) -> Result<()> {
    let bytes = crate::export::read_model_file(&a.model)?;
    let model = Model::from_bytes(&bytes).with_context(|| a.model.display().to_string())?;
    let report = bench_surface_search(&model, a.shapes, a.eps)
        .with_context(|| a.model.display().to_string())?;
    let text = if a.json {
        serde_json::to_string(&report)?
    } else {
        serde_json::to_string_pretty(&report)?
    };
    println!("{text}");
    if !report.same_points {
        bail!(
            "{}: the two searches found different points",
            a.model.display()
        );
    }
    Ok(())
}

//! `hyperinr make-subset`: the small in-repo subsets cut from the official files.

use super::*;
use crate::data::samples::DatasetKind;
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args, Clone)]
pub struct SubsetArgs {
    #[arg(long, value_enum, default_value_t = DatasetKind::FashionMnist)]
    pub dataset: DatasetKind,
    /// The full dataset folder (FashionMNIST default: /usr/share/datasets/fashion-mnist).
    #[arg(long)]
    pub from: Option<PathBuf>,
    #[arg(long)]
    pub to: PathBuf,
    /// Training samples: images in all (FashionMNIST) or files per class (shapes).
    #[arg(long, default_value_t = 2000)]
    pub train: usize,
    /// Test samples: images in all (FashionMNIST) or files per class (shapes).
    #[arg(long, default_value_t = 500)]
    pub test: usize,
}

pub fn make_subset(a: SubsetArgs) -> Result<()> {
    let from = data_dir(a.dataset, &a.from)?;
    if !a.dataset.is_shapes() {
        return hyperinr_data::fashion::make_subset(&from, &a.to, a.train, a.test);
    }
    let summary = hyperinr_data::clouds::make_pointcloud_subset(
        &from,
        &a.to,
        a.dataset.class_filter(),
        a.train,
        a.test,
    )?;
    eprintln!(
        "wrote {}: {} classes, {} train / {} test files",
        a.to.display(),
        summary.classes.len(),
        summary.train_files,
        summary.test_files
    );
    Ok(())
}

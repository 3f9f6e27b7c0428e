//! The latents a model file stores, read once for every command that uses them (`eval`,
//! `ift`, `render`, `plot`), with the checks that tie them to a dataset folder.

use anyhow::{bail, Result};
use hyperinr_data::Split;
use hyperinr_runtime::Model;
use std::path::Path;

/// The first stored latents of a model file, dequantised, with the label and the dataset
/// index the file records for each.
pub struct StoredLatents {
    /// Latent length.
    pub dim: usize,
    /// `len × dim` values.
    pub values: Vec<f32>,
    /// Label of each latent (from the file).
    pub labels: Vec<u8>,
    /// Index of each latent's sample in its split.
    pub dataset_indices: Vec<usize>,
}

impl StoredLatents {
    /// The first `limit` stored latents of `model` (all when 0).
    pub fn read(model: &Model<'_>, limit: usize) -> Result<Self> {
        let dim = model.sizes().latent;
        let n = match limit {
            0 => model.latent_count(),
            l => l.min(model.latent_count()),
        };
        let mut values = vec![0.0f32; n * dim];
        let mut labels = Vec::with_capacity(n);
        let mut dataset_indices = Vec::with_capacity(n);
        for (i, z) in values.chunks_exact_mut(dim).enumerate() {
            let info = model.stored_latent(i, z)?;
            labels.push(info.label);
            dataset_indices.push(info.dataset_index as usize);
        }
        Ok(StoredLatents {
            dim,
            values,
            labels,
            dataset_indices,
        })
    }

    /// Number of latents.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Latent `i`.
    pub fn latent(&self, i: usize) -> &[f32] {
        &self.values[i * self.dim..(i + 1) * self.dim]
    }

    /// Checks that every dataset index lies inside a split of `split_len` samples read from
    /// `data` (a file stored with another folder, or another subset, fails here rather than
    /// pairing latents with the wrong samples).
    pub fn check_indices(&self, model_path: &Path, data: &Path, split_len: usize) -> Result<()> {
        for (i, &idx) in self.dataset_indices.iter().enumerate() {
            if idx >= split_len {
                bail!(
                    "{}: stored latent {i} refers to sample {idx}, {} has {split_len}",
                    model_path.display(),
                    data.display(),
                );
            }
        }
        Ok(())
    }
}

/// The split a model file's latents were fitted on.
pub fn stored_split(model: &Model<'_>) -> Split {
    Split::from_format(model.file().latents.split)
}

/// Refuses `split` when the model file stores latents of another one; `hint` ends the
/// message (e.g. how to get latents of that split), or is empty.
pub fn check_stored_split(
    model: &Model<'_>,
    model_path: &Path,
    split: Split,
    hint: &str,
) -> Result<()> {
    let stored = stored_split(model);
    if stored != split {
        bail!(
            "{}: the model stores latents of split {stored:?}, not {split:?}{hint}",
            model_path.display(),
        );
    }
    Ok(())
}

//! Files a run directory holds between pipeline stages: fitted latents and the classifier.

use crate::model::classifier::TrainedClassifier;
use anyhow::{bail, Context, Result};
use hyperinr_data::Split;
use std::path::Path;

/// Latents of one split with their labels and dataset indices.
#[derive(Clone, Debug, PartialEq)]
pub struct LatentFile {
    /// The split.
    pub split: Split,
    /// Latent length.
    pub dim: usize,
    /// `len × dim` values.
    pub values: Vec<f32>,
    /// Labels.
    pub labels: Vec<u8>,
    /// Index of each sample in its split.
    pub indices: Vec<u32>,
}

const LATENT_MAGIC: &[u8; 8] = b"HINRLAT1";

impl LatentFile {
    /// Number of latents.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no latents.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Writes atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut out = LATENT_MAGIC.to_vec();
        out.push(match self.split {
            Split::Train => 0,
            Split::Val => 1,
            Split::Test => 2,
        });
        out.extend_from_slice(&(self.len() as u64).to_le_bytes());
        out.extend_from_slice(&(self.dim as u64).to_le_bytes());
        out.extend_from_slice(&hyperinr_data::io::f32s_to_bytes(&self.values));
        out.extend_from_slice(&self.labels);
        out.extend_from_slice(&hyperinr_shared::write::u32_bytes(&self.indices));
        hyperinr_data::io::write_atomic(path, &out)
    }

    /// Reads [`LatentFile::save`] output, naming the file in errors.
    pub fn load(path: &Path) -> Result<Self> {
        let b = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let p = path.display();
        if b.len() < 25 || &b[..8] != LATENT_MAGIC {
            bail!("{p}: offset 0: not a hyperinr latent file");
        }
        let split = match b[8] {
            0 => Split::Train,
            1 => Split::Val,
            2 => Split::Test,
            x => bail!("{p}: offset 8: unknown split tag {x}"),
        };
        let n = u64::from_le_bytes(b[9..17].try_into()?) as usize;
        let dim = u64::from_le_bytes(b[17..25].try_into()?) as usize;
        let need = n
            .checked_mul(dim)
            .and_then(|v| v.checked_mul(4))
            .and_then(|v| v.checked_add(n * 5 + 25));
        if need != Some(b.len()) {
            bail!(
                "{p}: {n} latents of {dim} need {need:?} bytes, file has {}",
                b.len()
            );
        }
        let v_end = 25 + n * dim * 4;
        Ok(LatentFile {
            split,
            dim,
            values: hyperinr_data::io::bytes_to_f32s(&b[25..v_end]),
            labels: b[v_end..v_end + n].to_vec(),
            indices: b[v_end + n..]
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        })
    }

    /// The first `n` latents.
    pub fn take(&self, n: usize) -> LatentFile {
        let n = n.min(self.len());
        LatentFile {
            split: self.split,
            dim: self.dim,
            values: self.values[..n * self.dim].to_vec(),
            labels: self.labels[..n].to_vec(),
            indices: self.indices[..n].to_vec(),
        }
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ClassifierJson {
    mean: Vec<f32>,
    inv_std: Vec<f32>,
    layers: Vec<(Vec<f32>, Vec<f32>, usize, usize)>,
}

/// Saves a trained classifier as JSON (atomically).
pub fn save_classifier(c: &TrainedClassifier, path: &Path) -> Result<()> {
    let j = ClassifierJson {
        mean: c.mean.clone(),
        inv_std: c.inv_std.clone(),
        layers: c.layers.clone(),
    };
    hyperinr_data::io::write_atomic(path, serde_json::to_string(&j)?.as_bytes())
}

/// Loads [`save_classifier`] output.
pub fn load_classifier(path: &Path) -> Result<TrainedClassifier> {
    let s = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let j: ClassifierJson = serde_json::from_str(&s)
        .with_context(|| format!("{}: not a classifier file", path.display()))?;
    Ok(TrainedClassifier {
        mean: j.mean,
        inv_std: j.inv_std,
        layers: j.layers,
    })
}

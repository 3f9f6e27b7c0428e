//! Checkpoints: the whole state of a run (config, epoch, φ, optimiser, latents) in one
//! checksummed file, read back before any byte reaches burn's record loader.

use super::*;
use crate::backend::siren_op::{SirenOp, TrainBackend};
use crate::data::samples::Samples;
use crate::model::HyperNet;
use crate::train::latents::LatentTable;
use anyhow::{bail, Context, Result};
use burn::module::Module;
use burn::optim::{AdamConfig, Optimizer};
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
use sha2::{Digest, Sha256};
use std::path::Path;

/// Checkpoint layout: magic, five length-prefixed sections (config, epoch, hypernet,
/// optimiser, latents), then the SHA-256 of everything before it. The checksum is checked
/// before any byte reaches burn's record loader, which panics on malformed records.
/// `3`: φ's layers are burn's `nn::Linear` records (the bias an `Option`); checkpoints of
/// earlier trainers (`HINRCKP1`, `HINRCKP2`) are refused by name.
pub(super) const CHECKPOINT_MAGIC: &[u8; 8] = b"HINRCKP3";

pub(super) fn section(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(bytes);
}

pub(super) fn read_section<'a>(bytes: &mut &'a [u8], what: &str, path: &Path) -> Result<&'a [u8]> {
    if bytes.len() < 8 {
        bail!("{}: truncated before the {what} section", path.display());
    }
    let n = u64::from_le_bytes(bytes[..8].try_into()?) as usize;
    if bytes.len() - 8 < n {
        bail!(
            "{}: {what} section declares {n} bytes, {} remain",
            path.display(),
            bytes.len() - 8
        );
    }
    let s = &bytes[8..8 + n];
    *bytes = &bytes[8 + n..];
    Ok(s)
}

impl<B: TrainBackend> Training<B> {
    /// Serialises the whole state (config, epoch, hypernetwork, optimiser, latents).
    pub fn checkpoint_bytes(&self) -> Result<Vec<u8>> {
        let rec = BinBytesRecorder::<FullPrecisionSettings>::default();
        let net = rec.record(self.hypernet.clone().into_record(), ())?;
        let opt = rec.record(self.optim.to_record(), ())?;
        let mut out = CHECKPOINT_MAGIC.to_vec();
        section(&mut out, self.config.to_string().as_bytes());
        section(&mut out, &(self.epoch as u64).to_le_bytes());
        section(&mut out, &net);
        section(&mut out, &opt);
        section(&mut out, &self.latents.to_bytes());
        let digest = Sha256::digest(&out);
        out.extend_from_slice(&digest);
        Ok(out)
    }

    /// Restores a run from a checkpoint file.
    pub fn load(path: &Path, samples: Option<&Samples>, device: &B::Device) -> Result<Self> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("reading checkpoint {}", path.display()))?;
        if !bytes.starts_with(CHECKPOINT_MAGIC) {
            let magic = String::from_utf8_lossy(&bytes[..bytes.len().min(8)]).into_owned();
            if magic.starts_with("HINRCKP") {
                bail!(
                    "{}: offset 0: checkpoint layout {magic} is from an earlier trainer; this one \
                     reads {} only (train the run again)",
                    path.display(),
                    String::from_utf8_lossy(CHECKPOINT_MAGIC)
                );
            }
            bail!("{}: offset 0: not a hyperinr checkpoint", path.display());
        }
        if bytes.len() < 8 + 32 {
            bail!(
                "{}: truncated checkpoint ({} bytes)",
                path.display(),
                bytes.len()
            );
        }
        let (body, digest) = bytes.split_at(bytes.len() - 32);
        if Sha256::digest(body).as_slice() != digest {
            bail!(
                "{}: checksum mismatch: the checkpoint is corrupt (SHA-256 at offset {} does not match its {} bytes)",
                path.display(),
                body.len(),
                body.len()
            );
        }
        let mut rest = &body[8..];
        let cfg = read_section(&mut rest, "config", path)?;
        let config = TrainingConfig::from_json(cfg)
            .with_context(|| format!("{}: config section", path.display()))?;
        config
            .validate()
            .with_context(|| format!("{}: config section", path.display()))?;
        let epoch_bytes: [u8; 8] = read_section(&mut rest, "epoch", path)?
            .try_into()
            .map_err(|_| anyhow::anyhow!("{}: epoch section is not 8 bytes", path.display()))?;
        let epoch = u64::from_le_bytes(epoch_bytes) as usize;
        if epoch > config.epochs {
            bail!(
                "{}: epoch section says {epoch} epochs done, the run has {}",
                path.display(),
                config.epochs
            );
        }
        let rec = BinBytesRecorder::<FullPrecisionSettings>::default();
        let net = read_section(&mut rest, "hypernet", path)?.to_vec();
        let opt = read_section(&mut rest, "optimizer", path)?.to_vec();
        let lat = read_section(&mut rest, "latents", path)?;
        let hypernet = config.model.init::<B>(config.seed, device).load_record(
            rec.load(net, device)
                .with_context(|| format!("{}: hypernet record", path.display()))?,
        );
        let optim = AdamConfig::new().init::<B, HyperNet<B>>().load_record(
            rec.load(opt, device)
                .with_context(|| format!("{}: optimizer record", path.display()))?,
        );
        let latents = LatentTable::from_bytes(lat).with_context(|| path.display().to_string())?;
        if latents.dim != config.model.latent_dim {
            bail!(
                "{}: latents section has length {} but the config says {}",
                path.display(),
                latents.dim,
                config.model.latent_dim
            );
        }
        if latents.is_empty() || samples.is_some_and(|s| s.len() != latents.len()) {
            bail!(
                "{}: checkpoint has {} latents but the training split has {} samples",
                path.display(),
                latents.len(),
                samples.map_or(0, |s| s.len())
            );
        }
        Ok(Training {
            config,
            hypernet,
            optim,
            latents,
            epoch,
            coords: samples.and_then(|s| shared_coords::<B>(s, device)),
            device: device.clone(),
            single_read: true,
            siren_op: SirenOp::default(),
        })
    }
}

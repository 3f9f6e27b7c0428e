//! IDX files (the MNIST / FashionMNIST container) of unsigned bytes, plain or gzip.
//!
//! Part of the burn-free `hyperinr-data` crate, which the fuzz target (`datasets/fuzz`) builds
//! against. Every error names the file and the byte offset
//! of what is wrong.

use anyhow::{bail, Context, Result};
use std::io::Read;
use std::path::Path;

/// Reads a file, gunzipping when it is gzip (by content, not by name).
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    gunzip_if_gz(raw, path)
}

/// The bytes of a file as read: gunzipped when they start with the gzip magic, else as
/// they are. `path` only names the file in errors.
pub fn gunzip_if_gz(raw: Vec<u8>, path: &Path) -> Result<Vec<u8>> {
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .with_context(|| format!("{}: corrupt gzip stream", path.display()))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Parses an IDX file of unsigned bytes: returns dimensions and data.
///
/// Errors name the file and the byte offset of what is wrong.
pub fn parse_idx(bytes: &[u8], path: &Path, expected_dims: usize) -> Result<(Vec<usize>, Vec<u8>)> {
    let p = path.display();
    if bytes.len() < 4 {
        bail!(
            "{p}: offset 0: file is {} bytes, too short for an IDX magic",
            bytes.len()
        );
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        bail!(
            "{p}: offset 0: magic must start with two zero bytes, found {:02x} {:02x}",
            bytes[0],
            bytes[1]
        );
    }
    if bytes[2] != 0x08 {
        bail!(
            "{p}: offset 2: element type {:#04x}, expected 0x08 (unsigned byte)",
            bytes[2]
        );
    }
    let ndims = bytes[3] as usize;
    if ndims != expected_dims {
        bail!("{p}: offset 3: {ndims} dimensions, expected {expected_dims}");
    }
    let header = 4 + 4 * ndims;
    if bytes.len() < header {
        bail!(
            "{p}: offset {}: file ends inside the dimension sizes",
            bytes.len()
        );
    }
    let dims: Vec<usize> = (0..ndims)
        .map(|d| u32::from_be_bytes(bytes[4 + 4 * d..8 + 4 * d].try_into().unwrap()) as usize)
        .collect();
    let total = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    let Some(total) = total else {
        bail!("{p}: offset 4: dimension sizes {dims:?} overflow");
    };
    let data = &bytes[header..];
    if data.len() < total {
        bail!(
            "{p}: offset {header}: file truncated: dimensions {dims:?} need {total} data bytes, file has {}",
            data.len()
        );
    }
    if data.len() > total {
        bail!(
            "{p}: offset {}: {} unexpected bytes after the data: dimensions {dims:?} need {total} data bytes, file has {}",
            header + total,
            data.len() - total,
            data.len()
        );
    }
    Ok((dims, data.to_vec()))
}

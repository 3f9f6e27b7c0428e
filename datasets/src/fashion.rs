//! FashionMNIST in the official IDX format (plain or gzip), splits, and the in-repo subset.

use crate::idx::{parse_idx, read_maybe_gz};
use crate::Split;
use anyhow::{bail, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// FashionMNIST's class names, in label order.
pub const FASHION_CLASSES: [&str; 10] = [
    "t-shirt/top",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle boot",
];

/// Grayscale images with labels, row-major `u8` pixels.
#[derive(Clone, Debug)]
pub struct ImageSet {
    /// Pixels per row.
    pub width: usize,
    /// Rows per image.
    pub height: usize,
    /// `len × height × width` bytes.
    pub pixels: Vec<u8>,
    /// One label per image.
    pub labels: Vec<u8>,
    /// Index of each image in its split (dataset order).
    pub indices: Vec<u32>,
}

impl ImageSet {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the set holds no images.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Pixels per image.
    pub fn pixel_count(&self) -> usize {
        self.width * self.height
    }

    /// Image `i` as bytes.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.pixel_count();
        &self.pixels[i * n..(i + 1) * n]
    }

    /// Images `range` as a new set.
    pub fn slice(&self, range: std::ops::Range<usize>) -> ImageSet {
        let n = self.pixel_count();
        ImageSet {
            width: self.width,
            height: self.height,
            pixels: self.pixels[range.start * n..range.end * n].to_vec(),
            labels: self.labels[range.clone()].to_vec(),
            indices: self.indices[range].to_vec(),
        }
    }

    /// Every image mirrored left to right (labels and indices kept): FashionMNIST's classes
    /// are symmetric under this, so a mirrored training image is another training image.
    pub fn mirrored(&self) -> ImageSet {
        let w = self.width.max(1);
        let pixels = self
            .pixels
            .chunks_exact(w)
            .flat_map(|row| row.iter().rev().copied())
            .collect();
        ImageSet {
            pixels,
            ..self.clone()
        }
    }

    /// The first `n` images (or all).
    pub fn take(&self, n: usize) -> ImageSet {
        self.slice(0..n.min(self.len()))
    }

    /// Hex SHA-256 over dimensions, pixels and labels.
    pub fn sha256(&self) -> String {
        let mut h = Sha256::new();
        h.update((self.width as u64).to_le_bytes());
        h.update((self.height as u64).to_le_bytes());
        h.update(&self.pixels);
        h.update(&self.labels);
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Finds `name` or `name.gz` in `dir`.
fn find(dir: &Path, name: &str) -> Result<PathBuf> {
    for candidate in [name.to_string(), format!("{name}.gz")] {
        let p = dir.join(&candidate);
        if p.is_file() {
            return Ok(p);
        }
    }
    bail!("{}: neither {name} nor {name}.gz found (FashionMNIST: `apt-get install dataset-fashion-mnist`, files in /usr/share/datasets/fashion-mnist)", dir.display())
}

/// Loads one official file pair: `train` or `t10k`.
pub fn load_idx_pair(dir: &Path, prefix: &str) -> Result<ImageSet> {
    let img_path = find(dir, &format!("{prefix}-images-idx3-ubyte"))?;
    let lab_path = find(dir, &format!("{prefix}-labels-idx1-ubyte"))?;
    let (dims, pixels) = parse_idx(&read_maybe_gz(&img_path)?, &img_path, 3)?;
    let (ldims, labels) = parse_idx(&read_maybe_gz(&lab_path)?, &lab_path, 1)?;
    if (dims[1], dims[2]) != (28, 28) {
        bail!(
            "{}: offset 8: images are {}×{} pixels, FashionMNIST images are 28×28",
            img_path.display(),
            dims[1],
            dims[2]
        );
    }
    if dims[0] != ldims[0] {
        bail!(
            "{}: {} labels for {} images in {}",
            lab_path.display(),
            ldims[0],
            dims[0],
            img_path.display()
        );
    }
    if let Some(i) = labels
        .iter()
        .position(|&l| l as usize >= FASHION_CLASSES.len())
    {
        bail!(
            "{}: offset {}: label {} out of range 0..10",
            lab_path.display(),
            8 + i,
            labels[i]
        );
    }
    Ok(ImageSet {
        width: dims[2],
        height: dims[1],
        pixels,
        labels,
        indices: (0..dims[0] as u32).collect(),
    })
}

/// Images held out of the training file for validation: the last 5,000 of the full
/// 60,000 (the usual choice), or the last tenth of a smaller file.
pub fn validation_count(train_len: usize) -> usize {
    if train_len >= 50_000 {
        5_000
    } else {
        train_len / 10
    }
}

/// Loads `split` of the FashionMNIST files in `dir`.
pub fn load_fashion_mnist(dir: &Path, split: Split) -> Result<ImageSet> {
    match split {
        Split::Test => load_idx_pair(dir, "t10k"),
        Split::Train | Split::Val => {
            let all = load_idx_pair(dir, "train")?;
            let val = validation_count(all.len());
            let cut = all.len() - val;
            Ok(if split == Split::Train {
                all.slice(0..cut)
            } else {
                let mut v = all.slice(cut..all.len());
                // Validation indices count within the validation split.
                v.indices = (0..v.len() as u32).collect();
                v
            })
        }
    }
}

fn idx_bytes(dims: &[usize], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&(*d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

fn write_gz(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes)?;
    crate::io::write_atomic(path, &enc.finish()?)
}

/// Writes the first `train` and `test` images of the official files in `from` as a
/// smaller set of official-format files in `to`.
pub fn make_subset(from: &Path, to: &Path, train: usize, test: usize) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for (prefix, n) in [("train", train), ("t10k", test)] {
        let set = load_idx_pair(from, prefix)?.take(n);
        let px = set.pixel_count();
        write_gz(
            &to.join(format!("{prefix}-images-idx3-ubyte.gz")),
            &idx_bytes(
                &[set.len(), set.height, set.width],
                &set.pixels[..set.len() * px],
            ),
        )?;
        write_gz(
            &to.join(format!("{prefix}-labels-idx1-ubyte.gz")),
            &idx_bytes(&[set.len()], &set.labels),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirrored_images_reverse_each_row_and_keep_labels() {
        let set = ImageSet {
            width: 3,
            height: 2,
            pixels: vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
            labels: vec![4, 9],
            indices: vec![10, 11],
        };
        let m = set.mirrored();
        assert_eq!(m.pixels, vec![3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10]);
        assert_eq!(
            (m.labels, m.indices),
            (set.labels.clone(), set.indices.clone())
        );
        assert_eq!(set.mirrored().mirrored().pixels, set.pixels);
    }

    #[test]
    fn idx_errors_name_file_and_offset() {
        let p = Path::new("x.idx");
        let err = parse_idx(&[0, 0, 9, 3], p, 3).unwrap_err().to_string();
        assert!(err.contains("x.idx") && err.contains("offset 2"), "{err}");
        let mut ok = idx_bytes(&[2, 2, 2], &[1; 8]);
        assert_eq!(parse_idx(&ok, p, 3).unwrap().0, vec![2, 2, 2]);
        ok.pop();
        let err = parse_idx(&ok, p, 3).unwrap_err().to_string();
        assert!(err.contains("offset 16") && err.contains("7"), "{err}");
        let err = parse_idx(&[0, 0, 8, 3, 0], p, 3).unwrap_err().to_string();
        assert!(err.contains("dimension sizes"), "{err}");
    }
}

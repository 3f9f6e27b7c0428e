//! Writes the seed corpora of the `idx` and `npy` fuzz targets: a few small, valid files
//! (checked with `hyperinr-data`'s own readers before they are written). Deterministic: the
//! same bytes on every run.
//!
//! ```text
//! cargo +nightly run --release --bin make_corpus -- corpus
//! ```

use hyperinr_data::{idx, npy};
use std::io::Write;
use std::path::{Path, PathBuf};

/// An IDX file of unsigned bytes, as `hyperinr make-subset` writes them.
fn idx_bytes(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip")
}

/// An NPY file with the given header dict (padded as numpy pads it) and `f32` data.
fn npy_with(dict: &str, values: &[f32], major: u8) -> Vec<u8> {
    let len_size = if major == 1 { 2 } else { 4 };
    let mut header = dict.to_string();
    while !(8 + len_size + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut out = npy::NPY_MAGIC.to_vec();
    out.extend_from_slice(&[major, 0]);
    if major == 1 {
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(header.as_bytes());
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    println!("{} ({} bytes)", path.display(), bytes.len());
}

fn main() {
    let root = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "corpus".into()));

    let dir = root.join("idx");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let labels = idx_bytes(&[10], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    let pixels: Vec<u8> = (0..2 * 4 * 3).map(|i| (i * 37 % 256) as u8).collect();
    let images = idx_bytes(&[2, 4, 3], &pixels);
    let empty = idx_bytes(&[0, 28, 28], &[]);
    for (name, plain, ndims) in [
        ("labels", &labels, 1),
        ("images", &images, 3),
        ("empty", &empty, 3),
    ] {
        let p = Path::new("seed");
        assert!(idx::parse_idx(plain, p, ndims).is_ok(), "{name}");
        write(&dir, &format!("seed-{name}.idx"), plain);
        let gz = gzip(plain);
        assert_eq!(&idx::gunzip_if_gz(gz.clone(), p).expect("gunzip"), plain);
        write(&dir, &format!("seed-{name}.idx.gz"), &gz);
    }

    let dir = root.join("npy");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let cloud: Vec<f32> = (0..4 * 3).map(|i| (i as f32 * 0.37).sin()).collect();
    let files = [
        ("v1", npy::npy_points_bytes(&cloud).expect("npy")),
        (
            "v2",
            npy_with(
                "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 3), }",
                &cloud,
                2,
            ),
        ),
        (
            "py2",
            npy_with(
                "{\"shape\": (1L, 3L), \"fortran_order\": False, \"descr\": \"<f4\"}",
                &cloud[..3],
                1,
            ),
        ),
    ];
    for (name, bytes) in files {
        let parsed = npy::parse_npy_points(&bytes, Path::new("seed")).expect(name);
        assert!(!parsed.is_empty());
        write(&dir, &format!("seed-{name}.npy"), &bytes);
    }
}

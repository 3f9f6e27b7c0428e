//! Point-cloud datasets in the per-class layout `<root>/<class>/{train,test}/*.npy` used by
//! ModelNet40, ModelNet10 (a class subset of it) and the PointDA-10 folders
//! ([`load_point_clouds`], [`split_validation`], [`MODELNET10_CLASSES`]), and the maker of the
//! small subsets the repository carries ([`make_pointcloud_subset`]).
//!
//! A cloud is always a flat `[f32]` of `N × 3` coordinates, point after point (`x, y, z`), in
//! unit-sphere coordinates. Every error names the file (and, inside a file, the byte offset) or
//! the argument that is wrong.

use crate::npy::{parse_npy_points, read_npy_points};
use crate::Split;
use anyhow::{anyhow, bail, ensure, Context, Result};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------------------------
// Datasets
// ---------------------------------------------------------------------------------------------

/// ModelNet10: the 10-class subset of ModelNet40, alphabetical (= label order).
pub const MODELNET10_CLASSES: [&str; 10] = [
    "bathtub",
    "bed",
    "chair",
    "desk",
    "dresser",
    "monitor",
    "night_stand",
    "sofa",
    "table",
    "toilet",
];

/// The real ModelNet40 folder for checks that run only where it is present (developer
/// machines, not CI): `$HYPERINR_MODELNET40`, or `../shared/data/modelnet40` beside the
/// workspace; `None` (after saying so on stdout) when it is absent.
pub fn local_modelnet40() -> Option<PathBuf> {
    let root = std::env::var_os("HYPERINR_MODELNET40")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/modelnet40")
        });
    if root.join("airplane").is_dir() {
        Some(root)
    } else {
        println!(
            "note: {} absent; skipping the real-data check",
            root.display()
        );
        None
    }
}

/// Share of each class's training shapes held out for validation.
pub const VALIDATION_FRACTION: f64 = 0.1;

/// Labelled point clouds, in dataset order: classes alphabetically, then files by name.
#[derive(Clone, Debug, PartialEq)]
pub struct PointCloudSet {
    /// One `N × 3` cloud per shape (`N` may differ between shapes).
    pub clouds: Vec<Vec<f32>>,
    /// One class id per cloud, indexing [`class_names`](Self::class_names).
    pub labels: Vec<u8>,
    /// The class names, alphabetical; a label is an index into this list.
    pub class_names: Vec<String>,
    /// The file each cloud was read from.
    pub paths: Vec<PathBuf>,
    /// Each cloud's index within its split, in dataset order.
    pub indices: Vec<u32>,
}

impl PointCloudSet {
    /// Number of clouds.
    pub fn len(&self) -> usize {
        self.clouds.len()
    }

    /// Whether the set holds no clouds.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Cloud `i` (`N × 3` values).
    pub fn cloud(&self, i: usize) -> &[f32] {
        &self.clouds[i]
    }

    #[cfg(test)]
    /// Number of points of cloud `i`.
    pub fn point_count(&self, i: usize) -> usize {
        self.clouds[i].len() / 3
    }

    #[cfg(test)]
    /// The number of points every cloud has, or `None` when they differ (or the set is empty).
    pub fn uniform_point_count(&self) -> Option<usize> {
        let first = self.clouds.first()?.len() / 3;
        self.clouds
            .iter()
            .all(|c| c.len() / 3 == first)
            .then_some(first)
    }

    /// Number of clouds of each class, in label order.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.class_names.len()];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }

    /// The clouds at `positions` (positions in this set, in the order given), with their
    /// labels, paths and indices; class names are kept.
    pub fn select(&self, positions: &[usize]) -> PointCloudSet {
        PointCloudSet {
            clouds: positions.iter().map(|&i| self.clouds[i].clone()).collect(),
            labels: positions.iter().map(|&i| self.labels[i]).collect(),
            class_names: self.class_names.clone(),
            paths: positions.iter().map(|&i| self.paths[i].clone()).collect(),
            indices: positions.iter().map(|&i| self.indices[i]).collect(),
        }
    }

    #[cfg(test)]
    /// The first `n` clouds (or all).
    pub fn take(&self, n: usize) -> PointCloudSet {
        self.select(&(0..n.min(self.len())).collect::<Vec<_>>())
    }

    /// Hex SHA-256 over class names, labels and the clouds' coordinate bits (not the paths,
    /// so a moved copy hashes the same).
    pub fn sha256(&self) -> String {
        let mut h = Sha256::new();
        h.update((self.class_names.len() as u64).to_le_bytes());
        for name in &self.class_names {
            h.update((name.len() as u64).to_le_bytes());
            h.update(name.as_bytes());
        }
        h.update((self.len() as u64).to_le_bytes());
        for (cloud, &label) in self.clouds.iter().zip(&self.labels) {
            h.update([label]);
            h.update((cloud.len() as u64).to_le_bytes());
            for v in cloud {
                h.update(v.to_le_bytes());
            }
        }
        h.finalize().iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    }
}

/// Checks a class name given by the caller: a plain folder name.
fn check_class_name(name: &str) -> Result<()> {
    ensure!(
        !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\']),
        "class name {name:?} is not a plain folder name"
    );
    Ok(())
}

/// The classes to load, alphabetically: the given ones (each must be a folder of `root`) or
/// every folder of `root` whose name does not start with a dot.
fn resolve_classes(root: &Path, classes: Option<&[&str]>) -> Result<Vec<String>> {
    let r = root.display();
    ensure!(
        root.is_dir(),
        "{r}: dataset folder not found (expected <root>/<class>/{{train,test}}/*.npy)"
    );
    let mut names: Vec<String> = match classes {
        Some(list) => {
            ensure!(
                !list.is_empty(),
                "{r}: the list of classes to load is empty"
            );
            for name in list {
                check_class_name(name)?;
                let dir = root.join(name);
                ensure!(dir.is_dir(), "{}: class folder not found", dir.display());
            }
            list.iter().map(|s| s.to_string()).collect()
        }
        None => {
            let mut names = Vec::new();
            for entry in std::fs::read_dir(root).with_context(|| format!("{r}: cannot list"))? {
                let entry = entry.with_context(|| format!("{r}: cannot list"))?;
                let path = entry.path();
                if !path.is_dir() {
                    continue; // README.md, manifest.csv, SHA256SUMS
                }
                let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                    bail!("{}: class folder name is not valid UTF-8", path.display());
                };
                if !name.starts_with('.') {
                    names.push(name);
                }
            }
            ensure!(
                !names.is_empty(),
                "{r}: no class folders (expected <root>/<class>/{{train,test}}/*.npy)"
            );
            names
        }
    };
    names.sort();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        bail!("{r}: class {} is listed twice", w[0]);
    }
    ensure!(
        names.len() <= 256,
        "{r}: {} classes, at most 256 are supported (labels are one byte)",
        names.len()
    );
    Ok(names)
}

/// The `.npy` files of a class's split folder, sorted by file name; none is an error.
fn list_npy(dir: &Path) -> Result<Vec<PathBuf>> {
    let d = dir.display();
    ensure!(dir.is_dir(), "{d}: split folder not found");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("{d}: cannot list"))? {
        let path = entry.with_context(|| format!("{d}: cannot list"))?.path();
        if path.extension().is_some_and(|e| e == "npy") && path.is_file() {
            files.push(path);
        }
    }
    ensure!(!files.is_empty(), "{d}: empty class folder (no .npy files)");
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

/// Loads the official files of `split` (`train` for train and validation, see
/// [`Split::source`]) of the per-class dataset at `root` (`<root>/<class>/{train,test}/*.npy`,
/// each file an `(N, 3)` `'<f4'` NPY array, see [`parse_npy_points`]).
///
/// `classes` picks the classes (e.g. [`MODELNET10_CLASSES`]); `None` takes every folder of
/// `root`. Labels index the chosen classes in alphabetical order; clouds come class by class,
/// files sorted by name. A missing class or split folder, a split folder without `.npy` files,
/// and any bad file are errors naming the path.
pub fn load_source_clouds(
    root: &Path,
    split: Split,
    classes: Option<&[&str]>,
) -> Result<PointCloudSet> {
    let class_names = resolve_classes(root, classes)?;
    let mut set = PointCloudSet {
        clouds: Vec::new(),
        labels: Vec::new(),
        class_names,
        paths: Vec::new(),
        indices: Vec::new(),
    };
    for (label, class) in set.class_names.iter().enumerate() {
        for path in list_npy(&root.join(class).join(split.source()))? {
            set.clouds.push(read_npy_points(&path)?);
            set.labels.push(label as u8);
            set.paths.push(path);
        }
    }
    let n = u32::try_from(set.len()).map_err(|_| anyhow!("{}: too many files", root.display()))?;
    set.indices = (0..n).collect();
    Ok(set)
}

/// How many of a class's `n` training shapes are held out for validation: 10 % rounded to
/// the nearest integer, at least one and never all (none when `n < 2`).
pub fn validation_count_per_class(n: usize) -> usize {
    if n < 2 {
        return 0;
    }
    ((n as f64 * VALIDATION_FRACTION).round() as usize).clamp(1, n - 1)
}

/// Splits a training set into (train, validation): per class, the last
/// [`validation_count_per_class`] clouds in set order (file order for a loaded set) are held
/// out. Both parts keep dataset order; their `indices` count within each part.
pub fn split_validation(set: &PointCloudSet) -> (PointCloudSet, PointCloudSet) {
    let counts = set.class_counts();
    let mut seen = vec![0usize; counts.len()];
    let (mut train, mut val) = (Vec::new(), Vec::new());
    for (i, &l) in set.labels.iter().enumerate() {
        let l = l as usize;
        let keep = counts[l] - validation_count_per_class(counts[l]);
        if seen[l] < keep {
            train.push(i);
        } else {
            val.push(i);
        }
        seen[l] += 1;
    }
    let (mut train, mut val) = (set.select(&train), set.select(&val));
    train.indices = (0..train.len() as u32).collect();
    val.indices = (0..val.len() as u32).collect();
    (train, val)
}

/// Loads `split` of the per-class dataset at `root`: the test files, or the training files
/// cut by [`split_validation`] into training and validation parts.
pub fn load_point_clouds(
    root: &Path,
    split: Split,
    classes: Option<&[&str]>,
) -> Result<PointCloudSet> {
    let files = load_source_clouds(root, split, classes)?;
    Ok(match split {
        Split::Test => files,
        Split::Train => split_validation(&files).0,
        Split::Val => split_validation(&files).1,
    })
}

/// Centres `cloud` on its centroid and scales it so that its farthest point has radius 1
/// (the normalisation ModelNet40's files already have). A single point (or all points equal)
/// is only centred.
pub fn normalize_unit_sphere(cloud: &mut [f32]) {
    let n = cloud.len() / 3;
    if n == 0 {
        return;
    }
    let mut c = [0f64; 3];
    for p in cloud.chunks_exact(3) {
        for (s, &v) in c.iter_mut().zip(p) {
            *s += v as f64;
        }
    }
    let c = c.map(|s| (s / n as f64) as f32);
    let mut r2 = 0f32;
    for p in cloud.chunks_exact_mut(3) {
        for (v, &m) in p.iter_mut().zip(&c) {
            *v -= m;
        }
        r2 = r2.max(p[0] * p[0] + p[1] * p[1] + p[2] * p[2]);
    }
    if r2 > 0.0 {
        let inv = 1.0 / r2.sqrt();
        cloud.iter_mut().for_each(|v| *v *= inv);
    }
}

/// What [`make_pointcloud_subset`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubsetSummary {
    /// The classes, alphabetical.
    pub classes: Vec<String>,
    /// Training files copied (all classes).
    pub train_files: usize,
    /// Test files copied (all classes).
    pub test_files: usize,
}

/// Cuts a small subset of the per-class dataset at `from` into the new folder `to`: for each
/// class (the given ones, or all), the first `train_per_class` training files and the first
/// `test_per_class` test files by name (fewer where a class has fewer), copied byte for byte
/// after checking that each parses. Also writes `manifest.csv` (`path,class,label,split`,
/// labels in the subset's alphabetical class order) and `SHA256SUMS` (`sha256sum` format).
///
/// `to` must not exist or be an empty folder; the subset is assembled in a sibling folder
/// `.<name>.partial` and renamed into place only when complete.
pub fn make_pointcloud_subset(
    from: &Path,
    to: &Path,
    classes: Option<&[&str]>,
    train_per_class: usize,
    test_per_class: usize,
) -> Result<SubsetSummary> {
    ensure!(
        train_per_class >= 1 && test_per_class >= 1,
        "subset of {}: train and test counts per class must be at least 1 (got {train_per_class}, {test_per_class})",
        from.display()
    );
    let t = to.display();
    if to.exists() {
        let mut entries =
            std::fs::read_dir(to).with_context(|| format!("{t}: exists and cannot be listed"))?;
        ensure!(
            entries.next().is_none(),
            "{t}: exists and is not empty; remove it first"
        );
    }
    let class_names = resolve_classes(from, classes)?;
    let name = to
        .file_name()
        .ok_or_else(|| anyhow!("{t}: not a folder path"))?
        .to_string_lossy()
        .into_owned();
    let staging = to.with_file_name(format!(".{name}.partial"));
    if staging.exists() {
        std::fs::remove_dir_all(&staging).with_context(|| {
            format!(
                "{}: cannot remove a leftover partial subset",
                staging.display()
            )
        })?;
    }
    let mut manifest = String::from("path,class,label,split\n");
    let mut sums = String::new();
    let mut summary = SubsetSummary {
        classes: class_names.clone(),
        train_files: 0,
        test_files: 0,
    };
    for (label, class) in class_names.iter().enumerate() {
        for (split, n) in [
            (Split::Train, train_per_class),
            (Split::Test, test_per_class),
        ] {
            let rel_dir = Path::new(class).join(split.source());
            let out_dir = staging.join(&rel_dir);
            std::fs::create_dir_all(&out_dir)
                .with_context(|| format!("{}: cannot create", out_dir.display()))?;
            for src in list_npy(&from.join(&rel_dir))?.into_iter().take(n) {
                let bytes = std::fs::read(&src)
                    .with_context(|| format!("{}: cannot read", src.display()))?;
                parse_npy_points(&bytes, &src)?;
                let file = src.file_name().expect("listed files have names");
                let dst = out_dir.join(file);
                std::fs::write(&dst, &bytes)
                    .with_context(|| format!("{}: cannot write", dst.display()))?;
                let rel = format!("{class}/{}/{}", split.source(), file.to_string_lossy());
                let _ = writeln!(manifest, "{rel},{class},{label},{}", split.source());
                let digest = Sha256::digest(&bytes);
                let hex = digest.iter().fold(String::new(), |mut s, b| {
                    let _ = write!(s, "{b:02x}");
                    s
                });
                let _ = writeln!(sums, "{hex}  {rel}");
                match split {
                    Split::Test => summary.test_files += 1,
                    Split::Train | Split::Val => summary.train_files += 1,
                }
            }
        }
    }
    for (file, text) in [("manifest.csv", &manifest), ("SHA256SUMS", &sums)] {
        let path = staging.join(file);
        std::fs::write(&path, text).with_context(|| format!("{}: cannot write", path.display()))?;
    }
    if to.exists() {
        std::fs::remove_dir(to).with_context(|| format!("{t}: cannot replace the empty folder"))?;
    }
    std::fs::rename(&staging, to)
        .with_context(|| format!("{t}: cannot rename {} onto it", staging.display()))?;
    Ok(summary)
}

// ---------------------------------------------------------------------------------------------
// Nearest neighbours and UDF targets
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use crate::npy::{npy_points_bytes, write_npy_points, NPY_MAGIC};
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// An NPY file with a hand-made header (`dict` is the header text before padding) and data.
    fn npy_with(dict: &str, data: &[u8], version: u8) -> Vec<u8> {
        let pre = if version == 1 { 10 } else { 12 };
        let mut header = dict.to_string();
        while !(pre + header.len() + 1).is_multiple_of(64) {
            header.push(' ');
        }
        header.push('\n');
        let mut out = NPY_MAGIC.to_vec();
        out.extend_from_slice(&[version, 0]);
        if version == 1 {
            out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        } else {
            out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        }
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    fn f32_bytes(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    fn dict(descr: &str, fortran: &str, shape: &str) -> String {
        format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}")
    }

    fn random_cloud(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..n * 3).map(|_| rng.random_range(-1.0f32..1.0)).collect()
    }

    fn err_of(bytes: &[u8]) -> String {
        format!(
            "{:#}",
            parse_npy_points(bytes, Path::new("shape.npy")).unwrap_err()
        )
    }

    #[test]
    fn npy_roundtrip_v1_and_v2() {
        let pts = random_cloud(5, 1);
        let bytes = npy_points_bytes(&pts).unwrap();
        assert_eq!(bytes.len(), 128 + 5 * 12, "header padded to 64 bytes");
        assert_eq!(parse_npy_points(&bytes, Path::new("a.npy")).unwrap(), pts);
        let v2 = npy_with(&dict("<f4", "False", "(5, 3)"), &f32_bytes(&pts), 2);
        assert_eq!(parse_npy_points(&v2, Path::new("b.npy")).unwrap(), pts);
        // Other spellings numpy or Python 2 produced: double quotes, no trailing comma, key
        // order, `L` suffixes.
        let odd = npy_with(
            "{\"shape\": (5L, 3L), \"fortran_order\": False, \"descr\": \"<f4\"}",
            &f32_bytes(&pts),
            1,
        );
        assert_eq!(parse_npy_points(&odd, Path::new("c.npy")).unwrap(), pts);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.npy");
        write_npy_points(&path, &pts).unwrap();
        assert_eq!(read_npy_points(&path).unwrap(), pts);
        assert!(write_npy_points(&path, &[1.0, 2.0]).is_err());
        assert!(write_npy_points(&path, &[]).is_err());
    }

    #[test]
    fn npy_rejects_wrong_dtype() {
        let e = err_of(&npy_with(&dict("<f8", "False", "(2, 3)"), &[0; 48], 1));
        assert!(
            e.contains("shape.npy") && e.contains("'<f8'") && e.contains("float64"),
            "{e}"
        );
        assert!(e.contains("offset 20"), "{e}"); // 10-byte preamble + "{'descr': " (10)
        let e = err_of(&npy_with(&dict(">f4", "False", "(2, 3)"), &[0; 24], 1));
        assert!(e.contains("big-endian"), "{e}");
        let e = err_of(&npy_with(&dict("<i4", "False", "(2, 3)"), &[0; 24], 1));
        assert!(e.contains("'<i4'") && e.contains("expected '<f4'"), "{e}");
    }

    #[test]
    fn npy_rejects_wrong_shape_and_empty() {
        for shape in ["(4, 2)", "(12,)", "(2, 2, 3)", "()"] {
            let e = err_of(&npy_with(&dict("<f4", "False", shape), &[0; 32], 1));
            assert!(
                e.contains("shape.npy") && e.contains(shape) && e.contains("expected (N, 3)"),
                "{shape}: {e}"
            );
        }
        let e = err_of(&npy_with(&dict("<f4", "False", "(0, 3)"), &[], 1));
        assert!(e.contains("no points"), "{e}");
    }

    #[test]
    fn npy_rejects_fortran_order() {
        let e = err_of(&npy_with(&dict("<f4", "True", "(2, 3)"), &[0; 24], 1));
        assert!(
            e.contains("shape.npy") && e.contains("fortran_order is True"),
            "{e}"
        );
    }

    #[test]
    fn npy_rejects_truncated_and_trailing_data() {
        let full = npy_with(&dict("<f4", "False", "(2, 3)"), &f32_bytes(&[0.5; 6]), 1);
        let cut = &full[..full.len() - 3];
        let e = err_of(cut);
        assert!(
            e.contains("truncated") && e.contains(&format!("offset {}", cut.len())),
            "{e}"
        );
        assert!(
            e.contains("needs 24 data bytes from offset 128, found 21"),
            "{e}"
        );
        let mut long = full.clone();
        long.push(0);
        let e = err_of(&long);
        assert!(
            e.contains("offset 152") && e.contains("1 unexpected bytes"),
            "{e}"
        );
        // Cut inside the header, inside the preamble, and not NPY at all.
        assert!(err_of(&full[..40]).contains("ends inside the 118-byte header"));
        assert!(err_of(&full[..9]).contains("too short"));
        let mut bad = full.clone();
        bad[1] = b'X';
        assert!(err_of(&bad).contains("not an NPY file"));
        bad = full.clone();
        bad[6] = 3;
        assert!(err_of(&bad).contains("version 3.0"));
    }

    #[test]
    fn npy_rejects_nan_and_inf_with_offset() {
        let e = err_of(&npy_with(
            &dict("<f4", "False", "(2, 3)"),
            &f32_bytes(&[0.0, 0.0, 0.0, 0.0, f32::NAN, 0.0]),
            1,
        ));
        assert!(
            e.contains("offset 144") && e.contains("point 1 coordinate y is NaN"),
            "{e}"
        );
        let e = err_of(&npy_with(
            &dict("<f4", "False", "(1, 3)"),
            &f32_bytes(&[f32::INFINITY, 0.0, 0.0]),
            1,
        ));
        assert!(e.contains("offset 128") && e.contains("inf"), "{e}");
    }

    #[test]
    fn npy_rejects_malformed_headers() {
        for (d, want) in [
            (
                "{'descr': '<f4', 'shape': (2, 3), }",
                "'fortran_order' missing",
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}",
                "unexpected key 'x'",
            ),
            (
                "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}",
                "appears twice",
            ),
            (
                "{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3)}",
                "expected a string, True",
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3)}",
                "non-negative integer",
            ),
            (
                "{'descr': <f4, 'fortran_order': False, 'shape': (2, 3)}",
                "expected a string",
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} x",
                "after the header dict",
            ),
            ("['<f4']", "expected '{'"),
        ] {
            let e = err_of(&npy_with(d, &[0; 24], 1));
            assert!(e.contains("NPY header") && e.contains(want), "{d}: {e}");
        }
    }

    /// Writes `<root>/<class>/<split>/<name>` with `n` points.
    fn put(root: &Path, class: &str, split: &str, name: &str, pts: &[f32]) {
        let dir = root.join(class).join(split);
        std::fs::create_dir_all(&dir).unwrap();
        write_npy_points(&dir.join(name), pts).unwrap();
    }

    /// A tiny dataset: classes b (3 train, 1 test), a (12 train, 2 test), c (1 train, 1 test);
    /// each cloud's first coordinate encodes (class, file number).
    fn tiny_dataset(root: &Path) {
        for (class, code, train, test) in [("b", 2.0, 3, 1), ("a", 1.0, 12, 2), ("c", 3.0, 1, 1)] {
            for i in (0..train).rev() {
                put(
                    root,
                    class,
                    "train",
                    &format!("{class}_{i:04}.npy"),
                    &[code, i as f32, 0.0, 0.5, 0.5, 0.5],
                );
            }
            for i in 0..test {
                put(
                    root,
                    class,
                    "test",
                    &format!("{class}_{:04}.npy", 100 + i),
                    &[code, i as f32, 1.0],
                );
            }
        }
        std::fs::write(root.join("manifest.csv"), "path,class,label,split\n").unwrap();
        std::fs::write(
            root.join("a").join("train").join("notes.txt"),
            "not a cloud",
        )
        .unwrap();
    }

    #[test]
    fn loads_per_class_layout_sorted() {
        let dir = tempfile::tempdir().unwrap();
        tiny_dataset(dir.path());
        let train = load_source_clouds(dir.path(), Split::Train, None).unwrap();
        assert_eq!(train.class_names, ["a", "b", "c"]);
        assert_eq!(train.len(), 16);
        assert_eq!(train.class_counts(), [12, 3, 1]);
        let mut want = vec![0u8; 12];
        want.extend([1, 1, 1, 2]);
        assert_eq!(train.labels, want);
        assert_eq!(train.indices, (0..16).collect::<Vec<u32>>());
        // Sorted by file name, whatever order they were written in.
        let order: Vec<f32> = train.clouds.iter().map(|c| c[0] * 100.0 + c[1]).collect();
        let mut sorted = order.clone();
        sorted.sort_by(f32::total_cmp);
        assert_eq!(order, sorted);
        assert!(train.paths[0].ends_with("a/train/a_0000.npy"));
        assert_eq!(train.uniform_point_count(), Some(2));

        // Class selection: labels follow the alphabetical order of the chosen classes.
        let test = load_source_clouds(dir.path(), Split::Test, Some(&["c", "b"])).unwrap();
        assert_eq!(test.class_names, ["b", "c"]);
        assert_eq!(test.labels, [0, 1]);
        assert_eq!(test.clouds, vec![vec![2.0, 0.0, 1.0], vec![3.0, 0.0, 1.0]]);
        assert_eq!(test.point_count(0), 1);

        // Same data, same hash; different data, different hash.
        let again = load_source_clouds(dir.path(), Split::Train, None).unwrap();
        assert_eq!(train.sha256(), again.sha256());
        assert_ne!(train.sha256(), train.take(15).sha256());
    }

    #[test]
    fn validation_split_holds_out_last_tenth_per_class() {
        assert_eq!(
            [0, 1, 2, 9, 10, 12, 14, 15, 64, 106, 889].map(validation_count_per_class),
            [0, 0, 1, 1, 1, 1, 1, 2, 6, 11, 89]
        );
        let dir = tempfile::tempdir().unwrap();
        tiny_dataset(dir.path());
        let (train, val) = (
            load_point_clouds(dir.path(), Split::Train, None).unwrap(),
            load_point_clouds(dir.path(), Split::Val, None).unwrap(),
        );
        assert_eq!(train.class_counts(), [11, 2, 1]);
        assert_eq!(val.class_counts(), [1, 1, 0]);
        // The last file of each class in name order is held out.
        assert!(
            val.paths[0].ends_with("a/train/a_0011.npy"),
            "{:?}",
            val.paths
        );
        assert!(
            val.paths[1].ends_with("b/train/b_0002.npy"),
            "{:?}",
            val.paths
        );
        assert_eq!(val.indices, [0, 1]);
        assert_eq!(train.indices, (0..14).collect::<Vec<u32>>());
        assert_eq!(train.class_names, val.class_names);
    }

    #[test]
    fn dataset_errors_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        tiny_dataset(root);
        // Empty class folder.
        std::fs::create_dir_all(root.join("d").join("train")).unwrap();
        let e = format!(
            "{:#}",
            load_source_clouds(root, Split::Train, None).unwrap_err()
        );
        assert!(
            e.contains("d/train") && e.contains("empty class folder"),
            "{e}"
        );
        // Missing split folder.
        let e = format!(
            "{:#}",
            load_source_clouds(root, Split::Test, Some(&["d"])).unwrap_err()
        );
        assert!(e.contains("d/test") && e.contains("not found"), "{e}");
        // Unknown class, bad names, duplicates, empty list, missing root.
        let e = format!(
            "{:#}",
            load_source_clouds(root, Split::Test, Some(&["zebra"])).unwrap_err()
        );
        assert!(
            e.contains("zebra") && e.contains("class folder not found"),
            "{e}"
        );
        assert!(load_source_clouds(root, Split::Test, Some(&["../a"])).is_err());
        let e = format!(
            "{:#}",
            load_source_clouds(root, Split::Test, Some(&["a", "a"])).unwrap_err()
        );
        assert!(e.contains("listed twice"), "{e}");
        assert!(load_source_clouds(root, Split::Test, Some(&[])).is_err());
        let e = format!(
            "{:#}",
            load_source_clouds(&root.join("nope"), Split::Test, None).unwrap_err()
        );
        assert!(
            e.contains("nope") && e.contains("dataset folder not found"),
            "{e}"
        );
        // A bad file is named by its path.
        let bad = root.join("c").join("test").join("c_0100.npy");
        std::fs::write(&bad, npy_with(&dict("<f8", "False", "(1, 3)"), &[0; 24], 1)).unwrap();
        let e = format!(
            "{:#}",
            load_source_clouds(root, Split::Test, Some(&["c"])).unwrap_err()
        );
        assert!(
            e.contains(&bad.display().to_string()) && e.contains("'<f8'"),
            "{e}"
        );
        // A root with no class folders.
        let empty = tempfile::tempdir().unwrap();
        let e = format!(
            "{:#}",
            load_source_clouds(empty.path(), Split::Test, None).unwrap_err()
        );
        assert!(e.contains("no class folders"), "{e}");
    }

    #[test]
    fn subset_copies_first_files() {
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("full");
        tiny_dataset(&from);
        let to = dir.path().join("subset");
        let s = make_pointcloud_subset(&from, &to, Some(&["b", "a"]), 2, 5).unwrap();
        assert_eq!(
            s,
            SubsetSummary {
                classes: vec!["a".into(), "b".into()],
                train_files: 4,
                test_files: 3
            }
        );
        assert!(!dir.path().join(".subset.partial").exists());
        let sub = load_source_clouds(&to, Split::Train, None).unwrap();
        assert_eq!(sub.class_names, ["a", "b"]);
        let full = load_source_clouds(&from, Split::Train, Some(&["a", "b"])).unwrap();
        assert_eq!(sub.clouds, full.select(&[0, 1, 12, 13]).clouds);
        let src = std::fs::read(from.join("a/train/a_0001.npy")).unwrap();
        assert_eq!(std::fs::read(to.join("a/train/a_0001.npy")).unwrap(), src);
        let manifest = std::fs::read_to_string(to.join("manifest.csv")).unwrap();
        assert!(
            manifest.starts_with("path,class,label,split\na/train/a_0000.npy,a,0,train\n"),
            "{manifest}"
        );
        assert!(
            manifest.contains("b/test/b_0100.npy,b,1,test\n"),
            "{manifest}"
        );
        let sums = std::fs::read_to_string(to.join("SHA256SUMS")).unwrap();
        assert_eq!(sums.lines().count(), 7);
        assert!(sums
            .lines()
            .all(|l| l[..64].bytes().all(|b| b.is_ascii_hexdigit()) && &l[64..66] == "  "));
        // Refuses to overwrite; rejects zero counts.
        let e = format!(
            "{:#}",
            make_pointcloud_subset(&from, &to, None, 1, 1).unwrap_err()
        );
        assert!(e.contains("not empty"), "{e}");
        assert!(make_pointcloud_subset(&from, &dir.path().join("z"), None, 0, 1).is_err());
        // An empty existing folder is fine.
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        let s = make_pointcloud_subset(&from, &empty, None, 1, 1).unwrap();
        assert_eq!((s.train_files, s.test_files), (3, 3));
    }

    #[test]
    fn normalizes_to_the_unit_sphere() {
        let mut c = vec![1.0, 1.0, 1.0, 3.0, 1.0, 1.0, 2.0, 1.0, 1.0];
        normalize_unit_sphere(&mut c);
        assert_eq!(c, [-1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        let mut one = vec![5.0, -2.0, 0.5];
        normalize_unit_sphere(&mut one);
        assert_eq!(one, [0.0; 3]);
        normalize_unit_sphere(&mut []);
    }

    /// Reads real ModelNet40 files when the shared data folder is present (not in CI):
    /// `$HYPERINR_MODELNET40`, or `../shared/data/modelnet40` beside the workspace.
    #[test]
    fn real_modelnet40_if_present() {
        let Some(root) = local_modelnet40() else {
            return;
        };
        let file = root.join("airplane/train/airplane_0001.npy");
        let bytes = std::fs::read(&file).unwrap();
        let pts = parse_npy_points(&bytes, &file).unwrap();
        assert_eq!(pts.len(), 1024 * 3);
        let r = pts
            .chunks_exact(3)
            .map(|p| (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt())
            .fold(0f32, f32::max);
        assert!((r - 1.0).abs() < 1e-3, "max radius {r}");
        // Our writer lays the file out exactly as numpy did.
        assert_eq!(npy_points_bytes(&pts).unwrap(), bytes);

        // ModelNet10 test split: 908 shapes (README), labels in MODELNET10_CLASSES order.
        let test = load_source_clouds(&root, Split::Test, Some(&MODELNET10_CLASSES)).unwrap();
        assert_eq!(test.len(), 908);
        assert_eq!(test.class_names, MODELNET10_CLASSES);
        assert_eq!(test.uniform_point_count(), Some(1024));
        assert_eq!(
            test.class_counts(),
            [50, 100, 100, 86, 86, 100, 86, 100, 100, 100]
        );
    }
}

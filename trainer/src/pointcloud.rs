//! Point clouds for the 3D half of the pipeline.
//!
//! - **NPY reader / writer** for little-endian `float32` arrays of shape `(N, 3)`
//!   ([`read_npy_points`], [`parse_npy_points`], [`write_npy_points`]).
//! - **Datasets** in the per-class layout `<root>/<class>/{train,test}/*.npy` used by
//!   ModelNet40, ModelNet10 (a class subset of it) and the PointDA-10 folders
//!   ([`load_point_clouds`], [`split_validation`], [`MODELNET10_CLASSES`]), and the maker of the
//!   small subsets the repository carries ([`make_pointcloud_subset`]).
//! - **UDF targets** for training a SIREN on the unsigned distance to a cloud ([`UdfSampler`]),
//!   through a k-d tree ([`CloudIndex`], the `kiddo` crate).
//! - **Evaluation**: the symmetric Chamfer distance ([`chamfer_distance`]) and the extraction of
//!   surface points from a (predicted) UDF ([`surface_points_from_udf`], [`SurfaceSearch`]).
//!
//! A cloud is always a flat `[f32]` of `N × 3` coordinates, point after point (`x, y, z`), in
//! unit-sphere coordinates. Every error names the file (and, inside a file, the byte offset) or
//! the argument that is wrong.
//!
//! Sampling is seeded: the same inputs and seed give the same bits (for a given build; the
//! generator is `rand`'s `StdRng`, whose stream is pinned by `Cargo.lock`).

use crate::npy::{check_cloud, parse_npy_points, read_npy_points};
use anyhow::{anyhow, bail, ensure, Context, Result};
use kiddo::immutable::float::kdtree::ImmutableKdTree;
use kiddo::SquaredEuclidean;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[cfg(test)]
/// Writes `points` (`N × 3`, `N ≥ 1`, finite) as an NPY file (see [`npy_points_bytes`]);
/// the file appears whole or not at all.
pub fn write_npy_points(path: &Path, points: &[f32]) -> Result<()> {
    let bytes = crate::npy::npy_points_bytes(points).with_context(|| path.display().to_string())?;
    crate::io::write_atomic(path, &bytes)
}

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

/// Share of each class's training shapes held out for validation.
pub const VALIDATION_FRACTION: f64 = 0.1;

/// A split folder of the per-class layout: `<root>/<class>/train` or `<root>/<class>/test`.
/// (The validation split is cut out of `train` by [`split_validation`].)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CloudSplit {
    /// `<class>/train/`.
    Train,
    /// `<class>/test/`.
    Test,
}

impl CloudSplit {
    /// The folder name: `train` or `test`.
    pub fn dir_name(self) -> &'static str {
        match self {
            CloudSplit::Train => "train",
            CloudSplit::Test => "test",
        }
    }
}

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

/// Loads `split` of the per-class dataset at `root` (`<root>/<class>/{train,test}/*.npy`,
/// each file an `(N, 3)` `'<f4'` NPY array, see [`parse_npy_points`]).
///
/// `classes` picks the classes (e.g. [`MODELNET10_CLASSES`]); `None` takes every folder of
/// `root`. Labels index the chosen classes in alphabetical order; clouds come class by class,
/// files sorted by name. A missing class or split folder, a split folder without `.npy` files,
/// and any bad file are errors naming the path.
pub fn load_point_clouds(
    root: &Path,
    split: CloudSplit,
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
        for path in list_npy(&root.join(class).join(split.dir_name()))? {
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

#[cfg(test)]
/// Loads the training folder of `root` and splits it with [`split_validation`]:
/// returns (train, validation).
pub fn load_point_clouds_train_val(
    root: &Path,
    classes: Option<&[&str]>,
) -> Result<(PointCloudSet, PointCloudSet)> {
    Ok(split_validation(&load_point_clouds(
        root,
        CloudSplit::Train,
        classes,
    )?))
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
            (CloudSplit::Train, train_per_class),
            (CloudSplit::Test, test_per_class),
        ] {
            let rel_dir = Path::new(class).join(split.dir_name());
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
                let rel = format!("{class}/{}/{}", split.dir_name(), file.to_string_lossy());
                let _ = writeln!(manifest, "{rel},{class},{label},{}", split.dir_name());
                let digest = Sha256::digest(&bytes);
                let hex = digest.iter().fold(String::new(), |mut s, b| {
                    let _ = write!(s, "{b:02x}");
                    s
                });
                let _ = writeln!(sums, "{hex}  {rel}");
                match split {
                    CloudSplit::Train => summary.train_files += 1,
                    CloudSplit::Test => summary.test_files += 1,
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

/// Points per leaf of the k-d tree: 16 measured fastest for 1,024-point clouds (32, kiddo's
/// default, is about 1.5× slower).
const LEAF_SIZE: usize = 16;

/// A point set with a k-d tree over it, for nearest-neighbour distances.
pub struct CloudIndex {
    tree: ImmutableKdTree<f32, u32, 3, LEAF_SIZE>,
    points: Vec<[f32; 3]>,
}

impl std::fmt::Debug for CloudIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudIndex")
            .field("points", &self.points.len())
            .finish()
    }
}

impl CloudIndex {
    /// Builds the tree over `cloud` (`N × 3`, `1 ≤ N < 2³²`, finite values).
    pub fn new(cloud: &[f32]) -> Result<CloudIndex> {
        check_cloud(cloud)?;
        ensure!(
            cloud.len() / 3 <= u32::MAX as usize,
            "{} points, at most 2³² − 1 are supported",
            cloud.len() / 3
        );
        let points: Vec<[f32; 3]> = cloud.chunks_exact(3).map(|p| [p[0], p[1], p[2]]).collect();
        let tree = ImmutableKdTree::new_from_slice(&points);
        Ok(CloudIndex { tree, points })
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Point `i`.
    pub fn point(&self, i: usize) -> [f32; 3] {
        self.points[i]
    }

    /// The nearest point to `q`: its position in the cloud and its Euclidean distance.
    pub fn nearest(&self, q: [f32; 3]) -> (usize, f32) {
        let nn = self.tree.nearest_one::<SquaredEuclidean>(&q);
        (nn.item as usize, nn.distance.sqrt())
    }

    /// Euclidean distance from `q` to the nearest point.
    pub fn distance(&self, q: [f32; 3]) -> f32 {
        self.nearest(q).1
    }

    #[cfg(test)]
    /// Distances from each of `queries` (`M × 3`) to the nearest point.
    pub fn distances(&self, queries: &[f32]) -> Result<Vec<f32>> {
        ensure!(
            queries.len().is_multiple_of(3),
            "{} query values, not a multiple of 3",
            queries.len()
        );
        Ok(queries
            .chunks_exact(3)
            .map(|q| self.distance([q[0], q[1], q[2]]))
            .collect())
    }
}

/// Mixes a base seed with a stream number (shape index, epoch, …) into an independent seed
/// (SplitMix64 finaliser), so per-shape samplers do not share streams.
pub fn mix_seed(seed: u64, stream: u64) -> u64 {
    let mut z = seed ^ stream.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// How training queries for a cloud's unsigned distance field are drawn.
///
/// Of `n` queries, `round(n · uniform_fraction)` are uniform in the cube `[-bound, bound]³`;
/// the others are near-surface samples: a uniformly chosen cloud point plus isotropic Gaussian
/// noise, the standard deviations taking turns from `sigmas`. The target of each query is its
/// Euclidean distance to the nearest cloud point, clamped at `clamp`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UdfSampler {
    /// Noise standard deviations (per coordinate, unit-sphere units) of near-surface queries.
    pub sigmas: Vec<f32>,
    /// Share of uniform queries in the cube, 0..=1.
    pub uniform_fraction: f32,
    /// Half the side of the cube of uniform queries.
    pub bound: f32,
    /// Distances above this are clamped to it.
    pub clamp: f32,
}

impl Default for UdfSampler {
    fn default() -> Self {
        UdfSampler {
            sigmas: vec![0.01, 0.03, 0.1],
            uniform_fraction: 0.2,
            bound: 1.1,
            clamp: 0.1,
        }
    }
}

impl UdfSampler {
    /// Checks the configuration.
    pub fn validate(&self) -> Result<()> {
        ensure!(
            (0.0..=1.0).contains(&self.uniform_fraction),
            "UDF sampler: uniform_fraction {} is outside 0..=1",
            self.uniform_fraction
        );
        ensure!(
            self.uniform_fraction == 1.0 || !self.sigmas.is_empty(),
            "UDF sampler: sigmas is empty but uniform_fraction {} < 1 asks for near-surface queries",
            self.uniform_fraction
        );
        if let Some(s) = self.sigmas.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
            bail!("UDF sampler: sigma {s} must be positive and finite");
        }
        ensure!(
            self.bound.is_finite() && self.bound > 0.0,
            "UDF sampler: bound {} must be positive and finite",
            self.bound
        );
        ensure!(
            self.clamp.is_finite() && self.clamp > 0.0,
            "UDF sampler: clamp {} must be positive and finite",
            self.clamp
        );
        Ok(())
    }

    /// Number of uniform queries among `n_queries` (the rest are near-surface, and come first).
    pub fn uniform_count(&self, n_queries: usize) -> usize {
        ((n_queries as f64 * self.uniform_fraction as f64).round() as usize).min(n_queries)
    }

    #[cfg(test)]
    /// Draws `n_queries` queries around `cloud` (`N × 3`) with their clamped unsigned
    /// distances: returns (`n_queries × 3` coordinates, `n_queries` targets). Near-surface
    /// queries come first, then the uniform ones. The same cloud, configuration and `seed`
    /// give the same bits.
    pub fn sample(
        &self,
        cloud: &[f32],
        n_queries: usize,
        seed: u64,
    ) -> Result<(Vec<f32>, Vec<f32>)> {
        let index = CloudIndex::new(cloud).context("UDF sampler: cloud")?;
        self.sample_with_index(&index, n_queries, seed)
    }

    /// [`sample`](Self::sample) with a prebuilt index (to draw fresh queries for the same
    /// cloud, e.g. every epoch, without rebuilding the tree).
    pub fn sample_with_index(
        &self,
        index: &CloudIndex,
        n_queries: usize,
        seed: u64,
    ) -> Result<(Vec<f32>, Vec<f32>)> {
        self.validate()?;
        let mut rng = StdRng::seed_from_u64(seed);
        let n_uniform = self.uniform_count(n_queries);
        let n_near = n_queries - n_uniform;
        let mut coords = Vec::with_capacity(n_queries * 3);
        for j in 0..n_near {
            let sigma = self.sigmas[j % self.sigmas.len()];
            let p = index.point(rng.random_range(0..index.len()));
            for v in p {
                let noise: f32 = rng.sample(StandardNormal);
                coords.push(v + sigma * noise);
            }
        }
        for _ in 0..n_uniform * 3 {
            coords.push(rng.random_range(-self.bound..=self.bound));
        }
        let udf = coords
            .chunks_exact(3)
            .map(|q| index.distance([q[0], q[1], q[2]]).min(self.clamp))
            .collect();
        Ok((coords, udf))
    }
}

// ---------------------------------------------------------------------------------------------
// Chamfer distance and surface extraction
// ---------------------------------------------------------------------------------------------

/// Mean Euclidean distance from each point of `from` (`M × 3`) to its nearest point in `to`.
pub fn mean_nearest_distance(from: &[f32], to: &CloudIndex) -> Result<f64> {
    check_cloud(from)?;
    let sum: f64 = from
        .chunks_exact(3)
        .map(|q| to.distance([q[0], q[1], q[2]]) as f64)
        .sum();
    Ok(sum / (from.len() / 3) as f64)
}

/// Symmetric Chamfer distance between point sets `a` and `b` (each `N × 3`, non-empty,
/// finite): the mean Euclidean nearest-neighbour distance from `a` to `b` and the one from
/// `b` to `a`, averaged. Not squared; in the sets' units (unit-sphere coordinates).
pub fn chamfer_distance(a: &[f32], b: &[f32]) -> Result<f64> {
    let ia = CloudIndex::new(a).context("Chamfer distance: first point set")?;
    let ib = CloudIndex::new(b).context("Chamfer distance: second point set")?;
    let ab = mean_nearest_distance(a, &ib)?;
    let ba = mean_nearest_distance(b, &ia)?;
    Ok(0.5 * (ab + ba))
}

/// How [`SurfaceSearch::run`] looks for points where a UDF is below ε.
///
/// The goal is points spread uniformly over the set `{x : UDF(x) < ε}` (a shell of
/// thickness 2ε around the reconstructed surface), as a plain uniform rejection sampler in
/// the cube `[-bound, bound]³` would give them, at a fraction of its evaluations:
///
/// 1. **Pruning pass**: the UDF is evaluated at the centres of a `grid³` grid over the cube.
///    A cell is kept when its centre's value is below `ε + lipschitz · r`, `r` being half the
///    cell's diagonal: if the UDF changes by at most `lipschitz` per unit length (a true
///    distance function: 1), no point of a dropped cell can be below ε.
/// 2. **Sampling**: candidates are drawn uniformly in the kept cells (a uniformly chosen cell,
///    then a uniform point inside it) and accepted when the UDF is below ε, until `n_points`
///    are accepted. Accepted points are therefore uniform over the shell, exactly as with
///    rejection in the whole cube.
///
/// Pruning only pays when `ε + lipschitz · r` is below the UDF's clamp (the value it takes far
/// from the surface): with the default 32³ grid over `[-1.1, 1.1]³`, `r ≈ 0.060`, which suits
/// a clamp of 0.1 and ε up to 0.04. Otherwise every cell is kept and the search degrades to
/// rejection in the whole cube (still correct, just slower). `grid = 0` skips the pruning pass.
/// A UDF steeper than `lipschitz` somewhere may lose the parts of the shell in cells it
/// dropped wrongly; raise `lipschitz` (and `grid`) for such models.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SurfaceSearch {
    /// Half the side of the cube searched.
    pub bound: f32,
    /// Cells per axis of the pruning grid; 0 = no pruning.
    pub grid: usize,
    /// Assumed bound on the UDF's change per unit length (its gradient norm).
    pub lipschitz: f32,
    /// Points per call of the UDF evaluator.
    pub batch: usize,
    /// Budget: at most this many evaluations, pruning pass included.
    pub max_evaluations: usize,
}

impl Default for SurfaceSearch {
    fn default() -> Self {
        SurfaceSearch {
            bound: 1.1,
            grid: 32,
            lipschitz: 1.0,
            batch: 8192,
            max_evaluations: 1 << 20,
        }
    }
}

/// Points found by [`SurfaceSearch::run`].
#[derive(Clone, Debug, PartialEq)]
pub struct SurfaceSample {
    /// Up to `n_points × 3` coordinates, uniform over `{x : UDF(x) < ε}`.
    pub points: Vec<f32>,
    /// UDF evaluations spent, pruning pass included.
    pub evaluated: usize,
    /// Share of the cube's volume kept by the pruning pass (1 without it).
    pub kept_volume: f64,
}

impl SurfaceSearch {
    /// Checks the configuration.
    pub fn validate(&self) -> Result<()> {
        ensure!(
            self.bound.is_finite() && self.bound > 0.0,
            "surface search: bound {} must be positive and finite",
            self.bound
        );
        ensure!(
            self.grid <= 1024,
            "surface search: grid {} is too fine (at most 1024 cells per axis)",
            self.grid
        );
        ensure!(
            self.lipschitz.is_finite() && self.lipschitz > 0.0,
            "surface search: lipschitz {} must be positive and finite",
            self.lipschitz
        );
        ensure!(self.batch >= 1, "surface search: batch must be at least 1");
        ensure!(
            self.max_evaluations > self.grid.pow(3),
            "surface search: max_evaluations {} leaves nothing after the {}-point pruning grid",
            self.max_evaluations,
            self.grid.pow(3)
        );
        Ok(())
    }

    /// Collects `n_points` points where `eval` (which maps `M × 3` coordinates to `M` UDF
    /// values) is below `eps`, uniform over that set (see [`SurfaceSearch`]); fewer when
    /// `max_evaluations` runs out first (check `points.len()`). NaN values are never below
    /// `eps`. Reproducible for the same `eval`, arguments and `seed`.
    ///
    /// Errors: invalid arguments, `eval` returning the wrong number of values, or no point
    /// found at all.
    pub fn run(
        &self,
        mut eval: impl FnMut(&[f32]) -> Vec<f32>,
        n_points: usize,
        eps: f32,
        seed: u64,
    ) -> Result<SurfaceSample> {
        self.validate()?;
        ensure!(n_points >= 1, "surface search: n_points must be at least 1");
        ensure!(
            eps.is_finite() && eps > 0.0,
            "surface search: eps {eps} must be positive and finite"
        );
        let b = self.bound;
        let mut evaluated = 0usize;
        let mut call = |coords: &[f32], evaluated: &mut usize| -> Result<Vec<f32>> {
            let m = coords.len() / 3;
            let values = eval(coords);
            ensure!(
                values.len() == m,
                "surface search: the UDF evaluator returned {} values for {m} points",
                values.len()
            );
            *evaluated += m;
            Ok(values)
        };

        // 1. Pruning pass: the kept cells' lower corners (all cells when there is no grid).
        let (cell, kept): (f32, Vec<[f32; 3]>) = if self.grid == 0 {
            (2.0 * b, vec![[-b; 3]])
        } else {
            let n = self.grid;
            let h = 2.0 * b / n as f32;
            let reach = eps + self.lipschitz * h * 3f32.sqrt() / 2.0;
            let corner = |i: usize| -b + h * i as f32;
            let mut kept = Vec::new();
            let mut coords = Vec::with_capacity(self.batch.min(n * n * n) * 3);
            let mut pending = Vec::with_capacity(self.batch);
            for i in 0..n * n * n {
                let c = [corner(i / (n * n)), corner(i / n % n), corner(i % n)];
                coords.extend(c.map(|v| v + h / 2.0));
                pending.push(c);
                if pending.len() == self.batch || i + 1 == n * n * n {
                    let values = call(&coords, &mut evaluated)?;
                    kept.extend(
                        pending
                            .iter()
                            .zip(&values)
                            .filter(|(_, &u)| u < reach)
                            .map(|(c, _)| *c),
                    );
                    coords.clear();
                    pending.clear();
                }
            }
            (h, kept)
        };
        let kept_volume = kept.len() as f64 * (cell as f64 / (2.0 * b as f64)).powi(3);
        ensure!(
            !kept.is_empty(),
            "surface search: no point of [-{b}, {b}]³ can have UDF < {eps}: every grid cell's centre \
             is farther than {} (an empty reconstruction, or ε too small for it)",
            self.lipschitz * cell * 3f32.sqrt() / 2.0
        );

        // 2. Uniform candidates in the kept cells, accepted below eps.
        let mut rng = StdRng::seed_from_u64(seed);
        let mut points = Vec::with_capacity(n_points * 3);
        let mut coords = Vec::with_capacity(self.batch * 3);
        while points.len() < n_points * 3 && evaluated < self.max_evaluations {
            let m = self.batch.min(self.max_evaluations - evaluated);
            coords.clear();
            for _ in 0..m {
                let c = kept[rng.random_range(0..kept.len())];
                for v in c {
                    // `v + cell·U[0, 1)`, kept inside the cube against rounding.
                    coords.push((v + cell * rng.random::<f32>()).min(b));
                }
            }
            let values = call(&coords, &mut evaluated)?;
            for (p, &u) in coords.chunks_exact(3).zip(&values) {
                if u < eps && points.len() < n_points * 3 {
                    points.extend_from_slice(p);
                }
            }
        }
        ensure!(
            !points.is_empty(),
            "surface search: no point with UDF < {eps} among {evaluated} evaluations in [-{b}, {b}]³ \
             (an empty reconstruction, or ε too small for it)"
        );
        Ok(SurfaceSample {
            points,
            evaluated,
            kept_volume,
        })
    }
}

#[cfg(test)]
/// Points of the surface a UDF describes: `n_points` points (fewer if the budget ran out)
/// uniform over where `eval` is below `eps`, found with [`SurfaceSearch::default`] (see
/// [`SurfaceSearch::run`]). This is how reconstructions become point sets for
/// [`chamfer_distance`].
pub fn surface_points_from_udf(
    eval: impl FnMut(&[f32]) -> Vec<f32>,
    n_points: usize,
    eps: f32,
    seed: u64,
) -> Result<Vec<f32>> {
    Ok(SurfaceSearch::default()
        .run(eval, n_points, eps, seed)?
        .points)
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use crate::npy::{npy_points_bytes, NPY_MAGIC};

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

    fn sphere_cloud(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut out = Vec::with_capacity(n * 3);
        for _ in 0..n {
            let v: [f32; 3] = [
                rng.sample(StandardNormal),
                rng.sample(StandardNormal),
                rng.sample(StandardNormal),
            ];
            let r = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
            out.extend(v.map(|x| x / r));
        }
        out
    }

    fn brute_nearest(cloud: &[f32], q: &[f32]) -> f32 {
        cloud
            .chunks_exact(3)
            .map(|p| {
                let d = [p[0] - q[0], p[1] - q[1], p[2] - q[2]];
                (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt()
            })
            .fold(f32::INFINITY, f32::min)
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
        let train = load_point_clouds(dir.path(), CloudSplit::Train, None).unwrap();
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
        let test = load_point_clouds(dir.path(), CloudSplit::Test, Some(&["c", "b"])).unwrap();
        assert_eq!(test.class_names, ["b", "c"]);
        assert_eq!(test.labels, [0, 1]);
        assert_eq!(test.clouds, vec![vec![2.0, 0.0, 1.0], vec![3.0, 0.0, 1.0]]);
        assert_eq!(test.point_count(0), 1);

        // Same data, same hash; different data, different hash.
        let again = load_point_clouds(dir.path(), CloudSplit::Train, None).unwrap();
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
        let (train, val) = load_point_clouds_train_val(dir.path(), None).unwrap();
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
            load_point_clouds(root, CloudSplit::Train, None).unwrap_err()
        );
        assert!(
            e.contains("d/train") && e.contains("empty class folder"),
            "{e}"
        );
        // Missing split folder.
        let e = format!(
            "{:#}",
            load_point_clouds(root, CloudSplit::Test, Some(&["d"])).unwrap_err()
        );
        assert!(e.contains("d/test") && e.contains("not found"), "{e}");
        // Unknown class, bad names, duplicates, empty list, missing root.
        let e = format!(
            "{:#}",
            load_point_clouds(root, CloudSplit::Test, Some(&["zebra"])).unwrap_err()
        );
        assert!(
            e.contains("zebra") && e.contains("class folder not found"),
            "{e}"
        );
        assert!(load_point_clouds(root, CloudSplit::Test, Some(&["../a"])).is_err());
        let e = format!(
            "{:#}",
            load_point_clouds(root, CloudSplit::Test, Some(&["a", "a"])).unwrap_err()
        );
        assert!(e.contains("listed twice"), "{e}");
        assert!(load_point_clouds(root, CloudSplit::Test, Some(&[])).is_err());
        let e = format!(
            "{:#}",
            load_point_clouds(&root.join("nope"), CloudSplit::Test, None).unwrap_err()
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
            load_point_clouds(root, CloudSplit::Test, Some(&["c"])).unwrap_err()
        );
        assert!(
            e.contains(&bad.display().to_string()) && e.contains("'<f8'"),
            "{e}"
        );
        // A root with no class folders.
        let empty = tempfile::tempdir().unwrap();
        let e = format!(
            "{:#}",
            load_point_clouds(empty.path(), CloudSplit::Test, None).unwrap_err()
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
        let sub = load_point_clouds(&to, CloudSplit::Train, None).unwrap();
        assert_eq!(sub.class_names, ["a", "b"]);
        let full = load_point_clouds(&from, CloudSplit::Train, Some(&["a", "b"])).unwrap();
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

    #[test]
    fn udf_matches_brute_force() {
        let cloud = random_cloud(500, 7);
        let sampler = UdfSampler {
            clamp: 10.0,
            ..UdfSampler::default()
        };
        let (coords, udf) = sampler.sample(&cloud, 3000, 42).unwrap();
        assert_eq!((coords.len(), udf.len()), (9000, 3000));
        for (q, &u) in coords.chunks_exact(3).zip(&udf) {
            let want = brute_nearest(&cloud, q);
            assert!((u - want).abs() <= 1e-6, "{q:?}: kd {u} vs brute {want}");
        }
        // Clamped at the default 0.1; uniform queries last, inside the cube.
        let sampler = UdfSampler::default();
        let (coords, udf) = sampler.sample(&cloud, 1000, 42).unwrap();
        let n_uniform = sampler.uniform_count(1000);
        assert_eq!(n_uniform, 200);
        for (q, &u) in coords.chunks_exact(3).zip(&udf) {
            assert!((u - brute_nearest(&cloud, q).min(0.1)).abs() <= 1e-6);
        }
        assert!(coords[(1000 - n_uniform) * 3..]
            .iter()
            .all(|v| v.abs() <= 1.1));
        assert!(udf.contains(&0.1) && udf.iter().any(|&u| u < 0.02));
    }

    #[test]
    fn udf_handles_duplicates_and_tiny_clouds() {
        let one = [0.25f32, -0.5, 0.0];
        let index = CloudIndex::new(&one).unwrap();
        assert_eq!(index.nearest([0.25, -0.5, 1.0]), (0, 1.0));
        // Many identical points (k-d trees with buckets can choke on these).
        let mut dup: Vec<f32> = [0.1f32, 0.2, 0.3].repeat(300);
        dup.extend(random_cloud(50, 3));
        let index = CloudIndex::new(&dup).unwrap();
        let q = random_cloud(200, 4);
        for (q, d) in q.chunks_exact(3).zip(index.distances(&q).unwrap()) {
            assert!((d - brute_nearest(&dup, q)).abs() <= 1e-6);
        }
        assert!(CloudIndex::new(&[]).is_err());
        assert!(CloudIndex::new(&[1.0, 2.0]).is_err());
        assert!(CloudIndex::new(&[1.0, f32::NAN, 2.0]).is_err());
        assert!(index.distances(&[1.0]).is_err());
    }

    #[test]
    fn udf_sampling_is_deterministic() {
        let cloud = random_cloud(300, 9);
        let s = UdfSampler::default();
        let a = s.sample(&cloud, 777, 5).unwrap();
        let b = s.sample(&cloud, 777, 5).unwrap();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a.0), bits(&b.0));
        assert_eq!(bits(&a.1), bits(&b.1));
        let c = s.sample(&cloud, 777, 6).unwrap();
        assert_ne!(bits(&a.0), bits(&c.0));
        assert_ne!(mix_seed(1, 0), mix_seed(1, 1));
        assert_ne!(mix_seed(1, 0), mix_seed(2, 0));
        assert_eq!(mix_seed(3, 4), mix_seed(3, 4));
    }

    #[test]
    fn udf_sampler_config() {
        let s: UdfSampler = serde_json::from_str(r#"{"clamp": 0.2}"#).unwrap();
        assert_eq!(
            s,
            UdfSampler {
                clamp: 0.2,
                ..UdfSampler::default()
            }
        );
        let json = serde_json::to_string(&UdfSampler::default()).unwrap();
        assert_eq!(
            serde_json::from_str::<UdfSampler>(&json).unwrap(),
            UdfSampler::default()
        );
        let cloud = random_cloud(10, 1);
        for bad in [
            UdfSampler {
                sigmas: vec![],
                ..UdfSampler::default()
            },
            UdfSampler {
                sigmas: vec![0.0],
                ..UdfSampler::default()
            },
            UdfSampler {
                uniform_fraction: 1.5,
                ..UdfSampler::default()
            },
            UdfSampler {
                clamp: -1.0,
                ..UdfSampler::default()
            },
            UdfSampler {
                bound: f32::NAN,
                ..UdfSampler::default()
            },
        ] {
            assert!(bad.sample(&cloud, 10, 0).is_err(), "{bad:?}");
        }
        let all_uniform = UdfSampler {
            sigmas: vec![],
            uniform_fraction: 1.0,
            ..UdfSampler::default()
        };
        let (coords, _) = all_uniform.sample(&cloud, 10, 0).unwrap();
        assert!(coords.iter().all(|v| v.abs() <= 1.1));
        assert_eq!(
            UdfSampler::default().sample(&cloud, 0, 0).unwrap(),
            (vec![], vec![])
        );
    }

    #[test]
    fn chamfer_of_identical_and_shifted_sets() {
        let a = random_cloud(400, 11);
        assert_eq!(chamfer_distance(&a, &a).unwrap(), 0.0);
        // A shift much smaller than the spacing: every nearest neighbour is the shifted twin.
        let shift = 1e-3f32;
        let b: Vec<f32> = a
            .iter()
            .enumerate()
            .map(|(k, &v)| if k % 3 == 0 { v + shift } else { v })
            .collect();
        let d = chamfer_distance(&a, &b).unwrap();
        assert!((d - shift as f64).abs() < 1e-5, "{d}");
        // A translated single point: exactly the shift length.
        let d = chamfer_distance(&[0.0, 0.0, 0.0], &[0.3, 0.4, 0.0]).unwrap();
        assert!((d - 0.5).abs() < 1e-6, "{d}");
        // Asymmetric sets: the mean of both directions.
        let d = chamfer_distance(&[0.0, 0.0, 0.0], &[0.0, 0.0, 0.0, 1.0, 0.0, 0.0]).unwrap();
        assert!((d - 0.25).abs() < 1e-9, "{d}");
        let e = format!("{:#}", chamfer_distance(&a, &[]).unwrap_err());
        assert!(e.contains("second point set") && e.contains("empty"), "{e}");
    }

    /// The exact UDF of the unit sphere, optionally clamped.
    fn sphere_udf(clamp: f32) -> impl Fn(&[f32]) -> Vec<f32> + Copy {
        move |q: &[f32]| {
            q.chunks_exact(3)
                .map(|p| {
                    (((p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt() - 1.0).abs()).min(clamp)
                })
                .collect()
        }
    }

    #[test]
    fn surface_points_are_uniform_over_the_shell() {
        let eval = sphere_udf(0.1);
        let eps = 0.02;
        let search = SurfaceSearch::default();
        let found = search.run(eval, 2048, eps, 1).unwrap();
        assert_eq!(found.points.len(), 2048 * 3);
        assert!(eval(&found.points).iter().all(|&u| u < eps));
        // The pruning pass keeps a band around the sphere (|r − 1| < ε + 0.06: 19 % of the
        // cube) in which 1 in 4 candidates is accepted.
        assert!(found.kept_volume < 0.25, "{}", found.kept_volume);
        assert!(found.evaluated < 50_000, "{}", found.evaluated);
        // Uniform over the shell: |r − 1| is uniform in [0, ε), octants equally filled.
        let radial: f64 = eval(&found.points).iter().map(|&u| u as f64).sum::<f64>() / 2048.0;
        assert!((radial - 0.01).abs() < 0.001, "mean |r - 1| = {radial}");
        let mut octants = [0usize; 8];
        for p in found.points.chunks_exact(3) {
            octants
                [(p[0] > 0.0) as usize * 4 + (p[1] > 0.0) as usize * 2 + (p[2] > 0.0) as usize] +=
                1;
        }
        assert!(
            octants.iter().all(|&c| (196..=316).contains(&c)),
            "{octants:?}"
        );
        // As close to a dense sampling of the sphere as plain rejection sampling gets.
        let dense = sphere_cloud(8192, 2);
        let d = chamfer_distance(&dense, &found.points).unwrap();
        let plain = SurfaceSearch {
            grid: 0,
            ..SurfaceSearch::default()
        };
        let rejection = plain.run(eval, 2048, eps, 2).unwrap();
        assert!(rejection.evaluated > 35_000, "{}", rejection.evaluated);
        let d_rejection = chamfer_distance(&dense, &rejection.points).unwrap();
        assert!(
            (d - d_rejection).abs() < 0.05 * d_rejection,
            "{d} vs {d_rejection}"
        );
        // Reproducible.
        assert_eq!(search.run(eval, 2048, eps, 1).unwrap(), found);
        assert_eq!(
            surface_points_from_udf(eval, 2048, eps, 1).unwrap(),
            found.points
        );
        // A clamp below the pruning reach keeps every cell: slower, still correct.
        let low_clamp = search.run(sphere_udf(0.05), 512, eps, 1).unwrap();
        assert_eq!(low_clamp.kept_volume, 1.0);
        assert!(eval(&low_clamp.points).iter().all(|&u| u < eps));
    }

    #[test]
    fn surface_search_errors_and_budget() {
        let far = |q: &[f32]| vec![1.0; q.len() / 3];
        let e = format!(
            "{:#}",
            surface_points_from_udf(far, 10, 0.01, 0).unwrap_err()
        );
        assert!(e.contains("no point of") && e.contains("UDF < 0.01"), "{e}");
        let plain = SurfaceSearch {
            grid: 0,
            max_evaluations: 50_000,
            ..SurfaceSearch::default()
        };
        let e = format!("{:#}", plain.run(far, 10, 0.01, 0).unwrap_err());
        assert!(
            e.contains("no point with UDF < 0.01 among 50000 evaluations"),
            "{e}"
        );
        let e = format!(
            "{:#}",
            surface_points_from_udf(|_| vec![0.0], 10, 0.01, 0).unwrap_err()
        );
        assert!(e.contains("returned 1 values"), "{e}");
        let zero = |q: &[f32]| vec![0.0; q.len() / 3];
        assert!(surface_points_from_udf(zero, 0, 0.01, 0).is_err());
        assert!(surface_points_from_udf(zero, 1, 0.0, 0).is_err());
        assert!(surface_points_from_udf(|q| vec![f32::NAN; q.len() / 3], 1, 0.1, 0).is_err());
        for bad in [
            SurfaceSearch {
                max_evaluations: 32 * 32 * 32,
                ..SurfaceSearch::default()
            },
            SurfaceSearch {
                lipschitz: 0.0,
                ..SurfaceSearch::default()
            },
            SurfaceSearch {
                batch: 0,
                ..SurfaceSearch::default()
            },
            SurfaceSearch {
                bound: -1.0,
                ..SurfaceSearch::default()
            },
        ] {
            assert!(bad.run(zero, 1, 0.1, 0).is_err(), "{bad:?}");
        }
        // A budget too small for n_points: fewer points, no error.
        let search = SurfaceSearch {
            grid: 0,
            batch: 100,
            max_evaluations: 300,
            ..SurfaceSearch::default()
        };
        let found = search
            .run(
                |q| q.chunks_exact(3).map(|p| p[0].abs()).collect(),
                10_000,
                0.05,
                0,
            )
            .unwrap();
        assert_eq!(found.evaluated, 300);
        assert!(!found.points.is_empty() && found.points.len() < 300 * 3);
        assert!(found.points.chunks_exact(3).all(|p| p[0].abs() < 0.05));
    }

    /// Reads real ModelNet40 files when the shared data folder is present (not in CI):
    /// `$HYPERINR_MODELNET40`, or `../shared/data/modelnet40` beside the workspace.
    #[test]
    fn real_modelnet40_if_present() {
        let root = std::env::var_os("HYPERINR_MODELNET40")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/modelnet40")
            });
        if !root.join("airplane").is_dir() {
            println!(
                "note: {} absent; skipping the real-data check",
                root.display()
            );
            return;
        }
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
        let test = load_point_clouds(&root, CloudSplit::Test, Some(&MODELNET10_CLASSES)).unwrap();
        assert_eq!(test.len(), 908);
        assert_eq!(test.class_names, MODELNET10_CLASSES);
        assert_eq!(test.uniform_point_count(), Some(1024));
        assert_eq!(
            test.class_counts(),
            [50, 100, 100, 86, 86, 100, 86, 100, 100, 100]
        );
        // Two shapes of different classes are far apart compared with the UDF clamp.
        let d = chamfer_distance(test.cloud(0), test.cloud(test.len() - 1)).unwrap();
        assert!(d > 0.1, "{d}");
        let (coords, udf) = UdfSampler::default()
            .sample(test.cloud(0), 4096, 0)
            .unwrap();
        assert_eq!((coords.len(), udf.len()), (4096 * 3, 4096));
    }
}

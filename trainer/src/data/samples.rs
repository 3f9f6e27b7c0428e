//! What the INR stage fits, images and shapes alike: labelled samples, each a function
//! observed at coordinates.
//!
//! Training, test-time fitting, the classifier and export only see [`Samples`]: a batch of
//! rows becomes coordinates (`[b, in, m]`, feature-major, or one grid shared by the batch)
//! and targets (`[b, out, m]`). Images are observed on their fixed pixel grid; shapes at
//! query points drawn afresh for every `draw` (the epoch in training, the step in fitting)
//! with their clamped unsigned distance to the cloud as target. 2D and 3D differ only here.

use crate::geometry::{CloudIndex, UdfSampler};
use anyhow::{anyhow, bail, Result};
use burn::config::Config;
use hyperinr_data::clouds::{
    load_point_clouds, load_source_clouds, split_validation, PointCloudSet, MODELNET10_CLASSES,
};
use hyperinr_data::fashion::{load_fashion_mnist, ImageSet, FASHION_CLASSES};
use hyperinr_data::Split;
use hyperinr_shared::QuerySampler;
use std::path::Path;

/// The datasets the CLI knows.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
#[clap(rename_all = "kebab-case")]
pub enum DatasetKind {
    /// FashionMNIST, official IDX files (plain or .gz).
    FashionMnist,
    /// ModelNet40 point clouds, per-class `.npy` layout.
    Modelnet40,
    /// The 10 ModelNet10 classes of a ModelNet40 folder.
    Modelnet10,
    /// Any per-class `.npy` folder (e.g. PointDA-10's ShapeNet-10 / ScanNet-10).
    Pointda,
}

impl DatasetKind {
    /// The name stored in model files (`ModelConfig::dataset`).
    pub fn name(self) -> &'static str {
        match self {
            DatasetKind::FashionMnist => "fashion-mnist",
            DatasetKind::Modelnet40 => "modelnet40",
            DatasetKind::Modelnet10 => "modelnet10",
            DatasetKind::Pointda => "pointda",
        }
    }

    /// The kind a model file's dataset name stands for.
    pub fn from_name(name: &str) -> Result<Self> {
        [
            DatasetKind::FashionMnist,
            DatasetKind::Modelnet40,
            DatasetKind::Modelnet10,
            DatasetKind::Pointda,
        ]
        .into_iter()
        .find(|k| k.name() == name)
        .ok_or_else(|| anyhow!("unknown dataset `{name}`"))
    }

    /// `true` for the point-cloud datasets.
    pub fn is_shapes(self) -> bool {
        self != DatasetKind::FashionMnist
    }

    /// The classes of the dataset folder to load: ModelNet10 is 10 classes of a ModelNet40
    /// folder; the others take every class folder.
    pub fn class_filter(self) -> Option<&'static [&'static str]> {
        match self {
            DatasetKind::Modelnet10 => Some(&MODELNET10_CLASSES),
            _ => None,
        }
    }

    /// SIREN input width: 2 (pixel coordinates) or 3 (points).
    pub fn in_dim(self) -> usize {
        if self.is_shapes() {
            3
        } else {
            2
        }
    }
}

/// How shapes are observed: query points per shape and step, and the UDF target.
#[derive(Config, Debug, PartialEq)]
pub struct UdfConfig {
    /// Query points per shape in one step.
    #[config(default = 2048)]
    pub queries: usize,
    /// Standard deviations of near-surface queries (unit-sphere units).
    #[config(default = "vec![0.01, 0.03, 0.1]")]
    pub sigmas: Vec<f32>,
    /// Share of queries uniform in the cube.
    #[config(default = 0.2)]
    pub uniform_fraction: f32,
    /// Half the side of that cube.
    #[config(default = 1.1)]
    pub bound: f32,
    /// Distances above this are clamped (also stored in the model file).
    #[config(default = 0.1)]
    pub clamp: f32,
}

impl UdfConfig {
    /// The sampler this configuration describes.
    pub fn sampler(&self) -> UdfSampler {
        UdfSampler {
            sigmas: self.sigmas.clone(),
            uniform_fraction: self.uniform_fraction,
            bound: self.bound,
            clamp: self.clamp,
        }
    }

    /// The sampler as the model file records it (`InputKind::PointCloud`); the file holds
    /// exactly three σ, which the runtime's `udf_queries` takes in turn as the trainer does.
    pub fn query_sampler(&self) -> Result<QuerySampler> {
        let sigmas: [f32; 3] = self.sigmas.as_slice().try_into().map_err(|_| {
            anyhow!(
                "the model file records exactly three near-surface σ, this run has {} ({:?})",
                self.sigmas.len(),
                self.sigmas
            )
        })?;
        Ok(QuerySampler {
            sigmas,
            uniform_fraction: self.uniform_fraction,
            bound: self.bound,
        })
    }

    /// This configuration with `sampler`'s σ, uniform share and bound.
    pub fn with_query_sampler(self, sampler: &QuerySampler) -> Self {
        UdfConfig {
            sigmas: sampler.sigmas.to_vec(),
            uniform_fraction: sampler.uniform_fraction,
            bound: sampler.bound,
            ..self
        }
    }
}

/// Point clouds with their k-d trees and the UDF sampler that observes them.
pub struct ShapeSet {
    /// The clouds, labels and dataset indices.
    pub clouds: PointCloudSet,
    index: Vec<CloudIndex>,
    /// How queries are drawn.
    pub udf: UdfConfig,
    sampler: UdfSampler,
    /// Base seed of the query streams.
    pub seed: u64,
}

impl ShapeSet {
    /// Builds the k-d trees of `clouds`.
    pub fn new(clouds: PointCloudSet, udf: UdfConfig, seed: u64) -> Result<Self> {
        let sampler = udf.sampler();
        sampler.validate()?;
        let index = clouds
            .clouds
            .iter()
            .zip(&clouds.paths)
            .map(|(c, p)| CloudIndex::new(c).map_err(|e| anyhow!("{}: {e}", p.display())))
            .collect::<Result<Vec<_>>>()?;
        Ok(ShapeSet {
            clouds,
            index,
            udf,
            sampler,
            seed,
        })
    }

    /// Query points (`m × 3`, point-major) and clamped distances of shape `row` for `draw`.
    /// The stream depends on the shape's dataset index, not on its position in a batch.
    pub fn queries(&self, row: usize, draw: u64) -> Result<(Vec<f32>, Vec<f32>)> {
        let stream = crate::geometry::mix_seed(
            crate::geometry::mix_seed(self.seed, self.clouds.indices[row] as u64),
            draw,
        );
        self.sampler
            .sample_with_index(&self.index[row], self.udf.queries, stream)
    }

    /// The shapes at `rows`, sharing this set's sampler and seed.
    pub fn select(&self, rows: &[usize]) -> Result<ShapeSet> {
        ShapeSet::new(self.clouds.select(rows), self.udf.clone(), self.seed)
    }
}

/// A batch's observations.
pub struct Observations {
    /// `[b, in, m]` feature-major coordinates, or `None` when the set's shared grid applies.
    pub coords: Option<Vec<f32>>,
    /// `[b, out, m]` targets.
    pub targets: Vec<f32>,
    /// Points per sample, `m`.
    pub points: usize,
}

/// The samples of one split of one dataset.
pub enum Samples {
    /// Grayscale images on their pixel grid; targets are intensities in `[0, 1]`.
    Images(ImageSet),
    /// Shapes observed through their unsigned distance field.
    Shapes(ShapeSet),
}

impl Samples {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels().len()
    }

    /// `true` when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One label per sample.
    pub fn labels(&self) -> &[u8] {
        match self {
            Samples::Images(s) => &s.labels,
            Samples::Shapes(s) => &s.clouds.labels,
        }
    }

    /// Each sample's index in its split (dataset order).
    pub fn indices(&self) -> &[u32] {
        match self {
            Samples::Images(s) => &s.indices,
            Samples::Shapes(s) => &s.clouds.indices,
        }
    }

    /// SIREN input width.
    pub fn in_dim(&self) -> usize {
        match self {
            Samples::Images(_) => 2,
            Samples::Shapes(_) => 3,
        }
    }

    /// Hex SHA-256 of the data as read (stored as the model's provenance).
    pub fn sha256(&self) -> String {
        match self {
            Samples::Images(s) => s.sha256(),
            Samples::Shapes(s) => s.clouds.sha256(),
        }
    }

    /// The pixel grid shared by every image (`[in, m]` feature-major, `m`), if any.
    pub fn shared_coords(&self) -> Option<(Vec<f32>, usize)> {
        match self {
            Samples::Images(s) => Some((
                crate::model::image_coord_values(s.width, s.height),
                s.pixel_count(),
            )),
            Samples::Shapes(_) => None,
        }
    }

    /// Observations of `rows` for `draw` (ignored by images, whose grid is fixed).
    pub fn observe(&self, rows: &[usize], draw: u64) -> Result<Observations> {
        match self {
            Samples::Images(s) => Ok(Observations {
                coords: None,
                targets: rows
                    .iter()
                    .flat_map(|&r| s.image(r).iter().map(|&p| p as f32 / 255.0))
                    .collect(),
                points: s.pixel_count(),
            }),
            Samples::Shapes(s) => observe_shapes(s, rows, draw),
        }
    }

    /// The samples at `rows`, in that order.
    pub fn select(&self, rows: &[usize]) -> Result<Samples> {
        Ok(match self {
            Samples::Images(s) => {
                let n = s.pixel_count();
                Samples::Images(ImageSet {
                    width: s.width,
                    height: s.height,
                    pixels: rows
                        .iter()
                        .flat_map(|&i| s.pixels[i * n..(i + 1) * n].iter().copied())
                        .collect(),
                    labels: rows.iter().map(|&i| s.labels[i]).collect(),
                    indices: rows.iter().map(|&i| s.indices[i]).collect(),
                })
            }
            Samples::Shapes(s) => Samples::Shapes(s.select(rows)?),
        })
    }

    /// The first `n` samples (all when `n` is 0 or larger than the set).
    pub fn take(&self, n: usize) -> Result<Samples> {
        let n = if n == 0 {
            self.len()
        } else {
            n.min(self.len())
        };
        self.select(&(0..n).collect::<Vec<_>>())
    }
}

/// Draws the queries of several shapes on all cores (k-d tree lookups dominate), then lays
/// them out feature-major.
fn observe_shapes(s: &ShapeSet, rows: &[usize], draw: u64) -> Result<Observations> {
    let m = s.udf.queries;
    let threads = std::thread::available_parallelism()
        .map(|v| v.get())
        .unwrap_or(1)
        .min(rows.len().max(1));
    let chunk = rows.len().div_ceil(threads).max(1);
    type Drawn = Vec<(Vec<f32>, Vec<f32>)>;
    let parts: Vec<Result<Drawn>> = std::thread::scope(|scope| {
        let handles: Vec<_> = rows
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(|&r| s.queries(r, draw)).collect()))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow!("sampler panicked")))
            })
            .collect()
    });
    let mut coords = Vec::with_capacity(rows.len() * 3 * m);
    let mut targets = Vec::with_capacity(rows.len() * m);
    for part in parts {
        for (points, dist) in part? {
            for axis in 0..3 {
                coords.extend(points.chunks_exact(3).map(|p| p[axis]));
            }
            targets.extend(dist);
        }
    }
    Ok(Observations {
        coords: Some(coords),
        targets,
        points: m,
    })
}

/// `n` fixed points spread over `[-1, 1]³` (an additive-recurrence low-discrepancy
/// pattern), point-major: golden-vector coordinates of shape models and the probes at which
/// two shape reconstructions are compared.
pub fn cube_probes(n: usize) -> Vec<f32> {
    (0..n as u32)
        .flat_map(|k| {
            [0.618_034f32, 0.754_877_7, 0.569_840_3]
                .map(|a| ((k as f32 + 0.5) * a).fract() * 2.0 - 1.0)
        })
        .collect()
}

/// The class names of a dataset folder (in label order).
pub fn class_names(samples: &Samples) -> Vec<String> {
    match samples {
        Samples::Images(_) => FASHION_CLASSES.iter().map(|s| s.to_string()).collect(),
        Samples::Shapes(s) => s.clouds.class_names.clone(),
    }
}

/// Loads split `split` of `kind` from `data` (the first `limit` samples; 0 = all). For shapes,
/// `Train` is the training folder minus the last 10 % of each class, `Val` that 10 %.
pub fn load_samples(
    kind: DatasetKind,
    data: &Path,
    split: Split,
    limit: usize,
    udf: &UdfConfig,
    seed: u64,
) -> Result<Samples> {
    let samples = match kind {
        DatasetKind::FashionMnist => Samples::Images(load_fashion_mnist(data, split)?),
        _ => {
            let set = load_point_clouds(data, split, kind.class_filter())?;
            Samples::Shapes(ShapeSet::new(set, udf.clone(), seed)?)
        }
    };
    let samples = if limit > 0 {
        samples.take(limit)?
    } else {
        samples
    };
    if samples.is_empty() {
        bail!("{}: split {split:?} has no samples", data.display());
    }
    Ok(samples)
}

/// A run's training samples: the train split, then with `with_val` its val hold-out too
/// (φ trained on every training file once the recipe is fixed). Returns the samples and how
/// many of them, from the front, are the train split's. Val rows are indexed after the train
/// rows (`train count + val index`), so that every row keeps a query stream of its own and the
/// train rows the same streams as without val.
pub fn load_training_samples(
    kind: DatasetKind,
    data: &Path,
    with_val: bool,
    limit: usize,
    udf: &UdfConfig,
    seed: u64,
) -> Result<(Samples, usize)> {
    if !with_val {
        let samples = load_samples(kind, data, Split::Train, limit, udf, seed)?;
        let n = samples.len();
        return Ok((samples, n));
    }
    if limit > 0 {
        bail!("--limit {limit} and --with-val: a limited run trains on part of the train split only; drop one of them");
    }
    Ok(match kind {
        DatasetKind::FashionMnist => {
            let mut set = load_fashion_mnist(data, Split::Train)?;
            let val = load_fashion_mnist(data, Split::Val)?;
            let n = set.len();
            set.pixels.extend_from_slice(&val.pixels);
            set.labels.extend_from_slice(&val.labels);
            set.indices
                .extend(val.indices.iter().map(|&i| n as u32 + i));
            (Samples::Images(set), n)
        }
        _ => {
            // The training files read once, then cut as `load_point_clouds` cuts them.
            let files = load_source_clouds(data, Split::Train, kind.class_filter())?;
            let (mut set, val) = split_validation(&files);
            let n = set.len();
            set.clouds.extend(val.clouds);
            set.labels.extend_from_slice(&val.labels);
            set.paths.extend(val.paths);
            set.indices
                .extend(val.indices.iter().map(|&i| n as u32 + i));
            (Samples::Shapes(ShapeSet::new(set, udf.clone(), seed)?), n)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn the_file_records_the_runs_sampler_and_gives_it_back() {
        let run = UdfConfig::new()
            .with_uniform_fraction(0.8)
            .with_clamp(0.2)
            .with_queries(1024);
        let sampler = run.query_sampler().unwrap();
        assert_eq!(sampler.sigmas, [0.01, 0.03, 0.1]);
        assert_eq!((sampler.uniform_fraction, sampler.bound), (0.8, 1.1));
        // The default run records the default sampler (written as before: variant 1).
        assert_eq!(
            UdfConfig::new().query_sampler().unwrap(),
            QuerySampler::DEFAULT
        );
        // Read back onto another configuration, the query count and clamp stay its own.
        let back = UdfConfig::new().with_query_sampler(&sampler);
        assert_eq!(back.sigmas, run.sigmas);
        assert_eq!(back.uniform_fraction, 0.8);
        assert_eq!((back.queries, back.clamp), (2048, 0.1));
        // The file holds three σ; another count is refused, naming it.
        let err = UdfConfig::new()
            .with_sigmas(vec![0.01, 0.1])
            .query_sampler()
            .unwrap_err()
            .to_string();
        assert!(err.contains("three") && err.contains("has 2"), "{err}");
    }

    fn shapes() -> Samples {
        let cloud = |s: f32| -> Vec<f32> {
            (0..64)
                .flat_map(|k| {
                    let t = k as f32 / 64.0 * std::f32::consts::TAU;
                    [s * t.cos(), s * t.sin(), 0.1 * s]
                })
                .collect()
        };
        let set = PointCloudSet {
            clouds: vec![cloud(0.5), cloud(0.9), cloud(0.7)],
            labels: vec![0, 1, 1],
            class_names: vec!["a".into(), "b".into()],
            paths: vec![
                PathBuf::from("a.npy"),
                PathBuf::from("b.npy"),
                PathBuf::from("c.npy"),
            ],
            indices: vec![0, 1, 2],
        };
        Samples::Shapes(ShapeSet::new(set, UdfConfig::new().with_queries(40), 7).unwrap())
    }

    #[test]
    fn images_are_observed_on_their_grid() {
        let images = Samples::Images(ImageSet {
            width: 2,
            height: 2,
            pixels: vec![0, 255, 51, 102, 1, 2, 3, 4],
            labels: vec![3, 4],
            indices: vec![0, 1],
        });
        let obs = images.observe(&[1, 0], 99).unwrap();
        assert!(obs.coords.is_none());
        assert_eq!(obs.points, 4);
        let expect: Vec<f32> = [1u8, 2, 3, 4, 0, 255, 51, 102]
            .iter()
            .map(|&p| p as f32 / 255.0)
            .collect();
        assert_eq!(obs.targets, expect);
        let (grid, m) = images.shared_coords().unwrap();
        assert_eq!(m, 4);
        // x row then y row; pixel centres of a 2-wide image are ±0.5.
        assert_eq!(grid, vec![-0.5, 0.5, -0.5, 0.5, -0.5, -0.5, 0.5, 0.5]);
    }

    #[test]
    fn shapes_are_observed_feature_major_with_true_distances() {
        let s = shapes();
        let Samples::Shapes(set) = &s else {
            unreachable!()
        };
        let obs = s.observe(&[2, 0], 3).unwrap();
        let coords = obs.coords.unwrap();
        let m = obs.points;
        assert_eq!(
            (m, coords.len(), obs.targets.len()),
            (40, 2 * 3 * 40, 2 * 40)
        );
        // Sample 0 of the batch is shape 2: its points, transposed, with its distances.
        let (points, dist) = set.queries(2, 3).unwrap();
        for j in 0..m {
            for axis in 0..3 {
                assert_eq!(coords[axis * m + j], points[3 * j + axis]);
            }
            assert_eq!(obs.targets[j], dist[j]);
            // The target is the clamped distance to the nearest point of shape 2.
            let cloud = set.clouds.cloud(2);
            let nearest = cloud
                .chunks_exact(3)
                .map(|c| {
                    ((c[0] - points[3 * j]).powi(2)
                        + (c[1] - points[3 * j + 1]).powi(2)
                        + (c[2] - points[3 * j + 2]).powi(2))
                    .sqrt()
                })
                .fold(f32::MAX, f32::min);
            assert!((dist[j] - nearest.min(0.1)).abs() < 1e-6);
        }
    }

    #[test]
    fn shape_queries_depend_on_shape_and_draw_only() {
        let s = shapes();
        let a = s.observe(&[0, 1], 5).unwrap();
        let b = s.observe(&[1], 5).unwrap();
        // Shape 1's draw is the same whether or not shape 0 is in the batch.
        assert_eq!(a.targets[40..], b.targets[..]);
        assert_eq!(s.observe(&[0, 1], 5).unwrap().targets, a.targets);
        assert_ne!(s.observe(&[0, 1], 6).unwrap().targets, a.targets);
        // Selecting keeps dataset indices, hence the streams.
        let picked = s.select(&[1]).unwrap();
        assert_eq!(picked.observe(&[0], 5).unwrap().targets, b.targets);
    }

    #[test]
    fn training_on_val_too_appends_val_with_streams_of_its_own() {
        let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/modelnet10-subset");
        let udf = UdfConfig::new().with_queries(64);
        let kind = DatasetKind::Modelnet10;
        let (train, n) = load_training_samples(kind, &data, false, 0, &udf, 3).unwrap();
        assert_eq!(n, train.len());
        let val = load_samples(kind, &data, Split::Val, 0, &udf, 3).unwrap();
        let (all, cut) = load_training_samples(kind, &data, true, 0, &udf, 3).unwrap();
        assert_eq!((cut, all.len()), (n, n + val.len()));
        assert_eq!(&all.labels()[..n], train.labels());
        assert_eq!(&all.labels()[n..], val.labels());
        // Val rows are indexed after the train rows, so no two rows share an index (a
        // query stream), and the train rows keep theirs.
        let want: Vec<u32> = (0..all.len() as u32).collect();
        assert_eq!(all.indices(), &want[..]);
        let (Samples::Shapes(all), Samples::Shapes(train)) = (&all, &train) else {
            panic!("shapes expected")
        };
        for row in [0, n - 1] {
            assert_eq!(all.queries(row, 2).unwrap(), train.queries(row, 2).unwrap());
        }
        // The first val shape is the val split's first cloud, on a stream of its own.
        let Samples::Shapes(val) = &val else {
            panic!("shapes expected")
        };
        assert_eq!(all.clouds.cloud(n), val.clouds.cloud(0));
        assert_ne!(all.queries(n, 2).unwrap(), all.queries(0, 2).unwrap());
        assert_ne!(all.queries(n, 2).unwrap(), val.queries(0, 2).unwrap());
        let Err(err) = load_training_samples(kind, &data, true, 5, &udf, 3) else {
            panic!("--limit with --with-val was accepted")
        };
        assert!(err.to_string().contains("--with-val"), "{err}");
    }

    #[test]
    fn dataset_names_round_trip() {
        for k in [
            DatasetKind::FashionMnist,
            DatasetKind::Modelnet40,
            DatasetKind::Modelnet10,
            DatasetKind::Pointda,
        ] {
            assert_eq!(DatasetKind::from_name(k.name()).unwrap(), k);
        }
        assert!(DatasetKind::from_name("mnist").is_err());
    }
}

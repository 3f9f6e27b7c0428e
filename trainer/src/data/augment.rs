//! Training-set augmentation for shapes: more training latents for the classifier from the
//! same training shapes (`hyperinr fit --split train --augment K`).
//!
//! A copy of a cloud is rotated about the up axis (z in the ModelNet folders), scaled per
//! axis and jittered point by point; its label stays the shape's. The shapes of ModelNet are
//! upright but not all turned the same way about z, which is what the rotation covers; the
//! small anisotropic scale and the jitter stand for the spread of proportions and sampling
//! between shapes of one class. Every copy is reproducible from the seed, the copy number and
//! the shape's dataset index.

use crate::geometry::mix_seed;
use anyhow::{ensure, Result};
use hyperinr_data::clouds::PointCloudSet;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

/// How one augmented copy of a cloud is drawn.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CloudAugment {
    /// Rotation about z: an angle uniform in `[-rotate_deg, rotate_deg]` degrees.
    pub rotate_deg: f32,
    /// Scale of each axis: a factor uniform in `[1 − scale, 1 + scale]`.
    pub scale: f32,
    /// Per-point Gaussian noise (standard deviation per coordinate), cut off at 3σ.
    pub jitter: f32,
}

impl CloudAugment {
    /// Checks the settings: finite, rotation within ±180°, scale below 1, jitter ≥ 0.
    pub fn validate(&self) -> Result<()> {
        ensure!(
            self.rotate_deg.is_finite() && (0.0..=180.0).contains(&self.rotate_deg),
            "augmentation: rotation {}° must be within 0..=180",
            self.rotate_deg
        );
        ensure!(
            self.scale.is_finite() && (0.0..1.0).contains(&self.scale),
            "augmentation: scale {} must be within 0..1",
            self.scale
        );
        ensure!(
            self.jitter.is_finite() && self.jitter >= 0.0,
            "augmentation: jitter {} must be finite and not negative",
            self.jitter
        );
        Ok(())
    }

    /// One augmented copy of `cloud` (`N × 3`) drawn from `seed`.
    pub fn apply(&self, cloud: &[f32], seed: u64) -> Vec<f32> {
        let mut rng = StdRng::seed_from_u64(seed);
        let angle = if self.rotate_deg > 0.0 {
            rng.random_range(-self.rotate_deg..=self.rotate_deg)
                .to_radians()
        } else {
            0.0
        };
        let (sin, cos) = angle.sin_cos();
        let mut factor = [1.0f32; 3];
        if self.scale > 0.0 {
            for f in &mut factor {
                *f = rng.random_range(1.0 - self.scale..=1.0 + self.scale);
            }
        }
        let mut out = Vec::with_capacity(cloud.len());
        for p in cloud.chunks_exact(3) {
            let rotated = [cos * p[0] - sin * p[1], sin * p[0] + cos * p[1], p[2]];
            for (v, f) in rotated.iter().zip(factor) {
                let noise = if self.jitter > 0.0 {
                    let n: f32 = rng.sample(StandardNormal);
                    self.jitter * n.clamp(-3.0, 3.0)
                } else {
                    0.0
                };
                out.push(v * f + noise);
            }
        }
        out
    }

    /// `copies` augmented copies of every cloud of `set`, copy after copy (copy `k` of shape
    /// `i` is row `k · len + i`), with the shapes' labels, paths and dataset indices.
    pub fn augment_set(
        &self,
        set: &PointCloudSet,
        copies: usize,
        seed: u64,
    ) -> Result<PointCloudSet> {
        self.validate()?;
        ensure!(copies >= 1, "augmentation: at least one copy");
        let mut out = PointCloudSet {
            clouds: Vec::with_capacity(set.len() * copies),
            labels: Vec::with_capacity(set.len() * copies),
            class_names: set.class_names.clone(),
            paths: Vec::with_capacity(set.len() * copies),
            indices: Vec::with_capacity(set.len() * copies),
        };
        for k in 0..copies {
            let copy_seed = mix_seed(seed, k as u64);
            for i in 0..set.len() {
                out.clouds
                    .push(self.apply(set.cloud(i), mix_seed(copy_seed, set.indices[i] as u64)));
                out.labels.push(set.labels[i]);
                out.paths.push(set.paths[i].clone());
                out.indices.push(set.indices[i]);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn set() -> PointCloudSet {
        let cloud = |s: f32| -> Vec<f32> {
            (0..50)
                .flat_map(|k| {
                    let t = k as f32 * 0.37;
                    [s * t.cos(), 0.5 * s * t.sin(), 0.02 * k as f32 - 0.5]
                })
                .collect()
        };
        PointCloudSet {
            clouds: vec![cloud(0.9), cloud(0.4)],
            labels: vec![3, 1],
            class_names: vec!["a".into(), "b".into(), "c".into(), "d".into()],
            paths: vec![PathBuf::from("x.npy"), PathBuf::from("y.npy")],
            indices: vec![17, 4],
        }
    }

    fn radius_xy(p: &[f32]) -> f32 {
        (p[0] * p[0] + p[1] * p[1]).sqrt()
    }

    #[test]
    fn rotation_about_up_keeps_heights_and_distances_to_the_axis() {
        let s = set();
        let aug = CloudAugment {
            rotate_deg: 180.0,
            scale: 0.0,
            jitter: 0.0,
        };
        let a = aug.apply(s.cloud(0), 5);
        assert_eq!(a.len(), s.cloud(0).len());
        let mut moved = 0.0f32;
        for (p, q) in s.cloud(0).chunks_exact(3).zip(a.chunks_exact(3)) {
            assert_eq!(p[2], q[2]);
            assert!((radius_xy(p) - radius_xy(q)).abs() < 1e-5);
            moved = moved.max((p[0] - q[0]).abs() + (p[1] - q[1]).abs());
        }
        assert!(moved > 0.05, "the copy was not rotated: {moved}");
        // Pairwise distances are kept: a rigid motion.
        let d = |c: &[f32], i: usize, j: usize| {
            (0..3)
                .map(|k| (c[3 * i + k] - c[3 * j + k]).powi(2))
                .sum::<f32>()
                .sqrt()
        };
        assert!((d(s.cloud(0), 3, 40) - d(&a, 3, 40)).abs() < 1e-5);
        // Reproducible, and a different seed gives a different copy.
        assert_eq!(aug.apply(s.cloud(0), 5), a);
        assert_ne!(aug.apply(s.cloud(0), 6), a);
    }

    #[test]
    fn scale_and_jitter_stay_within_their_bounds() {
        let s = set();
        let aug = CloudAugment {
            rotate_deg: 0.0,
            scale: 0.1,
            jitter: 0.01,
        };
        for seed in 0..20 {
            let a = aug.apply(s.cloud(0), seed);
            for (p, q) in s.cloud(0).chunks_exact(3).zip(a.chunks_exact(3)) {
                for k in 0..3 {
                    // |q − p| ≤ |p|·scale + 3σ.
                    assert!(
                        (q[k] - p[k]).abs() <= p[k].abs() * 0.1 + 0.03 + 1e-6,
                        "{p:?} → {q:?}"
                    );
                }
            }
        }
        let none = CloudAugment {
            rotate_deg: 0.0,
            scale: 0.0,
            jitter: 0.0,
        };
        assert_eq!(none.apply(s.cloud(1), 3), s.cloud(1));
    }

    #[test]
    fn copies_keep_labels_and_indices_in_copy_order() {
        let s = set();
        let aug = CloudAugment {
            rotate_deg: 30.0,
            scale: 0.05,
            jitter: 0.005,
        };
        let a = aug.augment_set(&s, 3, 9).unwrap();
        assert_eq!(a.len(), 6);
        assert_eq!(a.labels, vec![3, 1, 3, 1, 3, 1]);
        assert_eq!(a.indices, vec![17, 4, 17, 4, 17, 4]);
        assert_eq!(a.paths[3], PathBuf::from("y.npy"));
        assert_eq!(a.class_names, s.class_names);
        // Copies differ from each other; the same seed rebuilds the same set.
        assert_ne!(a.cloud(0), a.cloud(2));
        assert_eq!(aug.augment_set(&s, 3, 9).unwrap().clouds, a.clouds);
        for bad in [
            CloudAugment {
                rotate_deg: 200.0,
                ..aug.clone()
            },
            CloudAugment {
                scale: 1.0,
                ..aug.clone()
            },
            CloudAugment {
                jitter: f32::NAN,
                ..aug.clone()
            },
        ] {
            assert!(bad.augment_set(&s, 1, 0).is_err(), "{bad:?}");
        }
        assert!(aug.augment_set(&s, 0, 0).is_err());
    }
}

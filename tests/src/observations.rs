//! Observations files (`*.hobs`, shared/FORMAT.md §7) cut from the in-repo subsets, for the
//! on-device fitting tests: what `hyperinr export-observations` writes for the same items.

use crate::firmware::workspace_root;
use hyperinr_data::clouds::{load_point_clouds, MODELNET10_CLASSES};
use hyperinr_data::fashion::load_fashion_mnist;
use hyperinr_data::Split;
use hyperinr_shared::observations::{encode_clouds, encode_images};

/// Test images `positions` of `data/fashion-mnist-subset` (its first 500 official test
/// images), fitted at the pixels `fitted` (empty: all).
pub fn fashion_mnist(positions: &[usize], fitted: &[u32]) -> Vec<u8> {
    let dir = workspace_root().join("data/fashion-mnist-subset");
    let set = load_fashion_mnist(&dir, Split::Test)
        .unwrap_or_else(|e| panic!("{}: {e:#}", dir.display()));
    let items: Vec<(u8, u32, &[u8])> = positions
        .iter()
        .map(|&i| (set.labels[i], set.indices[i], set.image(i)))
        .collect();
    encode_images(set.width as u32, set.height as u32, fitted, &items)
        .unwrap_or_else(|e| panic!("encoding observations: {e}"))
}

/// Test clouds `positions` of `data/modelnet10-subset` (3 per class, classes in label order).
pub fn modelnet10(positions: &[usize]) -> Vec<u8> {
    let dir = workspace_root().join("data/modelnet10-subset");
    let set = load_point_clouds(&dir, Split::Test, Some(&MODELNET10_CLASSES))
        .unwrap_or_else(|e| panic!("{}: {e:#}", dir.display()));
    let points = (set.cloud(positions[0]).len() / 3) as u32;
    let items: Vec<(u8, u32, &[f32])> = positions
        .iter()
        .map(|&i| (set.labels[i], set.indices[i], set.cloud(i)))
        .collect();
    encode_clouds(points, &items).unwrap_or_else(|e| panic!("encoding observations: {e}"))
}

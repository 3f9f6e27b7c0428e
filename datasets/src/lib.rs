//! The dataset readers of hyperinr, without burn.
//!
//! - [`fashion`]: FashionMNIST in the official IDX files (plain or gzip), its split into
//!   train / validation / test, and the maker of the in-repo subset.
//! - [`clouds`]: point-cloud datasets in the per-class layout `<root>/<class>/{train,test}/*.npy`
//!   (ModelNet40, its ModelNet10 classes, PointDA-10), validation hold-out, subsets.
//! - [`idx`], [`npy`]: the two file formats, each parser self-contained and fuzzed
//!   (`datasets/fuzz/`).
//! - [`split`]: the one split enum of the command line and the data.
//! - [`io`]: crash-safe writes (temp file, fsync, rename).
//!
//! Every error names the file and, inside a file, the byte offset of what is wrong.

pub mod clouds;
pub mod fashion;
pub mod idx;
pub mod io;
pub mod npy;
pub mod split;

pub use split::Split;

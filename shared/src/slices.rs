//! Typed views of little-endian arrays stored as byte strings in the payload.
//!
//! The payload stores every numeric array as a postcard byte string (varint length, then
//! raw bytes), and the reader borrows those bytes straight from the blob. Reading an
//! element decodes it from its bytes, so the blob needs no alignment (flash, `include_bytes!`,
//! a `Vec<u8>`: all work) and nothing is copied at parse time.

use serde::{Deserialize, Serialize};

/// An array of `f32`, 4 little-endian bytes each.
///
/// ```
/// use hyperinr_shared::F32Slice;
/// let bytes = [0, 0, 128, 63, 0, 0, 0, 192]; // 1.0, -2.0
/// let v = F32Slice::new(&bytes);
/// assert_eq!(v.len(), 2);
/// assert_eq!(v.get(1), Some(-2.0));
/// assert_eq!(v.iter().sum::<f32>(), -1.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct F32Slice<'a>(#[serde(borrow)] pub &'a [u8]);

/// An array of `i8`, one byte each (two's complement).
///
/// ```
/// use hyperinr_shared::I8Slice;
/// let v = I8Slice::new(&[0x7F, 0x81]);
/// assert_eq!(v.get(0), Some(127));
/// assert_eq!(v.get(1), Some(-127));
/// assert_eq!(v.get(2), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct I8Slice<'a>(#[serde(borrow)] pub &'a [u8]);

/// An array of `u32`, 4 little-endian bytes each.
///
/// ```
/// use hyperinr_shared::U32Slice;
/// let v = U32Slice::new(&[1, 0, 0, 0, 0, 1, 0, 0]);
/// assert_eq!(v.iter().collect::<Vec<_>>(), vec![1, 256]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct U32Slice<'a>(#[serde(borrow)] pub &'a [u8]);

fn word(chunk: &[u8]) -> [u8; 4] {
    // Callers pass chunks from `chunks_exact(4)`; the fallback is unreachable but keeps
    // this path free of panics.
    chunk.try_into().unwrap_or([0; 4])
}

impl<'a> F32Slice<'a> {
    /// Views `bytes` as little-endian `f32`s (a trailing partial word is ignored).
    pub const fn new(bytes: &'a [u8]) -> Self {
        Self(bytes)
    }
    /// The raw bytes.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
    /// Number of whole `f32` elements.
    pub const fn len(&self) -> usize {
        self.0.len() / 4
    }
    /// `true` when there is no element.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Element `i`, or `None` past the end.
    pub fn get(&self, i: usize) -> Option<f32> {
        let start = i.checked_mul(4)?;
        let bytes = self.0.get(start..start.checked_add(4)?)?;
        Some(f32::from_le_bytes(word(bytes)))
    }
    /// The elements in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = f32> + Clone + 'a {
        self.0.chunks_exact(4).map(|c| f32::from_le_bytes(word(c)))
    }
    /// Elements `start..start + len` as a sub-view, or `None` when out of range.
    pub fn sub(&self, start: usize, len: usize) -> Option<F32Slice<'a>> {
        let a = start.checked_mul(4)?;
        let b = a.checked_add(len.checked_mul(4)?)?;
        self.0.get(a..b).map(F32Slice)
    }
}

impl<'a> I8Slice<'a> {
    /// Views `bytes` as `i8`s.
    pub const fn new(bytes: &'a [u8]) -> Self {
        Self(bytes)
    }
    /// The raw bytes.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
    /// Number of elements.
    pub const fn len(&self) -> usize {
        self.0.len()
    }
    /// `true` when there is no element.
    pub const fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Element `i`, or `None` past the end.
    pub fn get(&self, i: usize) -> Option<i8> {
        self.0.get(i).map(|&b| b as i8)
    }
    /// The elements in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = i8> + Clone + 'a {
        self.0.iter().map(|&b| b as i8)
    }
    /// Elements `start..start + len` as a sub-view, or `None` when out of range.
    pub fn sub(&self, start: usize, len: usize) -> Option<I8Slice<'a>> {
        self.0.get(start..start.checked_add(len)?).map(I8Slice)
    }
}

impl<'a> U32Slice<'a> {
    /// Views `bytes` as little-endian `u32`s (a trailing partial word is ignored).
    pub const fn new(bytes: &'a [u8]) -> Self {
        Self(bytes)
    }
    /// The raw bytes.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
    /// Number of whole `u32` elements.
    pub const fn len(&self) -> usize {
        self.0.len() / 4
    }
    /// `true` when there is no element.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Element `i`, or `None` past the end.
    pub fn get(&self, i: usize) -> Option<u32> {
        let start = i.checked_mul(4)?;
        let bytes = self.0.get(start..start.checked_add(4)?)?;
        Some(u32::from_le_bytes(word(bytes)))
    }
    /// The elements in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = u32> + Clone + 'a {
        self.0.chunks_exact(4).map(|c| u32::from_le_bytes(word(c)))
    }
}

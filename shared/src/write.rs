//! The writer (feature `std`): encodes a [`ModelFile`] and prepends the header.

use crate::header::Header;
use crate::model::ModelFile;
use std::vec::Vec;

/// Why a model could not be written.
#[derive(Debug)]
pub enum WriteError {
    /// The model would not pass the reader's checks; the writer never emits such a file.
    Invalid(crate::FormatError),
    /// postcard failed to encode (should not happen for in-memory buffers).
    Encode(postcard::Error),
    /// The payload exceeds [`crate::MAX_PAYLOAD_LEN`].
    TooLarge(usize),
    /// The model uses a version-2 feature (the named field), so it has no version-1 layout
    /// ([`crate::upgrade::encode_v1`]).
    NotVersion1(&'static str),
}

impl core::fmt::Display for WriteError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            WriteError::Invalid(e) => write!(f, "model is inconsistent: {e}"),
            WriteError::Encode(e) => write!(f, "postcard encoding failed: {e}"),
            WriteError::TooLarge(n) => {
                write!(f, "payload of {n} bytes exceeds the format's maximum")
            }
            WriteError::NotVersion1(field) => {
                write!(f, "`{field}` has no version-1 encoding")
            }
        }
    }
}

impl std::error::Error for WriteError {}

impl ModelFile<'_> {
    /// The complete file: header (of [`ModelFile::format_version`]) and payload. Validates
    /// first, so that every written file reads back.
    pub fn to_bytes(&self) -> Result<Vec<u8>, WriteError> {
        crate::validate::validate(self).map_err(WriteError::Invalid)?;
        let payload = postcard::to_allocvec(self).map_err(WriteError::Encode)?;
        if payload.len() > crate::MAX_PAYLOAD_LEN as usize {
            return Err(WriteError::TooLarge(payload.len()));
        }
        let mut out = Vec::with_capacity(crate::HEADER_LEN + payload.len());
        out.extend_from_slice(&Header::encode_version(&payload, self.format_version()));
        out.extend_from_slice(&payload);
        Ok(out)
    }
}

/// Little-endian bytes of `values`, for [`crate::F32Slice`] fields.
///
/// ```
/// assert_eq!(hyperinr_shared::write::f32_bytes(&[1.0]), vec![0, 0, 128, 63]);
/// ```
pub fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Bytes of `values`, for [`crate::I8Slice`] fields.
///
/// ```
/// assert_eq!(hyperinr_shared::write::i8_bytes(&[-1, 2]), vec![255, 2]);
/// ```
pub fn i8_bytes(values: &[i8]) -> Vec<u8> {
    values.iter().map(|&v| v as u8).collect()
}

/// Little-endian bytes of `values`, for [`crate::U32Slice`] fields.
///
/// ```
/// assert_eq!(hyperinr_shared::write::u32_bytes(&[258]), vec![2, 1, 0, 0]);
/// ```
pub fn u32_bytes(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

//! The fixed 16-byte header in front of the postcard payload.

use crate::error::FormatError;

/// `HINR`.
pub const MAGIC: [u8; 4] = *b"HINR";
/// The newest format version this crate reads and writes. Version 3 is version 2 with one
/// more `InputKind` variant (a point cloud's query sampler); a writer uses the oldest
/// version that holds its model ([`crate::ModelFile::format_version`]), so that readers of
/// version 2 keep reading every file they could read before.
pub const FORMAT_VERSION: u16 = 3;
/// The oldest format version this crate reads (version 1 converts: [`crate::upgrade`]).
pub const OLDEST_FORMAT_VERSION: u16 = 2;
/// Bytes before the payload.
pub const HEADER_LEN: usize = 16;
/// Largest payload a reader accepts (256 MiB): a larger declared length is corruption.
pub const MAX_PAYLOAD_LEN: u32 = 256 << 20;

/// The decoded header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Format version ([`OLDEST_FORMAT_VERSION`] to [`FORMAT_VERSION`] once parsed).
    pub version: u16,
    /// Payload length in bytes.
    pub payload_len: u32,
    /// CRC-32/ISO-HDLC of the payload.
    pub payload_crc: u32,
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    let mut b = [0u8; 2];
    if let Some(s) = bytes.get(at..at + 2) {
        b.copy_from_slice(s);
    }
    u16::from_le_bytes(b)
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    if let Some(s) = bytes.get(at..at + 4) {
        b.copy_from_slice(s);
    }
    u32::from_le_bytes(b)
}

impl Header {
    /// Checks the header of `file` (the whole file) and returns it with the payload.
    ///
    /// Checks, in order: length ≥ 16, magic, version, reserved flags, payload length
    /// ≤ [`MAX_PAYLOAD_LEN`], payload present in full, no trailing bytes, CRC (skipped when
    /// built with `--cfg fuzzing`, so that fuzzers reach the decoder).
    ///
    /// ```
    /// use hyperinr_shared::{Header, FormatError};
    /// let mut file = b"HINR\x02\x00\x00\x00\x01\x00\x00\x00".to_vec();
    /// file.extend_from_slice(&hyperinr_shared::crc32::crc32(b"x").to_le_bytes());
    /// file.push(b'x');
    /// let (h, payload) = Header::parse(&file).unwrap();
    /// assert_eq!((h.payload_len, payload), (1, &b"x"[..]));
    /// file[16] = b'y';
    /// assert!(matches!(Header::parse(&file), Err(FormatError::CrcMismatch { .. })));
    /// ```
    pub fn parse(file: &[u8]) -> Result<(Header, &[u8]), FormatError> {
        Self::parse_versions(file, OLDEST_FORMAT_VERSION, FORMAT_VERSION)
    }

    /// [`Header::parse`] for files of format `version` only (the v1 → v2 converter reads v1;
    /// it needs `std`, so this does too).
    #[cfg(feature = "std")]
    pub(crate) fn parse_version(file: &[u8], version: u16) -> Result<(Header, &[u8]), FormatError> {
        Self::parse_versions(file, version, version)
    }

    /// [`Header::parse`] for files of a format version from `oldest` to `newest`; another
    /// version gives `UnsupportedVersion { supported: newest }`.
    fn parse_versions(
        file: &[u8],
        oldest: u16,
        newest: u16,
    ) -> Result<(Header, &[u8]), FormatError> {
        let (head, payload) = match file.split_at_checked(HEADER_LEN) {
            Some(parts) => parts,
            None => return Err(FormatError::TooShort { len: file.len() }),
        };
        let mut magic = [0u8; 4];
        magic.copy_from_slice(head.get(0..4).unwrap_or(&[0; 4]));
        if magic != MAGIC {
            return Err(FormatError::BadMagic { found: magic });
        }
        let version = u16_at(head, 4);
        if !(oldest..=newest).contains(&version) {
            return Err(FormatError::UnsupportedVersion {
                found: version,
                supported: newest,
            });
        }
        let flags = u16_at(head, 6);
        if flags != 0 {
            return Err(FormatError::ReservedFlags { found: flags });
        }
        let payload_len = u32_at(head, 8);
        if payload_len > MAX_PAYLOAD_LEN {
            return Err(FormatError::AbsurdLength {
                declared: payload_len,
                max: MAX_PAYLOAD_LEN,
            });
        }
        let declared = payload_len as usize;
        if payload.len() < declared {
            return Err(FormatError::Truncated {
                declared: payload_len,
                available: payload.len(),
            });
        }
        if payload.len() > declared {
            return Err(FormatError::TrailingBytes {
                declared: payload_len,
                available: payload.len(),
            });
        }
        let payload_crc = u32_at(head, 12);
        let computed = crate::crc32::crc32(payload);
        if computed != payload_crc && !cfg!(fuzzing) {
            return Err(FormatError::CrcMismatch {
                stored: payload_crc,
                computed,
            });
        }
        Ok((
            Header {
                version,
                payload_len,
                payload_crc,
            },
            payload,
        ))
    }

    /// The 16 header bytes for `payload`, of version [`FORMAT_VERSION`]. A model whose
    /// oldest version is 2 is rejected under it (`VersionMismatch`): a model file's writer,
    /// or a test re-framing an existing payload, uses [`Header::encode_version`] with the
    /// model's own version ([`crate::ModelFile::format_version`]).
    ///
    /// ```
    /// let h = hyperinr_shared::Header::encode(b"abc");
    /// assert_eq!(&h[..4], b"HINR");
    /// assert_eq!(h[8], 3);
    /// ```
    pub fn encode(payload: &[u8]) -> [u8; HEADER_LEN] {
        Self::encode_version(payload, FORMAT_VERSION)
    }

    /// [`Header::encode`] with another version number.
    pub fn encode_version(payload: &[u8], version: u16) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        let fields = MAGIC
            .iter()
            .copied()
            .chain(version.to_le_bytes())
            .chain(0u16.to_le_bytes())
            .chain((payload.len() as u32).to_le_bytes())
            .chain(crate::crc32::crc32(payload).to_le_bytes());
        for (slot, b) in h.iter_mut().zip(fields) {
            *slot = b;
        }
        h
    }
}

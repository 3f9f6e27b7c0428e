//! Raw observations (`*.hobs`, magic `HOBS`): images or point clouds with their labels, as
//! a sensor would deliver them, for fitting on the device (FORMAT.md §7).
//!
//! `hyperinr export-observations` writes them ([`encode_images`], [`encode_clouds`], feature
//! `std`); the firmware embeds one and fits, classifies and scores every observation; the
//! host replays the same file. [`Observations::parse`] is `no_std`, allocates nothing,
//! never panics and borrows every array from the input.
//!
//! ```
//! use hyperinr_shared::observations::{encode_images, ObservationData, Observations};
//! let file = encode_images(2, 1, &[1], &[(3, 17, &[0, 255])]).unwrap();
//! let obs = Observations::parse(&file).unwrap();
//! assert_eq!((obs.len(), obs.fitted.len()), (1, 1));
//! let first = obs.get(0).unwrap();
//! assert_eq!((first.label, first.dataset_index), (3, 17));
//! assert_eq!(first.data, ObservationData::Pixels(&[0, 255]));
//! ```

use crate::crc32::crc32;
use crate::{F32Slice, U32Slice, MAX_IMAGE_SIDE, MAX_WIDTH};
use core::fmt;

/// The file's first 4 bytes.
pub const MAGIC: [u8; 4] = *b"HOBS";
/// The layout version.
pub const VERSION: u32 = 1;
/// Bytes of the fixed header.
pub const HEADER_LEN: usize = 32;
/// Bytes of a record before its data: label `u8`, dataset index `u32`.
pub const RECORD_PREFIX: usize = 5;

/// What every observation of a file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ObservationKind {
    /// 8-bit grayscale images, row-major.
    Image {
        /// Pixels per row.
        width: u32,
        /// Rows.
        height: u32,
    },
    /// Point clouds of `points` points, 3 little-endian `f32` each (x, y, z).
    PointCloud {
        /// Points per cloud.
        points: u32,
    },
}

impl ObservationKind {
    /// Bytes of one observation's data.
    pub const fn data_len(&self) -> usize {
        match *self {
            ObservationKind::Image { width, height } => width as usize * height as usize,
            ObservationKind::PointCloud { points } => points as usize * 12,
        }
    }
}

/// A header field, named in [`ObservationsError::Field`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Field {
    /// `kind` (offset 8).
    Kind,
    /// `width` or points per cloud (offset 12).
    Width,
    /// `height`, or 3 for clouds (offset 16).
    Height,
    /// `count` (offset 20).
    Count,
    /// `fitted`, the pixel-index count (offset 24).
    Fitted,
}

impl Field {
    /// The field's offset in the header.
    pub const fn offset(self) -> usize {
        match self {
            Field::Kind => 8,
            Field::Width => 12,
            Field::Height => 16,
            Field::Count => 20,
            Field::Fitted => 24,
        }
    }
}

/// Why an observations file is rejected (FORMAT.md §7.3, checked in that order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ObservationsError {
    /// Fewer than [`HEADER_LEN`] bytes.
    TooShort {
        /// File length.
        len: usize,
    },
    /// The first 4 bytes are not `HOBS`.
    BadMagic {
        /// The bytes found.
        found: [u8; 4],
    },
    /// A layout version other than [`VERSION`].
    UnsupportedVersion {
        /// Version in the file.
        found: u32,
    },
    /// A header field out of its range.
    Field {
        /// The field.
        field: Field,
        /// Its value.
        value: u32,
    },
    /// The file's length is not what the header implies.
    Length {
        /// `32 + 4 · fitted + count · (5 + data)`.
        expected: u64,
        /// Bytes present.
        found: u64,
    },
    /// The CRC-32 of the bytes after the header differs from the header's.
    Checksum {
        /// The header's value.
        expected: u32,
        /// The bytes' CRC.
        found: u32,
    },
    /// A fitted pixel index lies outside the image.
    PixelIndex {
        /// File offset of the index.
        offset: usize,
        /// The index.
        index: u32,
        /// Pixels in an image.
        pixels: u32,
    },
    /// A cloud coordinate is NaN or infinite.
    NonFinite {
        /// File offset of the value.
        offset: usize,
        /// Observation it belongs to.
        observation: u32,
    },
}

impl fmt::Display for ObservationsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ObservationsError::TooShort { len } => {
                write!(f, "{len} bytes, shorter than the {HEADER_LEN}-byte header")
            }
            ObservationsError::BadMagic { found } => {
                write!(f, "magic {found:02x?} at offset 0 is not \"HOBS\"")
            }
            ObservationsError::UnsupportedVersion { found } => {
                write!(f, "layout version {found} at offset 4; this reader reads {VERSION}")
            }
            ObservationsError::Field { field, value } => write!(
                f,
                "header field {field:?} at offset {} is {value}, out of range",
                field.offset()
            ),
            ObservationsError::Length { expected, found } => write!(
                f,
                "{found} bytes, but the header describes {expected} (corrupt or truncated)"
            ),
            ObservationsError::Checksum { expected, found } => write!(
                f,
                "CRC-32 of the bytes after the header is {found:#010x}, the header says {expected:#010x}"
            ),
            ObservationsError::PixelIndex {
                offset,
                index,
                pixels,
            } => write!(
                f,
                "fitted pixel index {index} at offset {offset} is outside the image ({pixels} pixels)"
            ),
            ObservationsError::NonFinite {
                offset,
                observation,
            } => write!(
                f,
                "observation {observation}: coordinate at offset {offset} is not finite"
            ),
        }
    }
}

impl core::error::Error for ObservationsError {}

/// One observation's data, borrowed from the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObservationData<'a> {
    /// `width × height` intensities, row-major.
    Pixels(&'a [u8]),
    /// `3 × points` coordinates.
    Cloud(F32Slice<'a>),
}

/// One observation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawObservation<'a> {
    /// Class label.
    pub label: u8,
    /// Index of the sample in its dataset split.
    pub dataset_index: u32,
    /// Its pixels or points.
    pub data: ObservationData<'a>,
}

/// A validated observations file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Observations<'a> {
    /// What each observation is.
    pub kind: ObservationKind,
    /// Pixel indices the device fits (images; empty: every pixel).
    pub fitted: U32Slice<'a>,
    count: u32,
    records: &'a [u8],
}

fn u32_at(bytes: &[u8], offset: usize) -> u32 {
    let mut word = [0u8; 4];
    if let Some(b) = bytes.get(offset..offset + 4) {
        word.copy_from_slice(b);
    }
    u32::from_le_bytes(word)
}

impl<'a> Observations<'a> {
    /// Parses and validates `bytes` (FORMAT.md §7.3).
    pub fn parse(bytes: &'a [u8]) -> Result<Observations<'a>, ObservationsError> {
        if bytes.len() < HEADER_LEN {
            return Err(ObservationsError::TooShort { len: bytes.len() });
        }
        let mut magic = [0u8; 4];
        magic.copy_from_slice(bytes.get(..4).unwrap_or(&[0; 4]));
        if magic != MAGIC {
            return Err(ObservationsError::BadMagic { found: magic });
        }
        let version = u32_at(bytes, 4);
        if version != VERSION {
            return Err(ObservationsError::UnsupportedVersion { found: version });
        }
        let field = |field: Field| (field, u32_at(bytes, field.offset()));
        let bad = |(field, value): (Field, u32)| ObservationsError::Field { field, value };
        let (kind_code, width, height, count, fitted) = (
            field(Field::Kind),
            field(Field::Width),
            field(Field::Height),
            field(Field::Count),
            field(Field::Fitted),
        );
        let kind = match kind_code.1 {
            0 => {
                for side in [width, height] {
                    if side.1 == 0 || side.1 > MAX_IMAGE_SIDE {
                        return Err(bad(side));
                    }
                }
                ObservationKind::Image {
                    width: width.1,
                    height: height.1,
                }
            }
            1 => {
                if width.1 == 0 || width.1 > MAX_WIDTH {
                    return Err(bad(width));
                }
                if height.1 != 3 {
                    return Err(bad(height));
                }
                if fitted.1 != 0 {
                    return Err(bad(fitted));
                }
                ObservationKind::PointCloud { points: width.1 }
            }
            _ => return Err(bad(kind_code)),
        };
        let pixels = match kind {
            ObservationKind::Image { width, height } => width * height,
            ObservationKind::PointCloud { .. } => 0,
        };
        if fitted.1 > pixels {
            return Err(bad(fitted));
        }
        let record = (RECORD_PREFIX + kind.data_len()) as u64;
        let expected = HEADER_LEN as u64 + 4 * u64::from(fitted.1) + u64::from(count.1) * record;
        if expected != bytes.len() as u64 {
            return Err(ObservationsError::Length {
                expected,
                found: bytes.len() as u64,
            });
        }
        let body = bytes.get(HEADER_LEN..).unwrap_or(&[]);
        let (expected_crc, found_crc) = (u32_at(bytes, 28), crc32(body));
        if expected_crc != found_crc {
            return Err(ObservationsError::Checksum {
                expected: expected_crc,
                found: found_crc,
            });
        }
        let (indices, records) = body.split_at(4 * fitted.1 as usize);
        let fitted_indices = U32Slice::new(indices);
        if let Some((k, index)) = fitted_indices
            .iter()
            .enumerate()
            .find(|&(_, p)| p >= pixels)
        {
            return Err(ObservationsError::PixelIndex {
                offset: HEADER_LEN + 4 * k,
                index,
                pixels,
            });
        }
        let file = Observations {
            kind,
            fitted: fitted_indices,
            count: count.1,
            records,
        };
        if let ObservationKind::PointCloud { .. } = kind {
            let records_at = HEADER_LEN + indices.len();
            for (n, chunk) in records.chunks_exact(record as usize).enumerate() {
                let values = chunk.get(RECORD_PREFIX..).unwrap_or(&[]);
                if let Some(k) = F32Slice::new(values).iter().position(|v| !v.is_finite()) {
                    return Err(ObservationsError::NonFinite {
                        offset: records_at + n * record as usize + RECORD_PREFIX + 4 * k,
                        observation: n as u32,
                    });
                }
            }
        }
        Ok(file)
    }

    /// Number of observations.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// `true` without observations.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Observation `index`, `None` past the end.
    pub fn get(&self, index: usize) -> Option<RawObservation<'a>> {
        let record = RECORD_PREFIX + self.kind.data_len();
        let start = index.checked_mul(record)?;
        let bytes = self.records.get(start..start.checked_add(record)?)?;
        let (&label, rest) = bytes.split_first()?;
        let (index_bytes, data) = rest.split_at_checked(4)?;
        let mut word = [0u8; 4];
        word.copy_from_slice(index_bytes);
        let data = match self.kind {
            ObservationKind::Image { .. } => ObservationData::Pixels(data),
            ObservationKind::PointCloud { .. } => ObservationData::Cloud(F32Slice::new(data)),
        };
        Some(RawObservation {
            label,
            dataset_index: u32::from_le_bytes(word),
            data,
        })
    }

    /// Every observation, in file order.
    pub fn iter(&self) -> impl Iterator<Item = RawObservation<'a>> + '_ {
        (0..self.len()).map_while(|i| self.get(i))
    }
}

/// Row-major indices of every `stride`-th pixel of every `stride`-th row, from the first:
/// a fitted-pixel list (`stride` 2 on 28 × 28: 196 pixels, a quarter of the work per step).
/// Stride 0 is taken as 1.
///
/// ```
/// use hyperinr_shared::observations::strided_pixels;
/// assert_eq!(strided_pixels(4, 3, 2).collect::<Vec<_>>(), [0, 2, 8, 10]);
/// assert_eq!(strided_pixels(28, 28, 2).count(), 196);
/// ```
pub fn strided_pixels(width: u32, height: u32, stride: u32) -> impl Iterator<Item = u32> {
    let step = stride.max(1) as usize;
    (0..height)
        .step_by(step)
        .flat_map(move |r| (0..width).step_by(step).map(move |c| r * width + c))
}

/// Writes an images file: `width × height` pixels per item, the fitted pixel indices
/// (empty: every pixel), items as (label, dataset index, pixels). Refuses what a reader
/// would reject.
#[cfg(feature = "std")]
pub fn encode_images(
    width: u32,
    height: u32,
    fitted: &[u32],
    items: &[(u8, u32, &[u8])],
) -> Result<std::vec::Vec<u8>, ObservationsError> {
    let kind = ObservationKind::Image { width, height };
    let data: std::vec::Vec<(u8, u32, std::borrow::Cow<'_, [u8]>)> = items
        .iter()
        .map(|&(l, i, p)| (l, i, std::borrow::Cow::Borrowed(p)))
        .collect();
    encode(kind, fitted, &data)
}

/// Writes a point-cloud file: items as (label, dataset index, `3 × points` coordinates).
#[cfg(feature = "std")]
pub fn encode_clouds(
    points: u32,
    items: &[(u8, u32, &[f32])],
) -> Result<std::vec::Vec<u8>, ObservationsError> {
    let kind = ObservationKind::PointCloud { points };
    let data: std::vec::Vec<(u8, u32, std::borrow::Cow<'_, [u8]>)> = items
        .iter()
        .map(|&(l, i, c)| (l, i, std::borrow::Cow::Owned(crate::write::f32_bytes(c))))
        .collect();
    encode(kind, &[], &data)
}

#[cfg(feature = "std")]
fn encode(
    kind: ObservationKind,
    fitted: &[u32],
    items: &[(u8, u32, std::borrow::Cow<'_, [u8]>)],
) -> Result<std::vec::Vec<u8>, ObservationsError> {
    let (code, a, b) = match kind {
        ObservationKind::Image { width, height } => (0u32, width, height),
        ObservationKind::PointCloud { points } => (1, points, 3),
    };
    let too_large = |field| ObservationsError::Field {
        field,
        value: u32::MAX,
    };
    let count = u32::try_from(items.len()).map_err(|_| too_large(Field::Count))?;
    let fitted_count = u32::try_from(fitted.len()).map_err(|_| too_large(Field::Fitted))?;
    let mut body = crate::write::u32_bytes(fitted);
    for (label, index, data) in items {
        if data.len() != kind.data_len() {
            return Err(ObservationsError::Length {
                expected: kind.data_len() as u64,
                found: data.len() as u64,
            });
        }
        body.push(*label);
        body.extend_from_slice(&index.to_le_bytes());
        body.extend_from_slice(data);
    }
    let mut file = std::vec::Vec::with_capacity(HEADER_LEN + body.len());
    file.extend_from_slice(&MAGIC);
    for word in [VERSION, code, a, b, count, fitted_count, crc32(&body)] {
        file.extend_from_slice(&word.to_le_bytes());
    }
    file.extend_from_slice(&body);
    // What the writer produced must read back: the reader's checks are the one definition.
    Observations::parse(&file)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn images() -> Vec<u8> {
        encode_images(
            3,
            2,
            &[0, 5],
            &[(1, 10, &[1, 2, 3, 4, 5, 6]), (9, 11, &[6; 6])],
        )
        .unwrap()
    }

    fn with_crc(mut file: Vec<u8>) -> Vec<u8> {
        let crc = crc32(&file[HEADER_LEN..]);
        file[28..32].copy_from_slice(&crc.to_le_bytes());
        file
    }

    #[test]
    fn round_trip() {
        let file = images();
        assert_eq!(file.len(), 32 + 8 + 2 * 11);
        let obs = Observations::parse(&file).unwrap();
        assert_eq!(
            obs.kind,
            ObservationKind::Image {
                width: 3,
                height: 2
            }
        );
        assert_eq!(obs.fitted.iter().collect::<Vec<_>>(), [0, 5]);
        let all: Vec<_> = obs.iter().collect();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].label, 9);
        assert_eq!(all[1].dataset_index, 11);
        assert_eq!(all[0].data, ObservationData::Pixels(&[1, 2, 3, 4, 5, 6]));
        assert_eq!(obs.get(2), None);

        let cloud = [0.5f32, -1.0, 0.25, 1.0, 2.0, 3.0];
        let file = encode_clouds(2, &[(4, 7, &cloud)]).unwrap();
        let obs = Observations::parse(&file).unwrap();
        let first = obs.get(0).unwrap();
        let ObservationData::Cloud(values) = first.data else {
            panic!("not a cloud")
        };
        assert_eq!(values.iter().collect::<Vec<_>>(), cloud);
    }

    #[test]
    fn rejects_in_order_with_offsets() {
        let file = images();
        assert_eq!(
            Observations::parse(&file[..31]),
            Err(ObservationsError::TooShort { len: 31 })
        );
        let mut bad = file.clone();
        bad[0] = b'X';
        assert!(matches!(
            Observations::parse(&bad),
            Err(ObservationsError::BadMagic { .. })
        ));
        let mut bad = file.clone();
        bad[4] = 2;
        assert_eq!(
            Observations::parse(&bad),
            Err(ObservationsError::UnsupportedVersion { found: 2 })
        );
        let mut bad = file.clone();
        bad[8] = 7;
        assert_eq!(
            Observations::parse(&bad),
            Err(ObservationsError::Field {
                field: Field::Kind,
                value: 7
            })
        );
        // A corrupt length: one byte short, one byte long, a count that disagrees.
        for cut in [file.len() - 1, file.len() + 1] {
            let mut bad = file.clone();
            bad.resize(cut, 0);
            assert_eq!(
                Observations::parse(&bad),
                Err(ObservationsError::Length {
                    expected: file.len() as u64,
                    found: cut as u64
                })
            );
        }
        let mut bad = file.clone();
        bad[20] = 3;
        assert!(matches!(
            Observations::parse(&bad),
            Err(ObservationsError::Length { .. })
        ));
        // A flipped data byte.
        let mut bad = file.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(matches!(
            Observations::parse(&bad),
            Err(ObservationsError::Checksum { .. })
        ));
        // A pixel index past the image, with a valid CRC: named with its offset.
        let mut bad = file.clone();
        bad[36..40].copy_from_slice(&6u32.to_le_bytes());
        assert_eq!(
            Observations::parse(&with_crc(bad)),
            Err(ObservationsError::PixelIndex {
                offset: 36,
                index: 6,
                pixels: 6
            })
        );
        // A NaN coordinate.
        let file = encode_clouds(1, &[(0, 0, &[0.0, 1.0, 2.0]), (0, 1, &[0.0, 1.0, 2.0])]).unwrap();
        let mut bad = file.clone();
        let at = 32 + 17 + 5 + 4;
        bad[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
        assert_eq!(
            Observations::parse(&with_crc(bad)),
            Err(ObservationsError::NonFinite {
                offset: at,
                observation: 1
            })
        );
        // The writer refuses what the reader would.
        assert!(encode_images(3, 2, &[6], &[]).is_err());
        assert!(encode_images(3, 2, &[], &[(0, 0, &[1, 2])]).is_err());
        assert!(encode_images(0, 2, &[], &[]).is_err());
    }

    #[test]
    fn never_panics_on_truncations_and_bit_flips() {
        let file = images();
        for cut in 0..file.len() {
            let _ = Observations::parse(&file[..cut]);
        }
        for bit in 0..file.len() * 8 {
            let mut bad = file.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            if let Ok(obs) = Observations::parse(&bad) {
                assert_eq!(obs.iter().count(), obs.len());
            }
        }
    }
}

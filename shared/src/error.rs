//! Everything a reader can reject, as one enum.

use core::fmt;

/// Which top-level payload section a decode error happened in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Section {
    /// [`crate::ModelConfig`]
    Config,
    /// [`crate::Provenance`]
    Provenance,
    /// The hypernetwork layers.
    Hypernet,
    /// The optional linear path `A z + a` (format version 2).
    LinearPath,
    /// [`crate::Classifier`]
    Classifier,
    /// [`crate::LatentStore`]
    Latents,
    /// The golden vectors.
    Golden,
}

impl Section {
    /// The section's name as FORMAT.md spells it.
    pub const fn name(self) -> &'static str {
        match self {
            Section::Config => "config",
            Section::Provenance => "provenance",
            Section::Hypernet => "hypernet",
            Section::LinearPath => "linear_path",
            Section::Classifier => "classifier",
            Section::Latents => "latents",
            Section::Golden => "golden",
        }
    }
}

/// What is wrong with a field that decoded but is inconsistent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Problem {
    /// A byte array has the wrong length.
    Length {
        /// Bytes the config implies.
        expected: u64,
        /// Bytes present.
        found: u64,
    },
    /// A dimension or count disagrees with another one.
    Dimension {
        /// Value implied by the rest of the file.
        expected: u64,
        /// Value present.
        found: u64,
    },
    /// A value is larger than this reader accepts.
    TooLarge {
        /// The value.
        found: u64,
        /// The largest accepted.
        max: u64,
    },
    /// A value that must be at least 1 is 0 (or a string is empty).
    Empty,
    /// A float is NaN or infinite.
    NonFinite,
    /// A float that must be positive is zero or negative.
    NotPositive,
    /// A float that must be zero or positive is negative.
    Negative,
    /// A float that must lie in `[0, 1)` is 1 or more.
    NotBelowOne,
    /// A float that must lie in `[0, 1]` is more than 1.
    AboveOne,
}

/// A rejected model file.
///
/// Header errors come first, in the order a reader checks them; then postcard decode
/// errors with the section and the byte offset (from the start of the file) where the
/// section starts; then consistency errors naming the field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FormatError {
    /// Fewer bytes than the 16-byte header.
    TooShort {
        /// Bytes present.
        len: usize,
    },
    /// The first four bytes are not `HINR`.
    BadMagic {
        /// The bytes found.
        found: [u8; 4],
    },
    /// A format version this reader does not implement.
    UnsupportedVersion {
        /// Version in the file.
        found: u16,
        /// The newest version this reader implements ([`crate::FORMAT_VERSION`]; the
        /// version-1 converter's: 1).
        supported: u16,
    },
    /// Reserved header flags are set.
    ReservedFlags {
        /// The flags word.
        found: u16,
    },
    /// The declared payload length exceeds [`crate::MAX_PAYLOAD_LEN`].
    AbsurdLength {
        /// Declared payload length.
        declared: u32,
        /// Largest accepted.
        max: u32,
    },
    /// The file ends before the declared payload does.
    Truncated {
        /// Declared payload length.
        declared: u32,
        /// Payload bytes present.
        available: usize,
    },
    /// Bytes follow the declared payload.
    TrailingBytes {
        /// Declared payload length.
        declared: u32,
        /// Payload bytes present.
        available: usize,
    },
    /// The payload's CRC-32 differs from the header's.
    CrcMismatch {
        /// CRC in the header.
        stored: u32,
        /// CRC of the payload bytes.
        computed: u32,
    },
    /// A section does not decode as postcard.
    Decode {
        /// The section.
        section: Section,
        /// File offset where the section starts.
        offset: usize,
    },
    /// The header's version is not the oldest that holds the model (`config.input`): every
    /// model has exactly one version, so that a flipped version bit is caught.
    VersionMismatch {
        /// Version in the header.
        declared: u16,
        /// The oldest version that holds the decoded `config`.
        content: u16,
    },
    /// Bytes remain in the payload after the last section.
    TrailingPayload {
        /// File offset of the first extra byte.
        offset: usize,
    },
    /// A decoded field is inconsistent with the rest of the file.
    Invalid {
        /// Dotted path of the field, e.g. `hypernet[2].scales`.
        field: &'static str,
        /// Index of the element (layer, latent, golden vector) where that applies, else 0.
        index: u32,
        /// What is wrong.
        problem: Problem,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Problem::Length { expected, found } => {
                write!(f, "length {found} bytes, expected {expected}")
            }
            Problem::Dimension { expected, found } => write!(f, "is {found}, expected {expected}"),
            Problem::TooLarge { found, max } => write!(f, "is {found}, larger than {max}"),
            Problem::Empty => f.write_str("is empty or zero"),
            Problem::NonFinite => f.write_str("is NaN or infinite"),
            Problem::NotPositive => f.write_str("is zero or negative, must be positive"),
            Problem::Negative => f.write_str("is negative, must be zero or positive"),
            Problem::NotBelowOne => f.write_str("is 1 or more, must lie in [0, 1)"),
            Problem::AboveOne => f.write_str("is more than 1, must lie in [0, 1]"),
        }
    }
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            FormatError::TooShort { len } => {
                write!(f, "file is {len} bytes, shorter than the 16-byte header")
            }
            FormatError::BadMagic { found } => {
                write!(f, "offset 0: magic is {found:02x?}, expected \"HINR\"")
            }
            FormatError::UnsupportedVersion {
                found: 1,
                supported: crate::FORMAT_VERSION,
            } => write!(
                f,
                "offset 4: format version 1, this reader supports versions {} to {} only \
                 (version 2 adds φ's activation, its linear path and the fit settings); \
                 convert the file with `hyperinr upgrade IN OUT`",
                crate::OLDEST_FORMAT_VERSION,
                crate::FORMAT_VERSION
            ),
            FormatError::UnsupportedVersion {
                found,
                supported: crate::FORMAT_VERSION,
            } => write!(
                f,
                "offset 4: format version {found}, this reader supports versions {} to {}",
                crate::OLDEST_FORMAT_VERSION,
                crate::FORMAT_VERSION
            ),
            FormatError::UnsupportedVersion { found, supported } => write!(
                f,
                "offset 4: format version {found}, this reader supports version {supported}"
            ),
            FormatError::ReservedFlags { found } => {
                write!(f, "offset 6: reserved flags {found:#06x} are set")
            }
            FormatError::AbsurdLength { declared, max } => write!(
                f,
                "offset 8: payload length {declared} exceeds the maximum {max}"
            ),
            FormatError::Truncated {
                declared,
                available,
            } => write!(
                f,
                "truncated: header declares {declared} payload bytes, file has {available}"
            ),
            FormatError::TrailingBytes {
                declared,
                available,
            } => write!(
                f,
                "header declares {declared} payload bytes but {available} follow the header"
            ),
            FormatError::CrcMismatch { stored, computed } => write!(
                f,
                "offset 12: payload CRC-32 is {computed:#010x}, header says {stored:#010x} (corrupted file)"
            ),
            FormatError::Decode { section, offset } => write!(
                f,
                "offset {offset}: section `{}` does not decode",
                section.name()
            ),
            FormatError::VersionMismatch { declared, content } => write!(
                f,
                "offset 4: format version {declared}, but the model is a version-{content} \
                 model (version 3 is needed, and only used, for a point cloud whose query \
                 sampler is not the default)"
            ),
            FormatError::TrailingPayload { offset } => {
                write!(f, "offset {offset}: unexpected bytes after the last section")
            }
            FormatError::Invalid {
                field,
                index,
                problem,
            } => write!(f, "field `{field}` (index {index}) {problem}"),
        }
    }
}

impl core::error::Error for FormatError {}

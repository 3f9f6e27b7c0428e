//! What the results encoder and decoder can report.

use super::Tag;
use core::fmt;

/// Why a results file does not decode (FORMAT.md §6.3). Offsets are file offsets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ResultsError {
    /// Fewer than [`super::HEADER_LEN`] bytes.
    TooShort {
        /// File length.
        len: usize,
    },
    /// The first 4 bytes are not `HIRS`.
    BadMagic {
        /// The bytes found.
        found: [u8; 4],
    },
    /// A layout version other than [`super::VERSION`].
    UnsupportedVersion {
        /// Version in the file.
        found: u32,
        /// The version this decoder reads.
        supported: u32,
    },
    /// A record's header or payload runs past the end of the file.
    Truncated {
        /// Where the record starts.
        offset: usize,
        /// Bytes the record needs (header and declared payload).
        needed: usize,
        /// Bytes left from `offset`.
        available: usize,
    },
    /// A tag no record kind has.
    UnknownTag {
        /// Where the record starts.
        offset: usize,
        /// The tag's bytes.
        tag: [u8; 4],
    },
    /// The payload length disagrees with the payload's own fields and counts.
    PayloadLength {
        /// The record.
        tag: Tag,
        /// Where the record starts.
        offset: usize,
        /// The declared payload length.
        len: usize,
        /// What its fields need: exact when `len` is larger, at least this when smaller.
        needed: usize,
    },
    /// An `ERR ` record's stage code is not 1 to 4.
    UnknownStage {
        /// Where the record starts.
        offset: usize,
        /// The code.
        code: u32,
    },
    /// A `RNDR` record's kind is not 0 or 1.
    UnknownRenderKind {
        /// Where the record starts.
        offset: usize,
        /// The code.
        code: u32,
    },
}

impl fmt::Display for ResultsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ResultsError::TooShort { len } => {
                write!(f, "results file is {len} bytes, shorter than its 8-byte header")
            }
            ResultsError::BadMagic { found } => {
                write!(f, "offset 0: magic is {found:02x?}, expected \"HIRS\"")
            }
            ResultsError::UnsupportedVersion { found, supported } => write!(
                f,
                "offset 4: results layout version {found}, this reader supports {supported}"
            ),
            ResultsError::Truncated {
                offset,
                needed,
                available,
            } => write!(
                f,
                "offset {offset}: record ends early ({available} bytes left, {needed} needed)"
            ),
            ResultsError::UnknownTag { offset, tag } => {
                write!(f, "offset {offset}: unknown record tag {tag:02x?}")
            }
            ResultsError::PayloadLength {
                tag,
                offset,
                len,
                needed,
            } => write!(
                f,
                "offset {offset}: {tag:?} record declares {len} payload bytes, its fields need {needed}"
            ),
            ResultsError::UnknownStage { offset, code } => {
                write!(f, "offset {offset}: unknown error stage {code}")
            }
            ResultsError::UnknownRenderKind { offset, code } => {
                write!(f, "offset {offset}: unknown render kind {code}")
            }
        }
    }
}

impl core::error::Error for ResultsError {}

/// Why an [`super::Encoder`] stopped writing. The first problem stops it: nothing after it
/// reaches the sink, so a file is never continued past a record it got wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EncodeError {
    /// The sink refused bytes (a full buffer, a failed write).
    Sink {
        /// Bytes the sink had accepted.
        written: usize,
    },
    /// A record was started, or the file finished, while record `open` still expected
    /// payload (a `GVEC` or `CLAS` record is written in pieces).
    Unfinished {
        /// The incomplete record.
        open: Tag,
    },
    /// Payload for a `tag` record that does not match it: pieces when none is open, more
    /// values than it declared, a logit vector of another length, render values that are
    /// not `points × out_dim`, an error text that formatted to another length the second
    /// time.
    Unexpected {
        /// The record the pieces were for.
        tag: Tag,
    },
    /// A payload or count larger than the format's `u32` fields hold.
    TooLong {
        /// The record.
        tag: Tag,
    },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            EncodeError::Sink { written } => {
                write!(f, "the sink refused bytes after {written} were written")
            }
            EncodeError::Unfinished { open } => {
                write!(f, "{open:?} record still open when the next one began")
            }
            EncodeError::Unexpected { tag } => {
                write!(f, "payload for a {tag:?} record that does not expect it")
            }
            EncodeError::TooLong { tag } => {
                write!(f, "{tag:?} record too long for its u32 length fields")
            }
        }
    }
}

impl core::error::Error for EncodeError {}

//! The firmware's results file (`hyperinr-results.bin`, magic `HIRS`): the bits of every
//! output of the boot check, for the host parity tests.
//!
//! One definition of the layout (FORMAT.md §6), used by both ends: the firmware writes with
//! [`Encoder`] into any [`Sink`] (its semihosting file, a caller's buffer through
//! [`SliceSink`], a `Vec<u8>` with feature `std`), and the host reads with [`decode`], a
//! zero-copy iterator of typed [`Record`]s that borrows every array from the file. Both are
//! `no_std`, allocate nothing and never panic.
//!
//! ```
//! use hyperinr_shared::results::{decode, Encoder, Record, SliceSink, Stage};
//! let mut buf = [0u8; 128];
//! let mut enc = Encoder::new(SliceSink::new(&mut buf));
//! enc.weights(7, &[1.0, -0.5]);
//! enc.failure(Stage::Inference, b"LatentIndex");
//! enc.done(3);
//! let (sink, status) = enc.finish();
//! assert_eq!(status, Ok(()));
//! let file = sink.into_written();
//! let records: Vec<Record<'_>> = decode(file).unwrap().collect::<Result<_, _>>().unwrap();
//! let Record::Weights { latent: 7, values } = records[0] else { panic!() };
//! assert_eq!(values.iter().map(f32::from_bits).collect::<Vec<_>>(), [1.0, -0.5]);
//! assert_eq!(records[1], Record::Failure { stage: Stage::Inference, text: b"LatentIndex" });
//! assert_eq!(records[2], Record::Done { status: 3 });
//! ```

mod decode;
mod encode;
mod error;

pub use decode::{decode, ClassEntries, Fitted, Record, Records};
pub use encode::{Encoder, Sink, SinkError, SliceSink};
pub use error::{EncodeError, ResultsError};

/// The file's first 4 bytes.
pub const MAGIC: [u8; 4] = *b"HIRS";
/// The layout version, after the magic.
pub const VERSION: u32 = 2;
/// Bytes before the first record: magic and version.
pub const HEADER_LEN: usize = 8;
/// Bytes of a record's header: tag and payload length.
pub const RECORD_HEADER_LEN: usize = 8;

/// A record's kind, by its 4-byte tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Tag {
    /// `INFO`: the embedded blob and the memory map.
    Info,
    /// `ERR `: a stage failed, with the error's `Debug` text.
    Failure,
    /// `SELF`: the self-test passed.
    SelfTest,
    /// `GVEC`: one golden vector recomputed.
    Golden,
    /// `CLAS`: class and logits of every stored latent.
    Classes,
    /// `ACCU`: accuracy against the stored labels.
    Accuracy,
    /// `WGTS`: decoded SIREN parameters of one stored latent.
    Weights,
    /// `RNDR`: a rendered latent.
    Render,
    /// `TICK`: one measured interval.
    Tick,
    /// `STAK`: the stack's high-water mark.
    Stack,
    /// `DONE`: the exit status.
    Done,
    /// `FITD`: one observation fitted on the device (its latent) and classified.
    Fitted,
    /// `FACC`: accuracy of the fitted observations against their labels.
    FitAccuracy,
}

impl Tag {
    /// Every tag, in the order the firmware first writes them.
    pub const ALL: [Tag; 13] = [
        Tag::Info,
        Tag::Failure,
        Tag::SelfTest,
        Tag::Golden,
        Tag::Classes,
        Tag::Accuracy,
        Tag::Weights,
        Tag::Render,
        Tag::Tick,
        Tag::Stack,
        Tag::Done,
        Tag::Fitted,
        Tag::FitAccuracy,
    ];

    /// The tag's bytes in the file.
    ///
    /// ```
    /// use hyperinr_shared::results::Tag;
    /// assert_eq!(&Tag::Failure.bytes(), b"ERR ");
    /// assert_eq!(Tag::from_bytes(*b"GVEC"), Some(Tag::Golden));
    /// assert_eq!(Tag::from_bytes(*b"WHAT"), None);
    /// ```
    pub const fn bytes(self) -> [u8; 4] {
        *match self {
            Tag::Info => b"INFO",
            Tag::Failure => b"ERR ",
            Tag::SelfTest => b"SELF",
            Tag::Golden => b"GVEC",
            Tag::Classes => b"CLAS",
            Tag::Accuracy => b"ACCU",
            Tag::Weights => b"WGTS",
            Tag::Render => b"RNDR",
            Tag::Tick => b"TICK",
            Tag::Stack => b"STAK",
            Tag::Done => b"DONE",
            Tag::Fitted => b"FITD",
            Tag::FitAccuracy => b"FACC",
        }
    }

    /// The tag these bytes name, or `None` for an unknown tag.
    pub fn from_bytes(bytes: [u8; 4]) -> Option<Tag> {
        Tag::ALL.into_iter().find(|t| t.bytes() == bytes)
    }
}

/// Where the firmware raised an error (`ERR ` records); the stage also picks its exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Stage {
    /// `Model::from_bytes` rejected the blob (code 1).
    Parse,
    /// A golden vector did not reproduce (code 2).
    SelfTest,
    /// A later inference call failed (code 3).
    Inference,
    /// The embedded observations file was rejected (code 4).
    Observations,
}

impl Stage {
    /// The stage's code in the file.
    pub const fn code(self) -> u32 {
        match self {
            Stage::Parse => 1,
            Stage::SelfTest => 2,
            Stage::Inference => 3,
            Stage::Observations => 4,
        }
    }

    /// The stage with this code, or `None`.
    ///
    /// ```
    /// use hyperinr_shared::results::Stage;
    /// assert_eq!(Stage::from_code(Stage::SelfTest.code()), Some(Stage::SelfTest));
    /// assert_eq!(Stage::from_code(0), None);
    /// ```
    pub const fn from_code(code: u32) -> Option<Stage> {
        match code {
            1 => Some(Stage::Parse),
            2 => Some(Stage::SelfTest),
            3 => Some(Stage::Inference),
            4 => Some(Stage::Observations),
            _ => None,
        }
    }
}

/// What a `RNDR` record's points are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RenderKind {
    /// Every pixel of an image model, row by row (code 0).
    Image,
    /// A point-cloud model's distance on a grid of cell centres, x fastest (code 1).
    PointGrid,
}

impl RenderKind {
    /// The kind's code in the file.
    pub const fn code(self) -> u32 {
        match self {
            RenderKind::Image => 0,
            RenderKind::PointGrid => 1,
        }
    }

    /// The kind with this code, or `None`.
    ///
    /// ```
    /// use hyperinr_shared::results::RenderKind;
    /// assert_eq!(RenderKind::from_code(1), Some(RenderKind::PointGrid));
    /// assert_eq!(RenderKind::from_code(2), None);
    /// ```
    pub const fn from_code(code: u32) -> Option<RenderKind> {
        match code {
            0 => Some(RenderKind::Image),
            1 => Some(RenderKind::PointGrid),
            _ => None,
        }
    }
}

//! The reader: [`decode`] checks the header and iterates over typed [`Record`]s.

use super::{RenderKind, ResultsError, Stage, Tag, HEADER_LEN, MAGIC, RECORD_HEADER_LEN, VERSION};
use crate::slices::U32Slice;

/// One record, borrowing its arrays from the file. Values that are `f32` outputs are given
/// as their bits (`f32::to_bits`), which is what the parity tests compare.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record<'a> {
    /// `INFO`.
    Info {
        /// Bytes in the embedded blob.
        blob_len: u32,
        /// CRC-32 of the whole blob.
        blob_crc: u32,
        /// 0 mps2-an386, 1 stm32f405.
        memory_map: u32,
    },
    /// `ERR `.
    Failure {
        /// What failed.
        stage: Stage,
        /// The error's `Debug` text (UTF-8 as written; not checked here).
        text: &'a [u8],
    },
    /// `SELF`.
    SelfTest {
        /// Golden vectors that reproduced.
        checked: u32,
    },
    /// `GVEC`.
    Golden {
        /// Index among the file's golden vectors.
        index: u32,
        /// CRC-32 of the decoded SIREN parameters.
        weights_crc: u32,
        /// Predicted class.
        class: u32,
        /// SIREN output bits at the golden coordinates.
        outputs: U32Slice<'a>,
        /// Logit bits.
        logits: U32Slice<'a>,
    },
    /// `CLAS`.
    Classes {
        /// Stored latents.
        count: u32,
        /// Logits per latent.
        logits: u32,
        /// `(class, logit bits)` of each latent, in store order.
        entries: ClassEntries<'a>,
    },
    /// `ACCU`.
    Accuracy {
        /// Latents classified as their label.
        correct: u32,
        /// Latents classified.
        count: u32,
    },
    /// `WGTS`.
    Weights {
        /// Stored latent index.
        latent: u32,
        /// Decoded SIREN parameter bits.
        values: U32Slice<'a>,
    },
    /// `RNDR`.
    Render {
        /// Stored latent index.
        latent: u32,
        /// What the points are.
        kind: RenderKind,
        /// Points evaluated.
        points: u32,
        /// Outputs per point.
        out_dim: u32,
        /// Output bits, `points × out_dim`.
        values: U32Slice<'a>,
    },
    /// `TICK`.
    Tick {
        /// Interval name, e.g. `*b"DECO"`.
        name: [u8; 4],
        /// SysTick ticks.
        ticks: u64,
        /// Instructions of the calibration loop, MACs, or sine calls.
        work: u32,
    },
    /// `STAK`.
    Stack {
        /// Bytes used (high-water mark).
        used: u32,
        /// Bytes in the stack region.
        size: u32,
    },
    /// `DONE`.
    Done {
        /// The firmware's exit status.
        status: u32,
    },
    /// `FITD`.
    Fitted(Fitted<'a>),
    /// `FACC`.
    FitAccuracy {
        /// Fitted observations classified as their label.
        correct: u32,
        /// Observations fitted.
        count: u32,
    },
}

/// A `FITD` record: one observation fitted on the device and classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fitted<'a> {
    /// Index in the observations file.
    pub observation: u32,
    /// The observation's dataset index.
    pub dataset_index: u32,
    /// Its label.
    pub label: u32,
    /// The class of the fitted latent.
    pub class: u32,
    /// Adam steps.
    pub steps: u32,
    /// Points the loss was taken over.
    pub points: u32,
    /// Mean squared error of the last step (bits).
    pub mse: u32,
    /// The fitted latent's bits.
    pub latent: U32Slice<'a>,
    /// Its logits' bits.
    pub logits: U32Slice<'a>,
}

impl Record<'_> {
    /// The record's kind.
    ///
    /// ```
    /// use hyperinr_shared::results::{Record, Tag};
    /// assert_eq!(Record::Done { status: 0 }.tag(), Tag::Done);
    /// ```
    pub fn tag(&self) -> Tag {
        match self {
            Record::Info { .. } => Tag::Info,
            Record::Failure { .. } => Tag::Failure,
            Record::SelfTest { .. } => Tag::SelfTest,
            Record::Golden { .. } => Tag::Golden,
            Record::Classes { .. } => Tag::Classes,
            Record::Accuracy { .. } => Tag::Accuracy,
            Record::Weights { .. } => Tag::Weights,
            Record::Render { .. } => Tag::Render,
            Record::Tick { .. } => Tag::Tick,
            Record::Stack { .. } => Tag::Stack,
            Record::Done { .. } => Tag::Done,
            Record::Fitted(_) => Tag::Fitted,
            Record::FitAccuracy { .. } => Tag::FitAccuracy,
        }
    }
}

/// The entries of a `CLAS` record: `(class, logit bits)` per stored latent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassEntries<'a> {
    bytes: &'a [u8],
    per: usize,
}

impl<'a> Iterator for ClassEntries<'a> {
    type Item = (u32, U32Slice<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let (class, rest) = self.bytes.split_first_chunk::<4>()?;
        let (logits, rest) = rest.split_at_checked(self.per.checked_mul(4)?)?;
        self.bytes = rest;
        Some((u32::from_le_bytes(*class), U32Slice::new(logits)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let entry = self.per.saturating_mul(4).saturating_add(4);
        let n = self.bytes.len() / entry;
        (n, Some(n))
    }
}

impl ExactSizeIterator for ClassEntries<'_> {}

/// Checks the file header and returns the records that follow.
///
/// ```
/// use hyperinr_shared::results::{decode, ResultsError};
/// assert_eq!(decode(b"HIRS\x02\0\0\0").unwrap().count(), 0);
/// assert_eq!(decode(b"HIRS"), Err(ResultsError::TooShort { len: 4 }));
/// assert!(matches!(decode(b"HIRX\x02\0\0\0"), Err(ResultsError::BadMagic { .. })));
/// let mut file = b"HIRS\x02\0\0\0STAK\x08\0\0\0\x01\0\0\0".to_vec();
/// let err = decode(&file).unwrap().next().unwrap().unwrap_err();
/// assert_eq!(err, ResultsError::Truncated { offset: 8, needed: 16, available: 12 });
/// file.extend_from_slice(&[0; 4]);
/// assert!(decode(&file).unwrap().all(|r| r.is_ok()));
/// ```
pub fn decode(file: &[u8]) -> Result<Records<'_>, ResultsError> {
    let Some((head, _)) = file.split_first_chunk::<HEADER_LEN>() else {
        return Err(ResultsError::TooShort { len: file.len() });
    };
    let (magic, version) = head.split_at(4);
    if magic != MAGIC {
        let mut found = [0u8; 4];
        found.copy_from_slice(magic);
        return Err(ResultsError::BadMagic { found });
    }
    let version = u32::from_le_bytes(version.try_into().unwrap_or([0; 4]));
    if version != VERSION {
        return Err(ResultsError::UnsupportedVersion {
            found: version,
            supported: VERSION,
        });
    }
    Ok(Records {
        file,
        at: HEADER_LEN,
        stopped: false,
    })
}

/// The records of a results file, in file order; after the first error, nothing more
/// (a record that does not decode leaves no way to find the next one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Records<'a> {
    file: &'a [u8],
    at: usize,
    stopped: bool,
}

impl<'a> Records<'a> {
    /// File offset of the next record.
    pub fn offset(&self) -> usize {
        self.at
    }

    fn record(&self) -> Result<(Record<'a>, usize), ResultsError> {
        let offset = self.at;
        let rest = self.file.get(offset..).unwrap_or(&[]);
        let truncated = |needed| ResultsError::Truncated {
            offset,
            needed,
            available: rest.len(),
        };
        let Some((head, rest_payload)) = rest.split_first_chunk::<RECORD_HEADER_LEN>() else {
            return Err(truncated(RECORD_HEADER_LEN));
        };
        let (tag, len) = head.split_at(4);
        let mut tag_bytes = [0u8; 4];
        tag_bytes.copy_from_slice(tag);
        let len = u32::from_le_bytes(len.try_into().unwrap_or([0; 4])) as usize;
        let Some(payload) = rest_payload.get(..len) else {
            return Err(truncated(RECORD_HEADER_LEN.saturating_add(len)));
        };
        let Some(tag) = Tag::from_bytes(tag_bytes) else {
            return Err(ResultsError::UnknownTag {
                offset,
                tag: tag_bytes,
            });
        };
        let mut p = Payload {
            bytes: payload,
            at: 0,
            tag,
            offset,
        };
        let record = p.record()?;
        p.end()?;
        Ok((record, RECORD_HEADER_LEN + len))
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, ResultsError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.stopped || self.at >= self.file.len() {
            return None;
        }
        match self.record() {
            Ok((record, size)) => {
                self.at = self.at.saturating_add(size);
                Some(Ok(record))
            }
            Err(e) => {
                self.stopped = true;
                Some(Err(e))
            }
        }
    }
}

/// A record's payload being read field by field.
struct Payload<'a> {
    bytes: &'a [u8],
    at: usize,
    tag: Tag,
    offset: usize,
}

impl<'a> Payload<'a> {
    fn length_error(&self, needed: usize) -> ResultsError {
        ResultsError::PayloadLength {
            tag: self.tag,
            offset: self.offset,
            len: self.bytes.len(),
            needed,
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ResultsError> {
        let end = self.at.saturating_add(n);
        let got = self.bytes.get(self.at..end);
        let bytes = got.ok_or_else(|| self.length_error(end))?;
        self.at = end;
        Ok(bytes)
    }

    fn u32(&mut self) -> Result<u32, ResultsError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes(b.try_into().unwrap_or([0; 4])))
    }

    fn words(&mut self, n: usize) -> Result<U32Slice<'a>, ResultsError> {
        Ok(U32Slice::new(self.take(n.saturating_mul(4))?))
    }

    fn end(&self) -> Result<(), ResultsError> {
        if self.at == self.bytes.len() {
            Ok(())
        } else {
            Err(self.length_error(self.at))
        }
    }

    fn record(&mut self) -> Result<Record<'a>, ResultsError> {
        let offset = self.offset;
        Ok(match self.tag {
            Tag::Info => Record::Info {
                blob_len: self.u32()?,
                blob_crc: self.u32()?,
                memory_map: self.u32()?,
            },
            Tag::Failure => {
                let code = self.u32()?;
                let stage =
                    Stage::from_code(code).ok_or(ResultsError::UnknownStage { offset, code })?;
                let text = self.take(self.bytes.len().saturating_sub(self.at))?;
                Record::Failure { stage, text }
            }
            Tag::SelfTest => Record::SelfTest {
                checked: self.u32()?,
            },
            Tag::Golden => {
                let (index, weights_crc, class) = (self.u32()?, self.u32()?, self.u32()?);
                let n = self.u32()? as usize;
                let outputs = self.words(n)?;
                let m = self.u32()? as usize;
                let logits = self.words(m)?;
                Record::Golden {
                    index,
                    weights_crc,
                    class,
                    outputs,
                    logits,
                }
            }
            Tag::Classes => {
                let (count, logits) = (self.u32()?, self.u32()?);
                let words = (logits as usize)
                    .saturating_add(1)
                    .saturating_mul(count as usize);
                let bytes = self.words(words)?.as_bytes();
                let entries = ClassEntries {
                    bytes,
                    per: logits as usize,
                };
                Record::Classes {
                    count,
                    logits,
                    entries,
                }
            }
            Tag::Accuracy => Record::Accuracy {
                correct: self.u32()?,
                count: self.u32()?,
            },
            Tag::Weights => {
                let latent = self.u32()?;
                let n = self.u32()? as usize;
                Record::Weights {
                    latent,
                    values: self.words(n)?,
                }
            }
            Tag::Render => {
                let (latent, code, points, out_dim) =
                    (self.u32()?, self.u32()?, self.u32()?, self.u32()?);
                let kind = RenderKind::from_code(code)
                    .ok_or(ResultsError::UnknownRenderKind { offset, code })?;
                let values = self.words((points as usize).saturating_mul(out_dim as usize))?;
                Record::Render {
                    latent,
                    kind,
                    points,
                    out_dim,
                    values,
                }
            }
            Tag::Tick => {
                let mut name = [0u8; 4];
                name.copy_from_slice(self.take(4)?);
                let lo = u64::from(self.u32()?);
                let hi = u64::from(self.u32()?);
                Record::Tick {
                    name,
                    ticks: lo | hi << 32,
                    work: self.u32()?,
                }
            }
            Tag::Stack => Record::Stack {
                used: self.u32()?,
                size: self.u32()?,
            },
            Tag::Done => Record::Done {
                status: self.u32()?,
            },
            Tag::Fitted => {
                let (observation, dataset_index, label, class) =
                    (self.u32()?, self.u32()?, self.u32()?, self.u32()?);
                let (steps, points, mse) = (self.u32()?, self.u32()?, self.u32()?);
                let n = self.u32()? as usize;
                let latent = self.words(n)?;
                let k = self.u32()? as usize;
                let logits = self.words(k)?;
                Record::Fitted(Fitted {
                    observation,
                    dataset_index,
                    label,
                    class,
                    steps,
                    points,
                    mse,
                    latent,
                    logits,
                })
            }
            Tag::FitAccuracy => Record::FitAccuracy {
                correct: self.u32()?,
                count: self.u32()?,
            },
        })
    }
}

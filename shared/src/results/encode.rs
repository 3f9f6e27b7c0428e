//! The writer: [`Encoder`] turns records into bytes for a [`Sink`].

use super::{EncodeError, RenderKind, Stage, Tag, MAGIC, VERSION};
use core::fmt;

/// A sink refused bytes (its buffer is full, a write failed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SinkError;

/// Where an [`Encoder`] puts its bytes, in order: a caller's buffer ([`SliceSink`]), a
/// `Vec<u8>` (feature `std`), or the firmware's buffered semihosting file.
pub trait Sink {
    /// Appends all of `bytes`, or refuses; after a refusal the encoder writes nothing more.
    fn put(&mut self, bytes: &[u8]) -> Result<(), SinkError>;
}

impl<S: Sink + ?Sized> Sink for &mut S {
    fn put(&mut self, bytes: &[u8]) -> Result<(), SinkError> {
        (**self).put(bytes)
    }
}

#[cfg(feature = "std")]
impl Sink for std::vec::Vec<u8> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), SinkError> {
        self.extend_from_slice(bytes);
        Ok(())
    }
}

/// A [`Sink`] over a caller's buffer: no heap, refuses what does not fit.
///
/// ```
/// use hyperinr_shared::results::{Sink, SinkError, SliceSink};
/// let mut buf = [0u8; 3];
/// let mut sink = SliceSink::new(&mut buf);
/// assert_eq!(sink.put(b"ab"), Ok(()));
/// assert_eq!(sink.put(b"cd"), Err(SinkError)); // nothing of it is written
/// assert_eq!(sink.written(), b"ab");
/// ```
#[derive(Debug)]
pub struct SliceSink<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> SliceSink<'b> {
    /// An empty sink writing from the start of `buf`.
    pub fn new(buf: &'b mut [u8]) -> Self {
        Self { buf, len: 0 }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// `true` before the first byte.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// What was written.
    pub fn written(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// What was written, for as long as the buffer lives.
    pub fn into_written(self) -> &'b [u8] {
        let buf: &'b [u8] = self.buf;
        buf.get(..self.len).unwrap_or(&[])
    }
}

impl Sink for SliceSink<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), SinkError> {
        let end = self.len.checked_add(bytes.len()).ok_or(SinkError)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(SinkError)?;
        dst.copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }
}

/// The record whose payload is still being written in pieces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Open {
    Nothing,
    /// `GVEC`: `left` output values to come, then `logits` logits.
    GoldenOutputs {
        left: usize,
        logits: usize,
    },
    /// `GVEC`: the logits to come.
    GoldenLogits {
        logits: usize,
    },
    /// `CLAS`: `left` latents of `per` logits each to come.
    Classes {
        left: usize,
        per: usize,
    },
}

impl Open {
    fn tag(self) -> Option<Tag> {
        match self {
            Open::Nothing => None,
            Open::GoldenOutputs { .. } | Open::GoldenLogits { .. } => Some(Tag::Golden),
            Open::Classes { .. } => Some(Tag::Classes),
        }
    }
}

/// `4 · n` bytes of `n` words, plus `fixed` bytes; `None` on overflow.
fn payload(fixed: usize, words: usize) -> Option<usize> {
    words.checked_mul(4)?.checked_add(fixed)
}

/// Writes a results file record by record (FORMAT.md §6). Every record's length is
/// computed here from what it holds, so a caller cannot get a length wrong; the two records
/// too large to hold in RAM (`GVEC`, `CLAS`) are written in pieces, and the encoder checks
/// that the pieces add up to what their header declared.
///
/// The first problem ([`EncodeError`]) stops the encoder: nothing more reaches the sink, so
/// the file ends before the faulty record instead of continuing with misaligned records;
/// [`Encoder::finish`] reports it.
///
/// ```
/// use hyperinr_shared::results::{decode, Encoder, Record};
/// let mut enc = Encoder::new(Vec::new());
/// enc.classes_start(2, 1);
/// enc.class(4, &[0.5]);
/// enc.class(9, &[-1.0]);
/// enc.accuracy(1, 2);
/// let (file, status) = enc.finish();
/// assert_eq!(status, Ok(()));
/// assert_eq!(&file[..4], b"HIRS");
/// let first = decode(&file).unwrap().next().unwrap().unwrap();
/// let Record::Classes { count: 2, logits: 1, entries } = first else { panic!() };
/// let classes: Vec<u32> = entries.map(|(class, _)| class).collect();
/// assert_eq!(classes, [4, 9]);
/// ```
#[derive(Debug)]
pub struct Encoder<S> {
    sink: S,
    written: usize,
    open: Open,
    error: Option<EncodeError>,
}

impl<S: Sink> Encoder<S> {
    /// Writes the file header (magic, version) into `sink`.
    pub fn new(sink: S) -> Self {
        let mut enc = Self {
            sink,
            written: 0,
            open: Open::Nothing,
            error: None,
        };
        enc.raw(&MAGIC);
        enc.word(VERSION);
        enc
    }

    /// The first problem so far, if any (nothing has been written since).
    pub fn error(&self) -> Option<EncodeError> {
        self.error
    }

    /// Bytes the sink accepted.
    pub fn written(&self) -> usize {
        self.written
    }

    /// Ends the file: the sink (always, so that a file can be closed) and whether every
    /// record was written whole.
    pub fn finish(mut self) -> (S, Result<(), EncodeError>) {
        if let Some(open) = self.open.tag() {
            self.fail(EncodeError::Unfinished { open });
        }
        let status = match self.error {
            Some(e) => Err(e),
            None => Ok(()),
        };
        (self.sink, status)
    }

    /// `INFO`: the embedded blob's length and CRC-32, the memory map (0 mps2-an386,
    /// 1 stm32f405).
    pub fn info(&mut self, blob_len: u32, blob_crc: u32, memory_map: u32) {
        if self.begin(Tag::Info, Some(12)) {
            self.word(blob_len);
            self.word(blob_crc);
            self.word(memory_map);
        }
    }

    /// `ERR `: `stage` failed; `text` is the error's `Debug` text (UTF-8).
    pub fn failure(&mut self, stage: Stage, text: &[u8]) {
        if self.begin(Tag::Failure, text.len().checked_add(4)) {
            self.word(stage.code());
            self.raw(text);
        }
    }

    /// `ERR `: `stage` failed; the text is `text` formatted, typically
    /// `format_args!("{e:?}")`. It is formatted twice, once to measure it and once into the
    /// sink, so that no buffer is needed and no text is cut.
    ///
    /// ```
    /// use hyperinr_shared::results::{decode, Encoder, Record, Stage};
    /// let mut enc = Encoder::new(Vec::new());
    /// enc.failure_fmt(Stage::Parse, format_args!("{:?}", Some(7)));
    /// let (file, status) = enc.finish();
    /// assert_eq!(status, Ok(()));
    /// let record = decode(&file).unwrap().next().unwrap().unwrap();
    /// assert_eq!(record, Record::Failure { stage: Stage::Parse, text: b"Some(7)" });
    /// ```
    pub fn failure_fmt(&mut self, stage: Stage, text: fmt::Arguments<'_>) {
        let mut count = Count(0);
        let _ = fmt::write(&mut count, text);
        if self.begin(Tag::Failure, count.0.checked_add(4)) {
            self.word(stage.code());
            let mut through = Through {
                enc: self,
                left: count.0,
            };
            let cut = fmt::write(&mut through, text).is_err();
            if cut || through.left != 0 {
                // The text formatted differently the second time: the record is wrong.
                self.fail(EncodeError::Unexpected { tag: Tag::Failure });
            }
        }
    }

    /// `SELF`: the self-test reproduced `checked` golden vectors.
    pub fn self_test(&mut self, checked: u32) {
        if self.begin(Tag::SelfTest, Some(4)) {
            self.word(checked);
        }
    }

    /// Starts `GVEC` for golden vector `index`: the CRC-32 of its decoded parameters, its
    /// class, and how many output values and logits follow. Then [`Encoder::golden_outputs`]
    /// (any number of calls, `outputs` values in all) and one [`Encoder::golden_logits`].
    pub fn golden_start(
        &mut self,
        index: u32,
        weights_crc: u32,
        class: u32,
        outputs: usize,
        logits: usize,
    ) {
        let len = outputs.checked_add(logits).and_then(|n| payload(20, n));
        if self.begin(Tag::Golden, len) {
            self.word(index);
            self.word(weights_crc);
            self.word(class);
            // `begin` bounded the whole payload by u32::MAX, so the count fits.
            self.word(outputs as u32);
            self.open = if outputs == 0 {
                Open::GoldenLogits { logits }
            } else {
                Open::GoldenOutputs {
                    left: outputs,
                    logits,
                }
            };
        }
    }

    /// Output values of the open `GVEC` record (e.g. one point's).
    pub fn golden_outputs(&mut self, values: &[f32]) {
        match self.open {
            Open::GoldenOutputs { left, logits } if values.len() <= left => {
                self.f32s(values);
                let left = left - values.len();
                self.open = if left == 0 {
                    Open::GoldenLogits { logits }
                } else {
                    Open::GoldenOutputs { left, logits }
                };
            }
            _ => self.fail(EncodeError::Unexpected { tag: Tag::Golden }),
        }
    }

    /// The logits that end the open `GVEC` record, after all of its outputs.
    pub fn golden_logits(&mut self, logits: &[f32]) {
        match self.open {
            Open::GoldenLogits { logits: n } if n == logits.len() => {
                self.word(n as u32);
                self.f32s(logits);
                self.open = Open::Nothing;
            }
            _ => self.fail(EncodeError::Unexpected { tag: Tag::Golden }),
        }
    }

    /// Starts `CLAS`: `count` stored latents with `logits` logits each follow, one
    /// [`Encoder::class`] call each.
    pub fn classes_start(&mut self, count: usize, logits: usize) {
        let len = logits
            .checked_add(1)
            .and_then(|per| per.checked_mul(count))
            .and_then(|n| payload(8, n));
        if self.begin(Tag::Classes, len) {
            self.word(count as u32);
            self.word(logits as u32);
            if count > 0 {
                self.open = Open::Classes {
                    left: count,
                    per: logits,
                };
            }
        }
    }

    /// The next stored latent of the open `CLAS` record: its class and logits.
    pub fn class(&mut self, class: u32, logits: &[f32]) {
        match self.open {
            Open::Classes { left, per } if per == logits.len() => {
                self.word(class);
                self.f32s(logits);
                self.open = match left - 1 {
                    0 => Open::Nothing,
                    left => Open::Classes { left, per },
                };
            }
            _ => self.fail(EncodeError::Unexpected { tag: Tag::Classes }),
        }
    }

    /// `ACCU`: `correct` of `count` stored latents classify as their label.
    pub fn accuracy(&mut self, correct: u32, count: u32) {
        if self.begin(Tag::Accuracy, Some(8)) {
            self.word(correct);
            self.word(count);
        }
    }

    /// `WGTS`: stored latent `latent` decodes to the SIREN parameters `values`.
    pub fn weights(&mut self, latent: u32, values: &[f32]) {
        if self.begin(Tag::Weights, payload(8, values.len())) {
            self.word(latent);
            self.word(values.len() as u32);
            self.f32s(values);
        }
    }

    /// `RNDR`: stored latent `latent` rendered at `points` points of `kind`, `out_dim`
    /// values each (`values`: `points × out_dim`, else [`EncodeError::Unexpected`]).
    pub fn render(
        &mut self,
        latent: u32,
        kind: RenderKind,
        points: usize,
        out_dim: usize,
        values: &[f32],
    ) {
        if points.checked_mul(out_dim) != Some(values.len()) {
            self.fail(EncodeError::Unexpected { tag: Tag::Render });
            return;
        }
        if self.begin(Tag::Render, payload(16, values.len())) {
            self.word(latent);
            self.word(kind.code());
            self.word(points as u32);
            self.word(out_dim as u32);
            self.f32s(values);
        }
    }

    /// `TICK`: interval `name` (e.g. `*b"DECO"`) took `ticks` SysTick ticks for `work`
    /// (instructions of the calibration loop, MACs, sine calls).
    pub fn tick(&mut self, name: [u8; 4], ticks: u64, work: u32) {
        if self.begin(Tag::Tick, Some(16)) {
            self.raw(&name);
            self.word(ticks as u32);
            self.word((ticks >> 32) as u32);
            self.word(work);
        }
    }

    /// `STAK`: `used` of `size` stack bytes (high-water mark).
    pub fn stack(&mut self, used: u32, size: u32) {
        if self.begin(Tag::Stack, Some(8)) {
            self.word(used);
            self.word(size);
        }
    }

    /// `FITD`: observation `observation` (dataset index, label) fitted in `steps` steps
    /// over `points` points to `latent` (last step's error `mse`), classified as `class`
    /// with `logits`.
    #[allow(clippy::too_many_arguments)]
    pub fn fitted(
        &mut self,
        observation: u32,
        dataset_index: u32,
        label: u32,
        class: u32,
        fit: (u32, u32, f32),
        latent: &[f32],
        logits: &[f32],
    ) {
        let (steps, points, mse) = fit;
        let len = latent
            .len()
            .checked_add(logits.len())
            .and_then(|n| payload(36, n));
        if self.begin(Tag::Fitted, len) {
            for word in [observation, dataset_index, label, class, steps, points] {
                self.word(word);
            }
            self.word(mse.to_bits());
            self.word(latent.len() as u32);
            self.f32s(latent);
            self.word(logits.len() as u32);
            self.f32s(logits);
        }
    }

    /// `FACC`: `correct` of `count` fitted observations classify as their label.
    pub fn fit_accuracy(&mut self, correct: u32, count: u32) {
        if self.begin(Tag::FitAccuracy, Some(8)) {
            self.word(correct);
            self.word(count);
        }
    }

    /// `DONE`: the exit status.
    pub fn done(&mut self, status: u32) {
        if self.begin(Tag::Done, Some(4)) {
            self.word(status);
        }
    }

    /// Writes a record header; `false` (and nothing written) when stopped, when a record
    /// is still open or when `len` is `None` or over `u32::MAX`.
    fn begin(&mut self, tag: Tag, len: Option<usize>) -> bool {
        if self.error.is_some() {
            return false;
        }
        if let Some(open) = self.open.tag() {
            self.fail(EncodeError::Unfinished { open });
            return false;
        }
        let Some(len) = len.and_then(|l| u32::try_from(l).ok()) else {
            self.fail(EncodeError::TooLong { tag });
            return false;
        };
        self.raw(&tag.bytes());
        self.word(len);
        self.error.is_none()
    }

    fn fail(&mut self, e: EncodeError) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    fn raw(&mut self, bytes: &[u8]) {
        if self.error.is_some() {
            return;
        }
        match self.sink.put(bytes) {
            Ok(()) => self.written = self.written.saturating_add(bytes.len()),
            Err(SinkError) => self.fail(EncodeError::Sink {
                written: self.written,
            }),
        }
    }

    fn word(&mut self, v: u32) {
        self.raw(&v.to_le_bytes());
    }

    fn f32s(&mut self, values: &[f32]) {
        for v in values {
            self.word(v.to_bits());
        }
    }
}

/// Counts the bytes a text formats to.
struct Count(usize);

impl fmt::Write for Count {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 = self.0.saturating_add(s.len());
        Ok(())
    }
}

/// Writes formatted text into an encoder, at most `left` bytes (what the record declared).
struct Through<'e, S> {
    enc: &'e mut Encoder<S>,
    left: usize,
}

impl<S: Sink> fmt::Write for Through<'_, S> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let bytes = s.as_bytes();
        let n = bytes.len().min(self.left);
        self.enc.raw(bytes.get(..n).unwrap_or(&[]));
        self.left -= n;
        if n == bytes.len() {
            Ok(())
        } else {
            Err(fmt::Error)
        }
    }
}

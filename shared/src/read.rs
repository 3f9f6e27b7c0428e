//! The zero-copy reader: header, then sections one by one, then consistency checks.

use crate::error::{FormatError, Section};
use crate::header::{Header, HEADER_LEN};
use crate::model::{Classifier, GoldenVector, LatentStore, ModelConfig, ModelFile, Provenance};
use crate::model::{InputKind, QuantLinear, QuerySampler, MAX_GOLDEN, MAX_LAYERS};
use serde::Deserialize;

/// Decodes one section from `rest`, advancing it; `offset` tracks the file offset.
pub(crate) fn section<'a, T: Deserialize<'a>>(
    rest: &mut &'a [u8],
    offset: &mut usize,
    which: Section,
) -> Result<T, FormatError> {
    let (value, tail) = postcard::take_from_bytes::<T>(rest).map_err(|_| FormatError::Decode {
        section: which,
        offset: *offset,
    })?;
    *offset += rest.len() - tail.len();
    *rest = tail;
    Ok(value)
}

/// The oldest format version that holds `config`.
fn config_version(config: &ModelConfig<'_>) -> u16 {
    match config.input {
        InputKind::PointCloud { sampler, .. } if sampler != QuerySampler::DEFAULT => 3,
        _ => 2,
    }
}

impl<'a> ModelFile<'a> {
    /// The format version this model is written in: the oldest that holds it — 3 for a
    /// point cloud whose query sampler is not [`QuerySampler::DEFAULT`], else 2.
    ///
    /// ```
    /// let example = hyperinr_shared::example::ExampleModel::new();
    /// assert_eq!(example.file().format_version(), 2);
    /// assert_eq!(example.file().to_bytes().unwrap()[4], 2);
    /// ```
    pub fn format_version(&self) -> u16 {
        config_version(&self.config)
    }

    /// Parses and validates a whole `.hinr` file, borrowing every array from `file`.
    ///
    /// Any byte sequence gives either a model whose every length and index is consistent
    /// (see FORMAT.md, "What a reader rejects") or a [`FormatError`]; it never panics.
    ///
    /// ```
    /// use hyperinr_shared::{ModelFile, FormatError};
    /// assert_eq!(ModelFile::parse(b"HINR"), Err(FormatError::TooShort { len: 4 }));
    /// ```
    pub fn parse(file: &'a [u8]) -> Result<ModelFile<'a>, FormatError> {
        let (header, payload) = Header::parse(file)?;
        let mut rest = payload;
        let mut offset = HEADER_LEN;
        let config: ModelConfig<'a> = section(&mut rest, &mut offset, Section::Config)?;
        // A version-2 file cannot hold `InputKind` variant 2 (a recorded query sampler),
        // and a version-3 file must: one version per model.
        let content = config_version(&config);
        if content != header.version {
            return Err(FormatError::VersionMismatch {
                declared: header.version,
                content,
            });
        }
        let provenance: Provenance<'a> = section(&mut rest, &mut offset, Section::Provenance)?;
        let hypernet: heapless::Vec<QuantLinear<'a>, MAX_LAYERS> =
            section(&mut rest, &mut offset, Section::Hypernet)?;
        let linear_path: Option<QuantLinear<'a>> =
            section(&mut rest, &mut offset, Section::LinearPath)?;
        let classifier: Classifier<'a> = section(&mut rest, &mut offset, Section::Classifier)?;
        let latents: LatentStore<'a> = section(&mut rest, &mut offset, Section::Latents)?;
        let golden: heapless::Vec<GoldenVector<'a>, MAX_GOLDEN> =
            section(&mut rest, &mut offset, Section::Golden)?;
        if !rest.is_empty() {
            return Err(FormatError::TrailingPayload { offset });
        }
        let model = ModelFile {
            config,
            provenance,
            hypernet,
            linear_path,
            classifier,
            latents,
            golden,
        };
        crate::validate::validate(&model)?;
        Ok(model)
    }
}

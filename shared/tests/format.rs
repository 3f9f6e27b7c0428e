//! The reader's contract: round trips, and one distinct error per kind of damage.

use hyperinr_shared::example::{encode_unchecked, ExampleModel};
use hyperinr_shared::{crc32::crc32, FormatError, ModelFile, Problem, Section, HEADER_LEN};
use proptest::prelude::*;

fn example_bytes() -> Vec<u8> {
    ExampleModel::new().file().to_bytes().unwrap()
}

/// Rewrites the header CRC after the payload was edited.
fn fix_crc(bytes: &mut [u8]) {
    let crc = crc32(&bytes[HEADER_LEN..]);
    bytes[12..16].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn round_trip_is_exact() {
    let example = ExampleModel::new();
    let bytes = example.file().to_bytes().unwrap();
    let parsed = ModelFile::parse(&bytes).unwrap();
    assert_eq!(parsed, example.file());
    assert_eq!(parsed.to_bytes().unwrap(), bytes);
    assert_eq!(parsed.config.class_name(1), Some("odd"));
    assert_eq!(parsed.config.siren_param_count(), 9);
}

#[test]
fn arrays_are_borrowed_not_copied() {
    let bytes = example_bytes();
    let parsed = ModelFile::parse(&bytes).unwrap();
    let range = bytes.as_ptr_range();
    let codes = parsed.latents.codes.as_bytes().as_ptr();
    assert!(
        range.contains(&codes),
        "latent codes must point into the blob"
    );
    let scales = parsed.hypernet[1].scales.as_bytes().as_ptr();
    assert!(range.contains(&scales));
}

#[test]
fn short_file() {
    assert_eq!(ModelFile::parse(&[]), Err(FormatError::TooShort { len: 0 }));
    let bytes = example_bytes();
    assert_eq!(
        ModelFile::parse(&bytes[..15]),
        Err(FormatError::TooShort { len: 15 })
    );
}

#[test]
fn bad_magic() {
    let mut bytes = example_bytes();
    bytes[0] = b'X';
    assert_eq!(
        ModelFile::parse(&bytes),
        Err(FormatError::BadMagic { found: *b"XINR" })
    );
}

#[test]
fn future_version() {
    let mut bytes = example_bytes();
    bytes[4..6].copy_from_slice(&2u16.to_le_bytes());
    assert_eq!(
        ModelFile::parse(&bytes),
        Err(FormatError::UnsupportedVersion {
            found: 2,
            supported: 1
        })
    );
}

#[test]
fn reserved_flags() {
    let mut bytes = example_bytes();
    bytes[6] = 1;
    assert_eq!(
        ModelFile::parse(&bytes),
        Err(FormatError::ReservedFlags { found: 1 })
    );
}

#[test]
fn absurd_length() {
    let mut bytes = example_bytes();
    bytes[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        ModelFile::parse(&bytes),
        Err(FormatError::AbsurdLength {
            declared: u32::MAX,
            ..
        })
    ));
}

#[test]
fn truncated_payload() {
    let bytes = example_bytes();
    let cut = &bytes[..bytes.len() - 3];
    let declared = (bytes.len() - HEADER_LEN) as u32;
    assert_eq!(
        ModelFile::parse(cut),
        Err(FormatError::Truncated {
            declared,
            available: declared as usize - 3
        })
    );
}

#[test]
fn trailing_bytes() {
    let mut bytes = example_bytes();
    bytes.push(0);
    assert!(matches!(
        ModelFile::parse(&bytes),
        Err(FormatError::TrailingBytes { .. })
    ));
}

#[test]
fn corrupted_crc() {
    let mut bytes = example_bytes();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    assert!(matches!(
        ModelFile::parse(&bytes),
        Err(FormatError::CrcMismatch { .. })
    ));
}

#[test]
fn undecodable_section_names_section_and_offset() {
    // A payload of one byte 0xFF cannot start a config (the dataset string's length
    // varint is unterminated).
    let mut bytes = hyperinr_shared::Header::encode(&[0xFF]).to_vec();
    bytes.push(0xFF);
    assert_eq!(
        ModelFile::parse(&bytes),
        Err(FormatError::Decode {
            section: Section::Config,
            offset: HEADER_LEN
        })
    );
    // Cut the payload inside the golden section (its length is the last byte): the
    // header is fixed up, so only the decoder can notice.
    let good = example_bytes();
    let mut cut = good[..good.len() - 1].to_vec();
    let len = (cut.len() - HEADER_LEN) as u32;
    cut[8..12].copy_from_slice(&len.to_le_bytes());
    fix_crc(&mut cut);
    assert_eq!(
        ModelFile::parse(&cut),
        Err(FormatError::Decode {
            section: Section::Golden,
            offset: good.len() - 1
        })
    );
}

#[test]
fn extra_payload_after_last_section() {
    let mut bytes = example_bytes();
    bytes.push(0);
    let len = (bytes.len() - HEADER_LEN) as u32;
    bytes[8..12].copy_from_slice(&len.to_le_bytes());
    fix_crc(&mut bytes);
    assert_eq!(
        ModelFile::parse(&bytes),
        Err(FormatError::TrailingPayload {
            offset: bytes.len() - 1
        })
    );
}

fn invalid_field(edit: impl FnOnce(&mut ExampleModel)) -> (&'static str, u32, Problem) {
    let mut example = ExampleModel::new();
    edit(&mut example);
    example.refresh();
    let file = example.file();
    assert!(file.to_bytes().is_err(), "the writer must refuse it too");
    match ModelFile::parse(&encode_unchecked(&file)) {
        Err(FormatError::Invalid {
            field,
            index,
            problem,
        }) => (field, index, problem),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn inconsistent_fields_are_named() {
    let (field, index, problem) = invalid_field(|m| m.labels[1] = 2);
    assert_eq!((field, index), ("latents.labels", 1));
    assert_eq!(problem, Problem::TooLarge { found: 2, max: 1 });

    let (field, index, _) = invalid_field(|m| m.h1_scales[3] = f32::INFINITY);
    assert_eq!((field, index), ("hypernet.scales", 1));

    let (field, _, problem) = invalid_field(|m| {
        m.h1_weights.pop();
    });
    assert_eq!(field, "hypernet.weights");
    assert_eq!(
        problem,
        Problem::Length {
            expected: 27,
            found: 26
        }
    );

    let (field, _, _) = invalid_field(|m| {
        m.scales.pop();
    });
    assert_eq!(field, "latents.scales");

    let (field, _, _) = invalid_field(|m| {
        m.inv_std.push(1.0);
    });
    assert_eq!(field, "classifier.inv_std");
}

#[test]
fn inconsistent_config_is_named() {
    let example = ExampleModel::new();
    let mut file = example.file();
    file.config.siren_hidden[0] = 3;
    let err = ModelFile::parse(&encode_unchecked(&file)).unwrap_err();
    assert_eq!(
        err,
        FormatError::Invalid {
            field: "hypernet.rows",
            index: 1,
            problem: Problem::Dimension {
                expected: 13,
                found: 9
            }
        }
    );
    let mut file = example.file();
    file.config.class_names = "one";
    assert!(matches!(
        ModelFile::parse(&encode_unchecked(&file)),
        Err(FormatError::Invalid {
            field: "config.class_names",
            ..
        })
    ));
    let mut file = example.file();
    file.config.in_dim = 3;
    assert!(matches!(
        ModelFile::parse(&encode_unchecked(&file)),
        Err(FormatError::Invalid {
            field: "config.in_dim",
            ..
        })
    ));
}

#[test]
fn errors_display_what_and_where() {
    let mut bytes = example_bytes();
    bytes[4] = 9;
    let text = ModelFile::parse(&bytes).unwrap_err().to_string();
    assert!(
        text.contains("offset 4") && text.contains("version 9"),
        "{text}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_bytes_parse_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = ModelFile::parse(&bytes);
    }

    #[test]
    fn any_bytes_behind_a_valid_header(payload in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut bytes = hyperinr_shared::Header::encode(&payload).to_vec();
        bytes.extend_from_slice(&payload);
        let _ = ModelFile::parse(&bytes);
    }

    #[test]
    fn flipped_payload_bytes_with_fixed_crc(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6)) {
        let mut bytes = example_bytes();
        let n = bytes.len() - HEADER_LEN;
        for (at, value) in edits {
            bytes[HEADER_LEN + at % n] = value;
        }
        fix_crc(&mut bytes);
        let parsed = ModelFile::parse(&bytes);
        if let Ok(model) = &parsed {
            // Whatever parses must be consistent enough to encode again.
            prop_assert!(model.to_bytes().is_ok());
        }
    }

    #[test]
    fn any_single_flipped_byte_is_detected(at in 0usize..10_000, bit in 0u8..8) {
        let mut bytes = example_bytes();
        let at = at % bytes.len();
        bytes[at] ^= 1 << bit;
        prop_assert!(ModelFile::parse(&bytes).is_err());
    }
}

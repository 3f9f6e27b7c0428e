//! The reader's contract: round trips, and one distinct error per kind of damage.

use hyperinr_shared::example::{encode_unchecked, ExampleModel};
use hyperinr_shared::{crc32::crc32, FormatError, ModelFile, Problem, Section, HEADER_LEN};
use hyperinr_shared::{
    upgrade, FitSettings, HyperActivation, InputKind, QuantLinear, QuerySampler,
};
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
    bytes[4..6].copy_from_slice(&4u16.to_le_bytes());
    assert_eq!(
        ModelFile::parse(&bytes),
        Err(FormatError::UnsupportedVersion {
            found: 4,
            supported: 3
        })
    );
    // Version 3 is read, but the example is a version-2 model.
    bytes[4..6].copy_from_slice(&3u16.to_le_bytes());
    assert_eq!(
        ModelFile::parse(&bytes),
        Err(FormatError::VersionMismatch {
            declared: 3,
            content: 2
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
        text.contains("offset 4") && text.contains("version 9") && text.contains("2 to 3"),
        "{text}"
    );
    bytes[4] = 3;
    let text = ModelFile::parse(&bytes).unwrap_err().to_string();
    assert!(
        text.contains("offset 4") && text.contains("version 3") && text.contains("version-2 model"),
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

// ---------------------------------------------------------------------------------------
// Format version 2: φ's activation, the linear path, the fit settings; version-1 files.
// ---------------------------------------------------------------------------------------

/// The example with SiLU and the linear path.
fn example_v2() -> ExampleModel {
    let mut m = ExampleModel::new();
    m.hyper_activation = HyperActivation::Silu;
    m.linear_path = true;
    m.refresh();
    m
}

#[test]
fn version_2_fields_round_trip() {
    for activation in [
        HyperActivation::Relu,
        HyperActivation::LeakyRelu,
        HyperActivation::Silu,
    ] {
        for linear in [false, true] {
            let mut m = ExampleModel::new();
            m.hyper_activation = activation;
            m.linear_path = linear;
            m.fit.steps = 100;
            m.fit.init_std = 0.01;
            m.refresh();
            let bytes = m.file().to_bytes().unwrap();
            assert_eq!(&bytes[4..6], &2u16.to_le_bytes());
            let parsed = ModelFile::parse(&bytes).unwrap();
            assert_eq!(parsed, m.file());
            assert_eq!(parsed.config.hyper_activation, activation);
            assert_eq!(parsed.config.fit, m.fit);
            assert_eq!(parsed.linear_path.is_some(), linear);
            assert_eq!(parsed.to_bytes().unwrap(), bytes);
        }
    }
}

#[test]
fn version_2_fields_have_the_documented_bytes() {
    // FORMAT.md 2.1 and 2.4: the config ends with the activation's variant index and the
    // fit settings (steps as a varint, six little-endian f32); the linear path section is
    // postcard's Option (0x00, or 0x01 and a QuantLinear) right after the hypernet section.
    let m = example_v2();
    let file = m.file();
    let config = postcard::to_allocvec(&file.config).unwrap();
    let mut tail = vec![2u8, 30];
    for v in [0.02f32, 0.9, 0.999, 1e-8, 1e-4, 0.0] {
        tail.extend_from_slice(&v.to_le_bytes());
    }
    assert!(config.ends_with(&tail), "{config:?}");
    let linear = postcard::to_allocvec(&file.linear_path).unwrap();
    assert_eq!(
        &linear[..4],
        &[1, 9, 2, 18],
        "Some, rows 9, cols 2, 18 weight bytes"
    );
    assert_eq!(
        postcard::to_allocvec(&None::<QuantLinear<'_>>).unwrap(),
        vec![0]
    );
    // Section order: config, provenance, hypernet, linear_path, classifier, latents, golden.
    let bytes = file.to_bytes().unwrap();
    let provenance = postcard::to_allocvec(&file.provenance).unwrap();
    let hypernet = postcard::to_allocvec(&file.hypernet).unwrap();
    let at = HEADER_LEN + config.len() + provenance.len() + hypernet.len();
    assert_eq!(&bytes[at..at + linear.len()], &linear[..]);
}

/// Offset of the config's activation byte in the example's file (the 26th byte from the
/// config's end: the activation, then steps (1 byte) and six f32).
fn activation_offset(m: &ExampleModel) -> usize {
    let config = postcard::to_allocvec(&m.file().config).unwrap();
    HEADER_LEN + config.len() - 26
}

#[test]
fn unknown_activation_is_a_config_decode_error() {
    let m = example_v2();
    let mut bytes = m.file().to_bytes().unwrap();
    let at = activation_offset(&m);
    assert_eq!(bytes[at], 2, "Silu");
    bytes[at] = 1;
    fix_crc(&mut bytes);
    assert_eq!(
        ModelFile::parse(&bytes).unwrap().config.hyper_activation,
        HyperActivation::LeakyRelu
    );
    bytes[at] = 3;
    fix_crc(&mut bytes);
    assert_eq!(
        ModelFile::parse(&bytes),
        Err(FormatError::Decode {
            section: Section::Config,
            offset: HEADER_LEN
        })
    );
}

#[test]
fn bad_linear_path_tag_is_a_linear_path_decode_error() {
    let m = example_v2();
    let file = m.file();
    let mut bytes = file.to_bytes().unwrap();
    let at = HEADER_LEN
        + postcard::to_allocvec(&file.config).unwrap().len()
        + postcard::to_allocvec(&file.provenance).unwrap().len()
        + postcard::to_allocvec(&file.hypernet).unwrap().len();
    assert_eq!(bytes[at], 1, "Some");
    bytes[at] = 2;
    fix_crc(&mut bytes);
    assert_eq!(
        ModelFile::parse(&bytes),
        Err(FormatError::Decode {
            section: Section::LinearPath,
            offset: at
        })
    );
}

fn invalid_v2(edit: impl FnOnce(&mut ExampleModel)) -> (&'static str, u32, Problem) {
    invalid_field(|m| {
        m.hyper_activation = HyperActivation::Silu;
        m.linear_path = true;
        edit(m)
    })
}

#[test]
fn malformed_linear_path_is_named() {
    let (field, _, problem) = invalid_v2(|m| {
        m.lin_weights.pop();
    });
    assert_eq!(field, "linear_path.weights");
    assert_eq!(
        problem,
        Problem::Length {
            expected: 18,
            found: 17
        }
    );
    let (field, _, problem) = invalid_v2(|m| {
        m.lin_scales.pop();
    });
    assert_eq!(
        (field, problem),
        (
            "linear_path.scales",
            Problem::Length {
                expected: 36,
                found: 32
            }
        )
    );
    let (field, _, problem) = invalid_v2(|m| m.lin_bias.push(0.0));
    assert_eq!(
        (field, problem),
        (
            "linear_path.bias",
            Problem::Length {
                expected: 36,
                found: 40
            }
        )
    );
    let (field, _, problem) = invalid_v2(|m| m.lin_scales[8] = f32::NAN);
    assert_eq!((field, problem), ("linear_path.scales", Problem::NonFinite));
    let (field, _, problem) = invalid_v2(|m| m.lin_bias[0] = f32::NEG_INFINITY);
    assert_eq!((field, problem), ("linear_path.bias", Problem::NonFinite));

    // Wrong shapes: rows must be the SIREN parameter count, cols the latent dimension.
    let m = example_v2();
    let mut file = m.file();
    let a = file.linear_path.as_mut().unwrap();
    a.rows = 6;
    a.cols = 3;
    let err = ModelFile::parse(&encode_unchecked(&file)).unwrap_err();
    assert_eq!(
        err,
        FormatError::Invalid {
            field: "linear_path.cols",
            index: 0,
            problem: Problem::Dimension {
                expected: 2,
                found: 3
            }
        }
    );
    assert!(file.to_bytes().is_err());
    let mut file = m.file();
    file.linear_path.as_mut().unwrap().rows = 6;
    let err = ModelFile::parse(&encode_unchecked(&file)).unwrap_err();
    assert_eq!(
        err,
        FormatError::Invalid {
            field: "linear_path.rows",
            index: 0,
            problem: Problem::Dimension {
                expected: 9,
                found: 6
            }
        }
    );
}

/// The example (an image model) turned into a point cloud with `sampler`: the config's
/// input is checked before anything that depends on the coordinate width.
fn cloud_with_sampler(sampler: QuerySampler) -> Result<(), FormatError> {
    let example = ExampleModel::new();
    let mut file = example.file();
    file.config.input = InputKind::PointCloud {
        udf_clamp: 0.2,
        sampler,
    };
    ModelFile::parse(&encode_unchecked(&file)).map(|_| ())
}

#[test]
fn malformed_query_sampler_is_named() {
    type Edit = fn(&mut QuerySampler);
    let cases: [(Edit, &str, u32, Problem); 7] = [
        (
            |s| s.sigmas[0] = 0.0,
            "config.input.sampler.sigmas",
            0,
            Problem::NotPositive,
        ),
        (
            |s| s.sigmas[2] = -0.1,
            "config.input.sampler.sigmas",
            2,
            Problem::NotPositive,
        ),
        (
            |s| s.sigmas[1] = f32::NAN,
            "config.input.sampler.sigmas",
            1,
            Problem::NonFinite,
        ),
        (
            |s| s.uniform_fraction = 1.25,
            "config.input.sampler.uniform_fraction",
            0,
            Problem::AboveOne,
        ),
        (
            |s| s.uniform_fraction = -0.5,
            "config.input.sampler.uniform_fraction",
            0,
            Problem::Negative,
        ),
        (
            |s| s.bound = 0.0,
            "config.input.sampler.bound",
            0,
            Problem::NotPositive,
        ),
        (
            |s| s.bound = f32::INFINITY,
            "config.input.sampler.bound",
            0,
            Problem::NonFinite,
        ),
    ];
    for (edit, field, index, problem) in cases {
        let mut sampler = QuerySampler {
            uniform_fraction: 0.8,
            ..QuerySampler::DEFAULT
        };
        edit(&mut sampler);
        assert_eq!(
            cloud_with_sampler(sampler),
            Err(FormatError::Invalid {
                field,
                index,
                problem
            })
        );
    }
    // Valid samplers pass the input check (and fail later, on the image model's SIREN
    // width): all-uniform, no uniform, the default.
    for uniform_fraction in [0.0, 1.0, 0.2] {
        let sampler = QuerySampler {
            uniform_fraction,
            ..QuerySampler::DEFAULT
        };
        assert!(matches!(
            cloud_with_sampler(sampler),
            Err(FormatError::Invalid {
                field: "config.in_dim",
                ..
            })
        ));
    }
}

#[test]
fn point_cloud_input_keeps_old_bytes_for_the_default_sampler() {
    // Variant 1 `{ udf_clamp }` is what every file written before the sampler was recorded
    // holds; variant 2 adds σ, the uniform share and the bound.
    let default = InputKind::PointCloud {
        udf_clamp: 0.1,
        sampler: QuerySampler::DEFAULT,
    };
    assert_eq!(
        postcard::to_allocvec(&default).unwrap(),
        [&[1u8][..], &0.1f32.to_le_bytes()].concat()
    );
    let sampler = QuerySampler {
        sigmas: [0.005, 0.02, 0.2],
        uniform_fraction: 0.8,
        bound: 1.0,
    };
    let wide = InputKind::PointCloud {
        udf_clamp: 0.2,
        sampler,
    };
    let bytes = postcard::to_allocvec(&wide).unwrap();
    let floats = [0.2f32, 0.005, 0.02, 0.2, 0.8, 1.0];
    let expected: Vec<u8> = [2u8]
        .into_iter()
        .chain(floats.iter().flat_map(|f| f.to_le_bytes()))
        .collect();
    assert_eq!(bytes, expected);
    assert_eq!(postcard::from_bytes::<InputKind>(&bytes).unwrap(), wide);
    // Variant 1 reads as the default sampler; no variant past 2.
    let old = [&[1u8][..], &0.25f32.to_le_bytes()].concat();
    assert_eq!(
        postcard::from_bytes::<InputKind>(&old).unwrap(),
        InputKind::PointCloud {
            udf_clamp: 0.25,
            sampler: QuerySampler::DEFAULT
        }
    );
    assert!(postcard::from_bytes::<InputKind>(&[3, 0, 0, 0, 0]).is_err());
    // Variant 2 holding the default sampler is not an encoding of anything (variant 1 is).
    let default_as_2: Vec<u8> = [2u8]
        .into_iter()
        .chain(
            [0.1f32, 0.01, 0.03, 0.1, 0.2, 1.1]
                .iter()
                .flat_map(|f| f.to_le_bytes()),
        )
        .collect();
    assert!(postcard::from_bytes::<InputKind>(&default_as_2).is_err());
}

#[test]
fn malformed_fit_settings_are_named() {
    type Edit = fn(&mut FitSettings);
    let cases: [(Edit, &str, Problem); 13] = [
        (|f| f.steps = 0, "config.fit.steps", Problem::Empty),
        (|f| f.lr = 0.0, "config.fit.lr", Problem::NotPositive),
        (|f| f.lr = f32::NAN, "config.fit.lr", Problem::NonFinite),
        (|f| f.beta1 = 1.0, "config.fit.beta1", Problem::NotBelowOne),
        (|f| f.beta1 = -0.1, "config.fit.beta1", Problem::Negative),
        (
            |f| f.beta2 = f32::INFINITY,
            "config.fit.beta2",
            Problem::NonFinite,
        ),
        (|f| f.beta2 = 1.5, "config.fit.beta2", Problem::NotBelowOne),
        (|f| f.eps = 0.0, "config.fit.eps", Problem::NotPositive),
        (|f| f.eps = -1e-8, "config.fit.eps", Problem::NotPositive),
        (
            |f| f.latent_l2 = -1e-4,
            "config.fit.latent_l2",
            Problem::Negative,
        ),
        (
            |f| f.latent_l2 = f32::NAN,
            "config.fit.latent_l2",
            Problem::NonFinite,
        ),
        (
            |f| f.init_std = -0.01,
            "config.fit.init_std",
            Problem::Negative,
        ),
        (
            |f| f.init_std = f32::INFINITY,
            "config.fit.init_std",
            Problem::NonFinite,
        ),
    ];
    for (edit, field, problem) in cases {
        let got = invalid_field(|m| edit(&mut m.fit));
        assert_eq!(got, (field, 0, problem));
    }
    // Zero L2 weight, zero initial std and β = 0 are valid settings.
    let mut m = ExampleModel::new();
    m.fit.latent_l2 = 0.0;
    m.fit.init_std = 0.0;
    m.fit.beta1 = 0.0;
    m.refresh();
    assert!(m.file().to_bytes().is_ok());
}

#[test]
fn version_1_file_is_a_typed_error_and_converts_losslessly() {
    let example = ExampleModel::new();
    let v1 = upgrade::encode_v1(&example.file()).unwrap();
    assert_eq!(&v1[4..6], &1u16.to_le_bytes());
    let err = ModelFile::parse(&v1).unwrap_err();
    assert_eq!(
        err,
        FormatError::UnsupportedVersion {
            found: 1,
            supported: 3
        }
    );
    let text = err.to_string();
    assert!(
        text.contains("version 1") && text.contains("hyperinr upgrade"),
        "{text}"
    );

    let mut fit = example.fit;
    fit.steps = 7;
    let up = upgrade::parse_v1(&v1, fit).unwrap();
    assert_eq!(up.config.hyper_activation, HyperActivation::Relu);
    assert!(up.linear_path.is_none());
    assert_eq!(up.config.fit, fit);
    // Every array is the version-1 file's own bytes.
    let range = v1.as_ptr_range();
    assert!(range.contains(&up.hypernet[1].weights.as_bytes().as_ptr()));
    assert!(range.contains(&up.latents.codes.as_bytes().as_ptr()));
    let mut expect = example.clone();
    expect.fit = fit;
    expect.refresh();
    assert_eq!(up, expect.file());
    let v2 = up.to_bytes().unwrap();
    assert_eq!(ModelFile::parse(&v2).unwrap(), expect.file());
    // And back: the version-1 encoding of the converted file is the original.
    assert_eq!(
        upgrade::encode_v1(&ModelFile::parse(&v2).unwrap()).unwrap(),
        v1
    );
}

#[test]
fn version_1_converter_checks_like_the_reader() {
    let example = ExampleModel::new();
    let v2 = example.file().to_bytes().unwrap();
    assert_eq!(
        upgrade::parse_v1(&v2, example.fit),
        Err(FormatError::UnsupportedVersion {
            found: 2,
            supported: 1
        })
    );
    let mut v1 = upgrade::encode_v1(&example.file()).unwrap();
    let mut bad_fit = example.fit;
    bad_fit.lr = -1.0;
    assert!(matches!(
        upgrade::parse_v1(&v1, bad_fit),
        Err(FormatError::Invalid {
            field: "config.fit.lr",
            ..
        })
    ));
    let last = v1.len() - 1;
    v1[last] ^= 1;
    assert!(matches!(
        upgrade::parse_v1(&v1, example.fit),
        Err(FormatError::CrcMismatch { .. })
    ));
    // Version-2 features have no version-1 encoding.
    assert!(matches!(
        upgrade::encode_v1(&example_v2().file()),
        Err(hyperinr_shared::write::WriteError::NotVersion1(
            "config.hyper_activation"
        ))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn flipped_bytes_of_a_version_2_model(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6)) {
        let mut bytes = example_v2().file().to_bytes().unwrap();
        let n = bytes.len() - HEADER_LEN;
        for (at, value) in edits {
            bytes[HEADER_LEN + at % n] = value;
        }
        fix_crc(&mut bytes);
        let reencodes = ModelFile::parse(&bytes).map(|m| m.to_bytes().is_ok());
        prop_assert!(reencodes.unwrap_or(true));
    }

    #[test]
    fn any_bytes_through_the_version_1_converter(payload in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut bytes = hyperinr_shared::Header::encode_version(&payload, 1).to_vec();
        bytes.extend_from_slice(&payload);
        let reencodes = upgrade::parse_v1(&bytes, ExampleModel::new().fit).map(|m| m.to_bytes().is_ok());
        prop_assert!(reencodes.unwrap_or(true));
    }
}

//! The results file's contract (FORMAT.md §6): the encoder writes the specified bytes, the
//! decoder reads them back, and both reject misuse and damage with typed errors.

use hyperinr_shared::results::{
    decode, EncodeError, Encoder, Record, RenderKind, ResultsError, SliceSink, Stage, Tag,
};
use proptest::prelude::*;

/// A record assembled by hand from FORMAT.md §6: tag, length, little-endian words.
fn record(out: &mut Vec<u8>, tag: &[u8; 4], words: &[u32]) {
    out.extend_from_slice(tag);
    out.extend_from_slice(&(4 * words.len() as u32).to_le_bytes());
    for w in words {
        out.extend_from_slice(&w.to_le_bytes());
    }
}

/// The last item the decoder yields for `file` (the first error, where there is one).
fn last(file: &[u8]) -> Result<Record<'_>, ResultsError> {
    decode(file).unwrap().last().unwrap()
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// One record of every kind, through the encoder.
fn every_record() -> Vec<u8> {
    let mut enc = Encoder::new(Vec::new());
    enc.info(100, 0xDEAD_BEEF, 1);
    enc.tick(*b"CALB", 5 | 1 << 32, 40);
    enc.self_test(4);
    enc.golden_start(0, 7, 3, 2, 1);
    enc.golden_outputs(&[1.5]);
    enc.golden_outputs(&[-2.0]);
    enc.golden_logits(&[0.25]);
    enc.classes_start(2, 1);
    enc.class(5, &[50.0]);
    enc.class(6, &[60.0]);
    enc.accuracy(1, 2);
    enc.weights(9, &[1.0, 2.0]);
    enc.render(0, RenderKind::PointGrid, 2, 1, &[3.0, 4.0]);
    enc.fitted(3, 70, 9, 8, (100, 784, 0.5), &[1.0, -1.0], &[2.0]);
    enc.fit_accuracy(0, 1);
    enc.stack(512, 4096);
    enc.failure(Stage::SelfTest, b"Boom!");
    enc.done(2);
    let (file, status) = enc.finish();
    assert_eq!(status, Ok(()));
    file
}

#[test]
fn the_encoder_writes_the_specified_bytes() {
    let mut f = b"HIRS".to_vec();
    f.extend_from_slice(&2u32.to_le_bytes());
    record(&mut f, b"INFO", &[100, 0xDEAD_BEEF, 1]);
    record(&mut f, b"TICK", &[u32::from_le_bytes(*b"CALB"), 5, 1, 40]);
    record(&mut f, b"SELF", &[4]);
    let gvec = [
        0,
        7,
        3,
        2,
        1.5f32.to_bits(),
        (-2.0f32).to_bits(),
        1,
        0.25f32.to_bits(),
    ];
    record(&mut f, b"GVEC", &gvec);
    let clas = [2, 1, 5, 50.0f32.to_bits(), 6, 60.0f32.to_bits()];
    record(&mut f, b"CLAS", &clas);
    record(&mut f, b"ACCU", &[1, 2]);
    record(&mut f, b"WGTS", &[9, 2, 1.0f32.to_bits(), 2.0f32.to_bits()]);
    let rndr = [0, 1, 2, 1, 3.0f32.to_bits(), 4.0f32.to_bits()];
    record(&mut f, b"RNDR", &rndr);
    let fitd = [
        3,
        70,
        9,
        8,
        100,
        784,
        0.5f32.to_bits(),
        2,
        1.0f32.to_bits(),
        (-1.0f32).to_bits(),
        1,
        2.0f32.to_bits(),
    ];
    record(&mut f, b"FITD", &fitd);
    record(&mut f, b"FACC", &[0, 1]);
    record(&mut f, b"STAK", &[512, 4096]);
    f.extend_from_slice(b"ERR ");
    f.extend_from_slice(&9u32.to_le_bytes());
    f.extend_from_slice(&2u32.to_le_bytes());
    f.extend_from_slice(b"Boom!");
    record(&mut f, b"DONE", &[2]);
    assert_eq!(every_record(), f);
}

#[test]
fn every_record_kind_decodes() {
    let file = every_record();
    let records: Vec<Record<'_>> = decode(&file).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(records.len(), 13);
    assert_eq!(
        records[0],
        Record::Info {
            blob_len: 100,
            blob_crc: 0xDEAD_BEEF,
            memory_map: 1
        }
    );
    assert_eq!(
        records[1],
        Record::Tick {
            name: *b"CALB",
            ticks: 5 | 1 << 32,
            work: 40
        }
    );
    assert_eq!(records[2], Record::SelfTest { checked: 4 });
    let Record::Golden {
        index: 0,
        weights_crc: 7,
        class: 3,
        outputs,
        logits,
    } = &records[3]
    else {
        panic!("{:?}", records[3]);
    };
    assert_eq!(outputs.iter().collect::<Vec<_>>(), bits(&[1.5, -2.0]));
    assert_eq!(logits.iter().collect::<Vec<_>>(), bits(&[0.25]));
    let Record::Classes {
        count: 2,
        logits: 1,
        entries,
    } = records[4].clone()
    else {
        panic!("{:?}", records[4]);
    };
    assert_eq!(entries.len(), 2);
    let entries: Vec<(u32, Vec<u32>)> = entries.map(|(c, l)| (c, l.iter().collect())).collect();
    assert_eq!(entries, [(5, bits(&[50.0])), (6, bits(&[60.0]))]);
    assert_eq!(
        records[5],
        Record::Accuracy {
            correct: 1,
            count: 2
        }
    );
    let Record::Weights { latent: 9, values } = &records[6] else {
        panic!("{:?}", records[6]);
    };
    assert_eq!(values.iter().collect::<Vec<_>>(), bits(&[1.0, 2.0]));
    let Record::Render {
        latent: 0,
        kind: RenderKind::PointGrid,
        points: 2,
        out_dim: 1,
        values,
    } = &records[7]
    else {
        panic!("{:?}", records[7]);
    };
    assert_eq!(values.len(), 2);
    assert_eq!(
        records[10],
        Record::Stack {
            used: 512,
            size: 4096
        }
    );
    assert_eq!(
        records[11],
        Record::Failure {
            stage: Stage::SelfTest,
            text: b"Boom!"
        }
    );
    let Record::Fitted(fitted) = &records[8] else {
        panic!("{:?}", records[8])
    };
    assert_eq!(
        (
            fitted.observation,
            fitted.dataset_index,
            fitted.label,
            fitted.class
        ),
        (3, 70, 9, 8)
    );
    assert_eq!(
        (fitted.steps, fitted.points, fitted.mse),
        (100, 784, 0.5f32.to_bits())
    );
    assert_eq!(
        fitted.latent.iter().map(f32::from_bits).collect::<Vec<_>>(),
        [1.0, -1.0]
    );
    assert_eq!(fitted.logits.iter().collect::<Vec<_>>(), [2.0f32.to_bits()]);
    assert_eq!(
        records[9],
        Record::FitAccuracy {
            correct: 0,
            count: 1
        }
    );
    assert_eq!(records[12], Record::Done { status: 2 });
}

#[test]
fn arrays_are_borrowed_from_the_file() {
    let file = every_record();
    let range = file.as_ptr_range();
    for r in decode(&file).unwrap() {
        if let Ok(Record::Weights { values, .. }) = r {
            assert!(range.contains(&values.as_bytes().as_ptr()));
        }
    }
}

#[test]
fn the_decoder_names_each_kind_of_damage() {
    let good = every_record();
    assert_eq!(decode(&good[..7]), Err(ResultsError::TooShort { len: 7 }));
    let mut bad = good.clone();
    bad[4] = 1;
    assert_eq!(
        decode(&bad),
        Err(ResultsError::UnsupportedVersion {
            found: 1,
            supported: 2
        })
    );
    bad = good.clone();
    bad[3] = b'X';
    assert_eq!(
        decode(&bad),
        Err(ResultsError::BadMagic { found: *b"HIRX" })
    );

    let header = good[..8].to_vec();
    // A payload cut short by the end of the file.
    let mut f = header.clone();
    record(&mut f, b"STAK", &[1, 2]);
    f.truncate(f.len() - 4);
    assert_eq!(
        last(&f),
        Err(ResultsError::Truncated {
            offset: 8,
            needed: 16,
            available: 12
        })
    );
    // An unknown tag.
    let mut f = header.clone();
    record(&mut f, b"WHAT", &[]);
    assert_eq!(
        last(&f),
        Err(ResultsError::UnknownTag {
            offset: 8,
            tag: *b"WHAT"
        })
    );
    // A payload shorter, or longer, than its fields.
    let mut f = header.clone();
    record(&mut f, b"STAK", &[1]);
    assert_eq!(
        last(&f),
        Err(ResultsError::PayloadLength {
            tag: Tag::Stack,
            offset: 8,
            len: 4,
            needed: 8
        })
    );
    let mut f = header.clone();
    record(&mut f, b"DONE", &[0, 0]);
    assert_eq!(
        last(&f),
        Err(ResultsError::PayloadLength {
            tag: Tag::Done,
            offset: 8,
            len: 8,
            needed: 4
        })
    );
    let mut f = header.clone();
    record(&mut f, b"WGTS", &[0, 3, 1, 2]);
    assert!(matches!(
        last(&f),
        Err(ResultsError::PayloadLength {
            tag: Tag::Weights,
            needed: 20,
            ..
        })
    ));
    // Codes outside their enums.
    let mut f = header.clone();
    record(&mut f, b"ERR ", &[5]);
    assert_eq!(
        last(&f),
        Err(ResultsError::UnknownStage { offset: 8, code: 5 })
    );
    let mut f = header.clone();
    record(&mut f, b"RNDR", &[0, 2, 0, 1]);
    assert_eq!(
        last(&f),
        Err(ResultsError::UnknownRenderKind { offset: 8, code: 2 })
    );
    // Nothing after the first error.
    let mut f = header;
    record(&mut f, b"WHAT", &[]);
    record(&mut f, b"DONE", &[0]);
    assert_eq!(decode(&f).unwrap().count(), 1);
}

#[test]
fn the_encoder_refuses_pieces_that_do_not_add_up() {
    // A record started while a streamed one is open: nothing more is written.
    let mut enc = Encoder::new(Vec::new());
    enc.classes_start(2, 1);
    enc.class(1, &[0.0]);
    let before = enc.written();
    enc.accuracy(1, 2);
    assert_eq!(
        enc.error(),
        Some(EncodeError::Unfinished { open: Tag::Classes })
    );
    enc.done(0);
    assert_eq!(enc.written(), before);
    let (file, status) = enc.finish();
    assert_eq!(status, Err(EncodeError::Unfinished { open: Tag::Classes }));
    assert!(decode(&file).unwrap().any(|r| r.is_err()));

    // A logit vector of the wrong length, too many outputs, pieces with nothing open.
    let mut enc = Encoder::new(Vec::new());
    enc.classes_start(1, 2);
    enc.class(0, &[1.0]);
    assert_eq!(
        enc.finish().1,
        Err(EncodeError::Unexpected { tag: Tag::Classes })
    );
    let mut enc = Encoder::new(Vec::new());
    enc.golden_start(0, 0, 0, 1, 0);
    enc.golden_outputs(&[1.0, 2.0]);
    assert_eq!(
        enc.finish().1,
        Err(EncodeError::Unexpected { tag: Tag::Golden })
    );
    let mut enc = Encoder::new(Vec::new());
    enc.golden_logits(&[]);
    assert_eq!(
        enc.finish().1,
        Err(EncodeError::Unexpected { tag: Tag::Golden })
    );
    let mut enc = Encoder::new(Vec::new());
    enc.render(0, RenderKind::Image, 3, 1, &[0.0; 2]);
    assert_eq!(
        enc.finish().1,
        Err(EncodeError::Unexpected { tag: Tag::Render })
    );
    // A file that ends inside a record.
    let mut enc = Encoder::new(Vec::new());
    enc.golden_start(0, 0, 0, 0, 1);
    assert_eq!(
        enc.finish().1,
        Err(EncodeError::Unfinished { open: Tag::Golden })
    );
    // Empty streamed records need no pieces.
    let mut enc = Encoder::new(Vec::new());
    enc.golden_start(0, 0, 0, 0, 0);
    enc.golden_logits(&[]);
    enc.classes_start(0, 10);
    enc.done(0);
    let (file, status) = enc.finish();
    assert_eq!(status, Ok(()));
    assert_eq!(decode(&file).unwrap().filter(Result::is_ok).count(), 3);
}

#[test]
fn a_full_buffer_stops_the_encoder_before_the_record_that_does_not_fit() {
    let mut buf = [0u8; 30];
    let mut enc = Encoder::new(SliceSink::new(&mut buf));
    enc.done(0); // 8 header bytes + 12
    enc.stack(1, 2); // 8 + 8 more: its payload does not fit
    enc.done(1);
    let (sink, status) = enc.finish();
    assert_eq!(status, Err(EncodeError::Sink { written: 28 }));
    // The record header went in, its payload did not: the decoder sees a truncated record.
    let file = sink.into_written();
    let records: Vec<_> = decode(file).unwrap().collect();
    assert_eq!(records[0], Ok(Record::Done { status: 0 }));
    assert!(matches!(records[1], Err(ResultsError::Truncated { .. })));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_bytes_decode_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(records) = decode(&bytes) {
            for r in records {
                if let Ok(Record::Classes { entries, .. }) = r {
                    let _ = entries.count();
                }
            }
        }
    }

    #[test]
    fn flipped_bytes_of_a_valid_file(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6)) {
        let mut bytes = every_record();
        let n = bytes.len();
        for (at, value) in edits {
            bytes[at % n] = value;
        }
        if let Ok(records) = decode(&bytes) {
            let _ = records.count();
        }
    }
}

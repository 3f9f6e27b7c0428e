//! Fuzz target `idx`: any byte string through the IDX reader of
//! `hyperinr-data` (`datasets/src/idx.rs`): gzip detection and decompression
//! (`gunzip_if_gz`, what `read_maybe_gz` does after reading the file), then `parse_idx`
//! for one dimension (label files) and three (image files).
//!
//! Beyond "never panics" (and, under AddressSanitizer, no memory error), it checks:
//! - every error names the file and, for IDX errors, the byte offset
//!   (`fuzz.idx: offset N: …`), for gzip errors the stream (`fuzz.idx: corrupt gzip stream`);
//! - bytes without the gzip magic come back unchanged; a valid plain IDX file gzipped
//!   decompresses to the same bytes;
//! - on `Ok`, the header says what was parsed (type 0x08, the requested number of
//!   dimensions), the data is the rest of the file and its length is the product of the
//!   dimensions.
#![no_main]

use hyperinr_data::idx;

use libfuzzer_sys::fuzz_target;
use std::io::Write;
use std::path::Path;

const NAME: &str = "fuzz.idx";

/// Parses `bytes` as a 1- and a 3-dimensional IDX file; returns whether either parsed.
fn check_parse(bytes: &[u8]) -> bool {
    let path = Path::new(NAME);
    let mut any = false;
    for ndims in [1usize, 3] {
        match idx::parse_idx(bytes, path, ndims) {
            Ok((dims, data)) => {
                any = true;
                assert_eq!(dims.len(), ndims, "dimension count");
                assert_eq!((bytes[2], bytes[3] as usize), (0x08, ndims), "header");
                for (d, size) in dims.iter().enumerate() {
                    let be = u32::from_be_bytes(bytes[4 + 4 * d..8 + 4 * d].try_into().unwrap());
                    assert_eq!(*size, be as usize, "dimension {d}");
                }
                assert_eq!(dims.iter().product::<usize>(), data.len(), "data length");
                assert_eq!(&bytes[4 + 4 * ndims..], &data[..], "data bytes");
            }
            Err(e) => {
                let text = format!("{e:#}");
                assert!(
                    text.starts_with("fuzz.idx: offset "),
                    "error without file and offset: {text}"
                );
            }
        }
    }
    any
}

fuzz_target!(|data: &[u8]| {
    let path = Path::new(NAME);
    let is_gz = data.starts_with(&[0x1f, 0x8b]);
    // As read from a file: gunzipped when gzip, else unchanged.
    let valid = match idx::gunzip_if_gz(data.to_vec(), path) {
        Ok(bytes) => {
            if !is_gz {
                assert_eq!(bytes, data, "plain bytes changed");
            }
            check_parse(&bytes)
        }
        Err(e) => {
            let text = format!("{e:#}");
            assert!(is_gz, "error on plain bytes: {text}");
            assert!(
                text.starts_with("fuzz.idx: corrupt gzip stream"),
                "unclear gzip error: {text}"
            );
            false
        }
    };
    // A valid plain IDX file gzipped (as the official .gz files are) reads back the same.
    if valid && !is_gz {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(data).unwrap();
        let back = idx::gunzip_if_gz(enc.finish().unwrap(), path).expect("our own gzip decodes");
        assert_eq!(back, data, "gzip round trip");
    }
});

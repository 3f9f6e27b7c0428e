//! Fuzz target `npy`: any byte string through the NPY point-cloud reader of
//! `hyperinr-data` (`datasets/src/npy.rs`), `parse_npy_points`.
//!
//! Beyond "never panics" (and, under AddressSanitizer, no memory error), it checks:
//! - every error names the file and the byte offset (`fuzz.npy: offset N: …`);
//! - on `Ok`: at least one point, a multiple of 3 values, all finite (`check_cloud`
//!   agrees); the values are the input's last `4 × len` bytes as little-endian `f32`; and
//!   `npy_points_bytes` writes a file that parses back to the same bits.
#![no_main]

use hyperinr_data::npy;

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.npy");
    match npy::parse_npy_points(data, path) {
        Ok(values) => {
            assert!(!values.is_empty(), "empty cloud accepted");
            assert_eq!(values.len() % 3, 0, "not N × 3");
            assert!(
                values.iter().all(|v| v.is_finite()),
                "non-finite value accepted"
            );
            npy::check_cloud(&values).expect("check_cloud agrees with the parser");
            let tail = &data[data.len() - 4 * values.len()..];
            let from_tail: Vec<u32> = tail
                .chunks_exact(4)
                .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
                .collect();
            assert_eq!(from_tail, bits(&values), "values are the file's data bytes");
            let written = npy::npy_points_bytes(&values).expect("a parsed cloud is writable");
            let back = npy::parse_npy_points(&written, path).expect("written NPY parses");
            assert_eq!(bits(&back), bits(&values), "NPY round trip");
        }
        Err(e) => {
            let text = format!("{e:#}");
            assert!(
                text.starts_with("fuzz.npy: offset "),
                "error without file and offset: {text}"
            );
        }
    }
});

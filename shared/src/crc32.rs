//! CRC-32/ISO-HDLC (the "common" CRC-32 of zlib, PNG and Ethernet).
//!
//! Parameters: polynomial `0x04C11DB7` (reflected `0xEDB88320`), init `0xFFFFFFFF`,
//! reflected input and output, final XOR `0xFFFFFFFF`. Check value of `b"123456789"`
//! is `0xCBF43926`.

/// The 256-entry table, built at compile time (1 KiB of flash).
const TABLE: [u32; 256] = build_table();

// `n < 256` bounds every index; `.get_mut` is not available in a const fn.
#[allow(clippy::indexing_slicing)]
const fn build_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
}

/// A running CRC-32 over data fed in pieces.
///
/// ```
/// use hyperinr_shared::crc32::Crc32;
/// let mut crc = Crc32::new();
/// crc.update(b"1234");
/// crc.update(b"56789");
/// assert_eq!(crc.finish(), 0xCBF4_3926);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Crc32 {
    state: u32,
}

impl Default for Crc32 {
    fn default() -> Self {
        Self::new()
    }
}

impl Crc32 {
    /// A fresh CRC state.
    pub const fn new() -> Self {
        Self { state: 0xFFFF_FFFF }
    }

    /// Feeds `bytes` into the CRC.
    pub fn update(&mut self, bytes: &[u8]) {
        let mut c = self.state;
        for &b in bytes {
            // `& 0xFF` keeps the index below 256, so the lookup cannot fail.
            let idx = ((c ^ b as u32) & 0xFF) as usize;
            c = TABLE.get(idx).copied().unwrap_or(0) ^ (c >> 8);
        }
        self.state = c;
    }

    /// The CRC of everything fed so far.
    pub const fn finish(&self) -> u32 {
        self.state ^ 0xFFFF_FFFF
    }
}

/// CRC-32/ISO-HDLC of `bytes` in one call.
///
/// ```
/// assert_eq!(hyperinr_shared::crc32::crc32(b"123456789"), 0xCBF4_3926);
/// assert_eq!(hyperinr_shared::crc32::crc32(b""), 0);
/// ```
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = Crc32::new();
    crc.update(bytes);
    crc.finish()
}

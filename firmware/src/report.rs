//! The results file: every output's bits, for the host parity tests.
//!
//! Under QEMU (feature `qemu`) the firmware creates `hyperinr-results.bin` in QEMU's working
//! directory through semihosting file operations (`SYS_OPEN`/`SYS_WRITE`/`SYS_CLOSE`) and
//! writes tagged little-endian records into it; the layout is specified in README.md
//! ("Results file"). With feature `rtt` (a board) nothing is written: the defmt log carries
//! the digests.

/// The file's first 4 bytes.
#[cfg_attr(not(feature = "qemu"), allow(dead_code))]
pub const MAGIC: [u8; 4] = *b"HIRS";
/// Layout version, after the magic.
#[cfg_attr(not(feature = "qemu"), allow(dead_code))]
pub const VERSION: u32 = 1;
/// Name of the results file, relative to QEMU's working directory.
#[cfg(feature = "qemu")]
const FILE_NAME: &core::ffi::CStr = c"hyperinr-results.bin";

/// A buffered writer of records.
pub struct Report<'b> {
    #[cfg(feature = "qemu")]
    file: Option<semihosting::fs::File>,
    buf: &'b mut [u8],
    len: usize,
    /// A write failed; later records are dropped.
    failed: bool,
}

impl<'b> Report<'b> {
    /// Creates the results file (QEMU) or a sink that drops everything (board).
    pub fn open(buf: &'b mut [u8]) -> Self {
        #[cfg(feature = "qemu")]
        {
            let file = match semihosting::fs::File::create(FILE_NAME) {
                Ok(f) => Some(f),
                Err(_) => {
                    defmt::warn!("cannot create the results file; logging only");
                    None
                }
            };
            let failed = file.is_none();
            let mut r = Report {
                file,
                buf,
                len: 0,
                failed,
            };
            r.bytes(&MAGIC);
            r.u32(VERSION);
            r
        }
        #[cfg(not(feature = "qemu"))]
        {
            Report {
                buf,
                len: 0,
                failed: true,
            }
        }
    }

    /// Starts a record of `len` payload bytes; the caller then writes exactly that many.
    pub fn record(&mut self, tag: &[u8; 4], len: usize) {
        self.bytes(tag);
        self.u32(len as u32);
    }

    /// Appends raw bytes.
    pub fn bytes(&mut self, mut bytes: &[u8]) {
        if self.failed {
            return;
        }
        while !bytes.is_empty() {
            let room = self.buf.len() - self.len;
            if room == 0 {
                self.flush();
                if self.failed {
                    return;
                }
                continue;
            }
            let n = room.min(bytes.len());
            let (head, tail) = bytes.split_at(n);
            if let Some(dst) = self.buf.get_mut(self.len..self.len + n) {
                dst.copy_from_slice(head);
            }
            self.len += n;
            bytes = tail;
        }
    }

    /// Appends a little-endian `u32`.
    pub fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }

    /// Appends `f32`s as their little-endian bits.
    pub fn f32s(&mut self, values: &[f32]) {
        for v in values {
            self.bytes(&v.to_bits().to_le_bytes());
        }
    }

    fn flush(&mut self) {
        #[cfg(feature = "qemu")]
        if let (Some(file), Some(data)) = (self.file.as_mut(), self.buf.get(..self.len)) {
            use semihosting::io::Write as _;
            if file.write_all(data).is_err() {
                defmt::warn!("writing the results file failed; logging only");
                self.failed = true;
            }
        }
        self.len = 0;
    }

    /// Writes out what is buffered and closes the file.
    pub fn finish(mut self) {
        self.flush();
        #[cfg(feature = "qemu")]
        drop(self.file.take());
    }
}

/// A fixed buffer that `core::fmt` writes into, silently truncating.
pub struct FmtBuf<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> FmtBuf<N> {
    /// An empty buffer.
    pub const fn new() -> Self {
        Self {
            bytes: [0; N],
            len: 0,
        }
    }

    /// What was written.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }
}

impl<const N: usize> core::fmt::Write for FmtBuf<N> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            if let Some(slot) = self.bytes.get_mut(self.len) {
                *slot = b;
                self.len += 1;
            }
        }
        Ok(())
    }
}

//! Where the results file goes: every output's bits, for the host parity tests.
//!
//! The layout (magic `HIRS`, tagged little-endian records) is defined once, in
//! `hyperinr_shared::results` (spec: shared/FORMAT.md §6); the firmware writes it with that
//! crate's `Encoder` into [`FileSink`]. Under QEMU (feature `qemu`) the sink creates
//! `hyperinr-results.bin` in QEMU's working directory through semihosting file operations
//! (`SYS_OPEN`/`SYS_WRITE`/`SYS_CLOSE`, one write per buffer-full). With feature `rtt` (a
//! board) nothing is written: the defmt log carries the digests.

use hyperinr_shared::results::{Sink, SinkError};

/// Name of the results file, relative to QEMU's working directory.
#[cfg(feature = "qemu")]
const FILE_NAME: &core::ffi::CStr = c"hyperinr-results.bin";

/// A buffered byte sink into the results file (QEMU), or one that drops everything (a
/// board, or a file that could not be created: the log says so once).
pub struct FileSink<'b> {
    #[cfg(feature = "qemu")]
    file: Option<semihosting::fs::File>,
    buf: &'b mut [u8],
    len: usize,
    /// Bytes go nowhere: no file (board, or creation failed).
    dropping: bool,
}

impl<'b> FileSink<'b> {
    /// Creates the results file (QEMU), buffering `buf.len()` bytes per write.
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
            let dropping = file.is_none();
            FileSink {
                file,
                buf,
                len: 0,
                dropping,
            }
        }
        #[cfg(not(feature = "qemu"))]
        {
            FileSink {
                buf,
                len: 0,
                dropping: true,
            }
        }
    }

    /// Writes out what is buffered; `Err` when the host refused it.
    fn flush(&mut self) -> Result<(), SinkError> {
        let data = self.buf.get(..self.len).unwrap_or(&[]);
        self.len = 0;
        #[cfg(feature = "qemu")]
        if let Some(file) = self.file.as_mut() {
            use semihosting::io::Write as _;
            if file.write_all(data).is_err() {
                defmt::warn!("writing the results file failed; logging only");
                self.dropping = true;
                return Err(SinkError);
            }
        }
        let _ = data;
        Ok(())
    }

    /// Writes out what is buffered and closes the file.
    pub fn close(mut self) {
        if !self.dropping {
            let _ = self.flush();
        }
        #[cfg(feature = "qemu")]
        drop(self.file.take());
    }
}

impl Sink for FileSink<'_> {
    fn put(&mut self, mut bytes: &[u8]) -> Result<(), SinkError> {
        if self.dropping {
            return Ok(());
        }
        while !bytes.is_empty() {
            let room = self.buf.len().saturating_sub(self.len);
            if room == 0 {
                self.flush()?;
                if self.buf.is_empty() {
                    return Err(SinkError);
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
        Ok(())
    }
}

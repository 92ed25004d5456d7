//! A buffered reader over the stored ZIP that reads with `pread`, so the workers' archive
//! readers share one descriptor.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;

/// Read-ahead buffer of one archive reader, in bytes.
const READ_BUF_BYTES: usize = 64 * 1024;

/// Reads at least this large bypass the read-ahead buffer, in bytes.
const DIRECT_READ_BYTES: usize = 16 * 1024;

/// A buffered reader over a shared file that reads with `pread`, so every clone keeps its own
/// position and the workers' archives share one descriptor and one parsed central directory.
pub(super) struct PositionalReader<'f> {
    file: &'f File,
    len: u64,
    pos: u64,
    /// Read-ahead, allocated on first use; holds file bytes `buf_start..buf_start + buf_len`.
    buf: Vec<u8>,
    buf_start: u64,
    buf_len: usize,
}

impl<'f> PositionalReader<'f> {
    pub(super) fn new(file: &'f File, len: u64) -> Self {
        Self {
            file,
            len,
            pos: 0,
            buf: Vec::new(),
            buf_start: 0,
            buf_len: 0,
        }
    }

    /// The buffered bytes from the current position on, if the position is in the buffer.
    fn buffered(&self) -> &[u8] {
        self.pos
            .checked_sub(self.buf_start)
            .and_then(|offset| usize::try_from(offset).ok())
            .and_then(|offset| self.buf.get(offset..self.buf_len))
            .unwrap_or_default()
    }
}

impl Clone for PositionalReader<'_> {
    fn clone(&self) -> Self {
        Self {
            pos: self.pos,
            ..Self::new(self.file, self.len)
        }
    }
}

impl Read for PositionalReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.buffered().is_empty() {
            if out.len() >= DIRECT_READ_BYTES {
                let n = self.file.read_at(out, self.pos)?;
                self.pos += n as u64;
                return Ok(n);
            }
            if self.buf.is_empty() {
                self.buf = vec![0u8; READ_BUF_BYTES];
            }
            self.buf_len = self.file.read_at(&mut self.buf, self.pos)?;
            self.buf_start = self.pos;
        }
        let buffered = self.buffered();
        let n = buffered.len().min(out.len());
        if let (Some(dst), Some(src)) = (out.get_mut(..n), buffered.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for PositionalReader<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let pos = match to {
            SeekFrom::Start(pos) => Some(pos),
            SeekFrom::End(delta) => self.len.checked_add_signed(delta),
            SeekFrom::Current(delta) => self.pos.checked_add_signed(delta),
        };
        self.pos = pos.ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "seek before start of file")
        })?;
        Ok(self.pos)
    }
}

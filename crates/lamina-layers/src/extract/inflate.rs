//! Inflating one entry's data into a sink: capped at its declared size, charged to the
//! archive's inflate budget, and checked against its CRC-32.

use std::io::{self, Read, Seek, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::read::DeflateDecoder;
use zip::result::ZipError;
use zip::{CompressionMethod, ZipArchive};

use super::entries::Entry;
use super::{ExtractError, io_at};

/// Bytes really inflated so far, across all entries and workers, checked against the limit
/// as they arrive: an archive whose headers lie is judged on what it really holds, and the
/// work it can cause is bounded by the limit whatever it declares.
pub(super) struct InflateBudget {
    inflated: AtomicU64,
    limit: u64,
}

impl InflateBudget {
    /// A budget of `limit` bytes, none of them spent yet.
    pub(super) fn new(limit: u64) -> Self {
        Self {
            inflated: AtomicU64::new(0),
            limit,
        }
    }

    fn charge(&self, bytes: u64, entry: &Entry) -> Result<(), ExtractError> {
        let total = self
            .inflated
            .fetch_add(bytes, Ordering::Relaxed)
            .saturating_add(bytes);
        if total > self.limit {
            return Err(ExtractError::TooLarge {
                name: entry.name.clone(),
                limit: self.limit,
            });
        }
        Ok(())
    }
}

/// Inflates `entry` into `sink`, writing at most its declared size, charging every inflated
/// byte to `budget`, then checks the size and CRC-32. Returns the bytes written.
pub(super) fn copy_entry<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    entry: &Entry,
    buf: &mut [u8],
    sink: &mut impl Write,
    sink_path: &Path,
    zip_path: &Path,
    budget: &InflateBudget,
) -> Result<u64, ExtractError> {
    let raw = archive.by_index_raw(entry.index).map_err(|e| match e {
        ZipError::Io(e) => read_error(e, entry, zip_path),
        e => corrupt(entry, e.to_string()),
    })?;
    let expected_crc = raw.crc32();
    let mut crc = crc32fast::Hasher::new();
    let mut out = Output {
        entry,
        sink,
        sink_path,
        crc: &mut crc,
        budget,
    };
    let inflated = if raw.compression() == CompressionMethod::Stored {
        out.pump(raw, buf, zip_path)?
    } else {
        out.pump(DeflateDecoder::new(raw), buf, zip_path)?
    };
    if inflated != entry.size {
        return Err(ExtractError::SizeMismatch {
            name: entry.name.clone(),
            declared: entry.size,
        });
    }
    if crc.finalize() != expected_crc {
        return Err(corrupt(entry, "crc-32 mismatch".to_owned()));
    }
    Ok(inflated)
}

/// Where one entry's bytes go.
struct Output<'a, W> {
    entry: &'a Entry,
    sink: &'a mut W,
    sink_path: &'a Path,
    crc: &'a mut crc32fast::Hasher,
    budget: &'a InflateBudget,
}

impl<W: Write> Output<'_, W> {
    /// Copies `reader` to the sink a full buffer at a time and returns how many bytes it
    /// inflated. Bytes past the declared size are counted against the budget but never
    /// written, so an entry that lies about its size fills neither disk nor memory.
    fn pump(
        &mut self,
        mut reader: impl Read,
        buf: &mut [u8],
        zip_path: &Path,
    ) -> Result<u64, ExtractError> {
        let mut total = 0u64;
        loop {
            let n = fill(&mut reader, buf).map_err(|e| read_error(e, self.entry, zip_path))?;
            let chunk = buf.get(..n).unwrap_or_default();
            if chunk.is_empty() {
                return Ok(total);
            }
            self.budget.charge(n as u64, self.entry)?;
            let writable = self.entry.size.saturating_sub(total);
            total += n as u64;
            let keep = chunk
                .get(..usize::try_from(writable).unwrap_or(usize::MAX).min(n))
                .unwrap_or_default();
            if !keep.is_empty() {
                self.crc.update(keep);
                self.sink.write_all(keep).map_err(io_at(self.sink_path))?;
            }
            if n < buf.len() {
                return Ok(total);
            }
        }
    }
}

/// Reads until `buf` is full or the reader ends; returns the bytes read.
fn fill(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..).filter(|rest| !rest.is_empty()) {
        match reader.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn corrupt(entry: &Entry, reason: String) -> ExtractError {
    ExtractError::Corrupt {
        name: entry.name.clone(),
        reason,
    }
}

/// Data errors while reading an entry are the archive's fault; anything else is real I/O on
/// the stored ZIP.
fn read_error(error: io::Error, entry: &Entry, zip_path: &Path) -> ExtractError {
    match error.kind() {
        io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput | io::ErrorKind::UnexpectedEof => {
            corrupt(entry, error.to_string())
        }
        _ => ExtractError::Io {
            path: zip_path.to_owned(),
            source: error,
        },
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::extract::ExtractLimits;
    use crate::extract::test_support::{Fixture, LIMITS, Raw, raw_zip};

    #[test]
    fn a_bomb_lying_about_its_size_fails_fast() {
        let zeros = vec![0u8; 10 << 20];
        let mut bomb = Raw::deflated("bomb", &zeros);
        bomb.size = 100;
        let fixture = Fixture::new(&raw_zip(&[bomb]));
        let err = fixture.extract(&LIMITS).unwrap_err();
        assert!(
            matches!(&err, ExtractError::SizeMismatch { name, declared: 100 } if name == "bomb"),
            "{err}"
        );
        assert!(err.is_client_error());
        // Nothing past the declared size reached the disk.
        let written = fs::metadata(fixture.dest().join("bomb")).unwrap().len();
        assert!(written <= 100, "{written}");
    }

    #[test]
    fn lying_entries_are_judged_on_what_they_really_inflate_to() {
        let zeros = vec![0u8; 4 << 20];
        let entries: Vec<Raw> = (0..3)
            .map(|i| {
                let mut part = Raw::deflated(&format!("part{i}"), &zeros);
                part.size = 10;
                part
            })
            .collect();
        let fixture = Fixture::new(&raw_zip(&entries));
        let limits = ExtractLimits {
            max_unzipped_bytes: 10 << 20,
            ..LIMITS
        };
        let err = fixture.extract(&limits).unwrap_err();
        assert!(
            matches!(err, ExtractError::TooLarge { limit, .. } if limit == 10 << 20),
            "{err}"
        );
    }

    #[test]
    fn an_entry_shorter_than_declared_is_refused() {
        for mut entry in [
            Raw::deflated("short", &[7; 100]),
            Raw::file("short", &[7; 100]),
        ] {
            entry.size = 200;
            if entry.method == 0 {
                entry.data.truncate(100);
            }
            let fixture = Fixture::new(&raw_zip(&[entry]));
            let err = fixture.extract(&LIMITS).unwrap_err();
            assert!(
                matches!(err, ExtractError::SizeMismatch { declared: 200, .. }),
                "{err}"
            );
        }
    }

    #[test]
    fn corrupt_data_is_refused() {
        let mut bad_crc = Raw::deflated("crc", b"hello hello hello");
        bad_crc.crc ^= 1;
        let mut bad_stream = Raw::deflated("stream", b"hello");
        bad_stream.data = vec![0xff; 16];
        for entry in [bad_crc, bad_stream] {
            let fixture = Fixture::new(&raw_zip(&[entry]));
            let err = fixture.extract(&LIMITS).unwrap_err();
            assert!(matches!(err, ExtractError::Corrupt { .. }), "{err}");
        }
    }
}

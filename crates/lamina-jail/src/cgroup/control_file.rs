//! A cgroup control file the invoke path uses on every invoke (the freezer, peak memory),
//! opened at its first use and kept open until the cgroup is removed: a `pwrite`/`pread` at
//! offset 0 instead of an open, a write or read, and a close by path each time (a path walk
//! through cgroupfs costs more than the access itself).
//!
//! cgroupfs handles each `write` on its own whatever the offset, and a read at offset 0
//! renders the file anew (seq_file restarts at position 0), so one handle serves every use.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::CgroupError;

/// Longest value read: the numbers of peak memory files are far shorter.
const MAX_VALUE_BYTES: usize = 64;

/// Whether the file is written or read (some are read-only: a handle opened for both would
/// be refused).
#[derive(Debug, Clone, Copy)]
enum Access {
    Write,
    Read,
}

/// One control file, opened lazily and kept.
#[derive(Debug)]
pub(super) struct ControlFile {
    path: PathBuf,
    access: Access,
    file: Mutex<Option<File>>,
}

impl ControlFile {
    /// A file this cgroup writes (the freezer).
    pub(super) fn writer(path: PathBuf) -> Self {
        Self::new(path, Access::Write)
    }

    /// A file this cgroup reads (peak memory).
    pub(super) fn reader(path: PathBuf) -> Self {
        Self::new(path, Access::Read)
    }

    fn new(path: PathBuf, access: Access) -> Self {
        Self {
            path,
            access,
            file: Mutex::new(None),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<File>> {
        self.file.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The open handle, opening it at the first use. A file that cannot be opened is tried
    /// again next time (a missing file stays an error each time, as by path).
    fn with_file<T>(&self, f: impl FnOnce(&File) -> io::Result<T>) -> io::Result<T> {
        let mut file = self.lock();
        if file.is_none() {
            let mut options = OpenOptions::new();
            match self.access {
                // `create`: test doubles are plain directories; cgroupfs refuses to create
                // files, so a missing one is still an error there.
                Access::Write => options.write(true).create(true),
                Access::Read => options.read(true),
            };
            *file = Some(options.open(&self.path)?);
        }
        match file.as_ref() {
            Some(handle) => f(handle),
            None => Err(io::Error::other("control file not open")),
        }
    }

    /// Writes `value` with one `pwrite` at offset 0, as cgroupfs expects one value per write.
    pub(super) fn write(&self, value: &str) -> Result<(), CgroupError> {
        self.with_file(|file| {
            let written = file.write_at(value.as_bytes(), 0)?;
            if written == value.len() {
                Ok(())
            } else {
                Err(io::Error::new(io::ErrorKind::WriteZero, "short write"))
            }
        })
        .map_err(|source| CgroupError::Write {
            path: self.path.clone(),
            source,
        })
    }

    /// The number the file holds, or `None` when it is missing or does not parse.
    pub(super) fn read_u64(&self) -> Option<u64> {
        let mut buf = [0u8; MAX_VALUE_BYTES];
        let len = self.with_file(|file| file.read_at(&mut buf, 0)).ok()?;
        std::str::from_utf8(buf.get(..len)?)
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Closes the handle (before the cgroup's directory is removed).
    pub(super) fn close(&self) {
        self.lock().take();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_reads_at_offset_zero_through_one_handle() {
        let tmp = tempfile::tempdir().unwrap();
        let freeze_path = tmp.path().join("cgroup.freeze");
        let freezer = ControlFile::writer(freeze_path.clone());
        freezer.write("1").unwrap();
        assert_eq!(std::fs::read_to_string(&freeze_path).unwrap(), "1");
        freezer.write("0").unwrap();
        assert_eq!(std::fs::read_to_string(&freeze_path).unwrap(), "0");

        let peak_path = tmp.path().join("memory.peak");
        let peak = ControlFile::reader(peak_path.clone());
        assert_eq!(peak.read_u64(), None, "missing");
        std::fs::write(&peak_path, "7340032\n").unwrap();
        assert_eq!(peak.read_u64(), Some(7340032));
        std::fs::write(&peak_path, "8388608\n").unwrap();
        assert_eq!(peak.read_u64(), Some(8388608), "read anew at offset 0");
        peak.close();
        std::fs::write(&peak_path, "x\n").unwrap();
        assert_eq!(peak.read_u64(), None, "does not parse");
    }
}

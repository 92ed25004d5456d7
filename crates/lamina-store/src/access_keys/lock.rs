//! The key file's lock: an exclusive `flock` on `access-keys.lock` beside it, held around
//! every read-modify-write, so that concurrent `lamina account` commands and the server's
//! root-key creation each see the others' keys and none is lost. Readers need no lock: the
//! file is replaced whole by a rename.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use rustix::fs::{FlockOperation, flock};

/// The lock file's name inside the data directory.
pub const LOCK_FILE: &str = "access-keys.lock";

/// Held until dropped (closing the file releases the lock, also when the process dies).
pub(super) struct KeyFileLock {
    _file: File,
}

impl KeyFileLock {
    /// Waits for the lock at `path`, creating the (empty) lock file if needed.
    pub(super) fn acquire(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)?;
        // Each acquisition opens its own file description, so threads of one process
        // exclude each other as processes do.
        flock(&file, FlockOperation::LockExclusive)?;
        Ok(Self { _file: file })
    }
}

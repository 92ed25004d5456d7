//! Hashing a scratch file before it is stored.

use std::io::{self, Read};

use lamina_types::layer::Digest;
use sha2::{Digest as _, Sha256};
use tempfile::NamedTempFile;

use super::BlobError;

/// Hashes the whole of `file` (from its start, whatever its cursor) on a blocking thread and
/// fails unless it hashes to `expected`. Gives the file back for storing.
pub(super) async fn verify(
    expected: Digest,
    file: NamedTempFile,
) -> Result<NamedTempFile, BlobError> {
    tokio::task::spawn_blocking(move || {
        let actual = hash_file(&file)?;
        if actual == expected {
            Ok(file)
        } else {
            Err(BlobError::DigestMismatch { expected, actual })
        }
    })
    .await
    .map_err(|e| BlobError::Io(io::Error::other(e)))?
}

fn hash_file(file: &NamedTempFile) -> io::Result<Digest> {
    let mut reader = file.reopen()?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(Digest(hasher.finalize().into()));
        }
        hasher.update(&buf[..n]);
    }
}

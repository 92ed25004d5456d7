//! Where ZIPs are kept: once each, under their SHA-256, on the local disk
//! ([`LocalBlobStore`], the default) or in an S3-compatible object store ([`S3BlobStore`])
//! that several nodes share. Only blobs live here; the trees extracted from them stay on each
//! node's disk ([`crate::LocalArtifacts`]).
//!
//! The digest is the key, so a blob stored under the wrong one would poison every node that
//! later fetches it: both implementations hash the bytes before anything is stored, and
//! [`BlobStore::fetch_verified`] hashes them again on the way back.

mod hash;
mod local;
mod s3;
mod s3_objects;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[cfg(test)]
mod tests;

use std::io;
use std::path::Path;
use std::time::SystemTime;

use bytes::Bytes;
use futures_util::StreamExt as _;
use futures_util::stream::BoxStream;
use lamina_types::layer::Digest;
use sha2::{Digest as _, Sha256};
use tempfile::NamedTempFile;
use tokio::io::AsyncWriteExt as _;

pub use local::LocalBlobStore;
pub use s3::{S3BlobStore, S3Location, S3Settings};
pub use s3_objects::{Downloaded, S3ObjectError, S3ObjectRef, S3Objects};

/// Content-addressed ZIP storage. Blobs are immutable: the same digest always names the same
/// bytes, which is what makes a second put a no-op and a concurrent one harmless.
#[async_trait::async_trait]
pub trait BlobStore: Send + Sync + std::fmt::Debug {
    /// Stores the bytes of `file` as the blob `digest`, unless that blob exists already. The
    /// bytes are hashed first: a mismatch is [`BlobError::DigestMismatch`] and stores nothing.
    /// Takes the scratch file so the local store can rename it into place rather than copy.
    async fn put(&self, digest: &Digest, file: NamedTempFile) -> Result<Put, BlobError>;

    /// Whether the blob is stored.
    async fn exists(&self, digest: &Digest) -> Result<bool, BlobError>;

    /// The blob's bytes as a stream, with its size; [`BlobError::NotFound`] if it is not
    /// stored.
    async fn open(&self, digest: &Digest) -> Result<BlobReader, BlobError>;

    /// Removes the blob; removing a missing one succeeds (garbage collection may race).
    async fn delete(&self, digest: &Digest) -> Result<(), BlobError>;

    /// Every stored blob with when it was last written, sorted by digest, for garbage
    /// collection. Keys that are not blobs of ours (another tool's files under the prefix) are
    /// left out, never reported as errors.
    async fn list_stored(&self) -> Result<Vec<StoredBlob>, BlobError>;

    /// Every stored blob's digest, sorted.
    async fn list(&self) -> Result<Vec<Digest>, BlobError> {
        Ok(self
            .list_stored()
            .await?
            .into_iter()
            .map(|b| b.digest)
            .collect())
    }

    /// Whether this store is private to this node. A shared store's blobs may belong to a
    /// publish in flight on another node, so its sweep spares the recent ones
    /// ([`crate::LocalArtifacts::sweep`]).
    fn is_node_local(&self) -> bool;

    /// A URL through which anyone holding it may GET the blob's bytes for `ttl`, signed by
    /// the store itself (an S3 presigned URL), or `None` when the store cannot give one (the
    /// local directory: its blobs are served by the API's own signed route).
    async fn presigned_get(
        &self,
        digest: &Digest,
        ttl: std::time::Duration,
    ) -> Result<Option<String>, BlobError> {
        let _ = (digest, ttl);
        Ok(None)
    }

    /// The objects of any bucket on the same S3 server, with the same credentials (what
    /// `S3Bucket`/`S3Key` content is read from), or `None` for a store that is no S3 server.
    fn s3_objects(&self) -> Option<S3Objects> {
        None
    }

    /// Copies the blob into `dest`, hashing it on the way: a blob whose bytes do not match its
    /// digest (a corrupted object) is [`BlobError::DigestMismatch`], and `dest` then holds
    /// bytes the caller must discard. Returns the number of bytes written.
    async fn fetch_verified(&self, digest: &Digest, dest: &Path) -> Result<u64, BlobError> {
        let reader = self.open(digest).await?;
        let mut out = tokio::fs::File::create(dest).await?;
        let mut hasher = Sha256::new();
        let mut written = 0u64;
        let mut stream = reader.stream;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            hasher.update(&chunk);
            out.write_all(&chunk).await?;
            written += chunk.len() as u64;
        }
        out.flush().await?;
        let actual = Digest(hasher.finalize().into());
        if actual != *digest {
            return Err(BlobError::DigestMismatch {
                expected: *digest,
                actual,
            });
        }
        Ok(written)
    }
}

/// What [`BlobStore::put`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    /// The blob was stored now.
    Stored,
    /// The blob was there already; the file was dropped unread.
    AlreadyStored,
}

/// A blob as [`BlobStore::list_stored`] finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredBlob {
    /// Its digest.
    pub digest: Digest,
    /// When it was last written: the object's `Last-Modified`, or the file's mtime.
    pub last_modified: SystemTime,
}

/// A stored blob being read.
pub struct BlobReader {
    /// Its size in bytes.
    pub size: u64,
    /// Its bytes, in chunks.
    pub stream: BoxStream<'static, Result<Bytes, BlobError>>,
}

impl std::fmt::Debug for BlobReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobReader")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// Why a blob operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// No blob has this digest.
    #[error("blob sha256:{} is not stored", .0.to_hex())]
    NotFound(Digest),
    /// The bytes do not hash to the digest they were stored or read under.
    #[error("blob bytes hash to sha256:{} instead of sha256:{}", actual.to_hex(), expected.to_hex())]
    DigestMismatch {
        /// The digest the bytes were meant to have.
        expected: Digest,
        /// The digest they have.
        actual: Digest,
    },
    /// The local disk failed.
    #[error("blob store I/O: {0}")]
    Io(#[from] io::Error),
    /// The object store failed or could not be reached.
    #[error("object store: {0}")]
    ObjectStore(#[from] object_store::Error),
    /// The store's settings are unusable.
    #[error("blob store settings: {0}")]
    Config(String),
}

/// The key of a blob below the store's root: `sha256/ab/<hex>`, the layout the local
/// directory always had, so both stores name a blob the same way.
fn blob_key(digest: &Digest) -> String {
    let hex = digest.to_hex();
    format!("sha256/{}/{hex}", &hex[..2])
}

/// The digest a key's last segment names, if it is one of ours.
fn digest_of_key(key: &str) -> Option<Digest> {
    let mut parts = key.rsplit('/');
    let hex = parts.next()?;
    let shard = parts.next()?;
    let digest = Digest::from_hex(hex)?;
    (shard == &hex[..2] && parts.next() == Some("sha256")).then_some(digest)
}

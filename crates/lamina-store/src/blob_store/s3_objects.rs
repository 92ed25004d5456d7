//! Objects of any bucket on the S3 server the blob store uses, read with the same
//! credentials: where `S3Bucket`/`S3Key` content (PublishLayerVersion, CreateFunction,
//! UpdateFunctionCode) comes from, as AWS Lambda reads it from S3.

use std::path::Path;

use futures_util::StreamExt as _;
use lamina_types::layer::Digest;
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, ObjectStore as _};
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWriteExt as _;

use super::BlobError;
use super::s3::{S3Settings, client};

/// An object named by a request: `S3Bucket`, `S3Key` and `S3ObjectVersion`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3ObjectRef {
    /// The bucket.
    pub bucket: String,
    /// The key.
    pub key: String,
    /// A version of a versioned bucket (`None`: the current one).
    pub version: Option<String>,
}

/// An object copied to a local file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Downloaded {
    /// SHA-256 of its bytes.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
}

/// Why an object could not be read; the variants name S3's error codes, which AWS Lambda
/// quotes to its clients.
#[derive(Debug, thiserror::Error)]
pub enum S3ObjectError {
    /// The bucket does not exist.
    #[error("bucket {0} does not exist")]
    NoSuchBucket(String),
    /// The bucket has no such key (or version).
    #[error("object {bucket}/{key} does not exist")]
    NoSuchKey {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
    },
    /// The credentials may not read the object.
    #[error("access to {bucket}/{key} is denied: {source}")]
    AccessDenied {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// What the server said.
        source: object_store::Error,
    },
    /// The object is larger than the caller accepts.
    #[error("the object is larger than {limit} bytes")]
    TooLarge {
        /// The most bytes accepted.
        limit: u64,
    },
    /// The server failed or could not be reached, or the local file could not be written.
    #[error("reading the object failed: {0}")]
    Store(#[from] BlobError),
}

/// A reader of objects on one S3 server.
#[derive(Clone)]
pub struct S3Objects {
    settings: S3Settings,
}

impl std::fmt::Debug for S3Objects {
    // The settings hold the secret key: never in a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Objects")
            .field("endpoint", &self.settings.endpoint)
            .finish_non_exhaustive()
    }
}

impl S3Objects {
    /// A reader of the server `settings` name (their endpoint resolved already).
    pub(super) fn new(settings: S3Settings) -> Self {
        Self { settings }
    }

    /// Copies `object` into `dest`, hashing it on the way. An object larger than
    /// `max_bytes` is [`S3ObjectError::TooLarge`] (and `dest` then holds bytes the caller
    /// must discard).
    pub async fn download(
        &self,
        object: &S3ObjectRef,
        dest: &Path,
        max_bytes: u64,
    ) -> Result<Downloaded, S3ObjectError> {
        let store = client(&object.bucket, &self.settings)?;
        let options = GetOptions {
            version: object.version.clone(),
            ..GetOptions::default()
        };
        let found = store
            .get_opts(&ObjectPath::from(object.key.as_str()), options)
            .await
            .map_err(|e| classify(object, e))?;
        if found.meta.size > max_bytes {
            return Err(S3ObjectError::TooLarge { limit: max_bytes });
        }
        let mut out = tokio::fs::File::create(dest)
            .await
            .map_err(BlobError::from)?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut stream = found.into_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| classify(object, e))?;
            size += chunk.len() as u64;
            // The object may grow between the size check and the read.
            if size > max_bytes {
                return Err(S3ObjectError::TooLarge { limit: max_bytes });
            }
            hasher.update(&chunk);
            out.write_all(&chunk).await.map_err(BlobError::from)?;
        }
        out.flush().await.map_err(BlobError::from)?;
        Ok(Downloaded {
            digest: Digest(hasher.finalize().into()),
            size,
        })
    }
}

/// S3 answers 404 both for a missing key and a missing bucket; its error code, in the body
/// the client quotes, tells them apart.
fn classify(object: &S3ObjectRef, e: object_store::Error) -> S3ObjectError {
    match e {
        object_store::Error::NotFound { source, .. }
            if source.to_string().contains("NoSuchBucket") =>
        {
            S3ObjectError::NoSuchBucket(object.bucket.clone())
        }
        object_store::Error::NotFound { .. } => S3ObjectError::NoSuchKey {
            bucket: object.bucket.clone(),
            key: object.key.clone(),
        },
        e @ (object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. }) => S3ObjectError::AccessDenied {
            bucket: object.bucket.clone(),
            key: object.key.clone(),
            source: e,
        },
        e => S3ObjectError::Store(BlobError::ObjectStore(e)),
    }
}

//! ZIP ingest shared by layers and functions: decode the base64 `ZipFile` while hashing it,
//! store the blob under its SHA-256 and extract it once into an immutable tree. Identical
//! bytes are stored once, whoever uploads them.

use std::sync::Arc;

use bytes::Bytes;
use lamina_layers::{decode_base64_into, extract_zip};
use lamina_store::{LocalArtifacts, MetadataStore, S3ObjectError, S3ObjectRef};
use lamina_types::layer::Digest;
use lamina_types::limits::{MAX_UNZIPPED_BYTES, MAX_ZIPPED_BYTES};
use lamina_types::{ExtractedTree, LambdaError};
use tempfile::NamedTempFile;

use crate::internal_errors::storage_error;
use crate::trees::ZIP_LIMITS;
use crate::zip_errors::{extract_error, ingest_error};

/// A stored and extracted ZIP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ingested {
    /// SHA-256 of the ZIP bytes.
    pub digest: Digest,
    /// ZIP size in bytes.
    pub size: u64,
    /// Sum of the extracted file sizes in bytes.
    pub unzipped_size: u64,
}

/// Stores ZIPs in one artifact directory, consulting the metadata for trees already known.
#[derive(Clone)]
pub(crate) struct Ingestor {
    metadata: Arc<dyn MetadataStore>,
    artifacts: LocalArtifacts,
}

impl Ingestor {
    pub(crate) fn new(metadata: Arc<dyn MetadataStore>, artifacts: LocalArtifacts) -> Self {
        Self {
            metadata,
            artifacts,
        }
    }

    /// Where the tree of `digest` is extracted on this machine (and its bytecode goes), for a
    /// locked spec.
    pub(crate) fn extracted_tree(&self, digest: Digest) -> ExtractedTree {
        self.artifacts.extracted(&digest)
    }

    /// Decodes, hashes, stores and extracts a ZIP, or finds it stored already. `member` names
    /// the request member in messages (`Content.ZipFile`, `Code.ZipFile`, `ZipFile`).
    pub(crate) async fn ingest(
        &self,
        zip_base64: Bytes,
        member: &'static str,
    ) -> Result<Ingested, LambdaError> {
        let padding = zip_base64
            .iter()
            .rev()
            .take(2)
            .filter(|b| **b == b'=')
            .count() as u64;
        let decoded_len = (zip_base64.len() as u64 / 4 * 3).saturating_sub(padding);
        if decoded_len > MAX_ZIPPED_BYTES {
            return Err(LambdaError::RequestEntityTooLarge(format!(
                "Zipped size must be smaller than {MAX_ZIPPED_BYTES} bytes"
            )));
        }
        self.store_blocking(member, move |artifacts| {
            let mut scratch = artifacts.scratch_file().map_err(io_error)?;
            let decoded = decode_base64_into(&zip_base64, scratch.as_file_mut(), MAX_ZIPPED_BYTES)
                .map_err(|e| ingest_error(e, member))?;
            Ok((scratch, decoded.digest, decoded.size))
        })
        .await
    }

    /// Runs `fill` (which writes a ZIP into a scratch file and says its digest and size), then
    /// stores the ZIP, on a blocking thread: both read and write files.
    async fn store_blocking(
        &self,
        member: &'static str,
        fill: impl FnOnce(&LocalArtifacts) -> Result<(NamedTempFile, Digest, u64), LambdaError>
        + Send
        + 'static,
    ) -> Result<Ingested, LambdaError> {
        let artifacts = self.artifacts.clone();
        let metadata = Arc::clone(&self.metadata);
        let handle = tokio::runtime::Handle::current();
        // The blocking thread does not inherit the request's span; enter it so a refused ZIP
        // is logged under the request id the client got.
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _request = span.enter();
            let (scratch, digest, size) = fill(&artifacts)?;
            store_zip(
                &handle, &*metadata, &artifacts, scratch, digest, size, member,
            )
        })
        .await
        .map_err(|e| LambdaError::Service(format!("ingest task failed: {e}")))?
    }

    /// As [`Self::ingest`], the ZIP read from `object` on the S3 server of the blob store, as
    /// AWS reads `S3Bucket`/`S3Key` content from S3. AWS's 50 MB limit of inline uploads does
    /// not apply; the 250 MB unzipped one does (and bounds the ZIP itself).
    pub(crate) async fn ingest_s3(
        &self,
        object: &S3ObjectRef,
        member: &'static str,
    ) -> Result<Ingested, LambdaError> {
        let Some(objects) = self.artifacts.blobs().s3_objects() else {
            return Err(LambdaError::InvalidParameterValue(NO_S3_STORE.to_owned()));
        };
        let scratch = self.artifacts.scratch_file().map_err(io_error)?;
        let downloaded = objects
            .download(object, scratch.path(), MAX_UNZIPPED_BYTES)
            .await
            .map_err(|e| s3_object_error(e, object))?;
        self.store_blocking(member, move |_| {
            Ok((scratch, downloaded.digest, downloaded.size))
        })
        .await
    }

    /// [`Self::ingest`] or [`Self::ingest_s3`], as `source` says.
    pub(crate) async fn ingest_from(
        &self,
        source: ZipSource,
        member: &'static str,
    ) -> Result<Ingested, LambdaError> {
        match source {
            ZipSource::Inline(zip_base64) => self.ingest(zip_base64, member).await,
            ZipSource::S3(object) => self.ingest_s3(&object, member).await,
        }
    }
}

/// Where a request's ZIP is.
#[derive(Debug, Clone)]
pub(crate) enum ZipSource {
    /// `ZipFile`: base64 text as it arrived.
    Inline(Bytes),
    /// `S3Bucket`, `S3Key` and `S3ObjectVersion`.
    S3(S3ObjectRef),
}

/// With local artifacts there is no S3 server to read `S3Bucket`/`S3Key` from.
const NO_S3_STORE: &str = "S3Bucket and S3Key are not supported: Lamina reads them only from the \
     S3-compatible store it keeps ZIPs in (lamina serve --artifacts s3://...), and this server \
     keeps ZIPs on its own disk. Send the ZIP inline as ZipFile (for example with --zip-file \
     fileb://code.zip).";

/// Extracts the ZIP in `scratch` (hashing to `digest`, `size` bytes) unless its tree is here
/// already, then stores its blob. Runs on a blocking thread.
fn store_zip(
    handle: &tokio::runtime::Handle,
    metadata: &dyn MetadataStore,
    artifacts: &LocalArtifacts,
    scratch: tempfile::NamedTempFile,
    digest: Digest,
    size: u64,
    member: &str,
) -> Result<Ingested, LambdaError> {
    let known = handle
        .block_on(metadata.recorded_unzipped_size(&digest))
        .map_err(storage_error)?;
    let unzipped_size = match known {
        Some(size) if artifacts.has_tree(&digest) => size,
        _ => {
            let tree = artifacts.scratch_dir().map_err(io_error)?;
            let extracted = extract_zip(scratch.path(), tree.path(), &ZIP_LIMITS)
                .map_err(|e| extract_error(e, member))?;
            artifacts.commit_tree(tree, &digest).map_err(io_error)?;
            extracted.unzipped_bytes
        }
    };
    // Last, once the ZIP extracted: a blob in the store is one every node can extract.
    handle
        .block_on(artifacts.blobs().put(&digest, scratch))
        .map_err(storage_error)?;
    Ok(Ingested {
        digest,
        size,
        unzipped_size,
    })
}

/// AWS's answer when it cannot read `S3Bucket`/`S3Key` content: the S3 error code and
/// message, quoted.
fn s3_object_error(e: S3ObjectError, object: &S3ObjectRef) -> LambdaError {
    let quoted = |code: &str, message: &str| {
        LambdaError::InvalidParameterValue(format!(
            "Error occurred while GetObject. S3 Error Code: {code}. S3 Error Message: {message}"
        ))
    };
    match e {
        S3ObjectError::NoSuchKey { .. } => quoted("NoSuchKey", "The specified key does not exist."),
        // Guessed: AWS quotes S3's NoSuchBucket and AccessDenied as it quotes NoSuchKey.
        S3ObjectError::NoSuchBucket(_) => {
            quoted("NoSuchBucket", "The specified bucket does not exist")
        }
        S3ObjectError::AccessDenied { .. } => {
            tracing::info!(bucket = %object.bucket, key = %object.key, error = %e, "S3 content refused");
            quoted("AccessDenied", "Access Denied")
        }
        S3ObjectError::TooLarge { .. } => LambdaError::InvalidParameterValue(format!(
            "Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes"
        )),
        S3ObjectError::Store(e) => {
            LambdaError::Service(format!("reading S3Bucket/S3Key content failed: {e}"))
        }
    }
}

fn io_error(e: std::io::Error) -> LambdaError {
    storage_error(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object() -> S3ObjectRef {
        S3ObjectRef {
            bucket: "b".into(),
            key: "k.zip".into(),
            version: None,
        }
    }

    #[test]
    fn s3_errors_are_quoted_as_aws_quotes_them() {
        let missing = S3ObjectError::NoSuchKey {
            bucket: "b".into(),
            key: "k.zip".into(),
        };
        let e = s3_object_error(missing, &object());
        assert_eq!(e.type_name(), "InvalidParameterValueException");
        assert_eq!(
            e.message(),
            "Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The \
             specified key does not exist."
        );
        let e = s3_object_error(S3ObjectError::NoSuchBucket("b".into()), &object());
        assert!(
            e.message().contains("S3 Error Code: NoSuchBucket."),
            "{}",
            e.message()
        );
        let e = s3_object_error(
            S3ObjectError::TooLarge {
                limit: MAX_UNZIPPED_BYTES,
            },
            &object(),
        );
        assert_eq!(e.type_name(), "InvalidParameterValueException");
        assert!(
            e.message()
                .starts_with("Unzipped size must be smaller than")
        );
    }
}

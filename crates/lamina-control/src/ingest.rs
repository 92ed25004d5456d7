//! ZIP ingest shared by layers and functions: decode the base64 `ZipFile` while hashing it,
//! store the blob under its SHA-256 and extract it once into an immutable tree. Identical
//! bytes are stored once, whoever uploads them.

use std::sync::Arc;

use bytes::Bytes;
use lamina_layers::{decode_base64_into, extract_zip};
use lamina_store::{LocalArtifacts, MetadataStore};
use lamina_types::layer::Digest;
use lamina_types::limits::MAX_ZIPPED_BYTES;
use lamina_types::{ExtractedTree, LambdaError};

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

    /// Makes the tree of `digest` present on this node when it is not (a version settled on
    /// another node sharing the blob store: see [`crate::trees`]). A ZIP the store cannot give
    /// or that does not extract is a `ServiceException`.
    pub(crate) async fn ensure_tree(&self, digest: Digest) -> Result<(), LambdaError> {
        crate::trees::ensure_tree(&self.artifacts, &digest)
            .await
            .map_err(storage_error)
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
        let artifacts = self.artifacts.clone();
        let metadata = Arc::clone(&self.metadata);
        let handle = tokio::runtime::Handle::current();
        // The blocking thread does not inherit the request's span; enter it so a refused ZIP
        // is logged under the request id the client got.
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _request = span.enter();
            let mut scratch = artifacts.scratch_file().map_err(io_error)?;
            let decoded = decode_base64_into(&zip_base64, scratch.as_file_mut(), MAX_ZIPPED_BYTES)
                .map_err(|e| ingest_error(e, member))?;
            drop(zip_base64);
            let known = handle
                .block_on(metadata.recorded_unzipped_size(&decoded.digest))
                .map_err(storage_error)?;
            let unzipped_size = match known {
                Some(size) if artifacts.has_tree(&decoded.digest) => size,
                _ => {
                    let tree = artifacts.scratch_dir().map_err(io_error)?;
                    let extracted = extract_zip(scratch.path(), tree.path(), &ZIP_LIMITS)
                        .map_err(|e| extract_error(e, member))?;
                    artifacts
                        .commit_tree(tree, &decoded.digest)
                        .map_err(io_error)?;
                    extracted.unzipped_bytes
                }
            };
            // Last, once the ZIP extracted: a blob in the store is one every node can extract.
            handle
                .block_on(artifacts.blobs().put(&decoded.digest, scratch))
                .map_err(storage_error)?;
            Ok(Ingested {
                digest: decoded.digest,
                size: decoded.size,
                unzipped_size,
            })
        })
        .await
        .map_err(|e| LambdaError::Service(format!("ingest task failed: {e}")))?
    }
}

fn io_error(e: std::io::Error) -> LambdaError {
    storage_error(e)
}

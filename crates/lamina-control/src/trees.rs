//! The trees extracted from stored ZIPs, kept on each node's own disk. A node that lacks one
//! (another node published the ZIP into a shared store, or this node's tree was removed)
//! fetches the ZIP from the blob store, checks it against its digest, and extracts it with
//! the same safe extraction and limits as a publish.

use std::io;

use lamina_layers::{ExtractError, ExtractLimits, extract_zip};
use lamina_store::{BlobError, LocalArtifacts};
use lamina_types::layer::Digest;
use lamina_types::limits::{MAX_UNZIPPED_BYTES, MAX_ZIP_ENTRIES};

/// What a ZIP may expand to, at publish and whenever a node extracts it again.
pub(crate) const ZIP_LIMITS: ExtractLimits = ExtractLimits {
    max_unzipped_bytes: MAX_UNZIPPED_BYTES,
    max_entries: MAX_ZIP_ENTRIES,
};

/// Why a tree could not be made present.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    /// The ZIP could not be fetched, or its bytes do not match its digest.
    #[error("fetching the ZIP sha256:{}: {source}", digest.to_hex())]
    Fetch {
        /// The ZIP's digest.
        digest: Digest,
        /// What the blob store said.
        source: BlobError,
    },
    /// The stored ZIP does not extract (it did when published, so the store holds other
    /// bytes than it should, or the limits changed).
    #[error("extracting the ZIP sha256:{}: {source}", digest.to_hex())]
    Extract {
        /// The ZIP's digest.
        digest: Digest,
        /// What extraction said.
        source: ExtractError,
    },
    /// This node's artifact directories failed.
    #[error("this node's artifact directory: {0}")]
    Io(#[from] io::Error),
}

/// Makes the tree of `digest` present on this node: at once if it is, else fetched, verified
/// and extracted. Concurrent calls for the same digest each extract; the first to finish
/// wins and the others' copies are dropped ([`LocalArtifacts::commit_tree`]).
pub async fn ensure_tree(artifacts: &LocalArtifacts, digest: &Digest) -> Result<(), TreeError> {
    if artifacts.has_tree(digest) {
        return Ok(());
    }
    let zip = artifacts.scratch_file()?;
    artifacts
        .blobs()
        .fetch_verified(digest, zip.path())
        .await
        .map_err(|source| TreeError::Fetch {
            digest: *digest,
            source,
        })?;
    let artifacts = artifacts.clone();
    let digest = *digest;
    tokio::task::spawn_blocking(move || {
        let tree = artifacts.scratch_dir()?;
        extract_zip(zip.path(), tree.path(), &ZIP_LIMITS)
            .map_err(|source| TreeError::Extract { digest, source })?;
        artifacts.commit_tree(tree, &digest)?;
        Ok(())
    })
    .await
    .map_err(|e| TreeError::Io(io::Error::other(e)))?
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;
    use std::sync::Arc;

    use lamina_store::LocalBlobStore;
    use lamina_store::blob_store::testing::{digest_of, s3_from_env};

    use super::*;
    use crate::test_zip::stored_zip;

    fn local(dir: &tempfile::TempDir) -> LocalArtifacts {
        LocalArtifacts::open(dir.path()).expect("artifacts")
    }

    fn s3(dir: &tempfile::TempDir) -> LocalArtifacts {
        LocalArtifacts::open_with(dir.path(), Arc::new(s3_from_env())).expect("artifacts")
    }

    /// Stores `bytes` as a blob, as a publish on another node would, without a tree here.
    async fn store(artifacts: &LocalArtifacts, bytes: &[u8]) -> Digest {
        let digest = digest_of(bytes);
        let mut scratch = artifacts.scratch_file().expect("scratch");
        scratch.write_all(bytes).expect("write");
        artifacts.blobs().put(&digest, scratch).await.expect("put");
        digest
    }

    async fn a_missing_tree_is_fetched_and_extracted(artifacts: LocalArtifacts) {
        let zip = stored_zip(&[("lambda_function.py", b"def handler(e, c): pass\n")]);
        let digest = store(&artifacts, &zip).await;
        assert!(!artifacts.has_tree(&digest));
        ensure_tree(&artifacts, &digest).await.expect("ensure");
        let file = artifacts.tree_path(&digest).join("lambda_function.py");
        assert_eq!(
            std::fs::read(&file).expect("extracted file"),
            b"def handler(e, c): pass\n"
        );
        ensure_tree(&artifacts, &digest)
            .await
            .expect("a present tree is left as it is");
    }

    /// A tree evicted for the bound is extracted again from its blob, which stays.
    async fn an_evicted_tree_is_extracted_again(artifacts: LocalArtifacts) {
        let artifacts = artifacts.with_tree_bound(0);
        let zip = stored_zip(&[("lambda_function.py", b"def handler(e, c): pass\n")]);
        let digest = store(&artifacts, &zip).await;
        ensure_tree(&artifacts, &digest).await.expect("ensure");
        let report = artifacts.evict(Default::default).await.expect("evict");
        assert_eq!(report.trees, 1);
        assert!(!artifacts.has_tree(&digest));
        ensure_tree(&artifacts, &digest)
            .await
            .expect("extracted again");
        let file = artifacts.tree_path(&digest).join("lambda_function.py");
        assert!(file.is_file());
        let kept = artifacts
            .evict(move || std::collections::HashSet::from([digest]))
            .await
            .expect("evict");
        assert_eq!(kept.trees, 0, "a tree in use stays, over the bound or not");
    }

    #[tokio::test]
    async fn local_evicted_tree_is_extracted_again() {
        let dir = tempfile::tempdir().expect("dir");
        an_evicted_tree_is_extracted_again(local(&dir)).await;
    }

    #[tokio::test]
    #[ignore = "needs LAMINA_TEST_S3_ENDPOINT (scripts/test starts SeaweedFS and sets it)"]
    async fn s3_evicted_tree_is_extracted_again() {
        let dir = tempfile::tempdir().expect("dir");
        an_evicted_tree_is_extracted_again(s3(&dir)).await;
    }

    async fn a_missing_blob_fails_and_leaves_no_tree(artifacts: LocalArtifacts) {
        let digest = digest_of(b"never published");
        let failed = ensure_tree(&artifacts, &digest).await;
        assert!(
            matches!(
                failed,
                Err(TreeError::Fetch {
                    source: BlobError::NotFound(_),
                    ..
                })
            ),
            "{failed:?}"
        );
        assert!(!artifacts.has_tree(&digest));
    }

    #[tokio::test]
    async fn local_missing_tree_is_fetched_and_extracted() {
        let dir = tempfile::tempdir().expect("dir");
        a_missing_tree_is_fetched_and_extracted(local(&dir)).await;
    }

    #[tokio::test]
    async fn local_missing_blob_fails_and_leaves_no_tree() {
        let dir = tempfile::tempdir().expect("dir");
        a_missing_blob_fails_and_leaves_no_tree(local(&dir)).await;
    }

    #[tokio::test]
    #[ignore = "needs LAMINA_TEST_S3_ENDPOINT (scripts/test starts SeaweedFS and sets it)"]
    async fn s3_missing_tree_is_fetched_and_extracted() {
        let dir = tempfile::tempdir().expect("dir");
        a_missing_tree_is_fetched_and_extracted(s3(&dir)).await;
    }

    #[tokio::test]
    #[ignore = "needs LAMINA_TEST_S3_ENDPOINT (scripts/test starts SeaweedFS and sets it)"]
    async fn s3_missing_blob_fails_and_leaves_no_tree() {
        let dir = tempfile::tempdir().expect("dir");
        a_missing_blob_fails_and_leaves_no_tree(s3(&dir)).await;
    }

    /// A blob whose bytes changed in the store (disk corruption, a hand edit) is refused,
    /// and no tree is made from it.
    #[tokio::test]
    async fn a_corrupted_blob_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let artifacts = local(&dir);
        let zip = stored_zip(&[("a.txt", b"a")]);
        let digest = store(&artifacts, &zip).await;
        let path = LocalBlobStore::new(dir.path().join("blobs")).path(&digest);
        std::fs::write(&path, stored_zip(&[("a.txt", b"b")])).expect("corrupt");
        let failed = ensure_tree(&artifacts, &digest).await;
        assert!(
            matches!(
                failed,
                Err(TreeError::Fetch {
                    source: BlobError::DigestMismatch { .. },
                    ..
                })
            ),
            "{failed:?}"
        );
        assert!(!artifacts.has_tree(&digest));
    }
}

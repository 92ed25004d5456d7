//! Content-addressed artifacts: ZIP blobs in a [`BlobStore`] (by default the local directory
//! below, or an S3 bucket shared by several nodes), and on this node's disk the trees
//! extracted from them and the trees' bytecode.
//!
//! ```text
//! blobs/sha256/ab/<hex>                 ZIP bytes, immutable (the local blob store only)
//! trees/sha256/ab/<hex>/                the extracted ZIP, immutable
//! bytecode/sha256/ab/<hex>/python3.12/  the tree's `.pyc` for Python 3.12, in `__pycache__`
//!                                       directories where the tree has its sources
//! tmp/                                  scratch for uploads, extractions and compilations in
//!                                       flight
//! ```
//! Everything is written under `tmp/` first and renamed into place, so a crash never leaves
//! a partial blob, tree or bytecode directory under its final name; [`LocalArtifacts::sweep`]
//! clears the rest.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use lamina_types::ExtractedTree;
use lamina_types::layer::Digest;
use tempfile::{NamedTempFile, TempDir};

use crate::blob_store::{BlobError, BlobStore, LocalBlobStore};
use crate::tree_cache::TreeCache;

mod eviction;

pub use eviction::EvictReport;
use eviction::disk_bytes;

/// How old an unreferenced blob of a shared store must be before a sweep removes it: another
/// node may have stored it for a publish whose row is not written yet (that takes seconds; an
/// hour leaves room for slow uploads and clocks that disagree). A publish that finds an old
/// blob stored writes it again, so it is young again ([`crate::S3BlobStore`]).
pub const SHARED_SWEEP_GRACE: Duration = Duration::from_secs(60 * 60);

/// The blob store and the node-local artifact directories of one data directory.
#[derive(Debug, Clone)]
pub struct LocalArtifacts {
    blobs: Arc<dyn BlobStore>,
    /// The trees here, their sizes and order of use; unbounded unless set.
    cache: Arc<TreeCache>,
    trees: PathBuf,
    bytecode: PathBuf,
    tmp: PathBuf,
}

impl LocalArtifacts {
    /// Creates (if needed) the artifact directories under `data_dir`, with the blobs in
    /// `data_dir/blobs` (the single-node default).
    pub fn open(data_dir: &Path) -> io::Result<Self> {
        let blobs = LocalBlobStore::new(data_dir.join("blobs"));
        fs::create_dir_all(blobs.shards())?;
        Self::open_with(data_dir, Arc::new(blobs))
    }

    /// Creates (if needed) the node-local directories under `data_dir`, with the blobs in
    /// `blobs` (an S3 bucket several nodes share).
    pub fn open_with(data_dir: &Path, blobs: Arc<dyn BlobStore>) -> io::Result<Self> {
        let this = Self {
            blobs,
            cache: Arc::new(TreeCache::new(u64::MAX)),
            trees: data_dir.join("trees").join("sha256"),
            bytecode: data_dir.join("bytecode").join("sha256"),
            tmp: data_dir.join("tmp"),
        };
        for dir in [&this.trees, &this.bytecode, &this.tmp] {
            fs::create_dir_all(dir)?;
        }
        Ok(this)
    }

    /// Where the ZIPs are.
    pub fn blobs(&self) -> &Arc<dyn BlobStore> {
        &self.blobs
    }

    /// The same artifacts with the trees bounded to `bytes` ([`Self::evict`]). Set before the
    /// artifacts are cloned: clones share one cache.
    #[must_use]
    pub fn with_tree_bound(mut self, bytes: u64) -> Self {
        self.cache = Arc::new(TreeCache::new(bytes));
        self
    }

    /// The bookkeeping of the trees here.
    pub fn tree_cache(&self) -> &Arc<TreeCache> {
        &self.cache
    }

    /// A new scratch file, removed on drop unless committed.
    pub fn scratch_file(&self) -> io::Result<NamedTempFile> {
        NamedTempFile::new_in(&self.tmp)
    }

    /// A new scratch directory, removed on drop unless committed.
    pub fn scratch_dir(&self) -> io::Result<TempDir> {
        TempDir::new_in(&self.tmp)
    }

    /// Where the tree extracted from the blob with this digest lives.
    pub fn tree_path(&self, digest: &Digest) -> PathBuf {
        shard(&self.trees, digest)
    }

    /// Where the bytecode of the tree of this digest lives: one directory per Python version
    /// (`python3.12/`), each renamed into place once complete.
    pub fn bytecode_path(&self, digest: &Digest) -> PathBuf {
        shard(&self.bytecode, digest)
    }

    /// The tree of `digest` as an environment mounts it: where it is extracted and where its
    /// bytecode goes.
    pub fn extracted(&self, digest: &Digest) -> ExtractedTree {
        ExtractedTree {
            digest: *digest,
            path: self.tree_path(digest),
            bytecode: Some(self.bytecode_path(digest)),
        }
    }

    /// The scratch directory (`tmp/`, emptied at start): what is written there is renamed
    /// into place or left for the next start's sweep.
    pub fn scratch_root(&self) -> &Path {
        &self.tmp
    }

    /// Whether the tree for this digest exists (which implies its blob was validated), and
    /// if so, a use of it. Under the cache's lock, so an eviction is either seen whole or
    /// not at all.
    pub fn has_tree(&self, digest: &Digest) -> bool {
        let mut cache = self.cache.lock();
        let present = self.tree_path(digest).is_dir();
        if present {
            cache.used(digest, None);
        }
        present
    }

    /// Makes a scratch directory the tree for `digest`. If another publish of the same bytes
    /// won the race, the scratch copy is dropped.
    pub fn commit_tree(&self, scratch: TempDir, digest: &Digest) -> io::Result<()> {
        let target = self.tree_path(digest);
        let bytes = disk_bytes(scratch.path())?;
        let mut cache = self.cache.lock();
        if target.is_dir() {
            cache.used(digest, None);
            return Ok(());
        }
        create_parent(&target)?;
        let staged = scratch.keep();
        let committed = match fs::rename(&staged, &target) {
            Ok(()) => Ok(()),
            Err(_) if target.is_dir() => fs::remove_dir_all(&staged),
            Err(e) => {
                let _ = fs::remove_dir_all(&staged);
                Err(e)
            }
        };
        cache.used(digest, Some(bytes));
        drop(cache);
        self.cache.notify_grown();
        committed
    }

    /// Removes scratch left by a crash and every tree, bytecode directory and blob no row
    /// refers to. Run at start-up, before the server accepts requests, so nothing in flight
    /// on this node is touched. `referenced` must be read before the sweep starts.
    ///
    /// In a shared blob store only blobs older than [`SHARED_SWEEP_GRACE`] go: another node
    /// may be publishing a blob whose row is not written yet.
    pub async fn sweep(&self, referenced: &HashSet<Digest>) -> Result<SweepReport, BlobError> {
        self.sweep_at(referenced, SystemTime::now()).await
    }

    /// [`Self::sweep`] as if the time were `now`: what ages the blobs of a shared store.
    pub async fn sweep_at(
        &self,
        referenced: &HashSet<Digest>,
        now: SystemTime,
    ) -> Result<SweepReport, BlobError> {
        let mut report = {
            let this = self.clone();
            let referenced = referenced.clone();
            tokio::task::spawn_blocking(move || this.sweep_local(&referenced))
                .await
                .map_err(|e| BlobError::Io(io::Error::other(e)))??
        };
        // A private store's blobs are all this node's, and none is being written now.
        let cutoff = if self.blobs.is_node_local() {
            None
        } else {
            Some(
                now.checked_sub(SHARED_SWEEP_GRACE)
                    .unwrap_or(SystemTime::UNIX_EPOCH),
            )
        };
        for blob in self.blobs.list_stored().await? {
            let recent = cutoff.is_some_and(|cutoff| blob.last_modified > cutoff);
            if !referenced.contains(&blob.digest) && !recent {
                self.blobs.delete(&blob.digest).await?;
                report.blobs += 1;
            }
        }
        Ok(report)
    }

    /// The node-local part of [`Self::sweep`]: scratch, trees and bytecode.
    fn sweep_local(&self, referenced: &HashSet<Digest>) -> io::Result<SweepReport> {
        let mut report = SweepReport::default();
        for entry in fs::read_dir(&self.tmp)? {
            remove_any(&entry?.path())?;
            report.scratch += 1;
        }
        for (root, counter) in [
            (&self.trees, &mut report.trees),
            (&self.bytecode, &mut report.bytecode),
        ] {
            for shard_dir in fs::read_dir(root)? {
                let shard_dir = shard_dir?.path();
                for entry in fs::read_dir(&shard_dir)? {
                    let path = entry?.path();
                    let keep = path
                        .file_name()
                        .and_then(|n| n.to_str())
                        .and_then(Digest::from_hex)
                        .is_some_and(|d| referenced.contains(&d));
                    if !keep {
                        remove_any(&path)?;
                        *counter += 1;
                    }
                }
                // An emptied shard directory is clutter; a non-empty one stays (the error).
                let _ = fs::remove_dir(&shard_dir);
            }
        }
        Ok(report)
    }
}

/// What [`LocalArtifacts::sweep`] removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    /// Scratch files and directories.
    pub scratch: usize,
    /// Unreferenced blobs.
    pub blobs: usize,
    /// Unreferenced trees.
    pub trees: usize,
    /// The bytecode of unreferenced trees.
    pub bytecode: usize,
}

fn shard(root: &Path, digest: &Digest) -> PathBuf {
    let hex = digest.to_hex();
    root.join(&hex[..2]).join(hex)
}

fn create_parent(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(parent) => fs::create_dir_all(parent),
        None => Ok(()),
    }
}

fn remove_any(path: &Path) -> io::Result<()> {
    if path.is_dir() && !path.is_symlink() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::blob_store::testing::digest_of;

    #[tokio::test]
    async fn commit_then_sweep_keeps_only_referenced() {
        let dir = tempfile::tempdir().unwrap();
        let artifacts = LocalArtifacts::open(dir.path()).unwrap();
        let (kept, dropped) = (digest_of(b"kept"), digest_of(b"dropped"));
        for (d, bytes) in [(kept, b"kept".as_slice()), (dropped, b"dropped")] {
            let mut f = artifacts.scratch_file().unwrap();
            f.write_all(bytes).unwrap();
            artifacts.blobs().put(&d, f).await.unwrap();
            let t = artifacts.scratch_dir().unwrap();
            fs::write(t.path().join("file"), b"x").unwrap();
            artifacts.commit_tree(t, &d).unwrap();
            fs::create_dir_all(artifacts.bytecode_path(&d).join("python3.12")).unwrap();
        }
        let _left_over = artifacts.scratch_dir().unwrap().keep();
        let report = artifacts.sweep(&HashSet::from([kept])).await.unwrap();
        assert_eq!(
            report,
            SweepReport {
                scratch: 1,
                blobs: 1,
                trees: 1,
                bytecode: 1,
            }
        );
        assert!(artifacts.has_tree(&kept) && !artifacts.has_tree(&dropped));
        assert!(artifacts.bytecode_path(&kept).is_dir());
        assert!(!artifacts.bytecode_path(&dropped).exists());
        assert!(artifacts.blobs().exists(&kept).await.unwrap());
        assert!(!artifacts.blobs().exists(&dropped).await.unwrap());
        let blob_shard = |d: &Digest| dir.path().join("blobs/sha256").join(&d.to_hex()[..2]);
        assert!(blob_shard(&kept).is_dir());
        assert!(
            !blob_shard(&dropped).exists(),
            "empty shard directories are removed too"
        );
    }

    /// Several nodes share an S3 store: a blob another node stored a moment ago for a publish
    /// whose row is not written yet survives a sweep; once older than the grace period, and
    /// still unreferenced, it goes. The referenced one stays either way.
    #[tokio::test]
    #[ignore = "needs LAMINA_TEST_S3_ENDPOINT (scripts/test starts SeaweedFS and sets it)"]
    async fn a_shared_store_keeps_recent_unreferenced_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(crate::blob_store::testing::s3_from_env());
        let artifacts = LocalArtifacts::open_with(dir.path(), store).unwrap();
        let (kept, in_flight) = (digest_of(b"referenced"), digest_of(b"in flight"));
        for (d, bytes) in [(kept, b"referenced".as_slice()), (in_flight, b"in flight")] {
            let mut f = artifacts.scratch_file().unwrap();
            f.write_all(bytes).unwrap();
            artifacts.blobs().put(&d, f).await.unwrap();
        }
        let referenced = HashSet::from([kept]);
        let now = artifacts.sweep(&referenced).await.unwrap();
        assert_eq!(now.blobs, 0, "a fresh blob is spared");
        assert_eq!(artifacts.blobs().list().await.unwrap().len(), 2);

        let later = SystemTime::now() + SHARED_SWEEP_GRACE + Duration::from_secs(60);
        let then = artifacts.sweep_at(&referenced, later).await.unwrap();
        assert_eq!(then.blobs, 1);
        assert_eq!(artifacts.blobs().list().await.unwrap(), vec![kept]);
    }
}

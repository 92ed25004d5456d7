//! Bounding a node's extracted trees ([`crate::tree_cache`]): their sizes measured at start and
//! as bytecode grows, and the least recently used ones no environment uses evicted when they
//! exceed the bound, if their blob is stored to extract them from again.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::Path;

use lamina_types::layer::Digest;

use super::LocalArtifacts;
use crate::blob_store::BlobError;

impl LocalArtifacts {
    /// Records the size of every tree here (and its bytecode), in no particular order of use:
    /// what an earlier run left. Run at start-up, after [`Self::sweep`].
    pub fn load_tree_sizes(&self) -> io::Result<usize> {
        let mut found = 0;
        for shard_dir in fs::read_dir(&self.trees)? {
            for entry in fs::read_dir(shard_dir?.path())? {
                let path = entry?.path();
                let Some(digest) = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(Digest::from_hex)
                else {
                    continue;
                };
                let tree_bytes = disk_bytes(&path)?;
                let bytecode_bytes = disk_bytes_if_any(&self.bytecode_path(&digest))?;
                let mut cache = self.cache.lock();
                cache.used(&digest, Some(tree_bytes));
                cache.resize_bytecode(&digest, bytecode_bytes);
                found += 1;
            }
        }
        Ok(found)
    }

    /// Evicts least recently used trees (and their bytecode) until the rest fit the bound,
    /// never one `in_use` names (asked under the cache's lock, so no cold start can find a
    /// tree present and then lose it: a cold start holds its slot before it looks), and only
    /// one whose blob is stored: an evicted tree is extracted again from its blob when next
    /// needed (`ensure_tree`).
    pub async fn evict(
        &self,
        in_use: impl Fn() -> HashSet<Digest> + Send + 'static,
    ) -> Result<EvictReport, BlobError> {
        let this = self.clone();
        // Bytecode is added after its tree, by compilations in the background: measured now.
        let (in_use, candidates) = tokio::task::spawn_blocking(move || {
            this.measure_bytecode()?;
            let candidates = this
                .cache
                .lock()
                .victims(this.cache.bound_bytes(), &in_use());
            Ok::<_, io::Error>((in_use, candidates))
        })
        .await
        .map_err(|e| BlobError::Io(io::Error::other(e)))??;
        if candidates.is_empty() {
            return Ok(EvictReport::default());
        }
        let mut fetchable = HashSet::new();
        for digest in candidates {
            if self.blobs.exists(&digest).await? {
                fetchable.insert(digest);
            } else {
                tracing::warn!(
                    layer_digest = %digest.to_hex(),
                    "an extracted tree is kept over the bound: its ZIP is not in the blob store, \
                     so it could not be extracted again"
                );
            }
        }
        let this = self.clone();
        let report = tokio::task::spawn_blocking(move || {
            this.evict_blocking(&in_use(), |d| fetchable.contains(d))
        })
        .await
        .map_err(|e| BlobError::Io(io::Error::other(e)))??;
        Ok(report)
    }

    /// Measures the bytecode of every tree known.
    fn measure_bytecode(&self) -> io::Result<()> {
        let known = self.cache.lock().digests();
        for digest in known {
            let bytes = disk_bytes_if_any(&self.bytecode_path(&digest))?;
            self.cache.lock().resize_bytecode(&digest, bytes);
        }
        Ok(())
    }

    /// [`Self::evict`]'s moves, under the cache's lock: of the trees neither `in_use` nor
    /// refused by `may_go`.
    fn evict_blocking(
        &self,
        in_use: &HashSet<Digest>,
        may_go: impl Fn(&Digest) -> bool,
    ) -> io::Result<EvictReport> {
        let mut report = EvictReport::default();
        let doomed = {
            let mut cache = self.cache.lock();
            if cache.total_bytes() <= self.cache.bound_bytes() {
                return Ok(report);
            }
            let mut kept = in_use.clone();
            kept.extend(cache.digests().into_iter().filter(|d| !may_go(d)));
            let victims = cache.victims(self.cache.bound_bytes(), &kept);
            if victims.is_empty() {
                return Ok(report);
            }
            let doomed = self.scratch_dir()?;
            for digest in victims {
                let hex = digest.to_hex();
                // Renamed away under the lock (cheap), removed after it (slow).
                for (from, to) in [
                    (self.tree_path(&digest), doomed.path().join(&hex)),
                    (
                        self.bytecode_path(&digest),
                        doomed.path().join(format!("{hex}.pyc")),
                    ),
                ] {
                    match fs::rename(&from, &to) {
                        Ok(()) => {}
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => return Err(e),
                    }
                }
                report.bytes += cache.entry_bytes(&digest);
                cache.forget(&digest);
                report.trees += 1;
            }
            doomed
        };
        doomed.close()?;
        Ok(report)
    }
}

/// What [`LocalArtifacts::evict`] removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct EvictReport {
    /// Trees evicted.
    pub trees: usize,
    /// Their bytes on disk, bytecode included.
    pub bytes: u64,
}

/// The bytes of the files under `dir` (symbolic links count as nothing).
pub(super) fn disk_bytes(dir: &Path) -> io::Result<u64> {
    let mut total = 0;
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file() {
                total += entry.metadata()?.len();
            }
        }
    }
    Ok(total)
}

/// [`disk_bytes`], zero for a directory that does not exist.
fn disk_bytes_if_any(dir: &Path) -> io::Result<u64> {
    match disk_bytes(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::blob_store::testing::digest_of;

    /// Commits a tree of `bytes` bytes for `name`'s digest, with bytecode of `pyc` bytes, and
    /// stores its blob (`name`'s bytes).
    async fn tree_of(artifacts: &LocalArtifacts, name: &[u8], bytes: usize, pyc: usize) -> Digest {
        let digest = digest_of(name);
        let mut f = artifacts.scratch_file().unwrap();
        f.write_all(name).unwrap();
        artifacts.blobs().put(&digest, f).await.unwrap();
        let t = artifacts.scratch_dir().unwrap();
        fs::write(t.path().join("file"), vec![b'x'; bytes]).unwrap();
        artifacts.commit_tree(t, &digest).unwrap();
        let bytecode = artifacts.bytecode_path(&digest).join("python3.12");
        fs::create_dir_all(&bytecode).unwrap();
        fs::write(bytecode.join("m.pyc"), vec![b'c'; pyc]).unwrap();
        digest
    }

    #[tokio::test]
    async fn eviction_removes_least_recently_used_trees_not_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let artifacts = LocalArtifacts::open(dir.path())
            .unwrap()
            .with_tree_bound(250);
        let old = tree_of(&artifacts, b"old", 100, 10).await;
        let busy = tree_of(&artifacts, b"busy", 100, 10).await;
        let recent = tree_of(&artifacts, b"recent", 100, 10).await;
        assert!(artifacts.has_tree(&old), "a use: now `busy` is the oldest");
        let report = artifacts
            .evict(move || HashSet::from([busy]))
            .await
            .unwrap();
        // 330 bytes (bytecode counts) over a bound of 250: the least recently used tree not
        // in use goes, with its bytecode.
        assert_eq!(
            report,
            EvictReport {
                trees: 1,
                bytes: 110
            }
        );
        assert!(!artifacts.has_tree(&recent));
        assert!(!artifacts.bytecode_path(&recent).exists());
        assert!(artifacts.has_tree(&old) && artifacts.has_tree(&busy));
        assert_eq!(artifacts.tree_cache().total_bytes(), 220);
        let again = artifacts
            .evict(move || HashSet::from([busy]))
            .await
            .unwrap();
        assert_eq!(again, EvictReport::default(), "within the bound now");
        assert_eq!(fs::read_dir(artifacts.scratch_root()).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn sizes_left_by_an_earlier_run_are_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let artifacts = LocalArtifacts::open(dir.path()).unwrap();
        tree_of(&artifacts, b"a", 100, 10).await;
        tree_of(&artifacts, b"b", 50, 0).await;
        let restarted = LocalArtifacts::open(dir.path()).unwrap().with_tree_bound(0);
        assert_eq!(restarted.load_tree_sizes().unwrap(), 2);
        assert_eq!(restarted.tree_cache().total_bytes(), 160);
        let report = restarted.evict(HashSet::new).await.unwrap();
        assert_eq!(report.trees, 2);
    }

    #[tokio::test]
    async fn a_tree_whose_blob_is_gone_is_never_evicted() {
        let dir = tempfile::tempdir().unwrap();
        let artifacts = LocalArtifacts::open(dir.path()).unwrap().with_tree_bound(0);
        let orphan = tree_of(&artifacts, b"orphan", 10, 0).await;
        let fetchable = tree_of(&artifacts, b"fetchable", 10, 0).await;
        artifacts.blobs().delete(&orphan).await.unwrap();
        let report = artifacts.evict(HashSet::new).await.unwrap();
        assert_eq!(report.trees, 1);
        assert!(artifacts.has_tree(&orphan) && !artifacts.has_tree(&fetchable));
    }
}

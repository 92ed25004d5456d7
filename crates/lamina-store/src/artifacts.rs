//! Content-addressed artifacts on the local disk: ZIP blobs, their extracted trees and the
//! trees' bytecode.
//!
//! ```text
//! blobs/sha256/ab/<hex>                 ZIP bytes, immutable
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
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use lamina_types::ExtractedTree;
use lamina_types::layer::Digest;
use tempfile::{NamedTempFile, TempDir};

/// The artifact directories of one data directory.
#[derive(Debug, Clone)]
pub struct LocalArtifacts {
    blobs: PathBuf,
    trees: PathBuf,
    bytecode: PathBuf,
    tmp: PathBuf,
}

impl LocalArtifacts {
    /// Creates (if needed) the artifact directories under `data_dir`.
    pub fn open(data_dir: &Path) -> io::Result<Self> {
        let this = Self {
            blobs: data_dir.join("blobs").join("sha256"),
            trees: data_dir.join("trees").join("sha256"),
            bytecode: data_dir.join("bytecode").join("sha256"),
            tmp: data_dir.join("tmp"),
        };
        for dir in [&this.blobs, &this.trees, &this.bytecode, &this.tmp] {
            fs::create_dir_all(dir)?;
        }
        Ok(this)
    }

    /// A new scratch file, removed on drop unless committed.
    pub fn scratch_file(&self) -> io::Result<NamedTempFile> {
        NamedTempFile::new_in(&self.tmp)
    }

    /// A new scratch directory, removed on drop unless committed.
    pub fn scratch_dir(&self) -> io::Result<TempDir> {
        TempDir::new_in(&self.tmp)
    }

    /// Where the blob with this digest lives.
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        shard(&self.blobs, digest)
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

    /// Whether the tree for this digest exists (which implies its blob was validated).
    pub fn has_tree(&self, digest: &Digest) -> bool {
        self.tree_path(digest).is_dir()
    }

    /// Opens a stored blob for reading.
    pub fn open_blob(&self, digest: &Digest) -> io::Result<File> {
        File::open(self.blob_path(digest))
    }

    /// Makes a scratch file the blob for `digest`: flushed to disk, then renamed into place.
    /// If the blob exists already the scratch file is dropped (same digest, same bytes).
    pub fn commit_blob(&self, scratch: NamedTempFile, digest: &Digest) -> io::Result<()> {
        let target = self.blob_path(digest);
        if target.is_file() {
            return Ok(());
        }
        scratch.as_file().sync_all()?;
        create_parent(&target)?;
        scratch.persist(&target).map_err(|e| e.error)?;
        Ok(())
    }

    /// Makes a scratch directory the tree for `digest`. If another publish of the same bytes
    /// won the race, the scratch copy is dropped.
    pub fn commit_tree(&self, scratch: TempDir, digest: &Digest) -> io::Result<()> {
        let target = self.tree_path(digest);
        if target.is_dir() {
            return Ok(());
        }
        create_parent(&target)?;
        let staged = scratch.keep();
        match fs::rename(&staged, &target) {
            Ok(()) => Ok(()),
            Err(_) if target.is_dir() => fs::remove_dir_all(&staged),
            Err(e) => {
                let _ = fs::remove_dir_all(&staged);
                Err(e)
            }
        }
    }

    /// Removes scratch left by a crash and every blob, tree and bytecode directory no row
    /// refers to. Run at
    /// start-up, before the server accepts requests, so nothing in flight is touched.
    pub fn sweep(&self, referenced: &HashSet<Digest>) -> io::Result<SweepReport> {
        let mut report = SweepReport::default();
        for entry in fs::read_dir(&self.tmp)? {
            remove_any(&entry?.path())?;
            report.scratch += 1;
        }
        for (root, counter) in [
            (&self.blobs, &mut report.blobs),
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

    #[test]
    fn commit_then_sweep_keeps_only_referenced() {
        let dir = tempfile::tempdir().unwrap();
        let artifacts = LocalArtifacts::open(dir.path()).unwrap();
        let (kept, dropped) = (Digest([1; 32]), Digest([2; 32]));
        for d in [kept, dropped] {
            let mut f = artifacts.scratch_file().unwrap();
            f.write_all(b"zip").unwrap();
            artifacts.commit_blob(f, &d).unwrap();
            let t = artifacts.scratch_dir().unwrap();
            fs::write(t.path().join("file"), b"x").unwrap();
            artifacts.commit_tree(t, &d).unwrap();
            fs::create_dir_all(artifacts.bytecode_path(&d).join("python3.12")).unwrap();
        }
        let _left_over = artifacts.scratch_dir().unwrap().keep();
        let report = artifacts.sweep(&HashSet::from([kept])).unwrap();
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
        assert!(artifacts.blob_path(&kept).is_file() && !artifacts.blob_path(&dropped).exists());
        let shard_of_dropped = artifacts.blob_path(&dropped).parent().unwrap().to_owned();
        assert!(
            !shard_of_dropped.exists(),
            "empty shard directories are removed too"
        );
    }
}

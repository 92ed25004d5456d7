//! Blobs in a directory of the local disk: the single-node default, laid out as it always was
//! (`<data>/blobs/sha256/ab/<hex>`).

use std::io;
use std::path::{Path, PathBuf};

use futures_util::StreamExt as _;
use lamina_types::layer::Digest;
use tempfile::NamedTempFile;
use tokio_util::io::ReaderStream;

use super::{BlobError, BlobReader, BlobStore, Put, StoredBlob, blob_key, digest_of_key, hash};

/// Bytes read at a time when a blob is streamed out.
const READ_CHUNK: usize = 256 * 1024;

/// A directory of blobs, each written under a scratch name, flushed, then renamed into place,
/// so a crash never leaves a partial blob under its final name.
#[derive(Debug, Clone)]
pub struct LocalBlobStore {
    root: PathBuf,
}

impl LocalBlobStore {
    /// The store rooted at `root` (`<data>/blobs`). Scratch files given to [`BlobStore::put`]
    /// must be on the same file system, as the data directory's `tmp/` is.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Where the blob with this digest lives (whether or not it is stored).
    pub fn path(&self, digest: &Digest) -> PathBuf {
        self.root.join(blob_key(digest))
    }

    /// The directory holding the shard directories, swept at start-up.
    pub(crate) fn shards(&self) -> PathBuf {
        self.root.join("sha256")
    }
}

#[async_trait::async_trait]
impl BlobStore for LocalBlobStore {
    async fn put(&self, digest: &Digest, file: NamedTempFile) -> Result<Put, BlobError> {
        let target = self.path(digest);
        if tokio::fs::try_exists(&target).await? {
            return Ok(Put::AlreadyStored);
        }
        let file = hash::verify(*digest, file).await?;
        tokio::task::spawn_blocking(move || commit(file, &target))
            .await
            .map_err(|e| BlobError::Io(io::Error::other(e)))??;
        Ok(Put::Stored)
    }

    async fn exists(&self, digest: &Digest) -> Result<bool, BlobError> {
        Ok(tokio::fs::try_exists(self.path(digest)).await?)
    }

    async fn open(&self, digest: &Digest) -> Result<BlobReader, BlobError> {
        let file = match tokio::fs::File::open(self.path(digest)).await {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(BlobError::NotFound(*digest));
            }
            Err(e) => return Err(e.into()),
        };
        let size = file.metadata().await?.len();
        let stream = ReaderStream::with_capacity(file, READ_CHUNK)
            .map(|chunk| chunk.map_err(BlobError::from))
            .boxed();
        Ok(BlobReader { size, stream })
    }

    async fn delete(&self, digest: &Digest) -> Result<(), BlobError> {
        let path = self.path(digest);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        // An emptied shard directory is clutter; a non-empty one stays (the error). A put
        // racing into it retries (see `commit`).
        if let Some(shard) = path.parent() {
            let _ = tokio::fs::remove_dir(shard).await;
        }
        Ok(())
    }

    async fn list_stored(&self) -> Result<Vec<StoredBlob>, BlobError> {
        let shards = self.shards();
        let found = tokio::task::spawn_blocking(move || list_dir(&shards))
            .await
            .map_err(|e| BlobError::Io(io::Error::other(e)))??;
        Ok(found)
    }

    fn is_node_local(&self) -> bool {
        true
    }
}

/// Flushes the scratch file to disk, then renames it into place. A concurrent put of the same
/// digest may rename first: same bytes, so whichever rename lands last is as good.
fn commit(file: NamedTempFile, target: &Path) -> io::Result<()> {
    file.as_file().sync_all()?;
    let mut file = file;
    // A delete may remove the emptied shard directory between its creation and the rename:
    // then the rename fails with NotFound and is tried again.
    for _ in 0..3 {
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        match file.persist(target) {
            Ok(_) => return Ok(()),
            Err(e) if e.error.kind() == io::ErrorKind::NotFound => file = e.file,
            Err(e) => return Err(e.error),
        }
    }
    Err(io::Error::other(format!(
        "{} kept disappearing while the blob was stored",
        target.display()
    )))
}

fn list_dir(shards: &Path) -> io::Result<Vec<StoredBlob>> {
    let mut found = Vec::new();
    let shard_dirs = match std::fs::read_dir(shards) {
        Ok(dirs) => dirs,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(e),
    };
    for shard in shard_dirs {
        let shard = shard?;
        let Some(shard_name) = shard.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if !shard.file_type()?.is_dir() {
            continue;
        }
        for entry in std::fs::read_dir(shard.path())? {
            let entry = entry?;
            let key = format!(
                "sha256/{shard_name}/{}",
                entry.file_name().to_string_lossy()
            );
            if let Some(digest) = digest_of_key(&key) {
                let last_modified = entry.metadata()?.modified()?;
                found.push(StoredBlob {
                    digest,
                    last_modified,
                });
            }
        }
    }
    found.sort_by_key(|b| b.digest);
    Ok(found)
}

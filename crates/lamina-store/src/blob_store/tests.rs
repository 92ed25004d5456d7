//! The behaviour every [`BlobStore`] must have, written once and run against each
//! implementation: the local directory always, a real S3-compatible server when
//! `LAMINA_TEST_S3_ENDPOINT` names one (scripts/test starts SeaweedFS and sets it).

use std::io::Write as _;

use futures_util::TryStreamExt as _;
use tempfile::{NamedTempFile, TempDir};

use super::testing::{self, digest_of};
use super::*;

/// A store under test and the directory its scratch files (and, for the local one, its
/// blobs) live in.
struct Fixture {
    store: Box<dyn BlobStore>,
    dir: TempDir,
}

impl Fixture {
    fn local() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Box::new(LocalBlobStore::new(dir.path().join("blobs")));
        Self { store, dir }
    }

    /// An S3 store of this test's own (see [`testing::s3_from_env`]).
    fn s3() -> Self {
        Self {
            store: Box::new(testing::s3_from_env()),
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// A scratch file holding `bytes`, as ingest hands one to `put`.
    fn scratch(&self, bytes: &[u8]) -> NamedTempFile {
        let mut file = NamedTempFile::new_in(self.dir.path()).expect("scratch file");
        file.write_all(bytes).expect("write scratch");
        file
    }

    async fn put(&self, bytes: &[u8]) -> (Digest, Put) {
        let digest = digest_of(bytes);
        let put = self
            .store
            .put(&digest, self.scratch(bytes))
            .await
            .expect("put");
        (digest, put)
    }

    async fn read(&self, digest: &Digest) -> Vec<u8> {
        let reader = self.store.open(digest).await.expect("open");
        let chunks: Vec<Bytes> = reader.stream.try_collect().await.expect("read");
        let bytes = chunks.concat();
        assert_eq!(
            reader.size,
            bytes.len() as u64,
            "the size matches the bytes"
        );
        bytes
    }
}

async fn put_stores_and_reads_back(f: Fixture) {
    let bytes = b"PK\x03\x04 a zip, as far as the store cares".repeat(1000);
    let (digest, put) = f.put(&bytes).await;
    assert_eq!(put, Put::Stored);
    assert!(f.store.exists(&digest).await.expect("exists"));
    assert_eq!(f.read(&digest).await, bytes);
    let copy = f.dir.path().join("fetched.zip");
    let written = f.store.fetch_verified(&digest, &copy).await.expect("fetch");
    assert_eq!(written, bytes.len() as u64);
    assert_eq!(std::fs::read(&copy).expect("read copy"), bytes);
}

/// Larger than one PUT: S3 gets a multipart upload, which must come back byte for byte.
async fn a_large_blob_round_trips(f: Fixture) {
    let bytes: Vec<u8> = (0..20 * 1024 * 1024 + 17)
        .map(|i: u32| (i % 251) as u8)
        .collect();
    let (digest, put) = f.put(&bytes).await;
    assert_eq!(put, Put::Stored);
    let copy = f.dir.path().join("large.zip");
    f.store.fetch_verified(&digest, &copy).await.expect("fetch");
    assert!(std::fs::read(&copy).expect("read copy") == bytes);
}

async fn second_put_is_a_no_op(f: Fixture) {
    let (digest, first) = f.put(b"same bytes").await;
    let (again, second) = f.put(b"same bytes").await;
    assert_eq!(
        (digest, first, second),
        (again, Put::Stored, Put::AlreadyStored)
    );
    assert_eq!(f.read(&digest).await, b"same bytes");
    assert_eq!(f.store.list().await.expect("list"), vec![digest]);
}

async fn wrong_digest_is_refused_and_nothing_stored(f: Fixture) {
    let claimed = digest_of(b"what the client said");
    let refused = f.store.put(&claimed, f.scratch(b"what it sent")).await;
    match refused {
        Err(BlobError::DigestMismatch { expected, actual }) => {
            assert_eq!(expected, claimed);
            assert_eq!(actual, digest_of(b"what it sent"));
        }
        other => panic!("expected a digest mismatch, got {other:?}"),
    }
    assert!(!f.store.exists(&claimed).await.expect("exists"));
    assert!(f.store.list().await.expect("list").is_empty());
}

async fn a_missing_blob_is_not_found(f: Fixture) {
    let missing = digest_of(b"never stored");
    assert!(!f.store.exists(&missing).await.expect("exists"));
    assert!(matches!(
        f.store.open(&missing).await,
        Err(BlobError::NotFound(d)) if d == missing
    ));
    assert!(matches!(
        f.store
            .fetch_verified(&missing, &f.dir.path().join("x"))
            .await,
        Err(BlobError::NotFound(_))
    ));
    f.store
        .delete(&missing)
        .await
        .expect("deleting a missing blob succeeds");
}

async fn delete_removes_the_blob(f: Fixture) {
    let (kept, _) = f.put(b"kept").await;
    let (deleted, _) = f.put(b"deleted").await;
    f.store.delete(&deleted).await.expect("delete");
    assert!(!f.store.exists(&deleted).await.expect("exists"));
    assert!(matches!(
        f.store.open(&deleted).await,
        Err(BlobError::NotFound(_))
    ));
    assert_eq!(f.read(&kept).await, b"kept");
    // Stored again after a delete: the put must not think it is still there.
    assert_eq!(f.put(b"deleted").await.1, Put::Stored);
}

async fn list_names_every_blob(f: Fixture) {
    assert!(f.store.list().await.expect("list").is_empty());
    let mut stored = Vec::new();
    for n in 0..5u8 {
        stored.push(f.put(&[n; 100]).await.0);
    }
    stored.sort();
    assert_eq!(f.store.list().await.expect("list"), stored);
}

/// One `#[tokio::test]` per behaviour for one implementation.
macro_rules! suite {
    ($module:ident, $fixture:expr $(, #[$attr:meta])?) => {
        mod $module {
            use super::*;

            suite!(@case $fixture, put_stores_and_reads_back $(, #[$attr])?);
            suite!(@case $fixture, a_large_blob_round_trips $(, #[$attr])?);
            suite!(@case $fixture, second_put_is_a_no_op $(, #[$attr])?);
            suite!(@case $fixture, wrong_digest_is_refused_and_nothing_stored $(, #[$attr])?);
            suite!(@case $fixture, a_missing_blob_is_not_found $(, #[$attr])?);
            suite!(@case $fixture, delete_removes_the_blob $(, #[$attr])?);
            suite!(@case $fixture, list_names_every_blob $(, #[$attr])?);
        }
    };
    (@case $fixture:expr, $case:ident $(, #[$attr:meta])?) => {
        #[tokio::test]
        $(#[$attr])?
        async fn $case() {
            super::$case($fixture).await;
        }
    };
}

suite!(local, Fixture::local());
suite!(
    s3,
    Fixture::s3(),
    #[ignore = "needs LAMINA_TEST_S3_ENDPOINT (scripts/test starts SeaweedFS and sets it)"]
);

#[test]
fn keys_round_trip_and_strangers_are_not_blobs() {
    let digest = digest_of(b"x");
    let key = blob_key(&digest);
    assert_eq!(digest_of_key(&key), Some(digest));
    assert_eq!(digest_of_key(&format!("some/prefix/{key}")), Some(digest));
    let hex = digest.to_hex();
    assert_eq!(
        digest_of_key(&format!("sha256/00/{hex}")),
        None,
        "wrong shard"
    );
    assert_eq!(digest_of_key(&format!("sha1/{}/{hex}", &hex[..2])), None);
    assert_eq!(digest_of_key("sha256/ab/readme.txt"), None);
}

#[test]
fn a_stray_file_in_the_local_store_is_not_listed() {
    let f = Fixture::local();
    let shard = f.dir.path().join("blobs/sha256/ab");
    std::fs::create_dir_all(&shard).expect("mkdir");
    std::fs::write(shard.join("notes.txt"), b"x").expect("write");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    assert!(runtime.block_on(f.store.list()).expect("list").is_empty());
}

/// A presigned URL of the S3 store downloads the blob's exact bytes with no credentials, as
/// a client given `Content.Location` would.
#[tokio::test]
#[ignore = "needs LAMINA_TEST_S3_ENDPOINT (scripts/test starts SeaweedFS and sets it)"]
async fn a_presigned_url_downloads_the_blob() {
    let f = Fixture::s3();
    let bytes = b"PK\x03\x04 presigned".repeat(100);
    let (digest, _) = f.put(&bytes).await;
    let url = f
        .store
        .presigned_get(&digest, std::time::Duration::from_secs(600))
        .await
        .expect("presign")
        .expect("an S3 store presigns");
    let downloaded = tokio::task::spawn_blocking(move || {
        let mut response = ureq::get(&url).call().expect("GET the presigned URL");
        response.body_mut().read_to_vec().expect("body")
    })
    .await
    .expect("join");
    assert_eq!(digest_of(&downloaded), digest);
}

#[tokio::test]
async fn the_local_store_presigns_nothing() {
    let f = Fixture::local();
    let (digest, _) = f.put(b"local").await;
    let url = f
        .store
        .presigned_get(&digest, std::time::Duration::from_secs(600))
        .await
        .expect("presign");
    assert_eq!(url, None);
}

/// Any object of the S3 server is read with the blob store's credentials: its bytes and
/// digest, and S3's own error codes for a missing key or bucket.
#[tokio::test]
#[ignore = "needs LAMINA_TEST_S3_ENDPOINT (scripts/test starts SeaweedFS and sets it)"]
async fn objects_of_the_s3_server_download_with_s3s_errors() {
    let store = testing::s3_from_env();
    let dir = tempfile::tempdir().expect("temp dir");
    let bytes = b"PK\x03\x04 an object".repeat(50);
    let digest = digest_of(&bytes);
    let mut scratch = NamedTempFile::new_in(dir.path()).expect("scratch");
    scratch.write_all(&bytes).expect("write");
    store.put(&digest, scratch).await.expect("put");
    let objects = store.s3_objects().expect("an S3 store reads objects");
    let object = S3ObjectRef {
        bucket: store.location().bucket.clone(),
        key: format!("{}/{}", store.location().prefix, blob_key(&digest)),
        version: None,
    };
    let dest = dir.path().join("object.zip");
    let got = objects
        .download(&object, &dest, 1 << 20)
        .await
        .expect("download");
    assert_eq!(
        got,
        Downloaded {
            digest,
            size: bytes.len() as u64
        }
    );
    assert_eq!(std::fs::read(&dest).expect("read"), bytes);

    let small = objects.download(&object, &dest, 10).await;
    assert!(
        matches!(small, Err(S3ObjectError::TooLarge { limit: 10 })),
        "{small:?}"
    );
    let missing_key = S3ObjectRef {
        key: "no/such/key.zip".into(),
        ..object.clone()
    };
    let e = objects.download(&missing_key, &dest, 1 << 20).await;
    assert!(matches!(e, Err(S3ObjectError::NoSuchKey { .. })), "{e:?}");
    let missing_bucket = S3ObjectRef {
        bucket: format!("no-such-bucket-{}", uuid::Uuid::new_v4()),
        ..object
    };
    let e = objects.download(&missing_bucket, &dest, 1 << 20).await;
    assert!(matches!(e, Err(S3ObjectError::NoSuchBucket(_))), "{e:?}");
}

//! Blobs in an S3-compatible object store (AWS S3, SeaweedFS, MinIO, Garage), shared by every
//! node, through `object_store`'s AmazonS3 client.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::{StreamExt as _, TryStreamExt as _};
use lamina_types::layer::Digest;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::buffered::BufWriter;
use object_store::path::Path as ObjectPath;
use object_store::signer::{Method, Signer as _};
use object_store::{ObjectStore, ObjectStoreExt as _, RetryConfig};
use tempfile::NamedTempFile;
use tokio::io::AsyncWriteExt as _;

use super::s3_objects::S3Objects;
use super::{BlobError, BlobReader, BlobStore, Put, StoredBlob, blob_key, digest_of_key, hash};

/// How long one request is retried (with backoff) before its error is reported: a publish
/// or an invoke waiting on an unreachable store answers within this, not the client's
/// default three minutes (clients such as the AWS CLI retry a 5xx a few times, each waiting
/// this long).
const RETRY_TIMEOUT: Duration = Duration::from_secs(10);

/// Uploads up to this size go in one PUT; larger ones in a multipart upload of parts this
/// size (S3's minimum part is 5 MiB).
const SINGLE_PUT_MAX: usize = 8 * 1024 * 1024;

/// A blob found stored is written again when its object is older than this, so its
/// `Last-Modified` says it is in use again: the sweep of a shared store spares blobs younger
/// than its grace period ([`crate::artifacts::SHARED_SWEEP_GRACE`], well above this), and an
/// old unreferenced blob that a publish is about to reference must not be swept meanwhile.
const REFRESH_AFTER: Duration = Duration::from_secs(10 * 60);

/// Where the blobs go: a bucket and a key prefix, from `s3://bucket/prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// The bucket.
    pub bucket: String,
    /// The key prefix, without leading or trailing `/` (empty for the bucket's root).
    pub prefix: String,
}

impl S3Location {
    /// Parses `s3://bucket` or `s3://bucket/some/prefix`.
    pub fn parse(url: &str) -> Result<Self, BlobError> {
        let rest = url.strip_prefix("s3://").ok_or_else(|| {
            BlobError::Config(format!("{url:?} is not an s3://bucket/prefix URL"))
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(BlobError::Config(format!("{url:?} names no bucket")));
        }
        Ok(Self {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
        })
    }
}

/// How to reach the store, beyond what the usual AWS variables say (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_ENDPOINT_URL_S3`,
/// `AWS_ALLOW_HTTP`, read by the client itself). Set fields win over the variables.
#[derive(Debug, Clone, Default)]
pub struct S3Settings {
    /// The endpoint of an S3-compatible server, e.g. `http://127.0.0.1:8333`.
    pub endpoint: Option<String>,
    /// The region (SeaweedFS and MinIO accept any).
    pub region: Option<String>,
    /// An access key id and its secret.
    pub credentials: Option<(String, String)>,
}

/// An S3 bucket (and prefix) of blobs.
#[derive(Clone)]
pub struct S3BlobStore {
    store: Arc<AmazonS3>,
    location: S3Location,
    /// What the client was built from, the endpoint resolved: other buckets on the same
    /// server are reached with them ([`S3Objects`]).
    settings: S3Settings,
}

impl std::fmt::Debug for S3BlobStore {
    // The settings hold the secret key: never in a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3BlobStore")
            .field("location", &self.location)
            .field("endpoint", &self.settings.endpoint)
            .finish_non_exhaustive()
    }
}

impl S3BlobStore {
    /// A client for `location`; nothing is contacted until the first request. Plain HTTP is
    /// allowed for a loopback endpoint (a test or sidecar server; the bytes never leave the
    /// machine) or when `AWS_ALLOW_HTTP=true`; any other endpoint must be HTTPS.
    pub fn new(location: S3Location, settings: &S3Settings) -> Result<Self, BlobError> {
        // The endpoint may come from the usual variables too; plain HTTP to loopback is
        // allowed whichever way it was given.
        let settings = S3Settings {
            endpoint: settings.endpoint.clone().or_else(|| {
                ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
                    .iter()
                    .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
            }),
            ..settings.clone()
        };
        let store = client(&location.bucket, &settings)?;
        Ok(Self {
            store: Arc::new(store),
            location,
            settings,
        })
    }

    /// The bucket and prefix.
    pub fn location(&self) -> &S3Location {
        &self.location
    }

    /// When the blob's object was last written, or `None` when it is not stored.
    async fn last_modified(&self, digest: &Digest) -> Result<Option<SystemTime>, BlobError> {
        match self.store.head(&self.key(digest)).await {
            Ok(meta) => Ok(Some(meta.last_modified.into())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn key(&self, digest: &Digest) -> ObjectPath {
        ObjectPath::from(self.prefixed(&blob_key(digest)))
    }

    fn prefixed(&self, key: &str) -> String {
        if self.location.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}/{key}", self.location.prefix)
        }
    }
}

#[async_trait::async_trait]
impl BlobStore for S3BlobStore {
    async fn put(&self, digest: &Digest, file: NamedTempFile) -> Result<Put, BlobError> {
        let put = match self.last_modified(digest).await? {
            Some(at) if !written_again(at, SystemTime::now()) => return Ok(Put::AlreadyStored),
            Some(_) => Put::AlreadyStored,
            None => Put::Stored,
        };
        let file = hash::verify(*digest, file).await?;
        // A concurrent put of the same digest from another node uploads the same bytes, and
        // S3 makes an object visible only once complete, so no conditional put is needed.
        let mut source = tokio::fs::File::open(file.path()).await?;
        let store: Arc<dyn ObjectStore> = Arc::clone(&self.store) as _;
        let mut upload = BufWriter::with_capacity(store, self.key(digest), SINGLE_PUT_MAX);
        if let Err(e) = tokio::io::copy(&mut source, &mut upload).await {
            // Aborts a multipart upload, so no parts are left behind (and billed).
            let _ = upload.abort().await;
            return Err(e.into());
        }
        upload.shutdown().await?;
        Ok(put)
    }

    async fn exists(&self, digest: &Digest) -> Result<bool, BlobError> {
        Ok(self.last_modified(digest).await?.is_some())
    }

    async fn open(&self, digest: &Digest) -> Result<BlobReader, BlobError> {
        let found = match self.store.get(&self.key(digest)).await {
            Ok(found) => found,
            Err(object_store::Error::NotFound { .. }) => return Err(BlobError::NotFound(*digest)),
            Err(e) => return Err(e.into()),
        };
        let size = found.meta.size;
        let stream = found.into_stream().map_err(BlobError::from).boxed();
        Ok(BlobReader { size, stream })
    }

    async fn delete(&self, digest: &Digest) -> Result<(), BlobError> {
        match self.store.delete(&self.key(digest)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn list_stored(&self) -> Result<Vec<StoredBlob>, BlobError> {
        let root = ObjectPath::from(self.prefixed("sha256"));
        let mut found: Vec<StoredBlob> = self
            .store
            .list(Some(&root))
            .map_err(BlobError::from)
            .try_filter_map(|meta| async move {
                Ok(
                    digest_of_key(meta.location.as_ref()).map(|digest| StoredBlob {
                        digest,
                        last_modified: meta.last_modified.into(),
                    }),
                )
            })
            .try_collect()
            .await?;
        found.sort_by_key(|b| b.digest);
        Ok(found)
    }

    fn is_node_local(&self) -> bool {
        false
    }

    async fn presigned_get(
        &self,
        digest: &Digest,
        ttl: Duration,
    ) -> Result<Option<String>, BlobError> {
        let url = self
            .store
            .signed_url(Method::GET, &self.key(digest), ttl)
            .await?;
        Ok(Some(url.to_string()))
    }

    fn s3_objects(&self) -> Option<S3Objects> {
        Some(S3Objects::new(self.settings.clone()))
    }
}

/// A client of `bucket` on the server `settings` name (their endpoint resolved already).
pub(super) fn client(bucket: &str, settings: &S3Settings) -> Result<AmazonS3, BlobError> {
    let retry = RetryConfig {
        retry_timeout: RETRY_TIMEOUT,
        ..RetryConfig::default()
    };
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_retry(retry);
    if let Some(endpoint) = &settings.endpoint {
        builder = builder.with_endpoint(endpoint);
        if is_loopback_http(endpoint) {
            builder = builder.with_allow_http(true);
        }
    }
    if let Some(region) = &settings.region {
        builder = builder.with_region(region);
    }
    if let Some((key_id, secret)) = &settings.credentials {
        builder = builder
            .with_access_key_id(key_id)
            .with_secret_access_key(secret);
    }
    // Path-style requests (`endpoint/bucket/key`): what S3-compatible servers on an IP
    // address serve; AWS itself still accepts them.
    Ok(builder.with_virtual_hosted_style_request(false).build()?)
}

/// Whether a put finding the blob stored, last written `at`, writes it again (see
/// [`REFRESH_AFTER`]). A time ahead of `now` (the store's clock may run ahead) is recent.
fn written_again(at: SystemTime, now: SystemTime) -> bool {
    now.duration_since(at).unwrap_or_default() >= REFRESH_AFTER
}

/// Whether `endpoint` is plain HTTP to this machine.
fn is_loopback_http(endpoint: &str) -> bool {
    let Some(rest) = endpoint.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse() {
        let parsed = S3Location::parse("s3://bucket/a/b/").ok();
        assert_eq!(
            parsed,
            Some(S3Location {
                bucket: "bucket".into(),
                prefix: "a/b".into()
            })
        );
        assert_eq!(
            S3Location::parse("s3://bucket").ok().map(|l| l.prefix),
            Some(String::new())
        );
        assert!(S3Location::parse("s3:///prefix").is_err());
        assert!(S3Location::parse("https://bucket/prefix").is_err());
    }

    #[test]
    fn only_an_old_blob_is_written_again() {
        let now = SystemTime::now();
        let minutes = |m: u64| Duration::from_secs(m * 60);
        assert!(!written_again(now - minutes(1), now));
        assert!(written_again(now - REFRESH_AFTER, now));
        assert!(written_again(now - minutes(50), now));
        assert!(
            !written_again(now + minutes(5), now),
            "the store's clock ahead"
        );
        assert!(
            REFRESH_AFTER < crate::artifacts::SHARED_SWEEP_GRACE,
            "a blob in use again is refreshed well before a sweep may take it"
        );
    }

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(is_loopback_http("http://127.0.0.1:8333"));
        assert!(is_loopback_http("http://localhost:8333/"));
        assert!(is_loopback_http("http://[::1]:8333"));
        assert!(!is_loopback_http("http://10.0.0.5:8333"));
        assert!(!is_loopback_http("https://127.0.0.1:8333"));
        assert!(!is_loopback_http("http://127.0.0.1.example.com"));
    }
}

//! Test helpers for blob stores, shared with the crates that test code on top of them
//! (feature `testing`): the S3 store the test environment names.

use std::net::{TcpStream, ToSocketAddrs as _};
use std::time::Duration;

use lamina_types::layer::Digest;
use sha2::{Digest as _, Sha256};

use super::{S3BlobStore, S3Location, S3Settings};

/// The reason S3 tests give for being ignored by a plain `cargo test`.
pub const S3_IGNORED: &str =
    "needs LAMINA_TEST_S3_ENDPOINT (scripts/test starts SeaweedFS and sets it)";

/// The SHA-256 of `bytes`.
pub fn digest_of(bytes: &[u8]) -> Digest {
    Digest(Sha256::digest(bytes).into())
}

/// The settings and bucket `LAMINA_TEST_S3_*` name (scripts/s3-test prints them). Panics
/// (fails the test) when the endpoint is unset or does not answer: an S3 leg that was asked
/// for never passes unrun.
pub fn s3_settings_from_env() -> (S3Settings, String) {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let endpoint = var("LAMINA_TEST_S3_ENDPOINT")
        .expect("LAMINA_TEST_S3_ENDPOINT is not set: run scripts/test, or scripts/s3-test start");
    assert_reachable(&endpoint);
    let settings = S3Settings {
        endpoint: Some(endpoint),
        region: Some("us-east-1".into()),
        credentials: Some((
            var("LAMINA_TEST_S3_ACCESS_KEY_ID").unwrap_or_else(|| "lamina-test".into()),
            var("LAMINA_TEST_S3_SECRET_ACCESS_KEY").unwrap_or_else(|| "lamina-test-secret".into()),
        )),
    };
    let bucket = var("LAMINA_TEST_S3_BUCKET").unwrap_or_else(|| "lamina-test".into());
    (settings, bucket)
}

/// The test bucket under a prefix of this test's own (`tests/<uuid>`), so tests run in
/// parallel and each lists only its blobs.
pub fn s3_from_env() -> S3BlobStore {
    s3_at(&format!("tests/{}", uuid::Uuid::new_v4()))
}

/// The test bucket under `prefix`.
pub fn s3_at(prefix: &str) -> S3BlobStore {
    let (settings, bucket) = s3_settings_from_env();
    let location = S3Location {
        bucket,
        prefix: prefix.to_owned(),
    };
    S3BlobStore::new(location, &settings).expect("S3 client")
}

/// Fails at once, and says why, when nothing listens at the endpoint (the client itself
/// would retry for minutes).
fn assert_reachable(endpoint: &str) {
    let authority = endpoint
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or(endpoint);
    let reachable = authority.to_socket_addrs().ok().is_some_and(|mut addrs| {
        addrs.any(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok())
    });
    assert!(
        reachable,
        "LAMINA_TEST_S3_ENDPOINT={endpoint} does not answer: is the S3 server running (scripts/s3-test start)?"
    );
}

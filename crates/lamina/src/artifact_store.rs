//! `lamina serve --artifacts`: where ZIPs are stored. The data directory (the default, for
//! one node) or an S3-compatible bucket that several nodes share; the extracted trees stay in
//! each node's data directory either way.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use lamina_store::{BlobStore, LocalArtifacts, S3BlobStore, S3Location, S3Settings};
use lamina_types::layer::Digest;

/// How long the start-up check of an S3 store may take before the start fails.
const S3_CHECK_TIMEOUT: Duration = Duration::from_secs(30);

/// The `--artifacts` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArtifactsChoice {
    /// `local`: `<data>/blobs`.
    Local,
    /// `s3://bucket/prefix`.
    S3(S3Location),
}

impl FromStr for ArtifactsChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "local" {
            return Ok(Self::Local);
        }
        S3Location::parse(s)
            .map(Self::S3)
            .map_err(|e| format!("{e} (expected `local` or `s3://bucket/prefix`)"))
    }
}

/// Opens the artifact store `choice` names. An S3 store is asked for a blob once, so wrong
/// credentials, a missing bucket or an unreachable endpoint stop the start with their cause
/// rather than failing the first publish.
pub async fn open(
    data_dir: &Path,
    choice: &ArtifactsChoice,
    s3_endpoint: Option<String>,
) -> anyhow::Result<LocalArtifacts> {
    let location = match choice {
        ArtifactsChoice::Local => {
            return LocalArtifacts::open(data_dir).context("opening the artifact store");
        }
        ArtifactsChoice::S3(location) => location,
    };
    let settings = S3Settings {
        endpoint: s3_endpoint,
        ..S3Settings::default()
    };
    let store = S3BlobStore::new(location.clone(), &settings)
        .with_context(|| format!("configuring the artifact store s3://{}", location.bucket))?;
    let named = format!("s3://{}/{}", location.bucket, location.prefix);
    // Any digest will do: the answer "not stored" proves the bucket is there and readable.
    tokio::time::timeout(S3_CHECK_TIMEOUT, store.exists(&Digest([0; 32])))
        .await
        .with_context(|| {
            format!("the artifact store {named} did not answer within {S3_CHECK_TIMEOUT:?}")
        })?
        .with_context(|| format!("reaching the artifact store {named}"))?;
    tracing::info!(store = %named, "ZIPs are stored in S3");
    LocalArtifacts::open_with(data_dir, Arc::new(store)).context("opening the artifact store")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_parse() {
        assert_eq!("local".parse(), Ok(ArtifactsChoice::Local));
        assert_eq!(
            "s3://b/p".parse(),
            Ok(ArtifactsChoice::S3(S3Location {
                bucket: "b".into(),
                prefix: "p".into()
            }))
        );
        assert!("/var/lib/lamina".parse::<ArtifactsChoice>().is_err());
    }
}

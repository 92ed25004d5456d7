//! PublishLayerVersion: validate, ingest the ZIP once (content-addressed), then record the
//! next version of the layer.

use lamina_store::{NewLayerVersion, S3ObjectRef};
use lamina_types::layer::LayerVersionRecord;
use lamina_types::limits::{MAX_DESCRIPTION_CHARS, MAX_LICENSE_INFO_CHARS};
use lamina_types::validation::Violations;
use lamina_types::{LambdaError, Scope, timestamp};

use super::access::owned_name;
use super::validate::{check_architectures, check_layer_name, check_max_chars, check_runtimes};
use super::{LayerContent, LayerService, PublishLayerVersion};
use crate::ingest::ZipSource;
use crate::internal_errors::{storage_error, validated_but_missing};

impl LayerService {
    /// PublishLayerVersion: validates, ingests the ZIP once (content-addressed), then records
    /// the next version. Nothing is recorded unless every step succeeds.
    pub async fn publish(
        &self,
        scope: &Scope,
        cmd: PublishLayerVersion,
    ) -> Result<LayerVersionRecord, LambdaError> {
        let mut violations = Violations::new();
        let name = check_layer_name(&mut violations, &cmd.layer_name);
        check_max_chars(
            &mut violations,
            "description",
            cmd.description.as_deref(),
            MAX_DESCRIPTION_CHARS,
        );
        check_max_chars(
            &mut violations,
            "licenseInfo",
            cmd.license_info.as_deref(),
            MAX_LICENSE_INFO_CHARS,
        );
        check_runtimes(&mut violations, cmd.compatible_runtimes.as_deref());
        check_architectures(&mut violations, cmd.compatible_architectures.as_deref());
        if cmd.content.is_none() {
            violations.add_null("content");
        }
        violations.into_result()?;
        let (Some(layer), Some(content)) = (name, cmd.content) else {
            return Err(validated_but_missing());
        };
        let name = owned_name(scope, layer, "PublishLayerVersion", None)?;
        let (source, member) = zip_source(content)?;
        let ingested = self.ingestor.ingest_from(source, member).await?;
        let record = self
            .metadata
            .insert_layer_version(NewLayerVersion {
                scope: scope.clone(),
                name,
                description: cmd.description.unwrap_or_default(),
                created_millis: timestamp::now_millis(),
                compatible_runtimes: cmd.compatible_runtimes,
                compatible_architectures: cmd.compatible_architectures,
                license_info: cmd.license_info,
                code_sha256: ingested.digest,
                code_size: ingested.size,
                unzipped_size: ingested.unzipped_size,
            })
            .await
            .map_err(storage_error)?;
        tracing::info!(
            layer = %record.name,
            version = record.version,
            layer_digest = %record.code_sha256.to_hex(),
            code_size = record.code_size,
            "layer version published"
        );
        if let Some(published) = &self.published {
            published.layer_published(
                &self.ingestor.extracted_tree(record.code_sha256),
                record.compatible_runtimes.as_deref(),
            );
        }
        Ok(record)
    }
}

/// Where the ZIP of `Content` is, and the member that names it in messages.
fn zip_source(content: LayerContent) -> Result<(ZipSource, &'static str), LambdaError> {
    match content {
        LayerContent {
            zip_file_base64: Some(zip),
            s3_bucket: None,
            s3_key: None,
            s3_object_version: None,
        } => Ok((ZipSource::Inline(zip), "Content.ZipFile")),
        LayerContent {
            zip_file_base64: None,
            s3_bucket: Some(bucket),
            s3_key: Some(key),
            s3_object_version: version,
        } => Ok((
            ZipSource::S3(S3ObjectRef {
                bucket,
                key,
                version,
            }),
            "Content.S3Key",
        )),
        LayerContent {
            zip_file_base64: Some(_),
            ..
        } => Err(LambdaError::InvalidParameterValue(
            "Please provide either ZipFile or S3Bucket and S3Key, not both.".to_owned(),
        )),
        LayerContent {
            zip_file_base64: None,
            s3_bucket: None,
            s3_key: None,
            s3_object_version: None,
        } => Err(LambdaError::InvalidParameterValue(
            "Please provide a source for the layer content: Content.ZipFile.".to_owned(),
        )),
        // Guessed: AWS's words for a bucket without a key (or the reverse).
        LayerContent { .. } => Err(LambdaError::InvalidParameterValue(
            "Please provide a source for the layer content: Content.ZipFile, or \
             Content.S3Bucket and Content.S3Key."
                .to_owned(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::layers::test_support::{Fixture, publish_cmd};

    fn content(zip: bool, bucket: bool, key: bool) -> LayerContent {
        LayerContent {
            zip_file_base64: zip.then(|| Bytes::from_static(b"UEsFBg==")),
            s3_bucket: bucket.then(|| "b".to_owned()),
            s3_key: key.then(|| "k".to_owned()),
            s3_object_version: None,
        }
    }

    #[test]
    fn the_content_is_an_inline_zip_or_an_s3_object() {
        assert!(matches!(
            zip_source(content(true, false, false)),
            Ok((ZipSource::Inline(_), "Content.ZipFile"))
        ));
        assert!(matches!(
            zip_source(content(false, true, true)),
            Ok((ZipSource::S3(o), "Content.S3Key")) if o.bucket == "b" && o.key == "k"
        ));
        for (zip, bucket, key, start) in [
            (
                false,
                false,
                true,
                "Please provide a source for the layer content",
            ),
            (
                false,
                true,
                false,
                "Please provide a source for the layer content",
            ),
            (
                true,
                true,
                false,
                "Please provide either ZipFile or S3Bucket",
            ),
            (
                false,
                false,
                false,
                "Please provide a source for the layer content",
            ),
        ] {
            let e = zip_source(content(zip, bucket, key)).unwrap_err();
            assert_eq!(e.type_name(), "InvalidParameterValueException");
            assert!(e.message().starts_with(start), "{}", e.message());
        }
    }

    #[tokio::test]
    async fn versions_count_up_and_identical_bytes_share_one_digest() {
        let f = Fixture::new().await;
        let first = f.publish("deps").await;
        let second = f.publish("deps").await;
        assert_eq!((first.version, second.version), (1, 2));
        assert_eq!(first.code_sha256, second.code_sha256);
        assert_eq!(f.publish("other").await.version, 1);
    }

    #[tokio::test]
    async fn each_version_published_is_told_with_its_tree_and_runtimes() {
        let f = Fixture::new().await;
        let record = f.publish("deps").await;
        let told = f.published.0.lock().unwrap().clone();
        let [(tree, runtimes)] = &told[..] else {
            panic!("told {told:?}");
        };
        assert_eq!(tree, &f.layers.artifacts().extracted(&record.code_sha256));
        assert!(tree.path.join("python/dep.py").is_file());
        assert_eq!(runtimes.as_deref(), Some(&["python3.12".to_owned()][..]));
        // Nothing for what was not published.
        let mut cmd = publish_cmd("deps");
        cmd.content = None;
        assert!(f.layers.publish(&f.scope, cmd).await.is_err());
        assert_eq!(f.published.0.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn nothing_is_recorded_when_a_member_is_invalid() {
        let f = Fixture::new().await;
        let mut cmd = publish_cmd("deps");
        cmd.description = Some("d".repeat(MAX_DESCRIPTION_CHARS + 1));
        cmd.content = None;
        let e = f.layers.publish(&f.scope, cmd).await.unwrap_err();
        assert!(
            e.message().starts_with("2 validation errors detected"),
            "{}",
            e.message()
        );
        let mut bad_zip = publish_cmd("deps");
        bad_zip.content = Some(LayerContent {
            zip_file_base64: Some(Bytes::from_static(b"bm90IGEgemlw")),
            ..Default::default()
        });
        let e = f.layers.publish(&f.scope, bad_zip).await.unwrap_err();
        assert_eq!(e.status(), 400, "{e:?}");
        assert_eq!(f.publish("deps").await.version, 1);
    }
}

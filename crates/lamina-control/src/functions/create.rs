//! CreateFunction: validate, attach layers, ingest the ZIP once, record `$LATEST` (and
//! version 1 with `Publish`), then settle.

use lamina_store::S3ObjectRef;
use lamina_types::function_arn::{FUNCTION_NAME_PATTERN, NameShape};
use lamina_types::function_config::{FunctionVersionRecord, LATEST_VERSION};
use lamina_types::function_state::FunctionStatus;
use lamina_types::limits::MAX_FUNCTION_NAME_CHARS;
use lamina_types::validation::{self, Constraint, Violations};
use lamina_types::{LambdaError, Scope, timestamp};

use crate::ingest::ZipSource;

use super::{
    CreateFunction, FunctionCode, FunctionService, FunctionView, attach, config, new_revision,
    storage_error, validate, validated_but_missing,
};

pub(super) const NO_IMAGES: &str = "PackageType Image and ImageUri are not supported: Lamina runs Zip \
     functions only. Send the code as a ZIP in ZipFile.";

impl FunctionService {
    /// CreateFunction: validates, attaches layers, ingests the ZIP once, records `$LATEST`
    /// (and version 1 with `Publish`). Nothing is recorded unless every check passes.
    pub async fn create(
        &self,
        scope: &Scope,
        cmd: CreateFunction,
    ) -> Result<FunctionView, LambdaError> {
        let mut v = Violations::new();
        let fref = match &cmd.function_name {
            None => {
                v.add_null("functionName");
                None
            }
            Some(raw) => validate::function_name(&mut v, raw, NameShape::Plain),
        };
        if cmd.code.is_none() {
            v.add_null("code");
        }
        let entries = validate::config_members(&mut v, &cmd.config, true);
        validate::architectures(&mut v, cmd.architectures.as_deref());
        validate::one_of(
            &mut v,
            "packageType",
            cmd.package_type.as_deref(),
            &["Zip", "Image"],
        );
        validate::tags(&mut v, cmd.tags.as_ref());
        v.into_result()?;
        super::destinations::check_dead_letter(
            scope,
            cmd.config.extra.get("DeadLetterConfig").map(String::as_str),
        )?;
        let (Some(fref), Some(code)) = (fref, cmd.code) else {
            return Err(validated_but_missing());
        };
        if fref.qualifier.is_some() {
            let raw = cmd.function_name.unwrap_or_default();
            return Err(validation::single(
                "functionName",
                &raw,
                Constraint::Pattern(FUNCTION_NAME_PATTERN),
            ));
        }
        let name = self.check_location(scope, fref)?.name;
        if name.chars().count() > MAX_FUNCTION_NAME_CHARS {
            return Err(LambdaError::InvalidParameterValue(format!(
                "1 validation error detected: Value '{name}' at 'functionName' failed to satisfy \
                 constraint: Member must have length less than or equal to \
                 {MAX_FUNCTION_NAME_CHARS}"
            )));
        }
        if cmd.package_type.as_deref() == Some("Image") || code.image_uri.is_some() {
            return Err(LambdaError::InvalidParameterValue(NO_IMAGES.to_owned()));
        }
        let (Some(runtime), Some(_)) = (&cmd.config.runtime, &cmd.config.handler) else {
            return Err(LambdaError::InvalidParameterValue(
                "Runtime and Handler are mandatory parameters for functions created with \
                 deployment packages."
                    .to_owned(),
            ));
        };
        validate::runtime(runtime)?;
        validate::tag_rules(cmd.tags.as_ref())?;
        let (zip, member) = zip_source(code, "Code.ZipFile")?;
        if let Some(env) = &cmd.config.environment {
            validate::environment(env)?;
        }
        let layers = match &entries {
            Some(entries) => attach::attach_layers(self.store.as_ref(), scope, entries).await?,
            None => Vec::new(),
        };
        if self
            .store
            .function(scope, &name)
            .await
            .map_err(storage_error)?
            .is_some()
        {
            return Err(already_exists(&name));
        }
        let ingested = self.ingestor.ingest_from(zip, member).await?;
        attach::check_total_size(ingested.unzipped_size, &layers)?;
        let function_config = config::new_config(&name, &cmd.config, cmd.architectures, layers);
        validate::snap_start(&function_config)?;
        let record = FunctionVersionRecord {
            scope: scope.clone(),
            name: name.clone(),
            version: LATEST_VERSION,
            revision_id: new_revision(),
            last_modified_millis: timestamp::now_millis(),
            code_sha256: ingested.digest,
            code_size: ingested.size,
            unzipped_size: ingested.unzipped_size,
            content_hash: config::content_hash(&function_config, &ingested.digest),
            config: function_config,
            status: FunctionStatus::creating(),
            previous: None,
        };
        let tags = cmd.tags.unwrap_or_default();
        let created = self.store.create_function(&record, &tags).await;
        self.resolved.invalidate(scope, &name);
        if !created.map_err(storage_error)? {
            return Err(already_exists(&name));
        }
        tracing::info!(
            function = %name,
            code_digest = %record.code_sha256.to_hex(),
            layers = record.config.layers.len(),
            "function created"
        );
        if cmd.publish {
            let published = self.publish_from(scope, &name, &record, None).await?;
            self.start_settling(scope, &name, vec![LATEST_VERSION, published.version]);
            // AWS answers a create-and-publish with the unqualified ARN and `Version: "1"`.
            return Ok(self.view(published, None));
        }
        self.start_settling(scope, &name, vec![LATEST_VERSION]);
        Ok(self.view(record, None))
    }
}

/// Where the ZIP of a `Code` or UpdateFunctionCode request is, and the member that names it
/// in messages (`zip_member` for an inline one).
pub(super) fn zip_source(
    code: FunctionCode,
    zip_member: &'static str,
) -> Result<(ZipSource, &'static str), LambdaError> {
    let s3 = code.s3_bucket.is_some() || code.s3_key.is_some() || code.s3_object_version.is_some();
    match (code.zip_file_base64, code.s3_bucket, code.s3_key) {
        (Some(zip), _, _) if !s3 => Ok((ZipSource::Inline(zip), zip_member)),
        (Some(_), _, _) => Err(LambdaError::InvalidParameterValue(
            "Please provide either ZipFile or S3Bucket and S3Key, not both.".to_owned(),
        )),
        (None, Some(bucket), Some(key)) => Ok((
            ZipSource::S3(S3ObjectRef {
                bucket,
                key,
                version: code.s3_object_version,
            }),
            "S3Key",
        )),
        (None, None, None) if !s3 => Err(LambdaError::InvalidParameterValue(
            "Please provide a source for the function code: ZipFile.".to_owned(),
        )),
        // Guessed: AWS's words for a bucket without a key (or the reverse).
        (None, _, _) => Err(LambdaError::InvalidParameterValue(
            "Please provide a source for the function code: ZipFile, or S3Bucket and S3Key."
                .to_owned(),
        )),
    }
}

fn already_exists(name: &str) -> LambdaError {
    LambdaError::ResourceConflict(format!("Function already exist: {name}"))
}

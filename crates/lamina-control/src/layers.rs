//! The nine layer operations.

use std::sync::Arc;

use lamina_store::{LayerVersionFilter, LocalArtifacts, MetadataStore, NewLayerVersion};
use lamina_types::arn::{LayerVersionArnError, layer_version_arn};
use lamina_types::layer::{LayerPolicy, LayerStatement, LayerVersionRecord};
use lamina_types::limits::{
    MAX_COMPATIBLE_ARCHITECTURES, MAX_COMPATIBLE_RUNTIMES, MAX_DESCRIPTION_CHARS,
    MAX_LAYER_LIST_ITEMS, MAX_LAYER_POLICY_BYTES, MAX_LICENSE_INFO_CHARS,
};
use lamina_types::runtime::{ALL_ARCHITECTURES, ALL_RUNTIMES};
use lamina_types::validation::{Constraint, Violations, render_list};
use lamina_types::{
    AccountId, Architecture, LambdaError, LayerName, LayerVersionArn, Region, Runtime, timestamp,
};

use crate::ingest::Ingestor;
use crate::layer_policy::{check_statement, render_policy, render_statement};
use crate::marker;

/// `PublishLayerVersion`, as parsed from the request, not yet validated.
#[derive(Debug, Clone, Default)]
pub struct PublishLayerVersion {
    /// `LayerName` from the path: a name or a layer ARN.
    pub layer_name: String,
    /// `Description`.
    pub description: Option<String>,
    /// `CompatibleRuntimes` (`None` when the member was absent).
    pub compatible_runtimes: Option<Vec<String>>,
    /// `CompatibleArchitectures` (`None` when the member was absent).
    pub compatible_architectures: Option<Vec<String>>,
    /// `LicenseInfo`.
    pub license_info: Option<String>,
    /// `Content` (`None` when the member was absent).
    pub content: Option<LayerContent>,
}

/// `Content` of PublishLayerVersion.
#[derive(Debug, Clone, Default)]
pub struct LayerContent {
    /// `ZipFile`: the base64 text exactly as it arrived.
    pub zip_file_base64: Option<bytes::Bytes>,
    /// `S3Bucket`.
    pub s3_bucket: Option<String>,
    /// `S3Key`.
    pub s3_key: Option<String>,
}

/// The list filters and page of ListLayers and ListLayerVersions, as parsed.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// `CompatibleRuntime`.
    pub compatible_runtime: Option<String>,
    /// `CompatibleArchitecture`.
    pub compatible_architecture: Option<String>,
    /// `Marker`.
    pub marker: Option<String>,
    /// `MaxItems`, still text: the model types it but the wire is a query string.
    pub max_items: Option<String>,
}

/// One page of a listing.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Marker for the next page, when there is one.
    pub next_marker: Option<String>,
}

/// `AddLayerVersionPermission`, as parsed.
#[derive(Debug, Clone, Default)]
pub struct AddLayerPermission {
    /// `StatementId`.
    pub statement_id: String,
    /// `Action`.
    pub action: String,
    /// `Principal`.
    pub principal: String,
    /// `OrganizationId`.
    pub organization_id: Option<String>,
    /// `RevisionId` precondition.
    pub revision_id: Option<String>,
}

/// What AddLayerVersionPermission answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddedPermission {
    /// The statement as a JSON string.
    pub statement: String,
    /// The policy's new revision.
    pub revision_id: String,
}

/// What GetLayerVersionPolicy answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedPolicy {
    /// The policy document as a JSON string.
    pub policy: String,
    /// The policy's revision.
    pub revision_id: String,
}

/// The layer operations over one metadata store and one artifact directory.
pub struct LayerService {
    metadata: Arc<dyn MetadataStore>,
    artifacts: LocalArtifacts,
    ingestor: Ingestor,
    account: AccountId,
}

/// How many times a policy change is retried when another change wins the race.
const POLICY_CAS_ATTEMPTS: usize = 8;

impl LayerService {
    /// A service that records layers for `account`.
    pub fn new(
        metadata: Arc<dyn MetadataStore>,
        artifacts: LocalArtifacts,
        account: AccountId,
    ) -> Self {
        Self {
            ingestor: Ingestor::new(Arc::clone(&metadata), artifacts.clone()),
            metadata,
            artifacts,
            account,
        }
    }

    /// The account every ARN is in.
    pub fn account(&self) -> &AccountId {
        &self.account
    }

    /// The artifact directories (for content downloads).
    pub fn artifacts(&self) -> &LocalArtifacts {
        &self.artifacts
    }

    /// `arn:aws:lambda:<region>:<account>:layer:<name>:<version>` of a record.
    pub fn version_arn(&self, record: &LayerVersionRecord) -> String {
        layer_version_arn(&record.region, &self.account, &record.name, record.version)
    }

    /// PublishLayerVersion: validates, ingests the ZIP once (content-addressed), then records
    /// the next version. Nothing is recorded unless every step succeeds.
    pub async fn publish(
        &self,
        region: &Region,
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
        let (Some(name), Some(content)) = (name, cmd.content) else {
            return Err(validated_but_missing());
        };
        let zip_base64 = match content {
            LayerContent {
                zip_file_base64: Some(zip),
                s3_bucket: None,
                s3_key: None,
            } => zip,
            LayerContent {
                zip_file_base64: None,
                s3_bucket: Some(_),
                ..
            }
            | LayerContent {
                zip_file_base64: None,
                s3_key: Some(_),
                ..
            } => {
                return Err(LambdaError::InvalidParameterValue(NO_S3_STORE.to_owned()));
            }
            LayerContent {
                zip_file_base64: Some(_),
                ..
            } => {
                return Err(LambdaError::InvalidParameterValue(
                    "Please provide either ZipFile or S3Bucket and S3Key, not both.".to_owned(),
                ));
            }
            LayerContent {
                zip_file_base64: None,
                s3_bucket: None,
                s3_key: None,
            } => {
                return Err(LambdaError::InvalidParameterValue(
                    "Please provide a source for the layer content: Content.ZipFile.".to_owned(),
                ));
            }
        };
        let ingested = self.ingestor.ingest(zip_base64, "Content.ZipFile").await?;
        let record = self
            .metadata
            .insert_layer_version(NewLayerVersion {
                region: region.clone(),
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
            .map_err(service_error)?;
        tracing::info!(
            layer = %record.name,
            version = record.version,
            layer_digest = %record.code_sha256.to_hex(),
            code_size = record.code_size,
            "layer version published"
        );
        Ok(record)
    }

    /// GetLayerVersion.
    pub async fn get(
        &self,
        region: &Region,
        layer_name: &str,
        version: i64,
    ) -> Result<LayerVersionRecord, LambdaError> {
        let name = parse_layer_name(layer_name)?;
        check_version_number(version)?;
        self.metadata
            .layer_version(region, &name, version)
            .await
            .map_err(service_error)?
            .ok_or_else(LambdaError::not_found)
    }

    /// GetLayerVersionByArn.
    pub async fn get_by_arn(&self, arn: &str) -> Result<LayerVersionRecord, LambdaError> {
        let arn = match LayerVersionArn::parse(arn, "arn") {
            Ok(arn) => arn,
            Err(LayerVersionArnError::Invalid(e)) => return Err(e),
            Err(LayerVersionArnError::Unknown) => return Err(LambdaError::not_found()),
        };
        if arn.account != self.account {
            return Err(LambdaError::not_found());
        }
        self.metadata
            .layer_version(&arn.region, &arn.name, arn.version)
            .await
            .map_err(service_error)?
            .ok_or_else(LambdaError::not_found)
    }

    /// ListLayerVersions: newest first. An unknown layer lists as empty.
    pub async fn list_versions(
        &self,
        region: &Region,
        layer_name: &str,
        query: &ListQuery,
    ) -> Result<Page<LayerVersionRecord>, LambdaError> {
        let mut violations = Violations::new();
        let name = check_layer_name(&mut violations, layer_name);
        let (filter, limit) = check_list_query(&mut violations, query);
        violations.into_result()?;
        let (Some(name), Some(limit)) = (name, limit) else {
            return Err(validated_but_missing());
        };
        let below =
            match &query.marker {
                Some(m) => Some(marker::decode("versions", m)?.parse::<i64>().map_err(|_| {
                    LambdaError::InvalidParameterValue(format!("Invalid marker: {m}"))
                })?),
                None => None,
            };
        let mut items = self
            .metadata
            .layer_versions(region, &name, &filter, below, limit + 1)
            .await
            .map_err(service_error)?;
        Ok(paginate(&mut items, limit, |last| {
            marker::encode("versions", &last.version.to_string())
        }))
    }

    /// ListLayers: each layer with its highest version matching the filters, by name.
    pub async fn list_layers(
        &self,
        region: &Region,
        query: &ListQuery,
    ) -> Result<Page<LayerVersionRecord>, LambdaError> {
        let mut violations = Violations::new();
        let (filter, limit) = check_list_query(&mut violations, query);
        violations.into_result()?;
        let Some(limit) = limit else {
            return Err(validated_but_missing());
        };
        let after =
            match &query.marker {
                Some(m) => Some(LayerName::parse(&marker::decode("layers", m)?).ok_or_else(
                    || LambdaError::InvalidParameterValue(format!("Invalid marker: {m}")),
                )?),
                None => None,
            };
        let mut items = self
            .metadata
            .latest_layer_versions(region, &filter, after.as_ref(), limit + 1)
            .await
            .map_err(service_error)?;
        Ok(paginate(&mut items, limit, |last| {
            marker::encode("layers", last.name.as_str())
        }))
    }

    /// DeleteLayerVersion: idempotent; the version's files stay for functions using it.
    pub async fn delete(
        &self,
        region: &Region,
        layer_name: &str,
        version: i64,
    ) -> Result<(), LambdaError> {
        let name = parse_layer_name(layer_name)?;
        check_version_number(version)?;
        self.metadata
            .delete_layer_version(region, &name, version)
            .await
            .map_err(service_error)
    }

    /// AddLayerVersionPermission.
    pub async fn add_permission(
        &self,
        region: &Region,
        layer_name: &str,
        version: i64,
        cmd: AddLayerPermission,
    ) -> Result<AddedPermission, LambdaError> {
        let mut violations = Violations::new();
        let name = check_layer_name(&mut violations, layer_name);
        check_statement(
            &mut violations,
            &cmd.statement_id,
            &cmd.action,
            &cmd.principal,
            cmd.organization_id.as_deref(),
        );
        violations.into_result()?;
        let name = name.ok_or_else(validated_but_missing)?;
        check_version_number(version)?;
        let arn = layer_version_arn(region, &self.account, &name, version);
        let statement = LayerStatement {
            sid: cmd.statement_id,
            principal: cmd.principal,
            organization_id: cmd.organization_id,
        };
        let policy = self
            .change_policy(
                region,
                &name,
                version,
                cmd.revision_id.as_deref(),
                |policy| {
                    if policy.statements.iter().any(|s| s.sid == statement.sid) {
                        return Err(LambdaError::ResourceConflict(format!(
                            "The statement id ({}) provided already exists. Please provide a new \
                         statement id, or remove the existing statement.",
                            statement.sid
                        )));
                    }
                    policy.statements.push(statement.clone());
                    let size = render_policy(policy, &arn).len();
                    if size > MAX_LAYER_POLICY_BYTES {
                        return Err(LambdaError::PolicyLengthExceeded(format!(
                            "The final policy size ({size}) is bigger than the limit \
                         ({MAX_LAYER_POLICY_BYTES})."
                        )));
                    }
                    Ok(())
                },
            )
            .await?;
        Ok(AddedPermission {
            statement: render_statement(&statement, &arn),
            revision_id: policy.revision_id,
        })
    }

    /// GetLayerVersionPolicy.
    pub async fn get_policy(
        &self,
        region: &Region,
        layer_name: &str,
        version: i64,
    ) -> Result<RenderedPolicy, LambdaError> {
        let name = parse_layer_name(layer_name)?;
        check_version_number(version)?;
        let arn = layer_version_arn(region, &self.account, &name, version);
        let policy = self.current_policy(region, &name, version, &arn).await?;
        if policy.statements.is_empty() {
            return Err(LambdaError::ResourceNotFound(
                "No policy is associated with the given resource.".to_owned(),
            ));
        }
        Ok(RenderedPolicy {
            policy: render_policy(&policy, &arn),
            revision_id: policy.revision_id,
        })
    }

    /// RemoveLayerVersionPermission.
    pub async fn remove_permission(
        &self,
        region: &Region,
        layer_name: &str,
        version: i64,
        statement_id: &str,
        revision_id: Option<&str>,
    ) -> Result<(), LambdaError> {
        let name = parse_layer_name(layer_name)?;
        check_version_number(version)?;
        self.change_policy(region, &name, version, revision_id, |policy| {
            let before = policy.statements.len();
            policy.statements.retain(|s| s.sid != statement_id);
            if policy.statements.len() == before {
                return Err(LambdaError::ResourceNotFound(format!(
                    "Statement {statement_id} is not found in resource policy."
                )));
            }
            Ok(())
        })
        .await?;
        Ok(())
    }

    async fn current_policy(
        &self,
        region: &Region,
        name: &LayerName,
        version: i64,
        arn: &str,
    ) -> Result<LayerPolicy, LambdaError> {
        self.metadata
            .layer_policy(region, name, version)
            .await
            .map_err(service_error)?
            .ok_or_else(|| {
                LambdaError::ResourceNotFound(format!("Layer version {arn} does not exist."))
            })
    }

    /// Applies `change` to the current policy and stores it under a new revision, retrying
    /// when a concurrent change wins; a stale `expected_revision` fails with 412.
    async fn change_policy(
        &self,
        region: &Region,
        name: &LayerName,
        version: i64,
        expected_revision: Option<&str>,
        mut change: impl FnMut(&mut LayerPolicy) -> Result<(), LambdaError>,
    ) -> Result<LayerPolicy, LambdaError> {
        let arn = layer_version_arn(region, &self.account, name, version);
        for _ in 0..POLICY_CAS_ATTEMPTS {
            let current = self.current_policy(region, name, version, &arn).await?;
            if expected_revision.is_some_and(|r| r != current.revision_id) {
                return Err(LambdaError::PreconditionFailed(STALE_REVISION.to_owned()));
            }
            let mut next = current.clone();
            change(&mut next)?;
            next.revision_id = uuid::Uuid::new_v4().to_string();
            let stored = self
                .metadata
                .replace_layer_policy(region, name, version, &current.revision_id, &next)
                .await
                .map_err(service_error)?;
            if stored {
                return Ok(next);
            }
        }
        Err(LambdaError::rate_exceeded(None))
    }
}

const NO_S3_STORE: &str = "Content.S3Bucket and Content.S3Key are not supported: this Lamina \
     server has no S3 store configured. Send the ZIP inline as Content.ZipFile (for example \
     with --zip-file fileb://layer.zip).";

const STALE_REVISION: &str = "The Revision Id provided does not match the latest Revision Id. \
     Call the GetLayerPolicy API to retrieve the latest Revision Id";

fn paginate(
    items: &mut Vec<LayerVersionRecord>,
    limit: u32,
    marker_of: impl Fn(&LayerVersionRecord) -> String,
) -> Page<LayerVersionRecord> {
    let limit = limit as usize;
    let more = items.len() > limit;
    items.truncate(limit);
    let next_marker = if more {
        items.last().map(marker_of)
    } else {
        None
    };
    Page {
        items: std::mem::take(items),
        next_marker,
    }
}

fn service_error(e: impl std::fmt::Display) -> LambdaError {
    tracing::error!(error = %e, "storage failure");
    LambdaError::Service(format!("storage failure: {e}"))
}

fn parse_layer_name(raw: &str) -> Result<LayerName, LambdaError> {
    LayerName::parse_name_or_arn(raw).map(|r| r.name)
}

fn check_layer_name(violations: &mut Violations, raw: &str) -> Option<LayerName> {
    match LayerName::check_name_or_arn(raw) {
        Ok(r) => Some(r.name),
        Err(constraint) => {
            violations.add("layerName", raw, constraint);
            None
        }
    }
}

/// Validation reported no violation yet a checked value is missing: a bug in this file.
fn validated_but_missing() -> LambdaError {
    LambdaError::Service("internal error: a validated member is missing".to_owned())
}

fn check_version_number(version: i64) -> Result<(), LambdaError> {
    if version < 1 {
        return Err(LambdaError::InvalidParameterValue(
            "Layer Version Cannot be less than 1".into(),
        ));
    }
    Ok(())
}

fn check_max_chars(violations: &mut Violations, field: &str, value: Option<&str>, max: usize) {
    if let Some(v) = value
        && v.chars().count() > max
    {
        violations.add(field, v, Constraint::MaxLength(max));
    }
}

fn check_runtimes(violations: &mut Violations, runtimes: Option<&[String]>) {
    let Some(runtimes) = runtimes else { return };
    if runtimes.len() > MAX_COMPATIBLE_RUNTIMES {
        violations.add(
            "compatibleRuntimes",
            &render_list(runtimes),
            Constraint::MaxLength(MAX_COMPATIBLE_RUNTIMES),
        );
    } else if runtimes.iter().any(|r| Runtime::parse(r).is_none()) {
        // Any value of the model's enum, deprecated ones included: AWS publishes layers for
        // python3.7 or go1.x although it no longer creates functions for them.
        violations.add(
            "compatibleRuntimes",
            &render_list(runtimes),
            Constraint::MemberEnum(ALL_RUNTIMES.to_vec()),
        );
    }
}

fn check_architectures(violations: &mut Violations, architectures: Option<&[String]>) {
    let Some(architectures) = architectures else {
        return;
    };
    if architectures.len() > MAX_COMPATIBLE_ARCHITECTURES {
        violations.add(
            "compatibleArchitectures",
            &render_list(architectures),
            Constraint::MaxLength(MAX_COMPATIBLE_ARCHITECTURES),
        );
    } else if architectures
        .iter()
        .any(|a| Architecture::parse(a).is_none())
    {
        violations.add(
            "compatibleArchitectures",
            &render_list(architectures),
            Constraint::MemberEnum(ALL_ARCHITECTURES.to_vec()),
        );
    }
}

fn check_list_query(
    violations: &mut Violations,
    query: &ListQuery,
) -> (LayerVersionFilter, Option<u32>) {
    if let Some(r) = &query.compatible_runtime
        && Runtime::parse(r).is_none()
    {
        violations.add(
            "compatibleRuntime",
            r,
            Constraint::Enum(ALL_RUNTIMES.to_vec()),
        );
    }
    if let Some(a) = &query.compatible_architecture
        && Architecture::parse(a).is_none()
    {
        violations.add(
            "compatibleArchitecture",
            a,
            Constraint::Enum(ALL_ARCHITECTURES.to_vec()),
        );
    }
    let limit = match query.max_items.as_deref() {
        None => Some(MAX_LAYER_LIST_ITEMS),
        Some(raw) => match raw.parse::<i64>() {
            Ok(n) if n < 1 => {
                violations.add("maxItems", raw, Constraint::MinValue(1));
                None
            }
            Ok(n) if n > i64::from(MAX_LAYER_LIST_ITEMS) => {
                violations.add(
                    "maxItems",
                    raw,
                    Constraint::MaxValue(i64::from(MAX_LAYER_LIST_ITEMS)),
                );
                None
            }
            Ok(n) => u32::try_from(n).ok(),
            Err(_) => {
                violations.add("maxItems", raw, Constraint::Pattern("[0-9]+"));
                None
            }
        },
    };
    let filter = LayerVersionFilter {
        runtime: query.compatible_runtime.clone(),
        architecture: query.compatible_architecture.clone(),
    };
    (filter, limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtimes_result(runtimes: &[&str]) -> Result<(), LambdaError> {
        let owned: Vec<String> = runtimes.iter().map(|r| (*r).to_owned()).collect();
        let mut violations = Violations::new();
        check_runtimes(&mut violations, Some(&owned));
        violations.into_result()
    }

    #[test]
    fn compatible_runtimes_accept_deprecated_values_of_the_model() {
        assert!(
            runtimes_result(&["python3.7", "nodejs12.x", "java8", "go1.x", "provided"]).is_ok()
        );
        assert!(runtimes_result(&["python2.7", "java17.al2023", "python3.14"]).is_ok());
    }

    #[test]
    fn an_unknown_compatible_runtime_lists_the_models_enum() {
        let e = runtimes_result(&["python3.12", "cobol85"]).unwrap_err();
        assert_eq!(e.type_name(), "ValidationException");
        assert_eq!(
            e.message(),
            format!(
                "1 validation error detected: Value '[python3.12, cobol85]' at \
                 'compatibleRuntimes' failed to satisfy constraint: Member must satisfy \
                 constraint: [Member must satisfy enum value set: [{}]]",
                ALL_RUNTIMES.join(", ")
            )
        );
    }

    #[test]
    fn more_than_fifteen_compatible_runtimes_fail_on_length() {
        let sixteen = ["python3.12"; 16];
        let e = runtimes_result(&sixteen).unwrap_err();
        assert!(
            e.message()
                .contains("Member must have length less than or equal to 15"),
            "{}",
            e.message()
        );
        assert!(runtimes_result(&sixteen[..15]).is_ok());
    }
}

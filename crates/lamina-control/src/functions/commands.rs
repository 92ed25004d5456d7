//! The function operations' typed commands (as parsed from requests, not yet validated) and
//! the views they answer with.

use std::collections::BTreeMap;

use bytes::Bytes;
use lamina_types::function_config::{AliasRecord, FunctionVersionRecord};
use lamina_types::{FunctionSpec, Scope};

use super::environment::EnvironmentVariables;

/// `Code` of CreateFunction, or the code members of UpdateFunctionCode.
#[derive(Debug, Clone, Default)]
pub struct FunctionCode {
    /// `ZipFile`: the base64 text exactly as it arrived.
    pub zip_file_base64: Option<Bytes>,
    /// `S3Bucket`.
    pub s3_bucket: Option<String>,
    /// `S3Key`.
    pub s3_key: Option<String>,
    /// `S3ObjectVersion`.
    pub s3_object_version: Option<String>,
    /// `ImageUri`.
    pub image_uri: Option<String>,
}

/// `LoggingConfig` as sent.
#[derive(Debug, Clone, Default)]
pub struct LoggingInput {
    /// `LogFormat`.
    pub log_format: Option<String>,
    /// `ApplicationLogLevel`.
    pub application_log_level: Option<String>,
    /// `SystemLogLevel`.
    pub system_log_level: Option<String>,
    /// `LogGroup`.
    pub log_group: Option<String>,
}

/// The configuration members CreateFunction and UpdateFunctionConfiguration share; `None`
/// means "not sent".
#[derive(Debug, Clone, Default)]
pub struct ConfigInput {
    /// `Role`.
    pub role: Option<String>,
    /// `Runtime`.
    pub runtime: Option<String>,
    /// `Handler`.
    pub handler: Option<String>,
    /// `Description`.
    pub description: Option<String>,
    /// `Timeout`.
    pub timeout: Option<i64>,
    /// `MemorySize`.
    pub memory_size: Option<i64>,
    /// `Environment.Variables` in request order (`Some(empty)` when `Environment` came
    /// without `Variables`).
    pub environment: Option<EnvironmentVariables>,
    /// `Layers`.
    pub layers: Option<Vec<String>>,
    /// `EphemeralStorage`: `Some(None)` when it came without `Size`.
    pub ephemeral_storage: Option<Option<i64>>,
    /// `TracingConfig.Mode` (`Some(None)` when `TracingConfig` came without `Mode`).
    pub tracing_mode: Option<Option<String>>,
    /// `LoggingConfig`.
    pub logging: Option<LoggingInput>,
    /// `SnapStart.ApplyOn` (`Some(None)` when `SnapStart` came without `ApplyOn`).
    pub snap_start_apply_on: Option<Option<String>>,
    /// `KMSKeyArn`.
    pub kms_key_arn: Option<String>,
    /// Members accepted and echoed but not acted on, by wire name, as JSON text.
    pub extra: BTreeMap<String, String>,
}

/// CreateFunction.
#[derive(Debug, Clone, Default)]
pub struct CreateFunction {
    /// `FunctionName` (`None` when missing).
    pub function_name: Option<String>,
    /// `Code` (`None` when missing).
    pub code: Option<FunctionCode>,
    /// `Publish`.
    pub publish: bool,
    /// `PackageType`.
    pub package_type: Option<String>,
    /// `Architectures`.
    pub architectures: Option<Vec<String>>,
    /// `Tags`.
    pub tags: Option<BTreeMap<String, String>>,
    /// Every configuration member.
    pub config: ConfigInput,
}

/// UpdateFunctionConfiguration.
#[derive(Debug, Clone, Default)]
pub struct UpdateFunctionConfiguration {
    /// `FunctionName` from the path.
    pub function_name: String,
    /// `RevisionId` precondition.
    pub revision_id: Option<String>,
    /// The members to change.
    pub config: ConfigInput,
}

/// UpdateFunctionCode.
#[derive(Debug, Clone, Default)]
pub struct UpdateFunctionCode {
    /// `FunctionName` from the path.
    pub function_name: String,
    /// The new code.
    pub code: FunctionCode,
    /// `Architectures`.
    pub architectures: Option<Vec<String>>,
    /// `Publish`.
    pub publish: bool,
    /// `DryRun`: validate and answer, change nothing.
    pub dry_run: bool,
    /// `RevisionId` precondition.
    pub revision_id: Option<String>,
}

/// PublishVersion.
#[derive(Debug, Clone, Default)]
pub struct PublishVersion {
    /// `FunctionName` from the path.
    pub function_name: String,
    /// `CodeSha256` precondition.
    pub code_sha256: Option<String>,
    /// `Description` of the new version.
    pub description: Option<String>,
    /// `RevisionId` precondition on `$LATEST`.
    pub revision_id: Option<String>,
}

/// ListFunctions' query.
#[derive(Debug, Clone, Default)]
pub struct ListFunctionsQuery {
    /// `MasterRegion`.
    pub master_region: Option<String>,
    /// `FunctionVersion` (`ALL`).
    pub function_version: Option<String>,
    /// `Marker`.
    pub marker: Option<String>,
    /// `MaxItems`, as text.
    pub max_items: Option<String>,
}

/// `Marker` and `MaxItems` of ListVersionsByFunction and ListAliases.
#[derive(Debug, Clone, Default)]
pub struct PageQuery {
    /// `Marker`.
    pub marker: Option<String>,
    /// `MaxItems`, as text.
    pub max_items: Option<String>,
}

/// CreateAlias.
#[derive(Debug, Clone, Default)]
pub struct CreateAlias {
    /// `FunctionName` from the path.
    pub function_name: String,
    /// `Name`.
    pub name: Option<String>,
    /// `FunctionVersion`.
    pub function_version: Option<String>,
    /// `Description`.
    pub description: Option<String>,
    /// `RoutingConfig.AdditionalVersionWeights` (`Some(None)`: RoutingConfig without weights).
    pub routing: Option<Option<BTreeMap<String, f64>>>,
}

/// UpdateAlias.
#[derive(Debug, Clone, Default)]
pub struct UpdateAlias {
    /// `FunctionName` from the path.
    pub function_name: String,
    /// `Name` from the path.
    pub name: String,
    /// `FunctionVersion`.
    pub function_version: Option<String>,
    /// `Description`.
    pub description: Option<String>,
    /// `RoutingConfig.AdditionalVersionWeights`; an empty map or no weights clears routing.
    pub routing: Option<Option<BTreeMap<String, f64>>>,
    /// `RevisionId` precondition.
    pub revision_id: Option<String>,
}

/// A function version as an operation answers it: the record plus what the wire shows.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionView {
    /// The version's record.
    pub record: FunctionVersionRecord,
    /// `FunctionArn`: qualified or not, as the operation answers it.
    pub function_arn: String,
    /// `Version`: `$LATEST` or the number.
    pub version: String,
    /// `RuntimeVersionConfig.RuntimeVersionArn`.
    pub runtime_version_arn: Option<String>,
    /// `SnapStart.OptimizationStatus`.
    pub snap_start_optimization_status: &'static str,
}

/// What GetFunction answers.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionDetails {
    /// `Configuration`.
    pub configuration: FunctionView,
    /// `Tags`.
    pub tags: BTreeMap<String, String>,
    /// `Concurrency.ReservedConcurrentExecutions`, when set.
    pub reserved_concurrency: Option<u32>,
}

/// An alias as the alias operations answer it.
#[derive(Debug, Clone, PartialEq)]
pub struct AliasView {
    /// The alias's record.
    pub record: AliasRecord,
    /// `AliasArn`.
    pub alias_arn: String,
}

/// What GetAccountSettings answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountSettings {
    /// `AccountLimit.TotalCodeSize`.
    pub total_code_size_limit: u64,
    /// `AccountLimit.CodeSizeUnzipped`.
    pub code_size_unzipped: u64,
    /// `AccountLimit.CodeSizeZipped`.
    pub code_size_zipped: u64,
    /// `AccountLimit.ConcurrentExecutions`.
    pub concurrent_executions: u32,
    /// `AccountLimit.UnreservedConcurrentExecutions`.
    pub unreserved_concurrent_executions: u32,
    /// `AccountUsage.TotalCodeSize`.
    pub total_code_size: u64,
    /// `AccountUsage.FunctionCount`.
    pub function_count: u64,
}

/// A function and qualifier resolved for the invoker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedFunction {
    /// The account and region the function belongs to (another account's than the caller's
    /// when its policy lets the caller invoke it).
    pub owner: Scope,
    /// The locked spec to run.
    pub spec: FunctionSpec,
    /// `X-Amz-Executed-Version`: `$LATEST` or the version number (an alias's target).
    pub executed_version: String,
    /// The ARN as invoked: qualified iff a qualifier (or a qualified ARN) was given.
    pub invoked_function_arn: String,
}

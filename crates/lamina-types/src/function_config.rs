//! Function versions and aliases as Lamina records them: the configuration a version was
//! created with, frozen for published versions, editable for `$LATEST`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::arn::Scope;
use crate::function_state::FunctionStatus;
use crate::layer::Digest;

/// Version number of `$LATEST` in records; published versions count from 1.
pub const LATEST_VERSION: i64 = 0;

/// Environment variable names Lambda sets itself and refuses in `Environment.Variables`
/// (AWS's documented reserved keys). `TZ` is documented as set by Lambda but is accepted by
/// AWS in practice (setting it is a common way to change a function's time zone).
pub const RESERVED_ENVIRONMENT_VARIABLES: [&str; 18] = [
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// A layer version attached to a function, captured when it was attached so the function
/// keeps listing and running it after the layer version is deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachedLayer {
    /// The layer version ARN, as listed in `Layers[].Arn`.
    pub arn: String,
    /// Size of the layer's ZIP in bytes (`Layers[].CodeSize`).
    pub code_size: u64,
    /// Extracted size in bytes, for the 250 MB function-plus-layers limit.
    pub unzipped_size: u64,
    /// SHA-256 of the layer's ZIP: its blob and tree.
    #[serde(with = "digest_hex")]
    pub digest: Digest,
}

/// Digests as lower-case hex in stored JSON.
mod digest_hex {
    use serde::{Deserialize, Deserializer, Serializer, de};

    use crate::layer::Digest;

    pub fn serialize<S: Serializer>(d: &Digest, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&d.to_hex())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Digest, D::Error> {
        let text = String::deserialize(d)?;
        Digest::from_hex(&text).ok_or_else(|| de::Error::custom("not a sha256 hex digest"))
    }
}

/// `LoggingConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggingConfig {
    /// `LogFormat`: `Text` or `JSON`.
    pub log_format: String,
    /// `ApplicationLogLevel`, only with JSON.
    pub application_log_level: Option<String>,
    /// `SystemLogLevel`, only with JSON.
    pub system_log_level: Option<String>,
    /// `LogGroup`, `/aws/lambda/<name>` by default.
    pub log_group: String,
}

/// The configuration of one function version (everything but its code and identity).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionConfig {
    /// `Runtime`.
    pub runtime: Option<String>,
    /// `Handler`.
    pub handler: Option<String>,
    /// `Role`.
    pub role: String,
    /// `Description` (empty when not given).
    pub description: String,
    /// `Timeout` in seconds.
    pub timeout_secs: u32,
    /// `MemorySize` in MB.
    pub memory_mb: u32,
    /// `EphemeralStorage.Size` in MB.
    pub ephemeral_storage_mb: u32,
    /// `Environment.Variables`; `None` when the function never had an `Environment`.
    pub environment: Option<BTreeMap<String, String>>,
    /// `Layers`, in order.
    pub layers: Vec<AttachedLayer>,
    /// `Architectures` (exactly one).
    pub architectures: Vec<String>,
    /// `PackageType`: always `Zip` in Lamina.
    pub package_type: String,
    /// `TracingConfig.Mode`.
    pub tracing_mode: String,
    /// `LoggingConfig`.
    pub logging: LoggingConfig,
    /// `SnapStart.ApplyOn`.
    pub snap_start_apply_on: String,
    /// `KMSKeyArn`, stored and echoed.
    pub kms_key_arn: Option<String>,
    /// Members accepted, stored and echoed but not acted on (`VpcConfig`, `DeadLetterConfig`,
    /// `FileSystemConfigs`, ...), keyed by their wire name, each as its JSON text.
    pub extra: BTreeMap<String, String>,
}

/// One function version: `$LATEST` (editable) or a published, immutable snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionVersionRecord {
    /// The account and region the function lives in.
    pub scope: Scope,
    /// The function's name.
    pub name: String,
    /// [`LATEST_VERSION`] or a published number from 1.
    pub version: i64,
    /// `RevisionId`: a UUID that changes whenever this version's record changes.
    pub revision_id: String,
    /// `LastModified`, milliseconds since the Unix epoch.
    pub last_modified_millis: i64,
    /// SHA-256 of the function's ZIP.
    pub code_sha256: Digest,
    /// ZIP size in bytes.
    pub code_size: u64,
    /// Extracted size in bytes.
    pub unzipped_size: u64,
    /// A digest of code and configuration: equal values mean "nothing changed", which is how
    /// PublishVersion finds that `$LATEST` matches the last published version.
    pub content_hash: String,
    /// The configuration.
    pub config: FunctionConfig,
    /// `State`, `LastUpdateStatus` and their reasons.
    pub status: FunctionStatus,
    /// While an update of `$LATEST` is in progress: the code and configuration it replaces,
    /// which invocations keep running and which a failed update restores.
    pub previous: Option<Box<Deployment>>,
}

impl FunctionConfig {
    /// Whether `SnapStart.ApplyOn` asks for snapshots of published versions.
    pub fn applies_snap_start(&self) -> bool {
        self.snap_start_apply_on == "PublishedVersions"
    }
}

impl FunctionVersionRecord {
    /// Whether this version runs with SnapStart: a published version whose configuration asks
    /// for it (`$LATEST` never does; validation keeps it to runtimes that have it).
    pub fn snap_start(&self) -> bool {
        self.version != LATEST_VERSION && self.config.applies_snap_start()
    }

    /// The code and configuration this record holds.
    pub fn deployment(&self) -> Deployment {
        Deployment {
            code_sha256: self.code_sha256,
            code_size: self.code_size,
            unzipped_size: self.unzipped_size,
            content_hash: self.content_hash.clone(),
            config: self.config.clone(),
        }
    }

    /// Puts `deployment`'s code and configuration in place of this record's.
    pub fn restore(&mut self, deployment: Deployment) {
        self.code_sha256 = deployment.code_sha256;
        self.code_size = deployment.code_size;
        self.unzipped_size = deployment.unzipped_size;
        self.content_hash = deployment.content_hash;
        self.config = deployment.config;
    }
}

/// The code and configuration of a version, without its identity and status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    /// SHA-256 of the function's ZIP.
    #[serde(with = "digest_hex")]
    pub code_sha256: Digest,
    /// ZIP size in bytes.
    pub code_size: u64,
    /// Extracted size in bytes.
    pub unzipped_size: u64,
    /// See [`FunctionVersionRecord::content_hash`].
    pub content_hash: String,
    /// The configuration.
    pub config: FunctionConfig,
}

/// The function-level facts that are not per version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionRecord {
    /// The account and region the function lives in.
    pub scope: Scope,
    /// The function's name.
    pub name: String,
    /// Highest version number ever published (0 before the first); never decreases.
    pub last_version: i64,
    /// `Tags`.
    pub tags: BTreeMap<String, String>,
    /// `ReservedConcurrentExecutions`, when set.
    pub reserved_concurrency: Option<u32>,
}

/// One alias of a function.
#[derive(Debug, Clone, PartialEq)]
pub struct AliasRecord {
    /// The account and region the function lives in.
    pub scope: Scope,
    /// The function's name.
    pub function_name: String,
    /// The alias's `Name`.
    pub name: String,
    /// `FunctionVersion`: `$LATEST` or a version number.
    pub function_version: String,
    /// `Description` (empty when not given).
    pub description: String,
    /// `RoutingConfig.AdditionalVersionWeights`; `None` when the alias has no routing.
    pub additional_version_weights: Option<BTreeMap<String, f64>>,
    /// `RevisionId`.
    pub revision_id: String,
}

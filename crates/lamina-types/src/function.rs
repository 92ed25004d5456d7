//! A function version resolved for execution: the locked spec of design.md.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::layer::Digest;
use crate::runtime::{Architecture, Runtime};

/// Everything an execution environment needs, by value, resolved once from the metadata
/// store and the artifact store. The executor and the jail read only this (they never look a
/// digest up), so a layer deleted or a function updated while an environment runs cannot
/// change it; environments are pooled by equal specs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FunctionSpec {
    /// `FunctionName`.
    pub function_name: String,
    /// Unqualified `FunctionArn`.
    pub function_arn: String,
    /// `$LATEST` or a published version number.
    pub version: String,
    /// Region, for `AWS_REGION`.
    pub region: String,
    /// `Runtime`, e.g. `python3.12` or `provided.al2023`.
    pub runtime: Runtime,
    /// `Handler`.
    pub handler: String,
    /// The function's code, mounted at `/var/task`.
    pub code: ExtractedTree,
    /// Each layer, in the function's order; merged at `/opt`, later wins.
    pub layers: Vec<ExtractedTree>,
    /// `MemorySize` in MB.
    pub memory_mb: u32,
    /// `Timeout` in seconds.
    pub timeout_secs: u32,
    /// `EphemeralStorage.Size` in MB.
    pub ephemeral_storage_mb: u32,
    /// `Environment.Variables`.
    pub environment: BTreeMap<String, String>,
    /// `Architectures[0]`.
    pub architecture: Architecture,
    /// `LoggingConfig.LogGroup`, `/aws/lambda/<name>` by default.
    pub log_group: String,
    /// With `LoggingConfig.LogFormat` `JSON`: its log levels; `None` for `Text`.
    pub json_log_level: Option<JsonLogLevels>,
    /// SnapStart is on (`SnapStart.ApplyOn` `PublishedVersions`, a published version of a
    /// runtime that has it): cold starts are restored from a template that ran Init once.
    pub snap_start: bool,
    /// How many invocations of the function (all its versions and aliases together) may run
    /// at once. Not part of the spec's identity (see [`ConcurrencyLimit`]).
    pub concurrency: ConcurrencyLimit,
}

/// The log levels of a function whose `LoggingConfig.LogFormat` is `JSON`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JsonLogLevels {
    /// `ApplicationLogLevel` (`INFO` when not given), which the runtime gets as
    /// `AWS_LAMBDA_LOG_LEVEL`.
    pub application: String,
    /// `SystemLogLevel` (`INFO` when not given): the platform's records below it are not
    /// written.
    pub system: String,
}

impl FunctionSpec {
    /// The account the function belongs to (the fifth field of its ARN, which the control
    /// plane builds from the function's scope).
    pub fn account(&self) -> &str {
        self.function_arn.split(':').nth(4).unwrap_or_default()
    }
}

/// The concurrency an invocation is admitted under, as the control plane resolved it.
///
/// Equal to every other limit, and hashed as nothing: environments are pooled by equal specs,
/// and PutFunctionConcurrency changes how many invocations may run, not what they run, so the
/// function's warm environments are kept.
#[derive(Debug, Clone, Copy)]
pub enum ConcurrencyLimit {
    /// `ReservedConcurrentExecutions`: at most this many at once (0: every invoke throttled).
    Reserved(u32),
    /// No reservation: the function shares its account's unreserved pool (the account's
    /// limit less every reservation in it), of this size, with the account's other
    /// unreserved functions.
    Unreserved {
        /// `UnreservedConcurrentExecutions` of the account.
        pool: u32,
    },
}

impl Default for ConcurrencyLimit {
    /// A function with nothing reserved in an account with nothing reserved.
    fn default() -> Self {
        Self::Unreserved {
            pool: crate::limits::ACCOUNT_CONCURRENT_EXECUTIONS,
        }
    }
}

impl PartialEq for ConcurrencyLimit {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for ConcurrencyLimit {}

impl std::hash::Hash for ConcurrencyLimit {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

/// A ZIP as an environment mounts it: its content address and the directory on this machine
/// where it is extracted (read-only, shared by every environment that uses it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExtractedTree {
    /// SHA-256 of the ZIP.
    pub digest: Digest,
    /// The extracted tree.
    pub path: PathBuf,
    /// Where the tree's byte-compiled sidecars live on this machine, one directory per
    /// Python version (`python3.12/`), each mirroring the tree's `__pycache__` directories;
    /// one that is ready is mounted just above the tree (`None`: this server keeps none).
    pub bytecode: Option<PathBuf>,
}

//! A function version resolved for execution: the locked spec of design.md.

use std::collections::BTreeMap;

use crate::layer::Digest;

/// Everything an execution environment needs, by value, resolved once from the metadata
/// store. The executor and the jail read only this, so a layer deleted or a function updated
/// while an environment runs cannot change it; environments are pooled by equal specs.
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
    pub runtime: String,
    /// `Handler`.
    pub handler: String,
    /// SHA-256 of the function's ZIP; its extracted tree is mounted at `/var/task`.
    pub code: Digest,
    /// SHA-256 of each layer's ZIP, in the function's order; merged at `/opt`, later wins.
    pub layers: Vec<Digest>,
    /// `MemorySize` in MB.
    pub memory_mb: u32,
    /// `Timeout` in seconds.
    pub timeout_secs: u32,
    /// `EphemeralStorage.Size` in MB.
    pub ephemeral_storage_mb: u32,
    /// `Environment.Variables`.
    pub environment: BTreeMap<String, String>,
    /// `Architectures[0]`.
    pub architecture: String,
    /// `LoggingConfig.LogGroup`, `/aws/lambda/<name>` by default.
    pub log_group: String,
}

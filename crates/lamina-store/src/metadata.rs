//! The metadata store contract. Every write that must be atomic is one method here, so a
//! PostgreSQL implementation can give the same guarantees with its own transactions.

use lamina_types::layer::{Digest, LayerPolicy, LayerVersionRecord};
use lamina_types::{LayerName, Scope};

/// A storage failure. Always Lamina's fault, never the client's.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed an operation.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored row could not be decoded.
    #[error("corrupt row in {table}: {reason}")]
    Corrupt {
        /// The table holding the row.
        table: &'static str,
        /// What was wrong with it.
        reason: String,
    },
}

/// A layer version to record; the store allocates its number.
#[derive(Debug, Clone)]
pub struct NewLayerVersion {
    /// Account and region the layer lives in.
    pub scope: Scope,
    /// The layer's name.
    pub name: LayerName,
    /// `Description`.
    pub description: String,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_millis: i64,
    /// `CompatibleRuntimes` as sent (`None` when absent).
    pub compatible_runtimes: Option<Vec<String>>,
    /// `CompatibleArchitectures` as sent (`None` when absent).
    pub compatible_architectures: Option<Vec<String>>,
    /// `LicenseInfo`.
    pub license_info: Option<String>,
    /// SHA-256 of the ZIP.
    pub code_sha256: Digest,
    /// ZIP size in bytes.
    pub code_size: u64,
    /// Extracted size in bytes.
    pub unzipped_size: u64,
}

/// Filters of the layer list operations: a version matches when its compatible lists
/// contain the given values.
#[derive(Debug, Clone, Default)]
pub struct LayerVersionFilter {
    /// `CompatibleRuntime`.
    pub runtime: Option<String>,
    /// `CompatibleArchitecture`.
    pub architecture: Option<String>,
}

/// Layer and function metadata.
#[async_trait::async_trait]
pub trait MetadataStore: Send + Sync {
    /// Records a new layer version with the next number of the layer's counter, in one
    /// transaction: the counter never decreases and a failed insert allocates nothing.
    async fn insert_layer_version(
        &self,
        new: NewLayerVersion,
    ) -> Result<LayerVersionRecord, StoreError>;

    /// A live (not deleted) layer version.
    async fn layer_version(
        &self,
        scope: &Scope,
        name: &LayerName,
        version: i64,
    ) -> Result<Option<LayerVersionRecord>, StoreError>;

    /// Live versions of one layer matching `filter`, newest first, with numbers below
    /// `below` when given, at most `limit`.
    async fn layer_versions(
        &self,
        scope: &Scope,
        name: &LayerName,
        filter: &LayerVersionFilter,
        below: Option<i64>,
        limit: u32,
    ) -> Result<Vec<LayerVersionRecord>, StoreError>;

    /// For each layer with a live version matching `filter`, its highest such version,
    /// ordered by layer name, names after `after` when given, at most `limit`.
    async fn latest_layer_versions(
        &self,
        scope: &Scope,
        filter: &LayerVersionFilter,
        after: Option<&LayerName>,
        limit: u32,
    ) -> Result<Vec<LayerVersionRecord>, StoreError>;

    /// Hides a layer version from the API. Its row stays (functions may refer to its tree)
    /// and its number is never reused. Deleting a missing version is not an error.
    async fn delete_layer_version(
        &self,
        scope: &Scope,
        name: &LayerName,
        version: i64,
    ) -> Result<(), StoreError>;

    /// The permission policy of a live layer version; `None` if the version does not exist.
    async fn layer_policy(
        &self,
        scope: &Scope,
        name: &LayerName,
        version: i64,
    ) -> Result<Option<LayerPolicy>, StoreError>;

    /// Replaces a live version's policy if its revision is still `expected_revision`.
    /// Returns `false`, changing nothing, if the revision moved or the version is gone.
    async fn replace_layer_policy(
        &self,
        scope: &Scope,
        name: &LayerName,
        version: i64,
        expected_revision: &str,
        policy: &LayerPolicy,
    ) -> Result<bool, StoreError>;

    /// The unzipped size recorded for a ZIP with this digest by any version, deleted ones
    /// included; `None` if no row has it.
    async fn recorded_unzipped_size(&self, digest: &Digest) -> Result<Option<u64>, StoreError>;

    /// Every digest any row refers to, deleted versions included: what artifact garbage
    /// collection must keep.
    async fn referenced_digests(&self) -> Result<Vec<Digest>, StoreError>;

    /// The server-wide secret: the first `candidate` ever offered is kept and returned from
    /// then on, so signed URLs stay valid across restarts.
    async fn server_secret(&self, candidate: &[u8]) -> Result<Vec<u8>, StoreError>;
}

#[cfg(test)]
mod tests;

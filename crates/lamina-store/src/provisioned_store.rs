//! The provisioned concurrency half of the metadata contract: how many environments each
//! function version or alias keeps initialised ahead of time. The rows go with their function,
//! version or alias when that is deleted.

use lamina_types::Scope;

use crate::metadata::StoreError;

/// One `PutProvisionedConcurrencyConfig`, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedConcurrencyRecord {
    /// The caller's account and region.
    pub scope: Scope,
    /// The function's plain name.
    pub function_name: String,
    /// A published version number or an alias name (never `$LATEST`).
    pub qualifier: String,
    /// `ProvisionedConcurrentExecutions`, at least 1.
    pub requested: u32,
    /// When it was last put, milliseconds since the Unix epoch.
    pub last_modified_millis: i64,
}

/// Provisioned concurrency configurations; implemented by the same stores as
/// [`crate::FunctionStore`], which requires it.
#[async_trait::async_trait]
pub trait ProvisionedConcurrencyStore: Send + Sync {
    /// Records (or replaces) the configuration of a qualifier.
    async fn put_provisioned_concurrency(
        &self,
        record: &ProvisionedConcurrencyRecord,
    ) -> Result<(), StoreError>;

    /// The configuration of a qualifier, if any.
    async fn provisioned_concurrency(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: &str,
    ) -> Result<Option<ProvisionedConcurrencyRecord>, StoreError>;

    /// Deletes the configuration of a qualifier; `false` if there was none.
    async fn delete_provisioned_concurrency(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: &str,
    ) -> Result<bool, StoreError>;

    /// The configurations of a function by qualifier, those after `after`, at most `limit`.
    async fn provisioned_concurrency_configs(
        &self,
        scope: &Scope,
        function_name: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ProvisionedConcurrencyRecord>, StoreError>;

    /// Every configuration of every account and region (the server provisions them all).
    async fn all_provisioned_concurrency(
        &self,
    ) -> Result<Vec<ProvisionedConcurrencyRecord>, StoreError>;
}

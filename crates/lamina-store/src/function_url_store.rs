//! The function URL half of the metadata contract: one URL per function (unqualified) or per
//! alias, found again by its id when a request arrives. The rows go with their function or
//! alias when that is deleted.

use lamina_types::Scope;
use lamina_types::function_url::FunctionUrlRecord;

use crate::metadata::StoreError;

/// Function URL configurations; implemented by the same stores as [`crate::FunctionStore`],
/// which requires it.
#[async_trait::async_trait]
pub trait FunctionUrlStore: Send + Sync {
    /// Records a new configuration; `false`, writing nothing, when the function or alias
    /// already has one (or, astronomically unlikely, the id is taken).
    async fn insert_function_url(&self, record: &FunctionUrlRecord) -> Result<bool, StoreError>;

    /// Replaces the configuration of `record`'s function and qualifier; `false` when it has
    /// none.
    async fn replace_function_url(&self, record: &FunctionUrlRecord) -> Result<bool, StoreError>;

    /// The configuration of a function (`qualifier` `None`) or alias.
    async fn function_url(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: Option<&str>,
    ) -> Result<Option<FunctionUrlRecord>, StoreError>;

    /// Deletes the configuration of a function or alias; `false` if there was none.
    async fn delete_function_url(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: Option<&str>,
    ) -> Result<bool, StoreError>;

    /// The configurations of a function (its own first, then its aliases' by name), those
    /// after the qualifier `after` (`""` is the function's own), at most `limit`.
    async fn function_urls(
        &self,
        scope: &Scope,
        function_name: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<FunctionUrlRecord>, StoreError>;

    /// The configuration with this URL id, in any account: how a request to a URL finds its
    /// function.
    async fn function_url_by_id(
        &self,
        url_id: &str,
    ) -> Result<Option<FunctionUrlRecord>, StoreError>;
}

pub(crate) mod rows;
#[cfg(test)]
mod tests;

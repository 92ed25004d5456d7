//! The function settings half of the metadata contract: a function's recursive loop setting
//! and each version's runtime management configuration. Both go with their function or
//! version; a function or version that never had one has AWS's default.

use lamina_types::Scope;
use lamina_types::function_settings::{RecursiveLoop, RuntimeManagement};

use crate::metadata::StoreError;

/// Function settings; implemented by the same stores as [`crate::FunctionStore`], which
/// requires it.
#[async_trait::async_trait]
pub trait FunctionSettingsStore: Send + Sync {
    /// The function's recursive loop setting; `None` when the function does not exist.
    async fn recursive_loop(
        &self,
        scope: &Scope,
        function_name: &str,
    ) -> Result<Option<RecursiveLoop>, StoreError>;

    /// Sets the function's recursive loop setting; `false` when the function does not exist.
    async fn put_recursive_loop(
        &self,
        scope: &Scope,
        function_name: &str,
        setting: RecursiveLoop,
    ) -> Result<bool, StoreError>;

    /// A version's runtime management configuration (`version` as in
    /// [`lamina_types::function_config::FunctionVersionRecord`]); `None` when the version does
    /// not exist.
    async fn runtime_management(
        &self,
        scope: &Scope,
        function_name: &str,
        version: i64,
    ) -> Result<Option<RuntimeManagement>, StoreError>;

    /// Sets a version's runtime management configuration; `false` when the version does not
    /// exist.
    async fn put_runtime_management(
        &self,
        scope: &Scope,
        function_name: &str,
        version: i64,
        config: &RuntimeManagement,
    ) -> Result<bool, StoreError>;
}

#[cfg(test)]
mod tests;

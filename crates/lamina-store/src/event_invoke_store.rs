//! The asynchronous invocation configuration half of the metadata contract
//! (`PutFunctionEventInvokeConfig`): per qualifier of a function, how many times a failing
//! `Event` invocation is retried, how old an event may get, and where its outcome is sent. The
//! rows go with their function, version or alias when that is deleted.

use lamina_types::Scope;

use crate::metadata::StoreError;

/// One qualifier's asynchronous invocation configuration, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventInvokeConfigRecord {
    /// The caller's account and region.
    pub scope: Scope,
    /// The function's plain name.
    pub function_name: String,
    /// `$LATEST`, a published version number or an alias name.
    pub qualifier: String,
    /// `MaximumRetryAttempts` (0 to 2), `None` when not set (AWS's default of 2 applies).
    pub maximum_retry_attempts: Option<u32>,
    /// `MaximumEventAgeInSeconds` (60 to 21600), `None` when not set (6 hours applies).
    pub maximum_event_age_secs: Option<u32>,
    /// `DestinationConfig.OnSuccess.Destination`.
    pub on_success: Option<String>,
    /// `DestinationConfig.OnFailure.Destination`.
    pub on_failure: Option<String>,
    /// When it was last put or updated, milliseconds since the Unix epoch.
    pub last_modified_millis: i64,
}

/// Asynchronous invocation configurations; implemented by the same stores as
/// [`crate::FunctionStore`], which requires it.
#[async_trait::async_trait]
pub trait EventInvokeConfigStore: Send + Sync {
    /// Records (or replaces) the configuration of a qualifier.
    async fn put_event_invoke_config(
        &self,
        record: &EventInvokeConfigRecord,
    ) -> Result<(), StoreError>;

    /// The configuration of a qualifier, if any.
    async fn event_invoke_config(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: &str,
    ) -> Result<Option<EventInvokeConfigRecord>, StoreError>;

    /// Deletes the configuration of a qualifier; `false` if there was none.
    async fn delete_event_invoke_config(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: &str,
    ) -> Result<bool, StoreError>;

    /// The configurations of a function by qualifier, those after `after`, at most `limit`.
    async fn event_invoke_configs(
        &self,
        scope: &Scope,
        function_name: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<EventInvokeConfigRecord>, StoreError>;
}

#[cfg(test)]
mod tests;

//! The function half of the metadata contract: functions, their versions and aliases. Every
//! write that must be atomic is one method, so another backend can give the same guarantees.

use std::collections::BTreeMap;

use lamina_types::Scope;
use lamina_types::function_config::{AliasRecord, FunctionRecord, FunctionVersionRecord};

use crate::event_invoke_store::EventInvokeConfigStore;
use crate::function_access_store::FunctionAccessStore;
use crate::function_url_store::FunctionUrlStore;
use crate::metadata::{MetadataStore, StoreError};
use crate::provisioned_store::ProvisionedConcurrencyStore;
use crate::settings_store::FunctionSettingsStore;

/// What PublishVersion found when it tried to snapshot `$LATEST`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishOutcome {
    /// A new version was recorded (and `$LATEST` got its new revision).
    Published(FunctionVersionRecord),
    /// `$LATEST` has not changed since the last published version, which is returned.
    Unchanged(FunctionVersionRecord),
    /// `$LATEST`'s revision is no longer the expected one; nothing was written.
    Stale,
    /// The function does not exist.
    Missing,
}

/// A request to publish `$LATEST` as the next version.
#[derive(Debug, Clone)]
pub struct PublishLatest {
    /// Account and region of the function.
    pub scope: Scope,
    /// The function's name.
    pub name: String,
    /// `$LATEST`'s revision the caller based its checks on.
    pub expected_latest_revision: String,
    /// RevisionId of the new version.
    pub version_revision_id: String,
    /// New RevisionId of `$LATEST` (publishing changes it, as on AWS).
    pub latest_revision_id: String,
    /// `Description` of the new version; `$LATEST`'s when `None`.
    pub description: Option<String>,
}

/// What deleting one published version found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteVersionOutcome {
    /// The version was removed (or did not exist).
    Deleted,
    /// The function does not exist.
    Missing,
    /// Aliases (named here) route to the version, so it stays.
    Referenced(Vec<String>),
}

/// What recording a new alias found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AliasInsert {
    /// Recorded.
    Inserted,
    /// An alias of that name exists already.
    Exists,
    /// The function does not exist.
    Missing,
}

/// `AccountUsage` of one account in one region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AccountUsage {
    /// Number of functions.
    pub function_count: u64,
    /// Bytes of every function version's ZIP plus every live layer version's ZIP.
    pub total_code_bytes: u64,
}

/// Function metadata; implemented by the same stores as [`MetadataStore`], whose layer
/// methods the function rules need too (attaching layers).
#[async_trait::async_trait]
pub trait FunctionStore:
    MetadataStore
    + ProvisionedConcurrencyStore
    + EventInvokeConfigStore
    + FunctionSettingsStore
    + FunctionAccessStore
    + FunctionUrlStore
{
    /// Records a new function with its `$LATEST`. Returns `false`, writing nothing, when a
    /// function of that name exists in the scope.
    async fn create_function(
        &self,
        latest: &FunctionVersionRecord,
        tags: &BTreeMap<String, String>,
    ) -> Result<bool, StoreError>;

    /// The function-level record.
    async fn function(
        &self,
        scope: &Scope,
        name: &str,
    ) -> Result<Option<FunctionRecord>, StoreError>;

    /// One version (`LATEST_VERSION` for `$LATEST`).
    async fn function_version(
        &self,
        scope: &Scope,
        name: &str,
        version: i64,
    ) -> Result<Option<FunctionVersionRecord>, StoreError>;

    /// The version an alias points at, in one query: `None` when the function or the alias
    /// does not exist; `Some((alias's FunctionVersion, record))` otherwise, the record `None`
    /// if that version is gone.
    async fn alias_target(
        &self,
        scope: &Scope,
        name: &str,
        alias: &str,
    ) -> Result<Option<(String, Option<FunctionVersionRecord>)>, StoreError>;

    /// Replaces the version `record.version` names (`$LATEST` to change code or
    /// configuration, any version to settle its state) if its revision is still
    /// `expected_revision`; `false` otherwise (revision moved or version gone), changing
    /// nothing.
    async fn replace_version(
        &self,
        expected_revision: &str,
        record: &FunctionVersionRecord,
    ) -> Result<bool, StoreError>;

    /// Every version whose creation or update is still being prepared (`Pending` or
    /// `InProgress`), in any account and region.
    async fn settling_versions(&self) -> Result<Vec<FunctionVersionRecord>, StoreError>;

    /// Snapshots `$LATEST` as the next version in one transaction, unless nothing changed
    /// since the last published version. The counter never decreases. The new version's
    /// status is [`FunctionStatus::for_new_version`] of `$LATEST`'s.
    ///
    /// [`FunctionStatus::for_new_version`]: lamina_types::function_state::FunctionStatus::for_new_version
    async fn publish_latest(&self, request: &PublishLatest) -> Result<PublishOutcome, StoreError>;

    /// Deletes a function with all its versions and aliases; `false` if it did not exist.
    async fn delete_function(&self, scope: &Scope, name: &str) -> Result<bool, StoreError>;

    /// Deletes one published version unless an alias routes to it.
    async fn delete_function_version(
        &self,
        scope: &Scope,
        name: &str,
        version: i64,
    ) -> Result<DeleteVersionOutcome, StoreError>;

    /// `$LATEST` of each function, by name, names after `after`, at most `limit`.
    async fn latest_versions(
        &self,
        scope: &Scope,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<FunctionVersionRecord>, StoreError>;

    /// Every version of every function, by name then version (`$LATEST` first), after the
    /// position `after`, at most `limit`.
    async fn all_versions(
        &self,
        scope: &Scope,
        after: Option<(&str, i64)>,
        limit: u32,
    ) -> Result<Vec<FunctionVersionRecord>, StoreError>;

    /// The versions of one function (`$LATEST` first, then ascending), numbers above
    /// `after` when given, at most `limit`.
    async fn function_versions(
        &self,
        scope: &Scope,
        name: &str,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<FunctionVersionRecord>, StoreError>;

    /// Records a new alias.
    async fn insert_alias(&self, alias: &AliasRecord) -> Result<AliasInsert, StoreError>;

    /// One alias.
    async fn alias(
        &self,
        scope: &Scope,
        function_name: &str,
        name: &str,
    ) -> Result<Option<AliasRecord>, StoreError>;

    /// Aliases of a function by name, those pointing at `function_version` when given, names
    /// after `after`, at most `limit`.
    async fn aliases(
        &self,
        scope: &Scope,
        function_name: &str,
        function_version: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AliasRecord>, StoreError>;

    /// Replaces an alias if its revision is still `expected_revision`; `false` otherwise.
    async fn replace_alias(
        &self,
        expected_revision: &str,
        alias: &AliasRecord,
    ) -> Result<bool, StoreError>;

    /// Deletes an alias; `false` if it did not exist.
    async fn delete_alias(
        &self,
        scope: &Scope,
        function_name: &str,
        name: &str,
    ) -> Result<bool, StoreError>;

    /// Function count and code bytes stored by an account in a region.
    async fn account_usage(&self, scope: &Scope) -> Result<AccountUsage, StoreError>;
}

pub(crate) mod rows;
#[cfg(test)]
pub(crate) mod tests;

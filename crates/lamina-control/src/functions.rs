//! The function operations: reading and deleting functions, and the steps every operation
//! shares (locating a function, its views, its versions). Creating is in
//! `functions/create.rs`, updating `$LATEST` in `functions/update.rs`, publishing versions in
//! `functions/publish.rs`, listings in `functions/listing.rs`, aliases in
//! `functions/aliases.rs`, invocation lookup in `functions/resolve.rs`; tags in
//! `functions/tags.rs`, reserved concurrency in `functions/concurrency.rs` and resource
//! policies in `functions/permissions.rs`.
//!
//! AWS's asynchronous state model (`functions/settle.rs`): a function is created `Pending`
//! and updated `InProgress`, then settles to `Active`/`Successful` (or `Failed`) once it is
//! ready to run; while it settles, updates and PublishVersion are refused with 409 and
//! invocations run the previous code and configuration.

mod aliases;
mod attach;
mod commands;
mod concurrency;
mod config;
mod create;
mod destinations;
mod environment;
mod event_invoke;
mod listing;
mod log_groups;
mod permissions;
mod policy_document;
mod provisioned;
mod publish;
mod resolve;
mod resolve_cache;
pub use resolve_cache::WriteFeed;
mod resource_policy;
mod settings;
mod settle;
mod statement;
mod tags;
mod update;
mod urls;
mod validate;

use std::sync::Arc;

use base64::Engine;
use lamina_store::{DeleteVersionOutcome, FunctionStore, LocalArtifacts};
use lamina_types::function_arn::{
    FunctionRef, LATEST, NameShape, Qualifier, check_qualifier, function_arn,
    qualified_function_arn, version_label,
};
use lamina_types::function_config::{FunctionVersionRecord, LATEST_VERSION};
use lamina_types::function_state::FunctionStatus;
use lamina_types::limits::{
    ACCOUNT_CONCURRENT_EXECUTIONS, ACCOUNT_TOTAL_CODE_BYTES, MAX_UNZIPPED_BYTES, MAX_ZIPPED_BYTES,
};
use lamina_types::validation::{self, Violations};
use lamina_types::{LambdaError, Scope};

pub use self::commands::{
    AccountSettings, AliasView, ConfigInput, CreateAlias, CreateFunction, FunctionCode,
    FunctionDetails, FunctionView, ListFunctionsQuery, LoggingInput, PageQuery, PublishVersion,
    ResolvedFunction, UpdateAlias, UpdateFunctionCode, UpdateFunctionConfiguration,
};
pub use self::destinations::dead_letter_target;
pub use self::environment::EnvironmentVariables;
pub use self::event_invoke::{AsyncInvokeSettings, EventInvokeConfigInput, EventInvokeConfigView};
pub use self::permissions::{AddPermission, FunctionPolicyView};
pub use self::provisioned::{ProvisionedConcurrencyView, ProvisionedState, Provisioner};
pub use self::resolve::locked_spec;
pub use self::settings::RuntimeManagementView;
pub use self::settle::{Preparer, SETTLE_WAIT};
pub use self::urls::{FunctionUrlView, UrlConfigInput};
use crate::ingest::Ingestor;
pub(crate) use crate::internal_errors::{storage_error, validated_but_missing};

/// How many times a change of `$LATEST` or an alias is retried when another change wins.
const CAS_ATTEMPTS: usize = 8;

const STALE_REVISION: &str = "The Revision Id provided does not match the latest Revision Id. \
     Call the GetFunction/GetAlias API to retrieve the latest Revision Id";

const ONLY_LATEST: &str = "Current operation does not support versions other than $LATEST. \
     Please set version to $LATEST or do not set a version in your request.";

/// The function operations over one store and one artifact directory.
pub struct FunctionService {
    store: Arc<dyn FunctionStore>,
    ingestor: Ingestor,
    preparer: Arc<dyn Preparer>,
    settling: Arc<settle::Settling>,
    /// Keeps provisioned environments running (`None`: this server provisions none, e.g. in
    /// tests).
    provisioner: Option<Arc<dyn Provisioner>>,
    /// What invokes resolved, until a write of the function (see `resolve_cache.rs`).
    resolved: Arc<resolve_cache::ResolveCache>,
}

impl FunctionService {
    /// Tells `feed` of every write of a function, and takes [`Self::forget_resolved`] calls
    /// for the writes of other nodes: several nodes share one store.
    pub fn feed_writes_to(&self, feed: Arc<dyn WriteFeed>) {
        self.resolved.feed_writes_to(feed);
    }

    /// Forgets what invokes resolved of `function` of `scope` (all of the scope's when
    /// `None`): another node wrote it.
    pub fn forget_resolved(&self, scope: &Scope, function: Option<&str>) {
        self.resolved.forget(scope, function);
    }

    /// Forgets everything invokes resolved: writes of other nodes may have been missed.
    pub fn forget_all_resolved(&self) {
        self.resolved.forget_all();
    }

    /// A service that records functions in `store` and makes them ready to run with
    /// `preparer`; each operation acts in the scope (account and region) of its caller.
    pub fn new(
        store: Arc<dyn FunctionStore>,
        artifacts: LocalArtifacts,
        preparer: Arc<dyn Preparer>,
    ) -> Self {
        let metadata: Arc<dyn lamina_store::MetadataStore> = store.clone();
        Self {
            ingestor: Ingestor::new(metadata, artifacts),
            store,
            preparer,
            settling: Arc::default(),
            provisioner: None,
            resolved: Arc::default(),
        }
    }

    /// GetFunction: the configuration of `$LATEST`, a version or an alias's version, with
    /// the function's tags.
    pub async fn get(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: Option<&str>,
    ) -> Result<FunctionDetails, LambdaError> {
        let configuration = self
            .get_configuration(scope, function_name, qualifier)
            .await?;
        let function = self
            .store
            .function(scope, &configuration.record.name)
            .await
            .map_err(storage_error)?
            .ok_or_else(|| self.not_found(scope, &configuration.record.name, None))?;
        Ok(FunctionDetails {
            configuration,
            tags: function.tags,
            reserved_concurrency: function.reserved_concurrency,
        })
    }

    /// GetFunctionConfiguration.
    pub async fn get_configuration(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: Option<&str>,
    ) -> Result<FunctionView, LambdaError> {
        let located = self.locate(scope, function_name, NameShape::Namespaced, qualifier)?;
        self.settled(scope, &located.name).await;
        let record = self
            .find_version(scope, &located.name, located.qualifier.as_deref())
            .await?;
        Ok(self.view(record, located.qualifier.as_deref()))
    }

    /// DeleteFunction: the whole function, or one published version with `Qualifier`.
    pub async fn delete(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: Option<&str>,
    ) -> Result<(), LambdaError> {
        let located = self.locate(scope, function_name, NameShape::Namespaced, qualifier)?;
        let name = located.name;
        let Some(qualifier) = located.qualifier else {
            let deleted = self.store.delete_function(scope, &name).await;
            // Its reserved concurrency, if any, went back to the account's unreserved pool,
            // which every function of the account resolves with.
            self.resolved.invalidate_scope(scope);
            if !deleted.map_err(storage_error)? {
                return Err(self.not_found(scope, &name, None));
            }
            tracing::info!(function = %name, "function deleted");
            return Ok(());
        };
        match Qualifier::classify(&qualifier) {
            Qualifier::Latest => Err(LambdaError::InvalidParameterValue(
                "$LATEST version cannot be deleted without deleting the function.".to_owned(),
            )),
            Qualifier::Alias(alias) => Err(LambdaError::InvalidParameterValue(format!(
                "Deletion of aliases is not supported by DeleteFunction. Use DeleteAlias to \
                 delete the alias {alias}."
            ))),
            Qualifier::Version(n) => {
                let deleted = self.store.delete_function_version(scope, &name, n).await;
                self.resolved.invalidate(scope, &name);
                match deleted.map_err(storage_error)? {
                    DeleteVersionOutcome::Deleted => Ok(()),
                    DeleteVersionOutcome::Missing => Err(self.not_found(scope, &name, None)),
                    DeleteVersionOutcome::Referenced(aliases) => {
                        Err(LambdaError::ResourceConflict(format!(
                            "Unable to delete version because the following aliases reference \
                             it: {}",
                            validation::render_list(&aliases)
                        )))
                    }
                }
            }
        }
    }

    /// GetAccountSettings.
    pub async fn account_settings(&self, scope: &Scope) -> Result<AccountSettings, LambdaError> {
        let usage = self
            .store
            .account_usage(scope)
            .await
            .map_err(storage_error)?;
        Ok(AccountSettings {
            total_code_size_limit: ACCOUNT_TOTAL_CODE_BYTES,
            code_size_unzipped: MAX_UNZIPPED_BYTES,
            code_size_zipped: MAX_ZIPPED_BYTES,
            concurrent_executions: ACCOUNT_CONCURRENT_EXECUTIONS,
            unreserved_concurrent_executions: self.unreserved_pool(scope).await?,
            total_code_size: usage.total_code_bytes,
            function_count: usage.function_count,
        })
    }

    // ---- shared steps ----

    /// The view an operation answers: `arn_qualifier` qualifies `FunctionArn`.
    fn view(&self, record: FunctionVersionRecord, arn_qualifier: Option<&str>) -> FunctionView {
        let function_arn = match arn_qualifier {
            Some(q) => qualified_function_arn(&record.scope, &record.name, q),
            None => function_arn(&record.scope, &record.name),
        };
        let optimization = if record.snap_start() { "On" } else { "Off" };
        FunctionView {
            function_arn,
            version: version_label(record.version),
            runtime_version_arn: record
                .config
                .runtime
                .as_deref()
                .map(|r| config::runtime_version_arn(&record.scope.region, r)),
            snap_start_optimization_status: optimization,
            record,
        }
    }

    /// Fails with "Function not found" unless `$LATEST` of `name` exists.
    async fn require_function(&self, scope: &Scope, name: &str) -> Result<(), LambdaError> {
        match self
            .store
            .function(scope, name)
            .await
            .map_err(storage_error)?
        {
            Some(_) => Ok(()),
            None => Err(self.not_found(scope, name, None)),
        }
    }

    /// "Function not found: <arn>", qualified when a qualifier is given.
    fn not_found(&self, scope: &Scope, name: &str, qualifier: Option<&str>) -> LambdaError {
        let arn = match qualifier {
            Some(q) => qualified_function_arn(scope, name, q),
            None => function_arn(scope, name),
        };
        LambdaError::ResourceNotFound(format!("Function not found: {arn}"))
    }

    /// Checks an ARN's region and account against the request's.
    fn check_location(&self, scope: &Scope, r: FunctionRef) -> Result<Located, LambdaError> {
        let (owner, located) = self.owned_by(scope, r)?;
        refuse_foreign(scope, &owner, &located)?;
        Ok(located)
    }

    /// The scope of the account an ARN names (the caller's for a plain name), in the
    /// request's region: another region's functions are not reachable.
    fn owned_by(&self, scope: &Scope, r: FunctionRef) -> Result<(Scope, Located), LambdaError> {
        if let Some(arn_region) = &r.region
            && arn_region != &scope.region
        {
            return Err(LambdaError::ResourceNotFound(format!(
                "Functions from '{arn_region}' are not reachable in this region ('{}')",
                scope.region
            )));
        }
        let owner = Scope::new(
            r.account.unwrap_or_else(|| scope.account.clone()),
            scope.region.clone(),
        );
        let located = Located {
            name: r.name,
            qualifier: r.qualifier,
        };
        Ok((owner, located))
    }

    /// Parses a function name and the `Qualifier` parameter of a Get/Delete-style operation.
    fn locate(
        &self,
        scope: &Scope,
        raw: &str,
        shape: NameShape,
        qualifier: Option<&str>,
    ) -> Result<Located, LambdaError> {
        let (owner, located) = self.locate_anywhere(scope, raw, shape, qualifier)?;
        refuse_foreign(scope, &owner, &located)?;
        Ok(located)
    }

    /// [`locate`](Self::locate), in whichever account the name's ARN names: the owner's
    /// scope and the function.
    fn locate_anywhere(
        &self,
        scope: &Scope,
        raw: &str,
        shape: NameShape,
        qualifier: Option<&str>,
    ) -> Result<(Scope, Located), LambdaError> {
        let mut v = Violations::new();
        let fref = validate::function_name(&mut v, raw, shape);
        if let Some(q) = qualifier
            && let Err(c) = check_qualifier(q)
        {
            v.add("qualifier", q, c);
        }
        v.into_result()?;
        let (owner, mut located) = self.owned_by(scope, fref.ok_or_else(validated_but_missing)?)?;
        match (&located.qualifier, qualifier) {
            (Some(derived), Some(given)) if derived != given => {
                return Err(LambdaError::InvalidParameterValue(
                    "The derived qualifier from the function name does not match the specified \
                     qualifier."
                        .to_owned(),
                ));
            }
            (None, Some(given)) => located.qualifier = Some(given.to_owned()),
            _ => {}
        }
        Ok((owner, located))
    }

    /// The name of a function an operation on `$LATEST` names (a `$LATEST` qualifier is
    /// tolerated, any other is refused).
    fn unqualified(&self, scope: &Scope, fref: Option<FunctionRef>) -> Result<String, LambdaError> {
        let located = self.check_location(scope, fref.ok_or_else(validated_but_missing)?)?;
        match located.qualifier.as_deref() {
            None | Some(LATEST) => Ok(located.name),
            Some(_) => Err(LambdaError::InvalidParameterValue(ONLY_LATEST.to_owned())),
        }
    }

    /// The version a qualifier names, or "Function not found".
    async fn find_version(
        &self,
        scope: &Scope,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<FunctionVersionRecord, LambdaError> {
        self.lookup(scope, name, qualifier)
            .await?
            .ok_or_else(|| self.not_found(scope, name, qualifier))
    }

    /// The version a qualifier names: by primary key, or through the alias in one join.
    async fn lookup(
        &self,
        scope: &Scope,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<Option<FunctionVersionRecord>, LambdaError> {
        let found = match qualifier.map(Qualifier::classify) {
            None | Some(Qualifier::Latest) => {
                self.store
                    .function_version(scope, name, LATEST_VERSION)
                    .await
            }
            Some(Qualifier::Version(n)) if n > 0 => {
                self.store.function_version(scope, name, n).await
            }
            Some(Qualifier::Version(_)) => Ok(None),
            Some(Qualifier::Alias(alias)) => self
                .store
                .alias_target(scope, name, &alias)
                .await
                .map(|target| target.and_then(|(_, record)| record)),
        };
        found.map_err(storage_error)
    }

    async fn latest(
        &self,
        scope: &Scope,
        name: &str,
    ) -> Result<FunctionVersionRecord, LambdaError> {
        self.store
            .function_version(scope, name, LATEST_VERSION)
            .await
            .map_err(storage_error)?
            .ok_or_else(|| self.not_found(scope, name, None))
    }
}

/// 409 for an operation the function's `State` does not allow (AWS's newer wording).
fn not_in_state(arn: &str, status: &FunctionStatus) -> LambdaError {
    let code = status.state_reason.as_ref().map_or("", |r| r.code.as_str());
    LambdaError::ResourceConflict(format!(
        "The operation cannot be performed at this time. The resource {arn} is currently in \
         the following state: '{}'. StateReasonCode: '{code}'",
        status.state.as_str()
    ))
}

/// Another account's functions are reachable only by the operations its policies can grant
/// (Invoke: `resolve.rs`); to every other operation they do not exist.
fn refuse_foreign(scope: &Scope, owner: &Scope, located: &Located) -> Result<(), LambdaError> {
    if owner.account == scope.account {
        return Ok(());
    }
    let arn = function_arn(owner, &located.name);
    Err(LambdaError::ResourceNotFound(format!(
        "Function not found: {arn}"
    )))
}

/// A function named in a request, in the request's region and account.
struct Located {
    name: String,
    qualifier: Option<String>,
}

/// `CodeSha256`: standard base64 of the ZIP's SHA-256.
pub(crate) fn base64_sha256(record: &FunctionVersionRecord) -> String {
    base64::engine::general_purpose::STANDARD.encode(record.code_sha256.0)
}

fn check_revision(expected: Option<&str>, current: &str) -> Result<(), LambdaError> {
    match expected {
        Some(e) if e != current => Err(LambdaError::PreconditionFailed(STALE_REVISION.to_owned())),
        _ => Ok(()),
    }
}

fn new_revision() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod concurrency_tests;
#[cfg(test)]
mod permissions_tests;
#[cfg(test)]
mod state_tests;
#[cfg(test)]
mod tags_tests;
#[cfg(test)]
mod tests;

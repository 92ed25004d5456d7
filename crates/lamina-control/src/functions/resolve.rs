//! Resolving a function and qualifier into the locked spec the invoker runs.
//!
//! An alias resolves to its `FunctionVersion`; its `AdditionalVersionWeights` are not applied
//! yet (every invocation through an alias runs the alias's primary version). Only an `Active`
//! version runs: a `Pending` or `Failed` one answers 409 `ResourceConflictException`, as AWS
//! does. Another account's function (named by its ARN) resolves only when the policy of the
//! qualifier invoked lets the caller's account invoke it (`permissions.rs`). The spec carries
//! the function's concurrency limit, which the executor enforces.

use lamina_types::function_arn::{
    LATEST, NameShape, function_arn, qualified_function_arn, version_label,
};
use lamina_types::function_config::FunctionVersionRecord;
use lamina_types::function_config::LATEST_VERSION;
use lamina_types::function_state::State;
use lamina_types::layer::Digest;
use lamina_types::{
    Architecture, ConcurrencyLimit, ExtractedTree, FunctionSpec, JsonLogLevels, LambdaError,
    Runtime, Scope,
};

use super::commands::ResolvedFunction;
use super::{FunctionService, not_in_state};

impl FunctionService {
    /// Resolves `function_name` (a name, partial ARN or full ARN, possibly qualified) and
    /// `qualifier` (`$LATEST`, a version number or an alias) for an invocation. One indexed
    /// lookup for `$LATEST` and versions, one join for aliases, the first time: the result is
    /// kept until a write of the function (`resolve_cache.rs`).
    ///
    /// Unknown functions, versions and aliases answer 404 "Function not found: <arn>" with the
    /// ARN qualified by the qualifier, or by `$LATEST` when none was given.
    pub async fn resolve(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: Option<&str>,
    ) -> Result<ResolvedFunction, LambdaError> {
        let (owner, located) =
            self.locate_anywhere(scope, function_name, NameShape::Namespaced, qualifier)?;
        let name = located.name.as_str();
        let qualifier = located.qualifier.as_deref();
        if owner.account != scope.account {
            self.authorize_invoke(&owner, name, qualifier, &scope.account)
                .await?;
        }
        // From here on the function is looked up where it lives.
        let scope = &owner;
        self.settled(scope, name).await;
        if let Some(resolved) = self.resolved.get(scope, name, qualifier) {
            return Ok(resolved);
        }
        let began = self.resolved.lookup_began();
        let resolved = self.resolve_from_store(scope, name, qualifier).await?;
        self.resolved
            .insert(began, scope, name, qualifier, &resolved);
        Ok(resolved)
    }

    /// What [`resolve`](Self::resolve) finds in the store.
    async fn resolve_from_store(
        &self,
        scope: &Scope,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<ResolvedFunction, LambdaError> {
        let reserved = self
            .store
            .function(scope, name)
            .await
            .map_err(super::storage_error)?
            .and_then(|f| f.reserved_concurrency);
        let mut record = self
            .lookup(scope, name, qualifier)
            .await?
            .ok_or_else(|| self.not_found(scope, name, Some(qualifier.unwrap_or(LATEST))))?;
        let executed_version = version_label(record.version);
        let unqualified = function_arn(scope, name);
        let invoked_function_arn = match qualifier {
            Some(q) => qualified_function_arn(scope, name, q),
            None => unqualified.clone(),
        };
        if record.status.state == State::Pending && record.snap_start() {
            // The API model's description, as AWS words it.
            return Err(LambdaError::SnapStartNotReady(
                "Lambda is initializing your function. You can invoke the function when the \
                 state of your function is Active."
                    .to_owned(),
            ));
        }
        if record.status.state != State::Active {
            let arn = match record.version {
                LATEST_VERSION => unqualified,
                _ => qualified_function_arn(scope, name, &executed_version),
            };
            return Err(not_in_state(&arn, &record.status));
        }
        // While an update settles, invocations run what it replaces, as on AWS.
        if let Some(previous) = record.previous.take() {
            record.restore(*previous);
        }
        // The version may have settled on another node sharing the stores: the trees it runs
        // are fetched and extracted here first if this node lacks them.
        let digests = std::iter::once(record.code_sha256)
            .chain(record.config.layers.iter().map(|l| l.digest));
        for digest in digests {
            self.ingestor.ensure_tree(digest).await?;
        }
        let mut spec = locked_spec(&record, |digest| self.ingestor.extracted_tree(*digest))?;
        spec.concurrency = self.concurrency_limit(scope, reserved).await?;
        Ok(ResolvedFunction {
            owner: scope.clone(),
            spec,
            executed_version,
            invoked_function_arn,
        })
    }
}

/// The locked spec of a stored version, with `tree` giving each extracted tree: what an
/// invocation runs, and what a SnapStart template is made for at publish (the two must be
/// equal: environments and templates are keyed by spec).
pub fn locked_spec(
    record: &FunctionVersionRecord,
    tree: impl Fn(&Digest) -> ExtractedTree,
) -> Result<FunctionSpec, LambdaError> {
    let config = &record.config;
    // Both were validated when the version was written: a record that holds anything
    // else was not written by this server.
    let runtime = config
        .runtime
        .as_deref()
        .and_then(Runtime::parse)
        .ok_or_else(|| corrupt_record(&record.name, "Runtime"))?;
    let architecture = match config.architectures.first() {
        Some(arch) => Architecture::parse(arch)
            .ok_or_else(|| corrupt_record(&record.name, "Architectures"))?,
        None => Architecture::default(),
    };
    Ok(FunctionSpec {
        function_name: record.name.clone(),
        function_arn: function_arn(&record.scope, &record.name),
        version: version_label(record.version),
        region: record.scope.region.to_string(),
        runtime,
        handler: config.handler.clone().unwrap_or_default(),
        code: tree(&record.code_sha256),
        layers: config.layers.iter().map(|l| tree(&l.digest)).collect(),
        memory_mb: config.memory_mb,
        timeout_secs: config.timeout_secs,
        ephemeral_storage_mb: config.ephemeral_storage_mb,
        environment: config.environment.clone().unwrap_or_default(),
        architecture,
        json_log_level: (config.logging.log_format == "JSON").then(|| JsonLogLevels {
            application: config
                .logging
                .application_log_level
                .clone()
                .unwrap_or_else(|| "INFO".to_owned()),
            system: config
                .logging
                .system_log_level
                .clone()
                .unwrap_or_else(|| "INFO".to_owned()),
        }),
        log_group: config.logging.log_group.clone(),
        // AWS restores published versions only; `$LATEST` always runs its Init.
        snap_start: record.snap_start() && runtime.has_snap_start(),
        // What the account allows is the resolver's to add (`FunctionService::resolve`).
        concurrency: ConcurrencyLimit::default(),
    })
}

fn corrupt_record(function_name: &str, field: &str) -> LambdaError {
    tracing::error!(
        function = function_name,
        field,
        "a stored function version holds an invalid value"
    );
    LambdaError::Service(format!(
        "the stored {field} of {function_name} is not valid"
    ))
}

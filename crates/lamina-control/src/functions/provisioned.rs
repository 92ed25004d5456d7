//! Provisioned concurrency: `PutProvisionedConcurrencyConfig` and its Get, Delete and List.
//!
//! The rules are AWS's: a configuration names a published version or an alias (never
//! `$LATEST`), asks for at least one environment, and lives in the caller's account. What
//! the environments are doing comes from a [`Provisioner`]: the server keeps them running and
//! reports their counts; this crate only turns those counts into AWS's `Status`.

use std::sync::Arc;

use lamina_store::ProvisionedConcurrencyRecord;
use lamina_types::function_arn::{NameShape, Qualifier, qualified_function_arn};
use lamina_types::timestamp::{format_millis, now_millis};
use lamina_types::validation::{Constraint, Violations};
use lamina_types::{LambdaError, Scope};

use super::{FunctionService, storage_error, validate};
use crate::paging::{Page, marker, next_marker};

/// AWS's text for a configuration on `$LATEST` (InvalidParameterValueException).
const UNPUBLISHED: &str =
    "Provisioned Concurrency Configs cannot be applied to unpublished function versions.";

/// AWS's text when a qualifier has no configuration. A guess from AWS's answers as clients
/// quote them; the API reference gives none.
const NOT_FOUND: &str = "No Provisioned Concurrency Config found for this function";

/// What keeps provisioned environments running: told when configurations change, asked how
/// one stands.
pub trait Provisioner: Send + Sync {
    /// The configurations changed (a put or a delete): apply them soon.
    fn changed(&self);

    /// How the environments of one configuration stand; `None` when none were started for
    /// it yet.
    fn status(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: &str,
    ) -> Option<ProvisionedState>;
}

/// The environments of one configuration, as the server counts them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProvisionedState {
    /// The `last_modified_millis` of the configuration these counts are for.
    pub generation: i64,
    /// Started and initialised, idle or busy.
    pub ready: u32,
    /// Of those, busy with an invoke (Lamina's own figure: AWS reports it only as a metric).
    pub in_use: u32,
    /// Why an environment could not be initialised, when one could not.
    pub failure: Option<String>,
}

/// One configuration as the API answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedConcurrencyView {
    /// `FunctionArn`, qualified (listings show it).
    pub function_arn: String,
    /// `RequestedProvisionedConcurrentExecutions`.
    pub requested: u32,
    /// `AvailableProvisionedConcurrentExecutions`.
    pub available: u32,
    /// `AllocatedProvisionedConcurrentExecutions`.
    pub allocated: u32,
    /// `Status`: `IN_PROGRESS`, `READY` or `FAILED`.
    pub status: &'static str,
    /// `StatusReason`, when `FAILED`.
    pub status_reason: Option<String>,
    /// `LastModified`.
    pub last_modified: String,
}

/// `MaxItems` of ListProvisionedConcurrencyConfigs: 1 to 50 (the model's range).
const MAX_LIST_ITEMS: u32 = 50;

/// The view of `record` given how its environments stand.
fn view(
    record: &ProvisionedConcurrencyRecord,
    state: Option<ProvisionedState>,
) -> ProvisionedConcurrencyView {
    let state = state.filter(|s| s.generation == record.last_modified_millis);
    let ready = state.as_ref().map_or(0, |s| s.ready).min(record.requested);
    let failure = state.and_then(|s| s.failure);
    let status = match (&failure, ready >= record.requested) {
        (Some(_), _) => "FAILED",
        (None, true) => "READY",
        (None, false) => "IN_PROGRESS",
    };
    ProvisionedConcurrencyView {
        function_arn: qualified_function_arn(
            &record.scope,
            &record.function_name,
            &record.qualifier,
        ),
        requested: record.requested,
        // Guess: AWS counts an environment in both once it is initialised (the two differ
        // only while a weighted alias shifts); busy ones stay counted.
        available: ready,
        allocated: ready,
        status,
        status_reason: failure.map(|why| {
            // AWS's reason code for an Init that fails, as CloudFormation quotes it, then why.
            format!("FUNCTION_ERROR_INIT_FAILURE: {why}")
        }),
        last_modified: format_millis(record.last_modified_millis),
    }
}

/// `ProvisionedConcurrentExecutions` as AWS validates it: present, at least 1.
fn check_requested(v: &mut Violations, requested: Option<i64>) -> u32 {
    match requested {
        None => v.add(
            "provisionedConcurrentExecutions",
            "null",
            Constraint::NotNull,
        ),
        Some(n) if n < 1 => v.add(
            "provisionedConcurrentExecutions",
            &n.to_string(),
            Constraint::MinValue(1),
        ),
        Some(n) => return u32::try_from(n).unwrap_or(u32::MAX),
    }
    0
}

impl FunctionService {
    /// Sets the provisioner told of changes and asked for counts.
    pub fn with_provisioner(mut self, provisioner: Arc<dyn Provisioner>) -> Self {
        self.provisioner = Some(provisioner);
        self
    }

    /// The function and qualifier a provisioned concurrency operation names: the qualifier
    /// must be given, and name an existing published version or alias.
    async fn provisioned_target(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: Option<&str>,
    ) -> Result<(String, String), LambdaError> {
        let located = self.locate(scope, function_name, NameShape::Namespaced, qualifier)?;
        let Some(qualifier) = located.qualifier else {
            let mut v = Violations::new();
            v.add_null("qualifier");
            v.into_result()?;
            return Err(super::validated_but_missing());
        };
        if Qualifier::classify(&qualifier) == Qualifier::Latest {
            return Err(LambdaError::InvalidParameterValue(UNPUBLISHED.to_owned()));
        }
        self.require_function(scope, &located.name).await?;
        if self
            .lookup(scope, &located.name, Some(&qualifier))
            .await?
            .is_none()
        {
            return Err(self.not_found(scope, &located.name, Some(&qualifier)));
        }
        Ok((located.name, qualifier))
    }

    fn provisioned_view(
        &self,
        record: &ProvisionedConcurrencyRecord,
    ) -> ProvisionedConcurrencyView {
        let state = self
            .provisioner
            .as_ref()
            .and_then(|p| p.status(&record.scope, &record.function_name, &record.qualifier));
        view(record, state)
    }

    /// PutProvisionedConcurrencyConfig: records the configuration (replacing one) and has
    /// the server start its environments; answers `IN_PROGRESS` (202).
    pub async fn put_provisioned_concurrency(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: Option<&str>,
        requested: Option<i64>,
    ) -> Result<ProvisionedConcurrencyView, LambdaError> {
        let mut v = Violations::new();
        let requested = check_requested(&mut v, requested);
        v.into_result()?;
        let (name, qualifier) = self
            .provisioned_target(scope, function_name, qualifier)
            .await?;
        // AWS: SnapStart does not support provisioned concurrency (the text is a guess).
        let target = self.lookup(scope, &name, Some(&qualifier)).await?;
        if target.is_some_and(|t| t.snap_start()) {
            return Err(LambdaError::InvalidParameterValue(
                "Provisioned Concurrency Configs cannot be applied to SnapStart enabled functions."
                    .to_owned(),
            ));
        }
        self.check_provisioned_within_reserved(scope, &name, &qualifier, requested)
            .await?;
        let record = ProvisionedConcurrencyRecord {
            scope: scope.clone(),
            function_name: name,
            qualifier,
            requested,
            last_modified_millis: now_millis(),
        };
        self.store
            .put_provisioned_concurrency(&record)
            .await
            .map_err(storage_error)?;
        if let Some(provisioner) = &self.provisioner {
            provisioner.changed();
        }
        tracing::info!(function = %record.function_name, qualifier = %record.qualifier, requested, "provisioned concurrency set");
        Ok(view(&record, None))
    }

    /// GetProvisionedConcurrencyConfig.
    pub async fn get_provisioned_concurrency(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: Option<&str>,
    ) -> Result<ProvisionedConcurrencyView, LambdaError> {
        let (name, qualifier) = self
            .provisioned_target(scope, function_name, qualifier)
            .await?;
        let record = self
            .store
            .provisioned_concurrency(scope, &name, &qualifier)
            .await
            .map_err(storage_error)?
            .ok_or_else(|| {
                LambdaError::ProvisionedConcurrencyConfigNotFound(NOT_FOUND.to_owned())
            })?;
        Ok(self.provisioned_view(&record))
    }

    /// DeleteProvisionedConcurrencyConfig: its environments are ended.
    pub async fn delete_provisioned_concurrency(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: Option<&str>,
    ) -> Result<(), LambdaError> {
        let (name, qualifier) = self
            .provisioned_target(scope, function_name, qualifier)
            .await?;
        let deleted = self
            .store
            .delete_provisioned_concurrency(scope, &name, &qualifier)
            .await
            .map_err(storage_error)?;
        if !deleted {
            // Guess: the model lists no ProvisionedConcurrencyConfigNotFoundException for
            // Delete, so a missing configuration is its ResourceNotFoundException.
            return Err(LambdaError::ResourceNotFound(NOT_FOUND.to_owned()));
        }
        if let Some(provisioner) = &self.provisioner {
            provisioner.changed();
        }
        Ok(())
    }

    /// ListProvisionedConcurrencyConfigs: by qualifier.
    pub async fn list_provisioned_concurrency(
        &self,
        scope: &Scope,
        function_name: &str,
        marker_in: Option<&str>,
        max_items: Option<&str>,
    ) -> Result<Page<ProvisionedConcurrencyView>, LambdaError> {
        let mut v = Violations::new();
        let fref = validate::function_name(&mut v, function_name, NameShape::Namespaced);
        let limit = crate::paging::max_items(&mut v, max_items, MAX_LIST_ITEMS, MAX_LIST_ITEMS);
        v.into_result()?;
        let located = self.check_location(scope, fref.ok_or_else(super::validated_but_missing)?)?;
        let name = located.name;
        self.require_function(scope, &name).await?;
        let after = marker_in
            .map(|m| marker::decode("provisioned", m))
            .transpose()?;
        let mut records = self
            .store
            .provisioned_concurrency_configs(scope, &name, after.as_deref(), limit + 1)
            .await
            .map_err(storage_error)?;
        let next_marker = next_marker(&mut records, limit, |r| {
            marker::encode("provisioned", &r.qualifier)
        });
        Ok(Page {
            items: records.iter().map(|r| self.provisioned_view(r)).collect(),
            next_marker,
        })
    }
}

#[cfg(test)]
mod tests {
    use lamina_types::{AccountId, Region};

    use super::*;

    fn record(requested: u32) -> ProvisionedConcurrencyRecord {
        ProvisionedConcurrencyRecord {
            scope: Scope::new(
                AccountId::parse("123456789012").unwrap(),
                Region::parse("us-east-1").unwrap(),
            ),
            function_name: "f".into(),
            qualifier: "live".into(),
            requested,
            last_modified_millis: 7,
        }
    }

    fn state(ready: u32, failure: Option<&str>) -> ProvisionedState {
        ProvisionedState {
            generation: 7,
            ready,
            in_use: 0,
            failure: failure.map(str::to_owned),
        }
    }

    #[test]
    fn status_follows_the_environments() {
        let v = view(&record(2), None);
        assert_eq!((v.status, v.allocated, v.available), ("IN_PROGRESS", 0, 0));
        assert_eq!(
            v.function_arn,
            "arn:aws:lambda:us-east-1:123456789012:function:f:live"
        );
        let v = view(&record(2), Some(state(1, None)));
        assert_eq!((v.status, v.allocated), ("IN_PROGRESS", 1));
        let v = view(&record(2), Some(state(2, None)));
        assert_eq!((v.status, v.allocated, v.available), ("READY", 2, 2));
        // Fewer requested than still running: READY at the new count.
        let v = view(&record(1), Some(state(2, None)));
        assert_eq!((v.status, v.allocated), ("READY", 1));
        let v = view(
            &record(2),
            Some(state(1, Some("Init failed: Runtime.ExitError"))),
        );
        assert_eq!(v.status, "FAILED");
        assert!(v.status_reason.unwrap().contains("Runtime.ExitError"));
    }

    #[test]
    fn counts_of_an_older_configuration_are_not_shown() {
        let old = ProvisionedState {
            generation: 3,
            ..state(2, Some("old failure"))
        };
        let v = view(&record(2), Some(old));
        assert_eq!(
            (v.status, v.allocated, v.status_reason),
            ("IN_PROGRESS", 0, None)
        );
    }

    #[test]
    fn requested_must_be_given_and_positive() {
        for (raw, expected) in [
            (None, "Member must not be null"),
            (Some(0), "Member must have value greater than or equal to 1"),
        ] {
            let mut v = Violations::new();
            check_requested(&mut v, raw);
            let e = v.into_result().unwrap_err();
            assert!(e.message().contains(expected), "{}", e.message());
            assert!(e.message().contains("provisionedConcurrentExecutions"));
        }
        let mut v = Violations::new();
        assert_eq!(check_requested(&mut v, Some(3)), 3);
        assert!(v.into_result().is_ok());
    }
}

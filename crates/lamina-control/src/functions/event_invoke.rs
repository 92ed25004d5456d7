//! Asynchronous invocation configuration: `PutFunctionEventInvokeConfig` (replaces),
//! `UpdateFunctionEventInvokeConfig` (merges), Get, Delete and List, one configuration per
//! qualifier (`$LATEST`, a version or an alias); and [`AsyncInvokeSettings`], what the queue
//! of `Event` invocations applies to an event of a qualifier.
//!
//! Error texts follow AWS's answers as LocalStack records them (the API reference gives
//! none).

use std::time::Duration;

use lamina_store::EventInvokeConfigRecord;
use lamina_types::function_arn::{LATEST, NameShape, qualified_function_arn};
use lamina_types::timestamp::now_millis;
use lamina_types::validation::Violations;
use lamina_types::{LambdaError, Scope};

use super::{FunctionService, destinations, storage_error, validate};
use crate::paging::{Page, marker, next_marker};

/// `MaximumRetryAttempts`: 0 to 2.
const MAX_RETRY_ATTEMPTS: u32 = 2;
/// `MaximumEventAgeInSeconds`: 60 to 21600 (6 hours).
const MIN_EVENT_AGE_SECS: u32 = 60;
const MAX_EVENT_AGE_SECS: u32 = 21_600;
/// `MaxItems` of ListFunctionEventInvokeConfigs: 1 to 50 (the model's range).
const MAX_LIST_ITEMS: u32 = 50;

const NOTHING_SET: &str = "You must specify at least one of error handling or destination setting.";
const NO_FUNCTION: &str = "The function doesn't exist.";
const TO_ITSELF: &str = "You can't specify the function as a destination for itself.";

/// The members of a Put or Update request. For a destination, `Some("")` (or an `OnSuccess`
/// without `Destination`) means "none".
#[derive(Debug, Clone, Default)]
pub struct EventInvokeConfigInput {
    /// `MaximumRetryAttempts`.
    pub maximum_retry_attempts: Option<i64>,
    /// `MaximumEventAgeInSeconds`.
    pub maximum_event_age_secs: Option<i64>,
    /// Whether `DestinationConfig` was sent at all.
    pub destination_config: bool,
    /// `DestinationConfig.OnSuccess.Destination`, `None` when `OnSuccess` was not sent.
    pub on_success: Option<String>,
    /// `DestinationConfig.OnFailure.Destination`, `None` when `OnFailure` was not sent.
    pub on_failure: Option<String>,
}

/// One configuration as the API answers it (`FunctionEventInvokeConfig`).
#[derive(Debug, Clone, PartialEq)]
pub struct EventInvokeConfigView {
    /// `FunctionArn`, qualified (`:$LATEST` for the unqualified function).
    pub function_arn: String,
    /// `LastModified`, seconds since the Unix epoch.
    pub last_modified_secs: f64,
    /// `MaximumRetryAttempts`, when set.
    pub maximum_retry_attempts: Option<u32>,
    /// `MaximumEventAgeInSeconds`, when set.
    pub maximum_event_age_secs: Option<u32>,
    /// `DestinationConfig.OnSuccess.Destination`.
    pub on_success: Option<String>,
    /// `DestinationConfig.OnFailure.Destination`.
    pub on_failure: Option<String>,
}

/// What applies to an `Event` invocation of one qualifier: its configuration (AWS's defaults
/// where unset) and the dead-letter target of the version it runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AsyncInvokeSettings {
    /// Retries after a function error; `None`: the queue's default (AWS: 2).
    pub maximum_retry_attempts: Option<u32>,
    /// The event's maximum age; `None`: the queue's default (AWS: 6 hours).
    pub maximum_event_age: Option<Duration>,
    /// Where the record of a success goes.
    pub on_success: Option<String>,
    /// Where the record of a failure goes.
    pub on_failure: Option<String>,
    /// Where the event of a failure goes (`DeadLetterConfig.TargetArn`).
    pub dead_letter: Option<String>,
}

fn view(record: &EventInvokeConfigRecord) -> EventInvokeConfigView {
    EventInvokeConfigView {
        function_arn: qualified_function_arn(
            &record.scope,
            &record.function_name,
            &record.qualifier,
        ),
        // Milliseconds to seconds: exact enough for a timestamp AWS gives to the millisecond.
        #[allow(clippy::cast_precision_loss)]
        last_modified_secs: record.last_modified_millis as f64 / 1000.0,
        maximum_retry_attempts: record.maximum_retry_attempts,
        maximum_event_age_secs: record.maximum_event_age_secs,
        on_success: record.on_success.clone(),
        on_failure: record.on_failure.clone(),
    }
}

/// The model's constraints on a request's members; returns nothing, the ranges are checked.
fn check_members(input: &EventInvokeConfigInput) -> Result<(), LambdaError> {
    let mut v = Violations::new();
    validate::range(
        &mut v,
        "maximumRetryAttempts",
        input.maximum_retry_attempts,
        0,
        MAX_RETRY_ATTEMPTS,
    );
    validate::range(
        &mut v,
        "maximumEventAgeInSeconds",
        input.maximum_event_age_secs,
        MIN_EVENT_AGE_SECS,
        MAX_EVENT_AGE_SECS,
    );
    destinations::check_shape(
        &mut v,
        "destinationConfig.onSuccess.destination",
        input.on_success.as_deref(),
    );
    destinations::check_shape(
        &mut v,
        "destinationConfig.onFailure.destination",
        input.on_failure.as_deref(),
    );
    v.into_result()?;
    if input.maximum_retry_attempts.is_none()
        && input.maximum_event_age_secs.is_none()
        && !input.destination_config
    {
        return Err(LambdaError::InvalidParameterValue(NOTHING_SET.to_owned()));
    }
    Ok(())
}

/// A number already checked to be within its model range.
fn small(n: Option<i64>) -> Option<u32> {
    n.map(|n| u32::try_from(n).unwrap_or(u32::MAX))
}

/// A destination as stored: the empty string is none.
fn destination(raw: Option<&String>) -> Option<String> {
    raw.filter(|d| !d.is_empty()).cloned()
}

impl FunctionService {
    /// The function and qualifier (`$LATEST` when none) a Put or Update names; the function
    /// and the version or alias must exist.
    async fn event_invoke_target(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: Option<&str>,
    ) -> Result<(String, String), LambdaError> {
        let located = self.locate(scope, function_name, NameShape::Namespaced, qualifier)?;
        if self
            .lookup(scope, &located.name, located.qualifier.as_deref())
            .await?
            .is_none()
        {
            return Err(LambdaError::ResourceNotFound(NO_FUNCTION.to_owned()));
        }
        let qualifier = located.qualifier.unwrap_or_else(|| LATEST.to_owned());
        Ok((located.name, qualifier))
    }

    /// Checks that a destination is a Lamina function of the caller, not the configured
    /// function itself, and that it exists.
    async fn check_destination(
        &self,
        scope: &Scope,
        function_name: &str,
        arn: Option<&String>,
    ) -> Result<(), LambdaError> {
        let Some(arn) = arn else { return Ok(()) };
        let (name, qualifier) = destinations::lamina_function(scope, arn, "destination")?;
        if name == function_name {
            return Err(LambdaError::InvalidParameterValue(TO_ITSELF.to_owned()));
        }
        if self
            .lookup(scope, &name, qualifier.as_deref())
            .await?
            .is_none()
        {
            return Err(LambdaError::InvalidParameterValue(format!(
                "The destination ARN {arn} is invalid."
            )));
        }
        Ok(())
    }

    /// Validates `record`'s destinations, then stores it.
    async fn store_event_invoke_config(
        &self,
        record: EventInvokeConfigRecord,
    ) -> Result<EventInvokeConfigView, LambdaError> {
        for arn in [&record.on_success, &record.on_failure] {
            self.check_destination(&record.scope, &record.function_name, arn.as_ref())
                .await?;
        }
        self.store
            .put_event_invoke_config(&record)
            .await
            .map_err(storage_error)?;
        tracing::info!(function = %record.function_name, qualifier = %record.qualifier, "asynchronous invocation configuration set");
        Ok(view(&record))
    }

    /// PutFunctionEventInvokeConfig: records the configuration, replacing any (members not
    /// sent are removed).
    pub async fn put_event_invoke_config(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: Option<&str>,
        input: EventInvokeConfigInput,
    ) -> Result<EventInvokeConfigView, LambdaError> {
        check_members(&input)?;
        let (name, qualifier) = self
            .event_invoke_target(scope, function_name, qualifier)
            .await?;
        self.store_event_invoke_config(EventInvokeConfigRecord {
            scope: scope.clone(),
            function_name: name,
            qualifier,
            maximum_retry_attempts: small(input.maximum_retry_attempts),
            maximum_event_age_secs: small(input.maximum_event_age_secs),
            on_success: destination(input.on_success.as_ref()),
            on_failure: destination(input.on_failure.as_ref()),
            last_modified_millis: now_millis(),
        })
        .await
    }

    /// UpdateFunctionEventInvokeConfig: changes the members sent and keeps the others; the
    /// configuration must exist.
    pub async fn update_event_invoke_config(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: Option<&str>,
        input: EventInvokeConfigInput,
    ) -> Result<EventInvokeConfigView, LambdaError> {
        check_members(&input)?;
        let (name, qualifier) = self
            .event_invoke_target(scope, function_name, qualifier)
            .await?;
        let mut record = self
            .existing_event_invoke_config(scope, &name, &qualifier)
            .await?;
        if input.maximum_retry_attempts.is_some() {
            record.maximum_retry_attempts = small(input.maximum_retry_attempts);
        }
        if input.maximum_event_age_secs.is_some() {
            record.maximum_event_age_secs = small(input.maximum_event_age_secs);
        }
        // Guessed: each of OnSuccess and OnFailure is replaced when sent, kept when not
        // (an empty `Destination` removes it).
        if input.on_success.is_some() {
            record.on_success = destination(input.on_success.as_ref());
        }
        if input.on_failure.is_some() {
            record.on_failure = destination(input.on_failure.as_ref());
        }
        record.last_modified_millis = now_millis();
        self.store_event_invoke_config(record).await
    }

    /// The stored configuration, or AWS's 404 naming the qualified ARN.
    async fn existing_event_invoke_config(
        &self,
        scope: &Scope,
        name: &str,
        qualifier: &str,
    ) -> Result<EventInvokeConfigRecord, LambdaError> {
        self.store
            .event_invoke_config(scope, name, qualifier)
            .await
            .map_err(storage_error)?
            .ok_or_else(|| {
                LambdaError::ResourceNotFound(format!(
                    "The function {} doesn't have an EventInvokeConfig",
                    qualified_function_arn(scope, name, qualifier)
                ))
            })
    }

    /// GetFunctionEventInvokeConfig.
    pub async fn get_event_invoke_config(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: Option<&str>,
    ) -> Result<EventInvokeConfigView, LambdaError> {
        let located = self.locate(scope, function_name, NameShape::Namespaced, qualifier)?;
        let qualifier = located.qualifier.as_deref().unwrap_or(LATEST);
        let record = self
            .existing_event_invoke_config(scope, &located.name, qualifier)
            .await?;
        Ok(view(&record))
    }

    /// DeleteFunctionEventInvokeConfig.
    pub async fn delete_event_invoke_config(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: Option<&str>,
    ) -> Result<(), LambdaError> {
        let located = self.locate(scope, function_name, NameShape::Namespaced, qualifier)?;
        let qualifier = located.qualifier.as_deref().unwrap_or(LATEST);
        self.existing_event_invoke_config(scope, &located.name, qualifier)
            .await?;
        self.store
            .delete_event_invoke_config(scope, &located.name, qualifier)
            .await
            .map_err(storage_error)?;
        Ok(())
    }

    /// ListFunctionEventInvokeConfigs: by qualifier.
    pub async fn list_event_invoke_configs(
        &self,
        scope: &Scope,
        function_name: &str,
        marker_in: Option<&str>,
        max_items: Option<&str>,
    ) -> Result<Page<EventInvokeConfigView>, LambdaError> {
        let mut v = Violations::new();
        let fref = validate::function_name(&mut v, function_name, NameShape::Namespaced);
        let limit = crate::paging::max_items(&mut v, max_items, MAX_LIST_ITEMS, MAX_LIST_ITEMS);
        v.into_result()?;
        let located = self.check_location(scope, fref.ok_or_else(super::validated_but_missing)?)?;
        let exists = self
            .store
            .function(scope, &located.name)
            .await
            .map_err(storage_error)?;
        if exists.is_none() {
            return Err(LambdaError::ResourceNotFound(NO_FUNCTION.to_owned()));
        }
        let after = marker_in
            .map(|m| marker::decode("event-invoke", m))
            .transpose()?;
        let mut records = self
            .store
            .event_invoke_configs(scope, &located.name, after.as_deref(), limit + 1)
            .await
            .map_err(storage_error)?;
        let next_marker = next_marker(&mut records, limit, |r| {
            marker::encode("event-invoke", &r.qualifier)
        });
        Ok(Page {
            items: records.iter().map(view).collect(),
            next_marker,
        })
    }

    /// What applies to an `Event` invocation of `function_name` as invoked with `qualifier`
    /// (`None`: `$LATEST`'s configuration): the queue asks at each attempt, so a change
    /// applies to events already queued. A function that is gone has AWS's defaults.
    pub async fn async_invoke_settings(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: Option<&str>,
    ) -> Result<AsyncInvokeSettings, LambdaError> {
        let config = self
            .store
            .event_invoke_config(scope, function_name, qualifier.unwrap_or(LATEST))
            .await
            .map_err(storage_error)?;
        // AWS: the dead-letter queue is version configuration, the one the qualifier runs.
        let dead_letter = self
            .lookup(scope, function_name, qualifier)
            .await?
            .and_then(|r| destinations::dead_letter_target(&r.config));
        let Some(config) = config else {
            return Ok(AsyncInvokeSettings {
                dead_letter,
                ..AsyncInvokeSettings::default()
            });
        };
        Ok(AsyncInvokeSettings {
            maximum_retry_attempts: config.maximum_retry_attempts,
            maximum_event_age: config
                .maximum_event_age_secs
                .map(|s| Duration::from_secs(u64::from(s))),
            on_success: config.on_success,
            on_failure: config.on_failure,
            dead_letter,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(retries: Option<i64>, age: Option<i64>) -> EventInvokeConfigInput {
        EventInvokeConfigInput {
            maximum_retry_attempts: retries,
            maximum_event_age_secs: age,
            ..EventInvokeConfigInput::default()
        }
    }

    #[test]
    fn retries_and_age_are_checked_at_their_bounds() {
        for ok in [
            input(Some(0), None),
            input(Some(2), Some(60)),
            input(None, Some(21_600)),
        ] {
            assert!(check_members(&ok).is_ok(), "{ok:?}");
        }
        for (bad, expected) in [
            (
                input(Some(3), None),
                "Value '3' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2",
            ),
            (
                input(Some(-1), None),
                "Value '-1' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value greater than or equal to 0",
            ),
            (
                input(None, Some(59)),
                "Value '59' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 60",
            ),
            (
                input(None, Some(21_601)),
                "Value '21601' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value less than or equal to 21600",
            ),
        ] {
            let e = check_members(&bad).unwrap_err();
            assert_eq!(e.type_name(), "ValidationException");
            assert!(e.message().contains(expected), "{}", e.message());
        }
    }

    #[test]
    fn something_must_be_set() {
        let e = check_members(&input(None, None)).unwrap_err();
        assert_eq!(
            (e.type_name(), e.message()),
            ("InvalidParameterValueException", NOTHING_SET)
        );
        let only_destinations = EventInvokeConfigInput {
            destination_config: true,
            ..EventInvokeConfigInput::default()
        };
        assert!(check_members(&only_destinations).is_ok());
    }

    #[test]
    fn a_malformed_destination_is_a_validation_error() {
        let bad = EventInvokeConfigInput {
            destination_config: true,
            on_failure: Some("not-an-arn".into()),
            ..EventInvokeConfigInput::default()
        };
        let e = check_members(&bad).unwrap_err();
        assert!(
            e.message()
                .contains("Value 'not-an-arn' at 'destinationConfig.onFailure.destination'"),
            "{}",
            e.message()
        );
    }
}

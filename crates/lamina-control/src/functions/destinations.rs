//! Which destination and dead-letter ARNs Lamina accepts: only Lamina functions in the
//! caller's account and region, since it has no SQS, SNS, EventBridge or S3 to deliver to.
//! Anything else is refused with a message that says so, rather than accepted and silently
//! never delivered (a deploy tool then fails loudly at the right step).
//!
//! AWS takes only SQS queues and SNS topics as dead-letter targets; a function there is
//! Lamina's own extension, the one kind it can deliver to (the original event, as AWS sends
//! to a queue). Whether the dead-letter function exists is not checked at CreateFunction
//! (it may come later); an event for a missing one is discarded with a log line.

use lamina_types::destination::{self, Target};
use lamina_types::function_config::FunctionConfig;
use lamina_types::validation::Violations;
use lamina_types::{LambdaError, Scope};

/// Where a `DeadLetterConfig` or destination may point, for the refusal messages.
fn only_functions(scope: &Scope) -> String {
    format!(
        "Lamina delivers asynchronous invocation records only to Lamina functions of this \
         account and region (arn:aws:lambda:{}:{}:function:<name>)",
        scope.region, scope.account
    )
}

/// Records a model violation of a destination ARN at `field` (e.g.
/// `destinationConfig.onSuccess.destination`).
pub(crate) fn check_shape(v: &mut Violations, field: &str, arn: Option<&str>) {
    if let Some(arn) = arn
        && let Err(c) = destination::check_destination_arn(arn)
    {
        v.add(field, arn, c);
    }
}

/// The function a destination names, when Lamina can deliver to it; `what` words the member
/// in the refusal ("destination", "dead-letter target").
pub(crate) fn lamina_function(
    scope: &Scope,
    arn: &str,
    what: &str,
) -> Result<(String, Option<String>), LambdaError> {
    match destination::classify(arn) {
        Target::Function {
            scope: target,
            name,
            qualifier,
        } if &target == scope => Ok((name, qualifier)),
        _ => Err(LambdaError::InvalidParameterValue(format!(
            "The {what} ARN {arn} is not supported: {}.",
            only_functions(scope)
        ))),
    }
}

/// Checks `DeadLetterConfig` (its JSON text) of CreateFunction or UpdateFunctionConfiguration:
/// an empty or absent `TargetArn` removes it, any other must be a Lamina function.
pub(crate) fn check_dead_letter(scope: &Scope, json: Option<&str>) -> Result<(), LambdaError> {
    let Some(json) = json else { return Ok(()) };
    let target = serde_json::from_str::<serde_json::Value>(json)
        .ok()
        .and_then(|v| v.get("TargetArn").cloned());
    let arn = match target {
        None | Some(serde_json::Value::Null) => return Ok(()),
        Some(serde_json::Value::String(arn)) => arn,
        Some(other) => {
            return Err(LambdaError::InvalidParameterValue(format!(
                "DeadLetterConfig.TargetArn must be a string, not {other}"
            )));
        }
    };
    if arn.is_empty() {
        return Ok(());
    }
    lamina_function(scope, &arn, "dead-letter target").map(|_| ())
}

/// The dead-letter target a version's `DeadLetterConfig` names, if any.
pub fn dead_letter_target(config: &FunctionConfig) -> Option<String> {
    target_arn(config.extra.get("DeadLetterConfig")?)
}

/// The non-empty `TargetArn` of a `DeadLetterConfig`'s JSON text.
fn target_arn(json: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    let arn = value.get("TargetArn")?.as_str()?;
    (!arn.is_empty()).then(|| arn.to_owned())
}

#[cfg(test)]
mod tests {
    use lamina_types::{AccountId, Region};

    use super::*;

    fn scope() -> Scope {
        Scope::new(
            AccountId::parse("123456789012").unwrap(),
            Region::parse("us-west-2").unwrap(),
        )
    }

    #[test]
    fn only_functions_of_the_callers_account_and_region_are_delivered_to() {
        assert_eq!(
            lamina_function(
                &scope(),
                "arn:aws:lambda:us-west-2:123456789012:function:d:live",
                "destination"
            )
            .unwrap(),
            ("d".to_owned(), Some("live".to_owned()))
        );
        for arn in [
            "arn:aws:sqs:us-west-2:123456789012:q",
            "arn:aws:lambda:us-east-1:123456789012:function:d",
            "arn:aws:lambda:us-west-2:111122223333:function:d",
        ] {
            let e = lamina_function(&scope(), arn, "destination").unwrap_err();
            assert_eq!(e.type_name(), "InvalidParameterValueException");
            assert!(
                e.message().starts_with(&format!(
                    "The destination ARN {arn} is not supported: Lamina delivers"
                )),
                "{}",
                e.message()
            );
        }
    }

    #[test]
    fn a_dead_letter_target_is_a_function_or_nothing() {
        let f = r#"{"TargetArn":"arn:aws:lambda:us-west-2:123456789012:function:dlq"}"#;
        assert!(check_dead_letter(&scope(), Some(f)).is_ok());
        assert!(check_dead_letter(&scope(), Some(r#"{"TargetArn":""}"#)).is_ok());
        assert!(check_dead_letter(&scope(), Some("{}")).is_ok());
        assert!(check_dead_letter(&scope(), None).is_ok());
        let e = check_dead_letter(
            &scope(),
            Some(r#"{"TargetArn":"arn:aws:sqs:us-west-2:123456789012:dlq"}"#),
        )
        .unwrap_err();
        assert!(
            e.message().contains("dead-letter target ARN arn:aws:sqs"),
            "{}",
            e.message()
        );
        assert_eq!(
            target_arn(f).as_deref(),
            Some("arn:aws:lambda:us-west-2:123456789012:function:dlq")
        );
        assert_eq!(target_arn(r#"{"TargetArn":""}"#), None);
    }
}

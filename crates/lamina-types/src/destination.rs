//! Where an asynchronous invocation's outcome may go: the ARNs of `DestinationConfig`
//! (`OnSuccess`, `OnFailure`) and of `DeadLetterConfig.TargetArn`, and which of them Lamina can
//! deliver to (its own functions only: it has no SQS, SNS, EventBridge or S3).

use crate::function_arn::{FunctionRef, NameShape};
use crate::validation::Constraint;
use crate::{AccountId, Region, Scope};

/// `DestinationArn`'s pattern in the API model.
pub const DESTINATION_ARN_PATTERN: &str = "$|kafka://([^.]([a-zA-Z0-9\\-_.]{0,248}))|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1})?:(\\d{12})?:(.*)";

/// `DestinationArn`'s maximum length in the API model.
pub const MAX_DESTINATION_ARN_CHARS: usize = 350;

/// What a destination or dead-letter ARN names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A Lambda function (possibly qualified), in the given account and region.
    Function {
        /// Account and region of the ARN.
        scope: Scope,
        /// The function's name.
        name: String,
        /// The version or alias after the name, if any.
        qualifier: Option<String>,
    },
    /// Anything else (`sqs`, `sns`, `events`, `s3`, a Kafka topic, a non-function Lambda
    /// resource): Lamina has nothing to deliver it to.
    Other,
}

/// Checks a destination ARN against the model (`DestinationArn`); the empty string passes (it
/// means "none").
pub fn check_destination_arn(s: &str) -> Result<(), Constraint> {
    if s.len() > MAX_DESTINATION_ARN_CHARS {
        return Err(Constraint::MaxLength(MAX_DESTINATION_ARN_CHARS));
    }
    if s.is_empty() || s.strip_prefix("kafka://").is_some_and(|t| !t.is_empty()) {
        return Ok(());
    }
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let ok = match parts.as_slice() {
        ["arn", partition, service, region, account, _resource] => {
            partition.starts_with("aws")
                && !service.is_empty()
                && service
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && (region.is_empty() || Region::parse(region).is_some())
                && (account.is_empty() || AccountId::parse(account).is_some())
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Constraint::Pattern(DESTINATION_ARN_PATTERN))
    }
}

/// What a (model-valid) destination ARN names: a function only for a full
/// `arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]`.
pub fn classify(arn: &str) -> Target {
    let is_function = arn.starts_with("arn:")
        && arn.split(':').nth(2) == Some("lambda")
        && arn.split(':').nth(5) == Some("function");
    if !is_function {
        return Target::Other;
    }
    match FunctionRef::parse(arn, NameShape::Namespaced) {
        Ok(FunctionRef {
            name,
            region: Some(region),
            account: Some(account),
            qualifier,
        }) => Target::Function {
            scope: Scope::new(account, region),
            name,
            qualifier,
        },
        _ => Target::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_pattern_accepts_arns_kafka_and_empty_only() {
        for ok in [
            "",
            "arn:aws:sqs:us-west-2:123456789012:q",
            "arn:aws:s3:::bucket",
            "arn:aws:lambda:us-west-2:123456789012:function:f:live",
            "kafka://topic",
        ] {
            assert_eq!(check_destination_arn(ok), Ok(()), "{ok}");
        }
        for bad in ["f", "arn:aws:sqs:nowhere:123456789012:q", "arn:x:sqs:::q"] {
            assert_eq!(
                check_destination_arn(bad),
                Err(Constraint::Pattern(DESTINATION_ARN_PATTERN)),
                "{bad}"
            );
        }
        let long = format!("arn:aws:sqs:us-west-2:123456789012:{}", "q".repeat(350));
        assert_eq!(
            check_destination_arn(&long),
            Err(Constraint::MaxLength(350))
        );
    }

    #[test]
    fn only_full_function_arns_are_functions() {
        assert_eq!(
            classify("arn:aws:lambda:us-west-2:123456789012:function:dest:live"),
            Target::Function {
                scope: Scope::new(
                    AccountId::parse("123456789012").unwrap(),
                    Region::parse("us-west-2").unwrap()
                ),
                name: "dest".into(),
                qualifier: Some("live".into()),
            }
        );
        for other in [
            "arn:aws:sqs:us-west-2:123456789012:q",
            "arn:aws:sns:us-west-2:123456789012:t",
            "arn:aws:events:us-west-2:123456789012:event-bus/default",
            "arn:aws:s3:::bucket",
            "arn:aws:lambda:us-west-2:123456789012:layer:l:1",
            "kafka://topic",
        ] {
            assert_eq!(classify(other), Target::Other, "{other}");
        }
    }
}

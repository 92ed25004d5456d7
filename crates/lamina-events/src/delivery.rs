//! What an event's outcome sends on: AWS's invocation record (to an `OnSuccess` or
//! `OnFailure` destination) or the original event (to a dead-letter target), each as a new
//! `Event` invocation of a Lamina function, queued like any other.

use lamina_store::NewEvent;
use lamina_types::destination::{self, Target};
use lamina_types::function_arn::{LATEST, function_arn, qualified_function_arn};
use lamina_types::timestamp::format_millis;
use serde_json::{Value, json};

use crate::retry::Response;

/// `requestContext.condition` of an invocation record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Condition {
    /// The function succeeded.
    Success,
    /// Every attempt allowed ended in a function error.
    RetriesExhausted,
    /// The event reached its maximum age first.
    EventAgeExceeded,
}

impl Condition {
    fn as_str(self) -> &'static str {
        match self {
            Self::Success => "Success",
            Self::RetriesExhausted => "RetriesExhausted",
            Self::EventAgeExceeded => "EventAgeExceeded",
        }
    }
}

/// How an event ended, for its record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Outcome<'a> {
    /// Why it ended.
    pub condition: Condition,
    /// Attempts that ran the function (`approximateInvokeCount`).
    pub invoke_count: u32,
    /// The last attempt's answer; `None` when no attempt ran the function (or, after a
    /// restart, when the one that did ran in the previous process).
    pub response: Option<&'a Response>,
}

/// A payload as JSON: the document it holds, or (not JSON) its text as a string.
fn as_json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

/// AWS's invocation record of `event` ending as `outcome` at `now_millis`.
pub(crate) fn invocation_record(
    event: &NewEvent,
    outcome: &Outcome<'_>,
    now_millis: i64,
) -> Vec<u8> {
    // AWS qualifies `functionArn` always: `:$LATEST` for an unqualified invocation.
    let function_arn = match &event.qualifier {
        Some(_) => event.invoked_function_arn.clone(),
        None => format!("{}:{LATEST}", event.invoked_function_arn),
    };
    let mut record = json!({
        "version": "1.0",
        // The invocation record's timestamps end in `Z`, not Lambda's usual `+0000`.
        "timestamp": format_millis(now_millis).replace("+0000", "Z"),
        "requestContext": {
            "requestId": event.request_id,
            "functionArn": function_arn,
            "condition": outcome.condition.as_str(),
            "approximateInvokeCount": outcome.invoke_count,
        },
        "requestPayload": as_json(&event.payload),
    });
    // Guessed: without an attempt that ran the function there is no response to describe,
    // so the record has neither `responseContext` nor `responsePayload`.
    if let Some(response) = outcome.response {
        let mut context = json!({
            "statusCode": 200,
            "executedVersion": response.executed_version,
        });
        if outcome.condition != Condition::Success {
            context["functionError"] = json!("Unhandled");
        }
        record["responseContext"] = context;
        record["responsePayload"] = as_json(&response.payload);
    }
    serde_json::to_vec(&record).unwrap_or_default()
}

/// The `Event` invocation that delivers `payload` to the Lamina function `target_arn` on
/// behalf of `source` (the destination must be in the source's account, as the API checks).
/// `Err` says why it cannot be delivered.
pub(crate) fn event_for(
    source: &NewEvent,
    target_arn: &str,
    payload: Vec<u8>,
    now_millis: i64,
) -> Result<NewEvent, String> {
    let Target::Function {
        scope,
        name,
        qualifier,
    } = destination::classify(target_arn)
    else {
        return Err("Lamina delivers only to Lamina functions".to_owned());
    };
    if scope != source.scope {
        return Err("the function is in another account or region".to_owned());
    }
    // The API refuses a function as its own destination; a dead-letter target is not checked
    // against the function at CreateFunction, and a failing function fed its own failures
    // would loop forever.
    if name == source.function_name {
        return Err("a function's outcomes are never sent back to it".to_owned());
    }
    let invoked_function_arn = match &qualifier {
        Some(q) => qualified_function_arn(&scope, &name, q),
        None => function_arn(&scope, &name),
    };
    Ok(NewEvent {
        // AWS invokes a destination with a request of its own; the record names the source's.
        request_id: uuid::Uuid::new_v4().to_string(),
        scope,
        function_name: name,
        qualifier,
        invoked_function_arn,
        payload,
        client_context: None,
        enqueued_millis: now_millis,
    })
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use lamina_types::{AccountId, Region, Scope};

    use super::*;

    const ARN: &str = "arn:aws:lambda:us-west-2:123456789012:function";

    fn source(qualifier: Option<&str>, payload: &[u8]) -> NewEvent {
        NewEvent {
            request_id: "req-1".into(),
            scope: Scope::new(
                AccountId::parse("123456789012").unwrap(),
                Region::parse("us-west-2").unwrap(),
            ),
            function_name: "f".into(),
            qualifier: qualifier.map(str::to_owned),
            invoked_function_arn: match qualifier {
                Some(q) => format!("{ARN}:f:{q}"),
                None => format!("{ARN}:f"),
            },
            payload: payload.to_vec(),
            client_context: None,
            enqueued_millis: 1,
        }
    }

    fn record(event: &NewEvent, outcome: Outcome<'_>) -> Value {
        serde_json::from_slice(&invocation_record(event, &outcome, 1_542_236_632_894)).unwrap()
    }

    #[test]
    fn a_failure_record_has_aws_shape() {
        let response = Response {
            payload: Bytes::from_static(br#"{"errorMessage":"boom","errorType":"RuntimeError"}"#),
            executed_version: "$LATEST".into(),
        };
        let got = record(
            &source(None, br#"{"job":7}"#),
            Outcome {
                condition: Condition::RetriesExhausted,
                invoke_count: 3,
                response: Some(&response),
            },
        );

        assert_eq!(
            got,
            json!({
                "version": "1.0",
                "timestamp": "2018-11-14T23:03:52.894Z",
                "requestContext": {
                    "requestId": "req-1",
                    "functionArn": format!("{ARN}:f:$LATEST"),
                    "condition": "RetriesExhausted",
                    "approximateInvokeCount": 3,
                },
                "requestPayload": { "job": 7 },
                "responseContext": {
                    "statusCode": 200,
                    "executedVersion": "$LATEST",
                    "functionError": "Unhandled",
                },
                "responsePayload": { "errorMessage": "boom", "errorType": "RuntimeError" },
            })
        );
    }

    #[test]
    fn a_success_record_has_no_function_error_and_keeps_the_qualifier() {
        let response = Response {
            payload: Bytes::from_static(b"\"ok\""),
            executed_version: "3".into(),
        };
        let got = record(
            &source(Some("live"), b"not json"),
            Outcome {
                condition: Condition::Success,
                invoke_count: 1,
                response: Some(&response),
            },
        );

        assert_eq!(
            got["requestContext"]["functionArn"],
            json!(format!("{ARN}:f:live"))
        );
        assert_eq!(got["requestContext"]["condition"], json!("Success"));
        assert_eq!(got["requestPayload"], json!("not json"));
        assert_eq!(
            got["responseContext"],
            json!({ "statusCode": 200, "executedVersion": "3" })
        );
        assert_eq!(got["responsePayload"], json!("ok"));
    }

    #[test]
    fn an_expired_event_that_never_ran_has_no_response() {
        let got = record(
            &source(None, b"{}"),
            Outcome {
                condition: Condition::EventAgeExceeded,
                invoke_count: 0,
                response: None,
            },
        );

        assert_eq!(
            got["requestContext"]["condition"],
            json!("EventAgeExceeded")
        );
        assert_eq!(got["requestContext"]["approximateInvokeCount"], json!(0));
        assert!(got.get("responseContext").is_none() && got.get("responsePayload").is_none());
    }

    #[test]
    fn only_functions_of_the_same_account_and_region_receive() {
        let from = source(None, b"{}");
        let to = event_for(&from, &format!("{ARN}:d:live"), b"x".to_vec(), 9).unwrap();
        assert_eq!(
            (
                to.function_name.as_str(),
                to.qualifier.as_deref(),
                to.invoked_function_arn.as_str()
            ),
            ("d", Some("live"), format!("{ARN}:d:live").as_str())
        );
        assert_eq!((to.payload.as_slice(), to.enqueued_millis), (&b"x"[..], 9));
        assert_ne!(to.request_id, from.request_id);

        assert!(event_for(&from, "arn:aws:sqs:us-west-2:123456789012:q", Vec::new(), 9).is_err());
        assert!(event_for(&from, &format!("{ARN}:f:live"), Vec::new(), 9).is_err());
        assert!(
            event_for(
                &from,
                "arn:aws:lambda:us-west-2:111122223333:function:d",
                Vec::new(),
                9
            )
            .is_err()
        );
    }
}

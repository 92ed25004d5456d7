//! The request and response shapes of the Logs operations, as botocore's model names them.

use lamina_exec::log_groups::{FilteredEvent, GroupInfo, StreamInfo};
use serde::Deserialize;
use serde_json::{Value, json};

/// DescribeLogGroups' request.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeLogGroupsIn {
    pub log_group_name_prefix: Option<String>,
    pub log_group_name_pattern: Option<String>,
    pub next_token: Option<String>,
    pub limit: Option<i64>,
}

/// DescribeLogStreams' request.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeLogStreamsIn {
    pub log_group_name: Option<String>,
    pub log_group_identifier: Option<String>,
    pub log_stream_name_prefix: Option<String>,
    pub order_by: Option<String>,
    pub descending: Option<bool>,
    pub next_token: Option<String>,
    pub limit: Option<i64>,
}

/// GetLogEvents' request.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetLogEventsIn {
    pub log_group_name: Option<String>,
    pub log_group_identifier: Option<String>,
    pub log_stream_name: Option<String>,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub next_token: Option<String>,
    pub limit: Option<i64>,
    pub start_from_head: Option<bool>,
}

/// FilterLogEvents' request.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterLogEventsIn {
    pub log_group_name: Option<String>,
    pub log_group_identifier: Option<String>,
    pub log_stream_names: Option<Vec<String>>,
    pub log_stream_name_prefix: Option<String>,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub filter_pattern: Option<String>,
    pub next_token: Option<String>,
    pub limit: Option<i64>,
}

/// PutRetentionPolicy's request.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutRetentionPolicyIn {
    pub log_group_name: Option<String>,
    pub retention_in_days: Option<i64>,
}

/// DeleteRetentionPolicy's request.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteRetentionPolicyIn {
    pub log_group_name: Option<String>,
}

/// The group name in a `logGroupIdentifier`: the name itself, or the name in its ARN
/// (`arn:aws:logs:<region>:<account>:log-group:<name>[:*]`).
pub fn name_of_identifier(identifier: &str) -> &str {
    match identifier.splitn(7, ':').collect::<Vec<_>>().as_slice() {
        ["arn", _, "logs", _, _, "log-group", name] => name.strip_suffix(":*").unwrap_or(name),
        _ => identifier,
    }
}

/// The ARN of a group, without the `:*` its `arn` member carries.
fn group_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:logs:{region}:{account}:log-group:{name}")
}

/// A `LogGroup` of DescribeLogGroups.
pub fn group_body(g: &GroupInfo, region: &str, account: &str) -> Value {
    let arn = group_arn(region, account, &g.name);
    let mut body = json!({
        "logGroupName": g.name,
        "creationTime": g.creation_time,
        "metricFilterCount": 0,
        "arn": format!("{arn}:*"),
        "storedBytes": g.stored_bytes,
        "logGroupClass": "STANDARD",
        "logGroupArn": arn,
    });
    if let Some(days) = g.retention_days {
        body["retentionInDays"] = json!(days);
    }
    body
}

/// A `LogStream` of DescribeLogStreams.
pub fn stream_body(s: &StreamInfo, region: &str, account: &str, group: &str) -> Value {
    json!({
        "logStreamName": s.name,
        "creationTime": s.creation_time,
        "firstEventTimestamp": s.first_event,
        "lastEventTimestamp": s.last_event,
        "lastIngestionTime": s.last_ingestion,
        "arn": format!("{}:log-stream:{}", group_arn(region, account, group), s.name),
        "storedBytes": 0,
    })
}

/// A `FilteredLogEvent` of FilterLogEvents.
pub fn event_body(e: &FilteredEvent) -> Value {
    json!({
        "logStreamName": e.event.stream,
        "timestamp": e.event.timestamp,
        "message": e.event.message,
        "ingestionTime": e.event.ingestion_time,
        "eventId": e.id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_may_be_arns() {
        assert_eq!(name_of_identifier("/aws/lambda/f"), "/aws/lambda/f");
        assert_eq!(
            name_of_identifier("arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/f:*"),
            "/aws/lambda/f"
        );
        assert_eq!(
            name_of_identifier("arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/f"),
            "/aws/lambda/f"
        );
    }
}

//! The CloudWatch Logs subset (awsJson 1.1, `X-Amz-Target: Logs_20140328.<Op>`): the function
//! logs as log groups and streams. Requests are parsed here into the options of
//! [`lamina_exec::log_groups`], which reads the logs; the control plane says which group
//! each function logs to.

mod wire;

use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lamina_exec::log_groups::{
    EventsQuery, FilterQuery, LogsError, Reading, StreamQuery, validate_days,
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::AppState;
use crate::cluster::HttpPeerLogs;
use crate::request_context::RequestContext;
use wire::{
    DeleteRetentionPolicyIn, DescribeLogGroupsIn, DescribeLogStreamsIn, FilterLogEventsIn,
    GetLogEventsIn, PutRetentionPolicyIn, event_body, group_body, stream_body,
};

/// An error of a Logs operation, in awsJson's shape: `{"__type", "message"}`, status 400
/// (500 for Lamina's own failures).
#[derive(Debug)]
pub struct LogsFault {
    kind: &'static str,
    message: String,
    status: StatusCode,
}

impl LogsFault {
    fn client(kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            status: StatusCode::BAD_REQUEST,
        }
    }
}

impl From<LogsError> for LogsFault {
    fn from(e: LogsError) -> Self {
        match e {
            LogsError::ResourceNotFound(m) => Self::client("ResourceNotFoundException", m),
            LogsError::InvalidParameter(m) => Self::client("InvalidParameterException", m),
        }
    }
}

impl IntoResponse for LogsFault {
    fn into_response(self) -> Response {
        let body = json!({ "__type": self.kind, "message": self.message });
        let mut response = (self.status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_1_1));
        headers.insert("x-amzn-ErrorType", HeaderValue::from_static(self.kind));
        response
    }
}

/// The content type of awsJson 1.1.
const JSON_1_1: &str = "application/x-amz-json-1.1";

/// Answers the Logs operation `operation` with `body`.
pub async fn serve(
    state: &Arc<AppState>,
    ctx: &RequestContext,
    operation: &str,
    body: &[u8],
) -> Response {
    match run(state, ctx, operation, body).await {
        Ok(value) => {
            let mut response = (StatusCode::OK, value.to_string()).into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_1_1));
            response
        }
        Err(fault) => fault.into_response(),
    }
}

async fn run(
    state: &Arc<AppState>,
    ctx: &RequestContext,
    operation: &str,
    body: &[u8],
) -> Result<Value, LogsFault> {
    let call = Call {
        state: Arc::clone(state),
        account: ctx.scope.account.as_str().to_owned(),
        region: ctx.scope.region.as_str().to_owned(),
    };
    match operation {
        "DescribeLogGroups" => describe_log_groups(call, parse(body)?).await,
        "DescribeLogStreams" => describe_log_streams(call, parse(body)?).await,
        "GetLogEvents" => get_log_events(call, parse(body)?).await,
        "FilterLogEvents" => filter_log_events(call, parse(body)?).await,
        "PutRetentionPolicy" => put_retention_policy(call, parse(body)?).await,
        "DeleteRetentionPolicy" => delete_retention_policy(call, parse(body)?).await,
        other => Err(LogsFault::client(
            "UnknownOperationException",
            format!("Lamina does not serve the CloudWatch Logs operation {other}."),
        )),
    }
}

/// One request's account and region, and what serves it.
struct Call {
    state: Arc<AppState>,
    account: String,
    region: String,
}

impl Call {
    /// Runs `op` with this node's and the other live nodes' logs of the account, each
    /// function's group and the retention policies, off the async threads (it reads files
    /// and calls the other nodes).
    async fn with_groups<T: Send + 'static>(
        self,
        op: impl FnOnce(&Reading<'_>) -> Result<T, LogsError> + Send + 'static,
    ) -> Result<T, LogsFault> {
        let scope = lamina_types::Scope::new(
            lamina_types::AccountId::parse(&self.account).ok_or_else(internal)?,
            lamina_types::Region::parse(&self.region).ok_or_else(internal)?,
        );
        let assigned = self.state.functions.log_groups(&scope).await.map_err(|e| {
            tracing::error!(error = %e.message(), "listing the functions' log groups failed");
            internal()
        })?;
        let cluster = &self.state.cluster;
        let policies = cluster
            .log_retention
            .retention_policies(&self.account)
            .await
            .map_err(store_failed)?;
        let peers = HttpPeerLogs::new(cluster.live_peers().await, cluster.peer_token.clone());
        let node = cluster.node.id.to_string();
        let executor = self.state.executor.clone();
        let account = self.account;
        tokio::task::spawn_blocking(move || {
            let reading = executor
                .log_groups()
                .reading(&node, &account, &assigned, &policies, &peers);
            op(&reading)
        })
        .await
        .map_err(|_| internal())?
        .map_err(LogsFault::from)
    }
}

/// A failure of the database holding the retention policies, logged here.
fn store_failed(e: lamina_store::StoreError) -> LogsFault {
    tracing::error!(error = %e, "the log retention policies could not be read or written");
    internal()
}

fn internal() -> LogsFault {
    LogsFault {
        kind: "ServiceUnavailableException",
        message: "The service cannot complete the request.".to_owned(),
        status: StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The request's JSON; AWS answers a body that is not one with `SerializationException`.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, LogsFault> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body)
        .map_err(|e| LogsFault::client("SerializationException", e.to_string()))
}

/// The group a request names by `logGroupName` or `logGroupIdentifier` (a name or an ARN).
fn group_name(name: Option<String>, identifier: Option<String>) -> Result<String, LogsFault> {
    match (name, identifier) {
        (Some(_), Some(_)) => Err(LogsFault::client(
            "InvalidParameterException",
            "LogGroup name and LogGroup ARN are mutually exclusive parameters.",
        )),
        (Some(name), None) => Ok(name),
        (None, Some(id)) => Ok(wire::name_of_identifier(&id).to_owned()),
        (None, None) => Err(LogsFault::client(
            "InvalidParameterException",
            "Should provide either logGroupName or logGroupIdentifier.",
        )),
    }
}

/// DescribeLogGroups: the account's log groups by name.
async fn describe_log_groups(call: Call, input: DescribeLogGroupsIn) -> Result<Value, LogsFault> {
    let (account, region) = (call.account.clone(), call.region.clone());
    let listed = call
        .with_groups(move |groups| {
            groups.describe_log_groups(
                input.log_group_name_prefix.as_deref(),
                input.log_group_name_pattern.as_deref(),
                input.next_token.as_deref(),
                input.limit,
            )
        })
        .await?;
    let groups: Vec<Value> = listed
        .items
        .iter()
        .map(|g| group_body(g, &region, &account))
        .collect();
    Ok(with_token(
        json!({ "logGroups": groups }),
        listed.next_token,
    ))
}

/// DescribeLogStreams: a group's streams, one per execution environment.
async fn describe_log_streams(call: Call, input: DescribeLogStreamsIn) -> Result<Value, LogsFault> {
    let name = group_name(input.log_group_name, input.log_group_identifier)?;
    let by_last_event = match input.order_by.as_deref() {
        None | Some("LogStreamName") => false,
        Some("LastEventTime") => true,
        Some(other) => {
            return Err(LogsFault::client(
                "InvalidParameterException",
                format!(
                    "1 validation error detected: Value '{other}' at 'orderBy' failed to satisfy \
                     constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime]"
                ),
            ));
        }
    };
    let query = StreamQuery {
        prefix: input.log_stream_name_prefix,
        by_last_event,
        descending: input.descending.unwrap_or(false),
        token: input.next_token,
        limit: input.limit,
    };
    let (account, region) = (call.account.clone(), call.region.clone());
    let group = name.clone();
    let listed = call
        .with_groups(move |groups| groups.describe_log_streams(&group, &query))
        .await?;
    let streams: Vec<Value> = listed
        .items
        .iter()
        .map(|s| stream_body(s, &region, &account, &name))
        .collect();
    Ok(with_token(
        json!({ "logStreams": streams }),
        listed.next_token,
    ))
}

/// GetLogEvents: one stream's events, a page forward or backward.
async fn get_log_events(call: Call, input: GetLogEventsIn) -> Result<Value, LogsFault> {
    let name = group_name(input.log_group_name, input.log_group_identifier)?;
    let stream = input.log_stream_name.ok_or_else(|| {
        LogsFault::client(
            "InvalidParameterException",
            "1 validation error detected: Value null at 'logStreamName' failed to satisfy \
             constraint: Member must not be null",
        )
    })?;
    let query = EventsQuery {
        start: input.start_time,
        end: input.end_time,
        from_head: input.start_from_head.unwrap_or(false),
        token: input.next_token,
        limit: input.limit,
    };
    let page = call
        .with_groups(move |groups| groups.get_log_events(&name, &stream, &query))
        .await?;
    let events: Vec<Value> = page
        .events
        .iter()
        .map(|e| json!({ "timestamp": e.timestamp, "message": e.message, "ingestionTime": e.ingestion_time }))
        .collect();
    Ok(json!({
        "events": events,
        "nextForwardToken": page.forward,
        "nextBackwardToken": page.backward,
    }))
}

/// FilterLogEvents: the group's events that match a filter pattern, across its streams.
async fn filter_log_events(call: Call, input: FilterLogEventsIn) -> Result<Value, LogsFault> {
    let name = group_name(input.log_group_name, input.log_group_identifier)?;
    let query = FilterQuery {
        streams: input.log_stream_names,
        stream_prefix: input.log_stream_name_prefix,
        start: input.start_time,
        end: input.end_time,
        pattern: input.filter_pattern,
        token: input.next_token,
        limit: input.limit,
    };
    let listed = call
        .with_groups(move |groups| groups.filter_log_events(&name, &query))
        .await?;
    let events: Vec<Value> = listed.items.iter().map(event_body).collect();
    Ok(with_token(
        json!({ "events": events, "searchedLogStreams": [] }),
        listed.next_token,
    ))
}

/// PutRetentionPolicy: the group keeps its events `retentionInDays` days.
async fn put_retention_policy(call: Call, input: PutRetentionPolicyIn) -> Result<Value, LogsFault> {
    let name = group_name(input.log_group_name, None)?;
    let days = input.retention_in_days.ok_or_else(|| {
        LogsFault::client(
            "InvalidParameterException",
            "1 validation error detected: Value null at 'retentionInDays' failed to satisfy \
             constraint: Member must not be null",
        )
    })?;
    let days = validate_days(days)?;
    let (state, account) = (Arc::clone(&call.state), call.account.clone());
    let group = name.clone();
    let members = call
        .with_groups(move |groups| groups.members(&group))
        .await?;
    state
        .cluster
        .log_retention
        .put_retention_policy(&account, &name, days)
        .await
        .map_err(store_failed)?;
    // Enforced at once on this node; the others drop their expired files at their next read.
    let executor = state.executor.clone();
    tokio::task::spawn_blocking(move || {
        executor
            .log_groups()
            .enforce_retention(&account, &members, days);
    })
    .await
    .map_err(|_| internal())?;
    Ok(json!({}))
}

/// DeleteRetentionPolicy: the group keeps its events until the size caps drop them.
async fn delete_retention_policy(
    call: Call,
    input: DeleteRetentionPolicyIn,
) -> Result<Value, LogsFault> {
    let name = group_name(input.log_group_name, None)?;
    let (state, account) = (Arc::clone(&call.state), call.account.clone());
    let group = name.clone();
    call.with_groups(move |groups| groups.members(&group))
        .await?;
    state
        .cluster
        .log_retention
        .delete_retention_policy(&account, &name)
        .await
        .map_err(store_failed)?;
    Ok(json!({}))
}

/// `body` with its `nextToken`, when there is one.
fn with_token(mut body: Value, token: Option<String>) -> Value {
    if let Some(token) = token {
        body["nextToken"] = json!(token);
    }
    body
}

#[cfg(test)]
mod tests;

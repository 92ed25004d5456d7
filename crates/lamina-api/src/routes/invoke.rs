//! `POST /2015-03-31/functions/{name}/invocations`: Invoke, in its three types.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Extension, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use lamina_events::EventInvocation;
use lamina_exec::InvokeRequest;
use lamina_types::LambdaError;
use lamina_types::limits::{MAX_ASYNC_PAYLOAD_BYTES, MAX_SYNC_PAYLOAD_BYTES};
use lamina_types::validation::{self, Constraint};

use super::extract::PathArgs;
use crate::body::read_limited;
use crate::request_context::{RequestContext, RequestId};
use crate::{ApiError, AppState};

/// Longest `X-Amz-Client-Context`, in base64 characters.
const MAX_CLIENT_CONTEXT_CHARS: usize = 3583;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/2015-03-31/functions/{name}/invocations", post(invoke))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum InvocationType {
    RequestResponse,
    Event,
    DryRun,
}

pub(super) fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `Invoke`: `POST /2015-03-31/functions/{name}/invocations`, as `RequestResponse` (200 with
/// the function's response), `Event` (202, queued) or `DryRun` (204).
async fn invoke(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Extension(RequestId(request_id)): Extension<RequestId>,
    PathArgs(name): PathArgs<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let kind = match header(&headers, "x-amz-invocation-type").unwrap_or("RequestResponse") {
        "RequestResponse" => InvocationType::RequestResponse,
        "Event" => InvocationType::Event,
        "DryRun" => InvocationType::DryRun,
        other => {
            return Err(ApiError(validation::single(
                "invocationType",
                other,
                Constraint::Enum(vec!["Event", "RequestResponse", "DryRun"]),
            )));
        }
    };
    let tail_log = tail_log(&headers)?;
    let client_context = client_context(&headers)?;
    let limit = match kind {
        InvocationType::Event => MAX_ASYNC_PAYLOAD_BYTES,
        _ => MAX_SYNC_PAYLOAD_BYTES,
    };
    let payload = read_limited(&headers, body, limit, "InvokeFunction")
        .await
        .map_err(|e| match e {
            // Invoke's oversize error is its own type, with the same wording.
            LambdaError::RequestEntityTooLarge(m) => LambdaError::RequestTooLarge(m),
            other => other,
        })?;
    let payload = json_payload(payload)?;
    let qualifier = params.get("Qualifier").map(String::as_str);
    let resolved = state
        .functions
        .resolve(&ctx.scope, &name, qualifier)
        .await?;
    match kind {
        InvocationType::DryRun => Ok(StatusCode::NO_CONTENT.into_response()),
        InvocationType::Event => {
            // Queued in the function's account, which runs it (another account's than the
            // caller's when its policy lets the caller invoke it).
            let event = EventInvocation {
                request_id,
                scope: resolved.owner.clone(),
                function: resolved,
                payload,
                client_context,
            };
            state.events.accept(event).await?;
            Ok(StatusCode::ACCEPTED.into_response())
        }
        InvocationType::RequestResponse => {
            let executed_version = resolved.executed_version.clone();
            let request = InvokeRequest {
                request_id,
                payload,
                invoked_function_arn: resolved.invoked_function_arn,
                client_context,
                tail_log,
            };
            let spec = Arc::new(resolved.spec);
            let result = state.executor.invoke(spec, request).await?;
            let mut response = (StatusCode::OK, result.payload).into_response();
            let out = response.headers_mut();
            out.insert("content-type", HeaderValue::from_static("application/json"));
            if let Ok(v) = HeaderValue::from_str(&executed_version) {
                out.insert("x-amz-executed-version", v);
            }
            if result.function_error {
                out.insert(
                    "x-amz-function-error",
                    HeaderValue::from_static("Unhandled"),
                );
            }
            if let Some(tail) = result
                .log_result
                .and_then(|t| HeaderValue::from_str(&t).ok())
            {
                out.insert("x-amz-log-result", tail);
            }
            Ok(response)
        }
    }
}

/// The event as sent, checked to be JSON (an empty body is `{}`).
pub(super) fn json_payload(payload: bytes::Bytes) -> Result<bytes::Bytes, ApiError> {
    if payload.iter().all(u8::is_ascii_whitespace) {
        return Ok(bytes::Bytes::from_static(b"{}"));
    }
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&payload) {
        return Err(ApiError(LambdaError::InvalidRequestContent(format!(
            "Could not parse request body into json: Could not parse payload into json: {e}"
        ))));
    }
    Ok(payload)
}

/// `X-Amz-Client-Context` is base64 of a JSON document; runtimes get the JSON text.
/// `X-Amz-Log-Type`: whether the caller asked for the log's tail (`Tail`; default `None`).
pub(super) fn tail_log(headers: &HeaderMap) -> Result<bool, ApiError> {
    match header(headers, "x-amz-log-type").unwrap_or("None") {
        "None" => Ok(false),
        "Tail" => Ok(true),
        other => Err(ApiError(validation::single(
            "logType",
            other,
            Constraint::Enum(vec!["None", "Tail"]),
        ))),
    }
}

/// `X-Amz-Client-Context`, decoded, when sent.
pub(super) fn client_context(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    header(headers, "x-amz-client-context")
        .map(decode_client_context)
        .transpose()
}

fn decode_client_context(raw: &str) -> Result<String, ApiError> {
    let invalid = || {
        ApiError(LambdaError::InvalidParameterValue(
            "Client context must be a valid Base64-encoded JSON object.".to_owned(),
        ))
    };
    if raw.len() > MAX_CLIENT_CONTEXT_CHARS {
        return Err(ApiError(validation::single(
            "clientContext",
            raw,
            Constraint::MaxLength(MAX_CLIENT_CONTEXT_CHARS),
        )));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(raw)
        .map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    serde_json::from_str::<serde::de::IgnoredAny>(&text).map_err(|_| invalid())?;
    Ok(text)
}

#[cfg(test)]
mod tests;

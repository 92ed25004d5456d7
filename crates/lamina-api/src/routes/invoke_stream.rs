//! `POST /2021-11-15/functions/{name}/response-streaming-invocations`:
//! InvokeWithResponseStream, the function's response as an event stream of `PayloadChunk`s
//! (as the runtime writes them; a buffered response is one chunk) ended by `InvokeComplete`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Extension, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use lamina_exec::runtime_api::StreamPart;
use lamina_exec::{InvokeRequest, InvokeResult};
use lamina_types::LambdaError;
use lamina_types::limits::MAX_SYNC_PAYLOAD_BYTES;
use lamina_types::validation::{self, Constraint};
use tokio::sync::mpsc;

use super::extract::PathArgs;
use super::invoke::{client_context, header, json_payload, tail_log};
use crate::body::read_limited;
use crate::eventstream;
use crate::request_context::{RequestContext, RequestId};
use crate::streamed_invoke::{Begun, begin, channel_body, finished};
use crate::{ApiError, AppState};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route(
        "/2021-11-15/functions/{name}/response-streaming-invocations",
        post(invoke_with_response_stream),
    )
}

/// `InvokeWithResponseStream`: `RequestResponse` (200, an event stream) or `DryRun` (204).
async fn invoke_with_response_stream(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Extension(RequestId(request_id)): Extension<RequestId>,
    PathArgs(name): PathArgs<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let dry_run = match header(&headers, "x-amz-invocation-type").unwrap_or("RequestResponse") {
        "RequestResponse" => false,
        "DryRun" => true,
        other => {
            return Err(ApiError(validation::single(
                "invocationType",
                other,
                Constraint::Enum(vec!["RequestResponse", "DryRun"]),
            )));
        }
    };
    let tail_log = tail_log(&headers)?;
    let client_context = client_context(&headers)?;
    let payload = read_limited(
        &headers,
        body,
        MAX_SYNC_PAYLOAD_BYTES,
        "InvokeWithResponseStream",
    )
    .await
    .map_err(|e| match e {
        LambdaError::RequestEntityTooLarge(m) => LambdaError::RequestTooLarge(m),
        other => other,
    })?;
    let payload = json_payload(payload)?;
    let resolved = state
        .functions
        .resolve(
            &ctx.scope,
            &name,
            params.get("Qualifier").map(String::as_str),
        )
        .await?;
    if dry_run {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let executed_version = resolved.executed_version.clone();
    let request = InvokeRequest {
        request_id,
        payload,
        invoked_function_arn: resolved.invoked_function_arn,
        client_context,
        tail_log,
    };
    let spec = Arc::new(resolved.spec);
    let (tx, body) = channel_body();
    match begin(&state.executor, spec, request).await {
        // Lamina refused or failed the invocation before anything was sent: an API error.
        Begun::Finished(Err(e)) => return Err(ApiError(e)),
        Begun::Finished(Ok(result)) => {
            tokio::spawn(async move { finish(&tx, Ok(result)).await });
        }
        Begun::Streaming { parts, done, .. } => {
            tokio::spawn(async move {
                if forward(parts, &tx).await {
                    finish(&tx, finished(done).await).await;
                }
            });
        }
    }
    let mut response = (StatusCode::OK, body).into_response();
    let out = response.headers_mut();
    out.insert(
        "content-type",
        HeaderValue::from_static("application/vnd.amazon.eventstream"),
    );
    if let Ok(v) = HeaderValue::from_str(&executed_version) {
        out.insert("x-amz-executed-version", v);
    }
    Ok(response)
}

/// Sends each chunk of the stream as a `PayloadChunk`; `false` when the client left.
async fn forward(mut parts: mpsc::Receiver<StreamPart>, tx: &mpsc::Sender<Bytes>) -> bool {
    while let Some(part) = parts.recv().await {
        if let StreamPart::Chunk(chunk) = part
            && tx.send(eventstream::payload_chunk(&chunk)).await.is_err()
        {
            return false;
        }
    }
    true
}

/// Ends the event stream: a buffered response as its one `PayloadChunk`, then
/// `InvokeComplete` (with the function's error, or Lamina's, and the log tail when asked).
async fn finish(tx: &mpsc::Sender<Bytes>, result: Result<InvokeResult, LambdaError>) {
    let complete = match result {
        Ok(result) if result.function_error => {
            let (code, details) = error_code(&result.payload);
            eventstream::invoke_complete(Some(&code), Some(&details), result.log_result.as_deref())
        }
        Ok(result) => {
            if !result.payload.is_empty()
                && tx
                    .send(eventstream::payload_chunk(&result.payload))
                    .await
                    .is_err()
            {
                return;
            }
            eventstream::invoke_complete(None, None, result.log_result.as_deref())
        }
        // Guessed: a failure after the stream began (the server shutting down) is reported
        // in InvokeComplete as its exception name.
        Err(e) => eventstream::invoke_complete(Some(e.type_name()), Some(e.message()), None),
    };
    let _ = tx.send(complete).await;
}

/// `ErrorCode` and `ErrorDetails` of a function error. Guessed: the error document's
/// `errorType` and `errorMessage` (`Unhandled` and the document itself when it has none).
fn error_code(payload: &[u8]) -> (String, String) {
    let doc = serde_json::from_slice::<serde_json::Value>(payload).ok();
    let field = |name: &str| {
        doc.as_ref()
            .and_then(|d| d.get(name))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    (
        field("errorType").unwrap_or_else(|| "Unhandled".to_owned()),
        field("errorMessage").unwrap_or_else(|| String::from_utf8_lossy(payload).into_owned()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_document_names_the_code_and_details() {
        let (code, details) = error_code(br#"{"errorType":"ValueError","errorMessage":"bad"}"#);
        assert_eq!((code.as_str(), details.as_str()), ("ValueError", "bad"));
        let (code, details) = error_code(b"oops");
        assert_eq!((code.as_str(), details.as_str()), ("Unhandled", "oops"));
    }

    #[tokio::test]
    async fn a_buffered_response_is_one_chunk_then_complete() {
        let (tx, mut rx) = mpsc::channel(4);
        let result = InvokeResult {
            payload: Bytes::from_static(b"{\"a\":1}"),
            function_error: false,
            log_result: None,
        };
        finish(&tx, Ok(result)).await;
        drop(tx);
        assert_eq!(
            rx.recv().await,
            Some(eventstream::payload_chunk(b"{\"a\":1}"))
        );
        assert_eq!(
            rx.recv().await,
            Some(eventstream::invoke_complete(None, None, None))
        );
        assert_eq!(rx.recv().await, None);
    }
}

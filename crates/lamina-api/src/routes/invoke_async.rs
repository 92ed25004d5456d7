//! `POST /2014-11-13/functions/{name}/invoke-async`: InvokeAsync, the deprecated form of an
//! `Event` invocation.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use lamina_events::EventInvocation;
use lamina_types::limits::MAX_ASYNC_PAYLOAD_BYTES;

use super::extract::PathArgs;
use super::invoke::json_payload;
use super::wire::json_response;
use crate::body::read_limited;
use crate::request_context::{RequestContext, RequestId};
use crate::{ApiError, AppState};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route(
        "/2014-11-13/functions/{name}/invoke-async",
        post(invoke_async),
    )
}

/// `InvokeAsync`: queues the event as Invoke with `InvocationType: Event` does, on
/// `$LATEST` (the operation has no qualifier); 202 `{"Status": 202}`.
async fn invoke_async(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Extension(RequestId(request_id)): Extension<RequestId>,
    PathArgs(name): PathArgs<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let payload = read_limited(&headers, body, MAX_ASYNC_PAYLOAD_BYTES, "InvokeAsync").await?;
    let payload = json_payload(payload)?;
    let resolved = state.functions.resolve(&ctx.scope, &name, None).await?;
    let event = EventInvocation {
        request_id,
        scope: ctx.scope,
        function: resolved,
        payload,
        client_context: None,
    };
    state.events.accept(event).await?;
    Ok(json_response(
        StatusCode::ACCEPTED,
        &serde_json::json!({ "Status": 202 }),
    ))
}

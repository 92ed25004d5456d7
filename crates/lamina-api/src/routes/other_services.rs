//! `POST /`: the services other than Lambda that share the endpoint. CloudWatch Logs requests
//! name their operation in `X-Amz-Target: Logs_20140328.<Op>` (awsJson 1.1); STS requests in
//! the form field `Action` of their body (query protocol). Anything else at `POST /` is no
//! operation: Lambda's `UnknownOperationException`.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use lamina_types::LambdaError;

use super::{logs, sts};
use crate::body::read_limited;
use crate::request_context::{RequestContext, RequestId};
use crate::{ApiError, AppState};

/// Most bytes of a Logs or STS request body (their largest requests are a few KB): the limit
/// the authentication middleware applies to every path without one of its own.
const MAX_BODY_BYTES: u64 = lamina_types::limits::MAX_SMALL_BODY_BYTES;

/// The prefix of CloudWatch Logs' `X-Amz-Target`.
const LOGS_TARGET_PREFIX: &str = "Logs_20140328.";

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/", post(dispatch))
}

/// Hands a `POST /` to the service it addresses.
async fn dispatch(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let request_id = parts
        .extensions
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let caller = parts.extensions.get::<crate::Caller>().cloned();
    let body = match read_body(&parts.headers, body).await {
        Ok(body) => body,
        Err(e) => return ApiError(e).into_response(),
    };
    if let Some(target) = header(&parts.headers, "x-amz-target") {
        return match target.strip_prefix(LOGS_TARGET_PREFIX) {
            Some(operation) => logs::serve(&state, &ctx, operation, &body).await,
            None => unknown(),
        };
    }
    if sts::is_sts_request(&parts.method, parts.uri.path(), &parts.headers) {
        return sts::serve(&ctx, caller.as_ref(), &request_id, &body);
    }
    unknown()
}

async fn read_body(headers: &HeaderMap, body: Body) -> Result<Bytes, LambdaError> {
    // Worded as the authentication middleware words it for this path.
    read_limited(headers, body, MAX_BODY_BYTES, "requested").await
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn unknown() -> Response {
    ApiError(LambdaError::UnknownOperation(
        "Unknown operation.".to_owned(),
    ))
    .into_response()
}

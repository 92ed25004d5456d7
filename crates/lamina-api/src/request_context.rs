//! Per-request facts every handler needs: the region (from the SigV4 credential scope, or
//! the server default when unsigned), the host the client addressed, and who signed.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use lamina_types::{LambdaError, Region, Scope};

use crate::sigv4::{Caller, parse_authorization};
use crate::{ApiError, AppState};

/// The scope and host of one request.
pub struct RequestContext {
    /// Where the request acts: the account of its verified key (the server's default account
    /// under `--auth none`) and the region of its credential scope (the server's default
    /// region when unsigned).
    pub scope: Scope,
    /// `Host` as the client sent it, for URLs that point back at this server.
    pub host: String,
}

impl FromRequestParts<Arc<AppState>> for RequestContext {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        // A verified request (`--auth sigv4`) carries its [`Caller`]: the region of its
        // credential scope and its key's account, where all its ARNs live.
        let caller = parts.extensions.get::<Caller>();
        let account = caller.map_or_else(|| state.default_account.clone(), |c| c.account.clone());
        let scope_region = caller.map(|c| c.region.clone());
        let region = match (scope_region, parts.headers.get(header::AUTHORIZATION)) {
            (Some(region), _) => Region::parse(&region).ok_or_else(|| {
                LambdaError::IncompleteSignature(format!(
                    "Credential should be scoped to a valid region, not '{region}'."
                ))
            })?,
            (None, None) => state.default_region.clone(),
            (None, Some(value)) => {
                let text = value.to_str().map_err(|_| {
                    LambdaError::IncompleteSignature("Authorization header is not ASCII.".into())
                })?;
                let auth = parse_authorization(text)
                    .map_err(|e| LambdaError::IncompleteSignature(e.to_string()))?;
                Region::parse(auth.region).ok_or_else(|| {
                    LambdaError::IncompleteSignature(format!(
                        "Credential should be scoped to a valid region, not '{}'.",
                        auth.region
                    ))
                })?
            }
        };
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| is_plain_host(h))
            .unwrap_or("localhost")
            .to_owned();
        Ok(Self {
            scope: Scope::new(account, region),
            host,
        })
    }
}

/// Host names and `ip:port` only, so nothing odd is echoed into a URL.
fn is_plain_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 255
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
}

/// The request id of one API call, as its response's `x-amzn-RequestId` carries it. For
/// Invoke it is also the invocation's request id (the handler's `context.aws_request_id`).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Gives every response an `x-amzn-RequestId` and runs the request inside a span with it;
/// handlers read the same id as a [`RequestId`] extension.
pub async fn request_id(mut request: Request, next: Next) -> Response {
    let id = uuid::Uuid::new_v4().to_string();
    request.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path()
    );
    let mut response = tracing::Instrument::instrument(next.run(request), span).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-amzn-RequestId", value);
    }
    response
}

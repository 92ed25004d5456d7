//! Authentication of every API request: SigV4 verified against the server's access keys
//! (`--auth sigv4`, the default), or nothing checked (`--auth none`, for throwaway local use).
//!
//! The signature covers the body's hash, so a signed request's body is read here, before the
//! handler, within the largest request size of any operation, and handed on as read; the
//! handler then applies its own operation's limit to it as before. A body declared larger than
//! that is refused before any of it is read. The verified [`Caller`] (its key's account) rides
//! on the request as an extension: the seam through which ARNs will follow the caller's account.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use lamina_types::LambdaError;
use lamina_types::limits::MAX_REQUEST_BODY_BYTES;
use time::OffsetDateTime;

use crate::body::read_limited;
use crate::sigv4::canonical::Received;
use crate::sigv4::{Caller, CredentialStore, signature_of, verify};
use crate::{ApiError, AppState};

/// How requests are authenticated.
#[derive(Clone)]
pub enum AuthMode {
    /// Every request must carry a valid SigV4 signature by a known key.
    SigV4(Arc<dyn CredentialStore>),
    /// Any request is accepted, signed or not, as by the same account.
    None,
}

impl AuthMode {
    /// `sigv4` or `none`, as `/_lamina/health` reports it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::SigV4(_) => "sigv4",
            Self::None => "none",
        }
    }
}

/// Lamina's own paths that are not AWS operations: the health check, and content downloads,
/// which carry their own signed, expiring token.
fn is_exempt(path: &str) -> bool {
    path == "/_lamina/health" || path.starts_with("/_lamina/content/")
}

/// The operation named in a 413 for a body over every operation's limit: those that take
/// the largest bodies (a ZIP inline), else a generic name.
fn large_body_operation(method: &Method, path: &str) -> &'static str {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (&Method::POST, ["", "2015-03-31", "functions"]) => "CreateFunction",
        (&Method::PUT, ["", "2015-03-31", "functions", _, "code"]) => "UpdateFunctionCode",
        (&Method::POST, ["", "2018-10-31", "layers", _, "versions"]) => "PublishLayerVersion",
        (&Method::POST, ["", "2015-03-31", "functions", _, "invocations"]) => "InvokeFunction",
        _ => "requested",
    }
}

/// The middleware: verifies the request's signature (when SigV4 is on) and passes it on with
/// its [`Caller`], or answers AWS's 403 for it.
pub async fn authenticate(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let AuthMode::SigV4(store) = &state.auth else {
        return next.run(request).await;
    };
    if is_exempt(request.uri().path()) {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    match verified(&parts, body, store.as_ref()).await {
        Ok((caller, bytes)) => {
            parts.extensions.insert(caller);
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(e) => ApiError(e).into_response(),
    }
}

/// The caller of a signed request and its body, read whole.
async fn verified(
    parts: &axum::http::request::Parts,
    body: Body,
    store: &dyn CredentialStore,
) -> Result<(Caller, bytes::Bytes), LambdaError> {
    let signature = signature_of(
        parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .map(|v| v.as_bytes()),
        parts.uri.query(),
    )?
    .ok_or_else(|| {
        LambdaError::MissingAuthenticationToken("Missing Authentication Token".into())
    })?;
    // An unknown key is refused before its body is read.
    if store.lookup(&signature.access_key).is_none() {
        return Err(LambdaError::UnrecognizedClient(
            "The security token included in the request is invalid.".into(),
        ));
    }
    let path = parts.uri.path();
    let operation = large_body_operation(&parts.method, path);
    let bytes = read_limited(&parts.headers, body, MAX_REQUEST_BODY_BYTES, operation).await?;
    let received = Received {
        method: parts.method.as_str(),
        path,
        query: parts.uri.query(),
        headers: &parts.headers,
    };
    let caller = verify(
        &received,
        &bytes,
        &signature,
        store,
        OffsetDateTime::now_utc(),
    )?;
    Ok((caller, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_bodies_name_their_operation() {
        let op = |m: Method, p: &str| large_body_operation(&m, p);
        assert_eq!(op(Method::POST, "/2015-03-31/functions"), "CreateFunction");
        assert_eq!(op(Method::POST, "/2015-03-31/functions/"), "CreateFunction");
        assert_eq!(
            op(Method::PUT, "/2015-03-31/functions/f/code"),
            "UpdateFunctionCode"
        );
        assert_eq!(
            op(Method::POST, "/2018-10-31/layers/l/versions"),
            "PublishLayerVersion"
        );
        assert_eq!(
            op(Method::GET, "/2018-10-31/layers/l/versions"),
            "requested"
        );
    }

    #[test]
    fn only_lamina_paths_are_exempt() {
        assert!(is_exempt("/_lamina/health"));
        assert!(is_exempt("/_lamina/content/sha256/ab"));
        assert!(!is_exempt("/2015-03-31/functions"));
        assert!(!is_exempt("/_lamina/healthz"));
    }
}

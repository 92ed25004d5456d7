//! Authentication of every API request: SigV4 verified against the server's access keys
//! (`--auth sigv4`, the default), or nothing checked (`--auth none`, for throwaway local use).
//!
//! The signature covers the body's hash, so a signed request's body is read here, before the
//! handler, within its operation's own limit (known from the method and path: [`body_limit`])
//! and handed on as read; a body declared larger is refused with the operation's 413 before
//! any of it is read. Signing keys are derived once per key and day ([`SigningKeys`]). The verified [`Caller`] (its key's account) rides
//! on the request as an extension: the seam through which ARNs will follow the caller's account.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use lamina_types::LambdaError;
use time::OffsetDateTime;

use crate::body::read_limited;
use crate::body_limit::body_limit;
use crate::request_context::RequestId;
use crate::sigv4::canonical::Received;
use crate::sigv4::{Caller, CredentialStore, SigningKeys, signature_of, verify};
use crate::{ApiError, AppState};

/// How requests are authenticated.
#[derive(Clone)]
pub enum AuthMode {
    /// Every request must carry a valid SigV4 signature by a known key.
    SigV4(SigV4Keys),
    /// Any request is accepted, signed or not, as by the same account.
    None,
}

/// What SigV4 verification needs: the access keys, and the signing keys derived from them.
#[derive(Clone)]
pub struct SigV4Keys {
    store: Arc<dyn CredentialStore>,
    signing_keys: Arc<SigningKeys>,
}

impl SigV4Keys {
    /// The access keys (the console's sign-in checks a secret against them).
    pub(crate) fn store(&self) -> &dyn CredentialStore {
        self.store.as_ref()
    }

    /// The signing keys derived so far (function URLs with `AWS_IAM` verify with them too).
    pub(crate) fn signing_keys(&self) -> &SigningKeys {
        &self.signing_keys
    }
}

impl AuthMode {
    /// SigV4 enforced against the keys of `store`.
    pub fn sigv4(store: Arc<dyn CredentialStore>) -> Self {
        Self::SigV4(SigV4Keys {
            store,
            signing_keys: Arc::new(SigningKeys::default()),
        })
    }

    /// `sigv4` or `none`, as `/_lamina/health` reports it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::SigV4(_) => "sigv4",
            Self::None => "none",
        }
    }
}

/// Lamina's own paths that are not AWS operations: the health check, content downloads, which
/// carry their own signed, expiring token, and the console, which has its own sign-in. `POST /`
/// is not the console's: it carries the CloudWatch Logs and STS operations, signed. The
/// internal endpoints between nodes (`/_lamina/node/`) check the cluster's own token instead.
fn is_exempt(method: &axum::http::Method, path: &str) -> bool {
    if path == "/" && method == axum::http::Method::POST {
        return false;
    }
    path == "/_lamina/health"
        || path.starts_with("/_lamina/content/")
        || path.starts_with("/_lamina/node/")
        || crate::console::is_console_path(path)
}

/// The middleware: verifies the request's signature (when SigV4 is on) and passes it on with
/// its [`Caller`], or answers AWS's 403 for it.
pub async fn authenticate(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let AuthMode::SigV4(keys) = &state.auth else {
        return next.run(request).await;
    };
    if is_exempt(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    match verified(&parts, body, keys).await {
        Ok((caller, bytes)) => {
            parts.extensions.insert(caller);
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(e)
            if crate::routes::sts::is_sts_request(
                &parts.method,
                parts.uri.path(),
                &parts.headers,
            ) =>
        {
            let request_id = parts
                .extensions
                .get::<RequestId>()
                .map_or("", |r| r.0.as_str());
            crate::routes::sts::refused(&e, request_id)
        }
        Err(e) => ApiError(e).into_response(),
    }
}

/// The caller of a signed request and its body, read whole.
async fn verified(
    parts: &axum::http::request::Parts,
    body: Body,
    keys: &SigV4Keys,
) -> Result<(Caller, bytes::Bytes), LambdaError> {
    let store = keys.store.as_ref();
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
    // An unknown key is refused before its body is read. Looking it up fresh fills the
    // cache that `verify` reads below.
    if store.lookup_fresh(&signature.access_key).await.is_none() {
        return Err(LambdaError::UnrecognizedClient(
            "The security token included in the request is invalid.".into(),
        ));
    }
    let path = parts.uri.path();
    let limit = body_limit(&parts.method, path, &parts.headers);
    let bytes = read_limited(&parts.headers, body, limit.bytes, limit.operation)
        .await
        .map_err(|e| limit.refusal(e))?;
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
        &keys.signing_keys,
        OffsetDateTime::now_utc(),
    )?;
    Ok((caller, bytes))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use axum::http::{HeaderValue, header};
    use lamina_types::AccountId;

    use super::*;
    use crate::Credential;

    const KEY: &str = "AKIDLAMINATEST000000";

    struct OneKey;

    impl CredentialStore for OneKey {
        fn lookup(&self, access_key_id: &str) -> Option<Credential> {
            let account = AccountId::parse("123456789012")?;
            (access_key_id == KEY).then(|| Credential {
                secret: "s".into(),
                account,
                session_token: None,
            })
        }
    }

    /// A signed-looking (by a known key) request of `method` `path` with `headers` and an
    /// endless body; gives the refusal and how much body was read.
    async fn refused(method: &str, path: &str, headers: &[(&str, &str)]) -> (LambdaError, u64) {
        let mut request = Request::builder().method(method).uri(path).header(
            header::AUTHORIZATION,
            format!(
                "AWS4-HMAC-SHA256 Credential={KEY}/20261125/us-west-2/lambda/aws4_request, \
                 SignedHeaders=host;x-amz-date, Signature=00"
            ),
        );
        for (name, value) in headers {
            request = request.header(*name, HeaderValue::from_str(value).unwrap());
        }
        let (body, read) = crate::body::test_bodies::endless(65_536);
        let (parts, _) = request.body(()).unwrap().into_parts();
        let AuthMode::SigV4(keys) = AuthMode::sigv4(Arc::new(OneKey)) else {
            unreachable!()
        };
        let err = verified(&parts, body, &keys).await.unwrap_err();
        (err, read.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn an_invoke_body_is_refused_at_invokes_limit_not_the_largest() {
        let path = "/2015-03-31/functions/f/invocations";
        let (err, read) = refused("POST", path, &[]).await;
        assert_eq!(err.type_name(), "RequestTooLargeException");
        assert_eq!(
            err.message(),
            "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
        );
        assert!(read <= 6_291_456 + 65_536, "{read}");
        let (err, read) = refused("POST", path, &[("x-amz-invocation-type", "Event")]).await;
        assert_eq!(err.type_name(), "RequestTooLargeException");
        assert!(read <= 1_048_576 + 65_536, "{read}");
        // A declared length over the limit is refused before any of the body is read.
        let (err, read) = refused("POST", path, &[("content-length", "7000000")]).await;
        assert_eq!(err.type_name(), "RequestTooLargeException");
        assert_eq!(read, 0);
    }

    #[tokio::test]
    async fn other_bodies_are_refused_at_their_operations_limit() {
        let (err, read) = refused(
            "POST",
            "/2018-10-31/layers/l/versions",
            &[("content-length", "80000000")],
        )
        .await;
        assert_eq!(err.type_name(), "RequestEntityTooLargeException");
        assert_eq!(
            err.message(),
            "Request must be smaller than 70167211 bytes for the PublishLayerVersion operation"
        );
        assert_eq!(read, 0);
        let (err, read) = refused("GET", "/2015-03-31/functions", &[]).await;
        assert_eq!(err.type_name(), "RequestEntityTooLargeException");
        assert!(read <= 262_144 + 65_536, "{read}");
    }

    #[test]
    fn only_lamina_paths_are_exempt() {
        use axum::http::Method;
        assert!(is_exempt(&Method::GET, "/_lamina/health"));
        assert!(is_exempt(&Method::GET, "/_lamina/content/sha256/ab"));
        assert!(!is_exempt(&Method::GET, "/2015-03-31/functions"));
        assert!(!is_exempt(&Method::GET, "/_lamina/healthz"));
        // The console's page, but not the Logs and STS operations at the same path.
        assert!(is_exempt(&Method::GET, "/"));
        assert!(!is_exempt(&Method::POST, "/"));
    }
}

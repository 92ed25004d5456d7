//! Function URLs served as HTTP endpoints, on the API's own port, in two forms:
//! - by host name: `Host: <url-id>.lambda-url.<region>.<anything>` (e.g. `….localhost`, which
//!   curl and browsers resolve to loopback, or any name with `curl --resolve`/`-H Host:`);
//! - by path prefix: `http://<server>/_lamina/url/<url-id>/<path>`, which needs no name at
//!   all (the form the API answers as `FunctionUrl`).
//!
//! A request becomes AWS's payload format 2.0 event (`event.rs`), the function runs in its
//! owner's account, and its result becomes the response (`answer.rs`), buffered or streamed
//! (`streamed.rs`), with CORS as configured (`cors.rs`). `AuthType` `NONE` URLs take
//! unsigned requests, so these requests are answered before the API's authentication;
//! `AWS_IAM` URLs verify the SigV4 signature (service `lambda`) here.

mod answer;
mod cors;
mod event;
mod streamed;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, Version, header};
use axum::middleware::Next;
use axum::response::Response;
use lamina_exec::InvokeRequest;
use lamina_types::LambdaError;
use lamina_types::function_url::{FunctionUrlRecord, UrlAuthType, UrlInvokeMode, is_url_id};
use lamina_types::limits::MAX_SYNC_PAYLOAD_BYTES;
use lamina_types::timestamp::now_millis;
use time::OffsetDateTime;

use crate::AppState;
use crate::auth::AuthMode;
use crate::body::read_limited;
use crate::request_context::RequestId;
use crate::sigv4::canonical::Received;
use crate::sigv4::{Caller, signature_of, verify};
use crate::streamed_invoke::{Begun, begin};

/// The path prefix of the path form.
pub const PATH_PREFIX: &str = "/_lamina/url/";
/// The label after the URL id in the host-name form.
const HOST_LABEL: &str = "lambda-url";

/// The URL a request addresses.
struct Target {
    url_id: String,
    /// The path below the URL.
    raw_path: String,
    /// Whether it came by path prefix (else by host name).
    by_path: bool,
}

/// The URL `request` addresses, if it addresses one.
fn target(request: &Request) -> Option<Target> {
    let path = request.uri().path();
    if let Some(rest) = path.strip_prefix(PATH_PREFIX) {
        let (id, below) = match rest.split_once('/') {
            Some((id, below)) => (id, format!("/{below}")),
            None => (rest, "/".to_owned()),
        };
        return Some(Target {
            url_id: id.to_owned(),
            raw_path: below,
            by_path: true,
        });
    }
    let host = request.headers().get(header::HOST)?.to_str().ok()?;
    let mut labels = host.split('.');
    let id = labels.next()?;
    (labels.next() == Some(HOST_LABEL) && is_url_id(id)).then(|| Target {
        url_id: id.to_owned(),
        raw_path: path.to_owned(),
        by_path: false,
    })
}

/// The middleware: a request to a function URL is served here; any other goes on to the API.
pub async fn dispatch(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    match target(&request) {
        Some(target) => serve(&state, target, request).await,
        None => next.run(request).await,
    }
}

fn forbidden() -> Response {
    answer::message(StatusCode::FORBIDDEN, "Forbidden")
}

/// Serves one request to a function URL.
async fn serve(state: &AppState, target: Target, request: Request) -> Response {
    if !is_url_id(&target.url_id) {
        return forbidden();
    }
    let (record, resolved) = match state.functions.resolve_url(&target.url_id).await {
        Ok(Some(found)) => found,
        // AWS answers an unknown URL as a refused one.
        Ok(None) => return forbidden(),
        Err(e) => return refused(&e),
    };
    let (parts, body) = request.into_parts();
    if let Some(cors) = &record.cors
        && cors::is_preflight(&parts.method, &parts.headers)
    {
        return cors::preflight(cors, &parts.headers);
    }
    // An unsigned request to an `AWS_IAM` URL is refused before its body is read.
    if record.auth_type == UrlAuthType::AwsIam
        && matches!(state.auth, AuthMode::SigV4(_))
        && signature(&parts).is_none()
    {
        return forbidden();
    }
    let body = match read_limited(&parts.headers, body, MAX_SYNC_PAYLOAD_BYTES, "Invoke").await {
        Ok(body) => body,
        Err(_) => {
            return answer::message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
        }
    };
    let caller = match record.auth_type {
        UrlAuthType::None => None,
        UrlAuthType::AwsIam => match signed_caller(state, &record, &parts, &body).await {
            Ok(caller) => caller,
            Err(Refused) => return forbidden(),
        },
    };
    let (request_id, event) = request_event(&target, &record, &parts, &body, caller.as_ref());
    let invoke = InvokeRequest {
        request_id,
        payload: event.to_string().into(),
        invoked_function_arn: resolved.invoked_function_arn,
        client_context: None,
        tail_log: false,
    };
    let spec = Arc::new(resolved.spec);
    let mut response = run(state, record.invoke_mode, spec, invoke).await;
    if let Some(cors) = &record.cors {
        cors::decorate(cors, &parts.headers, response.headers_mut());
    }
    response
}

/// Runs the invocation and gives its response, buffered or streamed as the URL's mode says.
async fn run(
    state: &AppState,
    mode: UrlInvokeMode,
    spec: Arc<lamina_types::FunctionSpec>,
    invoke: InvokeRequest,
) -> Response {
    match mode {
        UrlInvokeMode::Buffered => buffered(state.executor.invoke(spec, invoke).await),
        UrlInvokeMode::ResponseStream => match begin(&state.executor, spec, invoke).await {
            Begun::Streaming {
                content_type,
                parts: stream,
                done,
            } => {
                // The end of the invocation is not waited for: the body ends with the stream.
                drop(done);
                streamed::respond(content_type, stream).await
            }
            Begun::Finished(result) => buffered(result),
        },
    }
}

/// The request id of a request to a URL and the payload format 2.0 event it becomes.
fn request_event(
    target: &Target,
    record: &FunctionUrlRecord,
    parts: &axum::http::request::Parts,
    body: &[u8],
    caller: Option<&Caller>,
) -> (String, serde_json::Value) {
    let request_id = parts
        .extensions
        .get::<RequestId>()
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), |r| r.0.clone());
    let source_ip = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "127.0.0.1".to_owned(), |c| c.0.ip().to_string());
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    // Guessed: in the path form the domain is the host-name form's, so handlers that build
    // links from `domainName` get one that reaches the same URL on this server.
    let domain_name = if target.by_path {
        let port = host.rsplit_once(':').map(|(_, p)| format!(":{p}"));
        format!(
            "{}.{HOST_LABEL}.{}.localhost{}",
            record.url_id,
            record.scope.region,
            port.unwrap_or_default()
        )
    } else {
        host.to_owned()
    };
    let protocol = match parts.version {
        Version::HTTP_10 => "HTTP/1.0",
        _ => "HTTP/1.1",
    };
    let iam = caller.map(|c| (c.access_key_id.as_str(), c.account.as_str()));
    let source = event::EventSource {
        method: &parts.method,
        raw_path: &target.raw_path,
        raw_query: parts.uri.query(),
        protocol,
        source_ip: &source_ip,
        account_id: record.scope.account.as_str(),
        url_id: &record.url_id,
        domain_name: &domain_name,
        request_id: &request_id,
        epoch_millis: now_millis(),
        iam,
    };
    let event = event::event(&source, &parts.headers, body);
    (request_id, event)
}

/// The response of a buffered result.
fn buffered(result: Result<lamina_exec::InvokeResult, LambdaError>) -> Response {
    let result = match result {
        Ok(result) => result,
        Err(e) => return refused(&e),
    };
    if result.function_error {
        return answer::bad_gateway();
    }
    match answer::from_result(&result.payload) {
        Some((head, body)) => head.respond(Body::from(body)),
        None => answer::bad_gateway(),
    }
}

/// How Lamina's refusal of an invocation (throttling, a function not ready) answers.
fn refused(e: &LambdaError) -> Response {
    match e {
        LambdaError::TooManyRequests { .. } => {
            answer::message(StatusCode::TOO_MANY_REQUESTS, "Rate Exceeded.")
        }
        LambdaError::ResourceNotFound(_) => forbidden(),
        other => {
            let status =
                StatusCode::from_u16(other.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            answer::message(status, other.message())
        }
    }
}

/// The SigV4 signature a request carries (header or presigned query), if a well-formed one.
fn signature(parts: &axum::http::request::Parts) -> Option<crate::sigv4::Signature> {
    signature_of(
        parts
            .headers
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes()),
        parts.uri.query(),
    )
    .ok()
    .flatten()
}

/// A request to an `AWS_IAM` URL that is not signed by a key allowed to call it: AWS
/// answers 403 `Forbidden` whatever the reason, so none is kept.
struct Refused;

/// Checks the SigV4 signature of a request to an `AWS_IAM` URL: signed for service `lambda`
/// by a known key of the URL's own account. `Ok(None)` when the server authenticates nothing
/// (`--auth none`: every request is the default account's).
///
/// Another account is admitted when the function's policy (the URL's alias's, if any) lets it
/// (`lambda:InvokeFunctionUrl`), as on AWS.
async fn signed_caller(
    state: &AppState,
    record: &FunctionUrlRecord,
    parts: &axum::http::request::Parts,
    body: &[u8],
) -> Result<Option<Caller>, Refused> {
    let AuthMode::SigV4(keys) = &state.auth else {
        return Ok(None);
    };
    let signature = signature(parts).ok_or(Refused)?;
    if signature.service != "lambda" {
        return Err(Refused);
    }
    // Fills the cache `verify` reads, re-reading it for a key new to this node.
    keys.store().lookup_fresh(&signature.access_key).await;
    let received = Received {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query(),
        headers: &parts.headers,
    };
    let caller = verify(
        &received,
        body,
        &signature,
        keys.store(),
        keys.signing_keys(),
        OffsetDateTime::now_utc(),
    )
    .map_err(|e| {
        tracing::debug!(
            error = e.message(),
            "a function URL request's signature was refused"
        );
        Refused
    })?;
    if caller.account != record.scope.account {
        state
            .functions
            .authorize_url_invoke(
                &record.scope,
                &record.function_name,
                record.qualifier.as_deref(),
                &caller.account,
            )
            .await
            .map_err(|e| {
                tracing::debug!(error = e.message(), "a function URL request was refused");
                Refused
            })?;
    }
    Ok(Some(caller))
}

/// The `FunctionUrl` the API answers for a URL: the path form on the host the client used
/// to reach the API, so it works as it is with curl.
pub fn function_url(host: &str, url_id: &str) -> String {
    format!("http://{host}{PATH_PREFIX}{url_id}/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(host: &str, path: &str) -> Request {
        Request::builder()
            .uri(path)
            .header(header::HOST, host)
            .body(Body::empty())
            .unwrap()
    }

    const ID: &str = "abcdefghijklmnopqrstuvwxyz012345";

    #[test]
    fn both_forms_address_a_url() {
        let t = target(&request(
            "127.0.0.1:9000",
            &format!("/_lamina/url/{ID}/a/b?x=1"),
        ))
        .unwrap();
        assert_eq!(
            (t.url_id.as_str(), t.raw_path.as_str(), t.by_path),
            (ID, "/a/b", true)
        );
        let t = target(&request("127.0.0.1:9000", &format!("/_lamina/url/{ID}"))).unwrap();
        assert_eq!(t.raw_path, "/");
        let host = format!("{ID}.lambda-url.us-east-1.localhost:9000");
        let t = target(&request(&host, "/x")).unwrap();
        assert_eq!(
            (t.url_id.as_str(), t.raw_path.as_str(), t.by_path),
            (ID, "/x", false)
        );
    }

    #[test]
    fn api_requests_are_not_urls() {
        assert!(target(&request("127.0.0.1:9000", "/2015-03-31/functions")).is_none());
        assert!(target(&request("lambda.us-east-1.amazonaws.com", "/")).is_none());
        assert!(target(&request("short.lambda-url.x", "/")).is_none());
    }

    #[test]
    fn the_function_url_is_the_path_form() {
        assert_eq!(
            function_url("127.0.0.1:9000", ID),
            format!("http://127.0.0.1:9000/_lamina/url/{ID}/")
        );
    }
}

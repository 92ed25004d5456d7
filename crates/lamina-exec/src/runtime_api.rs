//! The Runtime API 2018-06-01 that runtimes poll for events. Each environment has its own
//! loopback listener, so `AWS_LAMBDA_RUNTIME_API` is a bare `host:port` as on AWS: real
//! clients (`lambda_runtime`, awslambdaric's init-error path) accept nothing else. An
//! environment's listener only ever serves that environment's invocations; other processes
//! on the host could still connect to it until environments get their own network namespace
//! (see the sandbox issue). No input makes a handler panic.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use tokio::sync::{mpsc, oneshot};

use crate::bounded_listener::{BoundedListener, Peer};

pub mod extensions;
mod streaming;
pub mod telemetry;

pub use extensions::{ExtensionFailure, Extensions, FunctionInfo};
pub use streaming::{MAX_STREAMED_RESPONSE_BYTES, ResponseSink, StreamPart};
pub use telemetry::Telemetry;

/// Largest response or error body a runtime may post (6 MiB + 100 bytes, as AWS).
pub const MAX_RESPONSE_BYTES: usize = 6_291_556;

/// One event handed to a runtime.
#[derive(Debug)]
pub struct Invocation {
    /// `Lambda-Runtime-Aws-Request-Id`.
    pub request_id: String,
    /// The event payload.
    pub payload: Bytes,
    /// `Lambda-Runtime-Invoked-Function-Arn`.
    pub invoked_function_arn: String,
    /// `Lambda-Runtime-Client-Context`, when the caller sent one.
    pub client_context: Option<String>,
    /// The function timeout; the deadline is counted from delivery.
    pub timeout: Duration,
    /// Told when the runtime takes the event, with the deadline it was given.
    pub delivered: oneshot::Sender<SystemTime>,
    /// Where the runtime's answer goes.
    pub reply: oneshot::Sender<Reply>,
    /// Where the chunks of a streamed response go as they come, for a caller that streams
    /// (`None`: a streamed response is gathered into [`Reply::Response`]).
    pub stream: Option<ResponseSink>,
}

/// What a runtime answered for one event, or for its init.
#[derive(Debug)]
pub enum Reply {
    /// `POST /runtime/invocation/{id}/response`.
    Response(Bytes),
    /// `POST /runtime/invocation/{id}/error` or `/runtime/init/error`.
    Error {
        /// `Lambda-Runtime-Function-Error-Type`, if sent.
        error_type: Option<String>,
        /// The error document, forwarded to the caller as the payload.
        body: Bytes,
        /// Whether it came from `/runtime/init/error`.
        init: bool,
    },
    /// The response was over [`MAX_RESPONSE_BYTES`].
    TooLarge,
}

struct InFlight {
    request_id: String,
    reply: oneshot::Sender<Reply>,
    stream: Option<ResponseSink>,
}

/// The Runtime API side of one environment.
pub struct EnvironmentLink {
    inbox: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    in_flight: Mutex<Option<InFlight>>,
    /// The runtime's pid, once started: only its process tree may use this listener.
    runtime_pid: std::sync::OnceLock<u32>,
    /// Client ports already verified as the runtime's (keep-alive connections).
    trusted_peers: Mutex<std::collections::HashSet<u16>>,
    /// The environment's external extensions (the Extensions API side).
    extensions: Extensions,
    /// Its Telemetry and Logs API subscribers.
    telemetry: Arc<Telemetry>,
    /// How its Init went: `None` while it runs, `Some(Ok)` once the runtime first waits in
    /// `next`, `Some(Err(error type))` when it posted an init error with no event waiting (an
    /// environment initialised ahead of its first invoke: provisioned concurrency).
    init: tokio::sync::watch::Sender<Option<Result<(), String>>>,
}

impl EnvironmentLink {
    /// A link and the sender the executor hands invocations to, with no extensions.
    pub fn new() -> (Arc<Self>, mpsc::Sender<Invocation>) {
        Self::with_extensions(Extensions::new(0, FunctionInfo::default()))
    }

    /// A link whose environment started `extensions`.
    pub fn with_extensions(extensions: Extensions) -> (Arc<Self>, mpsc::Sender<Invocation>) {
        Self::with_telemetry(extensions, Arc::default())
    }

    /// A link whose environment started `extensions`, with its `telemetry`.
    pub fn with_telemetry(
        extensions: Extensions,
        telemetry: Arc<Telemetry>,
    ) -> (Arc<Self>, mpsc::Sender<Invocation>) {
        let (tx, rx) = mpsc::channel(1);
        let link = Self {
            inbox: tokio::sync::Mutex::new(rx),
            in_flight: Mutex::new(None),
            runtime_pid: std::sync::OnceLock::new(),
            trusted_peers: Mutex::default(),
            extensions,
            telemetry,
            init: tokio::sync::watch::Sender::new(None),
        };
        (Arc::new(link), tx)
    }

    /// The environment's extensions.
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// The environment's telemetry.
    pub fn telemetry(&self) -> &Arc<Telemetry> {
        &self.telemetry
    }

    /// How its Init went, as it goes (see the field).
    pub fn init_watch(&self) -> tokio::sync::watch::Receiver<Option<Result<(), String>>> {
        self.init.subscribe()
    }

    /// Fails the invocation waiting for its first `next`, or the one in flight, with the
    /// extensions' failure (which resets the environment).
    fn fail_in_flight(&self) {
        let Some(Err(failure)) = self.extensions.settled() else {
            return;
        };
        let pending = match self.inbox.try_lock() {
            Ok(mut inbox) => inbox.try_recv().ok(),
            Err(_) => None,
        };
        if let Some(invocation) = pending {
            let _ = invocation.reply.send(failure.reply(&invocation.request_id));
            return;
        }
        let in_flight = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(in_flight) = in_flight {
            let _ = in_flight.reply.send(failure.reply(&in_flight.request_id));
        }
    }

    /// Records the runtime's pid; requests from other processes are refused from then on.
    pub fn set_runtime_pid(&self, pid: u32) {
        let _ = self.runtime_pid.set(pid);
    }

    /// Whether the connection from `peer` to `listener` is the runtime's own.
    fn is_runtime(&self, peer: SocketAddr, listener: SocketAddr) -> bool {
        let mut trusted = self
            .trusted_peers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if trusted.contains(&peer.port()) {
            return true;
        }
        let Some(pid) = self.runtime_pid.get() else {
            return false;
        };
        let owned = crate::peer::owned_by_tree(*pid, peer, listener);
        if owned {
            trusted.insert(peer.port());
        }
        owned
    }

    fn take_in_flight(&self, request_id: &str) -> Option<InFlight> {
        let mut slot = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match slot.as_ref() {
            Some(current) if current.request_id == request_id => slot.take(),
            _ => None,
        }
    }
}

/// The router of one environment, for tests and tools: no caller check.
pub fn router(link: Arc<EnvironmentLink>) -> Router {
    routes(link)
}

/// Most connections one environment may hold open to its Runtime API listener (each is a
/// descriptor of the server's): a runtime uses one or two, extensions one each.
pub const MAX_CONNECTIONS_PER_ENVIRONMENT: usize = 64;

/// Who may use an environment's Runtime API listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peers {
    /// Only the runtime's process tree, checked per connection: the listener is on the
    /// host's loopback, where any process can connect.
    RuntimeTreeOnly,
    /// Anyone who can connect: the listener is in the environment's own network namespace,
    /// where only the environment's processes are (and the host's `/proc/net` would not
    /// list their sockets anyway).
    AnyInNamespace,
}

/// Serves one environment's Runtime API on `listener`, refusing connections that do not
/// come from the environment's runtime process tree (with [`Peers::RuntimeTreeOnly`]), and
/// holding at most [`MAX_CONNECTIONS_PER_ENVIRONMENT`] of them open.
pub async fn serve(listener: tokio::net::TcpListener, link: Arc<EnvironmentLink>, peers: Peers) {
    let Ok(local) = listener.local_addr() else {
        return;
    };
    if peers == Peers::AnyInNamespace {
        serve_app(listener, routes(link)).await;
        return;
    }
    let guard_link = Arc::clone(&link);
    let app = routes(link).layer(axum::middleware::from_fn(
        move |ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
              request: axum::extract::Request,
              next: axum::middleware::Next| {
            let link = Arc::clone(&guard_link);
            async move {
                if link.is_runtime(peer, local) {
                    next.run(request).await
                } else {
                    api_error(
                        StatusCode::FORBIDDEN,
                        "AccessDenied",
                        "This Runtime API belongs to another execution environment",
                    )
                }
            }
        },
    ));
    serve_app(listener, app).await;
}

async fn serve_app(listener: tokio::net::TcpListener, app: Router) {
    let listener = BoundedListener::new(listener, MAX_CONNECTIONS_PER_ENVIRONMENT);
    let service = app.into_make_service_with_connect_info::<Peer>();
    if let Err(e) = axum::serve(listener, service).await {
        tracing::warn!(error = %e, "runtime API listener stopped");
    }
}

fn routes(link: Arc<EnvironmentLink>) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .route("/2020-01-01/extension/register", post(extensions::register))
        .route("/2020-01-01/extension/event/next", get(extensions::next))
        .route("/2020-01-01/extension/init/error", post(extensions::error))
        .route("/2020-01-01/extension/exit/error", post(extensions::error))
        .route("/2022-07-01/telemetry", put(telemetry::telemetry))
        .route("/2022-07-01/telemetry/", put(telemetry::telemetry))
        .route("/2020-08-15/logs", put(telemetry::logs))
        .route("/2020-08-15/logs/", put(telemetry::logs))
        .fallback(|| async { api_error(StatusCode::NOT_FOUND, "InvalidRequest", "Not found") })
        // Bodies are read by the handlers, so an oversize one still reaches the invoker.
        .layer(DefaultBodyLimit::disable())
        .with_state(link)
}

pub(crate) fn api_error(status: StatusCode, error_type: &str, message: &str) -> Response {
    let body = serde_json::json!({ "errorMessage": message, "errorType": error_type });
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn accepted() -> Response {
    (
        StatusCode::ACCEPTED,
        [("content-type", "application/json")],
        r#"{"status":"OK"}"#,
    )
        .into_response()
}

async fn next(State(link): State<Arc<EnvironmentLink>>) -> Response {
    if link
        .in_flight
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .is_some()
    {
        return api_error(
            StatusCode::FORBIDDEN,
            "InvalidStateTransition",
            "State transition from Invoking to Ready is not allowed: an invocation is in flight",
        );
    }
    let Ok(mut inbox) = link.inbox.try_lock() else {
        return api_error(
            StatusCode::FORBIDDEN,
            "InvalidStateTransition",
            "Another request is already waiting for the next invocation",
        );
    };
    // The runtime's Init is over: it waits for its first event (or its next one).
    link.init.send_if_modified(|init| {
        let first = init.is_none();
        if first {
            *init = Some(Ok(()));
        }
        first
    });
    // Long poll: the executor hands over the next event, or drops the sender on shutdown.
    let Some(invocation) = inbox.recv().await else {
        return api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Runtime.Shutdown",
            "Shutting down",
        );
    };
    drop(inbox);
    // Init (and each invoke after it) begins only once every extension is waiting in `next`.
    if let Err(failure) = link.extensions.wait_ready().await {
        let _ = invocation.reply.send(failure.reply(&invocation.request_id));
        return api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            failure.error_type,
            "An extension failed",
        );
    }
    let delivered_at = SystemTime::now();
    let deadline = delivered_at + invocation.timeout;
    let deadline_ms = deadline
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    set("content-type", "application/json");
    set("lambda-runtime-aws-request-id", &invocation.request_id);
    set("lambda-runtime-deadline-ms", &deadline_ms.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        &invocation.invoked_function_arn,
    );
    let trace = trace_id(&invocation.request_id);
    set("lambda-runtime-trace-id", &trace);
    link.telemetry.init_done(telemetry::Status::success());
    link.telemetry.start(&invocation.request_id, &trace);
    if let Some(context) = &invocation.client_context {
        set("lambda-runtime-client-context", context);
    }
    *link
        .in_flight
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some(InFlight {
        request_id: invocation.request_id.clone(),
        reply: invocation.reply,
        stream: invocation.stream,
    });
    link.extensions.invoke(
        &invocation.request_id,
        deadline_ms,
        &invocation.invoked_function_arn,
        &trace,
    );
    let _ = invocation.delivered.send(deadline);
    (StatusCode::OK, headers, invocation.payload).into_response()
}

/// An X-Ray style trace header, derived from the request id so it is stable per invoke.
fn trace_id(request_id: &str) -> String {
    let hex: String = request_id.chars().filter(char::is_ascii_hexdigit).collect();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let root = hex.get(..24).unwrap_or("000000000000000000000000");
    let parent = hex.get(16..32).unwrap_or("0000000000000000");
    format!("Root=1-{now:08x}-{root};Parent={parent};Sampled=0")
}

fn error_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Reads a posted body of at most [`MAX_RESPONSE_BYTES`]; `None` when it is larger.
async fn read_body(body: Body) -> Option<Bytes> {
    axum::body::to_bytes(body, MAX_RESPONSE_BYTES).await.ok()
}

fn too_large() -> Response {
    api_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "RequestEntityTooLarge",
        &format!("Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."),
    )
}

async fn response(
    State(link): State<Arc<EnvironmentLink>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let streaming = match headers.get("lambda-runtime-function-response-mode") {
        None => false,
        Some(mode) if mode.as_bytes() == b"buffered" => false,
        Some(mode) if mode.as_bytes() == b"streaming" => true,
        Some(_) => {
            return api_error(
                StatusCode::BAD_REQUEST,
                "InvalidFunctionResponseMode",
                "Lambda-Runtime-Function-Response-Mode must be 'buffered' or 'streaming'",
            );
        }
    };
    if streaming {
        return streamed_response(link, &id, &headers, body).await;
    }
    let Some(in_flight) = link.take_in_flight(&id) else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            "Invalid request ID",
        );
    };
    let Some(body) = read_body(body).await else {
        let status = telemetry::Status::failed("failure", "Function.ResponseSizeTooLarge");
        link.telemetry
            .runtime_done_after_output(&id, status, None)
            .await;
        let _ = in_flight.reply.send(Reply::TooLarge);
        return too_large();
    };
    let produced = Some(body.len() as u64);
    link.telemetry
        .runtime_done_after_output(&id, telemetry::Status::success(), produced)
        .await;
    let _ = in_flight.reply.send(Reply::Response(body));
    accepted()
}

/// `POST …/response` in `streaming` mode: the chunks go to the caller as the runtime writes
/// them; the reply is sent once the body (and its trailers) ended.
async fn streamed_response(
    link: Arc<EnvironmentLink>,
    id: &str,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    let Some(mut in_flight) = link.take_in_flight(id) else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            "Invalid request ID",
        );
    };
    let sink = in_flight.stream.take();
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let (reply, produced) =
        streaming::read_streamed(content_type, body, sink, MAX_RESPONSE_BYTES).await;
    let status = match &reply {
        Reply::Response(_) => telemetry::Status::success(),
        Reply::TooLarge => telemetry::Status::failed("failure", "Function.ResponseSizeTooLarge"),
        Reply::Error { error_type, .. } => {
            telemetry::Status::failed("error", error_type.as_deref().unwrap_or("Unhandled"))
        }
    };
    link.telemetry
        .runtime_done_after_output(id, status, Some(produced))
        .await;
    let too_large = matches!(reply, Reply::TooLarge);
    let _ = in_flight.reply.send(reply);
    if too_large {
        return too_large_streamed();
    }
    accepted()
}

fn too_large_streamed() -> Response {
    api_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "RequestEntityTooLarge",
        "Exceeded maximum allowed payload size for a streamed response.",
    )
}

async fn error(
    State(link): State<Arc<EnvironmentLink>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(in_flight) = link.take_in_flight(&id) else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            "Invalid request ID",
        );
    };
    let Some(body) = read_body(body).await else {
        let _ = in_flight.reply.send(Reply::TooLarge);
        return too_large();
    };
    let error_type = error_type(&headers);
    let status = telemetry::Status::failed("error", error_type.as_deref().unwrap_or("Unhandled"));
    link.telemetry
        .runtime_done_after_output(&id, status, None)
        .await;
    let _ = in_flight.reply.send(Reply::Error {
        error_type,
        body,
        init: false,
    });
    accepted()
}

async fn init_error(
    State(link): State<Arc<EnvironmentLink>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(body) = read_body(body).await else {
        return too_large();
    };
    // The event waiting for this environment's first `next` fails with the init error.
    let pending = match link.inbox.try_lock() {
        Ok(mut inbox) => inbox.try_recv().ok(),
        Err(_) => None,
    };
    let error_type = error_type(&headers);
    let status = telemetry::Status::failed("error", error_type.as_deref().unwrap_or("Unhandled"));
    link.telemetry.init_done(status);
    let reply = Reply::Error {
        error_type,
        body,
        init: true,
    };
    match pending {
        Some(invocation) => {
            let _ = invocation.reply.send(reply);
        }
        None => {
            // An Init run ahead of any event: whoever waits for it learns it failed.
            if let Reply::Error {
                error_type: ref failed,
                ..
            } = reply
            {
                let failed = failed.clone().unwrap_or_else(|| "Unhandled".to_owned());
                link.init.send_if_modified(|init| {
                    let first = init.is_none();
                    if first {
                        *init = Some(Err(failed));
                    }
                    first
                });
            }
            let in_flight = link
                .in_flight
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            if let Some(in_flight) = in_flight {
                let _ = in_flight.reply.send(reply);
            }
        }
    }
    accepted()
}

#[cfg(test)]
mod tests;

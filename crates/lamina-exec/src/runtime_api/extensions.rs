//! The Extensions API 2020-01-01, served on the same address as the Runtime API (as on AWS):
//! external extensions register, then long-poll `event/next` for INVOKE and SHUTDOWN events.
//!
//! The state here is what the Runtime API side and the environment need to follow AWS's
//! lifecycle: Init ends only when every extension the jail started has registered and called
//! `next` (the runtime's first event waits for it), and after an invoke the environment is
//! frozen only once every extension called `next` again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::{mpsc, watch};

use super::{EnvironmentLink, api_error};

/// Longest registration or error document an extension may post.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// What a function's environment tells extensions at registration.
#[derive(Debug, Clone, Default)]
pub struct FunctionInfo {
    /// `functionName`.
    pub function_name: String,
    /// `functionVersion`.
    pub function_version: String,
    /// `handler`.
    pub handler: String,
}

/// Why an environment's extensions failed it (`/extension/init/error`, `/exit/error`, or an
/// extension that exited before registering).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionFailure {
    /// The error type: `Extension.Crash`, `Extension.InitError` or `Extension.ExitError`.
    pub error_type: &'static str,
    /// What follows `Error: ` in the message (`exit code 3`, or the type the extension
    /// reported).
    pub detail: String,
}

struct Registered {
    name: String,
    /// The events it registered for, in the order it named them (as its log line shows them).
    event_names: Vec<String>,
    invoke: bool,
    shutdown: bool,
    events: mpsc::UnboundedSender<serde_json::Value>,
    inbox: EventInbox,
    /// Waiting in `next` with no event pending: done with the last event.
    ready: bool,
    /// How many extensions registered before it.
    order: usize,
}

#[derive(Default)]
struct Registry {
    by_id: HashMap<String, Registered>,
    /// Set once the runtime got its first event: Init is over, registering is too late.
    closed: bool,
    failure: Option<ExtensionFailure>,
}

/// The extensions of one environment.
pub struct Extensions {
    /// How many extensions the jail started.
    expected: usize,
    info: FunctionInfo,
    registry: Mutex<Registry>,
    /// Bumped on every change the waiters care about.
    changed: watch::Sender<()>,
}

impl Extensions {
    /// The extensions of an environment whose jail started `expected` of them.
    pub fn new(expected: usize, info: FunctionInfo) -> Self {
        Self {
            expected,
            info,
            registry: Mutex::default(),
            changed: watch::Sender::new(()),
        }
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the environment has extensions at all.
    pub fn any(&self) -> bool {
        self.expected > 0
    }

    /// The names of the extensions that registered, sorted.
    pub fn registered_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .registry()
            .by_id
            .values()
            .map(|r| r.name.clone())
            .collect();
        names.sort();
        names
    }

    /// The lines AWS logs once Init is over, one per registered extension in the order they
    /// registered: `EXTENSION\tName: <name>\tState: Ready\tEvents: [INVOKE, SHUTDOWN]`.
    pub fn ready_lines(&self) -> Vec<String> {
        let registry = self.registry();
        let mut registered: Vec<&Registered> = registry.by_id.values().collect();
        registered.sort_by_key(|r| r.order);
        registered
            .iter()
            .map(|r| {
                format!(
                    "EXTENSION\tName: {}\tState: Ready\tEvents: [{}]",
                    r.name,
                    r.event_names.join(", ")
                )
            })
            .collect()
    }

    /// Every started extension registered and is waiting in `next`, or one failed.
    pub(super) fn settled(&self) -> Option<Result<(), ExtensionFailure>> {
        let registry = self.registry();
        if let Some(failure) = &registry.failure {
            return Some(Err(failure.clone()));
        }
        let ready =
            registry.by_id.len() >= self.expected && registry.by_id.values().all(|r| r.ready);
        ready.then_some(Ok(()))
    }

    /// Waits until every extension is ready for the next event (or one failed).
    pub async fn wait_ready(&self) -> Result<(), ExtensionFailure> {
        let mut changes = self.changed.subscribe();
        loop {
            if let Some(settled) = self.settled() {
                return settled;
            }
            if changes.changed().await.is_err() {
                return Ok(());
            }
        }
    }

    /// Whether an extension the jail started has not registered (yet).
    pub fn missing(&self) -> bool {
        self.registry().by_id.len() < self.expected
    }

    /// Hands an INVOKE event to every extension that asked for them; closes registration.
    pub fn invoke(&self, request_id: &str, deadline_ms: u128, arn: &str, trace: &str) {
        let event = serde_json::json!({
            "eventType": "INVOKE",
            "deadlineMs": deadline_ms,
            "requestId": request_id,
            "invokedFunctionArn": arn,
            "tracing": {"type": "X-Amzn-Trace-Id", "value": trace},
        });
        let mut registry = self.registry();
        registry.closed = true;
        for extension in registry.by_id.values_mut().filter(|r| r.invoke) {
            extension.ready = false;
            let _ = extension.events.send(event.clone());
        }
    }

    /// Hands a SHUTDOWN event to every extension that asked for it; `false` when none did.
    pub fn shutdown(&self, reason: &str, deadline_ms: u128) -> bool {
        let event = serde_json::json!({
            "eventType": "SHUTDOWN",
            "shutdownReason": reason,
            "deadlineMs": deadline_ms,
        });
        let mut registry = self.registry();
        registry.closed = true;
        let mut any = false;
        for extension in registry.by_id.values_mut().filter(|r| r.shutdown) {
            extension.ready = false;
            any |= extension.events.send(event.clone()).is_ok();
        }
        any
    }

    fn fail(&self, failure: ExtensionFailure) {
        self.registry().failure.get_or_insert(failure);
        self.changed.send_replace(());
    }
}

impl ExtensionFailure {
    /// An extension that exited (`status`, as AWS words it: `exit code 3`).
    pub fn crash(status: Option<std::process::ExitStatus>) -> Self {
        use std::os::unix::process::ExitStatusExt;
        let detail = match status.map(|s| (s.code(), s.signal())) {
            Some((Some(code), _)) => format!("exit code {code}"),
            Some((None, Some(9))) | None | Some((None, None)) => "signal: killed".to_owned(),
            Some((None, Some(signal))) => format!("signal: {signal}"),
        };
        Self {
            error_type: "Extension.Crash",
            detail,
        }
    }

    /// The failure as the answer invocation `request_id` gets, as AWS words it (`RequestId:
    /// <id> Error: exit code 3`); an init error, so the environment is reset.
    pub fn reply(&self, request_id: &str) -> super::Reply {
        let message = format!("RequestId: {request_id} Error: {}", self.detail);
        let body = serde_json::json!({ "errorMessage": message, "errorType": self.error_type });
        super::Reply::Error {
            error_type: Some(self.error_type.to_owned()),
            body: Bytes::from(body.to_string()),
            init: true,
        }
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `POST /2020-01-01/extension/register`.
pub(super) async fn register(
    State(link): State<Arc<EnvironmentLink>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let extensions = &link.extensions;
    let Some(name) = header(&headers, "lambda-extension-name").filter(|n| !n.is_empty()) else {
        return api_error(
            StatusCode::FORBIDDEN,
            "Extension.MissingExtensionName",
            "Lambda-Extension-Name header is required",
        );
    };
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return api_error(StatusCode::BAD_REQUEST, "InvalidRequest", "Body too large");
    };
    #[derive(serde::Deserialize)]
    struct Registration {
        #[serde(default)]
        events: Vec<String>,
    }
    let Ok(registration) = serde_json::from_slice::<Registration>(&body) else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "Invalid registration body",
        );
    };
    if let Some(unknown) = registration
        .events
        .iter()
        .find(|e| !matches!(e.as_str(), "INVOKE" | "SHUTDOWN"))
    {
        return api_error(
            StatusCode::BAD_REQUEST,
            "Extension.InvalidEventType",
            &format!("Unknown event type: {unknown}"),
        );
    }
    let id = uuid::Uuid::new_v4().to_string();
    {
        let mut registry = extensions.registry();
        if registry.closed {
            return api_error(
                StatusCode::FORBIDDEN,
                "Extension.RegistrationFailed",
                "Extensions may register only during Init",
            );
        }
        if registry.by_id.values().any(|r| r.name == name) {
            return api_error(
                StatusCode::CONFLICT,
                "Extension.AlreadyRegistered",
                &format!("Extension {name} is already registered"),
            );
        }
        let (events, inbox) = mpsc::unbounded_channel();
        let mut event_names = registration.events.clone();
        event_names.dedup();
        let order = registry.by_id.len();
        registry.by_id.insert(
            id.clone(),
            Registered {
                name: name.to_owned(),
                event_names,
                order,
                invoke: registration.events.iter().any(|e| e == "INVOKE"),
                shutdown: registration.events.iter().any(|e| e == "SHUTDOWN"),
                events,
                inbox: Arc::new(tokio::sync::Mutex::new(inbox)),
                ready: false,
            },
        );
    }
    extensions.changed.send_replace(());
    link.telemetry.extension(name, registration.events.clone());
    let info = &extensions.info;
    let body = serde_json::json!({
        "functionName": info.function_name,
        "functionVersion": info.function_version,
        "handler": info.handler,
    });
    let mut response = (
        StatusCode::OK,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&id) {
        response
            .headers_mut()
            .insert("lambda-extension-identifier", value);
    }
    response
}

/// One extension's queue of events, read by its `next`.
type EventInbox = Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<serde_json::Value>>>;

/// The registered extension a request names (its id and events), or the error AWS answers.
fn identified(
    extensions: &Extensions,
    headers: &HeaderMap,
) -> Result<(String, EventInbox), Box<Response>> {
    let Some(id) = header(headers, "lambda-extension-identifier") else {
        return Err(Box::new(api_error(
            StatusCode::FORBIDDEN,
            "Extension.MissingExtensionIdentifier",
            "Missing Lambda-Extension-Identifier header",
        )));
    };
    match extensions.registry().by_id.get(id) {
        Some(registered) => Ok((id.to_owned(), Arc::clone(&registered.inbox))),
        None => Err(Box::new(api_error(
            StatusCode::FORBIDDEN,
            "Extension.UnknownExtensionIdentifier",
            "Unknown extension identifier",
        ))),
    }
}

/// `GET /2020-01-01/extension/event/next`.
pub(super) async fn next(State(link): State<Arc<EnvironmentLink>>, headers: HeaderMap) -> Response {
    let extensions = &link.extensions;
    let (id, inbox) = match identified(extensions, &headers) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let Ok(mut inbox) = inbox.try_lock() else {
        return api_error(
            StatusCode::FORBIDDEN,
            "InvalidStateTransition",
            "Another request is already waiting for the next event",
        );
    };
    // Ready only with no event pending: one handed out before this call is taken now.
    let event = match inbox.try_recv() {
        Ok(event) => Some(event),
        Err(_) => {
            if let Some(registered) = extensions.registry().by_id.get_mut(&id) {
                registered.ready = true;
            }
            extensions.changed.send_replace(());
            inbox.recv().await
        }
    };
    let Some(event) = event else {
        return api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Extension.Shutdown",
            "Shutting down",
        );
    };
    let mut response = (
        StatusCode::OK,
        [("content-type", "application/json")],
        event.to_string(),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        response
            .headers_mut()
            .insert("lambda-extension-event-identifier", value);
    }
    response
}

/// `POST /2020-01-01/extension/init/error` and `/extension/exit/error`: the extension
/// reports a failure; the pending or current invocation fails with `Extension.InitError` or
/// `Extension.ExitError` (the reported type in its message) and the environment is reset.
pub(super) async fn error(
    State(link): State<Arc<EnvironmentLink>>,
    path: axum::http::Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(response) = identified(&link.extensions, &headers) {
        return *response;
    }
    let reported = header(&headers, "lambda-extension-function-error-type")
        .unwrap_or("Extension.Unknown")
        .to_owned();
    let error_type = if path.path().ends_with("/init/error") {
        "Extension.InitError"
    } else {
        "Extension.ExitError"
    };
    // The body (the extension's error document) is only read, as AWS only logs it.
    let _ = axum::body::to_bytes(body, MAX_BODY_BYTES).await;
    link.extensions.fail(ExtensionFailure {
        error_type,
        detail: reported,
    });
    link.fail_in_flight();
    (
        StatusCode::ACCEPTED,
        [("content-type", "application/json")],
        r#"{"status":"OK"}"#,
    )
        .into_response()
}

impl Extensions {
    /// The id and name of the registered extension a request names (Telemetry and Logs
    /// API), or the error AWS answers.
    pub(super) fn identify(&self, headers: &HeaderMap) -> Result<(String, String), Box<Response>> {
        let (id, _) = identified(self, headers)?;
        let name = self.registry().by_id.get(&id).map(|r| r.name.clone());
        Ok((id, name.unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests;

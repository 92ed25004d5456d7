//! The Telemetry API `2022-07-01` and the older Logs API `2020-08-15`, served on the same
//! address as the Runtime and Extensions APIs: a registered extension subscribes (during
//! Init) to the `platform`, `function` and `extension` streams, and Lamina POSTs batches of
//! records to its HTTP listener inside the environment (see [`delivery`]).
//!
//! Every environment has one [`Telemetry`]; the Runtime API, the output readers and the
//! invocation's end tell it what happens. With no subscriber and Init over, each of those
//! calls is one atomic load. Events of Init are kept until Init ends, so an extension that
//! subscribes during Init also gets what happened before it subscribed (`platform.initStart`,
//! the extensions' registrations, early output), as AWS buffers them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Body as HttpBody;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::{mpsc, oneshot, watch};

use super::{EnvironmentLink, api_error};

pub mod delivery;
pub mod event;
pub mod subscription;

pub use delivery::Connector;
pub use event::{Body, Event, ReportMetrics, Status, Stream};
pub use subscription::{Api, Subscription, Types};

/// Longest subscription request body read.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// Most Init events kept for subscribers yet to come, and their bytes (lines beyond are not
/// kept).
const BACKLOG_EVENTS: usize = 1000;
const BACKLOG_BYTES: usize = 256 * 1024;
/// Longest wait for the runtime's output to be read before `platform.runtimeDone`.
const OUTPUT_WAIT: Duration = Duration::from_millis(200);

/// One subscribed extension.
struct Subscriber {
    extension_id: String,
    api: Api,
    schema_version: String,
    types: Types,
    sender: delivery::Sender,
}

impl Subscriber {
    fn offer(&self, event: &Event) {
        if !event.stream().wanted_by(self.types) {
            return;
        }
        if self.api == Api::Logs
            && let Some(end) = event.logs_end()
        {
            self.sender.record(end);
        }
        if let Some(record) = event.render(self.api, &self.schema_version) {
            self.sender.record(record);
        }
    }
}

/// The invocation between `platform.start` and `platform.runtimeDone`.
struct Current {
    request_id: String,
    trace: String,
    started: Instant,
}

#[derive(Default)]
struct State_ {
    subscribers: Vec<Subscriber>,
    /// Events of Init, for subscribers yet to come; `None` once Init is over.
    backlog: Option<Vec<Event>>,
    backlog_bytes: usize,
    /// Set once Init ended (its events were sent).
    init_over: bool,
    current: Option<Current>,
    /// The request id and trace of the last invocation started, for its report.
    last: Option<(String, String)>,
}

/// The telemetry side of one environment.
pub struct Telemetry {
    function_version: String,
    started: Instant,
    /// Whether anyone may want an event: a subscriber, or Init still going on (its events
    /// are kept). Read on every output line.
    listening: AtomicBool,
    state: Mutex<State_>,
    connector: Connector,
    frozen: watch::Sender<bool>,
    /// The runtime's output reader: what the function wrote before it answered is read
    /// before `platform.runtimeDone`, so its lines come first.
    output: std::sync::OnceLock<mpsc::Sender<crate::output::Flush>>,
}

impl Default for Telemetry {
    fn default() -> Self {
        Self::new("", "", Connector::default())
    }
}

impl Telemetry {
    /// The telemetry of an environment of `function_name` `function_version` starting now,
    /// whose listeners `connector` reaches; records `platform.initStart`.
    pub fn new(function_name: &str, function_version: &str, connector: Connector) -> Self {
        let telemetry = Self {
            function_version: function_version.to_owned(),
            started: Instant::now(),
            listening: AtomicBool::new(true),
            state: Mutex::new(State_ {
                backlog: Some(Vec::new()),
                ..State_::default()
            }),
            connector,
            frozen: watch::Sender::new(false),
            output: std::sync::OnceLock::new(),
        };
        telemetry.emit(Event::now(Body::InitStart {
            function_name: function_name.to_owned(),
            function_version: function_version.to_owned(),
        }));
        telemetry
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State_> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether anyone subscribed.
    pub fn has_subscribers(&self) -> bool {
        self.listening.load(Ordering::Relaxed) && !self.state().subscribers.is_empty()
    }

    fn emit(&self, event: Event) {
        let mut state = self.state();
        for subscriber in &state.subscribers {
            subscriber.offer(&event);
        }
        let bytes = match &event.body {
            Body::FunctionLine(line) | Body::ExtensionLine(line) => line.len(),
            _ => 0,
        } + 64;
        let room = state.backlog_bytes + bytes <= BACKLOG_BYTES;
        if let Some(backlog) = state.backlog.as_mut()
            && backlog.len() < BACKLOG_EVENTS
            && room
        {
            backlog.push(event);
            state.backlog_bytes += bytes;
        }
    }

    /// A line the function (`Stream::Function`) or an extension (`Stream::Extension`)
    /// wrote. Costs one atomic load when nobody listens.
    pub fn line(&self, stream: Stream, line: &[u8]) {
        if !self.listening.load(Ordering::Relaxed) {
            return;
        }
        let text = String::from_utf8_lossy(line).into_owned();
        let body = match stream {
            Stream::Extension => Body::ExtensionLine(text),
            _ => Body::FunctionLine(text),
        };
        self.emit(Event::now(body));
    }

    /// An extension registered for `events`.
    pub fn extension(&self, name: &str, events: Vec<String>) {
        self.emit(Event::now(Body::Extension {
            name: name.to_owned(),
            state: "Ready",
            events,
        }));
    }

    /// Init ended (the runtime asked for its first event, every extension being ready), or
    /// failed with `status`: `platform.initRuntimeDone` and `platform.initReport`, once.
    pub fn init_done(&self, status: Status) {
        if self.state().init_over {
            return;
        }
        let duration_ms = self.started.elapsed().as_secs_f64() * 1e3;
        self.emit(Event::now(Body::InitRuntimeDone(status.clone())));
        self.emit(Event::now(Body::InitReport {
            status,
            duration_ms,
        }));
        let mut state = self.state();
        state.init_over = true;
        state.backlog = None;
        state.backlog_bytes = 0;
        let any = !state.subscribers.is_empty();
        drop(state);
        self.listening.store(any, Ordering::Relaxed);
    }

    /// An invocation was handed to the runtime: `platform.start`.
    pub fn start(&self, request_id: &str, trace: &str) {
        if !self.listening.load(Ordering::Relaxed) {
            return;
        }
        {
            let mut state = self.state();
            state.current = Some(Current {
                request_id: request_id.to_owned(),
                trace: trace.to_owned(),
                started: Instant::now(),
            });
            state.last = Some((request_id.to_owned(), trace.to_owned()));
        }
        self.emit(Event::now(Body::Start {
            request_id: request_id.to_owned(),
            version: self.function_version.clone(),
            trace: trace.to_owned(),
        }));
    }

    /// The runtime answered invocation `request_id` (or it failed): `platform.runtimeDone`,
    /// once per invocation.
    pub fn runtime_done(&self, request_id: &str, status: Status, produced_bytes: Option<u64>) {
        if !self.listening.load(Ordering::Relaxed) {
            return;
        }
        let current = {
            let mut state = self.state();
            match &state.current {
                Some(c) if c.request_id == request_id => state.current.take(),
                _ => None,
            }
        };
        let Some(current) = current else { return };
        self.emit(Event::now(Body::RuntimeDone {
            request_id: current.request_id,
            status,
            duration_ms: current.started.elapsed().as_secs_f64() * 1e3,
            produced_bytes,
            trace: current.trace,
        }));
    }

    /// The runtime's output is read by the reader `flush` asks.
    pub fn set_output(&self, flush: mpsc::Sender<crate::output::Flush>) {
        let _ = self.output.set(flush);
    }

    /// [`Telemetry::runtime_done`] once what the runtime wrote so far was read (at most
    /// [`OUTPUT_WAIT`]): the invocation's `function` records come before it.
    pub async fn runtime_done_after_output(
        &self,
        request_id: &str,
        status: Status,
        produced_bytes: Option<u64>,
    ) {
        if !self.listening.load(Ordering::Relaxed) {
            return;
        }
        if let Some(output) = self.output.get() {
            let (done, answered) = oneshot::channel();
            let flush = crate::output::Flush { done, last: false };
            let read = async {
                if output.send(flush).await.is_ok() {
                    let _ = answered.await;
                }
            };
            let _ = tokio::time::timeout(OUTPUT_WAIT, read).await;
        }
        self.runtime_done(request_id, status, produced_bytes);
    }

    /// The invocation's report, once every extension finished it: `platform.runtimeDone`
    /// first when the runtime never answered (a timeout, a crash), then `platform.report`.
    pub fn report(&self, request_id: &str, status: Status, metrics: ReportMetrics) {
        if !self.listening.load(Ordering::Relaxed) {
            return;
        }
        self.runtime_done(request_id, status.clone(), None);
        let trace = {
            let state = self.state();
            match &state.last {
                Some((id, trace)) if id == request_id => trace.clone(),
                _ => String::new(),
            }
        };
        self.emit(Event::now(Body::Report {
            request_id: request_id.to_owned(),
            status,
            metrics,
            trace,
        }));
    }

    /// [`Telemetry::report`] of an invocation whose REPORT line has `report_status` (its
    /// `Status` and `Error Type`; `None` for a success).
    pub fn report_outcome(
        &self,
        request_id: &str,
        report_status: Option<&(&'static str, String)>,
        metrics: ReportMetrics,
    ) {
        let status = match report_status {
            None => Status::success(),
            Some((status, error_type)) => Status::failed(status, error_type.as_str()),
        };
        self.report(request_id, status, metrics);
    }

    /// The environment was frozen (`true`) or thawed: nothing is sent while it is frozen.
    pub fn set_frozen(&self, frozen: bool) {
        self.frozen
            .send_if_modified(|now| std::mem::replace(now, frozen) != frozen);
    }

    /// Sends every subscriber's batch now and waits until each was sent (or its first try
    /// failed; the retries go on in the background), at most `wait`. Returns at once with
    /// no subscriber.
    pub async fn flush(&self, wait: Duration) {
        if !self.listening.load(Ordering::Relaxed) {
            return;
        }
        let answers: Vec<_> = self
            .state()
            .subscribers
            .iter()
            .map(|s| s.sender.flush())
            .collect();
        if answers.is_empty() {
            return;
        }
        let all = async {
            for answer in answers {
                let _ = answer.await;
            }
        };
        if tokio::time::timeout(wait, all).await.is_err() {
            tracing::debug!("telemetry flush still under way; it goes on in the background");
        }
    }

    /// Subscribes extension `extension_id` (named `name`); `Err` is the answer to give.
    fn subscribe(
        &self,
        extension_id: &str,
        name: &str,
        request: Subscription,
    ) -> Result<(), Refusal> {
        let mut state = self.state();
        if state.init_over {
            return Err(Refusal::Closed);
        }
        if let Some(existing) = state
            .subscribers
            .iter()
            .find(|s| s.extension_id == extension_id)
        {
            // AWS: one API per extension; the same again is idempotent.
            if existing.api != request.api {
                return Err(Refusal::OtherApi(existing.api));
            }
            let types = existing.types.names();
            drop(state);
            self.emit(Event::now(Body::Subscription {
                name: name.to_owned(),
                state: "Already subscribed",
                types,
            }));
            return Ok(());
        }
        let api = request.api;
        let schema_version = request.schema_version.clone();
        let sender = delivery::start(delivery::Delivery {
            name: name.to_owned(),
            buffering: request.buffering,
            destination: request.destination,
            connector: self.connector.clone(),
            frozen: self.frozen.subscribe(),
            dropped_as: request
                .types
                .platform
                .then(|| (api, schema_version.clone())),
        });
        let subscriber = Subscriber {
            extension_id: extension_id.to_owned(),
            api,
            schema_version,
            types: request.types,
            sender,
        };
        // What happened during Init so far comes first.
        for event in state.backlog.iter().flatten() {
            subscriber.offer(event);
        }
        state.subscribers.push(subscriber);
        drop(state);
        self.listening.store(true, Ordering::Relaxed);
        self.emit(Event::now(Body::Subscription {
            name: name.to_owned(),
            state: "Subscribed",
            types: request.types.names(),
        }));
        Ok(())
    }
}

/// Where an output reader's lines go: the environment's telemetry, as one stream.
#[derive(Clone)]
pub struct Tap {
    telemetry: Arc<Telemetry>,
    stream: Stream,
}

impl Tap {
    /// Lines read go to `telemetry` as `stream` records.
    pub fn new(telemetry: Arc<Telemetry>, stream: Stream) -> Self {
        Self { telemetry, stream }
    }

    /// One line (without its newline).
    pub fn line(&self, line: &[u8]) {
        self.telemetry.line(self.stream, line);
    }
}

/// Why a valid request was refused.
#[derive(Debug)]
enum Refusal {
    /// Init is over: subscriptions are taken only during Init.
    Closed,
    /// The extension already subscribed through the other API.
    OtherApi(Api),
}

/// AWS's success answer: 200 with the JSON string `"OK"`.
fn ok() -> Response {
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        "\"OK\"",
    )
        .into_response()
}

async fn subscribe(
    link: &EnvironmentLink,
    api: Api,
    headers: &HeaderMap,
    body: HttpBody,
) -> Response {
    let (extension_id, name) = match link.extensions.identify(headers) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return api_error(
            StatusCode::BAD_REQUEST,
            api.validation_error(),
            "request body is too large",
        );
    };
    let request = match subscription::parse(api, &body) {
        Ok(request) => request,
        Err(message) => {
            return api_error(StatusCode::BAD_REQUEST, api.validation_error(), &message);
        }
    };
    let prefix = match api {
        Api::Telemetry => "Telemetry",
        Api::Logs => "Logs",
    };
    match link.telemetry.subscribe(&extension_id, &name, request) {
        Ok(()) => ok(),
        Err(Refusal::Closed) => api_error(
            StatusCode::FORBIDDEN,
            &format!("{prefix}.SubscriptionClosed"),
            "Subscriptions are accepted only during Init",
        ),
        Err(Refusal::OtherApi(other)) => api_error(
            StatusCode::BAD_REQUEST,
            &format!("{prefix}.InvalidRequest"),
            match other {
                Api::Telemetry => "This extension already subscribed through the Telemetry API",
                Api::Logs => "This extension already subscribed through the Logs API",
            },
        ),
    }
}

/// `PUT /2022-07-01/telemetry`.
pub(super) async fn telemetry(
    State(link): State<Arc<EnvironmentLink>>,
    headers: HeaderMap,
    body: HttpBody,
) -> Response {
    subscribe(&link, Api::Telemetry, &headers, body).await
}

/// `PUT /2020-08-15/logs`.
pub(super) async fn logs(
    State(link): State<Arc<EnvironmentLink>>,
    headers: HeaderMap,
    body: HttpBody,
) -> Response {
    subscribe(&link, Api::Logs, &headers, body).await
}

#[cfg(test)]
mod tests;

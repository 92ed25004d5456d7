//! The records subscribers get, in AWS's JSON shapes: each `{time, type, record}`, with the
//! record as the Telemetry API (`2022-07-01`) or the older Logs API (`2020-08-15`) shapes it.
//! Events not in an API's schema are not sent through it (the Logs API has no `initStart`;
//! the Telemetry API has no `platform.end`).

use serde_json::{Value, json};

use super::subscription::{Api, Types};

/// The three streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// `platform.*` events.
    Platform,
    /// The function's output lines.
    Function,
    /// The extensions' output lines.
    Extension,
}

impl Stream {
    /// Whether a subscription to `types` gets this stream.
    pub fn wanted_by(self, types: Types) -> bool {
        match self {
            Self::Platform => types.platform,
            Self::Function => types.function,
            Self::Extension => types.extension,
        }
    }
}

/// How a phase ended: `status` is `success`, `failure`, `error` or `timeout`; the others
/// carry an `errorType`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// `success`, `failure`, `error` or `timeout`.
    pub status: &'static str,
    /// The error type, unless a success.
    pub error_type: Option<String>,
}

impl Status {
    /// A success.
    pub fn success() -> Self {
        Self {
            status: "success",
            error_type: None,
        }
    }

    /// A failure of kind `status` (`failure`, `error`, `timeout`) with its error type.
    pub fn failed(status: &'static str, error_type: impl Into<String>) -> Self {
        Self {
            status,
            error_type: Some(error_type.into()),
        }
    }

    fn add_to(&self, record: &mut Value) {
        record["status"] = json!(self.status);
        if let Some(error_type) = &self.error_type {
            record["errorType"] = json!(error_type);
        }
    }
}

/// The metrics of `platform.report`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportMetrics {
    /// `durationMs`.
    pub duration_ms: f64,
    /// `memorySizeMB`.
    pub memory_size_mb: u32,
    /// `maxMemoryUsedMB`.
    pub max_memory_used_mb: u64,
    /// `initDurationMs`, on a cold start.
    pub init_duration_ms: Option<f64>,
}

/// What happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// Init began.
    InitStart {
        /// The function's name.
        function_name: String,
        /// Its version.
        function_version: String,
    },
    /// The runtime (and every extension) finished Init, or it failed.
    InitRuntimeDone(Status),
    /// Init's report.
    InitReport {
        /// How Init ended.
        status: Status,
        /// How long it took.
        duration_ms: f64,
    },
    /// An invocation was handed to the runtime.
    Start {
        /// Its request id.
        request_id: String,
        /// The function version.
        version: String,
        /// Its `X-Amzn-Trace-Id`.
        trace: String,
    },
    /// The runtime answered the invocation, or failed it.
    RuntimeDone {
        /// Its request id.
        request_id: String,
        /// How it ended.
        status: Status,
        /// From `platform.start` to the answer.
        duration_ms: f64,
        /// The response's size, when there was one.
        produced_bytes: Option<u64>,
        /// Its `X-Amzn-Trace-Id`.
        trace: String,
    },
    /// The invocation's report (after every extension finished it).
    Report {
        /// Its request id.
        request_id: String,
        /// How it ended.
        status: Status,
        /// Its metrics.
        metrics: ReportMetrics,
        /// Its `X-Amzn-Trace-Id`.
        trace: String,
    },
    /// An extension registered.
    Extension {
        /// Its name.
        name: String,
        /// `Ready`.
        state: &'static str,
        /// The events it registered for.
        events: Vec<String>,
    },
    /// An extension subscribed (through either API).
    Subscription {
        /// The extension's name.
        name: String,
        /// `Subscribed` or `Already subscribed`.
        state: &'static str,
        /// What it subscribed to.
        types: Vec<&'static str>,
    },
    /// Records a subscriber could not be sent.
    LogsDropped {
        /// How many.
        records: u64,
        /// Their bytes.
        bytes: u64,
    },
    /// A line the function wrote.
    FunctionLine(String),
    /// A line an extension wrote.
    ExtensionLine(String),
}

/// One event, stamped when Lamina saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `time`: UTC, ISO 8601 with milliseconds (`2022-10-12T00:00:15.064Z`).
    pub time: String,
    /// What happened.
    pub body: Body,
}

/// Milliseconds rounded to two decimals, as AWS reports them.
fn ms(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

fn tracing(trace: &str) -> Value {
    json!({"type": "X-Amzn-Trace-Id", "value": trace})
}

impl Event {
    /// An event stamped now.
    pub fn now(body: Body) -> Self {
        Self {
            time: now_iso(),
            body,
        }
    }

    /// Its stream.
    pub fn stream(&self) -> Stream {
        match self.body {
            Body::FunctionLine(_) => Stream::Function,
            Body::ExtensionLine(_) => Stream::Extension,
            _ => Stream::Platform,
        }
    }

    /// The event as a subscriber of `api` with `schema_version` gets it, as JSON; `None`
    /// when that API has no such event.
    pub fn render(&self, api: Api, schema_version: &str) -> Option<Vec<u8>> {
        let (kind, record) = self.record(api, schema_version)?;
        let doc = json!({"time": self.time, "type": kind, "record": record});
        serde_json::to_vec(&doc).ok()
    }

    fn record(&self, api: Api, schema_version: &str) -> Option<(&'static str, Value)> {
        let telemetry = api == Api::Telemetry;
        let init = |record: &mut Value| {
            record["initializationType"] = json!("on-demand");
            record["phase"] = json!("init");
        };
        let found = match &self.body {
            Body::InitStart {
                function_name,
                function_version,
            } if telemetry => {
                let mut record = json!({
                    "functionName": function_name,
                    "functionVersion": function_version,
                });
                init(&mut record);
                ("platform.initStart", record)
            }
            Body::InitRuntimeDone(status) if telemetry => {
                let mut record = json!({});
                init(&mut record);
                status.add_to(&mut record);
                ("platform.initRuntimeDone", record)
            }
            Body::InitReport {
                status,
                duration_ms,
            } if telemetry => {
                let mut record = json!({"metrics": {"durationMs": ms(*duration_ms)}});
                init(&mut record);
                status.add_to(&mut record);
                ("platform.initReport", record)
            }
            Body::InitStart { .. } | Body::InitRuntimeDone(_) | Body::InitReport { .. } => {
                return None;
            }
            Body::Start {
                request_id,
                version,
                trace,
            } => {
                let mut record = json!({"requestId": request_id, "version": version});
                if telemetry {
                    record["tracing"] = tracing(trace);
                }
                ("platform.start", record)
            }
            Body::RuntimeDone {
                request_id,
                status,
                duration_ms,
                produced_bytes,
                trace,
            } => {
                let mut record = json!({"requestId": request_id});
                status.add_to(&mut record);
                if telemetry {
                    let mut metrics = json!({"durationMs": ms(*duration_ms)});
                    if let Some(bytes) = produced_bytes {
                        metrics["producedBytes"] = json!(bytes);
                    }
                    record["metrics"] = metrics;
                    record["tracing"] = tracing(trace);
                } else if schema_version == "2020-08-15" {
                    // The Logs API sends it only from schema 2021-03-18 on.
                    return None;
                }
                ("platform.runtimeDone", record)
            }
            Body::Report {
                request_id,
                status,
                metrics,
                trace,
            } => {
                let mut values = json!({
                    "durationMs": ms(metrics.duration_ms),
                    "billedDurationMs": (metrics.duration_ms.ceil() as u64).max(1),
                    "memorySizeMB": metrics.memory_size_mb,
                    "maxMemoryUsedMB": metrics.max_memory_used_mb,
                });
                if let Some(init) = metrics.init_duration_ms {
                    values["initDurationMs"] = json!(ms(init));
                }
                let mut record = json!({"requestId": request_id, "metrics": values});
                if telemetry {
                    status.add_to(&mut record);
                    record["tracing"] = tracing(trace);
                }
                ("platform.report", record)
            }
            Body::Extension {
                name,
                state,
                events,
            } => (
                "platform.extension",
                json!({"name": name, "state": state, "events": events}),
            ),
            Body::Subscription { name, state, types } => (
                if telemetry {
                    "platform.telemetrySubscription"
                } else {
                    "platform.logsSubscription"
                },
                json!({"name": name, "state": state, "types": types}),
            ),
            Body::LogsDropped { records, bytes } => (
                "platform.logsDropped",
                json!({
                    "droppedRecords": records,
                    "droppedBytes": bytes,
                    "reason": "Consumer seems to have fallen behind as it has not acknowledged receipt of logs.",
                }),
            ),
            Body::FunctionLine(line) => ("function", json!(line)),
            Body::ExtensionLine(line) => ("extension", json!(line)),
        };
        Some(found)
    }

    /// The Logs API's `platform.end`, which goes before its `platform.report`.
    pub fn logs_end(&self) -> Option<Vec<u8>> {
        let Body::Report { request_id, .. } = &self.body else {
            return None;
        };
        let doc =
            json!({"time": self.time, "type": "platform.end", "record": {"requestId": request_id}});
        serde_json::to_vec(&doc).ok()
    }
}

/// The current time as the records carry it: `2022-10-12T00:00:15.064Z`.
pub fn now_iso() -> String {
    iso(lamina_types::timestamp::now_millis())
}

/// `epoch_millis` as the records carry it.
pub fn iso(epoch_millis: i64) -> String {
    let mut stamp = lamina_types::timestamp::format_millis(epoch_millis);
    if let Some(stripped) = stamp.strip_suffix("+0000") {
        stamp.truncate(stripped.len());
        stamp.push('Z');
    }
    stamp
}

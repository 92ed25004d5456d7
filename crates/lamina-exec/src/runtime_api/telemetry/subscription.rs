//! A subscription request (`PUT /2022-07-01/telemetry` or `PUT /2020-08-15/logs`) and its
//! validation, as AWS documents it: every problem found is named in one `ValidationError`
//! message, joined by `; ` (AWS's own example: `URI port is not provided; types should not be
//! empty`).

use std::time::Duration;

use serde_json::Value;

/// Which API a subscription came through; the records an extension gets follow its shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// The Telemetry API, `2022-07-01`.
    Telemetry,
    /// The older Logs API, `2020-08-15`.
    Logs,
}

impl Api {
    /// The `errorType` of a refused subscription.
    pub fn validation_error(self) -> &'static str {
        match self {
            Self::Telemetry => "ValidationError",
            Self::Logs => "Logs.ValidationError",
        }
    }

    /// The schema versions AWS accepts, the default first (the Logs API's is optional).
    fn schema_versions(self) -> &'static [&'static str] {
        match self {
            Self::Telemetry => &["2022-07-01", "2022-12-13", "2025-01-29"],
            Self::Logs => &["2020-08-15", "2021-03-18"],
        }
    }
}

/// The streams an extension subscribed to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Types {
    /// `platform`: the lifecycle events.
    pub platform: bool,
    /// `function`: each line the function writes.
    pub function: bool,
    /// `extension`: each line the extensions write.
    pub extension: bool,
}

impl Types {
    /// The names, in AWS's order.
    pub fn names(self) -> Vec<&'static str> {
        [
            (self.platform, "platform"),
            (self.function, "function"),
            (self.extension, "extension"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect()
    }
}

/// How records are batched for one subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buffering {
    /// A batch is sent once it holds this many records.
    pub max_items: usize,
    /// A batch is sent once its records hold this many bytes.
    pub max_bytes: usize,
    /// A batch is sent at the latest this long after its first record.
    pub timeout: Duration,
}

/// `buffering.maxItems`: default, least, most (AWS's current limits).
pub const MAX_ITEMS: (u64, u64, u64) = (1000, 1000, 10_000);
/// `buffering.maxBytes`: default, least, most.
pub const MAX_BYTES: (u64, u64, u64) = (262_144, 262_144, 1_048_576);
/// `buffering.timeoutMs`: default, least, most.
pub const TIMEOUT_MS: (u64, u64, u64) = (1000, 25, 30_000);

impl Default for Buffering {
    fn default() -> Self {
        Self {
            max_items: MAX_ITEMS.0 as usize,
            max_bytes: MAX_BYTES.0 as usize,
            timeout: Duration::from_millis(TIMEOUT_MS.0),
        }
    }
}

/// Where batches are posted: a listener inside the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// The URI as the extension gave it.
    pub uri: String,
    /// Its host, as the `Host` header carries it (with the port).
    pub authority: String,
    /// Its port on the environment's loopback.
    pub port: u16,
    /// Its path and query (`/` when it has none).
    pub path: String,
    /// `POST`, or `PUT` (which the Logs API lets an extension choose).
    pub method: &'static str,
}

/// A valid subscription request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The API it came through.
    pub api: Api,
    /// Its `schemaVersion`.
    pub schema_version: String,
    /// What it subscribed to.
    pub types: Types,
    /// Its batching.
    pub buffering: Buffering,
    /// Where its batches go.
    pub destination: Destination,
}

/// The port AWS reserves for its own APIs (`AWS_LAMBDA_RUNTIME_API` in a private network).
const RESERVED_PORT: u16 = 9001;

/// Host names that mean the environment itself: AWS documents `sandbox.localdomain`;
/// the loopback names are accepted too.
const LOCAL_HOSTS: [&str; 5] = [
    "sandbox.localdomain",
    "sandbox",
    "localhost",
    "127.0.0.1",
    "[::1]",
];

/// Parses and validates a subscription request `body` for `api`; `Err` holds the
/// `errorMessage` of AWS's 400 answer.
pub fn parse(api: Api, body: &[u8]) -> Result<Subscription, String> {
    let Ok(Value::Object(doc)) = serde_json::from_slice::<Value>(body) else {
        return Err("request body should be a JSON object".to_owned());
    };
    let mut problems = Vec::new();

    let versions = api.schema_versions();
    let schema_version = match doc.get("schemaVersion") {
        Some(Value::String(v)) if versions.contains(&v.as_str()) => v.clone(),
        None if api == Api::Logs => versions[0].to_owned(),
        None => {
            problems.push("schemaVersion is required".to_owned());
            String::new()
        }
        Some(other) => {
            problems.push(format!(
                "schemaVersion {other} is not supported (supported: {})",
                versions.join(", ")
            ));
            String::new()
        }
    };

    let destination = match doc.get("destination") {
        Some(Value::Object(d)) => destination(api, d, &mut problems),
        Some(_) => {
            problems.push("destination should be an object".to_owned());
            None
        }
        None => {
            problems.push("destination is required".to_owned());
            None
        }
    };

    let mut types = Types::default();
    match doc.get("types") {
        Some(Value::Array(list)) if list.is_empty() => {
            problems.push("types should not be empty".to_owned());
        }
        Some(Value::Array(list)) => {
            for item in list {
                match item.as_str() {
                    Some("platform") => types.platform = true,
                    Some("function") => types.function = true,
                    Some("extension") => types.extension = true,
                    _ => problems.push(format!(
                        "types: {item} is not one of platform, function, extension"
                    )),
                }
            }
        }
        Some(_) => problems.push("types should be an array of strings".to_owned()),
        None => problems.push("types should not be empty".to_owned()),
    }

    let buffering = match doc.get("buffering") {
        None | Some(Value::Null) => Buffering::default(),
        Some(Value::Object(b)) => {
            let mut field = |name: &str, (default, least, most): (u64, u64, u64)| match b.get(name)
            {
                None | Some(Value::Null) => default,
                Some(value) => match value.as_u64() {
                    Some(n) if (least..=most).contains(&n) => n,
                    _ => {
                        problems.push(format!(
                            "buffering.{name} should be an integer from {least} to {most}"
                        ));
                        default
                    }
                },
            };
            Buffering {
                max_items: field("maxItems", MAX_ITEMS) as usize,
                max_bytes: field("maxBytes", MAX_BYTES) as usize,
                timeout: Duration::from_millis(field("timeoutMs", TIMEOUT_MS)),
            }
        }
        Some(_) => {
            problems.push("buffering should be an object".to_owned());
            Buffering::default()
        }
    };

    match destination {
        Some(destination) if problems.is_empty() => Ok(Subscription {
            api,
            schema_version,
            types,
            buffering,
            destination,
        }),
        _ => Err(problems.join("; ")),
    }
}

/// The destination object's problems go to `problems`; `None` when it has any.
fn destination(
    api: Api,
    d: &serde_json::Map<String, Value>,
    problems: &mut Vec<String>,
) -> Option<Destination> {
    let before = problems.len();
    match d.get("protocol").and_then(Value::as_str) {
        Some("HTTP") => {}
        // AWS also delivers NDJSON over TCP; Lamina serves only HTTP.
        Some("TCP") => problems
            .push("destination.protocol TCP is not supported by Lamina (use HTTP)".to_owned()),
        Some(other) => problems.push(format!(
            "destination.protocol {other} is not one of HTTP, TCP"
        )),
        None => problems.push("destination.protocol is required".to_owned()),
    }
    let method = match (api, d.get("method").and_then(Value::as_str)) {
        (_, None) => "POST",
        (Api::Logs, Some(m)) if m.eq_ignore_ascii_case("PUT") => "PUT",
        (_, Some(m)) if m.eq_ignore_ascii_case("POST") => "POST",
        (_, Some(m)) => {
            problems.push(format!("destination.method {m} is not supported"));
            "POST"
        }
    };
    let Some(uri) = d.get("URI").and_then(Value::as_str) else {
        problems.push("destination.URI is required".to_owned());
        return None;
    };
    let parsed = parse_uri(uri, problems);
    if problems.len() > before {
        return None;
    }
    let (authority, port, path) = parsed?;
    Some(Destination {
        uri: uri.to_owned(),
        authority,
        port,
        path,
        method,
    })
}

/// `http://host:port[/path]` with a local host: its authority, port and path.
fn parse_uri(uri: &str, problems: &mut Vec<String>) -> Option<(String, u16, String)> {
    let Some(rest) = uri.strip_prefix("http://") else {
        problems.push(if uri.starts_with("https://") {
            "URI scheme https is not supported (use http)".to_owned()
        } else {
            "URI should be an http:// URL".to_owned()
        });
        return None;
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    };
    let path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_owned()
    };
    if path.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        problems.push("URI path is not valid".to_owned());
        return None;
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (host, Some(port)),
        _ => (authority, None),
    };
    if !LOCAL_HOSTS.iter().any(|h| h.eq_ignore_ascii_case(host)) {
        problems.push(format!(
            "URI host {host} is not in the execution environment (use sandbox.localdomain)"
        ));
    }
    let port = match port.map(str::parse::<u16>) {
        None => {
            problems.push("URI port is not provided".to_owned());
            return None;
        }
        Some(Ok(port)) if port != 0 && port != RESERVED_PORT => port,
        Some(Ok(port)) => {
            problems.push(format!("URI port {port} is reserved"));
            return None;
        }
        Some(Err(_)) => {
            problems.push("URI port is not valid".to_owned());
            return None;
        }
    };
    Some((authority.to_owned(), port, path))
}

//! `lamina logs FUNCTION [--follow]`: a function's log through the CloudWatch Logs operations
//! of the endpoint (FilterLogEvents on its log group), so it works against a remote server as
//! against the local one. Each event is printed as `<timestamp>\t<message>`.
//!
//! There is no CloudWatch Logs SDK among this crate's dependencies, and one call does not
//! justify one: the request is SigV4-signed with `aws-sigv4` (the SDK's own signer) and sent
//! with `ureq`, which already downloads code.

use std::time::{Duration, SystemTime};

use anyhow::{Context as _, bail};
use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::global::GlobalArgs;

/// How often `--follow` asks for new events.
const FOLLOW_POLL: Duration = Duration::from_millis(500);

/// Options of `lamina logs`.
#[derive(clap::Args, Clone, Debug)]
pub struct LogsArgs {
    /// The function's name (its log group is `/aws/lambda/<name>`, or `--log-group`).
    function: String,
    /// Keep printing new events as they are written.
    #[arg(long, short)]
    follow: bool,
    /// The log group, when the function's `LoggingConfig.LogGroup` names another.
    #[arg(long)]
    log_group: Option<String>,
}

/// One event of FilterLogEvents.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    timestamp: i64,
    message: String,
    event_id: String,
}

/// A FilterLogEvents page.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    #[serde(default)]
    events: Vec<Event>,
    next_token: Option<String>,
}

/// Prints the function's log, then follows it if asked.
pub async fn run(global: &GlobalArgs, args: &LogsArgs) -> anyhow::Result<()> {
    let group = args
        .log_group
        .clone()
        .unwrap_or_else(|| format!("/aws/lambda/{}", args.function));
    let client = LogsClient::new(global).await?;
    // The event last printed (`eventId`s grow with time), and its timestamp.
    let mut last: Option<(i64, String)> = None;
    loop {
        let mut token: Option<String> = None;
        loop {
            let mut request = json!({ "logGroupName": group });
            if let Some(token) = &token {
                request["nextToken"] = json!(token);
            } else if let Some((at, _)) = &last {
                request["startTime"] = json!(at);
            }
            let page = match client.call("FilterLogEvents", &request).await {
                Ok(page) => page,
                Err(CallError::Service { code, .. })
                    if code == "ResourceNotFoundException" && args.follow =>
                {
                    // Not logged yet: followed until it is.
                    break;
                }
                Err(CallError::Service { code, .. }) if code == "ResourceNotFoundException" => {
                    bail!("no log for {} (log group {group})", args.function);
                }
                Err(e) => return Err(e.into()),
            };
            let page: Page = serde_json::from_value(page).context("reading FilterLogEvents")?;
            for event in page.events {
                if last.as_ref().is_some_and(|(_, id)| event.event_id <= *id) {
                    continue;
                }
                println!(
                    "{}\t{}",
                    lamina_types::timestamp::format_millis(event.timestamp),
                    event.message
                );
                last = Some((event.timestamp, event.event_id));
            }
            token = page.next_token;
            if token.is_none() {
                break;
            }
        }
        if !args.follow {
            return Ok(());
        }
        tokio::time::sleep(FOLLOW_POLL).await;
    }
}

/// What a Logs call can fail with.
#[derive(Debug, thiserror::Error)]
enum CallError {
    /// The service refused it.
    #[error("{operation} failed: {code}: {message}")]
    Service {
        operation: String,
        code: String,
        message: String,
    },
    /// Anything else: no connection, no credentials, an unreadable answer.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Signs and sends awsJson 1.1 requests to the endpoint's Logs operations.
struct LogsClient {
    endpoint: String,
    region: String,
    credentials: aws_credential_types::Credentials,
}

impl LogsClient {
    async fn new(global: &GlobalArgs) -> anyhow::Result<Self> {
        let endpoint = global.endpoint_url.trim_end_matches('/').to_owned();
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            bail!("--endpoint-url must start with http:// or https://, got {endpoint:?}");
        }
        let region = global.region().await.to_string();
        let credentials = global
            .credentials_chain(None)
            .provide_credentials()
            .await
            .context("finding credentials")?;
        Ok(Self {
            endpoint,
            region,
            credentials,
        })
    }

    /// Calls `operation` with `request`; gives its answer.
    async fn call(&self, operation: &str, request: &Value) -> Result<Value, CallError> {
        let body = request.to_string();
        let url = format!("{}/", self.endpoint);
        let host = url
            .split_once("://")
            .map(|(_, rest)| rest.split('/').next().unwrap_or(rest))
            .unwrap_or_default()
            .to_owned();
        let target = format!("Logs_20140328.{operation}");
        let headers = [
            ("host", host.as_str()),
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", target.as_str()),
        ];
        let identity = self.credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("logs")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .context("signing the request")?
            .into();
        let signable = SignableRequest::new(
            "POST",
            &url,
            headers.iter().copied(),
            SignableBody::Bytes(body.as_bytes()),
        )
        .context("signing the request")?;
        let (instructions, _) = sign(signable, &params)
            .context("signing the request")?
            .into_parts();
        let mut http = ureq::post(&url);
        for (name, value) in headers.iter().copied().chain(instructions.headers()) {
            if name != "host" {
                http = http.header(name, value);
            }
        }
        let endpoint = self.endpoint.clone();
        let operation = operation.to_owned();
        // ureq blocks: off the async threads.
        tokio::task::spawn_blocking(move || send(http, &body, &endpoint, &operation))
            .await
            .context("sending the request")?
    }
}

/// Sends a signed request; reads its JSON answer or its awsJson error.
fn send(
    http: ureq::RequestBuilder<ureq::typestate::WithBody>,
    body: &str,
    endpoint: &str,
    operation: &str,
) -> Result<Value, CallError> {
    let response = http
        .config()
        .http_status_as_error(false)
        .build()
        .send(body)
        .with_context(|| format!("could not connect to the endpoint URL: {endpoint:?}"))?;
    let status = response.status();
    let text = response
        .into_body()
        .read_to_string()
        .context("reading the answer")?;
    let value: Value = serde_json::from_str(&text)
        .with_context(|| format!("{operation} answered {status}: {text}"))?;
    if status.is_success() {
        return Ok(value);
    }
    let code = value["__type"]
        .as_str()
        .map(|t| t.rsplit('#').next().unwrap_or(t))
        .or_else(|| value["Type"].as_str())
        .unwrap_or("UnknownError")
        .to_owned();
    let message = value["message"]
        .as_str()
        .or_else(|| value["Message"].as_str())
        .unwrap_or_default()
        .to_owned();
    Err(CallError::Service {
        operation: operation.to_owned(),
        code,
        message,
    })
}

//! `lamina invoke NAME [--payload JSON|@FILE] [--tail]`: call a function and print its answer.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context as _;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::LogType;
use base64::Engine as _;
use serde_json::{Value, json};

use crate::api::Api;
use crate::error::{EXIT_FAILURE, SdkResultExt as _};
use crate::output::{compact, opt, print_json};

/// Options of `lamina invoke`.
#[derive(clap::Args, Debug)]
pub struct InvokeArgs {
    /// The function name or ARN.
    pub function: String,
    /// The event: JSON text, or @FILE to read it from a file [default: {}].
    #[arg(long, value_name = "JSON|@FILE")]
    pub payload: Option<String>,
    /// Print the last 4 KB of the invocation's log (START ... REPORT) on stderr.
    #[arg(long)]
    pub tail: bool,
    /// A version or alias.
    #[arg(long)]
    pub qualifier: Option<String>,
}

/// The payload bytes of `--payload`: the text itself, or the file after `@`.
fn payload_bytes(payload: Option<&str>) -> anyhow::Result<Vec<u8>> {
    match payload {
        None => Ok(b"{}".to_vec()),
        Some(text) => match text.strip_prefix('@') {
            Some(path) => std::fs::read(path).with_context(|| format!("reading {path}")),
            None => Ok(text.as_bytes().to_vec()),
        },
    }
}

/// Invokes the function synchronously. The response payload goes to stdout (in table
/// output exactly as returned, plus a newline); the exit code is 1 if the function failed.
pub(crate) async fn run(api: &Api, args: &InvokeArgs) -> anyhow::Result<ExitCode> {
    let payload = payload_bytes(args.payload.as_deref())?;
    let out = api
        .client
        .invoke()
        .function_name(&args.function)
        .set_qualifier(args.qualifier.clone())
        .payload(Blob::new(payload))
        .set_log_type(args.tail.then_some(LogType::Tail))
        .send()
        .await
        .api("Invoke", &api.endpoint)?;
    let response = out.payload().map(|b| b.as_ref()).unwrap_or_default();
    let log = match (args.tail, out.log_result()) {
        (true, Some(encoded)) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .context("the LogResult is not base64")?,
        ),
        _ => None,
    };
    if api.json() {
        let payload = serde_json::from_slice::<Value>(response)
            .unwrap_or_else(|_| Value::from(String::from_utf8_lossy(response).into_owned()));
        print_json(&compact(json!({
            "StatusCode": out.status_code(),
            "FunctionError": opt(out.function_error()),
            "ExecutedVersion": opt(out.executed_version()),
            "LogResult": opt(out.log_result()),
            "Payload": payload,
        })))?;
    } else {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(response)?;
        if !response.ends_with(b"\n") {
            stdout.write_all(b"\n")?;
        }
        stdout.flush()?;
    }
    if let Some(log) = log {
        std::io::stderr().lock().write_all(&log)?;
    }
    Ok(match out.function_error() {
        Some(kind) => {
            eprintln!("lamina: the function failed ({kind})");
            ExitCode::from(EXIT_FAILURE)
        }
        None => ExitCode::SUCCESS,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_come_from_text_or_a_file() {
        assert_eq!(payload_bytes(None).unwrap(), b"{}");
        assert_eq!(payload_bytes(Some(r#"{"a":1}"#)).unwrap(), br#"{"a":1}"#);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("event.json");
        std::fs::write(&path, "[1]").unwrap();
        let arg = format!("@{}", path.display());
        assert_eq!(payload_bytes(Some(&arg)).unwrap(), b"[1]");
        assert!(payload_bytes(Some("@/nonexistent/event.json")).is_err());
    }
}

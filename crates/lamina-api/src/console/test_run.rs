//! "Test": runs the function with an event from the page, as a synchronous Invoke with the
//! log tail, and shows the result, the log and the REPORT line's figures.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use base64::Engine;
use lamina_exec::InvokeRequest;
use lamina_types::LambdaError;
use maud::{Markup, html};
use serde::Deserialize;

use super::functions::function_page;
use super::session::Session;
use crate::AppState;

#[derive(Deserialize)]
pub(super) struct TestEvent {
    csrf: String,
    event: String,
}

/// `POST /console/functions/{name}/test`.
pub(super) async fn run(
    State(state): State<Arc<AppState>>,
    session: Session,
    Path(name): Path<String>,
    Form(form): Form<TestEvent>,
) -> Response {
    if !session.csrf_matches(&form.csrf) {
        return super::forbidden();
    }
    match invoke(&state, &session, &name, form.event).await {
        Ok(result) => function_page(&state, &session, &name, Some(result), None).await,
        Err(e) => function_page(&state, &session, &name, None, Some(e.message())).await,
    }
}

async fn invoke(
    state: &AppState,
    session: &Session,
    name: &str,
    event: String,
) -> Result<Markup, LambdaError> {
    let event = if event.trim().is_empty() {
        "{}".to_owned()
    } else {
        event
    };
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&event) {
        return Err(LambdaError::InvalidRequestContent(format!(
            "The event is not valid JSON: {e}"
        )));
    }
    let resolved = state.functions.resolve(&session.scope, name, None).await?;
    let request = InvokeRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        payload: bytes::Bytes::from(event),
        invoked_function_arn: resolved.invoked_function_arn,
        client_context: None,
        tail_log: true,
    };
    let result = state
        .executor
        .invoke(Arc::new(resolved.spec), request)
        .await?;
    let log = result
        .log_result
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let report = Report::find(&log);
    let outcome = if result.function_error {
        "failed"
    } else {
        "succeeded"
    };
    Ok(html! {
        div #test-outcome {
            h3 { "Execution result: " (outcome) }
            @if let Some(r) = &report {
                p #test-report {
                    "Duration " (r.duration) " · Billed duration " (r.billed) " · Memory used " (r.memory_used)
                    " · " @if let Some(init) = &r.init { "Cold start (Init duration " (init) ")" } @else { "Warm start" }
                }
            }
            h4 { "Response" }
            pre #test-result { (String::from_utf8_lossy(&result.payload)) }
            h4 { "Log output" }
            pre #test-log { (log) }
        }
    })
}

/// The figures of a REPORT line.
struct Report {
    duration: String,
    billed: String,
    memory_used: String,
    init: Option<String>,
}

impl Report {
    /// The last REPORT line of `log`: `REPORT RequestId: .. Duration: 1.2 ms  Billed ...`.
    fn find(log: &str) -> Option<Self> {
        let line = log.lines().rev().find(|l| l.starts_with("REPORT "))?;
        let field = |name: &str| {
            line.split('\t')
                .map(str::trim)
                .find_map(|f| f.strip_prefix(name))
                .map(|v| v.trim().to_owned())
        };
        Some(Self {
            duration: field("Duration:")?,
            billed: field("Billed Duration:")?,
            memory_used: field("Max Memory Used:")?,
            init: field("Init Duration:"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_lines_give_their_figures() {
        let log = "START RequestId: r Version: $LATEST\nEND RequestId: r\nREPORT RequestId: r\tDuration: 2.10 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\tInit Duration: 15.02 ms\t\n";
        let r = Report::find(log).unwrap();
        assert_eq!(
            (r.duration.as_str(), r.billed.as_str()),
            ("2.10 ms", "3 ms")
        );
        assert_eq!(r.memory_used, "20 MB");
        assert_eq!(r.init.as_deref(), Some("15.02 ms"));
        let warm = log.replace("\tInit Duration: 15.02 ms", "");
        assert!(Report::find(&warm).unwrap().init.is_none());
        assert!(Report::find("no report").is_none());
    }
}

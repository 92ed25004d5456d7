//! A function's "Asynchronous invocation" section, read-only: each qualifier's configuration
//! (ListFunctionEventInvokeConfigs) and the dead-letter target of `$LATEST`, as the AWS
//! console shows them. Changing them is the API's job (`put-function-event-invoke-config`).

use lamina_control::functions::{EventInvokeConfigView, dead_letter_target};
use lamina_types::LambdaError;
use lamina_types::function_config::FunctionVersionRecord;
use maud::{Markup, html};

use super::page::alert;
use super::session::Session;
use crate::AppState;

async fn all_configs(
    state: &AppState,
    session: &Session,
    function: &str,
) -> Result<Vec<EventInvokeConfigView>, LambdaError> {
    let mut items = Vec::new();
    let mut marker = None;
    loop {
        let page = state
            .functions
            .list_event_invoke_configs(&session.scope, function, marker.as_deref(), None)
            .await?;
        items.extend(page.items);
        match page.next_marker {
            Some(m) => marker = Some(m),
            None => return Ok(items),
        }
    }
}

/// `21600` as the AWS console words an age: `6h 0min 0sec`.
fn age(secs: u32) -> String {
    format!("{}h {}min {}sec", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// The qualifier at the end of a configuration's qualified `FunctionArn`.
fn qualifier(view: &EventInvokeConfigView) -> &str {
    view.function_arn.rsplit(':').next().unwrap_or_default()
}

/// The section of `$LATEST`'s page.
pub(super) async fn section(
    state: &AppState,
    session: &Session,
    latest: &FunctionVersionRecord,
) -> Markup {
    let configs = all_configs(state, session, &latest.name).await;
    let dead_letter = dead_letter_target(&latest.config);
    html! {
        section #asynchronous-invocation aria-labelledby="async-heading" {
            h2 #async-heading { "Asynchronous invocation" }
            @match &configs {
                Err(e) => (alert(e.message())),
                Ok(configs) if configs.is_empty() => {
                    p { "No configuration: an event is retried twice after a function error and kept up to " (age(21_600)) "." }
                }
                Ok(configs) => {
                    div.table-wrap {
                        table #event-invoke-configs {
                            thead { tr {
                                th scope="col" { "Qualifier" }
                                th scope="col" { "Retry attempts" }
                                th scope="col" { "Maximum age of event" }
                                th scope="col" { "On success" }
                                th scope="col" { "On failure" }
                            } }
                            tbody {
                                @for c in configs {
                                    tr {
                                        td { (qualifier(c)) }
                                        td { (c.maximum_retry_attempts.unwrap_or(2)) }
                                        td { (age(c.maximum_event_age_secs.unwrap_or(21_600))) }
                                        td.arn { (c.on_success.as_deref().unwrap_or("-")) }
                                        td.arn { (c.on_failure.as_deref().unwrap_or("-")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            dl.facts {
                dt { "Dead-letter target" } dd.arn #dead-letter { (dead_letter.as_deref().unwrap_or("None")) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::routes::test_support::{ACCOUNT, TestApi};

    #[tokio::test]
    async fn the_page_shows_each_qualifiers_configuration_read_only() {
        let api = TestApi::start().await;
        api.create_function("f").await;
        api.create_function("d").await;
        let (_, _, html) = api.page("GET", "/console/functions/f", None).await;
        assert!(
            html.contains("No configuration: an event is retried twice"),
            "{html}"
        );
        assert!(html.contains(r#"id="dead-letter">None<"#), "{html}");

        let destination = format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:d");
        api.call(
            "PUT",
            "/2019-09-25/functions/f/event-invoke-config",
            Some(json!({
                "MaximumRetryAttempts": 0,
                "MaximumEventAgeInSeconds": 3661,
                "DestinationConfig": { "OnFailure": { "Destination": destination } },
            })),
        )
        .await
        .ok(200);
        api.call(
            "PUT",
            "/2015-03-31/functions/f/configuration",
            Some(json!({ "DeadLetterConfig": { "TargetArn": destination } })),
        )
        .await
        .ok(200);
        let (status, _, html) = api.page("GET", "/console/functions/f", None).await;

        assert_eq!(status, 200);
        let row = format!(
            "<td>$LATEST</td><td>0</td><td>1h 1min 1sec</td><td class=\"arn\">-</td><td class=\"arn\">{destination}</td>"
        );
        assert!(html.contains(&row), "{html}");
        assert!(
            html.contains(&format!(r#"id="dead-letter">{destination}<"#)),
            "{html}"
        );
    }
}

//! The functions list and a function's page: its configuration, its Layers section (as AWS's
//! console shows it) and its Test section.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;
use lamina_control::functions::{FunctionView, ListFunctionsQuery};
use lamina_types::LayerVersionArn;
use lamina_types::timestamp::format_millis;
use maud::{Markup, html};

use super::page::{alert, csrf_field, ok, page, respond, status_of};
use super::session::Session;
use crate::AppState;

/// `GET /console/functions`: every function of the account (all pages of ListFunctions).
pub(super) async fn list(State(state): State<Arc<AppState>>, session: Session) -> Response {
    let mut functions = Vec::new();
    let mut query = ListFunctionsQuery::default();
    loop {
        match state.functions.list(&session.scope, &query).await {
            Ok(page) => {
                functions.extend(page.items);
                match page.next_marker {
                    Some(m) => query.marker = Some(m),
                    None => break,
                }
            }
            Err(e) => {
                let body = alert(e.message());
                return respond(status_of(&e), page(Some(&session), "Functions", body));
            }
        }
    }
    ok(page(
        Some(&session),
        "Functions",
        html! {
            section {
                div.actions { a.button href="/console/functions/create" { "Create function" } }
                label for="function-search" { "Search functions" }
                input #function-search type="search" data-filter="#functions" placeholder="Name, runtime or layer";
                @if functions.is_empty() {
                    p.hint { "No functions yet. Create one here, with " code { "aws lambda create-function" } " or " code { "lamina function create" } "." }
                }
                div.table-wrap {
                    table #functions {
                        thead { tr {
                            th scope="col" { "Name" } th scope="col" { "Runtime" } th scope="col" { "Layers" }
                            th scope="col" { "Memory (MB)" } th scope="col" { "Last modified" } th scope="col" { "State" }
                        } }
                        tbody {
                            @for f in &functions { (function_row(f)) }
                        }
                    }
                }
            }
        },
    ))
}

fn function_row(f: &FunctionView) -> Markup {
    let r = &f.record;
    html! {
        tr {
            td { a href=(format!("/console/functions/{}", r.name)) { (r.name) } }
            td { (r.config.runtime.as_deref().unwrap_or("-")) }
            td { (r.config.layers.len()) }
            td { (r.config.memory_mb) }
            td { (format_millis(r.last_modified_millis)) }
            td { (r.status.state.as_str()) }
        }
    }
}

/// `GET /console/functions/{name}`.
pub(super) async fn show(
    State(state): State<Arc<AppState>>,
    session: Session,
    Path(name): Path<String>,
) -> Response {
    function_page(&state, &session, &name, None, None).await
}

/// The event of the Test section before the user writes one (AWS's "hello-world" template).
const DEFAULT_EVENT: &str = r#"{"key1": "value1", "key2": "value2", "key3": "value3"}"#;

/// A test run to show on the function page: the event as sent and what came back.
pub(super) struct TestShown {
    /// The event JSON, kept in the editor.
    pub(super) event: String,
    /// The result's markup.
    pub(super) result: Markup,
}

/// A function's page, with the result of a test run when there is one, or an error.
pub(super) async fn function_page(
    state: &AppState,
    session: &Session,
    name: &str,
    test: Option<TestShown>,
    error: Option<&str>,
) -> Response {
    let view = match state
        .functions
        .get_configuration(&session.scope, name, None)
        .await
    {
        Ok(view) => view,
        Err(e) => {
            let status = status_of(&e);
            return respond(status, page(Some(session), name, alert(e.message())));
        }
    };
    let layers = layer_rows(state, session, &view).await;
    let versions = super::function_versions::sections(state, session, &view.record.name).await;
    let asynchronous = super::function_async::section(state, session, &view.record).await;
    let overlaps = super::layer_insight::overlaps_section(state, &view).await;
    let access = super::function_access::sections(state, session, &view.record.name).await;
    let urls = super::function_url::sections(state, session, &view.record.name).await;
    let r = &view.record;
    let (event, test) = match test {
        Some(t) => (t.event, Some(t.result)),
        None => (DEFAULT_EVENT.to_owned(), None),
    };
    let saved_key = format!(
        "{}/{}/{}",
        session.scope.account, session.scope.region, r.name
    );
    ok(page(
        Some(session),
        &r.name,
        html! {
            @if let Some(e) = error { (alert(e)) }
            div.actions {
                a.button.secondary #delete-function href=(format!("/console/functions/{}/delete", r.name)) { "Delete" }
            }
            section aria-labelledby="overview-heading" {
                h2 #overview-heading { "Function overview" }
                div.actions { a.button.secondary href=(format!("/console/functions/{}/monitor", r.name)) { "Monitor" } }
                dl.facts {
                    dt { "Function ARN" } dd.arn { (view.function_arn) }
                    dt { "Runtime" } dd { (r.config.runtime.as_deref().unwrap_or("-")) }
                    dt { "Handler" } dd { (r.config.handler.as_deref().unwrap_or("-")) }
                    dt { "Architecture" } dd { (r.config.architectures.join(", ")) }
                    dt { "Memory (MB)" } dd { (r.config.memory_mb) }
                    dt { "Timeout" } dd { (r.config.timeout_secs) " s" }
                    dt { "Ephemeral storage (MB)" } dd { (r.config.ephemeral_storage_mb) }
                    dt { "State" } dd { (r.status.state.as_str()) }
                    dt { "Last modified" } dd { (format_millis(r.last_modified_millis)) }
                    dt { "Description" } dd { (r.config.description) }
                }
                div.actions {
                    a.button.secondary #edit-configuration href=(format!("/console/functions/{}/configuration/edit", r.name)) { "Edit configuration" }
                }
            }
            (environment_section(&r.name, r.config.environment.as_ref()))
            (super::function_code::section(session, &r.name, r.code_size))
            section aria-labelledby="layers-heading" {
                h2 #layers-heading { "Layers" }
                div.actions {
                    a.button.secondary href=(format!("/console/functions/{}/layers/edit", r.name)) { "Edit" }
                    a.button href=(format!("/console/functions/{}/layers/add", r.name)) { "Add a layer" }
                }
                div.table-wrap {
                    table #function-layers {
                        thead { tr {
                            th scope="col" { "Merge order" } th scope="col" { "Name" } th scope="col" { "Layer version" }
                            th scope="col" { "Compatible runtimes" } th scope="col" { "Compatible architectures" } th scope="col" { "Version ARN" }
                        } }
                        tbody { @for row in &layers { (row) } }
                    }
                }
                @if layers.is_empty() { p.hint { "This function has no layers." } }
            }
            (overlaps)
            section aria-labelledby="test-heading" {
                h2 #test-heading { "Test" }
                form method="post" action=(format!("/console/functions/{}/test", r.name)) {
                    (csrf_field(session))
                    div.saved-events data-saved-events=(saved_key) {
                        label for="saved-event" { "Saved events" }
                        select #saved-event { option value="" { "(none)" } }
                        label for="event-name" { "Event name" }
                        input #event-name type="text" maxlength="25";
                        div.actions {
                            button.secondary type="button" #save-event { "Save event" }
                            button.secondary type="button" #delete-event { "Delete event" }
                        }
                        p.hint { "Saved events are kept in this browser." }
                    }
                    label for="event-json" { "Event JSON" }
                    textarea #event-json name="event" spellcheck="false" { (event) }
                    div.actions { button type="submit" { "Test" } }
                }
                @if let Some(t) = test { (t) }
            }
            (versions)
            (urls)
            (asynchronous)
            (access)
        },
    ))
}

/// The "Environment variables" section: the variables, and "Edit".
fn environment_section(
    function: &str,
    variables: Option<&std::collections::BTreeMap<String, String>>,
) -> Markup {
    html! {
        section aria-labelledby="environment-heading" {
            h2 #environment-heading { "Environment variables" }
            div.actions {
                a.button.secondary #edit-environment href=(format!("/console/functions/{function}/environment/edit")) { "Edit environment variables" }
            }
            @match variables.filter(|v| !v.is_empty()) {
                None => p.hint { "No environment variables." },
                Some(vars) => div.table-wrap {
                    table #function-environment {
                        thead { tr { th scope="col" { "Key" } th scope="col" { "Value" } } }
                        tbody { @for (k, v) in vars { tr { td { (k) } td { (v) } } } }
                    }
                },
            }
        }
    }
}

/// One row per attached layer, in merge order, with what its version declares (a version that
/// was deleted after it was attached still runs, and shows its ARN only).
async fn layer_rows(state: &AppState, session: &Session, view: &FunctionView) -> Vec<Markup> {
    let mut rows = Vec::new();
    for (i, attached) in view.record.config.layers.iter().enumerate() {
        let parsed = LayerVersionArn::parse(&attached.arn, "arn").ok();
        let record = state
            .layers
            .get_by_arn(&session.scope, &attached.arn)
            .await
            .ok();
        let join = |l: &Option<Vec<String>>| {
            l.as_ref()
                .map(|v| v.join(", "))
                .unwrap_or_else(|| "-".into())
        };
        rows.push(html! {
            tr {
                td { (i + 1) }
                td { (parsed.as_ref().map(|a| a.name.to_string()).unwrap_or_default()) }
                td { (parsed.as_ref().map(|a| a.version.to_string()).unwrap_or_default()) }
                td { (record.as_ref().map(|r| join(&r.compatible_runtimes)).unwrap_or_else(|| "-".into())) }
                td { (record.as_ref().map(|r| join(&r.compatible_architectures)).unwrap_or_else(|| "-".into())) }
                td.arn { (attached.arn) }
            }
        });
    }
    rows
}

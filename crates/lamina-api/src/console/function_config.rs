//! "General configuration" of a function, edited as on AWS's console: runtime, handler,
//! description, memory, ephemeral storage and timeout. Save is UpdateFunctionConfiguration,
//! so the rules and their messages are the control plane's; each message is shown next to
//! the field it names, and the form keeps what was typed.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use lamina_control::functions::{ConfigInput, UpdateFunctionConfiguration};
use lamina_types::LambdaError;
use lamina_types::runtime::SUPPORTED_RUNTIMES;
use maud::{Markup, html};
use serde::Deserialize;

use super::field_errors::FieldErrors;
use super::page::{alert, csrf_field, ok, page, respond, status_of};
use super::session::Session;
use crate::AppState;

/// The model members this form edits, as the control plane's messages name them.
const MEMBERS: &[&str] = &[
    "runtime",
    "handler",
    "description",
    "memorySize",
    "ephemeralStorage",
    "timeout",
];

/// The form's fields, as typed (numbers stay text until Save, so a bad one is shown back).
#[derive(Deserialize, Default)]
pub(super) struct GeneralForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    runtime: String,
    #[serde(default)]
    handler: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    memory: String,
    #[serde(default)]
    ephemeral_storage: String,
    #[serde(default)]
    timeout: String,
}

/// `GET /console/functions/{name}/configuration/edit`.
pub(super) async fn edit_form(
    State(state): State<Arc<AppState>>,
    session: Session,
    Path(function): Path<String>,
) -> Response {
    match state
        .functions
        .get_configuration(&session.scope, &function, None)
        .await
    {
        Ok(view) => {
            let c = &view.record.config;
            let form = GeneralForm {
                csrf: String::new(),
                runtime: c.runtime.clone().unwrap_or_default(),
                handler: c.handler.clone().unwrap_or_default(),
                description: c.description.clone(),
                memory: c.memory_mb.to_string(),
                ephemeral_storage: c.ephemeral_storage_mb.to_string(),
                timeout: c.timeout_secs.to_string(),
            };
            ok(edit_page(&session, &function, &form, &FieldErrors::none()))
        }
        Err(e) => error_page(&session, "Edit basic settings", &e),
    }
}

pub(super) fn error_page(session: &Session, title: &str, e: &LambdaError) -> Response {
    let status = status_of(e);
    respond(status, page(Some(session), title, alert(e.message())))
}

/// A text or number field with its label, hint and AWS's message about it.
pub(super) fn field(
    errors: &FieldErrors,
    member: &str,
    id: &str,
    label: &str,
    input: Markup,
    hint: Option<&str>,
) -> Markup {
    html! {
        div.field data-member=(member) {
            label for=(id) { (label) }
            (input)
            @if let Some(h) = hint { p.hint { (h) } }
            (errors.at(member))
        }
    }
}

fn edit_page(
    session: &Session,
    function: &str,
    form: &GeneralForm,
    errors: &FieldErrors,
) -> Markup {
    let described = |m: &str| errors.described_by(m);
    let invalid = |m: &str| errors.described_by(m).map(|_| "true");
    page(
        Some(session),
        "Edit basic settings",
        html! {
            p { "Function " a href=(format!("/console/functions/{function}")) { (function) } }
            (errors.general())
            form method="post" action=(format!("/console/functions/{function}/configuration/edit")) novalidate {
                (csrf_field(session))
                (field(errors, "description", "config-description", "Description",
                    html! { input #config-description type="text" name="description" value=(form.description)
                        aria-describedby=[described("description")] aria-invalid=[invalid("description")]; },
                    None))
                (field(errors, "runtime", "config-runtime", "Runtime",
                    html! {
                        select #config-runtime name="runtime" aria-describedby=[described("runtime")] aria-invalid=[invalid("runtime")] {
                            @if !SUPPORTED_RUNTIMES.contains(&form.runtime.as_str()) {
                                option value=(form.runtime) selected { (form.runtime) }
                            }
                            @for r in SUPPORTED_RUNTIMES {
                                option value=(r) selected[r == form.runtime] { (r) }
                            }
                        }
                    },
                    None))
                (field(errors, "handler", "config-handler", "Handler",
                    html! { input #config-handler type="text" name="handler" value=(form.handler)
                        aria-describedby=[described("handler")] aria-invalid=[invalid("handler")]; },
                    Some("file.function, e.g. lambda_function.lambda_handler")))
                (field(errors, "memorySize", "config-memory", "Memory (MB)",
                    html! { input #config-memory type="number" name="memory" value=(form.memory)
                        aria-describedby=[described("memorySize")] aria-invalid=[invalid("memorySize")]; },
                    Some("Between 128 MB and 10240 MB.")))
                (field(errors, "ephemeralStorage", "config-ephemeral-storage", "Ephemeral storage (MB)",
                    html! { input #config-ephemeral-storage type="number" name="ephemeral_storage" value=(form.ephemeral_storage)
                        aria-describedby=[described("ephemeralStorage")] aria-invalid=[invalid("ephemeralStorage")]; },
                    Some("Between 512 MB and 10240 MB.")))
                (field(errors, "timeout", "config-timeout", "Timeout (seconds)",
                    html! { input #config-timeout type="number" name="timeout" value=(form.timeout)
                        aria-describedby=[described("timeout")] aria-invalid=[invalid("timeout")]; },
                    Some("Between 1 and 900 seconds.")))
                div.actions {
                    a.button.secondary href=(format!("/console/functions/{function}")) { "Cancel" }
                    button type="submit" { "Save" }
                }
            }
        },
    )
}

/// A number field as typed: `None` when empty (not sent), else the number, or the console's
/// own words when it is not one (no request could carry it, so AWS has no message for it).
fn number(errors: &mut FieldErrors, member: &str, raw: &str) -> Option<i64> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    match raw.parse::<i64>() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.add(member, &format!("'{raw}' is not a whole number."));
            None
        }
    }
}

/// `POST /console/functions/{name}/configuration/edit`.
pub(super) async fn save(
    State(state): State<Arc<AppState>>,
    session: Session,
    Path(function): Path<String>,
    Form(form): Form<GeneralForm>,
) -> Response {
    if !session.csrf_matches(&form.csrf) {
        return super::forbidden();
    }
    let mut errors = FieldErrors::none();
    let memory_size = number(&mut errors, "memorySize", &form.memory);
    let timeout = number(&mut errors, "timeout", &form.timeout);
    let storage = number(&mut errors, "ephemeralStorage", &form.ephemeral_storage);
    if !errors.is_empty() {
        return respond(
            StatusCode::BAD_REQUEST,
            edit_page(&session, &function, &form, &errors),
        );
    }
    let update = UpdateFunctionConfiguration {
        function_name: function.clone(),
        revision_id: None,
        config: ConfigInput {
            runtime: Some(form.runtime.clone()),
            handler: Some(form.handler.clone()),
            description: Some(form.description.clone()),
            memory_size,
            timeout,
            ephemeral_storage: storage.map(Some),
            ..ConfigInput::default()
        },
    };
    match state
        .functions
        .update_configuration(&session.scope, update)
        .await
    {
        Ok(_) => Redirect::to(&format!("/console/functions/{function}")).into_response(),
        Err(e) => {
            let status = status_of(&e);
            let errors = FieldErrors::of(&e, MEMBERS);
            respond(status, edit_page(&session, &function, &form, &errors))
        }
    }
}

//! "Environment variables" of a function, edited as on AWS's console: rows of key and value,
//! "Add environment variable", "Remove", then Save (UpdateFunctionConfiguration
//! `Environment`). The pending rows travel in the form, so adding and removing rows needs no
//! script; AWS's messages (bad names, reserved keys, 4 KB) are shown next to the variables.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use lamina_control::functions::{ConfigInput, EnvironmentVariables, UpdateFunctionConfiguration};
use maud::{Markup, html};

use super::field_errors::FieldErrors;
use super::function_config::error_page;
use super::page::{csrf_field, ok, page, respond, status_of};
use super::session::Session;
use crate::AppState;

/// `GET /console/functions/{name}/environment/edit`.
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
            let rows: Vec<(String, String)> = view
                .record
                .config
                .environment
                .unwrap_or_default()
                .into_iter()
                .collect();
            ok(edit_page(&session, &function, &rows, &FieldErrors::none()))
        }
        Err(e) => error_page(&session, "Edit environment variables", &e),
    }
}

fn edit_page(
    session: &Session,
    function: &str,
    rows: &[(String, String)],
    errors: &FieldErrors,
) -> Markup {
    let described = errors.described_by("environment");
    page(
        Some(session),
        "Edit environment variables",
        html! {
            p { "Function " a href=(format!("/console/functions/{function}")) { (function) } }
            (errors.general())
            form method="post" action=(format!("/console/functions/{function}/environment/edit")) {
                (csrf_field(session))
                fieldset #environment-variables data-member="environment" aria-describedby=[described] {
                    legend { "Environment variables" }
                    div.table-wrap {
                        table #edit-environment {
                            thead { tr { th scope="col" { "Key" } th scope="col" { "Value" } th scope="col" { "Actions" } } }
                            tbody {
                                @for (i, (key, value)) in rows.iter().enumerate() {
                                    tr {
                                        td {
                                            label.visually-hidden for=(format!("env-key-{i}")) { "Key " (i + 1) }
                                            input id=(format!("env-key-{i}")) type="text" name="key" value=(key);
                                        }
                                        td {
                                            label.visually-hidden for=(format!("env-value-{i}")) { "Value " (i + 1) }
                                            input id=(format!("env-value-{i}")) type="text" name="value" value=(value);
                                        }
                                        td.actions {
                                            button.secondary type="submit" name="op" value=(format!("remove:{i}"))
                                                aria-label=(format!("Remove environment variable {}", i + 1)) { "Remove" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    @if rows.is_empty() { p.hint { "No environment variables." } }
                    (errors.at("environment"))
                }
                div.actions {
                    button.secondary type="submit" name="op" value="add" { "Add environment variable" }
                }
                div.actions {
                    a.button.secondary href=(format!("/console/functions/{function}")) { "Cancel" }
                    button type="submit" name="op" value="save" { "Save" }
                }
            }
        },
    )
}

/// The form as posted: the CSRF token, the rows (`key` and `value` repeated, in order) and
/// the button pressed.
fn posted(body: &str) -> (Option<String>, Vec<(String, String)>, String) {
    let mut csrf = None;
    let mut keys = Vec::new();
    let mut values = Vec::new();
    let mut op = String::new();
    let pairs = serde_urlencoded::from_str::<Vec<(String, String)>>(body).unwrap_or_default();
    for (k, v) in pairs {
        match k.as_str() {
            "csrf" => csrf = Some(v),
            "key" => keys.push(v),
            "value" => values.push(v),
            "op" => op = v,
            _ => {}
        }
    }
    values.resize(keys.len(), String::new());
    (csrf, keys.into_iter().zip(values).collect(), op)
}

/// `POST /console/functions/{name}/environment/edit`: "Add environment variable" and "Remove"
/// change the pending rows and show them again; "Save" applies them (a row with neither key
/// nor value is left out, as AWS's console does).
pub(super) async fn save(
    State(state): State<Arc<AppState>>,
    session: Session,
    Path(function): Path<String>,
    body: String,
) -> Response {
    let (csrf, mut rows, op) = posted(&body);
    if !csrf.is_some_and(|c| session.csrf_matches(&c)) {
        return super::forbidden();
    }
    match op.split_once(':') {
        Some(("remove", i)) => {
            if let Some(i) = i.parse::<usize>().ok().filter(|i| *i < rows.len()) {
                rows.remove(i);
            }
            return ok(edit_page(&session, &function, &rows, &FieldErrors::none()));
        }
        _ if op == "add" => {
            rows.push((String::new(), String::new()));
            return ok(edit_page(&session, &function, &rows, &FieldErrors::none()));
        }
        _ => {}
    }
    rows.retain(|(k, v)| !(k.is_empty() && v.is_empty()));
    let variables: EnvironmentVariables = rows.iter().cloned().collect();
    let update = UpdateFunctionConfiguration {
        function_name: function.clone(),
        revision_id: None,
        config: ConfigInput {
            environment: Some(variables),
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
            let errors = FieldErrors::of(&e, &["environment"]);
            respond(status, edit_page(&session, &function, &rows, &errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posted_rows_keep_their_order_and_pair_up() {
        let (csrf, rows, op) = posted("csrf=t&key=B&value=2&key=A&value=1&op=save");
        assert_eq!(csrf.as_deref(), Some("t"));
        assert_eq!(
            rows,
            vec![("B".into(), "2".into()), ("A".into(), "1".into())]
        );
        assert_eq!(op, "save");
        let (_, rows, _) = posted("key=K");
        assert_eq!(rows, vec![("K".into(), String::new())]);
    }
}

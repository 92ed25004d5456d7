//! A function's "Versions" (ListVersionsByFunction, "Publish new version") and "Aliases"
//! (ListAliases, "Create alias", "Delete") sections. Each action is the AWS operation of the
//! same name; a refusal shows AWS's message on the function's page.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use lamina_control::functions::{AliasView, CreateAlias, FunctionView, PageQuery, PublishVersion};
use lamina_types::LambdaError;
use lamina_types::timestamp::format_millis;
use maud::{Markup, html};
use serde::Deserialize;

use super::functions::function_page;
use super::page::{alert, csrf_field};
use super::session::Session;
use crate::AppState;

async fn all_versions(
    state: &AppState,
    session: &Session,
    function: &str,
) -> Result<Vec<FunctionView>, LambdaError> {
    let mut items = Vec::new();
    let mut query = PageQuery::default();
    loop {
        let page = state
            .functions
            .list_versions(&session.scope, function, &query)
            .await?;
        items.extend(page.items);
        match page.next_marker {
            Some(m) => query.marker = Some(m),
            None => return Ok(items),
        }
    }
}

async fn all_aliases(
    state: &AppState,
    session: &Session,
    function: &str,
) -> Result<Vec<AliasView>, LambdaError> {
    let mut items = Vec::new();
    let mut query = PageQuery::default();
    loop {
        let page = state
            .functions
            .list_aliases(&session.scope, function, None, &query)
            .await?;
        items.extend(page.items);
        match page.next_marker {
            Some(m) => query.marker = Some(m),
            None => return Ok(items),
        }
    }
}

/// The "Versions" and "Aliases" sections of a function's page.
pub(super) async fn sections(state: &AppState, session: &Session, function: &str) -> Markup {
    let versions = all_versions(state, session, function).await;
    let aliases = all_aliases(state, session, function).await;
    let labels: Vec<String> = versions
        .as_ref()
        .map(|v| v.iter().map(|x| x.version.clone()).collect())
        .unwrap_or_default();
    html! {
        section #versions aria-labelledby="versions-heading" {
            h2 #versions-heading { "Versions" }
            @match &versions {
                Err(e) => (alert(e.message())),
                Ok(versions) => {
                    div.table-wrap {
                        table #function-versions {
                            thead { tr { th scope="col" { "Version" } th scope="col" { "Description" } th scope="col" { "Last modified" } th scope="col" { "Function ARN" } } }
                            tbody {
                                @for v in versions {
                                    tr {
                                        td { (v.version) }
                                        td { (v.record.config.description) }
                                        td { (format_millis(v.record.last_modified_millis)) }
                                        td.arn { (v.function_arn) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            form method="post" action=(format!("/console/functions/{function}/versions/publish")) {
                (csrf_field(session))
                label for="version-description" { "Version description" }
                input #version-description type="text" name="description" maxlength="256";
                div.actions { button type="submit" { "Publish new version" } }
            }
        }
        section #aliases aria-labelledby="aliases-heading" {
            h2 #aliases-heading { "Aliases" }
            @match &aliases {
                Err(e) => (alert(e.message())),
                Ok(aliases) => {
                    @if aliases.is_empty() { p.hint { "No aliases." } }
                    div.table-wrap {
                        table #function-aliases {
                            thead { tr { th scope="col" { "Name" } th scope="col" { "Version" } th scope="col" { "Description" } th scope="col" { "Alias ARN" } th scope="col" { "Actions" } } }
                            tbody {
                                @for a in aliases {
                                    tr {
                                        td { (a.record.name) }
                                        td { (a.record.function_version) }
                                        td { (a.record.description) }
                                        td.arn { (a.alias_arn) }
                                        td.actions {
                                            form.inline method="post" action=(format!("/console/functions/{function}/aliases/{}/delete", a.record.name)) {
                                                (csrf_field(session))
                                                button.secondary type="submit" aria-label=(format!("Delete alias {}", a.record.name)) { "Delete" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            form method="post" action=(format!("/console/functions/{function}/aliases/create")) {
                (csrf_field(session))
                h3 { "Create alias" }
                label for="alias-name" { "Alias name" }
                input #alias-name type="text" name="name" required maxlength="128";
                label for="alias-version" { "Version" }
                select #alias-version name="version" {
                    @for l in labels.iter().rev() { option value=(l) { (l) } }
                }
                label for="alias-description" { "Alias description" }
                input #alias-description type="text" name="description" maxlength="256";
                div.actions { button type="submit" { "Create alias" } }
            }
        }
    }
}

/// What the sections' forms post.
#[derive(Deserialize)]
pub(super) struct VersionForm {
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    description: String,
}

/// The function's page after an action: its sections when it worked, AWS's message when not.
async fn after(
    state: &AppState,
    session: &Session,
    function: &str,
    result: Result<(), LambdaError>,
    anchor: &str,
) -> Response {
    match result {
        Ok(()) => Redirect::to(&format!("/console/functions/{function}#{anchor}")).into_response(),
        Err(e) => function_page(state, session, function, None, Some(e.message())).await,
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// `POST /console/functions/{name}/versions/publish`: PublishVersion.
pub(super) async fn publish(
    State(state): State<Arc<AppState>>,
    session: Session,
    Path(function): Path<String>,
    Form(form): Form<VersionForm>,
) -> Response {
    if !session.csrf_matches(&form.csrf) {
        return super::forbidden();
    }
    let cmd = PublishVersion {
        function_name: function.clone(),
        description: non_empty(&form.description),
        ..PublishVersion::default()
    };
    let result = state.functions.publish_version(&session.scope, cmd).await;
    after(&state, &session, &function, result.map(|_| ()), "versions").await
}

/// `POST /console/functions/{name}/aliases/create`: CreateAlias.
pub(super) async fn create_alias(
    State(state): State<Arc<AppState>>,
    session: Session,
    Path(function): Path<String>,
    Form(form): Form<VersionForm>,
) -> Response {
    if !session.csrf_matches(&form.csrf) {
        return super::forbidden();
    }
    let cmd = CreateAlias {
        function_name: function.clone(),
        name: Some(form.name.trim().to_owned()),
        function_version: Some(form.version.clone()),
        description: non_empty(&form.description),
        routing: None,
    };
    let result = state.functions.create_alias(&session.scope, cmd).await;
    after(&state, &session, &function, result.map(|_| ()), "aliases").await
}

/// `POST /console/functions/{name}/aliases/{alias}/delete`: DeleteAlias.
pub(super) async fn delete_alias(
    State(state): State<Arc<AppState>>,
    session: Session,
    Path((function, alias)): Path<(String, String)>,
    Form(form): Form<VersionForm>,
) -> Response {
    if !session.csrf_matches(&form.csrf) {
        return super::forbidden();
    }
    let result = state
        .functions
        .delete_alias(&session.scope, &function, &alias)
        .await;
    after(&state, &session, &function, result, "aliases").await
}

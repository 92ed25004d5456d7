//! The parts of a layer version's page beyond its details: every version of the layer
//! (ListLayerVersions), which functions of the account use this version ("Used by", which AWS's
//! console does not show) and "Delete" (DeleteLayerVersion, after a confirmation page).

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use lamina_control::functions::ListFunctionsQuery;
use lamina_control::layers::ListQuery;
use lamina_types::layer::LayerVersionRecord;
use lamina_types::timestamp::format_millis;
use lamina_types::{LambdaError, Scope};
use maud::{Markup, html};
use serde::Deserialize;

use super::page::{alert, csrf_field, ok, page, respond, status_of};
use super::session::Session;
use crate::AppState;

fn version_href(name: &str, version: i64) -> String {
    format!("/console/layers/{name}/versions/{version}")
}

/// Every version of layer `name`, newest first (all pages of ListLayerVersions).
async fn all_versions(
    state: &AppState,
    scope: &Scope,
    name: &str,
) -> Result<Vec<LayerVersionRecord>, LambdaError> {
    let mut versions = Vec::new();
    let mut query = ListQuery::default();
    loop {
        let page = state.layers.list_versions(scope, name, &query).await?;
        versions.extend(page.items);
        match page.next_marker {
            Some(m) => query.marker = Some(m),
            None => return Ok(versions),
        }
    }
}

/// The "Versions" section: every version of the layer, this one marked.
pub(super) async fn versions_section(
    state: &AppState,
    session: &Session,
    record: &LayerVersionRecord,
) -> Markup {
    let name = record.name.to_string();
    let name = name.as_str();
    let versions = all_versions(state, &session.scope, name).await;
    html! {
        section aria-labelledby="versions-heading" {
            h2 #versions-heading { "Versions" }
            @match &versions {
                Err(e) => (alert(e.message())),
                Ok(list) => div.table-wrap {
                    table #layer-versions {
                        thead { tr {
                            th scope="col" { "Version" } th scope="col" { "Description" }
                            th scope="col" { "Created" } th scope="col" { "Compatible runtimes" }
                        } }
                        tbody {
                            @for v in list {
                                tr {
                                    td {
                                        @if v.version == record.version {
                                            a href=(version_href(name, v.version)) aria-current="page" { (v.version) }
                                        } @else {
                                            a href=(version_href(name, v.version)) { (v.version) }
                                        }
                                    }
                                    td { (v.description) }
                                    td { (format_millis(v.created_millis)) }
                                    td { (v.compatible_runtimes.as_ref().map(|r| r.join(", ")).unwrap_or_else(|| "-".into())) }
                                }
                            }
                        }
                    }
                },
            }
        }
    }
}

/// The names of the account's functions whose `$LATEST` has the version `arn` among its
/// layers, with its place in their merge order (from 1).
async fn users_of(
    state: &AppState,
    scope: &Scope,
    arn: &str,
) -> Result<Vec<(String, usize)>, LambdaError> {
    let mut users = Vec::new();
    let mut query = ListFunctionsQuery::default();
    loop {
        let page = state.functions.list(scope, &query).await?;
        for f in &page.items {
            let layers = &f.record.config.layers;
            if let Some(i) = layers.iter().position(|l| l.arn == arn) {
                users.push((f.record.name.clone(), i + 1));
            }
        }
        match page.next_marker {
            Some(m) => query.marker = Some(m),
            None => return Ok(users),
        }
    }
}

/// The "Used by" section: the account's functions that use this version.
pub(super) async fn used_by_section(
    state: &AppState,
    session: &Session,
    record: &LayerVersionRecord,
) -> Markup {
    let arn = state.layers.version_arn(record);
    let users = users_of(state, &session.scope, &arn).await;
    html! {
        section aria-labelledby="used-by-heading" {
            h2 #used-by-heading { "Used by" }
            @match &users {
                Err(e) => (alert(e.message())),
                Ok(list) if list.is_empty() => p.hint #layer-used-by-none { "No function of this account uses this version." },
                Ok(list) => div.table-wrap {
                    table #layer-used-by {
                        thead { tr { th scope="col" { "Function" } th scope="col" { "Merge order" } } }
                        tbody {
                            @for (function, place) in list {
                                tr {
                                    td { a href=(format!("/console/functions/{function}")) { (function) } }
                                    td { (place) }
                                }
                            }
                        }
                    }
                },
            }
        }
    }
}

/// `GET /console/layers/{name}/versions/{version}/delete`: the confirmation.
pub(super) async fn delete_form(
    State(state): State<Arc<AppState>>,
    session: Session,
    Path((name, version)): Path<(String, i64)>,
) -> Response {
    let title = format!("Delete {name} version {version}");
    let record = match state.layers.get(&session.scope, &name, version).await {
        Ok(r) => r,
        Err(e) => {
            let status = status_of(&e);
            return respond(status, page(Some(&session), &title, alert(e.message())));
        }
    };
    let arn = state.layers.version_arn(&record);
    let users = users_of(&state, &session.scope, &arn)
        .await
        .unwrap_or_default();
    let back = version_href(&name, version);
    ok(page(
        Some(&session),
        &title,
        html! {
            section {
                p #delete-summary {
                    "Delete version " (version) " of layer " (name) "? "
                    "It can no longer be added to functions, and no version number is ever reused. "
                    "Functions that already use it keep running it."
                }
                @if !users.is_empty() {
                    p #delete-users {
                        "Used by: "
                        @for (i, (function, _)) in users.iter().enumerate() {
                            @if i > 0 { ", " }
                            a href=(format!("/console/functions/{function}")) { (function) }
                        }
                        "."
                    }
                }
                form #delete-layer-version method="post" action=(format!("{back}/delete")) {
                    (csrf_field(&session))
                    div.actions {
                        a.button.secondary href=(back) { "Cancel" }
                        button type="submit" { "Delete" }
                    }
                }
            }
        },
    ))
}

#[derive(Deserialize)]
pub(super) struct DeleteForm {
    csrf: String,
}

/// `POST /console/layers/{name}/versions/{version}/delete`: DeleteLayerVersion, then the
/// layer's remaining newest version (or the layers list when none is left).
pub(super) async fn delete(
    State(state): State<Arc<AppState>>,
    session: Session,
    Path((name, version)): Path<(String, i64)>,
    Form(form): Form<DeleteForm>,
) -> Response {
    if !session.csrf_matches(&form.csrf) {
        return super::forbidden();
    }
    if let Err(e) = state.layers.delete(&session.scope, &name, version).await {
        let status = status_of(&e);
        let title = format!("Delete {name} version {version}");
        return respond(status, page(Some(&session), &title, alert(e.message())));
    }
    let newest = all_versions(&state, &session.scope, &name)
        .await
        .ok()
        .and_then(|v| v.first().map(|r| r.version));
    match newest {
        Some(v) => Redirect::to(&version_href(&name, v)).into_response(),
        None => Redirect::to("/console/layers").into_response(),
    }
}

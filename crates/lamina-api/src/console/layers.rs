//! The account's layers: the list, "Create layer" (a .zip upload with a progress bar) and a
//! layer version's page (details, download, and the sections of its sibling modules).

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use lamina_control::layers::{LayerContent, ListQuery, PublishLayerVersion};
use lamina_types::LambdaError;
use lamina_types::runtime::{ALL_ARCHITECTURES, SUPPORTED_RUNTIMES};
use lamina_types::timestamp::format_millis;
use maud::html;
use serde_json::json;

use super::function_code::{error_json, zip_base64};
use super::page::{alert, csrf_field, ok, page, respond, status_of};
use super::session::Session;
use super::{layer_insight, layer_permissions, layer_version};
use crate::AppState;

/// `GET /console/layers`: each layer with its latest version.
pub(super) async fn list(State(state): State<Arc<AppState>>, session: Session) -> Response {
    let mut layers = Vec::new();
    let mut query = ListQuery::default();
    loop {
        match state.layers.list_layers(&session.scope, &query).await {
            Ok(p) => {
                layers.extend(p.items);
                match p.next_marker {
                    Some(m) => query.marker = Some(m),
                    None => break,
                }
            }
            Err(e) => {
                return respond(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    page(Some(&session), "Layers", alert(e.message())),
                );
            }
        }
    }
    ok(page(
        Some(&session),
        "Layers",
        html! {
            section {
                div.actions { a.button href="/console/layers/create" { "Create layer" } }
                @if layers.is_empty() { p.hint { "No layers yet." } }
                div.table-wrap {
                    table #layers {
                        thead { tr { th scope="col" { "Name" } th scope="col" { "Latest version" } th scope="col" { "Description" } th scope="col" { "Compatible runtimes" } } }
                        tbody {
                            @for l in &layers {
                                tr {
                                    td { a href=(format!("/console/layers/{}/versions/{}", l.name, l.version)) { (l.name) } }
                                    td { (l.version) }
                                    td { (l.description) }
                                    td { (l.compatible_runtimes.as_ref().map(|r| r.join(", ")).unwrap_or_default()) }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}

/// `GET /console/layers/create`.
pub(super) async fn create_form(session: Session) -> Response {
    ok(page(
        Some(&session),
        "Create layer",
        html! {
            section {
                form method="post" action="/console/layers/upload" data-upload="/console/layers/upload" enctype="application/zip" {
                    (csrf_field(&session))
                    div.alert role="alert" data-upload-error hidden {}
                    label for="layer-name" { "Name" }
                    input #layer-name type="text" name="name" required maxlength="140";
                    label for="layer-description" { "Description" }
                    input #layer-description type="text" name="description" maxlength="256";
                    label for="layer-zip" { "Upload a .zip file" }
                    input #layer-zip type="file" name="zip" accept=".zip,application/zip" required;
                    p.hint { "Up to 50 MB. For Python, put packages under " code { "python/" } " (" code { "pip install -t python/ ..." } ")." }
                    fieldset {
                        legend { "Compatible architectures" }
                        @for a in ALL_ARCHITECTURES {
                            label.choice { input type="checkbox" name="architecture" value=(a); (a) }
                        }
                    }
                    fieldset {
                        legend { "Compatible runtimes" }
                        @for r in SUPPORTED_RUNTIMES {
                            label.choice { input type="checkbox" name="runtime" value=(r); (r) }
                        }
                    }
                    label for="layer-license" { "License" }
                    input #layer-license type="text" name="license" maxlength="512";
                    label for="upload-progress" { "Upload progress" }
                    progress #upload-progress max="1" value="0" {}
                    div.actions { a.button.secondary href="/console/layers" { "Cancel" } button type="submit" { "Create" } }
                }
            }
        },
    ))
}

/// `POST /console/layers/upload?name=..&description=..&runtime=..&architecture=..&license=..&csrf=..`
/// with the ZIP as the body: PublishLayerVersion; answers JSON `{location}` of the new
/// version's page, or `{message}` with AWS's error.
pub(super) async fn upload(
    State(state): State<Arc<AppState>>,
    session: Session,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(uri.query().unwrap_or_default()).unwrap_or_default();
    let one = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let many = |k: &str| -> Option<Vec<String>> {
        let v: Vec<String> = pairs
            .iter()
            .filter(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .collect();
        (!v.is_empty()).then_some(v)
    };
    if !one("csrf").is_some_and(|c| session.csrf_matches(&c)) {
        return super::forbidden();
    }
    let result = async {
        let zip = zip_base64(&headers, body, "PublishLayerVersion").await?;
        let cmd = PublishLayerVersion {
            layer_name: one("name").unwrap_or_default(),
            description: one("description").filter(|d| !d.is_empty()),
            compatible_runtimes: many("runtime"),
            compatible_architectures: many("architecture"),
            license_info: one("license").filter(|l| !l.is_empty()),
            content: Some(LayerContent {
                zip_file_base64: Some(zip),
                ..LayerContent::default()
            }),
        };
        state.layers.publish(&session.scope, cmd).await
    }
    .await;
    match result {
        Ok(r) => Json(json!({
            "location": format!("/console/layers/{}/versions/{}", r.name, r.version)
        }))
        .into_response(),
        Err(e) => error_json(&e),
    }
}

/// `GET /console/layers/{name}/versions/{version}`.
pub(super) async fn version_page(
    State(state): State<Arc<AppState>>,
    session: Session,
    headers: HeaderMap,
    Path((name, version)): Path<(String, i64)>,
) -> Response {
    version_page_with(&state, &session, &headers, &name, version, None).await
}

/// An action on a version's page that AWS refused: its message, and the permission form as
/// posted when that was the action.
pub(super) struct Failed<'a> {
    pub(super) error: &'a LambdaError,
    pub(super) draft: Option<&'a layer_permissions::AddForm>,
}

/// A version's page, with the failed action on it when there is one.
pub(super) async fn version_page_with(
    state: &AppState,
    session: &Session,
    headers: &HeaderMap,
    name: &str,
    version: i64,
    failed: Option<Failed<'_>>,
) -> Response {
    let title = format!("{name} version {version}");
    let record = match state.layers.get(&session.scope, name, version).await {
        Ok(r) => r,
        Err(e) => {
            let status = status_of(&e);
            return respond(status, page(Some(session), &title, alert(e.message())));
        }
    };
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let download = state
        .content
        .url(host, &record.code_sha256, &session.scope.account)
        .await;
    let join = |l: &Option<Vec<String>>| {
        l.as_ref()
            .map(|v| v.join(", "))
            .unwrap_or_else(|| "-".into())
    };
    let status = failed
        .as_ref()
        .and_then(|f| StatusCode::from_u16(f.error.status()).ok())
        .unwrap_or(StatusCode::OK);
    let body = html! {
        @if let Some(f) = &failed { (alert(f.error.message())) }
        section aria-labelledby="details-heading" {
            h2 #details-heading { "Details" }
            dl.facts {
                dt { "Version ARN" } dd.arn #layer-version-arn { (state.layers.version_arn(&record)) }
                dt { "Description" } dd { (record.description) }
                dt { "Created" } dd { (format_millis(record.created_millis)) }
                dt { "Compatible runtimes" } dd { (join(&record.compatible_runtimes)) }
                dt { "Compatible architectures" } dd { (join(&record.compatible_architectures)) }
                dt { "License" } dd { (record.license_info.as_deref().unwrap_or("-")) }
                dt { "Size" } dd { (record.code_size) " bytes (" (record.unzipped_size) " bytes unzipped)" }
            }
            div.actions {
                a.button.secondary href=(download) { "Download" }
                a.button.secondary href=(format!("/console/layers/{name}/versions/{version}/delete")) { "Delete" }
            }
        }
        (layer_permissions::section(state, session, name, version, failed.as_ref().and_then(|f| f.draft)).await)
        (layer_insight::opt_section(state, &record).await)
        (layer_version::used_by_section(state, session, &record).await)
        (layer_version::versions_section(state, session, &record).await)
    };
    respond(status, page(Some(session), &title, body))
}

//! A function's layers, changed as on AWS's console: "Add a layer" (from "Custom layers" of the
//! account, filtered by the function's runtime and architecture, or "Specify an ARN") and
//! "Edit" (reorder, remove). Both end in UpdateFunctionConfiguration, so AWS's rules and
//! messages (5 layers, one version per layer, same region, 250 MB, permission) are the
//! control plane's, shown in the page.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use lamina_control::functions::{ConfigInput, UpdateFunctionConfiguration};
use lamina_control::layers::ListQuery;
use lamina_types::{LambdaError, LayerVersionArn};
use maud::{Markup, html};
use serde::Deserialize;

use super::page::{alert, csrf_field, ok, page, respond, status_of};
use super::session::Session;
use crate::AppState;

/// Replaces the function's layers with `arns` (UpdateFunctionConfiguration `Layers`).
async fn set_layers(
    state: &AppState,
    session: &Session,
    function: &str,
    arns: Vec<String>,
) -> Result<(), LambdaError> {
    let update = UpdateFunctionConfiguration {
        function_name: function.to_owned(),
        revision_id: None,
        config: ConfigInput {
            layers: Some(arns),
            ..ConfigInput::default()
        },
    };
    state
        .functions
        .update_configuration(&session.scope, update)
        .await
        .map(|_| ())
}

async fn current_layers(
    state: &AppState,
    session: &Session,
    function: &str,
) -> Result<(Vec<String>, Option<String>, Option<String>), LambdaError> {
    let view = state
        .functions
        .get_configuration(&session.scope, function, None)
        .await?;
    let config = &view.record.config;
    Ok((
        config.layers.iter().map(|l| l.arn.clone()).collect(),
        config.runtime.clone(),
        config.architectures.first().cloned(),
    ))
}

fn error_page(session: &Session, title: &str, e: &LambdaError) -> Response {
    let status = status_of(e);
    respond(status, page(Some(session), title, alert(e.message())))
}

/// `GET /console/functions/{name}/layers/add[?layer=L]`.
pub(super) async fn add_form(
    State(state): State<Arc<AppState>>,
    session: Session,
    Path(function): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    match add_page(&state, &session, &function, &params, None).await {
        Ok(markup) => ok(markup),
        Err(e) => error_page(&session, "Add layer", &e),
    }
}

async fn add_page(
    state: &AppState,
    session: &Session,
    function: &str,
    params: &HashMap<String, String>,
    error: Option<&str>,
) -> Result<Markup, LambdaError> {
    let (_, runtime, architecture) = current_layers(state, session, function).await?;
    // As AWS's console: only layers that declare the function's runtime, and whose
    // architectures, when they declare any, include the function's (most layers, the seed's
    // among them, are published without architectures).
    let filter = ListQuery {
        compatible_runtime: runtime.clone(),
        ..ListQuery::default()
    };
    let fits = |declared: &Option<Vec<String>>| match (declared, &architecture) {
        (Some(list), Some(arch)) if !list.is_empty() => list.contains(arch),
        _ => true,
    };
    let mut layers = Vec::new();
    let mut query = filter.clone();
    loop {
        let page = state.layers.list_layers(&session.scope, &query).await?;
        layers.extend(
            page.items
                .into_iter()
                .filter(|l| fits(&l.compatible_architectures)),
        );
        match page.next_marker {
            Some(m) => query.marker = Some(m),
            None => break,
        }
    }
    let chosen = params
        .get("layer")
        .cloned()
        .or_else(|| layers.first().map(|l| l.name.to_string()));
    let versions = match &chosen {
        Some(name) => state
            .layers
            .list_versions(&session.scope, name, &filter)
            .await
            .map(|p| p.items)
            .unwrap_or_default()
            .into_iter()
            .filter(|v| fits(&v.compatible_architectures))
            .collect(),
        None => Vec::new(),
    };
    let source = params.get("source").map(String::as_str).unwrap_or("custom");
    Ok(page(
        Some(session),
        "Add layer",
        html! {
            p { "Function " a href=(format!("/console/functions/{function}")) { (function) }
                " · runtime " (runtime.as_deref().unwrap_or("-")) " · " (architecture.as_deref().unwrap_or("-")) }
            @if let Some(e) = error { (alert(e)) }
            form method="post" action=(format!("/console/functions/{function}/layers/add")) {
                (csrf_field(session))
                fieldset {
                    legend { "Layer source" }
                    label.choice { input type="radio" name="source" value="custom" checked[source != "arn"]; "Custom layers" }
                    label.choice { input type="radio" name="source" value="arn" checked[source == "arn"]; "Specify an ARN" }
                }
                div data-source="custom" {
                    label for="custom-layer" { "Layers" }
                    select #custom-layer name="layer" data-reload-on-change {
                        @for l in &layers {
                            option value=(l.name) selected[Some(l.name.as_str()) == chosen.as_deref()] { (l.name) }
                        }
                    }
                    @if layers.is_empty() {
                        p.hint { "No layer of this account declares this function's runtime and architecture." }
                    }
                    label for="custom-version" { "Version" }
                    select #custom-version name="version" {
                        @for v in &versions {
                            option value=(v.version) { (v.version) @if !v.description.is_empty() { " - " (v.description) } }
                        }
                    }
                }
                div data-source="arn" {
                    label for="layer-arn" { "Layer version ARN" }
                    input #layer-arn type="text" name="arn" placeholder="arn:aws:lambda:region:account:layer:name:version";
                    p.hint { "A layer version of this account, or of another account that granted it to you." }
                }
                div.actions {
                    a.button.secondary href=(format!("/console/functions/{function}")) { "Cancel" }
                    button type="submit" { "Add" }
                }
            }
        },
    ))
}

#[derive(Deserialize)]
pub(super) struct AddLayer {
    csrf: String,
    source: String,
    layer: Option<String>,
    version: Option<String>,
    arn: Option<String>,
}

/// `POST /console/functions/{name}/layers/add`.
pub(super) async fn add(
    State(state): State<Arc<AppState>>,
    session: Session,
    Path(function): Path<String>,
    Form(form): Form<AddLayer>,
) -> Response {
    if !session.csrf_matches(&form.csrf) {
        return super::forbidden();
    }
    let result = async {
        let arn = match form.source.as_str() {
            "arn" => form.arn.clone().unwrap_or_default().trim().to_owned(),
            _ => {
                let (Some(layer), Some(version)) = (form.layer.as_deref(), form.version.as_deref())
                else {
                    return Err(LambdaError::InvalidParameterValue(
                        "Choose a layer and a version.".to_owned(),
                    ));
                };
                let version = version.parse::<i64>().map_err(|_| {
                    LambdaError::InvalidParameterValue("Choose a layer and a version.".to_owned())
                })?;
                let record = state.layers.get(&session.scope, layer, version).await?;
                state.layers.version_arn(&record)
            }
        };
        let (mut arns, _, _) = current_layers(&state, &session, &function).await?;
        arns.push(arn);
        set_layers(&state, &session, &function, arns).await
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&format!("/console/functions/{function}")).into_response(),
        Err(e) => {
            let mut params = HashMap::new();
            params.insert("source".to_owned(), form.source.clone());
            if let Some(l) = &form.layer {
                params.insert("layer".to_owned(), l.clone());
            }
            let status = status_of(&e);
            match add_page(&state, &session, &function, &params, Some(e.message())).await {
                Ok(markup) => respond(status, markup),
                Err(e) => error_page(&session, "Add layer", &e),
            }
        }
    }
}

/// `GET /console/functions/{name}/layers/edit`.
pub(super) async fn edit_form(
    State(state): State<Arc<AppState>>,
    session: Session,
    Path(function): Path<String>,
) -> Response {
    match current_layers(&state, &session, &function).await {
        Ok((arns, _, _)) => ok(edit_page(&session, &function, &arns, None)),
        Err(e) => error_page(&session, "Edit layers", &e),
    }
}

fn edit_page(session: &Session, function: &str, arns: &[String], error: Option<&str>) -> Markup {
    let last = arns.len().saturating_sub(1);
    page(
        Some(session),
        "Edit layers",
        html! {
            p { "Function " a href=(format!("/console/functions/{function}")) { (function) }
                ". Layers are merged in order: a later layer's files win over an earlier one's." }
            @if let Some(e) = error { (alert(e)) }
            form method="post" action=(format!("/console/functions/{function}/layers/edit")) {
                (csrf_field(session))
                @for arn in arns { input type="hidden" name="arn" value=(arn); }
                div.table-wrap {
                    table #edit-layers {
                        thead { tr { th scope="col" { "Merge order" } th scope="col" { "Name" } th scope="col" { "Layer version" } th scope="col" { "Version ARN" } th scope="col" { "Actions" } } }
                        tbody {
                            @for (i, arn) in arns.iter().enumerate() {
                                @let parsed = LayerVersionArn::parse(arn, "arn").ok();
                                tr {
                                    td { (i + 1) }
                                    td { (parsed.as_ref().map(|a| a.name.to_string()).unwrap_or_default()) }
                                    td { (parsed.as_ref().map(|a| a.version.to_string()).unwrap_or_default()) }
                                    td.arn { (arn) }
                                    td.actions {
                                        button.secondary type="submit" name="op" value=(format!("up:{i}")) disabled[i == 0] aria-label=(format!("Move up layer {}", i + 1)) { "Move up" }
                                        button.secondary type="submit" name="op" value=(format!("down:{i}")) disabled[i == last] aria-label=(format!("Move down layer {}", i + 1)) { "Move down" }
                                        button.secondary type="submit" name="op" value=(format!("remove:{i}")) aria-label=(format!("Remove layer {}", i + 1)) { "Remove" }
                                    }
                                }
                            }
                        }
                    }
                }
                @if arns.is_empty() { p.hint { "No layers left: Save removes them all." } }
                div.actions {
                    a.button.secondary href=(format!("/console/functions/{function}")) { "Cancel" }
                    button type="submit" name="op" value="save" { "Save" }
                }
            }
        },
    )
}

/// The edit form as posted: the pending order (`arn` repeated) and the button pressed.
fn edit_fields(body: &str) -> (Option<String>, Vec<String>, String) {
    let mut csrf = None;
    let mut arns = Vec::new();
    let mut op = String::new();
    // A repeated key (`arn`) stays repeated pairs, in order.
    let pairs = serde_urlencoded::from_str::<Vec<(String, String)>>(body).unwrap_or_default();
    for (k, v) in pairs {
        match k.as_str() {
            "csrf" => csrf = Some(v),
            "arn" => arns.push(v),
            "op" => op = v,
            _ => {}
        }
    }
    (csrf, arns, op)
}

/// `POST /console/functions/{name}/layers/edit`: "Move up", "Move down" and "Remove" change
/// the pending order and show it again; "Save" applies it.
pub(super) async fn edit(
    State(state): State<Arc<AppState>>,
    session: Session,
    Path(function): Path<String>,
    body: String,
) -> Response {
    let (csrf, mut arns, op) = edit_fields(&body);
    if !csrf.is_some_and(|c| session.csrf_matches(&c)) {
        return super::forbidden();
    }
    let (action, index) = op.split_once(':').unwrap_or((op.as_str(), ""));
    let index = index.parse::<usize>().ok().filter(|i| *i < arns.len());
    match (action, index) {
        ("up", Some(i)) if i > 0 => arns.swap(i, i - 1),
        ("down", Some(i)) if i + 1 < arns.len() => arns.swap(i, i + 1),
        ("remove", Some(i)) => {
            arns.remove(i);
        }
        ("save", _) => {
            return match set_layers(&state, &session, &function, arns.clone()).await {
                Ok(()) => Redirect::to(&format!("/console/functions/{function}")).into_response(),
                Err(e) => {
                    let status = status_of(&e);
                    respond(
                        status,
                        edit_page(&session, &function, &arns, Some(e.message())),
                    )
                }
            };
        }
        _ => {}
    }
    ok(edit_page(&session, &function, &arns, None))
}

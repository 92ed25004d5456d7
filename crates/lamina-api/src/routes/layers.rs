//! `/2018-10-31/layers...`: the nine layer operations, parsed into control-plane commands
//! and rendered in AWS's wire shapes.

use std::borrow::Cow;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{delete, get, post};
use bytes::Bytes;
use lamina_control::layers::{
    AddLayerPermission, LayerContent, ListQuery, Page, PublishLayerVersion,
};
use lamina_types::arn::layer_arn;
use lamina_types::layer::LayerVersionRecord;
use lamina_types::limits::MAX_REQUEST_BODY_BYTES;
use lamina_types::timestamp;
use lamina_types::validation::{self, Constraint};
use serde::{Deserialize, Serialize};

use super::extract::{JsonBody, PathArgs};
use super::wire::{Params, json_response, param, parse_json};
use crate::body::read_limited;
use crate::request_context::RequestContext;
use crate::{ApiError, AppState};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/2018-10-31/layers", get(list_layers))
        .route(
            "/2018-10-31/layers/{layer}/versions",
            post(publish_layer_version).get(list_layer_versions),
        )
        .route(
            "/2018-10-31/layers/{layer}/versions/{version}",
            get(get_layer_version).delete(delete_layer_version),
        )
        .route(
            "/2018-10-31/layers/{layer}/versions/{version}/policy",
            post(add_layer_version_permission).get(get_layer_version_policy),
        )
        .route(
            "/2018-10-31/layers/{layer}/versions/{version}/policy/{statement}",
            delete(remove_layer_version_permission),
        )
}

// ---- wire shapes ----

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ContentBody {
    location: String,
    code_sha256: String,
    code_size: u64,
}

/// `LayerVersionsListItem`, and with `content`/`layer_arn` the full `LayerVersion`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LayerVersionBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<ContentBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    layer_arn: Option<String>,
    layer_version_arn: String,
    description: String,
    created_date: String,
    version: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    compatible_runtimes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    compatible_architectures: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    license_info: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LayersListItem {
    layer_name: String,
    layer_arn: String,
    latest_matching_version: LayerVersionBody,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListVersionsBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
    layer_versions: Vec<LayerVersionBody>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListLayersBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
    layers: Vec<LayersListItem>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct PublishBody<'a> {
    #[serde(borrow, default)]
    content: Option<ContentIn<'a>>,
    description: Option<String>,
    compatible_runtimes: Option<Vec<String>>,
    compatible_architectures: Option<Vec<String>>,
    license_info: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ContentIn<'a> {
    #[serde(borrow, default)]
    zip_file: Option<Cow<'a, str>>,
    s3_bucket: Option<String>,
    s3_key: Option<String>,
    s3_object_version: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct PermissionBody {
    statement_id: Option<String>,
    action: Option<String>,
    principal: Option<String>,
    organization_id: Option<String>,
}

// ---- rendering ----

/// A layer version as the Get and Publish actions return it: with its `Content`.
async fn render_full(
    state: &AppState,
    ctx: &RequestContext,
    r: &LayerVersionRecord,
) -> LayerVersionBody {
    let location = state
        .content
        .url(&ctx.host, &r.code_sha256, &ctx.scope.account)
        .await;
    render(state, r, Some(location))
}

/// A layer version; `location` given, with its `Content` and `LayerArn` (the Get and Publish
/// actions), else without (the List actions).
fn render(state: &AppState, r: &LayerVersionRecord, location: Option<String>) -> LayerVersionBody {
    let full = location.is_some();
    LayerVersionBody {
        content: location.map(|location| ContentBody {
            location,
            code_sha256: base64_std(&r.code_sha256.0),
            code_size: r.code_size,
        }),
        layer_arn: full.then(|| layer_arn(&r.scope, &r.name)),
        layer_version_arn: state.layers.version_arn(r),
        description: r.description.clone(),
        created_date: timestamp::format_millis(r.created_millis),
        version: r.version,
        compatible_runtimes: r.compatible_runtimes.clone(),
        compatible_architectures: r.compatible_architectures.clone(),
        license_info: r.license_info.clone(),
    }
}

fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

// ---- parsing helpers ----

fn version_number(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().map_err(|_| {
        ApiError(validation::single(
            "versionNumber",
            raw,
            Constraint::Pattern("[0-9]+"),
        ))
    })
}

fn list_query(params: &Params) -> ListQuery {
    ListQuery {
        compatible_runtime: params.get("CompatibleRuntime").cloned(),
        compatible_architecture: params.get("CompatibleArchitecture").cloned(),
        marker: params.get("Marker").cloned(),
        max_items: params.get("MaxItems").cloned(),
    }
}

// ---- handlers ----

/// `PublishLayerVersion`: `POST /2018-10-31/layers/{layer}/versions`, 201 with the version.
async fn publish_layer_version(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(layer): PathArgs<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = read_limited(
        &headers,
        body,
        MAX_REQUEST_BODY_BYTES,
        "PublishLayerVersion",
    )
    .await?;
    let parsed: PublishBody<'_> = parse_json(&bytes)?;
    let content = parsed.content.map(|c| LayerContent {
        zip_file_base64: c.zip_file.map(|z| match z {
            // Borrowed straight from the body: hand on a view of it, not a 70 MB copy.
            Cow::Borrowed(s) => bytes.slice_ref(s.as_bytes()),
            Cow::Owned(s) => Bytes::from(s),
        }),
        s3_bucket: c.s3_bucket,
        s3_key: c.s3_key,
        s3_object_version: c.s3_object_version,
    });
    let cmd = PublishLayerVersion {
        layer_name: layer,
        description: parsed.description,
        compatible_runtimes: parsed.compatible_runtimes,
        compatible_architectures: parsed.compatible_architectures,
        license_info: parsed.license_info,
        content,
    };
    drop(bytes);
    let record = state.layers.publish(&ctx.scope, cmd).await?;
    Ok(json_response(
        StatusCode::CREATED,
        &render_full(&state, &ctx, &record).await,
    ))
}

/// `GetLayerVersion`: `GET /2018-10-31/layers/{layer}/versions/{version}`.
async fn get_layer_version(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs((layer, version)): PathArgs<(String, String)>,
) -> Result<Response, ApiError> {
    let record = state
        .layers
        .get(&ctx.scope, &layer, version_number(&version)?)
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &render_full(&state, &ctx, &record).await,
    ))
}

/// `ListLayers`: `GET /2018-10-31/layers`; with `find=LayerVersion` the same path is
/// `GetLayerVersionByArn` (the model tells them apart by that query member).
async fn list_layers(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    if param(&params, "find") == Some("LayerVersion") {
        return get_layer_version_by_arn(&state, &ctx, &params).await;
    }
    let Page { items, next_marker } = state
        .layers
        .list_layers(&ctx.scope, &list_query(&params))
        .await?;
    let layers = items
        .iter()
        .map(|r| LayersListItem {
            layer_name: r.name.to_string(),
            layer_arn: layer_arn(&r.scope, &r.name),
            latest_matching_version: render(&state, r, None),
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &ListLayersBody {
            next_marker,
            layers,
        },
    ))
}

/// `GetLayerVersionByArn`: `GET /2018-10-31/layers?find=LayerVersion&Arn=...`, routed here
/// by [`list_layers`].
async fn get_layer_version_by_arn(
    state: &AppState,
    ctx: &RequestContext,
    params: &Params,
) -> Result<Response, ApiError> {
    let arn = param(params, "Arn").unwrap_or_default();
    if arn.is_empty() {
        let mut v = validation::Violations::new();
        v.add_null("arn");
        v.into_result()?;
    }
    let record = state.layers.get_by_arn(&ctx.scope, arn).await?;
    Ok(json_response(
        StatusCode::OK,
        &render_full(state, ctx, &record).await,
    ))
}

/// `ListLayerVersions`: `GET /2018-10-31/layers/{layer}/versions`, newest first.
async fn list_layer_versions(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(layer): PathArgs<String>,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let Page { items, next_marker } = state
        .layers
        .list_versions(&ctx.scope, &layer, &list_query(&params))
        .await?;
    let layer_versions = items.iter().map(|r| render(&state, r, None)).collect();
    Ok(json_response(
        StatusCode::OK,
        &ListVersionsBody {
            next_marker,
            layer_versions,
        },
    ))
}

/// `DeleteLayerVersion`: `DELETE /2018-10-31/layers/{layer}/versions/{version}`, 204.
async fn delete_layer_version(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs((layer, version)): PathArgs<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .layers
        .delete(&ctx.scope, &layer, version_number(&version)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AddPermissionBody {
    statement: String,
    revision_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyBody {
    policy: String,
    revision_id: String,
}

/// `AddLayerVersionPermission`: `POST .../versions/{version}/policy`, 201 with the statement.
async fn add_layer_version_permission(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs((layer, version)): PathArgs<(String, String)>,
    Query(params): Query<Params>,
    JsonBody(parsed): JsonBody<PermissionBody>,
) -> Result<Response, ApiError> {
    let version = version_number(&version)?;
    let mut missing = validation::Violations::new();
    for (field, value) in [
        ("statementId", &parsed.statement_id),
        ("action", &parsed.action),
        ("principal", &parsed.principal),
    ] {
        if value.is_none() {
            missing.add_null(field);
        }
    }
    missing.into_result()?;
    let cmd = AddLayerPermission {
        statement_id: parsed.statement_id.unwrap_or_default(),
        action: parsed.action.unwrap_or_default(),
        principal: parsed.principal.unwrap_or_default(),
        organization_id: parsed.organization_id,
        revision_id: param(&params, "RevisionId").map(str::to_owned),
    };
    let added = state
        .layers
        .add_permission(&ctx.scope, &layer, version, cmd)
        .await?;
    Ok(json_response(
        StatusCode::CREATED,
        &AddPermissionBody {
            statement: added.statement,
            revision_id: added.revision_id,
        },
    ))
}

/// `GetLayerVersionPolicy`: `GET .../versions/{version}/policy`.
async fn get_layer_version_policy(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs((layer, version)): PathArgs<(String, String)>,
) -> Result<Response, ApiError> {
    let policy = state
        .layers
        .get_policy(&ctx.scope, &layer, version_number(&version)?)
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &PolicyBody {
            policy: policy.policy,
            revision_id: policy.revision_id,
        },
    ))
}

/// `RemoveLayerVersionPermission`: `DELETE .../versions/{version}/policy/{statement}`, 204.
async fn remove_layer_version_permission(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs((layer, version, statement)): PathArgs<(String, String, String)>,
    Query(params): Query<Params>,
) -> Result<StatusCode, ApiError> {
    let version = version_number(&version)?;
    let revision = param(&params, "RevisionId");
    state
        .layers
        .remove_permission(&ctx.scope, &layer, version, &statement, revision)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests;

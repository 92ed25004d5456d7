//! `/2015-03-31/functions/{name}/aliases...`: the five alias operations.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use lamina_control::functions::{AliasView, CreateAlias, UpdateAlias};
use serde::{Deserialize, Serialize};

use super::extract::{JsonBody, PathArgs};
use super::wire::{Params, json_response, page_query, param};
use crate::request_context::RequestContext;
use crate::{ApiError, AppState};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/2015-03-31/functions/{name}/aliases",
            get(list_aliases).post(create_alias),
        )
        .route(
            "/2015-03-31/functions/{name}/aliases/{alias}",
            get(get_alias).put(update_alias).delete(delete_alias),
        )
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RoutingIn {
    additional_version_weights: Option<BTreeMap<String, f64>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct AliasBody {
    name: Option<String>,
    function_version: Option<String>,
    description: Option<String>,
    routing_config: Option<RoutingIn>,
    revision_id: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RoutingBody<'a> {
    additional_version_weights: &'a BTreeMap<String, f64>,
}

/// `AliasConfiguration`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AliasConfigurationBody<'a> {
    alias_arn: &'a str,
    name: &'a str,
    function_version: &'a str,
    description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    routing_config: Option<RoutingBody<'a>>,
    revision_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListAliasesBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
    aliases: Vec<AliasConfigurationBody<'a>>,
}

fn render(view: &AliasView) -> AliasConfigurationBody<'_> {
    let r = &view.record;
    AliasConfigurationBody {
        alias_arn: &view.alias_arn,
        name: &r.name,
        function_version: &r.function_version,
        description: &r.description,
        routing_config: r
            .additional_version_weights
            .as_ref()
            .map(|additional_version_weights| RoutingBody {
                additional_version_weights,
            }),
        revision_id: &r.revision_id,
    }
}

/// `CreateAlias`: `POST /2015-03-31/functions/{name}/aliases`, 201 with the alias.
async fn create_alias(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(function_name): PathArgs<String>,
    JsonBody(parsed): JsonBody<AliasBody>,
) -> Result<Response, ApiError> {
    let cmd = CreateAlias {
        function_name,
        name: parsed.name,
        function_version: parsed.function_version,
        description: parsed.description,
        routing: parsed.routing_config.map(|r| r.additional_version_weights),
    };
    let view = state.functions.create_alias(&ctx.scope, cmd).await?;
    Ok(json_response(StatusCode::CREATED, &render(&view)))
}

/// `GetAlias`: `GET /2015-03-31/functions/{name}/aliases/{alias}`.
async fn get_alias(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs((function_name, alias)): PathArgs<(String, String)>,
) -> Result<Response, ApiError> {
    let view = state
        .functions
        .get_alias(&ctx.scope, &function_name, &alias)
        .await?;
    Ok(json_response(StatusCode::OK, &render(&view)))
}

/// `ListAliases`: `GET /2015-03-31/functions/{name}/aliases`.
async fn list_aliases(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(function_name): PathArgs<String>,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let query = page_query(&params);
    let page = state
        .functions
        .list_aliases(
            &ctx.scope,
            &function_name,
            param(&params, "FunctionVersion"),
            &query,
        )
        .await?;
    let body = ListAliasesBody {
        next_marker: page.next_marker,
        aliases: page.items.iter().map(render).collect(),
    };
    Ok(json_response(StatusCode::OK, &body))
}

/// `UpdateAlias`: `PUT /2015-03-31/functions/{name}/aliases/{alias}`.
async fn update_alias(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs((function_name, alias)): PathArgs<(String, String)>,
    JsonBody(parsed): JsonBody<AliasBody>,
) -> Result<Response, ApiError> {
    let cmd = UpdateAlias {
        function_name,
        name: alias,
        function_version: parsed.function_version,
        description: parsed.description,
        routing: parsed.routing_config.map(|r| r.additional_version_weights),
        revision_id: parsed.revision_id,
    };
    let view = state.functions.update_alias(&ctx.scope, cmd).await?;
    Ok(json_response(StatusCode::OK, &render(&view)))
}

/// `DeleteAlias`: `DELETE /2015-03-31/functions/{name}/aliases/{alias}`, 204.
async fn delete_alias(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs((function_name, alias)): PathArgs<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .functions
        .delete_alias(&ctx.scope, &function_name, &alias)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests;

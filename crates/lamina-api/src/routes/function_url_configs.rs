//! `/2021-10-31/functions/{name}/url` and `/urls`: CreateFunctionUrlConfig,
//! GetFunctionUrlConfig, UpdateFunctionUrlConfig, DeleteFunctionUrlConfig and
//! ListFunctionUrlConfigs. The URLs themselves are served by `function_urls.rs`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use lamina_control::functions::{FunctionUrlView, UrlConfigInput};
use lamina_types::function_url::UrlCors;
use lamina_types::timestamp::format_millis;
use serde::{Deserialize, Serialize};

use super::extract::{JsonBody, PathArgs};
use super::wire::{Params, json_response, param};
use crate::function_urls::function_url;
use crate::request_context::RequestContext;
use crate::{ApiError, AppState};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/2021-10-31/functions/{name}/url",
            get(get_function_url_config)
                .post(create_function_url_config)
                .put(update_function_url_config)
                .delete(delete_function_url_config),
        )
        .route(
            "/2021-10-31/functions/{name}/urls",
            get(list_function_url_configs),
        )
}

/// The body of Create and Update.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct ConfigBody {
    auth_type: Option<String>,
    cors: Option<UrlCors>,
    invoke_mode: Option<String>,
}

impl From<ConfigBody> for UrlConfigInput {
    fn from(body: ConfigBody) -> Self {
        Self {
            auth_type: body.auth_type,
            invoke_mode: body.invoke_mode,
            cors: body.cors,
        }
    }
}

/// `FunctionUrlConfig` and the answers of Create, Get and Update (Create has no
/// `LastModifiedTime`).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct UrlConfigBody<'a> {
    function_url: String,
    function_arn: &'a str,
    auth_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cors: Option<&'a UrlCors>,
    creation_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_modified_time: Option<String>,
    invoke_mode: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListBody<'a> {
    function_url_configs: Vec<UrlConfigBody<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
}

/// Guessed: AWS's URL timestamps are ISO 8601 with a `Z`; the `+0000` form of the other
/// Lambda timestamps parses the same for every client tried, so it is kept for consistency.
fn render<'a>(host: &str, view: &'a FunctionUrlView, modified: bool) -> UrlConfigBody<'a> {
    let record = &view.record;
    UrlConfigBody {
        function_url: function_url(host, &record.url_id),
        function_arn: &view.function_arn,
        auth_type: record.auth_type.as_str(),
        cors: record.cors.as_ref(),
        creation_time: format_millis(record.created_millis),
        last_modified_time: modified.then(|| format_millis(record.last_modified_millis)),
        invoke_mode: record.invoke_mode.as_str(),
    }
}

/// `CreateFunctionUrlConfig`: `POST /2021-10-31/functions/{name}/url`, 201.
async fn create_function_url_config(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(function_name): PathArgs<String>,
    Query(params): Query<Params>,
    JsonBody(config): JsonBody<ConfigBody>,
) -> Result<Response, ApiError> {
    let view = state
        .functions
        .create_function_url(
            &ctx.scope,
            &function_name,
            param(&params, "Qualifier"),
            config.into(),
        )
        .await?;
    Ok(json_response(
        StatusCode::CREATED,
        &render(&ctx.host, &view, false),
    ))
}

/// `GetFunctionUrlConfig`: `GET /2021-10-31/functions/{name}/url`.
async fn get_function_url_config(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(function_name): PathArgs<String>,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let view = state
        .functions
        .get_function_url(&ctx.scope, &function_name, param(&params, "Qualifier"))
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &render(&ctx.host, &view, true),
    ))
}

/// `UpdateFunctionUrlConfig`: `PUT /2021-10-31/functions/{name}/url`.
async fn update_function_url_config(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(function_name): PathArgs<String>,
    Query(params): Query<Params>,
    JsonBody(config): JsonBody<ConfigBody>,
) -> Result<Response, ApiError> {
    let view = state
        .functions
        .update_function_url(
            &ctx.scope,
            &function_name,
            param(&params, "Qualifier"),
            config.into(),
        )
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &render(&ctx.host, &view, true),
    ))
}

/// `DeleteFunctionUrlConfig`: `DELETE /2021-10-31/functions/{name}/url`, 204.
async fn delete_function_url_config(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(function_name): PathArgs<String>,
    Query(params): Query<Params>,
) -> Result<StatusCode, ApiError> {
    state
        .functions
        .delete_function_url(&ctx.scope, &function_name, param(&params, "Qualifier"))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `ListFunctionUrlConfigs`: `GET /2021-10-31/functions/{name}/urls` (`Marker`, `MaxItems`).
async fn list_function_url_configs(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(function_name): PathArgs<String>,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let page = state
        .functions
        .list_function_urls(
            &ctx.scope,
            &function_name,
            param(&params, "Marker"),
            param(&params, "MaxItems"),
        )
        .await?;
    let body = ListBody {
        function_url_configs: page
            .items
            .iter()
            .map(|view| render(&ctx.host, view, true))
            .collect(),
        next_marker: page.next_marker,
    };
    Ok(json_response(StatusCode::OK, &body))
}

#[cfg(test)]
mod tests;

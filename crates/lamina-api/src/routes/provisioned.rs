//! `/2019-09-30/functions/{name}/provisioned-concurrency`: PutProvisionedConcurrencyConfig,
//! GetProvisionedConcurrencyConfig, DeleteProvisionedConcurrencyConfig and (with `List=ALL`)
//! ListProvisionedConcurrencyConfigs.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use lamina_control::functions::ProvisionedConcurrencyView;
use serde::{Deserialize, Serialize};

use super::extract::{JsonBody, PathArgs};
use super::wire::{Params, json_response, param};
use crate::request_context::RequestContext;
use crate::{ApiError, AppState};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route(
        "/2019-09-30/functions/{name}/provisioned-concurrency",
        get(get_or_list)
            .put(put_provisioned_concurrency_config)
            .delete(delete_provisioned_concurrency_config),
    )
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct PutBody {
    provisioned_concurrent_executions: Option<i64>,
}

/// The answer of Put and Get.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ConfigBody<'a> {
    requested_provisioned_concurrent_executions: u32,
    available_provisioned_concurrent_executions: u32,
    allocated_provisioned_concurrent_executions: u32,
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_reason: Option<&'a str>,
    last_modified: &'a str,
}

/// `ProvisionedConcurrencyConfigListItem`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListItemBody<'a> {
    function_arn: &'a str,
    #[serde(flatten)]
    config: ConfigBody<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListBody<'a> {
    provisioned_concurrency_configs: Vec<ListItemBody<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
}

fn render(view: &ProvisionedConcurrencyView) -> ConfigBody<'_> {
    ConfigBody {
        requested_provisioned_concurrent_executions: view.requested,
        available_provisioned_concurrent_executions: view.available,
        allocated_provisioned_concurrent_executions: view.allocated,
        status: view.status,
        status_reason: view.status_reason.as_deref(),
        last_modified: &view.last_modified,
    }
}

/// `PutProvisionedConcurrencyConfig`: `PUT ...?Qualifier=`, 202 with `Status: IN_PROGRESS`.
async fn put_provisioned_concurrency_config(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(function_name): PathArgs<String>,
    Query(params): Query<Params>,
    JsonBody(parsed): JsonBody<PutBody>,
) -> Result<Response, ApiError> {
    let view = state
        .functions
        .put_provisioned_concurrency(
            &ctx.scope,
            &function_name,
            param(&params, "Qualifier"),
            parsed.provisioned_concurrent_executions,
        )
        .await?;
    Ok(json_response(StatusCode::ACCEPTED, &render(&view)))
}

/// `GetProvisionedConcurrencyConfig` (`GET ...?Qualifier=`) or, with `List=ALL`,
/// `ListProvisionedConcurrencyConfigs` (`Marker`, `MaxItems`).
async fn get_or_list(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(function_name): PathArgs<String>,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    if param(&params, "List").is_some() {
        let page = state
            .functions
            .list_provisioned_concurrency(
                &ctx.scope,
                &function_name,
                param(&params, "Marker"),
                param(&params, "MaxItems"),
            )
            .await?;
        let body = ListBody {
            provisioned_concurrency_configs: page
                .items
                .iter()
                .map(|view| ListItemBody {
                    function_arn: &view.function_arn,
                    config: render(view),
                })
                .collect(),
            next_marker: page.next_marker,
        };
        return Ok(json_response(StatusCode::OK, &body));
    }
    let view = state
        .functions
        .get_provisioned_concurrency(&ctx.scope, &function_name, param(&params, "Qualifier"))
        .await?;
    Ok(json_response(StatusCode::OK, &render(&view)))
}

/// `DeleteProvisionedConcurrencyConfig`: `DELETE ...?Qualifier=`, 204.
async fn delete_provisioned_concurrency_config(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(function_name): PathArgs<String>,
    Query(params): Query<Params>,
) -> Result<StatusCode, ApiError> {
    state
        .functions
        .delete_provisioned_concurrency(&ctx.scope, &function_name, param(&params, "Qualifier"))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

//! `/2026-07-09/resource-policy/{ResourceArn}`: PutResourcePolicy, GetResourcePolicy and
//! DeleteResourcePolicy on a function, version or alias ARN.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use lamina_control::functions::FunctionPolicyView;
use serde::{Deserialize, Serialize};

use super::wire::{MAX_SMALL_BODY_BYTES, Params, json_response, param, parse_json, path_params};
use crate::body::read_limited;
use crate::request_context::RequestContext;
use crate::{ApiError, AppState};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route(
        "/2026-07-09/resource-policy/{arn}",
        get(get_resource_policy)
            .put(put_resource_policy)
            .delete(delete_resource_policy),
    )
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct PutBody {
    policy: Option<String>,
    revision_id: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyBody {
    policy: String,
    revision_id: String,
}

fn answer(view: FunctionPolicyView) -> Response {
    let body = PolicyBody {
        policy: view.policy,
        revision_id: view.revision_id,
    };
    json_response(StatusCode::OK, &body)
}

/// `PutResourcePolicy`: `PUT /2026-07-09/resource-policy/{ResourceArn}`.
async fn put_resource_policy(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    arn: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let arn = path_params(arn)?;
    let bytes = read_limited(&headers, body, MAX_SMALL_BODY_BYTES, "PutResourcePolicy").await?;
    let parsed: PutBody = parse_json(&bytes)?;
    let view = state
        .functions
        .put_resource_policy(
            &ctx.scope,
            &arn,
            parsed.policy.as_deref(),
            parsed.revision_id.as_deref(),
        )
        .await?;
    Ok(answer(view))
}

/// `GetResourcePolicy`: `GET /2026-07-09/resource-policy/{ResourceArn}`.
async fn get_resource_policy(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    arn: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let arn = path_params(arn)?;
    let view = state
        .functions
        .get_resource_policy(&ctx.scope, &arn)
        .await?;
    Ok(answer(view))
}

/// `DeleteResourcePolicy`: `DELETE /2026-07-09/resource-policy/{ResourceArn}`, 204.
async fn delete_resource_policy(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    arn: Result<Path<String>, PathRejection>,
    Query(params): Query<Params>,
) -> Result<StatusCode, ApiError> {
    let arn = path_params(arn)?;
    state
        .functions
        .delete_resource_policy(&ctx.scope, &arn, param(&params, "RevisionId"))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

//! `/2026-07-09/resource-policy/{ResourceArn}`: PutResourcePolicy, GetResourcePolicy and
//! DeleteResourcePolicy on a function, version or alias ARN.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use lamina_control::functions::FunctionPolicyView;
use serde::{Deserialize, Serialize};

use super::extract::{JsonBody, PathArgs};
use super::wire::{Params, json_response, param};
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
    PathArgs(arn): PathArgs<String>,
    JsonBody(parsed): JsonBody<PutBody>,
) -> Result<Response, ApiError> {
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
    PathArgs(arn): PathArgs<String>,
) -> Result<Response, ApiError> {
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
    PathArgs(arn): PathArgs<String>,
    Query(params): Query<Params>,
) -> Result<StatusCode, ApiError> {
    state
        .functions
        .delete_resource_policy(&ctx.scope, &arn, param(&params, "RevisionId"))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

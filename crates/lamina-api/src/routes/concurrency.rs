//! A function's reserved concurrency: PutFunctionConcurrency and DeleteFunctionConcurrency
//! (`/2017-10-31/functions/{name}/concurrency`), GetFunctionConcurrency
//! (`/2019-09-30/functions/{name}/concurrency`).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, put};
use serde::{Deserialize, Serialize};

use super::extract::{JsonBody, PathArgs};
use super::wire::json_response;
use crate::request_context::RequestContext;
use crate::{ApiError, AppState};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/2017-10-31/functions/{name}/concurrency",
            put(put_function_concurrency).delete(delete_function_concurrency),
        )
        .route(
            "/2019-09-30/functions/{name}/concurrency",
            get(get_function_concurrency),
        )
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct ConcurrencyIn {
    reserved_concurrent_executions: Option<i64>,
}

/// `Concurrency`; the member is left out when nothing is reserved, as AWS answers `{}`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ConcurrencyOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    reserved_concurrent_executions: Option<u32>,
}

/// `PutFunctionConcurrency`: `PUT /2017-10-31/functions/{name}/concurrency`.
async fn put_function_concurrency(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(name): PathArgs<String>,
    JsonBody(parsed): JsonBody<ConcurrencyIn>,
) -> Result<Response, ApiError> {
    let reserved = state
        .functions
        .put_concurrency(&ctx.scope, &name, parsed.reserved_concurrent_executions)
        .await?;
    let body = ConcurrencyOut {
        reserved_concurrent_executions: Some(reserved),
    };
    Ok(json_response(StatusCode::OK, &body))
}

/// `GetFunctionConcurrency`: `GET /2019-09-30/functions/{name}/concurrency`.
async fn get_function_concurrency(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(name): PathArgs<String>,
) -> Result<Response, ApiError> {
    let reserved = state.functions.get_concurrency(&ctx.scope, &name).await?;
    let body = ConcurrencyOut {
        reserved_concurrent_executions: reserved,
    };
    Ok(json_response(StatusCode::OK, &body))
}

/// `DeleteFunctionConcurrency`: `DELETE /2017-10-31/functions/{name}/concurrency`, 204.
async fn delete_function_concurrency(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(name): PathArgs<String>,
) -> Result<StatusCode, ApiError> {
    state
        .functions
        .delete_concurrency(&ctx.scope, &name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

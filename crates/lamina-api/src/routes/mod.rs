//! The route table: one module per API resource.

mod account;
mod aliases;
mod functions;
mod invoke;
mod layers;
mod ordered_map;
mod wire;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, middleware};
use lamina_types::LambdaError;
use serde_json::json;

use crate::request_context::request_id;
use crate::{ApiError, AppState, content};

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/_lamina/health", get(health))
        .route("/_lamina/content/sha256/{hex}", get(content::download))
        .merge(layers::routes())
        .merge(functions::routes())
        .merge(aliases::routes())
        .merge(account::routes())
        .merge(invoke::routes())
        .fallback(unknown_operation)
        .method_not_allowed_fallback(unknown_operation)
        // Bodies are read by `body::read_limited`, which answers AWS's 413 itself.
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn(request_id))
        .with_state(state)
}

async fn health(State(state): State<Arc<AppState>>) -> (StatusCode, Json<serde_json::Value>) {
    let (cgroups, cgroup_path) = state.executor.cgroup_info();
    let body = json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "isolation": state.executor.isolation().as_str(),
        "cgroups": cgroups,
        "cgroupPath": cgroup_path,
    });
    (StatusCode::OK, Json(body))
}

async fn unknown_operation() -> ApiError {
    ApiError(LambdaError::UnknownOperation(
        "Unknown operation.".to_owned(),
    ))
}

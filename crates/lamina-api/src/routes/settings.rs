//! The settings kept beside a function: `/2024-08-31/.../recursion-config`
//! (Get/PutFunctionRecursionConfig), `/2021-07-20/.../runtime-management-config`
//! (Get/PutRuntimeManagementConfig) and `/2020-06-30/.../code-signing-config`
//! (Get/DeleteFunctionCodeSigningConfig; its Put is among the unsupported operations).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use lamina_control::functions::RuntimeManagementView;
use serde::{Deserialize, Serialize};

use super::extract::{JsonBody, PathArgs};
use super::wire::{Params, json_response, param};
use crate::request_context::RequestContext;
use crate::{ApiError, AppState};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/2024-08-31/functions/{name}/recursion-config",
            get(get_function_recursion_config).put(put_function_recursion_config),
        )
        .route(
            "/2021-07-20/functions/{name}/runtime-management-config",
            get(get_runtime_management_config).put(put_runtime_management_config),
        )
        .route(
            "/2020-06-30/functions/{name}/code-signing-config",
            get(get_function_code_signing_config).delete(delete_function_code_signing_config),
        )
}

#[derive(Deserialize, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RecursionBody {
    recursive_loop: Option<String>,
}

/// `GetFunctionRecursionConfig`.
async fn get_function_recursion_config(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(function_name): PathArgs<String>,
) -> Result<Response, ApiError> {
    let setting = state
        .functions
        .recursion_config(&ctx.scope, &function_name)
        .await?;
    let body = RecursionBody {
        recursive_loop: Some(setting.as_str().to_owned()),
    };
    Ok(json_response(StatusCode::OK, &body))
}

/// `PutFunctionRecursionConfig`.
async fn put_function_recursion_config(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(function_name): PathArgs<String>,
    JsonBody(parsed): JsonBody<RecursionBody>,
) -> Result<Response, ApiError> {
    let setting = state
        .functions
        .put_recursion_config(&ctx.scope, &function_name, parsed.recursive_loop.as_deref())
        .await?;
    let body = RecursionBody {
        recursive_loop: Some(setting.as_str().to_owned()),
    };
    Ok(json_response(StatusCode::OK, &body))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct PutRuntimeManagementBody {
    update_runtime_on: Option<String>,
    runtime_version_arn: Option<String>,
}

/// The answer of Get and Put; `RuntimeVersionArn` is null unless `Manual`, as AWS answers.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RuntimeManagementBody<'a> {
    update_runtime_on: &'a str,
    function_arn: &'a str,
    runtime_version_arn: Option<&'a str>,
}

fn render(view: &RuntimeManagementView) -> RuntimeManagementBody<'_> {
    RuntimeManagementBody {
        update_runtime_on: view.config.update_runtime_on.as_str(),
        function_arn: &view.function_arn,
        runtime_version_arn: view.config.runtime_version_arn.as_deref(),
    }
}

/// `GetRuntimeManagementConfig`: `GET ...?Qualifier=`.
async fn get_runtime_management_config(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(function_name): PathArgs<String>,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let view = state
        .functions
        .runtime_management_config(&ctx.scope, &function_name, param(&params, "Qualifier"))
        .await?;
    Ok(json_response(StatusCode::OK, &render(&view)))
}

/// `PutRuntimeManagementConfig`: `PUT ...?Qualifier=`.
async fn put_runtime_management_config(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(function_name): PathArgs<String>,
    Query(params): Query<Params>,
    JsonBody(parsed): JsonBody<PutRuntimeManagementBody>,
) -> Result<Response, ApiError> {
    let view = state
        .functions
        .put_runtime_management_config(
            &ctx.scope,
            &function_name,
            param(&params, "Qualifier"),
            parsed.update_runtime_on.as_deref(),
            parsed.runtime_version_arn.as_deref(),
        )
        .await?;
    Ok(json_response(StatusCode::OK, &render(&view)))
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CodeSigningBody<'a> {
    code_signing_config_arn: &'a str,
    function_name: &'a str,
}

/// `GetFunctionCodeSigningConfig`: an empty `CodeSigningConfigArn`, as AWS answers for a
/// function without one (Lamina has no code signing, so no function has one).
async fn get_function_code_signing_config(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(function_name): PathArgs<String>,
) -> Result<Response, ApiError> {
    let name = state
        .functions
        .code_signing_target(&ctx.scope, &function_name)
        .await?;
    let body = CodeSigningBody {
        code_signing_config_arn: "",
        function_name: &name,
    };
    Ok(json_response(StatusCode::OK, &body))
}

/// `DeleteFunctionCodeSigningConfig`: 204; there is never a configuration to remove.
async fn delete_function_code_signing_config(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(function_name): PathArgs<String>,
) -> Result<StatusCode, ApiError> {
    state
        .functions
        .code_signing_target(&ctx.scope, &function_name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests;

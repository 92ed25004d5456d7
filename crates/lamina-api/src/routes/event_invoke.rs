//! `/2019-09-25/functions/{name}/event-invoke-config`: PutFunctionEventInvokeConfig (PUT),
//! UpdateFunctionEventInvokeConfig (POST), GetFunctionEventInvokeConfig,
//! DeleteFunctionEventInvokeConfig and, under `/list`, ListFunctionEventInvokeConfigs.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use lamina_control::functions::{EventInvokeConfigInput, EventInvokeConfigView};
use serde::{Deserialize, Serialize};

use super::extract::{JsonBody, PathArgs};
use super::wire::{Params, json_response, param};
use crate::request_context::RequestContext;
use crate::{ApiError, AppState};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/2019-09-25/functions/{name}/event-invoke-config",
            get(get_function_event_invoke_config)
                .put(put_function_event_invoke_config)
                .post(update_function_event_invoke_config)
                .delete(delete_function_event_invoke_config),
        )
        .route(
            "/2019-09-25/functions/{name}/event-invoke-config/list",
            get(list_function_event_invoke_configs),
        )
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct ConfigIn {
    maximum_retry_attempts: Option<i64>,
    maximum_event_age_in_seconds: Option<i64>,
    destination_config: Option<DestinationConfigIn>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct DestinationConfigIn {
    on_success: Option<DestinationIn>,
    on_failure: Option<DestinationIn>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct DestinationIn {
    destination: Option<String>,
}

impl ConfigIn {
    fn into_input(self) -> EventInvokeConfigInput {
        let destinations = self.destination_config.as_ref();
        // A member sent without `Destination` means "none", as an empty one does.
        let destination =
            |d: Option<&DestinationIn>| d.map(|d| d.destination.clone().unwrap_or_default());
        EventInvokeConfigInput {
            maximum_retry_attempts: self.maximum_retry_attempts,
            maximum_event_age_secs: self.maximum_event_age_in_seconds,
            destination_config: destinations.is_some(),
            on_success: destination(destinations.and_then(|d| d.on_success.as_ref())),
            on_failure: destination(destinations.and_then(|d| d.on_failure.as_ref())),
        }
    }
}

/// `OnSuccess` or `OnFailure`: `{}` when there is no destination, as AWS answers.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DestinationBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    destination: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DestinationConfigBody<'a> {
    on_success: DestinationBody<'a>,
    on_failure: DestinationBody<'a>,
}

/// `FunctionEventInvokeConfig`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ConfigBody<'a> {
    /// Seconds since the epoch: the model's `Date` in a JSON body.
    last_modified: f64,
    function_arn: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    maximum_retry_attempts: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    maximum_event_age_in_seconds: Option<u32>,
    destination_config: DestinationConfigBody<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListBody<'a> {
    function_event_invoke_configs: Vec<ConfigBody<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
}

fn render(view: &EventInvokeConfigView) -> ConfigBody<'_> {
    ConfigBody {
        last_modified: view.last_modified_secs,
        function_arn: &view.function_arn,
        maximum_retry_attempts: view.maximum_retry_attempts,
        maximum_event_age_in_seconds: view.maximum_event_age_secs,
        destination_config: DestinationConfigBody {
            on_success: DestinationBody {
                destination: view.on_success.as_deref(),
            },
            on_failure: DestinationBody {
                destination: view.on_failure.as_deref(),
            },
        },
    }
}

/// `PutFunctionEventInvokeConfig`: `PUT ...?Qualifier=`, replaces the configuration.
async fn put_function_event_invoke_config(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(function_name): PathArgs<String>,
    Query(params): Query<Params>,
    JsonBody(request): JsonBody<ConfigIn>,
) -> Result<Response, ApiError> {
    let view = state
        .functions
        .put_event_invoke_config(
            &ctx.scope,
            &function_name,
            param(&params, "Qualifier"),
            request.into_input(),
        )
        .await?;
    Ok(json_response(StatusCode::OK, &render(&view)))
}

/// `UpdateFunctionEventInvokeConfig`: `POST ...?Qualifier=`, changes the members sent.
async fn update_function_event_invoke_config(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(function_name): PathArgs<String>,
    Query(params): Query<Params>,
    JsonBody(request): JsonBody<ConfigIn>,
) -> Result<Response, ApiError> {
    let view = state
        .functions
        .update_event_invoke_config(
            &ctx.scope,
            &function_name,
            param(&params, "Qualifier"),
            request.into_input(),
        )
        .await?;
    Ok(json_response(StatusCode::OK, &render(&view)))
}

/// `GetFunctionEventInvokeConfig`: `GET ...?Qualifier=`.
async fn get_function_event_invoke_config(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(function_name): PathArgs<String>,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let view = state
        .functions
        .get_event_invoke_config(&ctx.scope, &function_name, param(&params, "Qualifier"))
        .await?;
    Ok(json_response(StatusCode::OK, &render(&view)))
}

/// `DeleteFunctionEventInvokeConfig`: `DELETE ...?Qualifier=`, 204.
async fn delete_function_event_invoke_config(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(function_name): PathArgs<String>,
    Query(params): Query<Params>,
) -> Result<StatusCode, ApiError> {
    state
        .functions
        .delete_event_invoke_config(&ctx.scope, &function_name, param(&params, "Qualifier"))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `ListFunctionEventInvokeConfigs`: `GET .../list` with `Marker` and `MaxItems`.
async fn list_function_event_invoke_configs(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(function_name): PathArgs<String>,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let page = state
        .functions
        .list_event_invoke_configs(
            &ctx.scope,
            &function_name,
            param(&params, "Marker"),
            param(&params, "MaxItems"),
        )
        .await?;
    let body = ListBody {
        function_event_invoke_configs: page.items.iter().map(render).collect(),
        next_marker: page.next_marker,
    };
    Ok(json_response(StatusCode::OK, &body))
}

#[cfg(test)]
mod tests;

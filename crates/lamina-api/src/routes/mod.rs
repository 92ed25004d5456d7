//! The route table: one module per API resource. Every handler is named after the AWS
//! operation it serves (`get_layer_version` serves `GetLayerVersion`) and its doc comment
//! starts with the operation's name, so grepping the operation finds its handler.

#[cfg(test)]
mod access_tests;
mod account;
mod aliases;
mod concurrency;
mod event_invoke;
mod extract;
mod function_url_configs;
mod functions;
mod health;
mod invoke;
mod invoke_async;
mod invoke_stream;
mod layers;
mod logs;
mod node_logs;
mod ordered_map;
mod other_services;
mod policies;
mod provisioned;
mod resource_policy;
mod settings;
pub(crate) mod sts;
mod tags;
#[cfg(test)]
pub(crate) mod test_support;
mod unsupported;
mod wire;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Uri};
use axum::middleware;
use axum::routing::get;
use lamina_types::LambdaError;

use crate::request_context::request_id;
use crate::{ApiError, AppState, auth, content};

pub(crate) use node_logs::{NODE_LOG_EVENTS_PATH, NODE_LOG_FUNCTIONS_PATH};

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/_lamina/health", get(health::health))
        .route("/_lamina/content/sha256/{hex}", get(content::download))
        .merge(node_logs::routes())
        .merge(layers::routes())
        .merge(functions::routes())
        .merge(aliases::routes())
        .merge(provisioned::routes())
        .merge(settings::routes())
        .merge(event_invoke::routes())
        .merge(tags::routes())
        .merge(concurrency::routes())
        .merge(policies::routes())
        .merge(resource_policy::routes())
        .merge(account::routes())
        .merge(invoke::routes())
        .merge(invoke_stream::routes())
        .merge(invoke_async::routes())
        .merge(function_url_configs::routes())
        .merge(other_services::routes())
        .merge(crate::console::routes())
        .fallback(unknown_operation)
        .method_not_allowed_fallback(unknown_operation)
        // Bodies are read by `body::read_limited`, which answers AWS's 413 itself.
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            auth::authenticate,
        ))
        // Function URLs take unsigned requests (`AuthType` `NONE`): served before `auth`.
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            crate::function_urls::dispatch,
        ))
        .layer(middleware::from_fn(request_id))
        .with_state(state)
}

/// Any path or method Lamina routes no operation at: AWS's `UnknownOperationException`,
/// naming the operation and why Lamina does not serve it when the model has one there.
async fn unknown_operation(method: Method, uri: Uri) -> ApiError {
    let message = unsupported::explain(&method, uri.path())
        .unwrap_or_else(|| "Unknown operation.".to_owned());
    ApiError(LambdaError::UnknownOperation(message))
}

#[cfg(test)]
mod tests;

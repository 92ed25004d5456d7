//! The web console, served by `lamina serve` on the API's port: `/` and `/console/...`.
//!
//! Server-rendered HTML (maud) with a little script for what HTML alone cannot do (the upload
//! progress bar, live filtering). Every action goes through the same control-plane services as
//! the AWS API, as the signed-in account: the console holds no rule of its own.

mod assets;
mod field_errors;
mod function_access;
mod function_async;
mod function_code;
mod function_config;
mod function_create;
mod function_environment;
mod function_layers;
mod function_url;
mod function_versions;
mod functions;
mod layer_insight;
mod layer_permissions;
mod layer_version;
mod layers;
mod monitor;
mod page;
mod session;
mod sign_in;
mod test_run;

#[cfg(test)]
mod function_pages_tests;
#[cfg(test)]
mod layer_views_tests;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::AppState;

/// The largest form a console page posts (environment variables are at most 4 KB on AWS).
const MAX_FORM_BYTES: usize = 256 * 1024;

/// Whether `path` belongs to the console (which has its own sign-in, not SigV4).
pub(crate) fn is_console_path(path: &str) -> bool {
    path == "/" || path == "/console" || path.starts_with("/console/")
}

/// The console's routes.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/console/") }))
        .route("/console", get(to_console))
        .route("/console/", get(to_console))
        .route("/console/assets/console.css", get(assets::css))
        .route("/console/assets/console.js", get(assets::js))
        .route("/console/sign-in", get(sign_in::show).post(sign_in::submit))
        .route("/console/sign-out", post(sign_in::sign_out))
        .route("/console/functions", get(functions::list))
        .route("/console/functions/{name}", get(functions::show))
        .route(
            "/console/functions/create",
            get(function_create::create_form).post(function_create::submit),
        )
        .route(
            "/console/functions/create/upload",
            post(function_create::upload),
        )
        .route(
            "/console/functions/{name}/delete",
            get(function_create::delete_form).post(function_create::delete),
        )
        .route(
            "/console/functions/{name}/configuration/edit",
            get(function_config::edit_form).post(function_config::save),
        )
        .route(
            "/console/functions/{name}/environment/edit",
            get(function_environment::edit_form).post(function_environment::save),
        )
        .route(
            "/console/functions/{name}/code",
            post(function_code::upload),
        )
        .route(
            "/console/functions/{name}/code/download",
            get(function_code::download),
        )
        .route(
            "/console/functions/{name}/versions/publish",
            post(function_versions::publish),
        )
        .route(
            "/console/functions/{name}/aliases/create",
            post(function_versions::create_alias),
        )
        .route(
            "/console/functions/{name}/aliases/{alias}/delete",
            post(function_versions::delete_alias),
        )
        .route("/console/functions/{name}/test", post(test_run::run))
        .route("/console/functions/{name}/monitor", get(monitor::show))
        .route("/console/functions/{name}/log", get(monitor::follow))
        .route(
            "/console/functions/{name}/layers/add",
            get(function_layers::add_form).post(function_layers::add),
        )
        .route(
            "/console/functions/{name}/layers/edit",
            get(function_layers::edit_form).post(function_layers::edit),
        )
        .route("/console/layers", get(layers::list))
        .route("/console/layers/create", get(layers::create_form))
        .route("/console/layers/upload", post(layers::upload))
        .route(
            "/console/layers/{name}/versions/{version}",
            get(layers::version_page),
        )
        .route(
            "/console/layers/{name}/versions/{version}/delete",
            get(layer_version::delete_form).post(layer_version::delete),
        )
        .route(
            "/console/layers/{name}/versions/{version}/permissions/add",
            post(layer_permissions::add),
        )
        .route(
            "/console/layers/{name}/versions/{version}/permissions/remove",
            post(layer_permissions::remove),
        )
        // Forms are small; the ZIP uploads read their bodies themselves, within AWS's limit.
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
}

async fn to_console() -> Redirect {
    Redirect::to("/console/functions")
}

/// A form whose CSRF token is missing or wrong.
fn forbidden() -> Response {
    (
        StatusCode::FORBIDDEN,
        "This form has expired or did not come from this console: reload the page and try again.",
    )
        .into_response()
}

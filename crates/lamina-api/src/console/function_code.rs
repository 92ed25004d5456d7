//! A function's "Code source": upload a new .zip (UpdateFunctionCode, with the same progress
//! bar as a layer's upload) and download the current one (the signed `Code.Location` that
//! GetFunction answers).

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use lamina_control::functions::{FunctionCode, UpdateFunctionCode};
use lamina_types::LambdaError;
use lamina_types::limits::MAX_REQUEST_BODY_BYTES;
use maud::{Markup, html};
use serde_json::json;

use super::function_config::error_page;
use super::page::{csrf_field, status_of};
use super::session::Session;
use crate::AppState;
use crate::body::read_limited;

/// The "Code source" section of a function's page.
pub(super) fn section(session: &Session, function: &str, code_size: u64) -> Markup {
    let upload = format!("/console/functions/{function}/code");
    html! {
        section aria-labelledby="code-heading" {
            h2 #code-heading { "Code source" }
            p { "Deployment package: " (code_size) " bytes. "
                a #code-download href=(format!("/console/functions/{function}/code/download")) { "Download" } }
            form method="post" action=(upload) data-upload=(upload) enctype="application/zip" {
                (csrf_field(session))
                div.alert role="alert" data-upload-error hidden {}
                label for="code-zip" { "Upload a .zip file" }
                input #code-zip type="file" name="zip" accept=".zip,application/zip" required;
                label for="upload-progress" { "Upload progress" }
                progress #upload-progress max="1" value="0" {}
                div.actions { button type="submit" { "Save" } }
            }
        }
    }
}

/// The query parameter `name` of `uri`.
pub(super) fn query_param(uri: &Uri, name: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(uri.query().unwrap_or_default())
        .unwrap_or_default()
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

/// AWS's error as the upload script reads it: `{type, message}`.
pub(super) fn error_json(e: &LambdaError) -> Response {
    let status = status_of(e);
    (
        status,
        Json(json!({ "type": e.type_name(), "message": e.message() })),
    )
        .into_response()
}

/// The request body as the base64 text a `ZipFile` member carries.
pub(super) async fn zip_base64(
    headers: &HeaderMap,
    body: Body,
    operation: &str,
) -> Result<bytes::Bytes, LambdaError> {
    let zip = read_limited(headers, body, MAX_REQUEST_BODY_BYTES, operation).await?;
    let encoded = base64::engine::general_purpose::STANDARD.encode(&zip);
    Ok(bytes::Bytes::from(encoded))
}

/// `POST /console/functions/{name}/code?csrf=..` with the ZIP as the body: UpdateFunctionCode;
/// answers JSON `{location}` of the function's page, or `{message}` with AWS's error.
pub(super) async fn upload(
    State(state): State<Arc<AppState>>,
    session: Session,
    Path(function): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if !query_param(&uri, "csrf").is_some_and(|c| session.csrf_matches(&c)) {
        return super::forbidden();
    }
    let result = async {
        let zip = zip_base64(&headers, body, "UpdateFunctionCode").await?;
        let cmd = UpdateFunctionCode {
            function_name: function.clone(),
            code: FunctionCode {
                zip_file_base64: Some(zip),
                ..FunctionCode::default()
            },
            ..UpdateFunctionCode::default()
        };
        state.functions.update_code(&session.scope, cmd).await
    }
    .await;
    match result {
        Ok(_) => {
            Json(json!({ "location": format!("/console/functions/{function}") })).into_response()
        }
        Err(e) => error_json(&e),
    }
}

/// `GET /console/functions/{name}/code/download`: to the signed URL of the current code, made
/// for the host the browser used (as GetFunction's `Code.Location`).
pub(super) async fn download(
    State(state): State<Arc<AppState>>,
    session: Session,
    headers: HeaderMap,
    Path(function): Path<String>,
) -> Response {
    match state
        .functions
        .get_configuration(&session.scope, &function, None)
        .await
    {
        Ok(view) => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            let url = state
                .content
                .url(host, &view.record.code_sha256, &session.scope.account)
                .await;
            Redirect::to(&url).into_response()
        }
        Err(e) => error_page(&session, &function, &e),
    }
}

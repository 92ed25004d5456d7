//! "Create function" (CreateFunction, as AWS's console: "Author from scratch" with a Hello
//! handler for Python runtimes, or a .zip of your own) and "Delete" (DeleteFunction, after
//! a confirmation step).

use std::io::Write;
use std::sync::Arc;

use axum::Form;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use lamina_control::functions::{ConfigInput, CreateFunction, FunctionCode};
use lamina_types::LambdaError;
use lamina_types::runtime::{ALL_ARCHITECTURES, SUPPORTED_RUNTIMES};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::json;

use super::field_errors::FieldErrors;
use super::function_code::{error_json, query_param, zip_base64};
use super::function_config::field;
use super::page::{csrf_field, ok, page, respond, status_of};
use super::session::Session;
use crate::AppState;

/// The members the form has, as the control plane's messages name them.
const MEMBERS: &[&str] = &[
    "functionName",
    "runtime",
    "architectures",
    "handler",
    "role",
    "code",
];

/// The Hello handler's source, as AWS's console writes it for a new Python function.
const HELLO_PYTHON: &str = "import json\n\n\ndef lambda_handler(event, context):\n    \
    return {\n        \"statusCode\": 200,\n        \"body\": json.dumps(\"Hello from Lamina!\"),\n    }\n";

/// The form's fields, as typed.
#[derive(Deserialize, Default)]
pub(super) struct CreateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    runtime: String,
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    handler: String,
    #[serde(default)]
    role: String,
    /// `hello` (the generated handler) or `zip` (the uploaded body).
    #[serde(default)]
    code: String,
}

impl CreateForm {
    fn defaults(session: &Session) -> Self {
        Self {
            runtime: "python3.12".to_owned(),
            architecture: "x86_64".to_owned(),
            handler: "lambda_function.lambda_handler".to_owned(),
            role: format!("arn:aws:iam::{}:role/lambda-role", session.scope.account),
            code: "hello".to_owned(),
            ..Self::default()
        }
    }
}

/// `GET /console/functions/create`.
pub(super) async fn create_form(session: Session) -> Response {
    let form = CreateForm::defaults(&session);
    ok(create_page(&session, &form, &FieldErrors::none()))
}

fn create_page(session: &Session, form: &CreateForm, errors: &FieldErrors) -> Markup {
    let described = |m: &str| errors.described_by(m);
    page(
        Some(session),
        "Create function",
        html! {
            (errors.general())
            form method="post" action="/console/functions/create" data-upload="/console/functions/create/upload" enctype="application/zip" {
                (csrf_field(session))
                div.alert role="alert" data-upload-error hidden {}
                (field(errors, "functionName", "function-name", "Function name",
                    html! { input #function-name type="text" name="name" value=(form.name) required maxlength="140"
                        aria-describedby=[described("functionName")]; },
                    Some("Letters, numbers, hyphens and underscores, up to 64 characters.")))
                (field(errors, "runtime", "function-runtime", "Runtime",
                    html! {
                        select #function-runtime name="runtime" aria-describedby=[described("runtime")] {
                            @for r in SUPPORTED_RUNTIMES { option value=(r) selected[r == form.runtime] { (r) } }
                        }
                    }, None))
                fieldset data-member="architectures" aria-describedby=[described("architectures")] {
                    legend { "Architecture" }
                    @for a in ALL_ARCHITECTURES {
                        label.choice { input type="radio" name="architecture" value=(a) checked[a == form.architecture]; (a) }
                    }
                    (errors.at("architectures"))
                }
                (field(errors, "handler", "function-handler", "Handler",
                    html! { input #function-handler type="text" name="handler" value=(form.handler)
                        aria-describedby=[described("handler")]; }, None))
                (field(errors, "role", "function-role", "Execution role",
                    html! { input #function-role type="text" name="role" value=(form.role)
                        aria-describedby=[described("role")]; }, None))
                fieldset data-member="code" aria-describedby=[described("code")] {
                    legend { "Code" }
                    label.choice { input type="radio" name="code" value="hello" checked[form.code != "zip"]; "Hello handler (Python runtimes)" }
                    label.choice { input type="radio" name="code" value="zip" checked[form.code == "zip"]; "Upload a .zip file" }
                    label for="function-zip" { "Upload a .zip file" }
                    input #function-zip type="file" name="zip" accept=".zip,application/zip";
                    p.hint { "The Hello handler is " code { "lambda_function.py" } " with " code { "lambda_handler" } "." }
                    (errors.at("code"))
                }
                label for="upload-progress" { "Upload progress" }
                progress #upload-progress max="1" value="0" {}
                div.actions {
                    a.button.secondary href="/console/functions" { "Cancel" }
                    button type="submit" { "Create function" }
                }
            }
        },
    )
}

/// A ZIP holding the Hello handler.
fn hello_zip() -> Result<Vec<u8>, LambdaError> {
    let failed = |e: &dyn std::fmt::Display| {
        LambdaError::Service(format!("Could not write the Hello handler's ZIP: {e}"))
    };
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    writer
        .start_file("lambda_function.py", options)
        .map_err(|e| failed(&e))?;
    writer
        .write_all(HELLO_PYTHON.as_bytes())
        .map_err(|e| failed(&e))?;
    Ok(writer.finish().map_err(|e| failed(&e))?.into_inner())
}

/// CreateFunction from the form and, for `zip`, the uploaded base64 ZIP.
async fn create(
    state: &AppState,
    session: &Session,
    form: &CreateForm,
    upload: Option<bytes::Bytes>,
) -> Result<(), LambdaError> {
    use base64::Engine;
    let zip = match (form.code.as_str(), upload) {
        ("zip", Some(zip)) if !zip.is_empty() => Some(zip),
        ("zip", _) => None,
        _ if form.runtime.starts_with("python") => {
            let zip = hello_zip()?;
            let encoded = base64::engine::general_purpose::STANDARD.encode(zip);
            Some(bytes::Bytes::from(encoded))
        }
        _ => {
            return Err(LambdaError::InvalidParameterValue(format!(
                "The Hello handler is written for Python runtimes: upload a .zip file for {}.",
                form.runtime
            )));
        }
    };
    let cmd = CreateFunction {
        function_name: Some(form.name.trim().to_owned()),
        code: Some(FunctionCode {
            zip_file_base64: zip,
            ..FunctionCode::default()
        }),
        architectures: Some(vec![form.architecture.clone()]),
        config: ConfigInput {
            runtime: Some(form.runtime.clone()),
            handler: Some(form.handler.clone()),
            role: Some(form.role.trim().to_owned()),
            ..ConfigInput::default()
        },
        ..CreateFunction::default()
    };
    state
        .functions
        .create(&session.scope, cmd)
        .await
        .map(|_| ())
}

/// `POST /console/functions/create` (the form without script: the Hello handler only, since
/// a browser sends no file in a URL-encoded form).
pub(super) async fn submit(
    State(state): State<Arc<AppState>>,
    session: Session,
    Form(form): Form<CreateForm>,
) -> Response {
    if !session.csrf_matches(&form.csrf) {
        return super::forbidden();
    }
    match create(&state, &session, &form, None).await {
        Ok(()) => Redirect::to(&format!("/console/functions/{}", form.name.trim())).into_response(),
        Err(e) => {
            let status = status_of(&e);
            respond(
                status,
                create_page(&session, &form, &FieldErrors::of(&e, MEMBERS)),
            )
        }
    }
}

/// `POST /console/functions/create/upload?name=..&runtime=..&..&csrf=..` with the ZIP as the
/// body (empty for the Hello handler); answers JSON `{location}` or AWS's `{message}`.
pub(super) async fn upload(
    State(state): State<Arc<AppState>>,
    session: Session,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let form: CreateForm =
        serde_urlencoded::from_str(uri.query().unwrap_or_default()).unwrap_or_default();
    if !query_param(&uri, "csrf").is_some_and(|c| session.csrf_matches(&c)) {
        return super::forbidden();
    }
    let result = async {
        let zip = zip_base64(&headers, body, "CreateFunction").await?;
        create(&state, &session, &form, Some(zip)).await
    }
    .await;
    match result {
        Ok(()) => axum::Json(json!({
            "location": format!("/console/functions/{}", form.name.trim())
        }))
        .into_response(),
        Err(e) => error_json(&e),
    }
}

/// `GET /console/functions/{name}/delete`: the confirmation step.
pub(super) async fn delete_form(session: Session, Path(function): Path<String>) -> Response {
    ok(delete_page(&session, &function, &FieldErrors::none()))
}

fn delete_page(session: &Session, function: &str, errors: &FieldErrors) -> Markup {
    page(
        Some(session),
        "Delete function",
        html! {
            (errors.general())
            p { "Deleting " strong { (function) } " removes its code, its versions and its aliases. This cannot be undone." }
            form method="post" action=(format!("/console/functions/{function}/delete")) {
                (csrf_field(session))
                (field(errors, "confirm", "delete-confirm", "To confirm deletion, type confirm in the field.",
                    html! { input #delete-confirm type="text" name="confirm" autocomplete="off"
                        aria-describedby=[errors.described_by("confirm")]; }, None))
                div.actions {
                    a.button.secondary href=(format!("/console/functions/{function}")) { "Cancel" }
                    button type="submit" { "Delete" }
                }
            }
        },
    )
}

#[derive(Deserialize)]
pub(super) struct DeleteForm {
    csrf: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /console/functions/{name}/delete`: DeleteFunction once "confirm" is typed.
pub(super) async fn delete(
    State(state): State<Arc<AppState>>,
    session: Session,
    Path(function): Path<String>,
    Form(form): Form<DeleteForm>,
) -> Response {
    if !session.csrf_matches(&form.csrf) {
        return super::forbidden();
    }
    let mut errors = FieldErrors::none();
    if form.confirm.trim() != "confirm" {
        errors.add("confirm", "Type confirm to delete the function.");
        return respond(
            StatusCode::BAD_REQUEST,
            delete_page(&session, &function, &errors),
        );
    }
    match state
        .functions
        .delete(&session.scope, &function, None)
        .await
    {
        Ok(()) => Redirect::to("/console/functions").into_response(),
        Err(e) => {
            let status = status_of(&e);
            respond(
                status,
                delete_page(&session, &function, &FieldErrors::of(&e, &[])),
            )
        }
    }
}

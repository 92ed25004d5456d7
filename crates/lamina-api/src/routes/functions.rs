//! `/2015-03-31/functions...`: the function and version operations, parsed into
//! control-plane commands and rendered in AWS's wire shapes. (Invoke is `invoke.rs`.)

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, put};
use bytes::Bytes;
use lamina_control::functions::{
    ConfigInput, CreateFunction, FunctionCode, FunctionView, ListFunctionsQuery, LoggingInput,
    PublishVersion, UpdateFunctionCode, UpdateFunctionConfiguration,
};
use lamina_types::limits::MAX_REQUEST_BODY_BYTES;
use serde::{Deserialize, Serialize};

use super::extract::{JsonBody, PathArgs};
use super::ordered_map::OrderedStrings;
use super::wire::{
    ConfigurationBody, Params, configuration, json_response, page_query, param, parse_json,
};
use crate::body::read_limited;
use crate::request_context::RequestContext;
use crate::{ApiError, AppState};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/2015-03-31/functions",
            get(list_functions).post(create_function),
        )
        .route(
            "/2015-03-31/functions/{name}",
            get(get_function).delete(delete_function),
        )
        .route(
            "/2015-03-31/functions/{name}/configuration",
            get(get_function_configuration).put(update_function_configuration),
        )
        .route(
            "/2015-03-31/functions/{name}/code",
            put(update_function_code),
        )
        .route(
            "/2015-03-31/functions/{name}/versions",
            get(list_versions_by_function).post(publish_version),
        )
}

// ---- request shapes ----

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct EnvironmentIn {
    /// In request order: AWS's messages about the variables quote them in that order.
    variables: Option<OrderedStrings>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct SizeIn {
    size: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct ModeIn {
    mode: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct ApplyOnIn {
    apply_on: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct LoggingIn {
    log_format: Option<String>,
    application_log_level: Option<String>,
    system_log_level: Option<String>,
    log_group: Option<String>,
}

/// The configuration members of CreateFunction and UpdateFunctionConfiguration.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct ConfigIn {
    role: Option<String>,
    runtime: Option<String>,
    handler: Option<String>,
    description: Option<String>,
    timeout: Option<i64>,
    memory_size: Option<i64>,
    environment: Option<EnvironmentIn>,
    layers: Option<Vec<String>>,
    ephemeral_storage: Option<SizeIn>,
    tracing_config: Option<ModeIn>,
    logging_config: Option<LoggingIn>,
    snap_start: Option<ApplyOnIn>,
    #[serde(rename = "KMSKeyArn")]
    kms_key_arn: Option<String>,
    // Accepted, stored and echoed; Lamina does not act on them.
    vpc_config: Option<serde_json::Value>,
    dead_letter_config: Option<serde_json::Value>,
    file_system_configs: Option<serde_json::Value>,
    tenancy_config: Option<serde_json::Value>,
    capacity_provider_config: Option<serde_json::Value>,
    durable_config: Option<serde_json::Value>,
    runtime_config: Option<serde_json::Value>,
    accelerator_config: Option<serde_json::Value>,
}

impl ConfigIn {
    fn into_input(self) -> ConfigInput {
        let extra = [
            ("VpcConfig", self.vpc_config),
            ("DeadLetterConfig", self.dead_letter_config),
            ("FileSystemConfigs", self.file_system_configs),
            ("TenancyConfig", self.tenancy_config),
            ("CapacityProviderConfig", self.capacity_provider_config),
            ("DurableConfig", self.durable_config),
            ("RuntimeConfig", self.runtime_config),
            ("AcceleratorConfig", self.accelerator_config),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_owned(), v?.to_string())))
        .collect();
        ConfigInput {
            role: self.role,
            runtime: self.runtime,
            handler: self.handler,
            description: self.description,
            timeout: self.timeout,
            memory_size: self.memory_size,
            environment: self
                .environment
                .map(|e| e.variables.unwrap_or_default().0.into_iter().collect()),
            layers: self.layers,
            ephemeral_storage: self.ephemeral_storage.map(|e| e.size),
            tracing_mode: self.tracing_config.map(|t| t.mode),
            logging: self.logging_config.map(|l| LoggingInput {
                log_format: l.log_format,
                application_log_level: l.application_log_level,
                system_log_level: l.system_log_level,
                log_group: l.log_group,
            }),
            snap_start_apply_on: self.snap_start.map(|s| s.apply_on),
            kms_key_arn: self.kms_key_arn,
            extra,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct CodeIn<'a> {
    #[serde(borrow, default)]
    zip_file: Option<Cow<'a, str>>,
    s3_bucket: Option<String>,
    s3_key: Option<String>,
    s3_object_version: Option<String>,
    image_uri: Option<String>,
}

impl CodeIn<'_> {
    /// The base64 ZIP as a view of the request body when it could be borrowed.
    fn into_code(self, body: &Bytes) -> FunctionCode {
        FunctionCode {
            zip_file_base64: self.zip_file.map(|z| match z {
                Cow::Borrowed(s) => body.slice_ref(s.as_bytes()),
                Cow::Owned(s) => Bytes::from(s),
            }),
            s3_bucket: self.s3_bucket,
            s3_key: self.s3_key,
            s3_object_version: self.s3_object_version,
            image_uri: self.image_uri,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct CreateBody<'a> {
    function_name: Option<String>,
    #[serde(borrow, default)]
    code: Option<CodeIn<'a>>,
    publish: Option<bool>,
    package_type: Option<String>,
    architectures: Option<Vec<String>>,
    tags: Option<BTreeMap<String, String>>,
    #[serde(flatten)]
    config: ConfigIn,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct UpdateConfigBody {
    revision_id: Option<String>,
    #[serde(flatten)]
    config: ConfigIn,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct UpdateCodeBody<'a> {
    #[serde(borrow, flatten)]
    code: CodeIn<'a>,
    architectures: Option<Vec<String>>,
    publish: Option<bool>,
    dry_run: Option<bool>,
    revision_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct PublishBody {
    code_sha256: Option<String>,
    description: Option<String>,
    revision_id: Option<String>,
}

// ---- response shapes ----

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CodeLocationBody {
    repository_type: &'static str,
    location: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ConcurrencyBody {
    reserved_concurrent_executions: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetFunctionBody<'a> {
    configuration: ConfigurationBody<'a>,
    code: CodeLocationBody,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<&'a BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    concurrency: Option<ConcurrencyBody>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListFunctionsBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
    functions: Vec<ConfigurationBody<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListVersionsBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
    versions: Vec<ConfigurationBody<'a>>,
}

fn answer(status: StatusCode, view: &FunctionView) -> Response {
    json_response(status, &configuration(view, true))
}

// ---- handlers ----

/// `CreateFunction`: `POST /2015-03-31/functions`, 201 with the configuration.
async fn create_function(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = read_limited(&headers, body, MAX_REQUEST_BODY_BYTES, "CreateFunction").await?;
    let parsed: CreateBody<'_> = parse_json(&bytes)?;
    let cmd = CreateFunction {
        function_name: parsed.function_name,
        code: parsed.code.map(|c| c.into_code(&bytes)),
        publish: parsed.publish.unwrap_or(false),
        package_type: parsed.package_type,
        architectures: parsed.architectures,
        tags: parsed.tags,
        config: parsed.config.into_input(),
    };
    drop(bytes);
    let view = state.functions.create(&ctx.scope, cmd).await?;
    Ok(answer(StatusCode::CREATED, &view))
}

/// `GetFunction`: `GET /2015-03-31/functions/{name}`: configuration, code location, tags.
async fn get_function(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(name): PathArgs<String>,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let details = state
        .functions
        .get(&ctx.scope, &name, param(&params, "Qualifier"))
        .await?;
    let view = &details.configuration;
    let body = GetFunctionBody {
        configuration: configuration(view, true),
        code: CodeLocationBody {
            repository_type: "S3",
            location: state
                .content
                .url(&ctx.host, &view.record.code_sha256, &ctx.scope.account)
                .await,
        },
        tags: (!details.tags.is_empty()).then_some(&details.tags),
        concurrency: details
            .reserved_concurrency
            .map(|reserved_concurrent_executions| ConcurrencyBody {
                reserved_concurrent_executions,
            }),
    };
    Ok(json_response(StatusCode::OK, &body))
}

/// `GetFunctionConfiguration`: `GET /2015-03-31/functions/{name}/configuration`.
async fn get_function_configuration(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(name): PathArgs<String>,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let view = state
        .functions
        .get_configuration(&ctx.scope, &name, param(&params, "Qualifier"))
        .await?;
    Ok(answer(StatusCode::OK, &view))
}

/// `UpdateFunctionConfiguration`: `PUT /2015-03-31/functions/{name}/configuration`.
async fn update_function_configuration(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(name): PathArgs<String>,
    JsonBody(parsed): JsonBody<UpdateConfigBody>,
) -> Result<Response, ApiError> {
    let cmd = UpdateFunctionConfiguration {
        function_name: name,
        revision_id: parsed.revision_id,
        config: parsed.config.into_input(),
    };
    let view = state
        .functions
        .update_configuration(&ctx.scope, cmd)
        .await?;
    Ok(answer(StatusCode::OK, &view))
}

/// `UpdateFunctionCode`: `PUT /2015-03-31/functions/{name}/code`.
async fn update_function_code(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(name): PathArgs<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = read_limited(&headers, body, MAX_REQUEST_BODY_BYTES, "UpdateFunctionCode").await?;
    let parsed: UpdateCodeBody<'_> = parse_json(&bytes)?;
    let cmd = UpdateFunctionCode {
        function_name: name,
        code: parsed.code.into_code(&bytes),
        architectures: parsed.architectures,
        publish: parsed.publish.unwrap_or(false),
        dry_run: parsed.dry_run.unwrap_or(false),
        revision_id: parsed.revision_id,
    };
    drop(bytes);
    let view = state.functions.update_code(&ctx.scope, cmd).await?;
    Ok(answer(StatusCode::OK, &view))
}

/// `ListFunctions`: `GET /2015-03-31/functions`.
async fn list_functions(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let query = ListFunctionsQuery {
        master_region: params.get("MasterRegion").cloned(),
        function_version: params.get("FunctionVersion").cloned(),
        marker: params.get("Marker").cloned(),
        max_items: params.get("MaxItems").cloned(),
    };
    let page = state.functions.list(&ctx.scope, &query).await?;
    let body = ListFunctionsBody {
        next_marker: page.next_marker,
        functions: page.items.iter().map(|v| configuration(v, false)).collect(),
    };
    Ok(json_response(StatusCode::OK, &body))
}

/// `DeleteFunction`: `DELETE /2015-03-31/functions/{name}`, 204.
async fn delete_function(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(name): PathArgs<String>,
    Query(params): Query<Params>,
) -> Result<StatusCode, ApiError> {
    state
        .functions
        .delete(&ctx.scope, &name, param(&params, "Qualifier"))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PublishVersion`: `POST /2015-03-31/functions/{name}/versions`, 201 with the version.
async fn publish_version(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(name): PathArgs<String>,
    JsonBody(parsed): JsonBody<PublishBody>,
) -> Result<Response, ApiError> {
    let cmd = PublishVersion {
        function_name: name,
        code_sha256: parsed.code_sha256,
        description: parsed.description,
        revision_id: parsed.revision_id,
    };
    let view = state.functions.publish_version(&ctx.scope, cmd).await?;
    Ok(answer(StatusCode::CREATED, &view))
}

/// `ListVersionsByFunction`: `GET /2015-03-31/functions/{name}/versions`.
async fn list_versions_by_function(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(name): PathArgs<String>,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let query = page_query(&params);
    let page = state
        .functions
        .list_versions(&ctx.scope, &name, &query)
        .await?;
    let body = ListVersionsBody {
        next_marker: page.next_marker,
        versions: page.items.iter().map(|v| configuration(v, false)).collect(),
    };
    Ok(json_response(StatusCode::OK, &body))
}

#[cfg(test)]
mod tests;

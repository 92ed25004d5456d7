//! Helpers shared by the routes: JSON in and out, path and query parameters, and the
//! `FunctionConfiguration` wire shape.

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use lamina_control::functions::{FunctionView, PageQuery};
use lamina_types::{LambdaError, timestamp};
use serde::{Deserialize, Serialize};

use crate::ApiError;

pub(super) type Params = HashMap<String, String>;

pub(super) fn parse_json<'a, T: Deserialize<'a> + Default>(body: &'a [u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError(LambdaError::InvalidRequestContent(format!(
            "Could not parse request body into json: {e}"
        )))
    })
}

pub(super) fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    (status, Json(body)).into_response()
}

pub(super) fn param<'p>(params: &'p Params, key: &str) -> Option<&'p str> {
    params.get(key).map(String::as_str)
}

/// `Marker` and `MaxItems` of a paged function listing.
pub(super) fn page_query(params: &Params) -> PageQuery {
    PageQuery {
        marker: params.get("Marker").cloned(),
        max_items: params.get("MaxItems").cloned(),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct EnvironmentBody<'a> {
    variables: &'a BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ModeBody<'a> {
    mode: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LayerBody<'a> {
    arn: &'a str,
    code_size: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SizeBody {
    size: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SnapStartBody<'a> {
    apply_on: &'a str,
    optimization_status: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RuntimeVersionBody<'a> {
    runtime_version_arn: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LoggingBody<'a> {
    log_format: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    application_log_level: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    system_log_level: Option<&'a str>,
    log_group: &'a str,
}

/// `FunctionConfiguration`. List operations leave out the state members and
/// `RuntimeVersionConfig`, as AWS does.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ConfigurationBody<'a> {
    function_name: &'a str,
    function_arn: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    runtime: Option<&'a str>,
    role: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    handler: Option<&'a str>,
    code_size: u64,
    description: &'a str,
    timeout: u32,
    memory_size: u32,
    last_modified: String,
    code_sha256: String,
    version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    environment: Option<EnvironmentBody<'a>>,
    tracing_config: ModeBody<'a>,
    revision_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    layers: Option<Vec<LayerBody<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state_reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state_reason_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_update_status: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_update_status_reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_update_status_reason_code: Option<&'a str>,
    package_type: &'a str,
    architectures: &'a [String],
    ephemeral_storage: SizeBody,
    snap_start: SnapStartBody<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    runtime_version_config: Option<RuntimeVersionBody<'a>>,
    logging_config: LoggingBody<'a>,
    #[serde(rename = "KMSKeyArn", skip_serializing_if = "Option::is_none")]
    kms_key_arn: Option<&'a str>,
    #[serde(flatten)]
    extra: BTreeMap<&'a str, serde_json::Value>,
}

/// Renders a version; `full` adds what only single-function answers carry.
pub(super) fn configuration(view: &FunctionView, full: bool) -> ConfigurationBody<'_> {
    let r = &view.record;
    let c = &r.config;
    // List operations carry none of the state members, as on AWS.
    let status = full.then_some(&r.status);
    let state_reason = status.and_then(|s| s.state_reason.as_ref());
    let update_reason = status.and_then(|s| s.last_update_reason.as_ref());
    ConfigurationBody {
        function_name: &r.name,
        function_arn: &view.function_arn,
        runtime: c.runtime.as_deref(),
        role: &c.role,
        handler: c.handler.as_deref(),
        code_size: r.code_size,
        description: &c.description,
        timeout: c.timeout_secs,
        memory_size: c.memory_mb,
        last_modified: timestamp::format_millis(r.last_modified_millis),
        code_sha256: base64::engine::general_purpose::STANDARD.encode(r.code_sha256.0),
        version: &view.version,
        environment: c
            .environment
            .as_ref()
            .map(|variables| EnvironmentBody { variables }),
        tracing_config: ModeBody {
            mode: &c.tracing_mode,
        },
        revision_id: &r.revision_id,
        layers: (!c.layers.is_empty()).then(|| {
            c.layers
                .iter()
                .map(|l| LayerBody {
                    arn: &l.arn,
                    code_size: l.code_size,
                })
                .collect()
        }),
        state: status.map(|s| s.state.as_str()),
        state_reason: state_reason.map(|r| r.text.as_str()),
        state_reason_code: state_reason.map(|r| r.code.as_str()),
        last_update_status: status.and_then(|s| s.last_update).map(|u| u.as_str()),
        last_update_status_reason: update_reason.map(|r| r.text.as_str()),
        last_update_status_reason_code: update_reason.map(|r| r.code.as_str()),
        package_type: &c.package_type,
        architectures: &c.architectures,
        ephemeral_storage: SizeBody {
            size: c.ephemeral_storage_mb,
        },
        snap_start: SnapStartBody {
            apply_on: &c.snap_start_apply_on,
            optimization_status: view.snap_start_optimization_status,
        },
        runtime_version_config: view.runtime_version_arn.as_deref().filter(|_| full).map(
            |runtime_version_arn| RuntimeVersionBody {
                runtime_version_arn,
            },
        ),
        logging_config: LoggingBody {
            log_format: &c.logging.log_format,
            application_log_level: c.logging.application_log_level.as_deref(),
            system_log_level: c.logging.system_log_level.as_deref(),
            log_group: &c.logging.log_group,
        },
        kms_key_arn: c.kms_key_arn.as_deref(),
        extra: c
            .extra
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), serde_json::from_str(v).ok()?)))
            .collect(),
    }
}

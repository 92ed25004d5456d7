//! `/2017-03-31/tags/{Resource}`: TagResource, UntagResource and ListTags.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use lamina_types::LambdaError;
use serde::{Deserialize, Serialize};

use super::extract::{JsonBody, PathArgs};
use super::wire::json_response;
use crate::request_context::RequestContext;
use crate::{ApiError, AppState};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route(
        "/2017-03-31/tags/{resource}",
        get(list_tags).post(tag_resource).delete(untag_resource),
    )
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct TagBody {
    tags: Option<BTreeMap<String, String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TagsBody {
    tags: BTreeMap<String, String>,
}

/// `TagResource`: `POST /2017-03-31/tags/{Resource}`, 204.
async fn tag_resource(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(resource): PathArgs<String>,
    JsonBody(parsed): JsonBody<TagBody>,
) -> Result<StatusCode, ApiError> {
    state
        .functions
        .tag_resource(&ctx.scope, &resource, parsed.tags)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `UntagResource`: `DELETE /2017-03-31/tags/{Resource}?tagKeys=a&tagKeys=b`, 204.
async fn untag_resource(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(resource): PathArgs<String>,
    RawQuery(query): RawQuery,
) -> Result<StatusCode, ApiError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
            .map_err(|e| ApiError(LambdaError::Validation(e.to_string())))?;
    // The key is repeated once per tag key; absent, the required member is missing.
    let keys: Vec<String> = pairs
        .into_iter()
        .filter(|(k, _)| k == "tagKeys")
        .map(|(_, v)| v)
        .collect();
    let keys = (!keys.is_empty()).then_some(keys);
    state
        .functions
        .untag_resource(&ctx.scope, &resource, keys)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `ListTags`: `GET /2017-03-31/tags/{Resource}`.
async fn list_tags(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(resource): PathArgs<String>,
) -> Result<Response, ApiError> {
    let tags = state.functions.list_tags(&ctx.scope, &resource).await?;
    Ok(json_response(StatusCode::OK, &TagsBody { tags }))
}

//! `/2015-03-31/functions/{name}/policy`: AddPermission, GetPolicy and RemovePermission, each
//! with `Qualifier` for a version's or an alias's own policy.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get};
use lamina_control::functions::AddPermission;
use serde::{Deserialize, Serialize};

use super::extract::{JsonBody, PathArgs};
use super::wire::{Params, json_response, param};
use crate::request_context::RequestContext;
use crate::{ApiError, AppState};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/2015-03-31/functions/{name}/policy",
            get(get_policy).post(add_permission),
        )
        .route(
            "/2015-03-31/functions/{name}/policy/{statement_id}",
            delete(remove_permission),
        )
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct AddPermissionBody {
    statement_id: Option<String>,
    action: Option<String>,
    principal: Option<String>,
    source_arn: Option<String>,
    source_account: Option<String>,
    #[serde(rename = "PrincipalOrgID")]
    principal_org_id: Option<String>,
    event_source_token: Option<String>,
    function_url_auth_type: Option<String>,
    invoked_via_function_url: Option<bool>,
    revision_id: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct StatementBody {
    statement: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyBody {
    policy: String,
    revision_id: String,
}

/// `AddPermission`: `POST /2015-03-31/functions/{name}/policy`, 201 with the statement.
async fn add_permission(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(name): PathArgs<String>,
    Query(params): Query<Params>,
    JsonBody(parsed): JsonBody<AddPermissionBody>,
) -> Result<Response, ApiError> {
    let cmd = AddPermission {
        function_name: name,
        qualifier: param(&params, "Qualifier").map(str::to_owned),
        statement_id: parsed.statement_id,
        action: parsed.action,
        principal: parsed.principal,
        source_arn: parsed.source_arn,
        source_account: parsed.source_account,
        principal_org_id: parsed.principal_org_id,
        event_source_token: parsed.event_source_token,
        function_url_auth_type: parsed.function_url_auth_type,
        invoked_via_function_url: parsed.invoked_via_function_url,
        revision_id: parsed.revision_id,
    };
    let statement = state.functions.add_permission(&ctx.scope, cmd).await?;
    Ok(json_response(
        StatusCode::CREATED,
        &StatementBody { statement },
    ))
}

/// `GetPolicy`: `GET /2015-03-31/functions/{name}/policy`.
async fn get_policy(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs(name): PathArgs<String>,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let view = state
        .functions
        .get_policy(&ctx.scope, &name, param(&params, "Qualifier"))
        .await?;
    let body = PolicyBody {
        policy: view.policy,
        revision_id: view.revision_id,
    };
    Ok(json_response(StatusCode::OK, &body))
}

/// `RemovePermission`: `DELETE /2015-03-31/functions/{name}/policy/{StatementId}`, 204.
async fn remove_permission(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    PathArgs((name, statement_id)): PathArgs<(String, String)>,
    Query(params): Query<Params>,
) -> Result<StatusCode, ApiError> {
    state
        .functions
        .remove_permission(
            &ctx.scope,
            &name,
            &statement_id,
            param(&params, "Qualifier"),
            param(&params, "RevisionId"),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

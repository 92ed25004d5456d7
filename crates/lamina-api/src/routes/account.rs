//! `GET /2016-08-19/account-settings`: GetAccountSettings.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Serialize;

use super::wire::json_response;
use crate::request_context::RequestContext;
use crate::{ApiError, AppState};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/2016-08-19/account-settings", get(get_account_settings))
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AccountLimitBody {
    total_code_size: u64,
    code_size_unzipped: u64,
    code_size_zipped: u64,
    concurrent_executions: u32,
    unreserved_concurrent_executions: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AccountUsageBody {
    total_code_size: u64,
    function_count: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AccountSettingsBody {
    account_limit: AccountLimitBody,
    account_usage: AccountUsageBody,
}

/// `GetAccountSettings`: `GET /2016-08-19/account-settings`.
async fn get_account_settings(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
) -> Result<Response, ApiError> {
    let s = state.functions.account_settings(&ctx.scope).await?;
    let body = AccountSettingsBody {
        account_limit: AccountLimitBody {
            total_code_size: s.total_code_size_limit,
            code_size_unzipped: s.code_size_unzipped,
            code_size_zipped: s.code_size_zipped,
            concurrent_executions: s.concurrent_executions,
            unreserved_concurrent_executions: s.unreserved_concurrent_executions,
        },
        account_usage: AccountUsageBody {
            total_code_size: s.total_code_size,
            function_count: s.function_count,
        },
    };
    Ok(json_response(StatusCode::OK, &body))
}

#[cfg(test)]
mod tests;

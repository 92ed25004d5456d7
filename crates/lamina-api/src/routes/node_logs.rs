//! The internal endpoints through which the nodes of a cluster read each other's function
//! logs (`cluster/peer_logs.rs` calls them): this node's functions with logs, and its events
//! of some functions, as JSON. Not AWS operations: SigV4 does not apply, the cluster's
//! node-to-node token always does.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use lamina_types::{AccountId, LambdaError};
use serde::Deserialize;

use crate::cluster::PEER_TOKEN_HEADER;
use crate::{ApiError, AppState};

/// This node's functions with logs in an account (`?account=`).
pub const NODE_LOG_FUNCTIONS_PATH: &str = "/_lamina/node/log-functions";
/// This node's events of some functions (`?account=&functions=a,b&retentionDays=`).
pub const NODE_LOG_EVENTS_PATH: &str = "/_lamina/node/log-events";

/// Longest function name Lambda accepts (a name, not an ARN).
const MAX_FUNCTION_NAME_CHARS: usize = 64;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(NODE_LOG_FUNCTIONS_PATH, get(log_functions))
        .route(NODE_LOG_EVENTS_PATH, get(log_events))
}

#[derive(Deserialize)]
struct FunctionsQuery {
    account: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventsQuery {
    account: String,
    functions: String,
    retention_days: Option<u32>,
}

/// The caller must present the cluster's token.
fn check_token(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let presented = headers.get(PEER_TOKEN_HEADER).and_then(|v| v.to_str().ok());
    if state.cluster.peer_token.verify(presented) {
        Ok(())
    } else {
        Err(ApiError(LambdaError::AccessDenied(
            "Only the nodes of this cluster may read its logs here.".to_owned(),
        )))
    }
}

fn account(text: &str) -> Result<String, ApiError> {
    AccountId::parse(text)
        .map(|a| a.as_str().to_owned())
        .ok_or_else(|| invalid(format!("{text:?} is not an account id")))
}

/// Function names as Lambda allows them, which also keeps them to one file name each.
fn function_names(list: &str) -> Result<Vec<String>, ApiError> {
    list.split(',')
        .filter(|f| !f.is_empty())
        .map(|f| {
            let valid = f.len() <= MAX_FUNCTION_NAME_CHARS
                && f.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if valid {
                Ok(f.to_owned())
            } else {
                Err(invalid(format!("{f:?} is not a function name")))
            }
        })
        .collect()
}

fn invalid(message: String) -> ApiError {
    ApiError(LambdaError::InvalidParameterValue(message))
}

/// This node's functions with logs in the account.
async fn log_functions(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<FunctionsQuery>,
) -> Result<Response, ApiError> {
    check_token(&state, &headers)?;
    let account = account(&query.account)?;
    let executor = state.executor.clone();
    let functions =
        tokio::task::spawn_blocking(move || executor.log_groups().logged_functions(&account))
            .await
            .map_err(|_| ApiError(LambdaError::Service("reading the logs failed".to_owned())))?;
    Ok(Json(functions).into_response())
}

/// This node's events of the functions, within the retention.
async fn log_events(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<EventsQuery>,
) -> Result<Response, ApiError> {
    check_token(&state, &headers)?;
    let account = account(&query.account)?;
    let functions = function_names(&query.functions)?;
    if let Some(days) = query.retention_days {
        lamina_exec::log_groups::validate_days(i64::from(days))
            .map_err(|e| invalid(e.to_string()))?;
    }
    let executor = state.executor.clone();
    let events = tokio::task::spawn_blocking(move || {
        executor
            .log_groups()
            .local_events(&account, &functions, query.retention_days)
    })
    .await
    .map_err(|_| ApiError(LambdaError::Service("reading the logs failed".to_owned())))?;
    Ok(Json(events).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_function_names_are_read() {
        assert_eq!(function_names("a,b-1,c_2").unwrap(), ["a", "b-1", "c_2"]);
        assert!(function_names("").unwrap().is_empty());
        for bad in ["../x", "a.b", "a/b", &"x".repeat(65)] {
            assert!(function_names(bad).is_err(), "{bad}");
        }
        assert!(account("12345678901").is_err());
        assert!(account("123456789012").is_ok());
    }
}

//! The internal endpoints through which the nodes of a cluster read each other's function
//! logs (`cluster/peer_logs.rs` calls them): this node's functions with logs, and its events
//! of some functions, as JSON. Not AWS operations: SigV4 does not apply, the cluster's
//! node-to-node token always does.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use lamina_types::{AccountId, LambdaError};
use serde::Deserialize;
use serde::de::DeserializeOwned;

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

/// The query, read only once the token is checked: a caller without it learns nothing, not
/// even which parameters are expected.
fn query<T: DeserializeOwned>(raw: Option<String>) -> Result<T, ApiError> {
    serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| invalid(format!("the query: {e}")))
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
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    check_token(&state, &headers)?;
    let query: FunctionsQuery = query(raw)?;
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
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    check_token(&state, &headers)?;
    let query: EventsQuery = query(raw)?;
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
    use axum::body::Body;
    use axum::http::Request;
    use serde_json::json;

    use super::*;
    use crate::ContentSigner;
    use crate::cluster::PeerToken;
    use crate::routes::test_support::TestApi;

    /// GET `uri`, with the route tests' cluster token when `token`.
    fn get(uri: &str, token: Option<&str>) -> Request<Body> {
        let request = Request::builder().uri(uri);
        let request = match token {
            Some(t) => request.header(PEER_TOKEN_HEADER, t),
            None => request,
        };
        request.body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn only_the_clusters_nodes_read_the_logs() {
        let api = TestApi::start().await;
        let token = PeerToken::derive(&ContentSigner::new(b"route tests".to_vec(), 60));
        let functions = format!("{NODE_LOG_FUNCTIONS_PATH}?account=123456789012");
        let events = format!("{NODE_LOG_EVENTS_PATH}?account=123456789012&functions=f,g");
        for uri in [
            &functions,
            &events,
            &format!("{NODE_LOG_EVENTS_PATH}?garbled"),
        ] {
            let refused = api.send(get(uri, None)).await;
            assert_eq!(refused.status, 403, "{uri}");
            let wrong = api.send(get(uri, Some("00"))).await;
            assert_eq!(wrong.status, 403, "{uri}");
        }
        let listed = api.send(get(&functions, Some(token.as_str()))).await;
        assert_eq!(listed.ok(200), &json!([]));
        let read = api.send(get(&events, Some(token.as_str()))).await;
        assert_eq!(read.ok(200), &json!({ "functions": [], "events": [] }));
        let bad = format!("{NODE_LOG_EVENTS_PATH}?account=123456789012&functions=../x");
        assert_eq!(api.send(get(&bad, Some(token.as_str()))).await.status, 400);
    }

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

//! [`PeerLogs`] over HTTP: the other live nodes' function logs, fetched from their internal
//! endpoints (`routes/node_logs.rs`) in parallel, each call bounded by a short timeout. A node
//! that does not answer is left out with a warning: its events are missing from this answer,
//! which is better than no answer while a node is down.

use std::time::Duration;

use lamina_exec::log_groups::{LoggedFunction, NodeEvents, PeerLogs};
use lamina_store::NodeRecord;
use serde::de::DeserializeOwned;

use super::{PEER_TOKEN_HEADER, PeerToken};

/// How long one call to another node may take.
const PEER_CALL_TIMEOUT: Duration = Duration::from_secs(3);
/// Most bytes one node's answer may have (its logs are capped far below by default).
const MAX_PEER_ANSWER_BYTES: u64 = 1 << 30;

/// The other live nodes, called over HTTP.
pub struct HttpPeerLogs {
    peers: Vec<NodeRecord>,
    token: PeerToken,
}

impl HttpPeerLogs {
    /// Calls `peers`, presenting `token`.
    pub fn new(peers: Vec<NodeRecord>, token: PeerToken) -> Self {
        Self { peers, token }
    }

    /// `path?query` of every peer at once, each answer decoded; the peers that failed are
    /// left out, with a warning.
    fn ask_all<T: DeserializeOwned + Send>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Vec<(String, T)> {
        let query = serde_urlencoded::to_string(query).unwrap_or_default();
        std::thread::scope(|scope| {
            let calls: Vec<_> = self
                .peers
                .iter()
                .map(|peer| {
                    let url = format!("{}{path}?{query}", peer.url.trim_end_matches('/'));
                    let token = self.token.as_str();
                    (peer, scope.spawn(move || ask::<T>(&url, token)))
                })
                .collect();
            calls
                .into_iter()
                .filter_map(|(peer, call)| match call.join() {
                    Ok(Ok(answer)) => Some((peer.id.to_string(), answer)),
                    Ok(Err(e)) => {
                        tracing::warn!(node = %peer.id, url = %peer.url, error = %e,
                            "another node's logs are left out: it did not answer");
                        None
                    }
                    Err(_) => None,
                })
                .collect()
        })
    }
}

/// One call: GET `url` with the token, its JSON answer.
fn ask<T: DeserializeOwned>(url: &str, token: &str) -> Result<T, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(PEER_CALL_TIMEOUT))
        .build()
        .into();
    let mut response = agent
        .get(url)
        .header(PEER_TOKEN_HEADER, token)
        .call()
        .map_err(|e| e.to_string())?;
    let text = response
        .body_mut()
        .with_config()
        .limit(MAX_PEER_ANSWER_BYTES)
        .read_to_string()
        .map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| format!("an answer that is not its logs: {e}"))
}

impl PeerLogs for HttpPeerLogs {
    fn functions(&self, account: &str) -> Vec<Vec<LoggedFunction>> {
        if self.peers.is_empty() {
            return Vec::new();
        }
        self.ask_all(
            crate::routes::NODE_LOG_FUNCTIONS_PATH,
            &[("account", account)],
        )
        .into_iter()
        .map(|(_, functions)| functions)
        .collect()
    }

    fn events(
        &self,
        account: &str,
        functions: &[String],
        retention_days: Option<u32>,
    ) -> Vec<(String, NodeEvents)> {
        if self.peers.is_empty() {
            return Vec::new();
        }
        let functions = functions.join(",");
        let days = retention_days.map(|d| d.to_string());
        let mut query = vec![("account", account), ("functions", functions.as_str())];
        if let Some(days) = &days {
            query.push(("retentionDays", days));
        }
        self.ask_all(crate::routes::NODE_LOG_EVENTS_PATH, &query)
    }
}

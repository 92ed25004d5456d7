//! Lamina's own `GET /_lamina/health` (no AWS operation): what this node runs with (version,
//! isolation, authentication, function network), who it is in its cluster, whether the
//! database and the artifact store answer, and which nodes are live. A node that cannot reach
//! its database or artifact store answers 503 with the same body, so a load balancer's health
//! check takes it out until they are back.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use lamina_exec::network::FunctionNetwork;
use lamina_store::NodeRecord;
use lamina_types::layer::Digest;
use serde_json::{Value, json};

use crate::AppState;

/// How long each reachability check may take before it counts as unreachable.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// What the checks of the shared services found.
struct Probes {
    /// The database engine (`sqlite` or `postgres`) and whether it answered.
    database: (&'static str, bool),
    /// The artifact store (`local` or `s3`) and whether it answered.
    artifacts: (&'static str, bool),
    /// The registry, when it could be read.
    nodes: Option<Vec<NodeRecord>>,
}

/// `GET /_lamina/health`.
pub async fn health(State(state): State<Arc<AppState>>) -> (StatusCode, Json<Value>) {
    let cluster = &state.cluster;
    let database = async {
        matches!(
            tokio::time::timeout(PROBE_TIMEOUT, cluster.nodes.ping()).await,
            Ok(Ok(()))
        )
    };
    // Any digest will do: "not stored" proves the store is there and readable (a HEAD on S3,
    // a stat locally).
    let artifacts = async {
        matches!(
            tokio::time::timeout(PROBE_TIMEOUT, cluster.artifacts.exists(&Digest([0; 32]))).await,
            Ok(Ok(_))
        )
    };
    let nodes = async {
        match tokio::time::timeout(PROBE_TIMEOUT, cluster.nodes.nodes()).await {
            Ok(Ok(nodes)) => Some(nodes),
            _ => None,
        }
    };
    let (database, artifacts, nodes) = tokio::join!(database, artifacts, nodes);
    let probes = Probes {
        database: (cluster.nodes.engine(), database),
        artifacts: (
            if cluster.artifacts.is_node_local() {
                "local"
            } else {
                "s3"
            },
            artifacts,
        ),
        nodes,
    };
    let (status, body) = report(
        node_settings(&state),
        &cluster.node,
        &probes,
        lamina_types::timestamp::now_millis(),
    );
    (status, Json(body))
}

/// What this node runs with.
fn node_settings(state: &AppState) -> Value {
    let (cgroups, cgroup_path) = state.executor.cgroup_info();
    let network = state.executor.function_network();
    let mut body = json!({
        "version": env!("CARGO_PKG_VERSION"),
        "isolation": state.executor.isolation().as_str(),
        "cgroups": cgroups,
        "cgroupPath": cgroup_path,
        "auth": state.auth.as_str(),
        "functionNetwork": network.as_str(),
    });
    let (ready, in_use) = state.executor.provisioned_totals();
    body["provisionedEnvironments"] = json!({ "ready": ready, "inUse": in_use });
    if network == FunctionNetwork::Host {
        body["functionNetworkWarning"] = json!(
            "function network: host - functions can reach every loopback service of this \
             machine, this API included"
        );
        if let Some(reason) = &state.host_network_because {
            body["functionNetworkReason"] = json!(reason);
        }
    }
    body
}

/// The health body at `now_ms` and its status: 200 (`"status": "ok"`) when the database and
/// the artifact store answered, else 503 (`"status": "unavailable"`).
fn report(mut body: Value, node: &NodeRecord, probes: &Probes, now_ms: i64) -> (StatusCode, Value) {
    let (engine, db_ok) = probes.database;
    let (store, store_ok) = probes.artifacts;
    let healthy = db_ok && store_ok;
    body["status"] = json!(if healthy { "ok" } else { "unavailable" });
    body["node"] = json!({
        "id": node.id.as_str(),
        "url": node.url,
        "startedMillis": node.started_millis,
    });
    body["database"] = json!({ "engine": engine, "reachable": db_ok });
    body["artifacts"] = json!({ "store": store, "reachable": store_ok });
    body["nodes"] = match &probes.nodes {
        Some(nodes) => nodes
            .iter()
            .map(|n| {
                json!({
                    "id": n.id.as_str(),
                    "url": n.url,
                    "startedMillis": n.started_millis,
                    "heartbeatMillis": n.heartbeat_millis,
                    "live": lamina_types::node::is_live(n.heartbeat_millis, now_ms),
                })
            })
            .collect(),
        None => Value::Null,
    };
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, body)
}

#[cfg(test)]
mod tests {
    use lamina_types::NodeId;

    use super::*;

    fn node(bits: u64, heartbeat: i64) -> NodeRecord {
        NodeRecord {
            id: NodeId::from_random(bits),
            url: format!("http://10.0.0.{bits}:8900"),
            started_millis: 1_000,
            heartbeat_millis: heartbeat,
        }
    }

    #[test]
    fn a_healthy_node_reports_itself_its_services_and_the_live_nodes() {
        let now = 100_000;
        let probes = Probes {
            database: ("postgres", true),
            artifacts: ("s3", true),
            nodes: Some(vec![node(1, now - 1_000), node(2, now - 60_000)]),
        };
        let (status, body) = report(json!({ "auth": "sigv4" }), &node(1, now), &probes, now);
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body,
            json!({
                "auth": "sigv4",
                "status": "ok",
                "node": { "id": "node-0000000000000001", "url": "http://10.0.0.1:8900",
                          "startedMillis": 1_000 },
                "database": { "engine": "postgres", "reachable": true },
                "artifacts": { "store": "s3", "reachable": true },
                "nodes": [
                    { "id": "node-0000000000000001", "url": "http://10.0.0.1:8900",
                      "startedMillis": 1_000, "heartbeatMillis": 99_000, "live": true },
                    { "id": "node-0000000000000002", "url": "http://10.0.0.2:8900",
                      "startedMillis": 1_000, "heartbeatMillis": 40_000, "live": false },
                ],
            })
        );
    }

    #[test]
    fn an_unreachable_database_or_store_is_a_503_saying_which() {
        let down_db = Probes {
            database: ("postgres", false),
            artifacts: ("local", true),
            nodes: None,
        };
        let (status, body) = report(json!({}), &node(1, 0), &down_db, 0);
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["status"], "unavailable");
        assert_eq!(
            body["database"],
            json!({ "engine": "postgres", "reachable": false })
        );
        assert_eq!(
            body["artifacts"],
            json!({ "store": "local", "reachable": true })
        );
        assert_eq!(body["nodes"], Value::Null);
        let down_store = Probes {
            database: ("sqlite", true),
            artifacts: ("s3", false),
            nodes: Some(Vec::new()),
        };
        let (status, body) = report(json!({}), &node(1, 0), &down_store, 0);
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            body["artifacts"],
            json!({ "store": "s3", "reachable": false })
        );
    }
}

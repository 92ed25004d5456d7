//! This node in the cluster's registry: registered at start with the URL other nodes reach it
//! at, then kept live by a heartbeat in the background; long-silent nodes are removed on the
//! way, so the registry does not grow forever.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use lamina_store::{NodeRecord, NodeStore};
use lamina_types::NodeId;
use lamina_types::node::{FORGOTTEN_AFTER_MS, HEARTBEAT_INTERVAL_MS};
use lamina_types::timestamp::now_millis;

/// Heartbeats between two sweeps of long-silent nodes (about a minute).
const HEARTBEATS_PER_SWEEP: u32 = 30;

/// The URL other nodes reach this one at: `--advertise-url` (an `http://` or `https://` URL,
/// without a trailing slash), else `http://<listen address>`. A wildcard listen address
/// (0.0.0.0, ::) names no host another machine can reach: that is worth a warning.
pub(crate) fn advertise_url(given: Option<&str>, listen: SocketAddr) -> anyhow::Result<String> {
    if let Some(url) = given {
        let url = url.trim_end_matches('/');
        let host = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"));
        if host.is_none_or(|h| h.is_empty() || h.contains('/')) {
            bail!("--advertise-url must be http://host:port or https://host:port, got {url:?}");
        }
        return Ok(url.to_owned());
    }
    if listen.ip().is_unspecified() {
        tracing::warn!(
            %listen,
            "listening on every address without --advertise-url: other nodes are told \
             http://{listen}, which only reaches this machine; give --advertise-url \
             http://<this host>:{} for a cluster",
            listen.port()
        );
    }
    Ok(format!("http://{listen}"))
}

/// Registers this node (its first heartbeat); fails when the database refuses.
pub(crate) async fn register(
    store: &dyn NodeStore,
    id: NodeId,
    url: String,
) -> anyhow::Result<NodeRecord> {
    let now = now_millis();
    let node = NodeRecord {
        id,
        url,
        started_millis: now,
        heartbeat_millis: now,
    };
    store
        .record_heartbeat(&node)
        .await
        .context("registering this node")?;
    Ok(node)
}

/// Records a heartbeat every [`HEARTBEAT_INTERVAL_MS`] until the runtime stops. A failure is a
/// warning (once per outage) and the next heartbeat tries again: the database may be away for
/// a while, and the node keeps serving what it can meanwhile.
/// Returns the task, which [`leave`] ends.
pub(crate) fn keep_alive(store: Arc<dyn NodeStore>, node: NodeRecord) -> HeartbeatTask {
    HeartbeatTask(tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_millis(HEARTBEAT_INTERVAL_MS));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        let mut beats: u32 = 0;
        loop {
            interval.tick().await;
            let beat = NodeRecord {
                heartbeat_millis: now_millis(),
                ..node.clone()
            };
            match store.record_heartbeat(&beat).await {
                Ok(()) if failing => {
                    failing = false;
                    tracing::info!(node = %node.id, "heartbeats are recorded again");
                }
                Ok(()) => {}
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(node = %node.id, error = %e,
                        "could not record this node's heartbeat; other nodes will see it as \
                         not live until the database answers again");
                }
                Err(_) => {}
            }
            beats = beats.wrapping_add(1);
            if !failing && beats.is_multiple_of(HEARTBEATS_PER_SWEEP) {
                let before = beat.heartbeat_millis.saturating_sub(FORGOTTEN_AFTER_MS);
                match store.forget_nodes_before(before).await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(nodes = n, "removed long-silent nodes from the registry")
                    }
                    Err(e) => tracing::warn!(error = %e, "could not sweep the node registry"),
                }
            }
        }
    }))
}

/// The heartbeat running in the background.
pub(crate) struct HeartbeatTask(tokio::task::JoinHandle<()>);

/// Marks this node as gone at a clean shutdown (its heartbeat set to the epoch), so the other
/// nodes stop calling it at once rather than after [`lamina_types::node::LIVE_FOR_MS`]. A
/// failure is only logged: the node then goes out of the live ones by itself.
pub(crate) async fn leave(heartbeat: HeartbeatTask, store: &dyn NodeStore, node: &NodeRecord) {
    heartbeat.0.abort();
    let gone = NodeRecord {
        heartbeat_millis: 0,
        ..node.clone()
    };
    if let Err(e) = store.record_heartbeat(&gone).await {
        tracing::warn!(node = %node.id, error = %e, "could not mark this node as gone");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_advertised_url_is_given_or_the_listen_address() {
        let listen: SocketAddr = "127.0.0.1:8900".parse().unwrap();
        assert_eq!(
            advertise_url(None, listen).unwrap(),
            "http://127.0.0.1:8900"
        );
        let any: SocketAddr = "0.0.0.0:8900".parse().unwrap();
        assert_eq!(advertise_url(None, any).unwrap(), "http://0.0.0.0:8900");
        assert_eq!(
            advertise_url(Some("http://node-a.internal:8900/"), any).unwrap(),
            "http://node-a.internal:8900"
        );
        assert_eq!(
            advertise_url(Some("https://a:1"), any).unwrap(),
            "https://a:1"
        );
        for bad in ["node-a:8900", "ftp://a:1", "http://", "http://a:1/path"] {
            assert!(advertise_url(Some(bad), any).is_err(), "{bad}");
        }
    }
}

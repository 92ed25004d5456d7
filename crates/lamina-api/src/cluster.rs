//! This node's place in its cluster: who it is, the registry of the other nodes, what they
//! share (the retention policies of logs), and how nodes call each other (a token every node
//! derives from the cluster's server secret). A single node is a cluster of one.

mod peer_logs;
mod peer_token;

use std::sync::Arc;

use lamina_store::{BlobStore, LogRetentionStore, NodeRecord, NodeStore};

pub use peer_logs::HttpPeerLogs;
pub use peer_token::{PEER_TOKEN_HEADER, PeerToken};

/// What a node knows of its cluster.
pub struct Cluster {
    /// This node: its id, the URL it advertises and when it started (its heartbeat is kept
    /// by the server, in the registry).
    pub node: NodeRecord,
    /// The registry of every node.
    pub nodes: Arc<dyn NodeStore>,
    /// The log groups' retention policies, which every node applies.
    pub log_retention: Arc<dyn LogRetentionStore>,
    /// The artifact store, whose reachability health reports.
    pub artifacts: Arc<dyn BlobStore>,
    /// What nodes present to each other.
    pub peer_token: PeerToken,
}

impl Cluster {
    /// The other nodes that are live now. A registry that cannot be read gives none, with a
    /// warning: the caller then answers from this node's own data.
    pub async fn live_peers(&self) -> Vec<NodeRecord> {
        let nodes = match self.nodes.nodes().await {
            Ok(nodes) => nodes,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the node registry");
                return Vec::new();
            }
        };
        let now = lamina_types::timestamp::now_millis();
        nodes
            .into_iter()
            .filter(|n| {
                n.id != self.node.id && lamina_types::node::is_live(n.heartbeat_millis, now)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use lamina_store::{LocalArtifacts, SqliteStore};
    use lamina_types::{AccountId, NodeId};

    use super::*;
    use crate::ContentSigner;

    fn node(bits: u64, heartbeat: i64) -> NodeRecord {
        NodeRecord {
            id: NodeId::from_random(bits),
            url: format!("http://127.0.0.{bits}:8900"),
            started_millis: 0,
            heartbeat_millis: heartbeat,
        }
    }

    #[tokio::test]
    async fn the_peers_are_the_other_live_nodes() {
        let dir = tempfile::tempdir().unwrap();
        let account = AccountId::parse("123456789012").unwrap();
        let store = Arc::new(
            SqliteStore::open(&dir.path().join("lamina.db"), &account)
                .await
                .unwrap(),
        );
        let now = lamina_types::timestamp::now_millis();
        let me = node(1, now);
        let cluster = Cluster {
            node: me.clone(),
            nodes: store.clone(),
            log_retention: store.clone(),
            artifacts: LocalArtifacts::open(dir.path()).unwrap().blobs().clone(),
            peer_token: PeerToken::derive(&ContentSigner::new(b"s".to_vec(), 60)),
        };
        store.record_heartbeat(&me).await.unwrap();
        // Alone: no peer, so a Logs call makes no call to another node.
        assert_eq!(cluster.live_peers().await, []);
        let live = node(2, now);
        store.record_heartbeat(&live).await.unwrap();
        store
            .record_heartbeat(&node(3, now - lamina_types::node::LIVE_FOR_MS - 1))
            .await
            .unwrap();
        assert_eq!(cluster.live_peers().await, [live]);
    }
}

//! The node registry: every `lamina serve` process of a cluster records its URL and a
//! heartbeat, so each node knows the others (to read their function logs) and health can say
//! which are live. Single-node servers keep a registry of one.

use lamina_types::NodeId;

use crate::metadata::StoreError;

/// One node as the registry knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRecord {
    /// The node's id, from its data directory.
    pub id: NodeId,
    /// The base URL other nodes reach it at (`http://host:port`, no trailing slash).
    pub url: String,
    /// When the node's process started, in milliseconds since the epoch.
    pub started_millis: i64,
    /// When the node last recorded a heartbeat, in milliseconds since the epoch (its own
    /// clock; see [`lamina_types::node::is_live`]).
    pub heartbeat_millis: i64,
}

/// The registry of a cluster's nodes, and the database's reachability as health reports it.
#[async_trait::async_trait]
pub trait NodeStore: Send + Sync {
    /// Records `node` (registers it, or records a heartbeat): its row is replaced whole, so a
    /// restarted node's new URL and start time take effect at once.
    async fn record_heartbeat(&self, node: &NodeRecord) -> Result<(), StoreError>;

    /// Every registered node, by id.
    async fn nodes(&self) -> Result<Vec<NodeRecord>, StoreError>;

    /// Removes the nodes whose last heartbeat is older than `before_millis`; returns how many.
    async fn forget_nodes_before(&self, before_millis: i64) -> Result<u64, StoreError>;

    /// The engine's name as health reports it: `sqlite` or `postgres`.
    fn engine(&self) -> &'static str;

    /// Asks the database the cheapest question (`SELECT 1`): an error when it cannot answer.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// A node id read back from the registry, or why the row is corrupt.
pub(crate) fn stored_node_id(text: &str) -> Result<NodeId, StoreError> {
    NodeId::parse(text).ok_or_else(|| StoreError::Corrupt {
        table: "nodes",
        reason: format!("{text:?} is not a node id"),
    })
}

#[cfg(test)]
mod tests;

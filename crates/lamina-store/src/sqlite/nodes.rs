//! [`NodeStore`] on SQLite: schema version 12's `nodes` table and its statements. A
//! single-node server registers itself too, so health reads the same registry everywhere.

use sqlx::Row;

use super::SqliteStore;
use crate::metadata::StoreError;
use crate::node_store::{NodeRecord, NodeStore, stored_node_id};

/// Schema version 12 (with `log_retention.rs`): the node registry, one row per node.
pub(super) const SCHEMA_V12: &str = "
CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    started_millis INTEGER NOT NULL,
    heartbeat_millis INTEGER NOT NULL
);
";

#[async_trait::async_trait]
impl NodeStore for SqliteStore {
    async fn record_heartbeat(&self, node: &NodeRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO nodes (id, url, started_millis, heartbeat_millis) \
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id) DO UPDATE SET url = excluded.url, \
             started_millis = excluded.started_millis, \
             heartbeat_millis = excluded.heartbeat_millis",
        )
        .bind(node.id.as_str())
        .bind(&node.url)
        .bind(node.started_millis)
        .bind(node.heartbeat_millis)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn nodes(&self) -> Result<Vec<NodeRecord>, StoreError> {
        let rows =
            sqlx::query("SELECT id, url, started_millis, heartbeat_millis FROM nodes ORDER BY id")
                .fetch_all(&self.readers)
                .await?;
        rows.iter()
            .map(|row| {
                Ok(NodeRecord {
                    id: stored_node_id(row.try_get("id")?)?,
                    url: row.try_get("url")?,
                    started_millis: row.try_get("started_millis")?,
                    heartbeat_millis: row.try_get("heartbeat_millis")?,
                })
            })
            .collect()
    }

    async fn forget_nodes_before(&self, before_millis: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM nodes WHERE heartbeat_millis < ?1")
            .bind(before_millis)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }

    fn engine(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.readers).await?;
        Ok(())
    }
}

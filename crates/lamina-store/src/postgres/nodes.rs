//! [`NodeStore`] on PostgreSQL: the `nodes` table of schema step 2 and its statements.

use sqlx::Row;

use super::PgStore;
use crate::metadata::StoreError;
use crate::node_store::{NodeRecord, NodeStore, stored_node_id};

/// Schema step 2: what a cluster's nodes share about themselves and their logs, the node
/// registry and the log groups' retention policies (SQLite's version 12). One step, so
/// PostgreSQL's history numbers match what shipped together.
pub(super) const SCHEMA_V2: &str = r#"
CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    started_millis BIGINT NOT NULL,
    heartbeat_millis BIGINT NOT NULL
);
CREATE TABLE log_retention (
    account TEXT NOT NULL,
    group_name TEXT COLLATE "C" NOT NULL,
    days BIGINT NOT NULL,
    PRIMARY KEY (account, group_name)
);
"#;

#[async_trait::async_trait]
impl NodeStore for PgStore {
    async fn record_heartbeat(&self, node: &NodeRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO nodes (id, url, started_millis, heartbeat_millis) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET url = excluded.url, \
             started_millis = excluded.started_millis, \
             heartbeat_millis = excluded.heartbeat_millis",
        )
        .bind(node.id.as_str())
        .bind(&node.url)
        .bind(node.started_millis)
        .bind(node.heartbeat_millis)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn nodes(&self) -> Result<Vec<NodeRecord>, StoreError> {
        let rows =
            sqlx::query("SELECT id, url, started_millis, heartbeat_millis FROM nodes ORDER BY id")
                .fetch_all(&self.pool)
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
        let done = sqlx::query("DELETE FROM nodes WHERE heartbeat_millis < $1")
            .bind(before_millis)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    fn engine(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

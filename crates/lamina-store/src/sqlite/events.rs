//! [`EventStore`] on SQLite: schema version 4 and its statements.
//!
//! One row per accepted `Event` invocation, removed once it has run (or expired). The
//! database's WAL with full fsync makes the insert durable before the API answers 202.

use super::SqliteStore;
use crate::event_store::{EventHeader, EventStore, NewEvent, QueuedEvent};
use crate::metadata::StoreError;
use lamina_types::NodeId;

/// The table added by schema version 4. No foreign key to `functions`: an event of a deleted
/// function stays until the dispatcher finds the function gone and drops it with a log line.
/// `AUTOINCREMENT` keeps ids from being reused, so an id held in memory names one event only.
pub(super) const SCHEMA_V4: &str = "
CREATE TABLE IF NOT EXISTS async_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL,
    region TEXT NOT NULL,
    function_name TEXT NOT NULL,
    qualifier TEXT,
    invoked_function_arn TEXT NOT NULL,
    payload BLOB NOT NULL,
    client_context TEXT,
    enqueued_millis INTEGER NOT NULL,
    function_error_attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_millis INTEGER NOT NULL
);
";

/// Schema version 13: each event is held by the node that runs it (see [`EventStore`]); the
/// events of an earlier single-node Lamina are held by none, so the first node to start
/// claims them.
pub(super) const SCHEMA_V13: &str = "
ALTER TABLE async_events ADD COLUMN holder TEXT;
CREATE INDEX async_events_by_holder ON async_events (holder);
";

macro_rules! header_columns {
    () => {
        "id, request_id, account, region, function_name, enqueued_millis, function_error_attempts, \
         next_attempt_millis"
    };
}

#[async_trait::async_trait]
impl EventStore for SqliteStore {
    async fn enqueue_event(&self, event: &NewEvent, holder: &NodeId) -> Result<i64, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO async_events (request_id, account, region, function_name, qualifier, \
             invoked_function_arn, payload, client_context, enqueued_millis, \
             next_attempt_millis, holder) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, \
             ?10) RETURNING id",
        )
        .bind(&event.request_id)
        .bind(event.scope.account.as_str())
        .bind(event.scope.region.as_str())
        .bind(&event.function_name)
        .bind(event.qualifier.as_deref())
        .bind(&event.invoked_function_arn)
        .bind(event.payload.as_slice())
        .bind(event.client_context.as_deref())
        .bind(event.enqueued_millis)
        .bind(holder.as_str())
        .fetch_one(&self.writer)
        .await?;
        Ok(id)
    }

    async fn held_events(
        &self,
        holder: &NodeId,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<EventHeader>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            header_columns!(),
            " FROM async_events WHERE holder = ?1 AND (?2 IS NULL OR id > ?2) \
             ORDER BY id LIMIT ?3"
        ))
        .bind(holder.as_str())
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(crate::rows::event_header).collect()
    }

    async fn claim_orphaned_events(
        &self,
        holder: &NodeId,
        live_since_millis: i64,
        limit: u32,
    ) -> Result<Vec<EventHeader>, StoreError> {
        let rows = sqlx::query(concat!(
            "UPDATE async_events SET holder = ?1 WHERE id IN (SELECT id FROM async_events \
             WHERE holder IS NULL OR (holder <> ?1 AND holder NOT IN \
             (SELECT id FROM nodes WHERE heartbeat_millis >= ?2)) ORDER BY id LIMIT ?3) \
             RETURNING ",
            header_columns!()
        ))
        .bind(holder.as_str())
        .bind(live_since_millis)
        .bind(i64::from(limit))
        .fetch_all(&self.writer)
        .await?;
        let mut claimed = rows
            .iter()
            .map(crate::rows::event_header)
            .collect::<Result<Vec<_>, _>>()?;
        claimed.sort_by_key(|event| event.id);
        Ok(claimed)
    }

    async fn release_events(&self, holder: &NodeId) -> Result<u64, StoreError> {
        let done = sqlx::query("UPDATE async_events SET holder = NULL WHERE holder = ?1")
            .bind(holder.as_str())
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }

    async fn queued_event(
        &self,
        id: i64,
        holder: &NodeId,
    ) -> Result<Option<QueuedEvent>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            header_columns!(),
            ", qualifier, invoked_function_arn, payload, client_context \
             FROM async_events WHERE id = ?1 AND holder = ?2"
        ))
        .bind(id)
        .bind(holder.as_str())
        .fetch_optional(&self.readers)
        .await?;
        row.as_ref().map(crate::rows::queued_event).transpose()
    }

    async fn retry_event_later(
        &self,
        id: i64,
        holder: &NodeId,
        function_error_attempts: u32,
        next_attempt_millis: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE async_events SET function_error_attempts = ?2, next_attempt_millis = ?3 \
             WHERE id = ?1 AND holder = ?4",
        )
        .bind(id)
        .bind(i64::from(function_error_attempts))
        .bind(next_attempt_millis)
        .bind(holder.as_str())
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_event(&self, id: i64, holder: &NodeId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM async_events WHERE id = ?1 AND holder = ?2")
            .bind(id)
            .bind(holder.as_str())
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

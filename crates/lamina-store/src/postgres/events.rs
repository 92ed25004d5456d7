//! [`EventStore`] on PostgreSQL: the statements on `async_events`.
//!
//! One row per accepted `Event` invocation, removed once it has run (or expired); the insert
//! is committed (durable) before the API answers 202. Ids come from an identity sequence:
//! never reused. Nodes claim orphaned rows with `FOR UPDATE SKIP LOCKED`, so two claiming at
//! once each get other rows and neither waits for the other.

use super::PgStore;
use crate::event_store::{EventHeader, EventStore, NewEvent, QueuedEvent};
use crate::metadata::StoreError;
use lamina_types::NodeId;

/// Step 3: each event is held by the node that runs it (see [`EventStore`]).
pub(super) const SCHEMA_STEP_HOLDERS: &str = "
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
impl EventStore for PgStore {
    async fn enqueue_event(&self, event: &NewEvent, holder: &NodeId) -> Result<i64, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO async_events (request_id, account, region, function_name, qualifier, \
             invoked_function_arn, payload, client_context, enqueued_millis, \
             next_attempt_millis, holder) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, \
             $10) RETURNING id",
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
        .fetch_one(&self.pool)
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
            " FROM async_events WHERE holder = $1 AND ($2::bigint IS NULL OR id > $2) \
             ORDER BY id LIMIT $3"
        ))
        .bind(holder.as_str())
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
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
            "UPDATE async_events SET holder = $1 WHERE id IN (SELECT id FROM async_events \
             WHERE holder IS NULL OR (holder <> $1 AND holder NOT IN \
             (SELECT id FROM nodes WHERE heartbeat_millis >= $2)) ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) \
             RETURNING ",
            header_columns!()
        ))
        .bind(holder.as_str())
        .bind(live_since_millis)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut claimed = rows
            .iter()
            .map(crate::rows::event_header)
            .collect::<Result<Vec<_>, _>>()?;
        claimed.sort_by_key(|event| event.id);
        Ok(claimed)
    }

    async fn release_events(&self, holder: &NodeId) -> Result<u64, StoreError> {
        let done = sqlx::query("UPDATE async_events SET holder = NULL WHERE holder = $1")
            .bind(holder.as_str())
            .execute(&self.pool)
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
             FROM async_events WHERE id = $1 AND holder = $2"
        ))
        .bind(id)
        .bind(holder.as_str())
        .fetch_optional(&self.pool)
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
            "UPDATE async_events SET function_error_attempts = $2, next_attempt_millis = $3 \
             WHERE id = $1 AND holder = $4",
        )
        .bind(id)
        .bind(i64::from(function_error_attempts))
        .bind(next_attempt_millis)
        .bind(holder.as_str())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_event(&self, id: i64, holder: &NodeId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM async_events WHERE id = $1 AND holder = $2")
            .bind(id)
            .bind(holder.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

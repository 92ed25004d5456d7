//! The durable queue of asynchronous (`Event`) invocations: accepted events wait here until
//! they run, so a restart or a crash loses none. Every write is one method, so another backend
//! (PostgreSQL) can give the same guarantees.
//!
//! The store keeps rows; when an event runs, how it is retried and when it expires are the
//! caller's rules.

use lamina_types::Scope;

use crate::metadata::StoreError;

/// An accepted `Event` invocation to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// The invocation's request id (the 202's `x-amzn-RequestId`), kept across retries.
    pub request_id: String,
    /// Account and region of the function.
    pub scope: Scope,
    /// The function's name (resolved, never an ARN).
    pub function_name: String,
    /// The qualifier as invoked (`$LATEST`, a version or an alias), `None` when unqualified.
    pub qualifier: Option<String>,
    /// The ARN as invoked (qualified iff a qualifier was used).
    pub invoked_function_arn: String,
    /// The event.
    pub payload: Vec<u8>,
    /// `X-Amz-Client-Context`, decoded (JSON text).
    pub client_context: Option<String>,
    /// When the event was accepted, milliseconds since the Unix epoch.
    pub enqueued_millis: i64,
}

/// What a scheduler needs to know of a queued event, without its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventHeader {
    /// The row's id; ids only grow, and are never reused.
    pub id: i64,
    /// The invocation's request id.
    pub request_id: String,
    /// Account and region of the function.
    pub scope: Scope,
    /// The function's name.
    pub function_name: String,
    /// When the event was accepted, milliseconds since the Unix epoch.
    pub enqueued_millis: i64,
    /// Runs that ended in a function error so far.
    pub function_error_attempts: u32,
    /// Earliest time of the next run, milliseconds since the Unix epoch.
    pub next_attempt_millis: i64,
}

/// A queued event in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedEvent {
    /// The row's id.
    pub id: i64,
    /// The event as accepted.
    pub event: NewEvent,
    /// Runs that ended in a function error so far.
    pub function_error_attempts: u32,
    /// Earliest time of the next run, milliseconds since the Unix epoch.
    pub next_attempt_millis: i64,
}

/// Queued `Event` invocations.
#[async_trait::async_trait]
pub trait EventStore: Send + Sync {
    /// Records an accepted event, due at once, durably before returning (the 202 follows).
    /// Returns its id.
    async fn enqueue_event(&self, event: &NewEvent) -> Result<i64, StoreError>;

    /// Up to `limit` queued events with an id above `after` (all when `None`), by id.
    async fn queued_events(
        &self,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<EventHeader>, StoreError>;

    /// One queued event with its payload; `None` when it is no longer queued.
    async fn queued_event(&self, id: i64) -> Result<Option<QueuedEvent>, StoreError>;

    /// Records that the event ended in a function error `function_error_attempts` times so
    /// far and runs again at `next_attempt_millis`. Returns `false` when it is gone.
    async fn retry_event_later(
        &self,
        id: i64,
        function_error_attempts: u32,
        next_attempt_millis: i64,
    ) -> Result<bool, StoreError>;

    /// Removes an event (it ran, expired or was dropped). Returns `false` when it was gone.
    async fn delete_event(&self, id: i64) -> Result<bool, StoreError>;
}

#[cfg(test)]
mod tests;

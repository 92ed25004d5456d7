//! The durable queue of asynchronous (`Event`) invocations: accepted events wait here until
//! they run, so a restart or a crash loses none. Every write is one method, so another backend
//! (PostgreSQL) can give the same guarantees.
//!
//! The store keeps rows; when an event runs, how it is retried and when it expires are the
//! caller's rules.

use lamina_types::{NodeId, Scope};

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

/// Queued `Event` invocations, each held by the node that runs it.
///
/// Several nodes share one queue: an event is held by one node (the one that accepted it, or
/// one that claimed it), which alone runs it. A node holds its events for as long as it is
/// live (its heartbeat in `nodes` is recent); the events of a node that stopped beating are
/// orphaned, and any live node may claim them. Claims and every later write name the holder,
/// so a node that lost an event to another (it was thought dead) cannot retry or remove it.
#[async_trait::async_trait]
pub trait EventStore: Send + Sync {
    /// Records an accepted event, due at once and held by `holder`, durably before returning
    /// (the 202 follows). Returns its id.
    async fn enqueue_event(&self, event: &NewEvent, holder: &NodeId) -> Result<i64, StoreError>;

    /// Up to `limit` events held by `holder` with an id above `after` (all when `None`), by
    /// id: what a restarted node takes back.
    async fn held_events(
        &self,
        holder: &NodeId,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<EventHeader>, StoreError>;

    /// Makes `holder` the holder of up to `limit` orphaned events: held by no node, or by a
    /// node other than `holder` whose last heartbeat is older than `live_since_millis`.
    /// Two nodes claiming at once never get the same event. Returns them, by id.
    async fn claim_orphaned_events(
        &self,
        holder: &NodeId,
        live_since_millis: i64,
        limit: u32,
    ) -> Result<Vec<EventHeader>, StoreError>;

    /// Lets go of every event `holder` holds (a node shutting down), so live nodes claim them
    /// at once. Returns how many.
    async fn release_events(&self, holder: &NodeId) -> Result<u64, StoreError>;

    /// One queued event held by `holder`, with its payload; `None` when it is no longer
    /// queued or another node holds it now.
    async fn queued_event(
        &self,
        id: i64,
        holder: &NodeId,
    ) -> Result<Option<QueuedEvent>, StoreError>;

    /// Records that the event ended in a function error `function_error_attempts` times so
    /// far and runs again at `next_attempt_millis`. Returns `false` when it is gone or
    /// `holder` no longer holds it.
    async fn retry_event_later(
        &self,
        id: i64,
        holder: &NodeId,
        function_error_attempts: u32,
        next_attempt_millis: i64,
    ) -> Result<bool, StoreError>;

    /// Removes an event (it ran, expired or was dropped). Returns `false` when it was gone or
    /// `holder` no longer holds it.
    async fn delete_event(&self, id: i64, holder: &NodeId) -> Result<bool, StoreError>;
}

#[cfg(test)]
mod tests;

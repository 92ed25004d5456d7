//! What the Logs operations take and give: their options and their pages.

use super::LogEvent;

/// A log group as DescribeLogGroups shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInfo {
    /// `logGroupName`.
    pub name: String,
    /// `creationTime`: its first event still kept (else its oldest file's), ms.
    pub creation_time: i64,
    /// `retentionInDays`, when a policy is set.
    pub retention_days: Option<u32>,
    /// `storedBytes`: its files' sizes.
    pub stored_bytes: u64,
}

/// A log stream as DescribeLogStreams shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamInfo {
    /// `logStreamName`.
    pub name: String,
    /// `creationTime`: its first event (Guessed: AWS creates it just before), ms.
    pub creation_time: i64,
    /// `firstEventTimestamp`.
    pub first_event: i64,
    /// `lastEventTimestamp`.
    pub last_event: i64,
    /// `lastIngestionTime`.
    pub last_ingestion: i64,
}

/// One page of a listing, and the token of the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed<T> {
    /// The items.
    pub items: Vec<T>,
    /// `nextToken`, when more follow.
    pub next_token: Option<String>,
}

/// DescribeLogStreams' options.
#[derive(Debug, Clone, Default)]
pub struct StreamQuery {
    /// `logStreamNamePrefix`.
    pub prefix: Option<String>,
    /// `orderBy` `LastEventTime` (else `LogStreamName`).
    pub by_last_event: bool,
    /// `descending`.
    pub descending: bool,
    /// `nextToken`.
    pub token: Option<String>,
    /// `limit` (1 to 50).
    pub limit: Option<i64>,
}

/// GetLogEvents' options.
#[derive(Debug, Clone, Default)]
pub struct EventsQuery {
    /// `startTime`, ms (inclusive).
    pub start: Option<i64>,
    /// `endTime`, ms (exclusive).
    pub end: Option<i64>,
    /// `startFromHead`: without a token, the oldest events first rather than the newest.
    pub from_head: bool,
    /// `nextToken`.
    pub token: Option<String>,
    /// `limit` (1 to 10,000).
    pub limit: Option<i64>,
}

/// GetLogEvents' answer.
#[derive(Debug, Clone)]
pub struct EventsPage {
    /// The events, oldest first.
    pub events: Vec<LogEvent>,
    /// `nextForwardToken`.
    pub forward: String,
    /// `nextBackwardToken`.
    pub backward: String,
}

/// FilterLogEvents' options.
#[derive(Debug, Clone, Default)]
pub struct FilterQuery {
    /// `logStreamNames`.
    pub streams: Option<Vec<String>>,
    /// `logStreamNamePrefix`.
    pub stream_prefix: Option<String>,
    /// `startTime`, ms (inclusive).
    pub start: Option<i64>,
    /// `endTime`, ms (exclusive).
    pub end: Option<i64>,
    /// `filterPattern`.
    pub pattern: Option<String>,
    /// `nextToken`.
    pub token: Option<String>,
    /// `limit` (1 to 10,000).
    pub limit: Option<i64>,
}

/// A FilterLogEvents event: the event and its `eventId`.
#[derive(Debug, Clone)]
pub struct FilteredEvent {
    /// The event.
    pub event: LogEvent,
    /// `eventId`: its place, unique in its group.
    pub id: String,
}

//! The function logs as CloudWatch Logs shows them: log groups (`/aws/lambda/<function>`, or
//! the function's `LoggingConfig.LogGroup`), one log stream per execution environment, and
//! events with their timestamps; read, filtered and paged for the Logs operations, and kept
//! no longer than a group's retention policy.
//!
//! Each node of a cluster holds the logs of what ran on it; the operations read this node's
//! files and, through [`PeerLogs`], the other nodes' (see `peers.rs`). The retention policies
//! are the caller's to store (in the database, shared by every node).
//!
//! The files stay one per function ([`crate::log_store`] caps them); a group is the functions
//! whose log it is. Which group a function logs to is the control plane's to say: callers
//! pass it as `assigned` (function name, group). A function with a log but not in `assigned`
//! (deleted since) keeps its default group, as AWS keeps a deleted function's log group.

mod events;
mod filter;
mod paging;
mod peers;
mod retention;
mod shapes;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use events::{LogEvent, NOTES_STREAM};
pub use filter::FilterPattern;
pub use paging::{Direction, Place};
pub use peers::{LoggedFunction, NoPeers, NodeEvents, PeerLogs, merge_events, merge_functions};
pub use retention::{RETENTION_DAYS, legacy_policies, retire_legacy_policies, validate_days};
pub use shapes::{
    EventsPage, EventsQuery, FilterQuery, FilteredEvent, GroupInfo, Listed, StreamInfo, StreamQuery,
};

use crate::logs::LogStore;

/// Most bytes of messages one page of events carries (AWS's 1 MB).
pub const MAX_PAGE_BYTES: usize = 1 << 20;
/// Most events of one GetLogEvents or FilterLogEvents page (AWS's 10,000).
pub const MAX_EVENTS_PER_PAGE: usize = 10_000;
/// Most groups or streams of one Describe page (AWS's 50).
pub const MAX_DESCRIBED_PER_PAGE: usize = 50;

/// What the Logs operations refuse.
#[derive(Debug, thiserror::Error)]
pub enum LogsError {
    /// `ResourceNotFoundException`.
    #[error("{0}")]
    ResourceNotFound(String),
    /// `InvalidParameterException`.
    #[error("{0}")]
    InvalidParameter(String),
}

/// AWS's text for a group that is not there.
const NO_GROUP: &str = "The specified log group does not exist.";

/// The log groups of one node: its files, and the Logs operations over them and the other
/// nodes' (through [`LogGroups::reading`]).
pub struct LogGroups {
    store: Arc<LogStore>,
}

/// One Logs operation's view: this node's logs and the other nodes', for one account.
pub struct Reading<'a> {
    groups: &'a LogGroups,
    /// This node's id, its place in the merged order of events.
    node: &'a str,
    account: &'a str,
    /// Each function's group (function name, group), from the control plane.
    assigned: &'a [(String, String)],
    /// The account's retention policies: each group's days.
    policies: &'a BTreeMap<String, u32>,
    peers: &'a dyn PeerLogs,
}

impl LogGroups {
    /// The groups over `store`'s files.
    pub fn new(store: Arc<LogStore>) -> Self {
        Self { store }
    }

    fn dir(&self) -> &Path {
        self.store.dir()
    }

    /// The view of one operation of `account` on node `node`.
    pub fn reading<'a>(
        &'a self,
        node: &'a str,
        account: &'a str,
        assigned: &'a [(String, String)],
        policies: &'a BTreeMap<String, u32>,
        peers: &'a dyn PeerLogs,
    ) -> Reading<'a> {
        Reading {
            groups: self,
            node,
            account,
            assigned,
            policies,
            peers,
        }
    }

    /// The functions of `account` with a log on this node, summed up.
    pub fn logged_functions(&self, account: &str) -> Vec<LoggedFunction> {
        logged_functions(self.dir(), account)
            .into_iter()
            .map(|function| {
                let files = events::files_of(self.dir(), account, std::slice::from_ref(&function))
                    .into_iter()
                    .flatten()
                    .collect::<Vec<PathBuf>>();
                LoggedFunction {
                    stored_bytes: files
                        .iter()
                        .filter_map(|f| std::fs::metadata(f).ok())
                        .map(|m| m.len())
                        .sum(),
                    first_timestamp: files
                        .iter()
                        .filter_map(|f| events::first_timestamp(f))
                        .min(),
                    function,
                }
            })
            .collect()
    }

    /// This node's events of `functions` of `account` within a retention of
    /// `retention_days` (files holding only expired events are dropped on the way), and which
    /// of the functions have a log here.
    pub fn local_events(
        &self,
        account: &str,
        functions: &[String],
        retention_days: Option<u32>,
    ) -> NodeEvents {
        let files = events::files_of(self.dir(), account, functions);
        let since = match retention_days {
            Some(days) => {
                let cutoff = retention::cutoff(days, lamina_types::timestamp::now_millis());
                let all: Vec<PathBuf> = files.iter().flatten().cloned().collect();
                self.store.forget(retention::expire_files(&all, cutoff));
                cutoff
            }
            None => i64::MIN,
        };
        let present = functions
            .iter()
            .zip(&files)
            .filter(|(_, files)| !files.is_empty())
            .map(|(f, _)| f.clone())
            .collect();
        NodeEvents {
            functions: present,
            events: events::read_events(&files, since),
        }
    }

    /// Drops at once this node's files of `functions` of `account` that hold only events
    /// older than `days` (PutRetentionPolicy; other nodes drop theirs at their next read).
    pub fn enforce_retention(&self, account: &str, functions: &[String], days: u32) {
        let files: Vec<PathBuf> = events::files_of(self.dir(), account, functions)
            .into_iter()
            .flatten()
            .collect();
        let cutoff = retention::cutoff(days, lamina_types::timestamp::now_millis());
        self.store.forget(retention::expire_files(&files, cutoff));
    }
}

impl Reading<'_> {
    /// Every node's functions of the account with a log.
    fn functions(&self) -> Vec<LoggedFunction> {
        let mut parts = self.peers.functions(self.account);
        parts.push(self.groups.logged_functions(self.account));
        merge_functions(parts)
    }

    /// The groups of the account that have a log on some node, each with its functions.
    fn groups(&self, functions: &[LoggedFunction]) -> BTreeMap<String, Vec<String>> {
        let assigned: BTreeMap<&str, &str> = self
            .assigned
            .iter()
            .map(|(f, g)| (f.as_str(), g.as_str()))
            .collect();
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for f in functions {
            let group = assigned.get(f.function.as_str()).map_or_else(
                || format!("/aws/lambda/{}", f.function),
                |g| (*g).to_owned(),
            );
            groups.entry(group).or_default().push(f.function.clone());
        }
        groups
    }

    /// The functions that log to group `name` (whether or not they have a log yet: a
    /// function's group is known without listing any node's files).
    fn candidates(&self, name: &str) -> Vec<String> {
        let mut functions: Vec<String> = self
            .assigned
            .iter()
            .filter(|(_, g)| g == name)
            .map(|(f, _)| f.clone())
            .collect();
        // A function not (or no longer) assigned a group logs to its default one.
        if let Some(f) = name.strip_prefix("/aws/lambda/")
            && !f.is_empty()
            && !self.assigned.iter().any(|(assigned, _)| assigned == f)
        {
            functions.push(f.to_owned());
        }
        functions
    }

    /// The functions of group `name` with a log on some node, or ResourceNotFoundException.
    /// Reads no events: each node lists its functions only.
    pub fn members(&self, name: &str) -> Result<Vec<String>, LogsError> {
        let candidates = self.candidates(name);
        let members: Vec<String> = self
            .functions()
            .into_iter()
            .map(|f| f.function)
            .filter(|f| candidates.contains(f))
            .collect();
        if members.is_empty() {
            return Err(LogsError::ResourceNotFound(NO_GROUP.to_owned()));
        }
        Ok(members)
    }

    /// The functions of group `name` with a log on some node, and every node's events of
    /// the group still within its retention, merged; ResourceNotFoundException when no node
    /// has a log of the group.
    fn group_events(&self, name: &str) -> Result<(Vec<String>, Vec<LogEvent>), LogsError> {
        let candidates = self.candidates(name);
        if candidates.is_empty() {
            return Err(LogsError::ResourceNotFound(NO_GROUP.to_owned()));
        }
        let days = self.policies.get(name).copied();
        let mut members: Vec<String> = Vec::new();
        let mut parts = Vec::new();
        let local = self.groups.local_events(self.account, &candidates, days);
        for (node, part) in std::iter::once((self.node.to_owned(), local)).chain(self.peers.events(
            self.account,
            &candidates,
            days,
        )) {
            members.extend(part.functions);
            parts.push((node, part.events));
        }
        members.sort();
        members.dedup();
        if members.is_empty() {
            return Err(LogsError::ResourceNotFound(NO_GROUP.to_owned()));
        }
        Ok((members, merge_events(parts)))
    }

    /// The events of group `name` of every node, merged.
    fn events(&self, name: &str) -> Result<Vec<LogEvent>, LogsError> {
        Ok(self.group_events(name)?.1)
    }

    /// DescribeLogGroups: the groups of `account` by name, from `prefix` (or holding
    /// `pattern`), 50 at most a page.
    pub fn describe_log_groups(
        &self,
        prefix: Option<&str>,
        pattern: Option<&str>,
        token: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Listed<GroupInfo>, LogsError> {
        if prefix.is_some() && pattern.is_some() {
            return Err(LogsError::InvalidParameter(
                "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters."
                    .to_owned(),
            ));
        }
        let limit = paging::page_limit(limit, MAX_DESCRIBED_PER_PAGE)?;
        let offset = token
            .map(paging::parse_offset_token)
            .transpose()?
            .unwrap_or(0);
        let functions = self.functions();
        let matching: Vec<(String, Vec<String>)> = self
            .groups(&functions)
            .into_iter()
            .filter(|(name, _)| prefix.is_none_or(|p| name.starts_with(p)))
            // Guessed: AWS matches the pattern case-insensitively as a substring.
            .filter(|(name, _)| {
                pattern.is_none_or(|p| name.to_lowercase().contains(&p.to_lowercase()))
            })
            .collect();
        let next_token =
            (matching.len() > offset + limit).then(|| paging::offset_token(offset + limit));
        let items = matching
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|(name, members)| {
                let of_group = functions.iter().filter(|f| members.contains(&f.function));
                let stored_bytes = of_group.clone().map(|f| f.stored_bytes).sum();
                let creation_time = of_group
                    .filter_map(|f| f.first_timestamp)
                    .min()
                    .unwrap_or_else(lamina_types::timestamp::now_millis);
                GroupInfo {
                    retention_days: self.policies.get(&name).copied(),
                    name,
                    creation_time,
                    stored_bytes,
                }
            })
            .collect();
        Ok(Listed { items, next_token })
    }

    /// DescribeLogStreams: the streams of group `name` by name (or by last event), 50 at most
    /// a page.
    pub fn describe_log_streams(
        &self,
        name: &str,
        query: &StreamQuery,
    ) -> Result<Listed<StreamInfo>, LogsError> {
        if query.by_last_event && query.prefix.is_some() {
            return Err(LogsError::InvalidParameter(
                "Cannot order by LastEventTime with a logStreamNamePrefix.".to_owned(),
            ));
        }
        let limit = paging::page_limit(query.limit, MAX_DESCRIBED_PER_PAGE)?;
        let offset = query
            .token
            .as_deref()
            .map(paging::parse_offset_token)
            .transpose()?
            .unwrap_or(0);
        let mut streams: BTreeMap<String, StreamInfo> = BTreeMap::new();
        for e in self.events(name)? {
            let info = streams.entry(e.stream.clone()).or_insert(StreamInfo {
                name: e.stream,
                creation_time: e.timestamp,
                first_event: e.timestamp,
                last_event: e.timestamp,
                last_ingestion: e.ingestion_time,
            });
            info.last_event = info.last_event.max(e.timestamp);
            info.last_ingestion = info.last_ingestion.max(e.ingestion_time);
        }
        let mut list: Vec<StreamInfo> = streams
            .into_values()
            .filter(|s| {
                query
                    .prefix
                    .as_deref()
                    .is_none_or(|p| s.name.starts_with(p))
            })
            .collect();
        if query.by_last_event {
            list.sort_by(|a, b| (a.last_event, &a.name).cmp(&(b.last_event, &b.name)));
        }
        if query.descending {
            list.reverse();
        }
        let next_token =
            (list.len() > offset + limit).then(|| paging::offset_token(offset + limit));
        let items = list.into_iter().skip(offset).take(limit).collect();
        Ok(Listed { items, next_token })
    }

    /// GetLogEvents: the events of one stream, oldest first, a page forward or backward.
    pub fn get_log_events(
        &self,
        name: &str,
        stream: &str,
        query: &EventsQuery,
    ) -> Result<EventsPage, LogsError> {
        let limit = paging::page_limit(query.limit, MAX_EVENTS_PER_PAGE)?;
        let token = query
            .token
            .as_deref()
            .map(paging::parse_stream_token)
            .transpose()?;
        let all: Vec<LogEvent> = self
            .events(name)?
            .into_iter()
            .filter(|e| e.stream == stream)
            .collect();
        if all.is_empty() {
            return Err(LogsError::ResourceNotFound(
                "The specified log stream does not exist.".to_owned(),
            ));
        }
        let places = paging::places(all.iter().map(|e| e.timestamp));
        let in_range: Vec<(Place, LogEvent)> = places
            .into_iter()
            .zip(all)
            .filter(|(_, e)| in_window(e.timestamp, query.start, query.end))
            .collect();
        // The window of `in_range` this page takes.
        let (from, to) = match token {
            Some((Direction::Forward, at)) => {
                let from = in_range.partition_point(|(p, _)| *p < at);
                (from, paging::fit_forward(&in_range, from, limit))
            }
            Some((Direction::Backward, at)) => {
                let to = in_range.partition_point(|(p, _)| *p < at);
                (paging::fit_backward(&in_range, to, limit), to)
            }
            None if query.from_head => (0, paging::fit_forward(&in_range, 0, limit)),
            None => (
                paging::fit_backward(&in_range, in_range.len(), limit),
                in_range.len(),
            ),
        };
        // An empty page keeps the token it was asked with, which is how clients know the
        // end was reached (AWS answers so).
        let first = in_range.get(from).map(|(p, _)| *p);
        let after_last = in_range.get(to).map(|(p, _)| *p).or_else(|| {
            in_range.last().map(|(p, _)| Place {
                timestamp: p.timestamp,
                rank: p.rank + 1,
            })
        });
        let start_place = first.or(after_last).unwrap_or(Place {
            timestamp: query.start.unwrap_or(0),
            rank: 0,
        });
        let forward = paging::stream_token(
            Direction::Forward,
            if to > from {
                after_last.unwrap_or(start_place)
            } else {
                token.map_or(start_place, |(_, p)| p)
            },
        );
        let backward = paging::stream_token(
            Direction::Backward,
            if to > from {
                start_place
            } else {
                token.map_or(start_place, |(_, p)| p)
            },
        );
        let events = in_range
            .into_iter()
            .skip(from)
            .take(to - from)
            .map(|(_, e)| e)
            .collect();
        Ok(EventsPage {
            events,
            forward,
            backward,
        })
    }

    /// FilterLogEvents: the events of the group (of some of its streams) that match the
    /// pattern, oldest first.
    pub fn filter_log_events(
        &self,
        name: &str,
        query: &FilterQuery,
    ) -> Result<Listed<FilteredEvent>, LogsError> {
        if query.streams.is_some() && query.stream_prefix.is_some() {
            return Err(LogsError::InvalidParameter(
                "logStreamNames and logStreamNamePrefix are mutually exclusive parameters."
                    .to_owned(),
            ));
        }
        if query
            .streams
            .as_ref()
            .is_some_and(|s| s.is_empty() || s.len() > 100)
        {
            return Err(LogsError::InvalidParameter(
                "1 validation error detected: Value at 'logStreamNames' failed to satisfy \
                 constraint: Member must have length less than or equal to 100 and greater \
                 than or equal to 1"
                    .to_owned(),
            ));
        }
        let limit = paging::page_limit(query.limit, MAX_EVENTS_PER_PAGE)?;
        let pattern = FilterPattern::parse(query.pattern.as_deref().unwrap_or(""))?;
        let after = query
            .token
            .as_deref()
            .map(paging::parse_filter_token)
            .transpose()?;
        let all = self.events(name)?;
        let places = paging::places(all.iter().map(|e| e.timestamp));
        let mut items = Vec::new();
        let mut bytes = 0;
        let mut next_token = None;
        let matching = places.into_iter().zip(all).filter(|(p, e)| {
            after.is_none_or(|a| *p >= a)
                && in_window(e.timestamp, query.start, query.end)
                && query.streams.as_ref().is_none_or(|s| s.contains(&e.stream))
                && query
                    .stream_prefix
                    .as_deref()
                    .is_none_or(|p| e.stream.starts_with(p))
                && pattern.matches(&e.message)
        });
        for (place, event) in matching {
            if items.len() == limit
                || (bytes + event.message.len() > MAX_PAGE_BYTES && !items.is_empty())
            {
                next_token = Some(paging::filter_token(place));
                break;
            }
            bytes += event.message.len();
            items.push(FilteredEvent {
                // Guessed: AWS's ids are long digit strings; these are too, and they grow with
                // the event's place, so a follower (`lamina logs -f`) can compare them.
                id: format!("{:020}{:010}", place.timestamp, place.rank),
                event,
            });
        }
        Ok(Listed { items, next_token })
    }
}

/// The functions of `account` with a log file in `dir` (`<account>.<function>.log[.<n>]`).
fn logged_functions(dir: &Path, account: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let prefix = format!("{account}.");
    let mut functions: Vec<String> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let rest = name.strip_prefix(&prefix)?;
            let (function, _) = rest.split_once(".log")?;
            (!function.is_empty()).then(|| function.to_owned())
        })
        .collect();
    functions.sort();
    functions.dedup();
    functions
}

/// Whether `t` is within `[start, end)`.
fn in_window(t: i64, start: Option<i64>, end: Option<i64>) -> bool {
    start.is_none_or(|s| t >= s) && end.is_none_or(|e| t < e)
}

#[cfg(test)]
mod tests;

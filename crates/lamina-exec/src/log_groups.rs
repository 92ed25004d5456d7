//! The function logs as CloudWatch Logs shows them: log groups (`/aws/lambda/<function>`, or
//! the function's `LoggingConfig.LogGroup`), one log stream per execution environment, and
//! events with their timestamps; read, filtered and paged for the Logs operations, and kept
//! no longer than a group's retention policy.
//!
//! The files stay one per function ([`crate::log_store`] caps them); a group is the functions
//! whose log it is. Which group a function logs to is the control plane's to say: callers
//! pass it as `assigned` (function name, group). A function with a log but not in `assigned`
//! (deleted since) keeps its default group, as AWS keeps a deleted function's log group.

mod events;
mod filter;
mod paging;
mod retention;
mod shapes;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

pub use events::{LogEvent, NOTES_STREAM};
pub use filter::FilterPattern;
pub use paging::{Direction, Place};
pub use retention::RETENTION_DAYS;
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
    /// The retention policies could not be stored (`ServiceUnavailableException`).
    #[error("storing {path}: {source}")]
    Storage {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// AWS's text for a group that is not there.
const NO_GROUP: &str = "The specified log group does not exist.";

/// The log groups of one server.
pub struct LogGroups {
    store: Arc<LogStore>,
    /// Held while the retention policies are read and written.
    policies: Mutex<()>,
}

impl LogGroups {
    /// The groups over `store`'s files.
    pub fn new(store: Arc<LogStore>) -> Self {
        Self {
            store,
            policies: Mutex::new(()),
        }
    }

    fn dir(&self) -> &Path {
        self.store.dir()
    }

    /// The groups of `account` that have a log, each with its functions.
    fn groups(
        &self,
        account: &str,
        assigned: &[(String, String)],
    ) -> BTreeMap<String, Vec<String>> {
        let assigned: BTreeMap<&str, &str> = assigned
            .iter()
            .map(|(f, g)| (f.as_str(), g.as_str()))
            .collect();
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for function in logged_functions(self.dir(), account) {
            let group = assigned
                .get(function.as_str())
                .map_or_else(|| format!("/aws/lambda/{function}"), |g| (*g).to_owned());
            groups.entry(group).or_default().push(function);
        }
        groups
    }

    /// The functions of group `name`, or ResourceNotFoundException.
    fn members(
        &self,
        account: &str,
        assigned: &[(String, String)],
        name: &str,
    ) -> Result<Vec<String>, LogsError> {
        self.groups(account, assigned)
            .remove(name)
            .ok_or_else(|| LogsError::ResourceNotFound(NO_GROUP.to_owned()))
    }

    /// The retention of group `name` of `account`, in days.
    fn retention(&self, account: &str, name: &str) -> Option<u32> {
        let _held = self.policies.lock().unwrap_or_else(PoisonError::into_inner);
        retention::load(self.dir())
            .get(account)
            .and_then(|g| g.get(name))
            .copied()
    }

    /// The events of group `name` still within its retention; files holding only expired
    /// events are dropped on the way.
    fn events(&self, account: &str, members: &[String], name: &str) -> Vec<LogEvent> {
        let files = events::files_of(self.dir(), account, members);
        let since = match self.retention(account, name) {
            Some(days) => {
                let cutoff = retention::cutoff(days, lamina_types::timestamp::now_millis());
                let all: Vec<PathBuf> = files.iter().flatten().cloned().collect();
                self.store.forget(retention::expire_files(&all, cutoff));
                cutoff
            }
            None => i64::MIN,
        };
        events::read_events(&files, since)
    }

    /// DescribeLogGroups: the groups of `account` by name, from `prefix` (or holding
    /// `pattern`), 50 at most a page.
    pub fn describe_log_groups(
        &self,
        account: &str,
        assigned: &[(String, String)],
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
        let policies = {
            let _held = self.policies.lock().unwrap_or_else(PoisonError::into_inner);
            retention::load(self.dir())
                .remove(account)
                .unwrap_or_default()
        };
        let matching: Vec<(String, Vec<String>)> = self
            .groups(account, assigned)
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
                let files: Vec<PathBuf> = events::files_of(self.dir(), account, &members)
                    .into_iter()
                    .flatten()
                    .collect();
                let stored_bytes = files
                    .iter()
                    .filter_map(|f| std::fs::metadata(f).ok())
                    .map(|m| m.len())
                    .sum();
                let creation_time = files
                    .iter()
                    .filter_map(|f| events::first_timestamp(f))
                    .min()
                    .unwrap_or_else(lamina_types::timestamp::now_millis);
                GroupInfo {
                    retention_days: policies.get(&name).copied(),
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
        account: &str,
        assigned: &[(String, String)],
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
        let members = self.members(account, assigned, name)?;
        let mut streams: BTreeMap<String, StreamInfo> = BTreeMap::new();
        for e in self.events(account, &members, name) {
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
        account: &str,
        assigned: &[(String, String)],
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
        let members = self.members(account, assigned, name)?;
        let all: Vec<LogEvent> = self
            .events(account, &members, name)
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
        account: &str,
        assigned: &[(String, String)],
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
        let members = self.members(account, assigned, name)?;
        let all = self.events(account, &members, name);
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

    /// PutRetentionPolicy: events of group `name` older than `days` are dropped from now on.
    pub fn put_retention_policy(
        &self,
        account: &str,
        assigned: &[(String, String)],
        name: &str,
        days: i64,
    ) -> Result<(), LogsError> {
        let days = retention::validate_days(days)?;
        let members = self.members(account, assigned, name)?;
        {
            let _held = self.policies.lock().unwrap_or_else(PoisonError::into_inner);
            let mut policies = retention::load(self.dir());
            policies
                .entry(account.to_owned())
                .or_default()
                .insert(name.to_owned(), days);
            retention::save(self.dir(), &policies)?;
        }
        // Enforced at once: what is already expired goes now.
        let files: Vec<PathBuf> = events::files_of(self.dir(), account, &members)
            .into_iter()
            .flatten()
            .collect();
        let cutoff = retention::cutoff(days, lamina_types::timestamp::now_millis());
        self.store.forget(retention::expire_files(&files, cutoff));
        Ok(())
    }

    /// DeleteRetentionPolicy: group `name` keeps its events until the size caps drop them.
    pub fn delete_retention_policy(
        &self,
        account: &str,
        assigned: &[(String, String)],
        name: &str,
    ) -> Result<(), LogsError> {
        self.members(account, assigned, name)?;
        let _held = self.policies.lock().unwrap_or_else(PoisonError::into_inner);
        let mut policies = retention::load(self.dir());
        if let Some(groups) = policies.get_mut(account) {
            groups.remove(name);
            if groups.is_empty() {
                policies.remove(account);
            }
        }
        retention::save(self.dir(), &policies)
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

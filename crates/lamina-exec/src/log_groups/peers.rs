//! The logs of a cluster's other nodes: each node keeps its own function logs, so a Logs
//! operation answered by one node reads the others' through [`PeerLogs`] (the API layer
//! fetches them over HTTP; a single node has none). Events of all nodes are merged in one
//! order every node computes alike, so paging tokens stay valid whichever node answers.

use serde::{Deserialize, Serialize};

use super::LogEvent;

/// A function with a log on one node, as DescribeLogGroups sums it up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggedFunction {
    /// The function's name.
    pub function: String,
    /// Its log files' sizes, in bytes.
    pub stored_bytes: u64,
    /// The timestamp of its oldest file's first line, if that has one.
    pub first_timestamp: Option<i64>,
}

/// One node's logs of some functions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeEvents {
    /// Those of the functions asked for that have a log on the node.
    pub functions: Vec<String>,
    /// Their events within the retention, by timestamp (in order of writing within one
    /// millisecond).
    pub events: Vec<LogEvent>,
}

/// The other live nodes' logs. Implementations leave out a node that cannot be reached (its
/// events are missing from the answer, not an error), and are called off the async threads.
pub trait PeerLogs: Send + Sync {
    /// Each other node's functions with a log in `account`.
    fn functions(&self, account: &str) -> Vec<Vec<LoggedFunction>>;

    /// Each other node's id and its events of `functions` of `account`, from the retention of
    /// `retention_days` on (each node drops its own expired files on the way).
    fn events(
        &self,
        account: &str,
        functions: &[String],
        retention_days: Option<u32>,
    ) -> Vec<(String, NodeEvents)>;
}

/// A node alone: no other node, no calls.
pub struct NoPeers;

impl PeerLogs for NoPeers {
    fn functions(&self, _account: &str) -> Vec<Vec<LoggedFunction>> {
        Vec::new()
    }

    fn events(
        &self,
        _account: &str,
        _functions: &[String],
        _retention_days: Option<u32>,
    ) -> Vec<(String, NodeEvents)> {
        Vec::new()
    }
}

/// The events of every node in one order: by timestamp, then node id, then place in that
/// node's list. Each part must be in its node's order already.
pub fn merge_events(parts: Vec<(String, Vec<LogEvent>)>) -> Vec<LogEvent> {
    if parts.len() == 1 {
        return parts.into_iter().flat_map(|(_, events)| events).collect();
    }
    let mut tagged: Vec<(i64, String, usize, LogEvent)> = parts
        .into_iter()
        .flat_map(|(node, events)| {
            events
                .into_iter()
                .enumerate()
                .map(move |(i, e)| (e.timestamp, node.clone(), i, e))
        })
        .collect();
    tagged.sort_by(|a, b| (a.0, &a.1, a.2).cmp(&(b.0, &b.1, b.2)));
    tagged.into_iter().map(|(_, _, _, e)| e).collect()
}

/// Every node's functions with logs summed up by function: bytes added, the oldest first
/// timestamp kept.
pub fn merge_functions(parts: Vec<Vec<LoggedFunction>>) -> Vec<LoggedFunction> {
    let mut by_name: std::collections::BTreeMap<String, LoggedFunction> = Default::default();
    for f in parts.into_iter().flatten() {
        match by_name.get_mut(&f.function) {
            None => {
                by_name.insert(f.function.clone(), f);
            }
            Some(seen) => {
                seen.stored_bytes += f.stored_bytes;
                seen.first_timestamp = match (seen.first_timestamp, f.first_timestamp) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
        }
    }
    by_name.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(timestamp: i64, message: &str) -> LogEvent {
        LogEvent {
            stream: "s".into(),
            timestamp,
            ingestion_time: timestamp,
            message: message.into(),
        }
    }

    #[test]
    fn events_merge_by_time_then_node_then_place() {
        let a = vec![event(1, "a1"), event(2, "a2"), event(2, "a3")];
        let b = vec![event(2, "b1"), event(2, "b2"), event(3, "b3")];
        let merged = merge_events(vec![
            ("node-b".into(), b.clone()),
            ("node-a".into(), a.clone()),
        ]);
        let texts: Vec<&str> = merged.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(texts, ["a1", "a2", "a3", "b1", "b2", "b3"]);
        // Whichever node asks, the order is the same.
        let again = merge_events(vec![("node-a".into(), a), ("node-b".into(), b)]);
        assert_eq!(merged, again);
    }

    #[test]
    fn functions_sum_over_nodes() {
        let f = |name: &str, bytes, first| LoggedFunction {
            function: name.into(),
            stored_bytes: bytes,
            first_timestamp: first,
        };
        let merged = merge_functions(vec![
            vec![f("x", 10, Some(5)), f("y", 1, None)],
            vec![f("x", 20, Some(3))],
            vec![f("y", 2, Some(9))],
        ]);
        assert_eq!(merged, [f("x", 30, Some(3)), f("y", 3, Some(9))]);
    }
}

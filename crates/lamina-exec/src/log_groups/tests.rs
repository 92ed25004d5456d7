use std::collections::BTreeMap;

use super::*;
use crate::logs::{LogLimits, push_line};
use lamina_types::timestamp::format_millis;

const ACCOUNT: &str = "111122223333";
const S1: &str = "2026/11/30/[$LATEST]0123456789abcdef0123456789abcdef";
const S2: &str = "2026/11/30/[2]fedcba9876543210fedcba9876543210";

/// A store whose function `f` logged `events` (timestamp, stream, text).
fn groups_with(events: &[(i64, &str, &str)]) -> (tempfile::TempDir, LogGroups) {
    let dir = tempfile::tempdir().unwrap();
    let mut out = Vec::new();
    for (t, s, text) in events {
        push_line(&mut out, &format_millis(*t), s, text.as_bytes());
    }
    std::fs::write(dir.path().join(format!("{ACCOUNT}.f.log")), out).unwrap();
    let store = LogStore::open(dir.path(), LogLimits::default()).unwrap();
    (dir, LogGroups::new(store))
}

/// No retention policy.
static NO_POLICIES: BTreeMap<String, u32> = BTreeMap::new();

/// The view of a node alone, without retention policies.
fn alone<'a>(
    groups: &'a LogGroups,
    account: &'a str,
    assigned: &'a [(String, String)],
) -> Reading<'a> {
    groups.reading(
        "node-0000000000000001",
        account,
        assigned,
        &NO_POLICIES,
        &NoPeers,
    )
}

fn now() -> i64 {
    lamina_types::timestamp::now_millis()
}

#[test]
fn groups_are_the_functions_logs_in_their_account() {
    let (dir, groups) = groups_with(&[(now(), S1, "hi")]);
    std::fs::write(dir.path().join("999999999999.g.log"), "x").unwrap();
    let listed = alone(&groups, ACCOUNT, &[])
        .describe_log_groups(None, None, None, None)
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].name, "/aws/lambda/f");
    let custom = [("f".to_owned(), "/shared/app".to_owned())];
    let listed = alone(&groups, ACCOUNT, &custom)
        .describe_log_groups(Some("/shared"), None, None, None)
        .unwrap();
    assert_eq!(listed.items[0].name, "/shared/app");
    let err = alone(&groups, "999999999999", &[])
        .describe_log_streams("/aws/lambda/f", &StreamQuery::default())
        .unwrap_err();
    assert!(matches!(err, LogsError::ResourceNotFound(m) if m == NO_GROUP));
}

#[test]
fn streams_are_described_with_their_first_and_last_events() {
    let t = now();
    let (_dir, groups) = groups_with(&[(t, S1, "a"), (t + 1, S2, "b"), (t + 5, S1, "c")]);
    let listed = alone(&groups, ACCOUNT, &[])
        .describe_log_streams("/aws/lambda/f", &StreamQuery::default())
        .unwrap();
    let names: Vec<&str> = listed.items.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, [S1, S2]);
    assert_eq!(
        (listed.items[0].first_event, listed.items[0].last_event),
        (t, t + 5)
    );
    let by_time = StreamQuery {
        by_last_event: true,
        descending: true,
        limit: Some(1),
        ..Default::default()
    };
    let page = alone(&groups, ACCOUNT, &[])
        .describe_log_streams("/aws/lambda/f", &by_time)
        .unwrap();
    assert_eq!(page.items[0].name, S1);
    let next = StreamQuery {
        token: page.next_token,
        ..by_time
    };
    let page = alone(&groups, ACCOUNT, &[])
        .describe_log_streams("/aws/lambda/f", &next)
        .unwrap();
    assert_eq!(page.items[0].name, S2);
    assert_eq!(page.next_token, None);
}

#[test]
fn get_log_events_pages_forward_and_backward_through_one_millisecond() {
    let t = now();
    let lines: Vec<(i64, &str, String)> = (0..5).map(|i| (t, S1, format!("e{i}"))).collect();
    let events: Vec<(i64, &str, &str)> =
        lines.iter().map(|(t, s, m)| (*t, *s, m.as_str())).collect();
    let (_dir, groups) = groups_with(&events);
    let get = |q: &EventsQuery| {
        alone(&groups, ACCOUNT, &[])
            .get_log_events("/aws/lambda/f", S1, q)
            .unwrap()
    };
    let texts = |p: &EventsPage| {
        p.events
            .iter()
            .map(|e| e.message.clone())
            .collect::<Vec<_>>()
    };
    // Without a token: the newest.
    let last = get(&EventsQuery {
        limit: Some(2),
        ..Default::default()
    });
    assert_eq!(texts(&last), ["e3", "e4"]);
    let before = get(&EventsQuery {
        limit: Some(2),
        token: Some(last.backward.clone()),
        ..Default::default()
    });
    assert_eq!(texts(&before), ["e1", "e2"]);
    let head = get(&EventsQuery {
        limit: Some(3),
        from_head: true,
        ..Default::default()
    });
    assert_eq!(texts(&head), ["e0", "e1", "e2"]);
    let rest = get(&EventsQuery {
        limit: Some(3),
        token: Some(head.forward.clone()),
        ..Default::default()
    });
    assert_eq!(texts(&rest), ["e3", "e4"]);
    // At the end, the same forward token comes back: clients stop there.
    let end = get(&EventsQuery {
        token: Some(rest.forward.clone()),
        ..Default::default()
    });
    assert!(end.events.is_empty());
    assert_eq!(end.forward, rest.forward);
    let err = alone(&groups, ACCOUNT, &[])
        .get_log_events("/aws/lambda/f", "nope", &EventsQuery::default())
        .unwrap_err();
    assert!(matches!(err, LogsError::ResourceNotFound(_)));
}

#[test]
fn filter_log_events_matches_pages_and_windows() {
    let t = now();
    let (_dir, groups) = groups_with(&[
        (t, S1, "START RequestId: a"),
        (t, S2, "ERROR disk"),
        (t + 1, S1, "ERROR net"),
        (t + 2, S2, "END RequestId: a"),
    ]);
    let filter = |q: &FilterQuery| {
        alone(&groups, ACCOUNT, &[])
            .filter_log_events("/aws/lambda/f", q)
            .unwrap()
    };
    let errors = filter(&FilterQuery {
        pattern: Some("ERROR".into()),
        ..Default::default()
    });
    assert_eq!(errors.items.len(), 2);
    let first = filter(&FilterQuery {
        limit: Some(1),
        ..Default::default()
    });
    assert_eq!(first.items[0].event.message, "START RequestId: a");
    let second = filter(&FilterQuery {
        limit: Some(2),
        token: first.next_token.clone(),
        ..Default::default()
    });
    let texts: Vec<&str> = second
        .items
        .iter()
        .map(|e| e.event.message.as_str())
        .collect();
    assert_eq!(texts, ["ERROR disk", "ERROR net"]);
    assert_ne!(first.items[0].id, second.items[0].id);
    let in_s2 = filter(&FilterQuery {
        streams: Some(vec![S2.into()]),
        start: Some(t + 1),
        ..Default::default()
    });
    assert_eq!(in_s2.items.len(), 1);
    assert_eq!(in_s2.items[0].event.message, "END RequestId: a");
    assert!(
        alone(&groups, ACCOUNT, &[])
            .filter_log_events(
                "/aws/lambda/f",
                &FilterQuery {
                    limit: Some(0),
                    ..Default::default()
                }
            )
            .is_err()
    );
}

#[test]
fn retention_drops_old_events() {
    let old = now() - 3 * 86_400_000;
    let (dir, groups) = groups_with(&[(old, S1, "old"), (now(), S1, "new")]);
    let policies: BTreeMap<String, u32> = [("/aws/lambda/f".to_owned(), 1)].into();
    let reading = groups.reading("node-0000000000000001", ACCOUNT, &[], &policies, &NoPeers);
    let all = reading
        .filter_log_events("/aws/lambda/f", &FilterQuery::default())
        .unwrap();
    let texts: Vec<&str> = all.items.iter().map(|e| e.event.message.as_str()).collect();
    assert_eq!(texts, ["new"]);
    let listed = reading.describe_log_groups(None, None, None, None).unwrap();
    assert_eq!(listed.items[0].retention_days, Some(1));
    // The file held both events: it stays until its last one expires.
    assert!(dir.path().join(format!("{ACCOUNT}.f.log")).exists());
}

/// Another node's logs, as the API layer would have fetched them.
struct OnePeer(NodeEvents);

impl PeerLogs for OnePeer {
    fn functions(&self, _account: &str) -> Vec<Vec<LoggedFunction>> {
        vec![vec![LoggedFunction {
            function: "g".into(),
            stored_bytes: 7,
            first_timestamp: Some(1),
        }]]
    }

    fn events(
        &self,
        _account: &str,
        functions: &[String],
        _retention_days: Option<u32>,
    ) -> Vec<(String, NodeEvents)> {
        let wanted = NodeEvents {
            functions: self
                .0
                .functions
                .iter()
                .filter(|f| functions.contains(f))
                .cloned()
                .collect(),
            events: self.0.events.clone(),
        };
        vec![("node-0000000000000002".into(), wanted)]
    }
}

#[test]
fn other_nodes_logs_are_read_as_this_nodes() {
    let t = now();
    let (_dir, groups) = groups_with(&[(t, S1, "here")]);
    let peer = OnePeer(NodeEvents {
        functions: vec!["g".into()],
        events: vec![LogEvent {
            stream: S2.into(),
            timestamp: t - 1,
            ingestion_time: t - 1,
            message: "there".into(),
        }],
    });
    let reading = groups.reading("node-0000000000000001", ACCOUNT, &[], &NO_POLICIES, &peer);
    let listed = reading.describe_log_groups(None, None, None, None).unwrap();
    let names: Vec<&str> = listed.items.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["/aws/lambda/f", "/aws/lambda/g"]);
    // A function that ran only on the other node has its group all the same.
    let only_there = reading
        .filter_log_events("/aws/lambda/g", &FilterQuery::default())
        .unwrap();
    assert_eq!(only_there.items[0].event.message, "there");
}

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

fn now() -> i64 {
    lamina_types::timestamp::now_millis()
}

#[test]
fn groups_are_the_functions_logs_in_their_account() {
    let (dir, groups) = groups_with(&[(now(), S1, "hi")]);
    std::fs::write(dir.path().join("999999999999.g.log"), "x").unwrap();
    let listed = groups
        .describe_log_groups(ACCOUNT, &[], None, None, None, None)
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].name, "/aws/lambda/f");
    let custom = [("f".to_owned(), "/shared/app".to_owned())];
    let listed = groups
        .describe_log_groups(ACCOUNT, &custom, Some("/shared"), None, None, None)
        .unwrap();
    assert_eq!(listed.items[0].name, "/shared/app");
    let err = groups
        .describe_log_streams(
            "999999999999",
            &[],
            "/aws/lambda/f",
            &StreamQuery::default(),
        )
        .unwrap_err();
    assert!(matches!(err, LogsError::ResourceNotFound(m) if m == NO_GROUP));
}

#[test]
fn streams_are_described_with_their_first_and_last_events() {
    let t = now();
    let (_dir, groups) = groups_with(&[(t, S1, "a"), (t + 1, S2, "b"), (t + 5, S1, "c")]);
    let listed = groups
        .describe_log_streams(ACCOUNT, &[], "/aws/lambda/f", &StreamQuery::default())
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
    let page = groups
        .describe_log_streams(ACCOUNT, &[], "/aws/lambda/f", &by_time)
        .unwrap();
    assert_eq!(page.items[0].name, S1);
    let next = StreamQuery {
        token: page.next_token,
        ..by_time
    };
    let page = groups
        .describe_log_streams(ACCOUNT, &[], "/aws/lambda/f", &next)
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
        groups
            .get_log_events(ACCOUNT, &[], "/aws/lambda/f", S1, q)
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
    let err = groups
        .get_log_events(
            ACCOUNT,
            &[],
            "/aws/lambda/f",
            "nope",
            &EventsQuery::default(),
        )
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
        groups
            .filter_log_events(ACCOUNT, &[], "/aws/lambda/f", q)
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
        groups
            .filter_log_events(
                ACCOUNT,
                &[],
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
fn retention_drops_old_events_and_is_kept_per_account() {
    let old = now() - 3 * 86_400_000;
    let (dir, groups) = groups_with(&[(old, S1, "old"), (now(), S1, "new")]);
    groups
        .put_retention_policy(ACCOUNT, &[], "/aws/lambda/f", 1)
        .unwrap();
    let all = groups
        .filter_log_events(ACCOUNT, &[], "/aws/lambda/f", &FilterQuery::default())
        .unwrap();
    let texts: Vec<&str> = all.items.iter().map(|e| e.event.message.as_str()).collect();
    assert_eq!(texts, ["new"]);
    let listed = groups
        .describe_log_groups(ACCOUNT, &[], None, None, None, None)
        .unwrap();
    assert_eq!(listed.items[0].retention_days, Some(1));
    assert!(
        groups
            .put_retention_policy(ACCOUNT, &[], "/aws/lambda/f", 2)
            .is_err()
    );
    assert!(
        groups
            .put_retention_policy("999999999999", &[], "/aws/lambda/f", 1)
            .is_err()
    );
    groups
        .delete_retention_policy(ACCOUNT, &[], "/aws/lambda/f")
        .unwrap();
    assert_eq!(retention::load(dir.path()), retention::Policies::new());
}

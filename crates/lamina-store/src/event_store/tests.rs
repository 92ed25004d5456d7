//! [`EventStore`]'s behaviour on every engine (see `test_db.rs`).

use super::*;
use crate::test_db::{TestDb, on_both_engines, test_node as node};

on_both_engines!(
    an_enqueued_event_round_trips_and_is_due_when_accepted,
    held_events_page_by_id_without_payloads,
    a_retry_is_recorded_and_a_deleted_event_is_gone,
    events_survive_reopening_and_ids_are_never_reused,
    only_the_holder_reads_retries_or_removes_an_event,
    orphaned_events_are_claimed_once_and_live_nodes_keep_theirs,
    released_events_are_claimed_by_the_next_node
);

fn request_ids(page: &[EventHeader]) -> Vec<String> {
    page.iter().map(|h| h.request_id.clone()).collect()
}

fn event(request_id: &str, enqueued_millis: i64) -> NewEvent {
    NewEvent {
        request_id: request_id.into(),
        scope: crate::sqlite::tests::scope(),
        function_name: "f".into(),
        qualifier: Some("live".into()),
        invoked_function_arn: "arn:aws:lambda:us-west-2:123456789012:function:f:live".into(),
        payload: b"{\"n\": 1}\x00\xff".to_vec(),
        client_context: Some("{\"custom\": {}}".into()),
        enqueued_millis,
    }
}

async fn an_enqueued_event_round_trips_and_is_due_when_accepted(db: TestDb) {
    let store = db.events().await;
    let id = store
        .enqueue_event(&event("r1", 1_000), &node(1))
        .await
        .unwrap();

    let got = store.queued_event(id, &node(1)).await.unwrap().unwrap();

    assert_eq!(
        got,
        QueuedEvent {
            id,
            event: event("r1", 1_000),
            function_error_attempts: 0,
            next_attempt_millis: 1_000,
        }
    );
}

async fn held_events_page_by_id_without_payloads(db: TestDb) {
    let store = db.events().await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(
            store
                .enqueue_event(&event(&format!("r{n}"), n), &node(1))
                .await
                .unwrap(),
        );
    }
    store
        .enqueue_event(&event("elsewhere", 9), &node(2))
        .await
        .unwrap();

    let first = store.held_events(&node(1), None, 2).await.unwrap();
    let rest = store
        .held_events(&node(1), Some(first[1].id), 10)
        .await
        .unwrap();

    assert_eq!(request_ids(&first), ["r0", "r1"]);
    assert_eq!(request_ids(&rest), ["r2", "r3", "r4"]);
    assert_eq!(
        first[0],
        EventHeader {
            id: ids[0],
            request_id: "r0".into(),
            scope: crate::sqlite::tests::scope(),
            function_name: "f".into(),
            enqueued_millis: 0,
            function_error_attempts: 0,
            next_attempt_millis: 0,
        }
    );
}

async fn a_retry_is_recorded_and_a_deleted_event_is_gone(db: TestDb) {
    let store = db.events().await;
    let id = store
        .enqueue_event(&event("r1", 10), &node(1))
        .await
        .unwrap();

    assert!(
        store
            .retry_event_later(id, &node(1), 1, 60_010)
            .await
            .unwrap()
    );
    let header = &store.held_events(&node(1), None, 10).await.unwrap()[0];
    assert_eq!(
        (header.function_error_attempts, header.next_attempt_millis),
        (1, 60_010)
    );

    assert!(store.delete_event(id, &node(1)).await.unwrap());
    assert!(!store.delete_event(id, &node(1)).await.unwrap());
    assert!(!store.retry_event_later(id, &node(1), 2, 1).await.unwrap());
    assert_eq!(store.queued_event(id, &node(1)).await.unwrap(), None);
    assert!(
        store
            .held_events(&node(1), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn events_survive_reopening_and_ids_are_never_reused(db: TestDb) {
    let (kept, deleted) = {
        let store = db.events().await;
        let kept = store
            .enqueue_event(&event("kept", 1), &node(1))
            .await
            .unwrap();
        let deleted = store
            .enqueue_event(&event("deleted", 2), &node(1))
            .await
            .unwrap();
        store.delete_event(deleted, &node(1)).await.unwrap();
        (kept, deleted)
    };

    let store = db.events().await;
    let headers = store.held_events(&node(1), None, 10).await.unwrap();
    let next = store
        .enqueue_event(&event("next", 3), &node(1))
        .await
        .unwrap();

    assert_eq!(headers.len(), 1);
    assert_eq!(
        (headers[0].id, headers[0].request_id.as_str()),
        (kept, "kept")
    );
    assert!(
        next > deleted,
        "id {next} reuses a deleted event's id {deleted}"
    );
}

async fn only_the_holder_reads_retries_or_removes_an_event(db: TestDb) {
    let store = db.events().await;
    let id = store
        .enqueue_event(&event("r1", 10), &node(1))
        .await
        .unwrap();

    assert_eq!(store.queued_event(id, &node(2)).await.unwrap(), None);
    assert!(!store.retry_event_later(id, &node(2), 1, 99).await.unwrap());
    assert!(!store.delete_event(id, &node(2)).await.unwrap());

    let still = store.queued_event(id, &node(1)).await.unwrap().unwrap();
    assert_eq!(
        (still.function_error_attempts, still.next_attempt_millis),
        (0, 10)
    );
}

async fn orphaned_events_are_claimed_once_and_live_nodes_keep_theirs(db: TestDb) {
    let store = db.events().await;
    // Node 1 beat at 1,000 and stopped; node 2 beats on; node 3 never registered; nodes 4
    // to 6, which claim, beat on too.
    db.beat(1, 1_000).await;
    for live in [2, 4, 5, 6] {
        db.beat(live, 50_000).await;
    }
    for (n, holder) in [(0, 1), (1, 2), (2, 1), (3, 3)] {
        store
            .enqueue_event(&event(&format!("r{n}"), n), &node(holder))
            .await
            .unwrap();
    }

    // Live since 40,000: node 1's and node 3's events are orphans, node 2's are not.
    let claimed = store
        .claim_orphaned_events(&node(4), 40_000, 2)
        .await
        .unwrap();
    let more = store
        .claim_orphaned_events(&node(5), 40_000, 10)
        .await
        .unwrap();
    let none = store
        .claim_orphaned_events(&node(6), 40_000, 10)
        .await
        .unwrap();

    assert_eq!(request_ids(&claimed), ["r0", "r2"]);
    assert_eq!(request_ids(&more), ["r3"]);
    assert!(none.is_empty(), "claimed twice: {none:?}");
    assert_eq!(
        request_ids(&store.held_events(&node(4), None, 10).await.unwrap()),
        ["r0", "r2"]
    );
    assert_eq!(
        request_ids(&store.held_events(&node(2), None, 10).await.unwrap()),
        ["r1"]
    );
    // A node never claims from itself: what it holds it has (or takes back at start).
    assert!(
        store
            .claim_orphaned_events(&node(4), i64::MAX, 10)
            .await
            .unwrap()
            .iter()
            .all(|h| h.request_id != "r0" && h.request_id != "r2")
    );
}

async fn released_events_are_claimed_by_the_next_node(db: TestDb) {
    let store = db.events().await;
    db.beat(1, 50_000).await;
    for n in 0..3 {
        store
            .enqueue_event(&event(&format!("r{n}"), n), &node(1))
            .await
            .unwrap();
    }

    assert_eq!(store.release_events(&node(1)).await.unwrap(), 3);
    assert!(
        store
            .held_events(&node(1), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Node 1 is live, but let go: another node takes them.
    let claimed = store
        .claim_orphaned_events(&node(2), 40_000, 10)
        .await
        .unwrap();
    assert_eq!(request_ids(&claimed), ["r0", "r1", "r2"]);
}

//! [`EventStore`]'s behaviour on every engine (see `test_db.rs`).

use super::*;
use crate::test_db::{TestDb, on_both_engines};

on_both_engines!(
    an_enqueued_event_round_trips_and_is_due_when_accepted,
    queued_events_page_by_id_without_payloads,
    a_retry_is_recorded_and_a_deleted_event_is_gone,
    events_survive_reopening_and_ids_are_never_reused
);

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
    let id = store.enqueue_event(&event("r1", 1_000)).await.unwrap();

    let got = store.queued_event(id).await.unwrap().unwrap();

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

async fn queued_events_page_by_id_without_payloads(db: TestDb) {
    let store = db.events().await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(
            store
                .enqueue_event(&event(&format!("r{n}"), n))
                .await
                .unwrap(),
        );
    }

    let first = store.queued_events(None, 2).await.unwrap();
    let rest = store.queued_events(Some(first[1].id), 10).await.unwrap();

    let request_ids = |page: &[EventHeader]| {
        page.iter()
            .map(|h| h.request_id.clone())
            .collect::<Vec<_>>()
    };
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
    let id = store.enqueue_event(&event("r1", 10)).await.unwrap();

    assert!(store.retry_event_later(id, 1, 60_010).await.unwrap());
    let header = &store.queued_events(None, 10).await.unwrap()[0];
    assert_eq!(
        (header.function_error_attempts, header.next_attempt_millis),
        (1, 60_010)
    );

    assert!(store.delete_event(id).await.unwrap());
    assert!(!store.delete_event(id).await.unwrap());
    assert!(!store.retry_event_later(id, 2, 1).await.unwrap());
    assert_eq!(store.queued_event(id).await.unwrap(), None);
    assert!(store.queued_events(None, 10).await.unwrap().is_empty());
}

async fn events_survive_reopening_and_ids_are_never_reused(db: TestDb) {
    let (kept, deleted) = {
        let store = db.events().await;
        let kept = store.enqueue_event(&event("kept", 1)).await.unwrap();
        let deleted = store.enqueue_event(&event("deleted", 2)).await.unwrap();
        store.delete_event(deleted).await.unwrap();
        (kept, deleted)
    };

    let store = db.events().await;
    let headers = store.queued_events(None, 10).await.unwrap();
    let next = store.enqueue_event(&event("next", 3)).await.unwrap();

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

//! [`NodeStore`]'s behaviour on every engine (see `test_db.rs`).

use lamina_types::NodeId;

use super::NodeRecord;
use crate::test_db::{TestDb, on_both_engines};

on_both_engines!(
    heartbeats_register_and_replace_a_node,
    nodes_of_one_database_see_each_other,
    long_silent_nodes_are_forgotten,
    the_database_answers_a_ping,
);

fn node(bits: u64, url: &str, started: i64, heartbeat: i64) -> NodeRecord {
    NodeRecord {
        id: NodeId::from_random(bits),
        url: url.to_owned(),
        started_millis: started,
        heartbeat_millis: heartbeat,
    }
}

async fn heartbeats_register_and_replace_a_node(db: TestDb) {
    let store = db.nodes().await;
    assert_eq!(store.nodes().await.unwrap(), []);
    let first = node(1, "http://10.0.0.1:8900", 100, 100);
    store.record_heartbeat(&first).await.unwrap();
    assert_eq!(store.nodes().await.unwrap(), std::slice::from_ref(&first));
    let beat = NodeRecord {
        heartbeat_millis: 2_100,
        ..first.clone()
    };
    store.record_heartbeat(&beat).await.unwrap();
    assert_eq!(store.nodes().await.unwrap(), [beat]);
    // A restart on another address: the same id, a new URL and start time.
    let restarted = node(1, "http://10.0.0.9:8901", 5_000, 5_000);
    store.record_heartbeat(&restarted).await.unwrap();
    assert_eq!(store.nodes().await.unwrap(), [restarted]);
}

async fn nodes_of_one_database_see_each_other(db: TestDb) {
    let (a, b) = (db.nodes().await, db.nodes().await);
    let (na, nb) = (
        node(0xb, "http://b:1", 10, 20),
        node(0xa, "http://a:1", 30, 40),
    );
    a.record_heartbeat(&na).await.unwrap();
    b.record_heartbeat(&nb).await.unwrap();
    // By id, whoever asks.
    assert_eq!(a.nodes().await.unwrap(), [nb.clone(), na.clone()]);
    assert_eq!(b.nodes().await.unwrap(), [nb, na]);
}

async fn long_silent_nodes_are_forgotten(db: TestDb) {
    let store = db.nodes().await;
    let (old, fresh) = (
        node(1, "http://old:1", 0, 999),
        node(2, "http://new:1", 0, 1_000),
    );
    store.record_heartbeat(&old).await.unwrap();
    store.record_heartbeat(&fresh).await.unwrap();
    assert_eq!(store.forget_nodes_before(1_000).await.unwrap(), 1);
    assert_eq!(store.nodes().await.unwrap(), [fresh]);
    assert_eq!(store.forget_nodes_before(1_000).await.unwrap(), 0);
}

async fn the_database_answers_a_ping(db: TestDb) {
    let store = db.nodes().await;
    store.ping().await.unwrap();
    let expected = match db {
        TestDb::Sqlite(_) => "sqlite",
        TestDb::Postgres(_) => "postgres",
    };
    assert_eq!(store.engine(), expected);
}

//! Several nodes on one PostgreSQL database: two stores (two connection pools) stand for two
//! `lamina serve` processes racing on the same rows. PostgreSQL only: the SQLite store is one
//! process's file, with one writer connection.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::function_access_store::ReserveOutcome;
use crate::function_store::tests::{latest, publish, scope};
use crate::function_store::{FunctionStore, PublishOutcome};
use sqlx::{Connection, Executor};

use crate::metadata::StoreError;
use crate::postgres::PgStore;
use crate::test_db::TestDb;

async fn two_nodes() -> (TestDb, [Arc<dyn FunctionStore>; 2]) {
    let db = TestDb::postgres().await;
    let a: Arc<dyn FunctionStore> = db.functions().await.into();
    let b: Arc<dyn FunctionStore> = db.functions().await.into();
    (db, [a, b])
}

#[tokio::test]
#[ignore = "needs LAMINA_TEST_POSTGRES_URL (scripts/test sets it)"]
async fn racing_creates_of_one_name_have_one_winner() {
    let (_db, nodes) = two_nodes().await;
    for round in 0..10 {
        let name = format!("f{round}");
        let tasks: Vec<_> = nodes
            .iter()
            .enumerate()
            .map(|(i, node)| {
                let (node, name) = (Arc::clone(node), name.clone());
                tokio::spawn(async move {
                    node.create_function(&latest(&name, &format!("r{i}"), "h"), &BTreeMap::new())
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut created = 0;
        for task in tasks {
            created += usize::from(task.await.unwrap());
        }
        assert_eq!(created, 1, "round {round}");
    }
}

/// Two nodes publish `$LATEST` from the same revision: one publishes, the other finds the
/// revision moved; the version numbers count up without gaps or repeats.
#[tokio::test]
#[ignore = "needs LAMINA_TEST_POSTGRES_URL (scripts/test sets it)"]
async fn racing_publishes_have_one_winner_and_count_up() {
    let (_db, nodes) = two_nodes().await;
    nodes[0]
        .create_function(&latest("f", "r0", "h0"), &BTreeMap::new())
        .await
        .unwrap();
    let mut revision = "r0".to_owned();
    for round in 1..=10_i64 {
        // New code each round, so a publish is never Unchanged.
        let changed = latest("f", &format!("c{round}"), &format!("h{round}"));
        assert!(nodes[0].replace_version(&revision, &changed).await.unwrap());
        revision = changed.revision_id.clone();
        let tasks: Vec<_> = nodes
            .iter()
            .enumerate()
            .map(|(i, node)| {
                let node = Arc::clone(node);
                let request = publish("f", &revision, &format!("p{round}-{i}"));
                tokio::spawn(async move { node.publish_latest(&request).await.unwrap() })
            })
            .collect();
        let mut published = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                PublishOutcome::Published(v) => published.push(v),
                PublishOutcome::Stale => {}
                other => panic!("round {round}: {other:?}"),
            }
        }
        assert_eq!(published.len(), 1, "round {round}");
        assert_eq!(published[0].version, round);
        let now = nodes[1]
            .function_version(&scope(), "f", 0)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(format!("v-{}", now.revision_id), published[0].revision_id);
        revision = now.revision_id;
    }
}

/// A publish and an update of `$LATEST` from the same revision: never both write, and
/// `$LATEST` ends with the winner's revision.
#[tokio::test]
#[ignore = "needs LAMINA_TEST_POSTGRES_URL (scripts/test sets it)"]
async fn a_publish_racing_an_update_leaves_one_winner() {
    let (_db, nodes) = two_nodes().await;
    nodes[0]
        .create_function(&latest("f", "r0", "h0"), &BTreeMap::new())
        .await
        .unwrap();
    let mut revision = "r0".to_owned();
    for round in 1..=30 {
        let publisher = Arc::clone(&nodes[0]);
        let request = publish("f", &revision, &format!("p{round}"));
        let publishing = tokio::spawn(async move { publisher.publish_latest(&request).await });
        let updater = Arc::clone(&nodes[1]);
        let (expected, update) = (
            revision.clone(),
            latest("f", &format!("u{round}"), &format!("h{round}")),
        );
        let updating =
            tokio::spawn(async move { updater.replace_version(&expected, &update).await });
        let published = publishing.await.unwrap().unwrap();
        let updated = updating.await.unwrap().unwrap();
        let now = nodes[0]
            .function_version(&scope(), "f", 0)
            .await
            .unwrap()
            .unwrap();
        match (&published, updated) {
            (PublishOutcome::Published(_), false) => {
                assert_eq!(now.revision_id, format!("p{round}"));
            }
            // Unchanged: nothing new to publish, the publish wrote nothing and the update won.
            (PublishOutcome::Unchanged(_) | PublishOutcome::Stale, true) => {
                assert_eq!(now.revision_id, format!("u{round}"));
            }
            other => panic!("round {round}: both or neither won: {other:?}"),
        }
        revision = now.revision_id;
    }
}

/// Reservations for different functions of one account, all at once from two nodes, never
/// exceed the account's limit together.
#[tokio::test]
#[ignore = "needs LAMINA_TEST_POSTGRES_URL (scripts/test sets it)"]
async fn racing_reservations_stay_within_the_limit() {
    let db = TestDb::postgres().await;
    let mut nodes: Vec<Arc<dyn FunctionStore>> = Vec::new();
    for _ in 0..4 {
        nodes.push(db.functions().await.into());
    }
    for round in 0..5 {
        let names: Vec<String> = (0..20).map(|n| format!("f{round}-{n}")).collect();
        for name in &names {
            nodes[0]
                .create_function(&latest(name, "r", "h"), &BTreeMap::new())
                .await
                .unwrap();
        }
        // Each round's limit leaves room for ten more reservations of 10.
        let limit = 100 * (round + 1);
        let tasks: Vec<_> = names
            .into_iter()
            .enumerate()
            .map(|(n, name)| {
                let node = Arc::clone(&nodes[n % nodes.len()]);
                tokio::spawn(async move {
                    node.set_reserved_concurrency(&scope(), &name, Some(10), limit)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut set = 0;
        for task in tasks {
            match task.await.unwrap() {
                ReserveOutcome::Set => set += 1,
                ReserveOutcome::OverLimit => {}
                ReserveOutcome::Missing => panic!("every function exists"),
            }
        }
        assert_eq!(set, 10, "round {round}");
        assert_eq!(
            nodes[1].reserved_concurrency_total(&scope()).await.unwrap(),
            u64::from(limit)
        );
    }
}

/// A reservation another node has written but not committed yet still counts: the store
/// waits for it rather than summing without it (deterministic, unlike the race above).
#[tokio::test]
#[ignore = "needs LAMINA_TEST_POSTGRES_URL (scripts/test sets it)"]
async fn a_reservation_waits_for_one_in_flight() {
    let (db, nodes) = two_nodes().await;
    for name in ["a", "b"] {
        nodes[0]
            .create_function(&latest(name, "r", "h"), &BTreeMap::new())
            .await
            .unwrap();
    }
    let mut other = db.pg_connection().await;
    let mut in_flight = other.begin().await.unwrap();
    in_flight
        .execute("UPDATE functions SET reserved_concurrency = 10 WHERE name = 'a'")
        .await
        .unwrap();
    let node = Arc::clone(&nodes[1]);
    let reserving = tokio::spawn(async move {
        node.set_reserved_concurrency(&scope(), "b", Some(10), 10)
            .await
            .unwrap()
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!reserving.is_finished(), "the reservation did not wait");
    in_flight.commit().await.unwrap();
    assert_eq!(reserving.await.unwrap(), ReserveOutcome::OverLimit);
    assert_eq!(
        nodes[0].reserved_concurrency_total(&scope()).await.unwrap(),
        10
    );
}

/// Nodes starting at once on an empty schema: one migrates, the others wait for it and find
/// the schema current.
#[tokio::test]
#[ignore = "needs LAMINA_TEST_POSTGRES_URL (scripts/test sets it)"]
async fn nodes_starting_together_migrate_once() {
    let db = TestDb::postgres().await;
    let starts: Vec<_> = (0..4)
        .map(|_| tokio::spawn(PgStore::connect_with(db.pg_options())))
        .collect();
    for start in starts {
        start.await.unwrap().unwrap();
    }
    let mut conn = db.pg_connection().await;
    let versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM lamina_schema")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(versions, [super::migrate::schema_version()]);
}

/// A schema migrated by a newer Lamina is left alone: this build refuses to start on it.
#[tokio::test]
#[ignore = "needs LAMINA_TEST_POSTGRES_URL (scripts/test sets it)"]
async fn a_newer_schema_is_refused() {
    let db = TestDb::postgres().await;
    PgStore::connect_with(db.pg_options()).await.unwrap();
    let mut conn = db.pg_connection().await;
    conn.execute("UPDATE lamina_schema SET version = version + 1")
        .await
        .unwrap();
    match PgStore::connect_with(db.pg_options()).await {
        Err(StoreError::Corrupt { table, .. }) => assert_eq!(table, "lamina_schema"),
        Err(other) => panic!("unexpected error: {other}"),
        Ok(_) => panic!("a newer schema was accepted"),
    }
}

/// An alias another node is adding to a version, not yet committed, keeps that version from
/// being deleted: the deletion waits for it, then finds the alias.
#[tokio::test]
#[ignore = "needs LAMINA_TEST_POSTGRES_URL (scripts/test sets it)"]
async fn a_version_deletion_waits_for_an_alias_in_flight() {
    let (db, nodes) = two_nodes().await;
    nodes[0]
        .create_function(&latest("f", "r1", "h1"), &BTreeMap::new())
        .await
        .unwrap();
    nodes[0]
        .publish_latest(&publish("f", "r1", "r2"))
        .await
        .unwrap();
    let mut other = db.pg_connection().await;
    let mut in_flight = other.begin().await.unwrap();
    in_flight
        .execute(
            "INSERT INTO function_aliases (account, region, function_name, name, \
             function_version, description, revision_id) \
             VALUES ('123456789012', 'us-west-2', 'f', 'live', '1', '', 'a1')",
        )
        .await
        .unwrap();
    let node = Arc::clone(&nodes[1]);
    let deleting = tokio::spawn(async move {
        node.delete_function_version(&scope(), "f", 1)
            .await
            .unwrap()
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!deleting.is_finished(), "the deletion did not wait");
    in_flight.commit().await.unwrap();
    assert_eq!(
        deleting.await.unwrap(),
        crate::function_store::DeleteVersionOutcome::Referenced(vec!["live".into()])
    );
}

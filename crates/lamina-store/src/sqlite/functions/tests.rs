use std::collections::BTreeMap;
use std::str::FromStr;

use lamina_types::function_state::FunctionStatus;
use lamina_types::layer::Digest;
use lamina_types::{AccountId, LayerName, Scope};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{ConnectOptions, Executor};

use super::*;
use crate::function_store::tests::{latest, scope};
use crate::metadata::{MetadataStore, NewLayerVersion};

pub(crate) async fn open() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::sqlite::tests::open(&dir.path().join("lamina.db")).await;
    (dir, store)
}

/// A database made by schema version 1 (layers only) opens, keeps its layers, and gains the
/// function tables.
#[tokio::test]
async fn migrates_a_version_1_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lamina.db");
    {
        let options = SqliteConnectOptions::from_str("sqlite:")
            .unwrap()
            .filename(&path)
            .create_if_missing(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .unwrap();
        pool.execute(super::super::SCHEMA).await.unwrap();
        pool.execute("PRAGMA user_version = 1").await.unwrap();
        pool.close().await;
    }
    // The layer is recorded through a v1 store's statements, before the upgrade.
    {
        let mut conn = SqliteConnectOptions::from_str("sqlite:")
            .unwrap()
            .filename(&path)
            .connect()
            .await
            .unwrap();
        let v: i64 = sqlx::query_scalar("PRAGMA user_version")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(v, 1);
        let has_functions: Option<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'functions'",
        )
        .fetch_optional(&mut conn)
        .await
        .unwrap();
        assert!(has_functions.is_none());
        sqlx::query(
            "INSERT INTO layers (region, name, last_version) VALUES ('us-west-2', 'l', 1); \
             INSERT INTO layer_versions (region, name, version, description, created_millis, \
             code_sha256, code_size, unzipped_size) VALUES ('us-west-2', 'l', 1, '', 1, ?1, 3, 4)",
        )
        .bind(Digest([5; 32]).to_hex())
        .execute(&mut conn)
        .await
        .unwrap();
    }
    let store = crate::sqlite::tests::open(&path).await;
    let v: i64 = sqlx::query_scalar("PRAGMA user_version")
        .fetch_one(&store.readers)
        .await
        .unwrap();
    assert_eq!(v, super::super::migrate::SCHEMA_VERSION);
    let layer = LayerName::parse("l").unwrap();
    assert!(
        store
            .layer_version(&scope(), &layer, 1)
            .await
            .unwrap()
            .is_some()
    );
    let next = store
        .insert_layer_version(NewLayerVersion {
            scope: scope(),
            name: layer,
            description: String::new(),
            created_millis: 2,
            compatible_runtimes: None,
            compatible_architectures: None,
            license_info: None,
            code_sha256: Digest([5; 32]),
            code_size: 3,
            unzipped_size: 4,
        })
        .await
        .unwrap();
    assert_eq!(next.version, 2);
    assert!(
        store
            .create_function(&latest("f", "r1", "h1"), &BTreeMap::new())
            .await
            .unwrap()
    );
    drop(store);
    // Opening again is a no-op.
    let store = crate::sqlite::tests::open(&path).await;
    assert!(store.function(&scope(), "f").await.unwrap().is_some());
}

/// A version recorded before the state model (schema version 2, no status) reads as ready.
#[tokio::test]
async fn versions_from_before_the_state_model_are_active() {
    let (_dir, store) = open().await;
    assert!(
        store
            .create_function(&latest("f", "r1", "h1"), &BTreeMap::new())
            .await
            .unwrap()
    );
    sqlx::query("UPDATE function_versions SET status = NULL")
        .execute(&store.writer)
        .await
        .unwrap();
    let read = store
        .function_version(&scope(), "f", LATEST_VERSION)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.status, FunctionStatus::active());
}

/// A schema-4 database (one account, no `account` columns) migrates with every function,
/// version, alias and queued event kept, now in the legacy account; deleting a function still
/// cascades to its versions and aliases.
#[tokio::test]
async fn schema_4_rows_move_to_the_legacy_account() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lamina.db");
    {
        let mut conn = SqliteConnectOptions::from_str("sqlite:")
            .unwrap()
            .filename(&path)
            .create_if_missing(true)
            .connect()
            .await
            .unwrap();
        for step in [
            crate::sqlite::SCHEMA,
            super::SCHEMA_V2,
            super::SCHEMA_V3,
            crate::sqlite::events::SCHEMA_V4,
        ] {
            conn.execute(step).await.unwrap();
        }
        conn.execute(
            "PRAGMA user_version = 4; \
             INSERT INTO functions (region, name, last_version) VALUES ('us-west-2', 'f', 1); \
             INSERT INTO function_versions (region, name, version, revision_id, \
             last_modified_millis, code_sha256, code_size, unzipped_size, content_hash, config) \
             SELECT 'us-west-2', 'f', v, 'r', 1, '0505050505050505050505050505050505050505\
             050505050505050505050505', 3, 4, 'h', '{}' FROM (SELECT 0 AS v UNION SELECT 1); \
             INSERT INTO function_aliases (region, function_name, name, function_version, \
             description, revision_id) VALUES ('us-west-2', 'f', 'live', '1', '', 'a'); \
             INSERT INTO async_events (request_id, region, function_name, invoked_function_arn, \
             payload, enqueued_millis, next_attempt_millis) \
             VALUES ('q', 'us-west-2', 'f', 'arn', x'00', 1, 1);",
        )
        .await
        .unwrap();
    }
    let legacy = AccountId::parse("111122223333").unwrap();
    let store = SqliteStore::open(&path, &legacy).await.unwrap();
    let mine = Scope::new(legacy, scope().region);
    assert_eq!(
        store
            .function(&mine, "f")
            .await
            .unwrap()
            .unwrap()
            .last_version,
        1
    );
    assert!(store.function(&scope(), "f").await.unwrap().is_none());
    let alias = store.alias(&mine, "f", "live").await.unwrap().unwrap();
    assert_eq!(alias.function_version, "1");
    let accounts: Vec<String> = sqlx::query_scalar(
        "SELECT account FROM function_versions UNION ALL SELECT account FROM async_events",
    )
    .fetch_all(&store.readers)
    .await
    .unwrap();
    assert_eq!(accounts, vec!["111122223333"; 3]);
    assert!(store.delete_function(&mine, "f").await.unwrap());
    let left: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM function_versions) + (SELECT COUNT(*) FROM function_aliases)",
    )
    .fetch_one(&store.readers)
    .await
    .unwrap();
    assert_eq!(left, 0);
}

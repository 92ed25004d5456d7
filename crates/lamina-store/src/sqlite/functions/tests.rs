use std::collections::{BTreeMap, HashSet};
use std::str::FromStr;

use lamina_types::function_config::{AttachedLayer, LoggingConfig};
use lamina_types::layer::Digest;
use lamina_types::{AccountId, LayerName, Scope};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{ConnectOptions, Executor};

use super::*;
use crate::metadata::{MetadataStore, NewLayerVersion};

pub(crate) fn scope() -> Scope {
    crate::sqlite::tests::scope()
}

fn config() -> FunctionConfig {
    FunctionConfig {
        runtime: Some("python3.12".into()),
        handler: Some("app.handler".into()),
        role: "arn:aws:iam::123456789012:role/r".into(),
        description: String::new(),
        timeout_secs: 3,
        memory_mb: 128,
        ephemeral_storage_mb: 512,
        environment: None,
        layers: vec![AttachedLayer {
            arn: "arn:aws:lambda:us-west-2:123456789012:layer:l:1".into(),
            code_size: 5,
            unzipped_size: 9,
            digest: Digest([9; 32]),
        }],
        architectures: vec!["x86_64".into()],
        package_type: "Zip".into(),
        tracing_mode: "PassThrough".into(),
        logging: LoggingConfig {
            log_format: "Text".into(),
            application_log_level: None,
            system_log_level: None,
            log_group: "/aws/lambda/f".into(),
        },
        snap_start_apply_on: "None".into(),
        kms_key_arn: None,
        extra: BTreeMap::new(),
    }
}

pub(crate) fn latest(name: &str, revision: &str, hash: &str) -> FunctionVersionRecord {
    FunctionVersionRecord {
        scope: scope(),
        name: name.into(),
        version: LATEST_VERSION,
        revision_id: revision.into(),
        last_modified_millis: 1,
        code_sha256: Digest([1; 32]),
        code_size: 10,
        unzipped_size: 20,
        content_hash: hash.into(),
        config: config(),
        status: FunctionStatus::active(),
        previous: None,
    }
}

pub(crate) fn publish(name: &str, expected: &str, next_latest: &str) -> PublishLatest {
    PublishLatest {
        scope: scope(),
        name: name.into(),
        expected_latest_revision: expected.into(),
        version_revision_id: format!("v-{next_latest}"),
        latest_revision_id: next_latest.into(),
        description: None,
    }
}

pub(crate) async fn open() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::sqlite::tests::open(&dir.path().join("lamina.db")).await;
    (dir, store)
}

#[tokio::test]
async fn create_is_unique_and_round_trips() {
    let (_dir, store) = open().await;
    let tags = BTreeMap::from([("team".to_owned(), "a".to_owned())]);
    assert!(
        store
            .create_function(&latest("f", "r1", "h1"), &tags)
            .await
            .unwrap()
    );
    assert!(
        !store
            .create_function(&latest("f", "r9", "h9"), &tags)
            .await
            .unwrap()
    );
    let got = store
        .function_version(&scope(), "f", 0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, latest("f", "r1", "h1"));
    let f = store.function(&scope(), "f").await.unwrap().unwrap();
    assert_eq!((f.last_version, f.tags), (0, tags));
}

#[tokio::test]
async fn publish_counts_up_skips_unchanged_and_checks_revision() {
    let (_dir, store) = open().await;
    store
        .create_function(&latest("f", "r1", "h1"), &BTreeMap::new())
        .await
        .unwrap();
    assert_eq!(
        store
            .publish_latest(&publish("f", "stale", "r2"))
            .await
            .unwrap(),
        PublishOutcome::Stale
    );
    let PublishOutcome::Published(v1) = store
        .publish_latest(&publish("f", "r1", "r2"))
        .await
        .unwrap()
    else {
        panic!("expected a new version");
    };
    assert_eq!((v1.version, v1.revision_id.as_str()), (1, "v-r2"));
    // Nothing changed: the same version comes back.
    let again = store
        .publish_latest(&publish("f", "r2", "r3"))
        .await
        .unwrap();
    assert_eq!(again, PublishOutcome::Unchanged(v1.clone()));
    // Change $LATEST, delete version 1: the next is 2, never 1 again.
    assert!(
        store
            .replace_version("r2", &latest("f", "r4", "h2"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .replace_version("r2", &latest("f", "r5", "h3"))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .delete_function_version(&scope(), "f", 1)
            .await
            .unwrap(),
        DeleteVersionOutcome::Deleted
    );
    let PublishOutcome::Published(v2) = store
        .publish_latest(&publish("f", "r4", "r6"))
        .await
        .unwrap()
    else {
        panic!("expected a new version");
    };
    assert_eq!(v2.version, 2);
    let listed = store
        .function_versions(&scope(), "f", None, 50)
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|v| v.version).collect::<Vec<_>>(),
        vec![0, 2]
    );
    assert_eq!(
        store
            .publish_latest(&publish("nope", "r", "r"))
            .await
            .unwrap(),
        PublishOutcome::Missing
    );
}

#[tokio::test]
async fn aliases_route_and_protect_versions_and_cascade() {
    let (_dir, store) = open().await;
    store
        .create_function(&latest("f", "r1", "h1"), &BTreeMap::new())
        .await
        .unwrap();
    store
        .publish_latest(&publish("f", "r1", "r2"))
        .await
        .unwrap();
    let alias = AliasRecord {
        scope: scope(),
        function_name: "f".into(),
        name: "live".into(),
        function_version: "$LATEST".into(),
        description: String::new(),
        additional_version_weights: Some(BTreeMap::from([("1".to_owned(), 0.25)])),
        revision_id: "a1".into(),
    };
    assert_eq!(
        store.insert_alias(&alias).await.unwrap(),
        AliasInsert::Inserted
    );
    assert_eq!(
        store.insert_alias(&alias).await.unwrap(),
        AliasInsert::Exists
    );
    let mut other = alias.clone();
    other.function_name = "ghost".into();
    assert_eq!(
        store.insert_alias(&other).await.unwrap(),
        AliasInsert::Missing
    );
    assert_eq!(
        store.alias(&scope(), "f", "live").await.unwrap(),
        Some(alias.clone())
    );
    let (target, record) = store
        .alias_target(&scope(), "f", "live")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((target.as_str(), record.unwrap().version), ("$LATEST", 0));
    assert_eq!(
        store
            .delete_function_version(&scope(), "f", 1)
            .await
            .unwrap(),
        DeleteVersionOutcome::Referenced(vec!["live".into()])
    );
    let mut moved = alias.clone();
    moved.function_version = "1".into();
    moved.additional_version_weights = None;
    moved.revision_id = "a2".into();
    assert!(store.replace_alias("a1", &moved).await.unwrap());
    assert!(!store.replace_alias("a1", &moved).await.unwrap());
    let (target, record) = store
        .alias_target(&scope(), "f", "live")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((target.as_str(), record.unwrap().version), ("1", 1));
    assert_eq!(
        store
            .aliases(&scope(), "f", Some("1"), None, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .aliases(&scope(), "f", Some("2"), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.delete_function(&scope(), "f").await.unwrap());
    assert!(store.alias(&scope(), "f", "live").await.unwrap().is_none());
    assert!(
        store
            .function_version(&scope(), "f", 1)
            .await
            .unwrap()
            .is_none()
    );
    assert!(!store.delete_function(&scope(), "f").await.unwrap());
}

#[tokio::test]
async fn listings_page_by_name_and_version() {
    let (_dir, store) = open().await;
    for name in ["b", "a", "c"] {
        store
            .create_function(&latest(name, "r1", "h1"), &BTreeMap::new())
            .await
            .unwrap();
    }
    store
        .publish_latest(&publish("a", "r1", "r2"))
        .await
        .unwrap();
    let names = |v: Vec<FunctionVersionRecord>| {
        v.into_iter()
            .map(|r| format!("{}:{}", r.name, r.version))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(store.latest_versions(&scope(), None, 2).await.unwrap()),
        ["a:0", "b:0"]
    );
    assert_eq!(
        names(store.latest_versions(&scope(), Some("b"), 5).await.unwrap()),
        ["c:0"]
    );
    assert_eq!(
        names(
            store
                .all_versions(&scope(), Some(("a", 0)), 2)
                .await
                .unwrap()
        ),
        ["a:1", "b:0"]
    );
    let usage = store.account_usage(&scope()).await.unwrap();
    assert_eq!(
        usage,
        AccountUsage {
            function_count: 3,
            total_code_bytes: 40
        }
    );
}

#[tokio::test]
async fn referenced_digests_include_function_code_and_layers() {
    let (_dir, store) = open().await;
    store
        .create_function(&latest("f", "r1", "h1"), &BTreeMap::new())
        .await
        .unwrap();
    let found: HashSet<Digest> = store
        .referenced_digests()
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(found, HashSet::from([Digest([1; 32]), Digest([9; 32])]));
    assert_eq!(
        store
            .recorded_unzipped_size(&Digest([1; 32]))
            .await
            .unwrap(),
        Some(20)
    );
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

/// Status and the replaced deployment round-trip, and settling a published version changes
/// that version only.
#[tokio::test]
async fn status_and_previous_round_trip() {
    let (_dir, store) = open().await;
    let mut created = latest("f", "r1", "h1");
    created.status = FunctionStatus::creating();
    assert!(
        store
            .create_function(&created, &BTreeMap::new())
            .await
            .unwrap()
    );
    let mut updated = latest("f", "r2", "h2");
    updated.status = FunctionStatus::active().updating();
    updated.previous = Some(Box::new(created.deployment()));
    updated.config.memory_mb = 256;
    assert!(store.replace_version("r1", &updated).await.unwrap());
    let read = store
        .function_version(&scope(), "f", LATEST_VERSION)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read, updated);
    assert_eq!(
        read.previous.as_ref().map(|p| p.config.memory_mb),
        Some(128)
    );
    let mut settled = read.clone();
    settled.revision_id = "r3".into();
    settled.status = FunctionStatus::active();
    settled.previous = None;
    assert!(store.replace_version("r2", &settled).await.unwrap());
    assert!(!store.replace_version("r2", &settled).await.unwrap());
    let PublishOutcome::Published(v1) = store
        .publish_latest(&publish("f", "r3", "r4"))
        .await
        .unwrap()
    else {
        panic!("expected a new version");
    };
    let mut v1_settled = v1.clone();
    v1_settled.revision_id = "v1-settled".into();
    assert!(
        store
            .replace_version(&v1.revision_id, &v1_settled)
            .await
            .unwrap()
    );
    let latest_now = store
        .function_version(&scope(), "f", LATEST_VERSION)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest_now.revision_id, "r4");
}

/// Two accounts each have their own function `f`, versions and counters; neither sees the
/// other's.
#[tokio::test]
async fn accounts_do_not_share_names() {
    let (_dir, store) = open().await;
    let other = Scope::new(AccountId::parse("210987654321").unwrap(), scope().region);
    let mut theirs = latest("f", "t1", "h9");
    theirs.scope = other.clone();
    assert!(
        store
            .create_function(&latest("f", "r1", "h1"), &BTreeMap::new())
            .await
            .unwrap()
    );
    assert!(
        store
            .create_function(&theirs, &BTreeMap::new())
            .await
            .unwrap()
    );
    let mut publish_theirs = publish("f", "t1", "t2");
    publish_theirs.scope = other.clone();
    let PublishOutcome::Published(v) = store.publish_latest(&publish_theirs).await.unwrap() else {
        panic!("expected a new version");
    };
    assert_eq!((v.scope.clone(), v.version), (other.clone(), 1));
    assert!(
        store
            .function_version(&scope(), "f", 1)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .function(&other, "f")
            .await
            .unwrap()
            .unwrap()
            .last_version,
        1
    );
    assert_eq!(
        store
            .function(&scope(), "f")
            .await
            .unwrap()
            .unwrap()
            .last_version,
        0
    );
    assert_eq!(
        store.latest_versions(&other, None, 10).await.unwrap().len(),
        1
    );
    assert!(store.delete_function(&other, "f").await.unwrap());
    assert!(store.function(&scope(), "f").await.unwrap().is_some());
    assert_eq!(store.account_usage(&other).await.unwrap().function_count, 0);
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

#[tokio::test]
async fn provisioned_concurrency_goes_with_its_version_alias_and_function() {
    use crate::provisioned_store::{ProvisionedConcurrencyRecord, ProvisionedConcurrencyStore};
    let (_dir, store) = open().await;
    store
        .create_function(&latest("f", "r1", "h1"), &BTreeMap::new())
        .await
        .unwrap();
    store
        .publish_latest(&publish("f", "r1", "r2"))
        .await
        .unwrap();
    let alias = AliasRecord {
        scope: scope(),
        function_name: "f".into(),
        name: "live".into(),
        function_version: "1".into(),
        description: String::new(),
        additional_version_weights: None,
        revision_id: "a1".into(),
    };
    store.insert_alias(&alias).await.unwrap();
    let config = |qualifier: &str, requested| ProvisionedConcurrencyRecord {
        scope: scope(),
        function_name: "f".into(),
        qualifier: qualifier.into(),
        requested,
        last_modified_millis: 5,
    };
    store
        .put_provisioned_concurrency(&config("1", 2))
        .await
        .unwrap();
    store
        .put_provisioned_concurrency(&config("live", 1))
        .await
        .unwrap();
    // A second put replaces.
    store
        .put_provisioned_concurrency(&config("live", 3))
        .await
        .unwrap();
    let got = store
        .provisioned_concurrency(&scope(), "f", "live")
        .await
        .unwrap();
    assert_eq!(got, Some(config("live", 3)));
    let page = store
        .provisioned_concurrency_configs(&scope(), "f", None, 1)
        .await
        .unwrap();
    assert_eq!(page, [config("1", 2)]);
    let rest = store
        .provisioned_concurrency_configs(&scope(), "f", Some("1"), 10)
        .await
        .unwrap();
    assert_eq!(rest, [config("live", 3)]);
    // The alias goes, and its configuration with it.
    assert!(store.delete_alias(&scope(), "f", "live").await.unwrap());
    assert_eq!(store.all_provisioned_concurrency().await.unwrap().len(), 1);
    // So does the version's, with the version.
    store
        .delete_function_version(&scope(), "f", 1)
        .await
        .unwrap();
    assert!(
        store
            .all_provisioned_concurrency()
            .await
            .unwrap()
            .is_empty()
    );
    // And with the whole function.
    store
        .put_provisioned_concurrency(&config("7", 1))
        .await
        .unwrap();
    assert!(
        !store
            .delete_provisioned_concurrency(&scope(), "f", "8")
            .await
            .unwrap()
    );
    assert!(store.delete_function(&scope(), "f").await.unwrap());
    assert!(
        store
            .all_provisioned_concurrency()
            .await
            .unwrap()
            .is_empty()
    );
}

//! [`FunctionStore`]'s behaviour and its supertraits', the same on every engine (see
//! `test_db.rs`).

use std::collections::{BTreeMap, HashSet};

use lamina_types::function_config::{
    AliasRecord, AttachedLayer, FunctionConfig, FunctionVersionRecord, LATEST_VERSION,
    LoggingConfig,
};
use lamina_types::function_state::FunctionStatus;
use lamina_types::layer::Digest;
use lamina_types::{AccountId, Scope};

use super::*;
use crate::test_db::{TestDb, on_both_engines};

on_both_engines!(
    create_is_unique_and_round_trips,
    publish_counts_up_skips_unchanged_and_checks_revision,
    aliases_route_and_protect_versions_and_cascade,
    listings_page_by_name_and_version,
    referenced_digests_include_function_code_and_layers,
    status_and_previous_round_trip,
    accounts_do_not_share_names,
    provisioned_concurrency_goes_with_its_version_alias_and_function,
    tags_and_reservations_change_atomically,
    function_policies_are_per_qualifier_and_go_with_what_they_belong_to,
);

pub(crate) fn scope() -> Scope {
    crate::sqlite::tests::scope()
}

pub(crate) fn config() -> FunctionConfig {
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

async fn create_is_unique_and_round_trips(db: TestDb) {
    let store = db.functions().await;
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

async fn publish_counts_up_skips_unchanged_and_checks_revision(db: TestDb) {
    let store = db.functions().await;
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

async fn aliases_route_and_protect_versions_and_cascade(db: TestDb) {
    let store = db.functions().await;
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

async fn listings_page_by_name_and_version(db: TestDb) {
    let store = db.functions().await;
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

async fn referenced_digests_include_function_code_and_layers(db: TestDb) {
    let store = db.functions().await;
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

/// Status and the replaced deployment round-trip, and settling a published version changes
/// that version only.
async fn status_and_previous_round_trip(db: TestDb) {
    let store = db.functions().await;
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
async fn accounts_do_not_share_names(db: TestDb) {
    let store = db.functions().await;
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

async fn provisioned_concurrency_goes_with_its_version_alias_and_function(db: TestDb) {
    use crate::provisioned_store::ProvisionedConcurrencyRecord;
    let store = db.functions().await;
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

async fn tags_and_reservations_change_atomically(db: TestDb) {
    use crate::function_access_store::ReserveOutcome;
    let store = db.functions().await;
    let tags = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    store
        .create_function(&latest("f", "r1", "h1"), &tags(&[("a", "1")]))
        .await
        .unwrap();
    store
        .create_function(&latest("g", "r1", "h1"), &BTreeMap::new())
        .await
        .unwrap();
    // A compare-and-swap on the tags read: a stale read changes nothing.
    assert!(
        !store
            .replace_tags(&scope(), "f", &tags(&[]), &tags(&[("b", "2")]))
            .await
            .unwrap()
    );
    assert!(
        store
            .replace_tags(&scope(), "f", &tags(&[("a", "1")]), &tags(&[("b", "2")]))
            .await
            .unwrap()
    );
    assert!(
        !store
            .replace_tags(&scope(), "nope", &tags(&[]), &tags(&[]))
            .await
            .unwrap()
    );
    assert_eq!(
        store.function(&scope(), "f").await.unwrap().unwrap().tags,
        tags(&[("b", "2")])
    );

    // The account's sum, this function's new value included, stays within the maximum.
    let set = |name: &'static str, n: Option<u32>| {
        let store = &store;
        async move {
            store
                .set_reserved_concurrency(&scope(), name, n, 900)
                .await
                .unwrap()
        }
    };
    assert_eq!(set("f", Some(600)).await, ReserveOutcome::Set);
    assert_eq!(set("g", Some(301)).await, ReserveOutcome::OverLimit);
    assert_eq!(set("g", Some(300)).await, ReserveOutcome::Set);
    // Replacing its own reservation does not count it twice.
    assert_eq!(set("f", Some(600)).await, ReserveOutcome::Set);
    assert_eq!(set("nope", Some(1)).await, ReserveOutcome::Missing);
    assert_eq!(
        store.reserved_concurrency_total(&scope()).await.unwrap(),
        900
    );
    assert_eq!(set("f", None).await, ReserveOutcome::Set);
    assert_eq!(
        store.reserved_concurrency_total(&scope()).await.unwrap(),
        300
    );
    assert_eq!(
        store
            .function(&scope(), "f")
            .await
            .unwrap()
            .unwrap()
            .reserved_concurrency,
        None
    );
}

async fn function_policies_are_per_qualifier_and_go_with_what_they_belong_to(db: TestDb) {
    use lamina_types::function_policy::{FunctionPolicy, FunctionStatement};

    let store = db.functions().await;
    store
        .create_function(&latest("f", "r1", "h1"), &BTreeMap::new())
        .await
        .unwrap();
    store
        .publish_latest(&publish("f", "r1", "r2"))
        .await
        .unwrap();
    let policy = |revision: &str, sid: &str| FunctionPolicy {
        revision_id: revision.into(),
        statements: vec![FunctionStatement {
            sid: sid.into(),
            action: "lambda:InvokeFunction".into(),
            principal: "*".into(),
            source_arn: Some("arn:aws:s3:::b".into()),
            source_account: None,
            principal_org_id: None,
            event_source_token: None,
            function_url_auth_type: None,
            invoked_via_function_url: false,
        }],
    };
    assert_eq!(
        store.function_policy(&scope(), "f", "").await.unwrap(),
        FunctionPolicy::default()
    );
    // The first write expects no revision; a second first write loses.
    assert!(
        store
            .replace_function_policy(&scope(), "f", "", "", &policy("p1", "a"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .replace_function_policy(&scope(), "f", "", "", &policy("p2", "b"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .replace_function_policy(&scope(), "f", "", "stale", &policy("p2", "b"))
            .await
            .unwrap()
    );
    assert!(
        store
            .replace_function_policy(&scope(), "f", "", "p1", &policy("p2", "b"))
            .await
            .unwrap()
    );
    assert_eq!(
        store.function_policy(&scope(), "f", "").await.unwrap(),
        policy("p2", "b")
    );
    assert!(
        store
            .replace_function_policy(&scope(), "f", "1", "", &policy("v1", "v"))
            .await
            .unwrap()
    );
    assert_eq!(
        store.function_policy(&scope(), "f", "1").await.unwrap(),
        policy("v1", "v")
    );
    // A function that does not exist takes no policy.
    assert!(
        store
            .replace_function_policy(&scope(), "nope", "", "", &policy("x", "x"))
            .await
            .is_err()
    );

    // The version's policy goes with the version, the rest with the function.
    store
        .delete_function_version(&scope(), "f", 1)
        .await
        .unwrap();
    assert_eq!(
        store.function_policy(&scope(), "f", "1").await.unwrap(),
        FunctionPolicy::default()
    );
    assert!(store.delete_function(&scope(), "f").await.unwrap());
    store
        .create_function(&latest("f", "r1", "h1"), &BTreeMap::new())
        .await
        .unwrap();
    assert_eq!(
        store.function_policy(&scope(), "f", "").await.unwrap(),
        FunctionPolicy::default()
    );
}

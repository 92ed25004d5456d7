//! [`EventInvokeConfigStore`]'s behaviour on every engine (see `test_db.rs`).

use std::collections::BTreeMap;

use lamina_types::function_config::AliasRecord;

use super::*;
use crate::function_store::tests::{latest, publish, scope};

fn config(qualifier: &str, retries: Option<u32>) -> EventInvokeConfigRecord {
    EventInvokeConfigRecord {
        scope: scope(),
        function_name: "f".into(),
        qualifier: qualifier.into(),
        maximum_retry_attempts: retries,
        maximum_event_age_secs: Some(60),
        on_success: None,
        on_failure: Some("arn:aws:lambda:us-west-2:123456789012:function:d".into()),
        last_modified_millis: 5,
    }
}
use crate::test_db::{TestDb, on_both_engines};

on_both_engines!(configurations_are_per_qualifier_and_go_with_their_version_alias_and_function);

async fn configurations_are_per_qualifier_and_go_with_their_version_alias_and_function(db: TestDb) {
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
    for (q, r) in [("$LATEST", Some(0)), ("1", None), ("live", Some(1))] {
        store.put_event_invoke_config(&config(q, r)).await.unwrap();
    }
    // A second put replaces.
    store
        .put_event_invoke_config(&config("live", Some(2)))
        .await
        .unwrap();

    assert_eq!(
        store
            .event_invoke_config(&scope(), "f", "live")
            .await
            .unwrap(),
        Some(config("live", Some(2)))
    );
    let first = store
        .event_invoke_configs(&scope(), "f", None, 2)
        .await
        .unwrap();
    assert_eq!(first, [config("$LATEST", Some(0)), config("1", None)]);
    assert!(store.delete_alias(&scope(), "f", "live").await.unwrap());
    let rest = store
        .event_invoke_configs(&scope(), "f", Some("1"), 10)
        .await
        .unwrap();
    assert_eq!(rest, [], "the alias's configuration went with it");
    assert!(
        store
            .delete_event_invoke_config(&scope(), "f", "1")
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_event_invoke_config(&scope(), "f", "1")
            .await
            .unwrap()
    );
    assert!(store.delete_function(&scope(), "f").await.unwrap());
    // A function of the same name starts with no configurations.
    store
        .create_function(&latest("f", "r1", "h1"), &BTreeMap::new())
        .await
        .unwrap();
    let left = store
        .event_invoke_configs(&scope(), "f", None, 10)
        .await
        .unwrap();
    assert_eq!(left, [], "the function's configurations went with it");
}

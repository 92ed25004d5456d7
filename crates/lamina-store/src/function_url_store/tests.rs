//! [`FunctionUrlStore`]'s behaviour on every engine (see `test_db.rs`): function URL rows are
//! found by function, alias and id, and go with their alias or function.

use std::collections::BTreeMap;

use lamina_types::function_url::{FunctionUrlRecord, UrlAuthType, UrlCors, UrlInvokeMode};

use lamina_types::function_config::AliasRecord;

use crate::function_store::tests::latest;

fn url(qualifier: Option<&str>, id: &str) -> FunctionUrlRecord {
    FunctionUrlRecord {
        scope: crate::sqlite::tests::scope(),
        function_name: "f".into(),
        qualifier: qualifier.map(str::to_owned),
        url_id: id.into(),
        auth_type: UrlAuthType::None,
        invoke_mode: UrlInvokeMode::Buffered,
        cors: Some(UrlCors {
            allow_origins: Some(vec!["*".into()]),
            ..UrlCors::default()
        }),
        created_millis: 1,
        last_modified_millis: 1,
    }
}
use crate::test_db::{TestDb, on_both_engines};

on_both_engines!(urls_are_found_replaced_and_go_with_their_alias_and_function);

async fn urls_are_found_replaced_and_go_with_their_alias_and_function(db: TestDb) {
    let store = db.functions().await;
    let scope = crate::sqlite::tests::scope();
    store
        .create_function(&latest("f", "r1", "h1"), &BTreeMap::new())
        .await
        .unwrap();
    let alias = AliasRecord {
        scope: scope.clone(),
        function_name: "f".into(),
        name: "live".into(),
        function_version: "$LATEST".into(),
        description: String::new(),
        additional_version_weights: None,
        revision_id: "a1".into(),
    };
    store.insert_alias(&alias).await.unwrap();
    assert!(
        store
            .insert_function_url(&url(None, "a".repeat(32).as_str()))
            .await
            .unwrap()
    );
    assert!(
        store
            .insert_function_url(&url(Some("live"), &"b".repeat(32)))
            .await
            .unwrap()
    );
    // One URL per function or alias.
    assert!(
        !store
            .insert_function_url(&url(None, &"c".repeat(32)))
            .await
            .unwrap()
    );

    let mut changed = url(None, &"a".repeat(32));
    changed.auth_type = UrlAuthType::AwsIam;
    changed.invoke_mode = UrlInvokeMode::ResponseStream;
    changed.cors = None;
    changed.last_modified_millis = 9;
    assert!(store.replace_function_url(&changed).await.unwrap());
    assert_eq!(
        store.function_url(&scope, "f", None).await.unwrap(),
        Some(changed.clone())
    );
    assert_eq!(
        store.function_url_by_id(&"b".repeat(32)).await.unwrap(),
        Some(url(Some("live"), &"b".repeat(32)))
    );
    let page = store.function_urls(&scope, "f", None, 1).await.unwrap();
    assert_eq!(page, [changed]);
    let rest = store.function_urls(&scope, "f", Some(""), 5).await.unwrap();
    assert_eq!(rest.len(), 1);

    assert!(store.delete_alias(&scope, "f", "live").await.unwrap());
    assert!(
        store
            .function_url_by_id(&"b".repeat(32))
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.delete_function(&scope, "f").await.unwrap());
    assert!(
        store
            .function_url_by_id(&"a".repeat(32))
            .await
            .unwrap()
            .is_none()
    );
    assert!(!store.delete_function_url(&scope, "f", None).await.unwrap());
}

//! [`FunctionSettingsStore`]'s behaviour on every engine (see `test_db.rs`).

use std::collections::BTreeMap;

use lamina_types::function_settings::{RecursiveLoop, RuntimeManagement, UpdateRuntimeOn};

use crate::function_store::tests::{latest, scope};
use crate::test_db::{TestDb, on_both_engines};

on_both_engines!(settings_default_persist_and_need_their_function);

async fn settings_default_persist_and_need_their_function(db: TestDb) {
    let store = db.functions().await;
    let scope = scope();
    assert_eq!(store.recursive_loop(&scope, "f").await.unwrap(), None);
    assert!(
        !store
            .put_recursive_loop(&scope, "f", RecursiveLoop::Allow)
            .await
            .unwrap()
    );
    store
        .create_function(&latest("f", "r1", "h1"), &BTreeMap::new())
        .await
        .unwrap();
    assert_eq!(
        store.recursive_loop(&scope, "f").await.unwrap(),
        Some(RecursiveLoop::Terminate)
    );
    assert!(
        store
            .put_recursive_loop(&scope, "f", RecursiveLoop::Allow)
            .await
            .unwrap()
    );
    assert_eq!(
        store.recursive_loop(&scope, "f").await.unwrap(),
        Some(RecursiveLoop::Allow)
    );

    assert_eq!(
        store.runtime_management(&scope, "f", 0).await.unwrap(),
        Some(RuntimeManagement::default())
    );
    assert_eq!(
        store.runtime_management(&scope, "f", 1).await.unwrap(),
        None
    );
    let manual = RuntimeManagement {
        update_runtime_on: UpdateRuntimeOn::Manual,
        runtime_version_arn: Some("arn:aws:lambda:us-east-1::runtime:abc".into()),
    };
    assert!(
        !store
            .put_runtime_management(&scope, "f", 1, &manual)
            .await
            .unwrap()
    );
    assert!(
        store
            .put_runtime_management(&scope, "f", 0, &manual)
            .await
            .unwrap()
    );
    assert_eq!(
        store.runtime_management(&scope, "f", 0).await.unwrap(),
        Some(manual)
    );
}

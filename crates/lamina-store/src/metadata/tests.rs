//! [`MetadataStore`]'s behaviour, the same on every engine (see `test_db.rs`).

use std::sync::Arc;

use lamina_types::LayerName;
use lamina_types::layer::{Digest, LayerPolicy};

use super::{LayerVersionFilter, MetadataStore, NewLayerVersion};
use crate::sqlite::tests::scope;
use crate::test_db::{TestDb, on_both_engines};

on_both_engines!(
    versions_never_come_back_and_survive_reopen,
    latest_matching_per_layer,
    policy_compare_and_set,
    concurrent_publishes_from_several_stores_get_distinct_numbers,
    racing_policy_replacements_have_one_winner,
    unzipped_size_and_architecture_filter,
);

fn new_version(name: &str, runtimes: Option<Vec<&str>>) -> NewLayerVersion {
    NewLayerVersion {
        scope: scope(),
        name: LayerName::parse(name).unwrap(),
        description: String::new(),
        created_millis: 1,
        compatible_runtimes: runtimes.map(|r| r.into_iter().map(String::from).collect()),
        compatible_architectures: None,
        license_info: None,
        code_sha256: Digest([7; 32]),
        code_size: 10,
        unzipped_size: 20,
    }
}

async fn versions_never_come_back_and_survive_reopen(db: TestDb) {
    let region = scope();
    let name = LayerName::parse("a").unwrap();
    {
        let store = db.metadata().await;
        let first = store.insert_layer_version(new_version("a", None)).await;
        assert_eq!(first.unwrap().version, 1);
        let second = store.insert_layer_version(new_version("a", None)).await;
        assert_eq!(second.unwrap().version, 2);
        store.delete_layer_version(&region, &name, 1).await.unwrap();
        store.delete_layer_version(&region, &name, 2).await.unwrap();
        store.delete_layer_version(&region, &name, 2).await.unwrap();
    }
    let store = db.metadata().await;
    let third = store.insert_layer_version(new_version("a", None)).await;
    assert_eq!(third.unwrap().version, 3);
    let live = store
        .layer_versions(&region, &name, &LayerVersionFilter::default(), None, 50)
        .await
        .unwrap();
    assert_eq!(live.iter().map(|v| v.version).collect::<Vec<_>>(), vec![3]);
    assert!(
        store
            .layer_version(&region, &name, 2)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.referenced_digests().await.unwrap(),
        vec![Digest([7; 32])]
    );
}

async fn latest_matching_per_layer(db: TestDb) {
    let store = db.metadata().await;
    let region = scope();
    for (name, runtimes) in [
        ("b", Some(vec!["python3.8"])),
        ("b", Some(vec!["python3.12"])),
        ("a", None),
        // Upper case sorts before lower case in byte order, whatever the database's locale.
        ("C", Some(vec!["python3.8"])),
    ] {
        store
            .insert_layer_version(new_version(name, runtimes))
            .await
            .unwrap();
    }
    let all = store
        .latest_layer_versions(&region, &LayerVersionFilter::default(), None, 50)
        .await
        .unwrap();
    let got: Vec<_> = all
        .iter()
        .map(|v| (v.name.as_str().to_owned(), v.version))
        .collect();
    assert_eq!(got, vec![("C".into(), 1), ("a".into(), 1), ("b".into(), 2)]);
    let after_a = LayerName::parse("a").unwrap();
    let page = store
        .latest_layer_versions(&region, &LayerVersionFilter::default(), Some(&after_a), 1)
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].name.as_str(), "b");
    let filter = LayerVersionFilter {
        runtime: Some("python3.8".into()),
        architecture: None,
    };
    let py38 = store
        .latest_layer_versions(&region, &filter, None, 50)
        .await
        .unwrap();
    let got: Vec<_> = py38
        .iter()
        .map(|v| (v.name.as_str().to_owned(), v.version))
        .collect();
    assert_eq!(got, vec![("C".into(), 1), ("b".into(), 1)]);
    let b = LayerName::parse("b").unwrap();
    let below_two = store
        .layer_versions(&region, &b, &LayerVersionFilter::default(), Some(2), 50)
        .await
        .unwrap();
    assert_eq!(below_two.len(), 1);
    assert_eq!(
        below_two[0].compatible_runtimes,
        Some(vec!["python3.8".to_owned()])
    );
}

async fn policy_compare_and_set(db: TestDb) {
    let store = db.metadata().await;
    let v = store
        .insert_layer_version(new_version("a", None))
        .await
        .unwrap();
    let policy = LayerPolicy {
        revision_id: "r1".into(),
        statements: vec![],
    };
    assert!(
        store
            .replace_layer_policy(&v.scope, &v.name, 1, "", &policy)
            .await
            .unwrap()
    );
    assert!(
        !store
            .replace_layer_policy(&v.scope, &v.name, 1, "", &policy)
            .await
            .unwrap()
    );
    let got = store
        .layer_policy(&v.scope, &v.name, 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.revision_id, "r1");
    assert!(
        store
            .layer_policy(&v.scope, &v.name, 2)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.server_secret(b"one").await.unwrap(), b"one");
    assert_eq!(store.server_secret(b"two").await.unwrap(), b"one");
}

/// Two stores on one database stand for two nodes: their publishes of one layer, all at
/// once, get every number from 1 to N exactly once.
async fn concurrent_publishes_from_several_stores_get_distinct_numbers(db: TestDb) {
    let nodes: Vec<Arc<dyn MetadataStore>> =
        vec![db.metadata().await.into(), db.metadata().await.into()];
    let mut tasks = Vec::new();
    for i in 0..20 {
        let node = Arc::clone(&nodes[i % nodes.len()]);
        tasks.push(tokio::spawn(async move {
            node.insert_layer_version(new_version("shared", None))
                .await
                .unwrap()
                .version
        }));
    }
    let mut numbers = Vec::new();
    for task in tasks {
        numbers.push(task.await.unwrap());
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=20).collect::<Vec<i64>>());
}

/// Two nodes replacing one policy from the same revision: exactly one wins.
async fn racing_policy_replacements_have_one_winner(db: TestDb) {
    let nodes: Vec<Arc<dyn MetadataStore>> =
        vec![db.metadata().await.into(), db.metadata().await.into()];
    let v = nodes[0]
        .insert_layer_version(new_version("a", None))
        .await
        .unwrap();
    for round in 0..10 {
        let expected = if round == 0 {
            String::new()
        } else {
            format!("r{}", round - 1)
        };
        let mut tasks = Vec::new();
        for (i, node) in nodes.iter().enumerate() {
            let (node, v, expected) = (Arc::clone(node), v.clone(), expected.clone());
            tasks.push(tokio::spawn(async move {
                let policy = LayerPolicy {
                    revision_id: format!("r{round}"),
                    statements: vec![lamina_types::layer::LayerStatement {
                        sid: format!("node{i}"),
                        principal: "*".into(),
                        organization_id: None,
                    }],
                };
                node.replace_layer_policy(&v.scope, &v.name, 1, &expected, &policy)
                    .await
                    .unwrap()
            }));
        }
        let mut wins = 0;
        for task in tasks {
            wins += usize::from(task.await.unwrap());
        }
        assert_eq!(wins, 1, "round {round}");
    }
}

async fn unzipped_size_and_architecture_filter(db: TestDb) {
    let store = db.metadata().await;
    let mut arm = new_version("arm", None);
    arm.compatible_architectures = Some(vec!["arm64".into()]);
    arm.code_sha256 = Digest([9; 32]);
    arm.unzipped_size = 1234;
    store.insert_layer_version(arm).await.unwrap();
    assert_eq!(
        store
            .recorded_unzipped_size(&Digest([9; 32]))
            .await
            .unwrap(),
        Some(1234)
    );
    assert_eq!(
        store
            .recorded_unzipped_size(&Digest([1; 32]))
            .await
            .unwrap(),
        None
    );
    let filter = LayerVersionFilter {
        runtime: None,
        architecture: Some("x86_64".into()),
    };
    let none = store
        .latest_layer_versions(&scope(), &filter, None, 50)
        .await
        .unwrap();
    assert!(none.is_empty());
}

//! [`AccessKeyStore`]'s behaviour on every engine (see `test_db.rs`): keys are created, found
//! and revoked; one root key per account, also when several nodes start at once; secrets are
//! stored sealed, and a store given another secrets key neither reads nor writes.

use std::collections::HashSet;

use sqlx::Row;

use crate::access_keys::AccessKeysError;
use crate::test_db::{TestDb, on_both_engines};

const ACCOUNT: &str = "123456789012";

/// The secrets key every node of a test shares (base64 of 32 bytes).
const SECRETS_KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

/// Another key, as a misconfigured node would have.
const OTHER_SECRETS_KEY: &str = "CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=";

on_both_engines!(
    keys_are_created_found_listed_and_revoked,
    a_key_created_through_one_node_is_seen_by_another,
    the_given_root_key_is_replaced_not_duplicated,
    nodes_starting_at_once_create_one_root_key,
    an_account_gets_a_fresh_id_and_a_revocable_root_key,
    no_secret_is_stored_in_plain_text,
    another_secrets_key_neither_reads_nor_writes,
);

async fn keys_are_created_found_listed_and_revoked(db: TestDb) {
    let store = db.access_keys(SECRETS_KEY).await.unwrap();
    assert!(store.read().await.unwrap().is_empty());
    let a = store.create(ACCOUNT, false, "t1").await.unwrap();
    let b = store.create(ACCOUNT, false, "t2").await.unwrap();
    assert_ne!(a.access_key_id, b.access_key_id);
    assert!(!a.root && !a.server_managed);
    assert_eq!(store.read().await.unwrap(), vec![a.clone(), b.clone()]);
    assert_eq!(
        store.lookup(&a.access_key_id).await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(store.lookup("LKIANOSUCHKEY").await.unwrap(), None);
    assert_eq!(
        store.revoke(&a.access_key_id).await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(store.revoke(&a.access_key_id).await.unwrap(), None);
    assert_eq!(store.lookup(&a.access_key_id).await.unwrap(), None);
    assert_eq!(store.read().await.unwrap(), vec![b]);
    assert_eq!(store.seal_plaintext_secrets().await.unwrap(), 0);
}

async fn a_key_created_through_one_node_is_seen_by_another(db: TestDb) {
    let one = db.access_keys(SECRETS_KEY).await.unwrap();
    let other = db.access_keys(SECRETS_KEY).await.unwrap();
    let key = one.create(ACCOUNT, false, "t").await.unwrap();
    assert_eq!(
        other.lookup(&key.access_key_id).await.unwrap(),
        Some(key.clone())
    );
    other.revoke(&key.access_key_id).await.unwrap();
    assert_eq!(one.lookup(&key.access_key_id).await.unwrap(), None);
}

async fn the_given_root_key_is_replaced_not_duplicated(db: TestDb) {
    let store = db.access_keys(SECRETS_KEY).await.unwrap();
    let other = store.create(ACCOUNT, false, "t").await.unwrap();
    assert!(store.set_root("AK1", "s1", ACCOUNT, "t").await.unwrap());
    // Every node starts with the same root key: the second start changes nothing.
    assert!(!store.set_root("AK1", "s1", ACCOUNT, "t").await.unwrap());
    assert!(store.set_root("AK1", "s1b", ACCOUNT, "t").await.unwrap());
    assert!(store.set_root("AK2", "s2", ACCOUNT, "t").await.unwrap());
    let root = store.root_of(ACCOUNT).await.unwrap().unwrap();
    assert_eq!(root.access_key_id, "AK2");
    assert_eq!(root.secret_access_key, "s2");
    assert!(root.root && root.server_managed);
    let ids: HashSet<String> = store
        .read()
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.access_key_id)
        .collect();
    assert_eq!(ids, HashSet::from(["AK2".to_owned(), other.access_key_id]));
}

async fn nodes_starting_at_once_create_one_root_key(db: TestDb) {
    let mut nodes = Vec::new();
    for _ in 0..4 {
        nodes.push(db.access_keys(SECRETS_KEY).await.unwrap());
    }
    let starts = nodes
        .iter()
        .map(|node| node.ensure_server_root(ACCOUNT, "t"));
    let results = futures_util::future::join_all(starts).await;
    let results: Vec<_> = results.into_iter().map(Result::unwrap).collect();
    assert_eq!(results.iter().filter(|(_, created)| *created).count(), 1);
    let root = &results[0].0;
    assert!(root.root && root.server_managed);
    for (other, _) in &results {
        assert_eq!(other, root);
    }
    assert_eq!(nodes[0].read().await.unwrap(), vec![root.clone()]);
    let (again, created) = nodes[1].ensure_server_root(ACCOUNT, "t").await.unwrap();
    assert!(!created);
    assert_eq!(&again, root);
}

async fn an_account_gets_a_fresh_id_and_a_revocable_root_key(db: TestDb) {
    let store = db.access_keys(SECRETS_KEY).await.unwrap();
    store.ensure_server_root(ACCOUNT, "t").await.unwrap();
    let mut seen = HashSet::from([ACCOUNT.to_owned()]);
    for _ in 0..10 {
        let root = store.create_account(&[ACCOUNT], "t").await.unwrap();
        assert_eq!(root.account_id.len(), 12);
        assert!(root.account_id.bytes().all(|b| b.is_ascii_digit()));
        assert!(root.root && !root.server_managed);
        assert!(
            seen.insert(root.account_id.clone()),
            "reused {}",
            root.account_id
        );
        assert_eq!(store.root_of(&root.account_id).await.unwrap(), Some(root));
    }
    assert_eq!(store.read().await.unwrap().len(), 11);
}

/// Everything the engine keeps of the keys, as text.
async fn stored_text(db: &TestDb) -> String {
    match db {
        TestDb::Sqlite(dir) => {
            std::fs::read_to_string(dir.path().join(crate::access_keys::ACCESS_KEYS_FILE)).unwrap()
        }
        TestDb::Postgres(_) => {
            let mut conn = db.pg_connection().await;
            sqlx::query("SELECT CAST(access_keys AS TEXT) AS row FROM access_keys")
                .fetch_all(&mut conn)
                .await
                .unwrap()
                .iter()
                .map(|row| row.get::<String, _>("row"))
                .collect::<Vec<_>>()
                .join("\n")
        }
    }
}

async fn no_secret_is_stored_in_plain_text(db: TestDb) {
    let store = db.access_keys(SECRETS_KEY).await.unwrap();
    let key = store.create(ACCOUNT, false, "t").await.unwrap();
    store
        .set_root("AKROOT", "the-root-secret", ACCOUNT, "t")
        .await
        .unwrap();
    let text = stored_text(&db).await;
    assert!(text.contains(&key.access_key_id), "{text}");
    assert!(!text.contains(&key.secret_access_key), "{text}");
    assert!(!text.contains("the-root-secret"), "{text}");
    assert!(!text.contains(SECRETS_KEY), "{text}");
}

async fn another_secrets_key_neither_reads_nor_writes(db: TestDb) {
    let store = db.access_keys(SECRETS_KEY).await.unwrap();
    let key = store.create(ACCOUNT, false, "t").await.unwrap();
    let wrong = db.access_keys(OTHER_SECRETS_KEY).await.unwrap();
    let err = wrong.read().await.unwrap_err();
    assert!(
        matches!(
            err,
            AccessKeysError::Decrypt { .. } | AccessKeysError::StoredDecrypt { .. }
        ),
        "{err}"
    );
    assert!(err.to_string().contains(&key.access_key_id), "{err}");
    assert!(!err.to_string().contains(OTHER_SECRETS_KEY), "{err}");
    assert!(wrong.lookup(&key.access_key_id).await.is_err());
    assert!(wrong.create(ACCOUNT, false, "t").await.is_err());
    assert!(wrong.create_account(&[], "t").await.is_err());
    assert!(wrong.set_root("AKX", "s", ACCOUNT, "t").await.is_err());
    assert!(wrong.ensure_server_root(ACCOUNT, "t").await.is_err());
    assert!(wrong.revoke(&key.access_key_id).await.is_err());
    // Nothing was sealed under the other key, nor removed by it.
    assert_eq!(store.read().await.unwrap(), vec![key]);
}

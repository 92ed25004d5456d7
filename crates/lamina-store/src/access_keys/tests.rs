use std::os::unix::fs::MetadataExt;
use std::sync::Arc;

use super::generate::{KEY_ID_ALPHABET, KEY_ID_PREFIX};
use super::secrets_key::SECRETS_KEY_FILE;
use super::*;

const ACCOUNT: &str = "123456789012";

/// The key file of `dir`, sealed under `dir/secrets.key` whatever the environment says.
fn file_in(dir: &Path) -> AccessKeyFile {
    AccessKeyFile::with_secrets_key(dir, SecretsKeySource::File(dir.join(SECRETS_KEY_FILE)))
}

fn raw(file: &AccessKeyFile) -> serde_json::Value {
    serde_json::from_slice(&fs::read(file.path()).unwrap()).unwrap()
}

#[test]
fn keys_are_created_listed_and_revoked_in_a_private_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = file_in(dir.path());
    assert!(file.read().unwrap().is_empty());
    let a = file.create(ACCOUNT, false, "t").unwrap();
    let b = file.create(ACCOUNT, false, "t").unwrap();
    assert_ne!(a.access_key_id, b.access_key_id);
    assert_eq!(file.read().unwrap(), vec![a.clone(), b.clone()]);
    assert_eq!(fs::metadata(file.path()).unwrap().mode() & 0o777, FILE_MODE);
    assert_eq!(file.revoke(&a.access_key_id).unwrap(), Some(a));
    assert_eq!(file.revoke("nope").unwrap(), None);
    assert_eq!(file.read().unwrap(), vec![b]);
}

#[test]
fn no_secret_is_in_the_file_or_in_debug_output() {
    let dir = tempfile::tempdir().unwrap();
    let file = file_in(dir.path());
    let a = file.create(ACCOUNT, false, "t").unwrap();
    file.set_root("AKROOT", "the-root-secret", ACCOUNT, "t")
        .unwrap();
    let text = fs::read_to_string(file.path()).unwrap();
    assert!(!text.contains(&a.secret_access_key), "{text}");
    assert!(!text.contains("the-root-secret"), "{text}");
    assert!(!text.contains("secretAccessKey"), "{text}");
    assert_eq!(raw(&file)["version"], 2);
    let keys = file.read().unwrap();
    assert_eq!(keys[0].secret_access_key, "the-root-secret");
    let debug = format!("{keys:?} {file:?}");
    assert!(!debug.contains("the-root-secret"), "{debug}");
    assert!(!debug.contains(&a.secret_access_key), "{debug}");
    // The key-encryption key is beside the file, not in it, and private.
    let key = dir.path().join(SECRETS_KEY_FILE);
    assert_eq!(fs::metadata(&key).unwrap().mode() & 0o777, 0o400);
    let key_text = fs::read_to_string(&key).unwrap();
    assert!(!text.contains(key_text.trim()));
}

#[test]
fn a_version_1_file_with_plain_secrets_is_read_then_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let file = file_in(dir.path());
    let legacy = serde_json::json!({"keys": [
        {"accessKeyId": "LKIAROOT", "secretAccessKey": "root-secret", "accountId": ACCOUNT,
         "created": "t", "root": true},
        {"accessKeyId": "LKIAOTHER", "secretAccessKey": "other-secret", "accountId": ACCOUNT,
         "created": "t"},
    ]});
    fs::write(file.path(), serde_json::to_vec_pretty(&legacy).unwrap()).unwrap();
    let before = file.read().unwrap();
    assert_eq!(before[0].secret_access_key, "root-secret");
    // A version-1 file's only root key was the server's.
    assert!(before[0].root && before[0].server_managed);
    assert!(!before[1].root && !before[1].server_managed);

    assert_eq!(file.seal_plaintext_secrets().unwrap(), 2);

    let text = fs::read_to_string(file.path()).unwrap();
    assert!(
        !text.contains("root-secret") && !text.contains("other-secret"),
        "{text}"
    );
    assert_eq!(raw(&file)["version"], 2);
    assert_eq!(fs::metadata(file.path()).unwrap().mode() & 0o777, FILE_MODE);
    assert_eq!(file.read().unwrap(), before);
    assert_eq!(file.seal_plaintext_secrets().unwrap(), 0);
    assert_eq!(fs::read_to_string(file.path()).unwrap(), text);
}

#[test]
fn any_write_seals_the_plain_secrets_of_a_version_1_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = file_in(dir.path());
    let legacy = r#"{"keys":[{"accessKeyId":"LKIAA","secretAccessKey":"plain-a",
        "accountId":"123456789012","created":"t"}]}"#;
    fs::write(file.path(), legacy).unwrap();
    assert_eq!(file.revoke("nope").unwrap(), None);
    assert!(!fs::read_to_string(file.path()).unwrap().contains("plain-a"));
    assert_eq!(file.read().unwrap()[0].secret_access_key, "plain-a");
}

#[test]
fn a_wrong_or_missing_secrets_key_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = file_in(dir.path());
    let key = file.create(ACCOUNT, false, "t").unwrap();
    let other = tempfile::tempdir().unwrap();
    let other_key = SecretsKeySource::File(other.path().join(SECRETS_KEY_FILE));
    other_key.load_or_create().unwrap();
    let wrong = AccessKeyFile::with_secrets_key(dir.path(), other_key);
    let err = wrong.read().unwrap_err();
    assert!(matches!(err, AccessKeysError::Decrypt { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains(&file.path().display().to_string()), "{text}");
    assert!(text.contains(&key.access_key_id), "{text}");
    // A writer with the wrong key refuses too, rather than sealing with a second key.
    assert!(wrong.create(ACCOUNT, false, "t").is_err());

    fs::remove_file(dir.path().join(SECRETS_KEY_FILE)).unwrap();
    let err = file.read().unwrap_err();
    assert!(matches!(err, AccessKeysError::NoSecretsKey { .. }), "{err}");
    assert!(err.to_string().contains("LAMINA_SECRETS_KEY"), "{err}");
    // ... and no new key is generated over the sealed secrets.
    assert!(file.create(ACCOUNT, false, "t").is_err());
    assert!(!dir.path().join(SECRETS_KEY_FILE).exists());
}

#[test]
fn a_sealed_secret_moved_to_another_record_does_not_open() {
    let dir = tempfile::tempdir().unwrap();
    let file = file_in(dir.path());
    file.create(ACCOUNT, false, "t").unwrap();
    file.create(ACCOUNT, false, "t").unwrap();
    let mut document = raw(&file);
    let keys = document["keys"].as_array_mut().unwrap();
    let first = keys[0]["sealedSecret"].clone();
    keys[1]["sealedSecret"] = first;
    fs::write(file.path(), serde_json::to_vec(&document).unwrap()).unwrap();
    assert!(matches!(file.read(), Err(AccessKeysError::Decrypt { .. })));
}

#[test]
fn concurrent_writers_lose_no_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = Arc::new(file_in(dir.path()));
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let file = Arc::clone(&file);
            std::thread::spawn(move || {
                let mut made = Vec::new();
                for _ in 0..5 {
                    made.push(file.create(ACCOUNT, false, "t").unwrap().access_key_id);
                }
                if i == 0 {
                    made.push(file.create_account(&[], "t").unwrap().access_key_id);
                } else if i == 1 {
                    made.push(
                        file.ensure_server_root(ACCOUNT, "t")
                            .unwrap()
                            .0
                            .access_key_id,
                    );
                }
                made
            })
        })
        .collect();
    let made: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let stored: Vec<String> = file
        .read()
        .unwrap()
        .into_iter()
        .map(|k| k.access_key_id)
        .collect();
    assert_eq!(made.len(), 42);
    assert_eq!(stored.len(), 42);
    for id in &made {
        assert!(stored.contains(id), "{id} was lost");
    }
}

#[test]
fn the_root_key_is_replaced_not_duplicated() {
    let dir = tempfile::tempdir().unwrap();
    let file = file_in(dir.path());
    assert!(file.set_root("AK1", "s1", ACCOUNT, "t").unwrap());
    assert!(!file.set_root("AK1", "s1", ACCOUNT, "t").unwrap());
    assert!(file.set_root("AK2", "s2", ACCOUNT, "t").unwrap());
    let keys = file.read().unwrap();
    assert_eq!(keys.len(), 1);
    let root = file.root_of(ACCOUNT).unwrap().unwrap();
    assert_eq!(root.access_key_id, "AK2");
    assert!(root.server_managed);
}

#[test]
fn the_server_root_is_created_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = file_in(dir.path());
    let (root, created) = file.ensure_server_root(ACCOUNT, "t").unwrap();
    assert!(created && root.root && root.server_managed);
    let (again, created) = file.ensure_server_root(ACCOUNT, "t").unwrap();
    assert!(!created);
    assert_eq!(again, root);
}

#[test]
fn an_account_gets_a_fresh_id_and_a_revocable_root_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = file_in(dir.path());
    file.ensure_server_root(ACCOUNT, "t").unwrap();
    let mut seen = HashSet::from([ACCOUNT.to_owned()]);
    for _ in 0..20 {
        let root = file.create_account(&[ACCOUNT], "t").unwrap();
        assert_eq!(root.account_id.len(), 12);
        assert!(root.account_id.bytes().all(|b| b.is_ascii_digit()));
        assert!(root.root && !root.server_managed);
        assert!(
            seen.insert(root.account_id.clone()),
            "reused {}",
            root.account_id
        );
        assert_eq!(
            file.root_of(&root.account_id)
                .unwrap()
                .unwrap()
                .access_key_id,
            root.access_key_id
        );
    }
    assert_eq!(file.read().unwrap().len(), 21);
}

#[test]
fn generated_pairs_look_like_aws_keys() {
    let (id, secret) = generate_key_pair();
    assert_eq!(id.len(), 20);
    assert!(id.starts_with(KEY_ID_PREFIX));
    assert!(id.bytes().all(|b| KEY_ID_ALPHABET.contains(&b)));
    assert_eq!(secret.len(), 40);
    assert_ne!(generate_key_pair().1, secret);
}

#[test]
fn a_damaged_file_is_an_error_not_an_empty_store() {
    let dir = tempfile::tempdir().unwrap();
    let file = file_in(dir.path());
    fs::write(file.path(), b"{").unwrap();
    assert!(matches!(file.read(), Err(AccessKeysError::Parse { .. })));
    fs::write(file.path(), br#"{"version": 3, "keys": []}"#).unwrap();
    assert!(matches!(file.read(), Err(AccessKeysError::Version { .. })));
    fs::write(
        file.path(),
        br#"{"version": 2, "keys": [{"accessKeyId": "A", "accountId": "1", "created": "t"}]}"#,
    )
    .unwrap();
    assert!(matches!(
        file.read(),
        Err(AccessKeysError::MissingSecret { .. })
    ));
}

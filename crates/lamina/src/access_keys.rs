//! The server's access keys: the account's root key set up at start (from
//! `LAMINA_ROOT_ACCESS_KEY_ID` / `LAMINA_ROOT_SECRET_ACCESS_KEY`, else generated once and
//! printed once), and the key file read for every signed request, re-read when it changes
//! (with PostgreSQL, the keys are cached by [`crate::shared_key_cache`] instead).

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::sync::Mutex;
use std::time::SystemTime;

use anyhow::{Context, bail};
use lamina_api::{Credential, CredentialStore};
use lamina_store::{AccessKeyFile, AccessKeyRecord, AccessKeyStore};
use lamina_types::AccountId;
use lamina_types::timestamp::{format_millis, now_millis};

/// The environment variables that name the root key pair.
pub const ROOT_ACCESS_KEY_ID_ENV: &str = "LAMINA_ROOT_ACCESS_KEY_ID";
/// See [`ROOT_ACCESS_KEY_ID_ENV`].
pub const ROOT_SECRET_ACCESS_KEY_ENV: &str = "LAMINA_ROOT_SECRET_ACCESS_KEY";

/// Makes sure `account` has a root key in `store`: the one the environment names, else the
/// one stored, else a new one, whose `export` lines are printed this once (to stderr, never
/// to the log). With PostgreSQL the first node to start creates it and the others find it.
/// First seals the secrets a key file of an earlier Lamina kept in plain text.
pub async fn ensure_root_key(
    store: &dyn AccessKeyStore,
    account: &AccountId,
) -> anyhow::Result<()> {
    let sealed = store
        .seal_plaintext_secrets()
        .await
        .context("sealing the secrets of the access key file")?;
    if sealed > 0 {
        eprintln!(
            "lamina serve: encrypted the {sealed} secret(s) that {} kept in plain text",
            store.location()
        );
    }
    let id = std::env::var(ROOT_ACCESS_KEY_ID_ENV).ok();
    let secret = std::env::var(ROOT_SECRET_ACCESS_KEY_ENV).ok();
    let created = format_millis(now_millis());
    match (id, secret) {
        (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => {
            store
                .set_root(&id, &secret, account.as_str(), &created)
                .await
                .context("storing the root key")?;
            eprintln!(
                "lamina serve: root access key {id} (from {ROOT_ACCESS_KEY_ID_ENV} and \
                 {ROOT_SECRET_ACCESS_KEY_ENV})"
            );
        }
        (None, None) => {
            let (root, created) = store
                .ensure_server_root(account.as_str(), &created)
                .await
                .context("creating the root key")?;
            if created {
                eprintln!(
                    "lamina serve: created the root access key of account {account}; its \
                     secret is kept encrypted in {} and shown only now. To use it:\n\n    \
                     export AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={}\n",
                    store.location(),
                    root.access_key_id,
                    root.secret_access_key
                );
            } else {
                eprintln!(
                    "lamina serve: root access key {} (secret encrypted in {})",
                    root.access_key_id,
                    store.location()
                );
            }
        }
        _ => bail!(
            "set both {ROOT_ACCESS_KEY_ID_ENV} and {ROOT_SECRET_ACCESS_KEY_ENV} (non-empty), \
             or neither"
        ),
    }
    Ok(())
}

/// The verifier's view of `records`: each key's credential by its id (a record whose account
/// is not 12 digits is left out: no request could act for it).
pub(crate) fn credentials_of(records: Vec<AccessKeyRecord>) -> HashMap<String, Credential> {
    records
        .into_iter()
        .filter_map(|r| {
            let account = AccountId::parse(&r.account_id)?;
            let credential = Credential {
                secret: r.secret_access_key,
                account,
                session_token: None,
            };
            Some((r.access_key_id, credential))
        })
        .collect()
}

/// The key file as the verifier reads it: cached, and re-read when it is replaced, so that
/// `lamina account keys create|revoke` take effect at once.
pub struct KeyFileStore {
    file: AccessKeyFile,
    cache: Mutex<Cached>,
}

#[derive(Default)]
struct Cached {
    stamp: Option<(SystemTime, u64, u64)>,
    keys: HashMap<String, Credential>,
}

impl KeyFileStore {
    /// Reads `file` now, so that a damaged file stops the server at start.
    pub fn open(file: AccessKeyFile) -> anyhow::Result<Self> {
        let store = Self {
            file,
            cache: Mutex::new(Cached::default()),
        };
        let mut cache = Cached::default();
        store.refresh(&mut cache)?;
        *store.cache.lock().unwrap_or_else(|p| p.into_inner()) = cache;
        Ok(store)
    }

    /// What changes whenever the file is replaced: it is renamed into place, so a new inode.
    fn stamp(&self) -> Option<(SystemTime, u64, u64)> {
        let meta = std::fs::metadata(self.file.path()).ok()?;
        Some((meta.modified().ok()?, meta.len(), meta.ino()))
    }

    /// Re-reads the file if it changed since `cache` was filled.
    fn refresh(&self, cache: &mut Cached) -> anyhow::Result<()> {
        let stamp = self.stamp();
        if stamp.is_some() && stamp == cache.stamp {
            return Ok(());
        }
        cache.keys = credentials_of(self.file.read()?);
        cache.stamp = stamp;
        Ok(())
    }
}

impl CredentialStore for KeyFileStore {
    fn lookup(&self, access_key_id: &str) -> Option<Credential> {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = self.refresh(&mut cache) {
            // Keep the keys last read: a file being replaced by hand must not lock every
            // client out.
            tracing::warn!(error = %e, "could not re-read the access key file");
        }
        cache.keys.get(access_key_id).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_and_revoked_keys_are_seen_without_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let file = AccessKeyFile::in_data_dir(dir.path());
        let store = KeyFileStore::open(file.clone()).unwrap();
        assert!(store.lookup("nope").is_none());
        let key = file.create("123456789012", false, "t").unwrap();
        let found = store.lookup(&key.access_key_id).unwrap();
        assert_eq!(found.secret, key.secret_access_key);
        assert_eq!(found.account.as_str(), "123456789012");
        file.revoke(&key.access_key_id).unwrap();
        assert!(store.lookup(&key.access_key_id).is_none());
    }
}

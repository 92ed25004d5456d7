//! The access keys of a data directory: `<data>/access-keys.json`, one record per key pair
//! (access key id, secret, account, creation time, whether it is the account's root key).
//!
//! SigV4 needs the secret itself to recompute a signature, so secrets cannot be hashed: each
//! is sealed (encrypted and authenticated) under a key-encryption key that is not in this file
//! ([`secrets_key`]: `LAMINA_SECRETS_KEY`, else `<data>/secrets.key`). The file is still kept
//! readable by its owner only (mode 0600). It is replaced whole (written to a temporary file,
//! synced, then renamed), so a reader never sees half of it, and every read-modify-write holds
//! an exclusive lock ([`lock`]), so concurrent writers lose nothing. The server re-reads it
//! when it changes, so keys created or revoked by `lamina account` take effect without a
//! restart.

mod error;
pub(crate) mod generate;
pub mod lock;
pub mod secrets_key;
mod stored;

use std::collections::HashSet;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

pub use error::AccessKeysError;
pub use generate::generate_key_pair;
use generate::{new_record, random_account_id};
use lock::KeyFileLock;
use secrets_key::{SecretsKey, SecretsKeySource};
use stored::{CURRENT_VERSION, StoredDocument, StoredKey};

/// The file's name inside the data directory.
pub const ACCESS_KEYS_FILE: &str = "access-keys.json";

/// Only the owner may read or write the file.
const FILE_MODE: u32 = 0o600;

/// One key pair. Its `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKeyRecord {
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key, in plain text (it is sealed only in the file).
    pub secret_access_key: String,
    /// The 12-digit account the key acts for.
    pub account_id: String,
    /// When the key was created, as `YYYY-MM-DDThh:mm:ssZ`.
    pub created: String,
    /// Whether this is the account's root key; there is one per account.
    pub root: bool,
    /// Whether the server re-creates this key at start when it is missing (the root key of
    /// its `--account-id`, from `LAMINA_ROOT_*` or generated): such a key cannot be revoked,
    /// only replaced through the environment.
    pub server_managed: bool,
}

impl fmt::Debug for AccessKeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessKeyRecord")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("account_id", &self.account_id)
            .field("created", &self.created)
            .field("root", &self.root)
            .field("server_managed", &self.server_managed)
            .finish()
    }
}

/// The key file of one data directory.
#[derive(Debug, Clone)]
pub struct AccessKeyFile {
    path: PathBuf,
    lock_path: PathBuf,
    secrets_key: SecretsKeySource,
}

impl AccessKeyFile {
    /// The key file of `data_dir` (which need not exist yet), its secrets sealed under
    /// `LAMINA_SECRETS_KEY` when set, else under `<data_dir>/secrets.key`.
    pub fn in_data_dir(data_dir: &Path) -> Self {
        Self::with_secrets_key(data_dir, SecretsKeySource::from_env_or(data_dir))
    }

    pub(crate) fn with_secrets_key(data_dir: &Path, secrets_key: SecretsKeySource) -> Self {
        Self {
            path: data_dir.join(ACCESS_KEYS_FILE),
            lock_path: data_dir.join(lock::LOCK_FILE),
            secrets_key,
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every key, its secret opened; none when the file does not exist.
    pub fn read(&self) -> Result<Vec<AccessKeyRecord>, AccessKeysError> {
        Ok(self.read_with_plaintext()?.0)
    }

    /// Every key, and how many of them the file holds in plain text (version 1).
    fn read_with_plaintext(&self) -> Result<(Vec<AccessKeyRecord>, usize), AccessKeysError> {
        let text = match fs::read(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
            Err(source) => return Err(self.io("reading", source)),
        };
        let document: StoredDocument =
            serde_json::from_slice(&text).map_err(|source| AccessKeysError::Parse {
                path: self.path.clone(),
                source,
            })?;
        if document.version > CURRENT_VERSION {
            return Err(AccessKeysError::Version {
                path: self.path.clone(),
                version: document.version,
            });
        }
        let mut key: Option<SecretsKey> = None;
        let mut plaintext = 0;
        let mut records = Vec::with_capacity(document.keys.len());
        for stored in document.keys {
            let secret = match (&stored.sealed_secret, stored.secret_access_key) {
                (Some(sealed), _) => {
                    let key = match &mut key {
                        Some(key) => key,
                        None => key.insert(self.secrets_key.load()?.ok_or_else(|| {
                            AccessKeysError::NoSecretsKey {
                                path: self.path.clone(),
                                key_source: self.secrets_key.to_string(),
                            }
                        })?),
                    };
                    key.open(sealed, &stored.access_key_id, &stored.account_id)
                        .ok_or_else(|| AccessKeysError::Decrypt {
                            path: self.path.clone(),
                            access_key_id: stored.access_key_id.clone(),
                            key_source: self.secrets_key.to_string(),
                        })?
                }
                (None, Some(plain)) => {
                    plaintext += 1;
                    plain
                }
                (None, None) => {
                    return Err(AccessKeysError::MissingSecret {
                        path: self.path.clone(),
                        access_key_id: stored.access_key_id,
                    });
                }
            };
            records.push(AccessKeyRecord {
                server_managed: stored.server_managed.unwrap_or(stored.root),
                access_key_id: stored.access_key_id,
                secret_access_key: secret,
                account_id: stored.account_id,
                created: stored.created,
                root: stored.root,
            });
        }
        Ok((records, plaintext))
    }

    /// Replaces every key with `keys`, each secret sealed, atomically, mode 0600. The caller
    /// holds the lock.
    fn write(&self, keys: &[AccessKeyRecord]) -> Result<(), AccessKeysError> {
        let key = self.secrets_key.load_or_create()?;
        let mut stored = Vec::with_capacity(keys.len());
        for k in keys {
            stored.push(StoredKey {
                sealed_secret: Some(key.seal(
                    &k.secret_access_key,
                    &k.access_key_id,
                    &k.account_id,
                )?),
                access_key_id: k.access_key_id.clone(),
                account_id: k.account_id.clone(),
                created: k.created.clone(),
                root: k.root,
                server_managed: Some(k.server_managed),
                secret_access_key: None,
            });
        }
        let document = StoredDocument {
            version: CURRENT_VERSION,
            keys: stored,
        };
        let mut text =
            serde_json::to_vec_pretty(&document).map_err(|source| AccessKeysError::Parse {
                path: self.path.clone(),
                source,
            })?;
        text.push(b'\n');
        stored::replace_file(&self.path, &text, FILE_MODE)
            .map_err(|(action, source)| self.io(action, source))
    }

    /// Waits for the key file's lock.
    fn lock(&self) -> Result<KeyFileLock, AccessKeysError> {
        KeyFileLock::acquire(&self.lock_path)
            .map_err(|source| self.io_at("locking", &self.lock_path, source))
    }

    /// Runs `change` on the keys under the lock and writes them back when it says they
    /// changed (or when the file still holds plain-text secrets, which are sealed then).
    fn update<T>(
        &self,
        change: impl FnOnce(&mut Vec<AccessKeyRecord>) -> Result<(T, bool), AccessKeysError>,
    ) -> Result<T, AccessKeysError> {
        let _lock = self.lock()?;
        let (mut keys, plaintext) = self.read_with_plaintext()?;
        let (out, changed) = change(&mut keys)?;
        if changed || plaintext > 0 {
            self.write(&keys)?;
        }
        Ok(out)
    }

    /// Seals the secrets that a file of an earlier version keeps in plain text; gives how
    /// many there were. The server does this at start.
    pub fn seal_plaintext_secrets(&self) -> Result<usize, AccessKeysError> {
        let _lock = self.lock()?;
        let (keys, plaintext) = self.read_with_plaintext()?;
        if plaintext > 0 {
            self.write(&keys)?;
        }
        Ok(plaintext)
    }

    /// Makes `access_key_id`/`secret` the server-managed root key of `account_id` (replacing
    /// its previous root key); gives whether anything changed.
    pub fn set_root(
        &self,
        access_key_id: &str,
        secret: &str,
        account_id: &str,
        created: &str,
    ) -> Result<bool, AccessKeysError> {
        self.update(|keys| {
            let already = keys.iter().any(|k| {
                k.root
                    && k.server_managed
                    && k.account_id == account_id
                    && k.access_key_id == access_key_id
                    && k.secret_access_key == secret
            });
            if already {
                return Ok((false, false));
            }
            keys.retain(|k| {
                !(k.root && k.account_id == account_id) && k.access_key_id != access_key_id
            });
            keys.insert(
                0,
                AccessKeyRecord {
                    access_key_id: access_key_id.to_owned(),
                    secret_access_key: secret.to_owned(),
                    account_id: account_id.to_owned(),
                    created: created.to_owned(),
                    root: true,
                    server_managed: true,
                },
            );
            Ok((true, true))
        })
    }

    /// The root key of `account_id`, if it has one.
    pub fn root_of(&self, account_id: &str) -> Result<Option<AccessKeyRecord>, AccessKeysError> {
        Ok(self
            .read()?
            .into_iter()
            .find(|k| k.root && k.account_id == account_id))
    }

    /// The server-managed root key of `account_id`, created now if it has none; gives it and
    /// whether it was created (its secret is then to be shown this once).
    pub fn ensure_server_root(
        &self,
        account_id: &str,
        created: &str,
    ) -> Result<(AccessKeyRecord, bool), AccessKeysError> {
        self.update(|keys| {
            if let Some(root) = keys.iter().find(|k| k.root && k.account_id == account_id) {
                return Ok(((root.clone(), false), false));
            }
            let record = new_record(keys, account_id, true, true, created);
            keys.insert(0, record.clone());
            Ok(((record, true), true))
        })
    }

    /// Generates, stores and gives a new key pair of `account_id` (a root key when `root`,
    /// which the operator may revoke: see [`AccessKeyRecord::server_managed`]).
    pub fn create(
        &self,
        account_id: &str,
        root: bool,
        created: &str,
    ) -> Result<AccessKeyRecord, AccessKeysError> {
        self.update(|keys| {
            let record = new_record(keys, account_id, root, false, created);
            keys.push(record.clone());
            Ok((record, true))
        })
    }

    /// Creates an account: a random 12-digit id that no key uses and `reserved` does not
    /// hold, and its root key pair, which it gives.
    pub fn create_account(
        &self,
        reserved: &[&str],
        created: &str,
    ) -> Result<AccessKeyRecord, AccessKeysError> {
        self.update(|keys| {
            let used: HashSet<&str> = keys
                .iter()
                .map(|k| k.account_id.as_str())
                .chain(reserved.iter().copied())
                .collect();
            let account_id = loop {
                let candidate = random_account_id()?;
                if !used.contains(candidate.as_str()) {
                    break candidate;
                }
            };
            let record = new_record(keys, &account_id, true, false, created);
            keys.push(record.clone());
            Ok((record, true))
        })
    }

    /// Removes the key `access_key_id`; gives the removed record, `None` if there was none.
    pub fn revoke(&self, access_key_id: &str) -> Result<Option<AccessKeyRecord>, AccessKeysError> {
        self.update(|keys| {
            let Some(at) = keys.iter().position(|k| k.access_key_id == access_key_id) else {
                return Ok((None, false));
            };
            Ok((Some(keys.remove(at)), true))
        })
    }

    fn io(&self, action: &'static str, source: io::Error) -> AccessKeysError {
        self.io_at(action, &self.path, source)
    }

    fn io_at(&self, action: &'static str, path: &Path, source: io::Error) -> AccessKeysError {
        AccessKeysError::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }
}

#[cfg(test)]
mod tests;

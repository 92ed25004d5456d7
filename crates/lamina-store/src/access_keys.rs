//! The access keys of a data directory: `<data>/access-keys.json`, one record per key pair
//! (access key id, secret, account, creation time, whether it is the account's root key).
//!
//! SigV4 needs the secret itself to recompute a signature, so secrets cannot be hashed. The
//! file is kept readable by its owner only (mode 0600, in a data dir the server's user owns):
//! whoever can read it can act as any of its keys, as with `~/.aws/credentials`. It is
//! replaced whole (written to a temporary file, then renamed), so a reader never sees half
//! of it; the server re-reads it when it changes, so keys created or revoked by
//! `lamina account keys` take effect without a restart.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The file's name inside the data directory.
pub const ACCESS_KEYS_FILE: &str = "access-keys.json";

/// Only the owner may read or write the file.
const FILE_MODE: u32 = 0o600;

/// Characters of generated access key ids (as AWS's: upper-case letters and digits 2-7).
const KEY_ID_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Characters of generated secrets (as AWS's 40-character secrets).
const SECRET_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Prefix of the access key ids Lamina generates (AWS's long-term keys start with `AKIA`).
const KEY_ID_PREFIX: &str = "LKIA";

/// One key pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessKeyRecord {
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// The 12-digit account the key acts for.
    pub account_id: String,
    /// When the key was created, as `YYYY-MM-DDThh:mm:ssZ`.
    pub created: String,
    /// Whether this is the account's root key (from `LAMINA_ROOT_*` or generated at the first
    /// start); there is one per account.
    #[serde(default)]
    pub root: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct KeysDocument {
    keys: Vec<AccessKeyRecord>,
}

/// Why the key file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum AccessKeysError {
    /// Reading or writing the file failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The file is not a key document.
    #[error("{} is not a Lamina key file: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
}

/// The key file of one data directory.
#[derive(Debug, Clone)]
pub struct AccessKeyFile {
    path: PathBuf,
}

impl AccessKeyFile {
    /// The key file of `data_dir` (which need not exist yet).
    pub fn in_data_dir(data_dir: &Path) -> Self {
        Self {
            path: data_dir.join(ACCESS_KEYS_FILE),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every key; none when the file does not exist.
    pub fn read(&self) -> Result<Vec<AccessKeyRecord>, AccessKeysError> {
        let text = match fs::read(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(self.io("reading", source)),
        };
        let document: KeysDocument =
            serde_json::from_slice(&text).map_err(|source| AccessKeysError::Parse {
                path: self.path.clone(),
                source,
            })?;
        Ok(document.keys)
    }

    /// Replaces every key with `keys`, atomically, mode 0600.
    pub fn write(&self, keys: &[AccessKeyRecord]) -> Result<(), AccessKeysError> {
        let document = KeysDocument {
            keys: keys.to_vec(),
        };
        let mut text =
            serde_json::to_vec_pretty(&document).map_err(|source| AccessKeysError::Parse {
                path: self.path.clone(),
                source,
            })?;
        text.push(b'\n');
        let temporary = self.path.with_extension("json.tmp");
        let _ = fs::remove_file(&temporary);
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .open(&temporary)
            .map_err(|e| self.io("creating", e))?;
        // The mode given at creation is filtered by the umask; set it outright.
        file.set_permissions(fs::Permissions::from_mode(FILE_MODE))
            .map_err(|e| self.io("restricting", e))?;
        file.write_all(&text)
            .and_then(|()| file.sync_all())
            .map_err(|e| self.io("writing", e))?;
        fs::rename(&temporary, &self.path).map_err(|e| self.io("replacing", e))
    }

    /// Makes `access_key_id`/`secret` the root key of `account_id` (replacing its previous
    /// root key); gives whether anything changed.
    pub fn set_root(
        &self,
        access_key_id: &str,
        secret: &str,
        account_id: &str,
        created: &str,
    ) -> Result<bool, AccessKeysError> {
        let mut keys = self.read()?;
        let already = keys.iter().any(|k| {
            k.root
                && k.account_id == account_id
                && k.access_key_id == access_key_id
                && k.secret_access_key == secret
        });
        if already {
            return Ok(false);
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
            },
        );
        self.write(&keys)?;
        Ok(true)
    }

    /// The root key of `account_id`, if it has one.
    pub fn root_of(&self, account_id: &str) -> Result<Option<AccessKeyRecord>, AccessKeysError> {
        Ok(self
            .read()?
            .into_iter()
            .find(|k| k.root && k.account_id == account_id))
    }

    /// Generates, stores and gives a new key pair of `account_id`.
    pub fn create(
        &self,
        account_id: &str,
        root: bool,
        created: &str,
    ) -> Result<AccessKeyRecord, AccessKeysError> {
        let mut keys = self.read()?;
        let (access_key_id, secret_access_key) = generate_key_pair();
        let record = AccessKeyRecord {
            access_key_id,
            secret_access_key,
            account_id: account_id.to_owned(),
            created: created.to_owned(),
            root,
        };
        keys.push(record.clone());
        self.write(&keys)?;
        Ok(record)
    }

    /// Removes the key `access_key_id`; gives the removed record, `None` if there was none.
    pub fn revoke(&self, access_key_id: &str) -> Result<Option<AccessKeyRecord>, AccessKeysError> {
        let mut keys = self.read()?;
        let Some(at) = keys.iter().position(|k| k.access_key_id == access_key_id) else {
            return Ok(None);
        };
        let removed = keys.remove(at);
        self.write(&keys)?;
        Ok(Some(removed))
    }

    fn io(&self, action: &'static str, source: io::Error) -> AccessKeysError {
        AccessKeysError::Io {
            action,
            path: self.path.clone(),
            source,
        }
    }
}

/// A new random key pair: a 20-character id starting with `LKIA` and a 40-character secret,
/// from the operating system's random source (through the random bits of UUID v4s).
pub fn generate_key_pair() -> (String, String) {
    let random = |n: usize| -> Vec<u8> {
        let mut bytes = Vec::with_capacity(n + 16);
        while bytes.len() < n {
            // The low 62 bits of a v4 UUID are random (its version and variant bits are
            // higher up): take 7 bytes of them.
            let u = uuid::Uuid::new_v4().as_u128();
            bytes.extend_from_slice(&u.to_le_bytes()[..7]);
        }
        bytes.truncate(n);
        bytes
    };
    let id: String = random(16)
        .iter()
        .map(|b| char::from(KEY_ID_ALPHABET[usize::from(b & 31)]))
        .collect();
    let secret: String = random(40)
        .iter()
        .map(|b| char::from(SECRET_ALPHABET[usize::from(b & 63)]))
        .collect();
    (format!("{KEY_ID_PREFIX}{id}"), secret)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;

    const ACCOUNT: &str = "123456789012";

    #[test]
    fn keys_are_created_listed_and_revoked_in_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = AccessKeyFile::in_data_dir(dir.path());
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
    fn the_root_key_is_replaced_not_duplicated() {
        let dir = tempfile::tempdir().unwrap();
        let file = AccessKeyFile::in_data_dir(dir.path());
        assert!(file.set_root("AK1", "s1", ACCOUNT, "t").unwrap());
        assert!(!file.set_root("AK1", "s1", ACCOUNT, "t").unwrap());
        assert!(file.set_root("AK2", "s2", ACCOUNT, "t").unwrap());
        let keys = file.read().unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(file.root_of(ACCOUNT).unwrap().unwrap().access_key_id, "AK2");
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
        let file = AccessKeyFile::in_data_dir(dir.path());
        fs::write(file.path(), b"{").unwrap();
        assert!(matches!(file.read(), Err(AccessKeysError::Parse { .. })));
    }
}

//! The key-encryption key that seals the secrets of the access key file: 32 bytes from
//! `LAMINA_SECRETS_KEY` (base64) when it is set, else from `<data>/secrets.key`, which is
//! generated (mode 0400) the first time a secret is sealed.
//!
//! It is kept apart from the key file on purpose. With PostgreSQL the key records (ids,
//! accounts, sealed secrets) are in a database that every node and its backups share, while
//! this key stays on the nodes, in their environment only (`LAMINA_SECRETS_KEY`, the same on
//! every node: see [`crate::postgres::PgAccessKeys`]): reading the database alone gives no
//! secret.
//!
//! Each secret is sealed with XChaCha20-Poly1305 under a random 24-byte nonce (random nonces
//! of that size never repeat in practice), with the record's access key id and account as
//! associated data, so a sealed secret copied onto another record does not open.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// The environment variable that gives the key, as base64 of 32 bytes.
pub const SECRETS_KEY_ENV: &str = "LAMINA_SECRETS_KEY";

/// The key's file inside the data directory, when the environment gives none.
pub const SECRETS_KEY_FILE: &str = "secrets.key";

/// Bytes of the key.
const KEY_BYTES: usize = 32;

/// Bytes of a nonce (XChaCha20's extended nonce).
const NONCE_BYTES: usize = 24;

/// Only the owner may read the key file, and nobody writes it after its creation.
const KEY_FILE_MODE: u32 = 0o400;

/// Bound into every sealed secret's associated data, so the format can change later.
const ASSOCIATED_DATA_PREFIX: &[u8] = b"lamina-access-key-secret-v1";

/// Where the key comes from.
#[derive(Clone)]
pub(crate) enum SecretsKeySource {
    /// The value of `LAMINA_SECRETS_KEY` (base64).
    Env(String),
    /// `<data>/secrets.key`, created when first needed.
    File(PathBuf),
}

impl fmt::Debug for SecretsKeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key itself is never shown.
        match self {
            Self::Env(_) => write!(f, "Env({SECRETS_KEY_ENV})"),
            Self::File(path) => f.debug_tuple("File").field(path).finish(),
        }
    }
}

impl fmt::Display for SecretsKeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env(_) => f.write_str(SECRETS_KEY_ENV),
            Self::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Why the key could not be had, or a secret not sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum SecretsKeyError {
    /// The key is not base64 of 32 bytes.
    #[error("the secrets key in {source_name} is not base64 of {KEY_BYTES} bytes")]
    Malformed {
        /// Where it came from.
        source_name: String,
    },
    /// Reading or creating the key file failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The key file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The cipher refused the secret (only messages of gigabytes are refused).
    #[error("a secret could not be encrypted")]
    Seal,
    /// The operating system gave no random bytes.
    #[error("no random bytes from the operating system: {0}")]
    Random(getrandom::Error),
}

/// The key, ready to seal and open secrets.
pub(crate) struct SecretsKey {
    cipher: XChaCha20Poly1305,
}

impl fmt::Debug for SecretsKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretsKey(..)")
    }
}

impl SecretsKeySource {
    /// `LAMINA_SECRETS_KEY` when it is set and not empty, else `<data_dir>/secrets.key`.
    pub(crate) fn from_env_or(data_dir: &Path) -> Self {
        Self::from_env().unwrap_or_else(|| Self::File(data_dir.join(SECRETS_KEY_FILE)))
    }

    /// `LAMINA_SECRETS_KEY` when it is set and not empty: the only source a database shared by
    /// several nodes may use.
    pub(crate) fn from_env() -> Option<Self> {
        match std::env::var(SECRETS_KEY_ENV) {
            Ok(value) if !value.trim().is_empty() => Some(Self::Env(value)),
            _ => None,
        }
    }

    /// The key, `None` when it comes from a file that does not exist yet.
    pub(crate) fn load(&self) -> Result<Option<SecretsKey>, SecretsKeyError> {
        match self {
            Self::Env(text) => self.parse(text).map(Some),
            Self::File(path) => match fs::read_to_string(path) {
                Ok(text) => self.parse(&text).map(Some),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(source) => Err(SecretsKeyError::Io {
                    action: "reading",
                    path: path.clone(),
                    source,
                }),
            },
        }
    }

    /// The key, generating its file first when there is none. Two processes doing this at
    /// once agree on one key: the file appears whole, by a link that fails when it exists.
    pub(crate) fn load_or_create(&self) -> Result<SecretsKey, SecretsKeyError> {
        if let Some(key) = self.load()? {
            return Ok(key);
        }
        let Self::File(path) = self else {
            // `load` gives a key or an error for the environment.
            return Err(SecretsKeyError::Malformed {
                source_name: self.to_string(),
            });
        };
        let mut bytes = [0u8; KEY_BYTES];
        getrandom::fill(&mut bytes).map_err(SecretsKeyError::Random)?;
        create_key_file(path, &STANDARD.encode(bytes))?;
        // Whoever won the race, the file now holds the key everyone uses.
        self.load()?.ok_or_else(|| SecretsKeyError::Io {
            action: "reading",
            path: path.clone(),
            source: io::ErrorKind::NotFound.into(),
        })
    }

    fn parse(&self, text: &str) -> Result<SecretsKey, SecretsKeyError> {
        let malformed = || SecretsKeyError::Malformed {
            source_name: self.to_string(),
        };
        let bytes = STANDARD.decode(text.trim()).map_err(|_| malformed())?;
        let cipher = XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| malformed())?;
        Ok(SecretsKey { cipher })
    }
}

/// Writes `text` to a private temporary file, then links it to `path` unless `path` exists.
fn create_key_file(path: &Path, text: &str) -> Result<(), SecretsKeyError> {
    let io = |action: &'static str, path: &Path| {
        let path = path.to_owned();
        move |source| SecretsKeyError::Io {
            action,
            path,
            source,
        }
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut temporary = tempfile::Builder::new()
        .prefix(".secrets.key.")
        .permissions(fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(io("creating a file in", dir))?;
    let file = temporary.as_file_mut();
    file.write_all(format!("{text}\n").as_bytes())
        .and_then(|()| file.set_permissions(fs::Permissions::from_mode(KEY_FILE_MODE)))
        .and_then(|()| file.sync_all())
        .map_err(io("writing", temporary.path()))?;
    match fs::hard_link(temporary.path(), path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        Err(source) => return Err(io("creating", path)(source)),
    }
    // The temporary name goes away with `temporary`; make the new name durable.
    super::stored::sync_dir(dir).map_err(io("syncing", dir))
}

impl SecretsKey {
    /// `secret` sealed for the record of `access_key_id` in `account_id`: base64 of the
    /// nonce followed by the ciphertext and its tag.
    pub(crate) fn seal(
        &self,
        secret: &str,
        access_key_id: &str,
        account_id: &str,
    ) -> Result<String, SecretsKeyError> {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).map_err(SecretsKeyError::Random)?;
        let aad = associated_data(access_key_id, account_id);
        let payload = Payload {
            msg: secret.as_bytes(),
            aad: &aad,
        };
        // Encryption fails only for messages of gigabytes; a secret is 40 bytes.
        let sealed = self
            .cipher
            .encrypt(&XNonce::from(nonce), payload)
            .map_err(|_| SecretsKeyError::Seal)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(STANDARD.encode(out))
    }

    /// The secret `sealed` holds, `None` when it does not open under this key for this
    /// record (another key, another record, or altered).
    pub(crate) fn open(
        &self,
        sealed: &str,
        access_key_id: &str,
        account_id: &str,
    ) -> Option<String> {
        let bytes = STANDARD.decode(sealed).ok()?;
        if bytes.len() < NONCE_BYTES {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let nonce = XNonce::try_from(nonce).ok()?;
        let aad = associated_data(access_key_id, account_id);
        let payload = Payload {
            msg: ciphertext,
            aad: &aad,
        };
        let plain = self.cipher.decrypt(&nonce, payload).ok()?;
        String::from_utf8(plain).ok()
    }
}

/// What a sealed secret is bound to: its record's access key id and account, each
/// terminated so that no two records give the same bytes.
fn associated_data(access_key_id: &str, account_id: &str) -> Vec<u8> {
    let mut aad = ASSOCIATED_DATA_PREFIX.to_vec();
    for part in [access_key_id, account_id] {
        aad.push(0);
        aad.extend_from_slice(part.as_bytes());
    }
    aad
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;

    fn key_in(dir: &Path) -> SecretsKeySource {
        SecretsKeySource::File(dir.join(SECRETS_KEY_FILE))
    }

    #[test]
    fn a_sealed_secret_opens_only_for_its_own_record_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let key = key_in(dir.path()).load_or_create().unwrap();
        let sealed = key.seal("s3cret", "AK1", "123456789012").unwrap();
        assert!(!sealed.contains("s3cret"));
        assert_eq!(
            key.open(&sealed, "AK1", "123456789012").as_deref(),
            Some("s3cret")
        );
        assert_eq!(key.open(&sealed, "AK2", "123456789012"), None);
        assert_eq!(key.open(&sealed, "AK1", "210987654321"), None);
        // Random nonces: the same secret never seals the same way twice.
        assert_ne!(sealed, key.seal("s3cret", "AK1", "123456789012").unwrap());
        let other = tempfile::tempdir().unwrap();
        let other_key = key_in(other.path()).load_or_create().unwrap();
        assert_eq!(other_key.open(&sealed, "AK1", "123456789012"), None);
        assert_eq!(key.open("not base64!", "AK1", "123456789012"), None);
        assert_eq!(key.open("AAAA", "AK1", "123456789012"), None);
    }

    #[test]
    fn the_key_file_is_created_once_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let source = key_in(dir.path());
        assert!(source.load().unwrap().is_none());
        let first = source.load_or_create().unwrap();
        let path = dir.path().join(SECRETS_KEY_FILE);
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, KEY_FILE_MODE);
        let text = fs::read_to_string(&path).unwrap();
        let sealed = first.seal("x", "AK", "123456789012").unwrap();
        let again = source.load_or_create().unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), text);
        assert_eq!(
            again.open(&sealed, "AK", "123456789012").as_deref(),
            Some("x")
        );
        // Nothing but the key file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        // The same key given in the environment's form opens it too.
        let env = SecretsKeySource::Env(text.trim().to_owned());
        let from_env = env.load().unwrap().unwrap();
        assert_eq!(
            from_env.open(&sealed, "AK", "123456789012").as_deref(),
            Some("x")
        );
    }

    #[test]
    fn a_malformed_key_is_an_error_that_never_shows_the_key() {
        let env = SecretsKeySource::Env("c2hvcnQ=".into());
        let err = env.load().unwrap_err();
        assert!(matches!(err, SecretsKeyError::Malformed { .. }));
        assert!(err.to_string().contains(SECRETS_KEY_ENV), "{err}");
        assert!(!err.to_string().contains("c2hvcnQ="), "{err}");
        assert!(!format!("{env:?}").contains("c2hvcnQ="));
    }
}

//! Why the key file could not be read or written.

use std::io;
use std::path::PathBuf;

use super::secrets_key::SecretsKeyError;

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
    /// The file was written by a newer Lamina.
    #[error("{} is a key file of version {version}, newer than this Lamina reads", path.display())]
    Version {
        /// The file.
        path: PathBuf,
        /// Its version.
        version: u32,
    },
    /// A record holds no secret, sealed or plain.
    #[error("access key {access_key_id} in {} has no secret", path.display())]
    MissingSecret {
        /// The file.
        path: PathBuf,
        /// The record's key id.
        access_key_id: String,
    },
    /// The file holds sealed secrets but there is no key to open them.
    #[error(
        "{} holds encrypted secrets but there is no secrets key at {key_source}: set \
         LAMINA_SECRETS_KEY to the key they were sealed with, or restore that file",
        path.display()
    )]
    NoSecretsKey {
        /// The file.
        path: PathBuf,
        /// Where the key was looked for.
        key_source: String,
    },
    /// A sealed secret does not open.
    #[error(
        "the secret of access key {access_key_id} in {} does not decrypt with the secrets key \
         from {key_source}: that is not the key it was sealed with, or the file was altered",
        path.display()
    )]
    Decrypt {
        /// The file.
        path: PathBuf,
        /// The record's key id.
        access_key_id: String,
        /// Where the key came from.
        key_source: String,
    },
    /// The key-encryption key could not be had, or gave no random bytes.
    #[error(transparent)]
    SecretsKey(#[from] SecretsKeyError),
    /// The keys are in PostgreSQL but `LAMINA_SECRETS_KEY` is not set: a key file of one
    /// node's data directory would seal secrets that no other node can open.
    #[error(
        "LAMINA_SECRETS_KEY is not set: with a PostgreSQL database every node (and `lamina \
         account --database`) must seal and open access key secrets with one shared key; \
         generate one with `head -c 32 /dev/urandom | base64` and give it to all of them"
    )]
    SharedSecretsKeyRequired,
    /// A sealed secret in the database does not open.
    #[error(
        "the secret of access key {access_key_id} in the database does not decrypt with \
         {key_source}: every node must be given the key the others sealed with, or the row \
         was altered"
    )]
    StoredDecrypt {
        /// The row's key id.
        access_key_id: String,
        /// Where the key came from.
        key_source: String,
    },
    /// The database refused a statement or could not be reached.
    #[error("the access keys in the database: {0}")]
    Database(#[from] sqlx::Error),
}

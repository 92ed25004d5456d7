//! The contract of the accounts and access keys SigV4 checks, whichever engine keeps them: the
//! data directory's key file ([`AccessKeyFile`], with SQLite), or a table of the PostgreSQL
//! database that several nodes share ([`crate::postgres::PgAccessKeys`]).
//!
//! An account exists while it has keys: an account id is the `account_id` of its keys. Both
//! engines keep each secret sealed under the secrets key ([`crate::access_keys::secrets_key`]),
//! and both refuse to write under a key that does not open the secrets already stored.

use crate::access_keys::{AccessKeyFile, AccessKeyRecord, AccessKeysError};

/// Accounts and their access key pairs. Timestamps (`created`) are given by the caller as
/// `YYYY-MM-DDThh:mm:ssZ`.
#[async_trait::async_trait]
pub trait AccessKeyStore: Send + Sync {
    /// Where the keys are, for messages: the key file's path, or "the PostgreSQL database".
    fn location(&self) -> String;

    /// Every key, its secret opened, in creation order.
    async fn read(&self) -> Result<Vec<AccessKeyRecord>, AccessKeysError>;

    /// The key `access_key_id`, `None` when there is none.
    async fn lookup(&self, access_key_id: &str)
    -> Result<Option<AccessKeyRecord>, AccessKeysError>;

    /// The root key of `account_id`, if it has one.
    async fn root_of(&self, account_id: &str) -> Result<Option<AccessKeyRecord>, AccessKeysError>;

    /// Seals the secrets an older store kept in plain text; gives how many there were (only
    /// key files of version 1 have any).
    async fn seal_plaintext_secrets(&self) -> Result<usize, AccessKeysError>;

    /// Makes `access_key_id`/`secret` the server-managed root key of `account_id`, replacing
    /// its previous root key (and any key of that id); gives whether anything changed.
    async fn set_root(
        &self,
        access_key_id: &str,
        secret: &str,
        account_id: &str,
        created: &str,
    ) -> Result<bool, AccessKeysError>;

    /// The root key of `account_id`, created now as a server-managed one if it has none;
    /// gives it and whether it was created (its secret is then to be shown this once). Two
    /// callers racing, in one process or on two nodes, get the same key: one creates it.
    async fn ensure_server_root(
        &self,
        account_id: &str,
        created: &str,
    ) -> Result<(AccessKeyRecord, bool), AccessKeysError>;

    /// Generates, stores and gives a new key pair of `account_id` (a root key when `root`,
    /// which the operator may revoke: see [`AccessKeyRecord::server_managed`]).
    async fn create(
        &self,
        account_id: &str,
        root: bool,
        created: &str,
    ) -> Result<AccessKeyRecord, AccessKeysError>;

    /// Creates an account: a random 12-digit id that no key uses and `reserved` does not
    /// hold, and its root key pair, which it gives.
    async fn create_account(
        &self,
        reserved: &[&str],
        created: &str,
    ) -> Result<AccessKeyRecord, AccessKeysError>;

    /// Removes the key `access_key_id`; gives the removed record, `None` if there was none.
    async fn revoke(&self, access_key_id: &str)
    -> Result<Option<AccessKeyRecord>, AccessKeysError>;
}

/// The key file. Its operations are short file reads and writes under an `flock` that other
/// writers hold for milliseconds, so they run on the calling task, as they did before the
/// trait existed.
#[async_trait::async_trait]
impl AccessKeyStore for AccessKeyFile {
    fn location(&self) -> String {
        self.path().display().to_string()
    }

    async fn read(&self) -> Result<Vec<AccessKeyRecord>, AccessKeysError> {
        AccessKeyFile::read(self)
    }

    async fn lookup(
        &self,
        access_key_id: &str,
    ) -> Result<Option<AccessKeyRecord>, AccessKeysError> {
        Ok(AccessKeyFile::read(self)?
            .into_iter()
            .find(|k| k.access_key_id == access_key_id))
    }

    async fn root_of(&self, account_id: &str) -> Result<Option<AccessKeyRecord>, AccessKeysError> {
        AccessKeyFile::root_of(self, account_id)
    }

    async fn seal_plaintext_secrets(&self) -> Result<usize, AccessKeysError> {
        AccessKeyFile::seal_plaintext_secrets(self)
    }

    async fn set_root(
        &self,
        access_key_id: &str,
        secret: &str,
        account_id: &str,
        created: &str,
    ) -> Result<bool, AccessKeysError> {
        AccessKeyFile::set_root(self, access_key_id, secret, account_id, created)
    }

    async fn ensure_server_root(
        &self,
        account_id: &str,
        created: &str,
    ) -> Result<(AccessKeyRecord, bool), AccessKeysError> {
        AccessKeyFile::ensure_server_root(self, account_id, created)
    }

    async fn create(
        &self,
        account_id: &str,
        root: bool,
        created: &str,
    ) -> Result<AccessKeyRecord, AccessKeysError> {
        AccessKeyFile::create(self, account_id, root, created)
    }

    async fn create_account(
        &self,
        reserved: &[&str],
        created: &str,
    ) -> Result<AccessKeyRecord, AccessKeysError> {
        AccessKeyFile::create_account(self, reserved, created)
    }

    async fn revoke(
        &self,
        access_key_id: &str,
    ) -> Result<Option<AccessKeyRecord>, AccessKeysError> {
        AccessKeyFile::revoke(self, access_key_id)
    }
}

#[cfg(test)]
mod tests;

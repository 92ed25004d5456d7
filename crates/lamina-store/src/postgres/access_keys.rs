//! [`AccessKeyStore`] on PostgreSQL: the accounts and access keys every node of a cluster
//! shares, in the `access_keys` table.
//!
//! Secrets are sealed as in the key file, under `LAMINA_SECRETS_KEY` only: the key must be
//! the same on every node, and it is kept out of the database on purpose, so a dump or a
//! backup of the database alone gives no secret (a per-node `secrets.key` would make the
//! secrets one node seals unreadable on the others, so it is never used here).
//!
//! Writers take a transaction-level advisory lock, as the key file's writers take its
//! `flock`: two nodes starting at once on an empty table do not both create a root key (the
//! partial unique index on `account WHERE root` would refuse the second anyway).

use std::fmt;

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};

use super::PgStore;
use crate::access_key_store::AccessKeyStore;
use crate::access_keys::generate::random_account_id;
use crate::access_keys::secrets_key::{SecretsKey, SecretsKeySource};
use crate::access_keys::{AccessKeyRecord, AccessKeysError, generate_key_pair};

/// The migration step (5) that creates the table. `position` orders keys by creation, as the
/// key file lists them.
pub(super) const ACCESS_KEYS_SCHEMA: &str = r#"
CREATE TABLE access_keys (
    access_key_id TEXT COLLATE "C" PRIMARY KEY,
    account TEXT NOT NULL,
    sealed_secret TEXT NOT NULL,
    created TEXT NOT NULL,
    root BOOLEAN NOT NULL,
    server_managed BOOLEAN NOT NULL,
    position BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE UNIQUE INDEX access_keys_one_root_per_account ON access_keys (account) WHERE root;
"#;

/// The advisory lock key of key writers ("keys" in ASCII), apart from the migration's.
const ACCESS_KEYS_LOCK: i64 = 0x6b65_7973;

macro_rules! key_columns {
    () => {
        "access_key_id, account, sealed_secret, created, root, server_managed"
    };
}

/// The access keys of a PostgreSQL database, sealed under one secrets key.
pub struct PgAccessKeys {
    pool: PgPool,
    secrets_key: SecretsKey,
    /// Where the secrets key came from, for messages (never the key itself).
    key_source: String,
}

impl fmt::Debug for PgAccessKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgAccessKeys")
            .field("key_source", &self.key_source)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Checks that the shared secrets key is given (and well formed) before anything touches
    /// the database: a node without it would refuse to start only after migrating.
    pub fn require_shared_secrets_key() -> Result<(), AccessKeysError> {
        let source =
            SecretsKeySource::from_env().ok_or(AccessKeysError::SharedSecretsKeyRequired)?;
        source
            .load()?
            .map(drop)
            .ok_or(AccessKeysError::SharedSecretsKeyRequired)
    }

    /// The accounts and access keys in this database, their secrets sealed under
    /// `LAMINA_SECRETS_KEY`, which must be set (and the same on every node).
    pub fn access_keys(&self) -> Result<PgAccessKeys, AccessKeysError> {
        let source =
            SecretsKeySource::from_env().ok_or(AccessKeysError::SharedSecretsKeyRequired)?;
        PgAccessKeys::sealed_with(self.pool.clone(), &source)
    }

    /// The access keys sealed under `source` (tests choose their key).
    #[cfg(test)]
    pub(crate) fn access_keys_sealed_with(
        &self,
        source: &SecretsKeySource,
    ) -> Result<PgAccessKeys, AccessKeysError> {
        PgAccessKeys::sealed_with(self.pool.clone(), source)
    }
}

impl PgAccessKeys {
    fn sealed_with(pool: PgPool, source: &SecretsKeySource) -> Result<Self, AccessKeysError> {
        let secrets_key = source
            .load()?
            .ok_or(AccessKeysError::SharedSecretsKeyRequired)?;
        Ok(Self {
            pool,
            secrets_key,
            key_source: source.to_string(),
        })
    }

    /// A row as a record, its secret opened.
    fn record(&self, row: &PgRow) -> Result<AccessKeyRecord, AccessKeysError> {
        let access_key_id: String = row.try_get("access_key_id")?;
        let account_id: String = row.try_get("account")?;
        let sealed: String = row.try_get("sealed_secret")?;
        let secret_access_key = self
            .secrets_key
            .open(&sealed, &access_key_id, &account_id)
            .ok_or_else(|| AccessKeysError::StoredDecrypt {
                access_key_id: access_key_id.clone(),
                key_source: self.key_source.clone(),
            })?;
        Ok(AccessKeyRecord {
            access_key_id,
            secret_access_key,
            account_id,
            created: row.try_get("created")?,
            root: row.try_get("root")?,
            server_managed: row.try_get("server_managed")?,
        })
    }

    /// Refuses to write under a secrets key that does not open the secrets already stored
    /// (one row stands for all: every writer checks this), rather than sealing new secrets
    /// with a second key that the other nodes do not have.
    async fn check_secrets_key(&self, conn: &mut PgConnection) -> Result<(), AccessKeysError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            key_columns!(),
            " FROM access_keys ORDER BY position LIMIT 1"
        ))
        .fetch_optional(&mut *conn)
        .await?;
        row.as_ref().map(|row| self.record(row)).transpose()?;
        Ok(())
    }

    /// Waits for the writers' lock, which the transaction holds until it ends.
    async fn lock(conn: &mut PgConnection) -> Result<(), AccessKeysError> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(ACCESS_KEYS_LOCK)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// Stores `record`, its secret sealed; `false`, writing nothing, when its id is taken.
    async fn insert(
        &self,
        conn: &mut PgConnection,
        record: &AccessKeyRecord,
    ) -> Result<bool, AccessKeysError> {
        let sealed = self.secrets_key.seal(
            &record.secret_access_key,
            &record.access_key_id,
            &record.account_id,
        )?;
        let done = sqlx::query(concat!(
            "INSERT INTO access_keys (",
            key_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (access_key_id) DO NOTHING"
        ))
        .bind(&record.access_key_id)
        .bind(&record.account_id)
        .bind(sealed)
        .bind(&record.created)
        .bind(record.root)
        .bind(record.server_managed)
        .execute(&mut *conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores a new generated key pair of `account_id` (a fresh id if one is taken).
    async fn insert_new(
        &self,
        conn: &mut PgConnection,
        account_id: &str,
        root: bool,
        server_managed: bool,
        created: &str,
    ) -> Result<AccessKeyRecord, AccessKeysError> {
        loop {
            let (access_key_id, secret_access_key) = generate_key_pair();
            let record = AccessKeyRecord {
                access_key_id,
                secret_access_key,
                account_id: account_id.to_owned(),
                created: created.to_owned(),
                root,
                server_managed,
            };
            if self.insert(conn, &record).await? {
                return Ok(record);
            }
        }
    }

    async fn root_in(
        &self,
        conn: &mut PgConnection,
        account_id: &str,
    ) -> Result<Option<AccessKeyRecord>, AccessKeysError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            key_columns!(),
            " FROM access_keys WHERE account = $1 AND root"
        ))
        .bind(account_id)
        .fetch_optional(&mut *conn)
        .await?;
        row.as_ref().map(|row| self.record(row)).transpose()
    }
}

#[async_trait::async_trait]
impl AccessKeyStore for PgAccessKeys {
    fn location(&self) -> String {
        "the PostgreSQL database".to_owned()
    }

    async fn read(&self) -> Result<Vec<AccessKeyRecord>, AccessKeysError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            key_columns!(),
            " FROM access_keys ORDER BY position"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| self.record(row)).collect()
    }

    async fn lookup(
        &self,
        access_key_id: &str,
    ) -> Result<Option<AccessKeyRecord>, AccessKeysError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            key_columns!(),
            " FROM access_keys WHERE access_key_id = $1"
        ))
        .bind(access_key_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(|row| self.record(row)).transpose()
    }

    async fn root_of(&self, account_id: &str) -> Result<Option<AccessKeyRecord>, AccessKeysError> {
        let mut conn = self.pool.acquire().await?;
        self.root_in(&mut conn, account_id).await
    }

    async fn seal_plaintext_secrets(&self) -> Result<usize, AccessKeysError> {
        // The table never held a secret in plain text.
        Ok(0)
    }

    async fn set_root(
        &self,
        access_key_id: &str,
        secret: &str,
        account_id: &str,
        created: &str,
    ) -> Result<bool, AccessKeysError> {
        let mut tx = self.pool.begin().await?;
        Self::lock(&mut tx).await?;
        self.check_secrets_key(&mut tx).await?;
        if let Some(root) = self.root_in(&mut tx, account_id).await?
            && root.server_managed
            && root.access_key_id == access_key_id
            && root.secret_access_key == secret
        {
            // Every node of a cluster starts with the same root key: only the first writes.
            return Ok(false);
        }
        sqlx::query("DELETE FROM access_keys WHERE (account = $1 AND root) OR access_key_id = $2")
            .bind(account_id)
            .bind(access_key_id)
            .execute(&mut *tx)
            .await?;
        let record = AccessKeyRecord {
            access_key_id: access_key_id.to_owned(),
            secret_access_key: secret.to_owned(),
            account_id: account_id.to_owned(),
            created: created.to_owned(),
            root: true,
            server_managed: true,
        };
        // Under the lock, after the delete, the id is free.
        self.insert(&mut tx, &record).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn ensure_server_root(
        &self,
        account_id: &str,
        created: &str,
    ) -> Result<(AccessKeyRecord, bool), AccessKeysError> {
        let mut tx = self.pool.begin().await?;
        Self::lock(&mut tx).await?;
        if let Some(root) = self.root_in(&mut tx, account_id).await? {
            return Ok((root, false));
        }
        self.check_secrets_key(&mut tx).await?;
        let root = self
            .insert_new(&mut tx, account_id, true, true, created)
            .await?;
        tx.commit().await?;
        Ok((root, true))
    }

    async fn create(
        &self,
        account_id: &str,
        root: bool,
        created: &str,
    ) -> Result<AccessKeyRecord, AccessKeysError> {
        let mut tx = self.pool.begin().await?;
        Self::lock(&mut tx).await?;
        self.check_secrets_key(&mut tx).await?;
        let record = self
            .insert_new(&mut tx, account_id, root, false, created)
            .await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn create_account(
        &self,
        reserved: &[&str],
        created: &str,
    ) -> Result<AccessKeyRecord, AccessKeysError> {
        let mut tx = self.pool.begin().await?;
        Self::lock(&mut tx).await?;
        self.check_secrets_key(&mut tx).await?;
        let account_id = loop {
            let candidate = random_account_id()?;
            if reserved.contains(&candidate.as_str()) {
                continue;
            }
            let used: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM access_keys WHERE account = $1)")
                    .bind(&candidate)
                    .fetch_one(&mut *tx)
                    .await?;
            if !used {
                break candidate;
            }
        };
        let record = self
            .insert_new(&mut tx, &account_id, true, false, created)
            .await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn revoke(
        &self,
        access_key_id: &str,
    ) -> Result<Option<AccessKeyRecord>, AccessKeysError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(concat!(
            "DELETE FROM access_keys WHERE access_key_id = $1 RETURNING ",
            key_columns!()
        ))
        .bind(access_key_id)
        .fetch_optional(&mut *tx)
        .await?;
        // A key that does not open is not removed: the caller holds the wrong secrets key.
        let record = row.as_ref().map(|row| self.record(row)).transpose()?;
        tx.commit().await?;
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use sqlx::Executor;

    use crate::test_db::TestDb;

    /// The lock keeps writers from creating a second root key; the index would refuse one
    /// anyway, should a writer ever skip the lock.
    #[tokio::test]
    #[ignore = "needs LAMINA_TEST_POSTGRES_URL (scripts/test sets it)"]
    async fn the_table_holds_one_root_key_per_account() {
        let db = TestDb::postgres().await;
        // Opening a store migrates the schema.
        db.metadata().await;
        let mut conn = db.pg_connection().await;
        let insert = |id: &str, root: bool| {
            format!(
                "INSERT INTO access_keys (access_key_id, account, sealed_secret, created, root, \
                 server_managed) VALUES ('{id}', '123456789012', 'x', 't', {root}, FALSE)"
            )
        };
        conn.execute(sqlx::AssertSqlSafe(insert("AK1", true)))
            .await
            .unwrap();
        conn.execute(sqlx::AssertSqlSafe(insert("AK2", false)))
            .await
            .unwrap();
        let second_root = conn.execute(sqlx::AssertSqlSafe(insert("AK3", true))).await;
        assert!(second_root.is_err(), "a second root key was stored");
    }
}

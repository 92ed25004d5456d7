//! The embedded [`MetadataStore`]: SQLite in WAL mode with full fsync, one writer connection
//! (so write transactions never deadlock on lock upgrades) and a small pool of readers.

use std::path::Path;
use std::str::FromStr;

use lamina_types::layer::{Digest, LayerPolicy, LayerVersionRecord};
use lamina_types::{AccountId, LayerName, Scope};
use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::layer_json::{list_to_json, statements_from_json, statements_to_json};
use crate::metadata::{LayerVersionFilter, MetadataStore, NewLayerVersion, StoreError};
use crate::rows::layer_version;

mod event_invoke;
mod events;
mod function_access;
mod function_urls;
mod functions;
mod log_retention;
mod migrate;
mod nodes;
mod provisioned;
mod settings;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS layers (
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    last_version INTEGER NOT NULL,
    PRIMARY KEY (region, name)
);
CREATE TABLE IF NOT EXISTS layer_versions (
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    description TEXT NOT NULL,
    created_millis INTEGER NOT NULL,
    compatible_runtimes TEXT,
    compatible_architectures TEXT,
    license_info TEXT,
    code_sha256 TEXT NOT NULL,
    code_size INTEGER NOT NULL,
    unzipped_size INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    policy_revision TEXT NOT NULL DEFAULT '',
    policy_statements TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (region, name, version)
);
CREATE INDEX IF NOT EXISTS layer_versions_by_digest ON layer_versions (code_sha256);
CREATE TABLE IF NOT EXISTS server_settings (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
";

// Macros rather than consts so every statement is one `&'static str` built by `concat!`:
// no SQL is ever assembled at run time.
macro_rules! version_columns {
    () => {
        "account, region, name, version, description, created_millis, compatible_runtimes, \
         compatible_architectures, license_info, code_sha256, code_size, unzipped_size"
    };
}

/// Keeps rows whose compatible lists contain the runtime bound at ?1 and the architecture
/// bound at ?2 (either may be NULL for "no filter").
macro_rules! filter_sql {
    () => {
        "(?1 IS NULL OR EXISTS (SELECT 1 FROM json_each(compatible_runtimes) WHERE value = ?1)) \
         AND (?2 IS NULL OR EXISTS \
         (SELECT 1 FROM json_each(compatible_architectures) WHERE value = ?2))"
    };
}

/// SQLite-backed metadata in `<data dir>/lamina.db`. Clones share the pools.
#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    readers: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date. Rows
    /// from before accounts existed become `legacy_account`'s (the server's default account).
    pub async fn open(path: &Path, legacy_account: &AccountId) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(10));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        migrate::migrate(&writer, legacy_account).await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self { writer, readers })
    }

    /// Every runtime a function version names (published versions and `$LATEST`, in every
    /// account), sorted: what a starting server prepares for.
    pub async fn runtimes_in_use(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT json_extract(config, '$.runtime') AS runtime \
             FROM function_versions WHERE runtime IS NOT NULL ORDER BY runtime",
        )
        .fetch_all(&self.readers)
        .await?)
    }
}

fn corrupt(reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        table: "layer_versions",
        reason: reason.to_string(),
    }
}

fn to_i64(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(corrupt)
}

#[async_trait::async_trait]
impl MetadataStore for SqliteStore {
    async fn insert_layer_version(
        &self,
        new: NewLayerVersion,
    ) -> Result<LayerVersionRecord, StoreError> {
        let mut tx = self.writer.begin().await?;
        let version: i64 = sqlx::query_scalar(
            "INSERT INTO layers (account, region, name, last_version) VALUES (?1, ?2, ?3, 1)
             ON CONFLICT (account, region, name) DO UPDATE SET last_version = last_version + 1
             RETURNING last_version",
        )
        .bind(new.scope.account.as_str())
        .bind(new.scope.region.as_str())
        .bind(new.name.as_str())
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(concat!(
            "INSERT INTO layer_versions (",
            version_columns!(),
            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
        ))
        .bind(new.scope.account.as_str())
        .bind(new.scope.region.as_str())
        .bind(new.name.as_str())
        .bind(version)
        .bind(&new.description)
        .bind(new.created_millis)
        .bind(list_to_json(&new.compatible_runtimes))
        .bind(list_to_json(&new.compatible_architectures))
        .bind(&new.license_info)
        .bind(new.code_sha256.to_hex())
        .bind(to_i64(new.code_size)?)
        .bind(to_i64(new.unzipped_size)?)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(LayerVersionRecord {
            scope: new.scope,
            name: new.name,
            version,
            description: new.description,
            created_millis: new.created_millis,
            compatible_runtimes: new.compatible_runtimes,
            compatible_architectures: new.compatible_architectures,
            license_info: new.license_info,
            code_sha256: new.code_sha256,
            code_size: new.code_size,
            unzipped_size: new.unzipped_size,
        })
    }

    async fn layer_version(
        &self,
        scope: &Scope,
        name: &LayerName,
        version: i64,
    ) -> Result<Option<LayerVersionRecord>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            version_columns!(),
            " FROM layer_versions WHERE account = ?1 AND region = ?2 AND name = ?3 \
             AND version = ?4 AND deleted = 0"
        ))
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(name.as_str())
        .bind(version)
        .fetch_optional(&self.readers)
        .await?;
        row.as_ref().map(layer_version).transpose()
    }

    async fn layer_versions(
        &self,
        scope: &Scope,
        name: &LayerName,
        filter: &LayerVersionFilter,
        below: Option<i64>,
        limit: u32,
    ) -> Result<Vec<LayerVersionRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            version_columns!(),
            " FROM layer_versions WHERE account = ?3 AND region = ?4 AND name = ?5 \
             AND deleted = 0 AND (?6 IS NULL OR version < ?6) AND ",
            filter_sql!(),
            " ORDER BY version DESC LIMIT ?7"
        ))
        .bind(filter.runtime.as_deref())
        .bind(filter.architecture.as_deref())
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(name.as_str())
        .bind(below)
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(layer_version).collect()
    }

    async fn latest_layer_versions(
        &self,
        scope: &Scope,
        filter: &LayerVersionFilter,
        after: Option<&LayerName>,
        limit: u32,
    ) -> Result<Vec<LayerVersionRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            version_columns!(),
            " FROM layer_versions WHERE account = ?3 AND region = ?4 AND (name, version) IN (\
             SELECT name, MAX(version) FROM layer_versions \
             WHERE account = ?3 AND region = ?4 AND deleted = 0 AND (?5 IS NULL OR name > ?5) \
             AND ",
            filter_sql!(),
            " GROUP BY name ORDER BY name LIMIT ?6) ORDER BY name"
        ))
        .bind(filter.runtime.as_deref())
        .bind(filter.architecture.as_deref())
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(after.map(LayerName::as_str))
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(layer_version).collect()
    }

    async fn delete_layer_version(
        &self,
        scope: &Scope,
        name: &LayerName,
        version: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE layer_versions SET deleted = 1 WHERE account = ?1 AND region = ?2 \
             AND name = ?3 AND version = ?4",
        )
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(name.as_str())
        .bind(version)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn layer_policy(
        &self,
        scope: &Scope,
        name: &LayerName,
        version: i64,
    ) -> Result<Option<LayerPolicy>, StoreError> {
        let row = sqlx::query(
            "SELECT policy_revision, policy_statements FROM layer_versions \
             WHERE account = ?1 AND region = ?2 AND name = ?3 AND version = ?4 AND deleted = 0",
        )
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(name.as_str())
        .bind(version)
        .fetch_optional(&self.readers)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let raw: String = row.try_get("policy_statements")?;
        Ok(Some(LayerPolicy {
            revision_id: row.try_get("policy_revision")?,
            statements: statements_from_json(&raw)?,
        }))
    }

    async fn replace_layer_policy(
        &self,
        scope: &Scope,
        name: &LayerName,
        version: i64,
        expected_revision: &str,
        policy: &LayerPolicy,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE layer_versions SET policy_revision = ?1, policy_statements = ?2 \
             WHERE account = ?3 AND region = ?4 AND name = ?5 AND version = ?6 AND deleted = 0 \
             AND policy_revision = ?7",
        )
        .bind(&policy.revision_id)
        .bind(statements_to_json(&policy.statements))
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(name.as_str())
        .bind(version)
        .bind(expected_revision)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn recorded_unzipped_size(&self, digest: &Digest) -> Result<Option<u64>, StoreError> {
        let size: Option<i64> = sqlx::query_scalar(
            "SELECT unzipped_size FROM layer_versions WHERE code_sha256 = ?1 \
             UNION ALL SELECT unzipped_size FROM function_versions WHERE code_sha256 = ?1 \
             LIMIT 1",
        )
        .bind(digest.to_hex())
        .fetch_optional(&self.readers)
        .await?;
        size.map(|s| u64::try_from(s).map_err(corrupt)).transpose()
    }

    async fn referenced_digests(&self) -> Result<Vec<Digest>, StoreError> {
        // Layer versions (deleted ones too), function ZIPs, and the layers every function
        // version was built with: a deleted layer version's files stay while one refers to it.
        let hexes: Vec<String> = sqlx::query_scalar(
            "SELECT code_sha256 FROM layer_versions \
             UNION SELECT code_sha256 FROM function_versions \
             UNION SELECT json_extract(l.value, '$.digest') \
             FROM function_versions AS v, json_each(v.config, '$.layers') AS l",
        )
        .fetch_all(&self.readers)
        .await?;
        hexes
            .iter()
            .map(|h| Digest::from_hex(h).ok_or_else(|| corrupt(format!("digest {h}"))))
            .collect()
    }

    async fn server_secret(&self, candidate: &[u8]) -> Result<Vec<u8>, StoreError> {
        sqlx::query("INSERT OR IGNORE INTO server_settings (key, value) VALUES ('secret', ?1)")
            .bind(candidate)
            .execute(&self.writer)
            .await?;
        Ok(
            sqlx::query_scalar("SELECT value FROM server_settings WHERE key = 'secret'")
                .fetch_one(&self.writer)
                .await?,
        )
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use lamina_types::Region;

    use super::*;

    /// The scope the store tests write in.
    pub(crate) fn scope() -> Scope {
        Scope::new(
            AccountId::parse("123456789012").unwrap(),
            Region::parse("us-west-2").unwrap(),
        )
    }

    /// Opens (creating) a store whose legacy rows belong to [`scope`]'s account.
    pub(crate) async fn open(path: &Path) -> SqliteStore {
        SqliteStore::open(path, &scope().account).await.unwrap()
    }
}

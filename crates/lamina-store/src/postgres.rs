//! The shared [`MetadataStore`]: PostgreSQL, for several Lamina nodes on one database.
//!
//! Every guarantee a method documents comes from the database, never from a lock in this
//! process: counters are bumped by `INSERT ... ON CONFLICT DO UPDATE ... RETURNING` (which
//! row-locks the counter until the transaction ends), and RevisionId preconditions are part of
//! the `UPDATE`'s `WHERE`, so two nodes racing on one row cannot both win.

use std::str::FromStr;

use lamina_types::layer::{Digest, LayerPolicy, LayerVersionRecord};
use lamina_types::{LayerName, Scope};
use sqlx::Row;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

pub use function_writes::{FunctionWritten, Heard, WriteListener};
pub use in_flight::{InFlightAdmission, InFlightRequest};

use crate::layer_json::{list_to_json, statements_from_json, statements_to_json};
use crate::metadata::{LayerVersionFilter, MetadataStore, NewLayerVersion, StoreError};
use crate::rows::layer_version;

pub use access_keys::PgAccessKeys;

mod access_keys;
mod event_invoke;
mod events;
mod function_access;
mod function_urls;
mod function_writes;
mod functions;
mod in_flight;
mod log_retention;
mod migrate;
mod nodes;
mod provisioned;
mod schema;
mod settings;
#[cfg(test)]
mod tests;

// Macros rather than consts so every statement is one `&'static str` built by `concat!`:
// no SQL is ever assembled at run time.
macro_rules! version_columns {
    () => {
        "account, region, name, version, description, created_millis, compatible_runtimes, \
         compatible_architectures, license_info, code_sha256, code_size, unzipped_size"
    };
}

/// Keeps rows whose compatible lists contain the runtime bound at $1 and the architecture
/// bound at $2 (either may be NULL for "no filter"). A NULL list matches no filter, as in
/// SQLite.
macro_rules! filter_sql {
    () => {
        "($1::text IS NULL OR compatible_runtimes::jsonb @> jsonb_build_array($1::text)) \
         AND ($2::text IS NULL \
         OR compatible_architectures::jsonb @> jsonb_build_array($2::text))"
    };
}

/// How long a statement waits for a connection before it fails.
const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// PostgreSQL-backed metadata. Clones share the pool.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`) and brings the
    /// schema up to date.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(PgConnectOptions::from_str(url)?).await
    }

    /// Connects with `options` (their `search_path` chooses the schema) and brings the schema
    /// up to date.
    pub async fn connect_with(options: PgConnectOptions) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(10)
            // A database that went away answers the API's callers with ServiceException in
            // seconds, not sqlx's default 30 (and the pool reconnects once it is back).
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        migrate::migrate(&pool).await?;
        Ok(Self { pool })
    }

    /// Every runtime a function version names (published versions and `$LATEST`, in every
    /// account), sorted: what a starting server prepares for.
    pub async fn runtimes_in_use(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT config::jsonb ->> 'runtime' COLLATE \"C\" AS runtime \
             FROM function_versions WHERE config::jsonb ->> 'runtime' IS NOT NULL \
             ORDER BY runtime",
        )
        .fetch_all(&self.pool)
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
impl MetadataStore for PgStore {
    async fn insert_layer_version(
        &self,
        new: NewLayerVersion,
    ) -> Result<LayerVersionRecord, StoreError> {
        let mut tx = self.pool.begin().await?;
        // The upsert keeps the counter row locked until the commit: a concurrent publish of
        // the same layer waits, then reads the bumped counter. A failed insert below rolls
        // the bump back, so no number is allocated for nothing.
        let version: i64 = sqlx::query_scalar(
            "INSERT INTO layers (account, region, name, last_version) VALUES ($1, $2, $3, 1)
             ON CONFLICT (account, region, name)
             DO UPDATE SET last_version = layers.last_version + 1
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
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
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
            " FROM layer_versions WHERE account = $1 AND region = $2 AND name = $3 \
             AND version = $4 AND NOT deleted"
        ))
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(name.as_str())
        .bind(version)
        .fetch_optional(&self.pool)
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
            " FROM layer_versions WHERE account = $3 AND region = $4 AND name = $5 \
             AND NOT deleted AND ($6::bigint IS NULL OR version < $6) AND ",
            filter_sql!(),
            " ORDER BY version DESC LIMIT $7"
        ))
        .bind(filter.runtime.as_deref())
        .bind(filter.architecture.as_deref())
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(name.as_str())
        .bind(below)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
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
            " FROM layer_versions WHERE account = $3 AND region = $4 AND (name, version) IN (\
             SELECT name, MAX(version) FROM layer_versions \
             WHERE account = $3 AND region = $4 AND NOT deleted \
             AND ($5::text IS NULL OR name > $5) AND ",
            filter_sql!(),
            " GROUP BY name ORDER BY name LIMIT $6) ORDER BY name"
        ))
        .bind(filter.runtime.as_deref())
        .bind(filter.architecture.as_deref())
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(after.map(LayerName::as_str))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
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
            "UPDATE layer_versions SET deleted = TRUE WHERE account = $1 AND region = $2 \
             AND name = $3 AND version = $4",
        )
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(name.as_str())
        .bind(version)
        .execute(&self.pool)
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
             WHERE account = $1 AND region = $2 AND name = $3 AND version = $4 AND NOT deleted",
        )
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(name.as_str())
        .bind(version)
        .fetch_optional(&self.pool)
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
        // One statement: PostgreSQL re-checks the WHERE on the newest row version after
        // waiting for a concurrent writer (READ COMMITTED), so only one of two racing
        // replacements with the same expected revision matches.
        let done = sqlx::query(
            "UPDATE layer_versions SET policy_revision = $1, policy_statements = $2 \
             WHERE account = $3 AND region = $4 AND name = $5 AND version = $6 AND NOT deleted \
             AND policy_revision = $7",
        )
        .bind(&policy.revision_id)
        .bind(statements_to_json(&policy.statements))
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(name.as_str())
        .bind(version)
        .bind(expected_revision)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn recorded_unzipped_size(&self, digest: &Digest) -> Result<Option<u64>, StoreError> {
        let size: Option<i64> = sqlx::query_scalar(
            "SELECT unzipped_size FROM layer_versions WHERE code_sha256 = $1 \
             UNION ALL SELECT unzipped_size FROM function_versions WHERE code_sha256 = $1 \
             LIMIT 1",
        )
        .bind(digest.to_hex())
        .fetch_optional(&self.pool)
        .await?;
        size.map(|s| u64::try_from(s).map_err(corrupt)).transpose()
    }

    async fn referenced_digests(&self) -> Result<Vec<Digest>, StoreError> {
        // Layer versions (deleted ones too), function ZIPs, and the layers every function
        // version was built with: a deleted layer version's files stay while one refers to it.
        let hexes: Vec<String> = sqlx::query_scalar(
            "SELECT code_sha256 FROM layer_versions \
             UNION SELECT code_sha256 FROM function_versions \
             UNION SELECT l.value ->> 'digest' FROM function_versions AS v, \
             jsonb_array_elements(COALESCE(v.config::jsonb -> 'layers', '[]'::jsonb)) AS l",
        )
        .fetch_all(&self.pool)
        .await?;
        hexes
            .iter()
            .map(|h| Digest::from_hex(h).ok_or_else(|| corrupt(format!("digest {h}"))))
            .collect()
    }

    async fn server_secret(&self, candidate: &[u8]) -> Result<Vec<u8>, StoreError> {
        // Two nodes starting at once both offer a secret; the unique key keeps the first and
        // both read it back.
        sqlx::query(
            "INSERT INTO server_settings (key, value) VALUES ('secret', $1) \
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(candidate)
        .execute(&self.pool)
        .await?;
        Ok(
            sqlx::query_scalar("SELECT value FROM server_settings WHERE key = 'secret'")
                .fetch_one(&self.pool)
                .await?,
        )
    }
}

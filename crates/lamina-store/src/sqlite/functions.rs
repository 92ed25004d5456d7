//! [`FunctionStore`] on SQLite: schema versions 2 and 3 and their statements.
//!
//! A version's configuration is one JSON column (it is read and written whole); the columns
//! the store itself filters or sums on (digest, sizes, revision) are real columns.

use std::collections::BTreeMap;

use lamina_types::Scope;
use lamina_types::function_config::{
    AliasRecord, FunctionRecord, FunctionVersionRecord, LATEST_VERSION,
};
use sqlx::{Row, Sqlite, Transaction};

use super::SqliteStore;
use crate::function_store::rows::{
    alias as alias_row, alias_columns, config_json, corrupt, function_version, fv_columns,
    previous_json, routing_json, status_json, to_i64, to_u64,
};
use crate::function_store::{
    AccountUsage, AliasInsert, DeleteVersionOutcome, FunctionStore, PublishLatest, PublishOutcome,
};
use crate::metadata::StoreError;

/// Tables added by schema version 2. Deleting a function cascades to its versions and
/// aliases; `functions.last_version` is the per-function version counter.
pub(super) const SCHEMA_V2: &str = "
CREATE TABLE IF NOT EXISTS functions (
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    last_version INTEGER NOT NULL DEFAULT 0,
    tags TEXT NOT NULL DEFAULT '{}',
    reserved_concurrency INTEGER,
    PRIMARY KEY (region, name)
);
CREATE TABLE IF NOT EXISTS function_versions (
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    revision_id TEXT NOT NULL,
    last_modified_millis INTEGER NOT NULL,
    code_sha256 TEXT NOT NULL,
    code_size INTEGER NOT NULL,
    unzipped_size INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    config TEXT NOT NULL,
    PRIMARY KEY (region, name, version),
    FOREIGN KEY (region, name) REFERENCES functions (region, name) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS function_versions_by_digest ON function_versions (code_sha256);
CREATE TABLE IF NOT EXISTS function_aliases (
    region TEXT NOT NULL,
    function_name TEXT NOT NULL,
    name TEXT NOT NULL,
    function_version TEXT NOT NULL,
    description TEXT NOT NULL,
    routing TEXT,
    revision_id TEXT NOT NULL,
    PRIMARY KEY (region, function_name, name),
    FOREIGN KEY (region, function_name) REFERENCES functions (region, name) ON DELETE CASCADE
);
";

/// Schema version 3: the state model. `status` is NULL for versions recorded before it
/// (they were usable at once: `Active`, `Successful`); `previous` holds, while an update is in
/// progress, the code and configuration it replaces.
pub(super) const SCHEMA_V3: &str = "
ALTER TABLE function_versions ADD COLUMN status TEXT;
ALTER TABLE function_versions ADD COLUMN previous TEXT;
";

async fn insert_version(
    tx: &mut Transaction<'_, Sqlite>,
    r: &FunctionVersionRecord,
) -> Result<(), StoreError> {
    sqlx::query(concat!(
        "INSERT INTO function_versions (",
        fv_columns!(),
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
    ))
    .bind(r.scope.account.as_str())
    .bind(r.scope.region.as_str())
    .bind(&r.name)
    .bind(r.version)
    .bind(&r.revision_id)
    .bind(r.last_modified_millis)
    .bind(r.code_sha256.to_hex())
    .bind(to_i64(r.code_size)?)
    .bind(to_i64(r.unzipped_size)?)
    .bind(&r.content_hash)
    .bind(config_json(r)?)
    .bind(status_json(r)?)
    .bind(previous_json(r)?)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn version_in(
    tx: &mut Transaction<'_, Sqlite>,
    scope: &Scope,
    name: &str,
    version: i64,
) -> Result<Option<FunctionVersionRecord>, StoreError> {
    let row = sqlx::query(concat!(
        "SELECT ",
        fv_columns!(),
        " FROM function_versions WHERE account = ?1 AND region = ?2 AND name = ?3 \
         AND version = ?4"
    ))
    .bind(scope.account.as_str())
    .bind(scope.region.as_str())
    .bind(name)
    .bind(version)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(function_version).transpose()
}

#[async_trait::async_trait]
impl FunctionStore for SqliteStore {
    async fn create_function(
        &self,
        latest: &FunctionVersionRecord,
        tags: &BTreeMap<String, String>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin().await?;
        let tags = serde_json::to_string(tags).map_err(|e| corrupt("functions", e))?;
        let inserted = sqlx::query(
            "INSERT INTO functions (account, region, name, tags) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (account, region, name) DO NOTHING",
        )
        .bind(latest.scope.account.as_str())
        .bind(latest.scope.region.as_str())
        .bind(&latest.name)
        .bind(tags)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Ok(false);
        }
        insert_version(&mut tx, latest).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn function(
        &self,
        scope: &Scope,
        name: &str,
    ) -> Result<Option<FunctionRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT last_version, tags, reserved_concurrency FROM functions \
             WHERE account = ?1 AND region = ?2 AND name = ?3",
        )
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(name)
        .fetch_optional(&self.readers)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let tags: String = row.try_get("tags")?;
        let concurrency: Option<i64> = row.try_get("reserved_concurrency")?;
        Ok(Some(FunctionRecord {
            scope: scope.clone(),
            name: name.to_owned(),
            last_version: row.try_get("last_version")?,
            tags: serde_json::from_str(&tags).map_err(|e| corrupt("functions", e))?,
            reserved_concurrency: concurrency
                .map(|c| u32::try_from(c).map_err(|e| corrupt("functions", e)))
                .transpose()?,
        }))
    }

    async fn function_version(
        &self,
        scope: &Scope,
        name: &str,
        version: i64,
    ) -> Result<Option<FunctionVersionRecord>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            fv_columns!(),
            " FROM function_versions WHERE account = ?1 AND region = ?2 AND name = ?3 \
             AND version = ?4"
        ))
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(name)
        .bind(version)
        .fetch_optional(&self.readers)
        .await?;
        row.as_ref().map(function_version).transpose()
    }

    async fn alias_target(
        &self,
        scope: &Scope,
        name: &str,
        alias: &str,
    ) -> Result<Option<(String, Option<FunctionVersionRecord>)>, StoreError> {
        // `$LATEST` is stored as version 0; any other FunctionVersion is digits.
        let row = sqlx::query(concat!(
            "SELECT a.function_version AS target, ",
            "v.account, v.region, v.name, v.version, v.revision_id, v.last_modified_millis, \
             v.code_sha256, v.code_size, v.unzipped_size, v.content_hash, v.config, v.status, \
             v.previous \
             FROM function_aliases AS a LEFT JOIN function_versions AS v \
             ON v.account = a.account AND v.region = a.region AND v.name = a.function_name \
             AND v.version = (CASE a.function_version WHEN '$LATEST' THEN 0 \
             ELSE CAST(a.function_version AS INTEGER) END) \
             WHERE a.account = ?1 AND a.region = ?2 AND a.function_name = ?3 AND a.name = ?4"
        ))
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(name)
        .bind(alias)
        .fetch_optional(&self.readers)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let target: String = row.try_get("target")?;
        let found: Option<String> = row.try_get("revision_id")?;
        let record = match found {
            Some(_) => Some(function_version(&row)?),
            None => None,
        };
        Ok(Some((target, record)))
    }

    async fn replace_version(
        &self,
        expected_revision: &str,
        r: &FunctionVersionRecord,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE function_versions SET revision_id = ?1, last_modified_millis = ?2, \
             code_sha256 = ?3, code_size = ?4, unzipped_size = ?5, content_hash = ?6, \
             config = ?7, status = ?8, previous = ?9 \
             WHERE account = ?10 AND region = ?11 AND name = ?12 AND version = ?13 \
             AND revision_id = ?14",
        )
        .bind(&r.revision_id)
        .bind(r.last_modified_millis)
        .bind(r.code_sha256.to_hex())
        .bind(to_i64(r.code_size)?)
        .bind(to_i64(r.unzipped_size)?)
        .bind(&r.content_hash)
        .bind(config_json(r)?)
        .bind(status_json(r)?)
        .bind(previous_json(r)?)
        .bind(r.scope.account.as_str())
        .bind(r.scope.region.as_str())
        .bind(&r.name)
        .bind(r.version)
        .bind(expected_revision)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn settling_versions(&self) -> Result<Vec<FunctionVersionRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            fv_columns!(),
            " FROM function_versions WHERE status IS NOT NULL \
             AND (json_extract(status, '$.state') = 'Pending' \
             OR json_extract(status, '$.last_update') = 'InProgress')"
        ))
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(function_version).collect()
    }

    async fn publish_latest(&self, p: &PublishLatest) -> Result<PublishOutcome, StoreError> {
        let scope = &p.scope;
        let mut tx = self.writer.begin().await?;
        let Some(latest) = version_in(&mut tx, scope, &p.name, LATEST_VERSION).await? else {
            return Ok(PublishOutcome::Missing);
        };
        if latest.revision_id != p.expected_latest_revision {
            return Ok(PublishOutcome::Stale);
        }
        let last: i64 = sqlx::query_scalar(
            "SELECT last_version FROM functions WHERE account = ?1 AND region = ?2 AND name = ?3",
        )
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(&p.name)
        .fetch_one(&mut *tx)
        .await?;
        if last > 0
            && let Some(previous) = version_in(&mut tx, scope, &p.name, last).await?
            && previous.content_hash == latest.content_hash
        {
            return Ok(PublishOutcome::Unchanged(previous));
        }
        let next: i64 = sqlx::query_scalar(
            "UPDATE functions SET last_version = last_version + 1 \
             WHERE account = ?1 AND region = ?2 AND name = ?3 RETURNING last_version",
        )
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(&p.name)
        .fetch_one(&mut *tx)
        .await?;
        let mut published = latest;
        published.status = published.status.for_new_version();
        published.previous = None;
        published.version = next;
        published.revision_id = p.version_revision_id.clone();
        if let Some(d) = &p.description {
            published.config.description = d.clone();
        }
        insert_version(&mut tx, &published).await?;
        sqlx::query(
            "UPDATE function_versions SET revision_id = ?1 \
             WHERE account = ?2 AND region = ?3 AND name = ?4 AND version = 0",
        )
        .bind(&p.latest_revision_id)
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(&p.name)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(PublishOutcome::Published(published))
    }

    async fn delete_function(&self, scope: &Scope, name: &str) -> Result<bool, StoreError> {
        let done =
            sqlx::query("DELETE FROM functions WHERE account = ?1 AND region = ?2 AND name = ?3")
                .bind(scope.account.as_str())
                .bind(scope.region.as_str())
                .bind(name)
                .execute(&self.writer)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_function_version(
        &self,
        scope: &Scope,
        name: &str,
        version: i64,
    ) -> Result<DeleteVersionOutcome, StoreError> {
        let mut tx = self.writer.begin().await?;
        let exists: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM functions WHERE account = ?1 AND region = ?2 AND name = ?3",
        )
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
        if exists.is_none() {
            return Ok(DeleteVersionOutcome::Missing);
        }
        let label = version.to_string();
        let aliases: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM function_aliases WHERE account = ?1 AND region = ?2 \
             AND function_name = ?3 AND (function_version = ?4 OR (routing IS NOT NULL AND \
             EXISTS (SELECT 1 FROM json_each(routing) WHERE key = ?4))) ORDER BY name",
        )
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(name)
        .bind(&label)
        .fetch_all(&mut *tx)
        .await?;
        if !aliases.is_empty() {
            return Ok(DeleteVersionOutcome::Referenced(aliases));
        }
        sqlx::query(
            "DELETE FROM function_versions WHERE account = ?1 AND region = ?2 AND name = ?3 \
             AND version = ?4",
        )
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(name)
        .bind(version)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(DeleteVersionOutcome::Deleted)
    }

    async fn latest_versions(
        &self,
        scope: &Scope,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<FunctionVersionRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            fv_columns!(),
            " FROM function_versions WHERE account = ?1 AND region = ?2 AND version = 0 \
             AND (?3 IS NULL OR name > ?3) ORDER BY name LIMIT ?4"
        ))
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(function_version).collect()
    }

    async fn all_versions(
        &self,
        scope: &Scope,
        after: Option<(&str, i64)>,
        limit: u32,
    ) -> Result<Vec<FunctionVersionRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            fv_columns!(),
            " FROM function_versions WHERE account = ?1 AND region = ?2 \
             AND (?3 IS NULL OR (name, version) > (?3, ?4)) ORDER BY name, version LIMIT ?5"
        ))
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(after.map(|(n, _)| n))
        .bind(after.map_or(0, |(_, v)| v))
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(function_version).collect()
    }

    async fn function_versions(
        &self,
        scope: &Scope,
        name: &str,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<FunctionVersionRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            fv_columns!(),
            " FROM function_versions WHERE account = ?1 AND region = ?2 AND name = ?3 \
             AND (?4 IS NULL OR version > ?4) ORDER BY version LIMIT ?5"
        ))
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(name)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(function_version).collect()
    }

    async fn insert_alias(&self, a: &AliasRecord) -> Result<AliasInsert, StoreError> {
        let mut tx = self.writer.begin().await?;
        let exists: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM functions WHERE account = ?1 AND region = ?2 AND name = ?3",
        )
        .bind(a.scope.account.as_str())
        .bind(a.scope.region.as_str())
        .bind(&a.function_name)
        .fetch_optional(&mut *tx)
        .await?;
        if exists.is_none() {
            return Ok(AliasInsert::Missing);
        }
        let inserted = sqlx::query(concat!(
            "INSERT INTO function_aliases (",
            alias_columns!(),
            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
             ON CONFLICT (account, region, function_name, name) DO NOTHING"
        ))
        .bind(a.scope.account.as_str())
        .bind(a.scope.region.as_str())
        .bind(&a.function_name)
        .bind(&a.name)
        .bind(&a.function_version)
        .bind(&a.description)
        .bind(routing_json(a)?)
        .bind(&a.revision_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(if inserted == 1 {
            AliasInsert::Inserted
        } else {
            AliasInsert::Exists
        })
    }

    async fn alias(
        &self,
        scope: &Scope,
        function_name: &str,
        name: &str,
    ) -> Result<Option<AliasRecord>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            alias_columns!(),
            " FROM function_aliases WHERE account = ?1 AND region = ?2 AND function_name = ?3 \
             AND name = ?4"
        ))
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(function_name)
        .bind(name)
        .fetch_optional(&self.readers)
        .await?;
        row.as_ref().map(alias_row).transpose()
    }

    async fn aliases(
        &self,
        scope: &Scope,
        function_name: &str,
        function_version: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AliasRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            alias_columns!(),
            " FROM function_aliases WHERE account = ?1 AND region = ?2 AND function_name = ?3 \
             AND (?4 IS NULL OR function_version = ?4) AND (?5 IS NULL OR name > ?5) \
             ORDER BY name LIMIT ?6"
        ))
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(function_name)
        .bind(function_version)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(alias_row).collect()
    }

    async fn replace_alias(
        &self,
        expected_revision: &str,
        a: &AliasRecord,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE function_aliases SET function_version = ?1, description = ?2, \
             routing = ?3, revision_id = ?4 \
             WHERE account = ?5 AND region = ?6 AND function_name = ?7 AND name = ?8 \
             AND revision_id = ?9",
        )
        .bind(&a.function_version)
        .bind(&a.description)
        .bind(routing_json(a)?)
        .bind(&a.revision_id)
        .bind(a.scope.account.as_str())
        .bind(a.scope.region.as_str())
        .bind(&a.function_name)
        .bind(&a.name)
        .bind(expected_revision)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_alias(
        &self,
        scope: &Scope,
        function_name: &str,
        name: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "DELETE FROM function_aliases WHERE account = ?1 AND region = ?2 \
             AND function_name = ?3 AND name = ?4",
        )
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(function_name)
        .bind(name)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn account_usage(&self, scope: &Scope) -> Result<AccountUsage, StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM functions WHERE account = ?1 AND region = ?2) \
             AS functions, \
             (SELECT COALESCE(SUM(code_size), 0) FROM function_versions \
                WHERE account = ?1 AND region = ?2) \
             + (SELECT COALESCE(SUM(code_size), 0) FROM layer_versions \
                WHERE account = ?1 AND region = ?2 AND deleted = 0) AS bytes",
        )
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .fetch_one(&self.readers)
        .await?;
        Ok(AccountUsage {
            function_count: to_u64(row.try_get("functions")?)?,
            total_code_bytes: to_u64(row.try_get("bytes")?)?,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests;

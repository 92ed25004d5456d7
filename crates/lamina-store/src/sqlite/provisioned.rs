//! [`ProvisionedConcurrencyStore`] on SQLite: schema version 6 and its statements.

use lamina_types::{AccountId, Region, Scope};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::SqliteStore;
use crate::metadata::StoreError;
use crate::provisioned_store::{ProvisionedConcurrencyRecord, ProvisionedConcurrencyStore};

const TABLE: &str = "provisioned_concurrency";

/// Schema version 6: provisioned concurrency configurations. Deleting the function cascades;
/// deleting a version or an alias removes the configuration of that qualifier (triggers: a
/// qualifier names either, so no single foreign key can).
pub(super) const SCHEMA_V6: &str = "
CREATE TABLE IF NOT EXISTS provisioned_concurrency (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    function_name TEXT NOT NULL,
    qualifier TEXT NOT NULL,
    requested INTEGER NOT NULL,
    last_modified_millis INTEGER NOT NULL,
    PRIMARY KEY (account, region, function_name, qualifier),
    FOREIGN KEY (account, region, function_name) REFERENCES functions (account, region, name)
        ON DELETE CASCADE
);
CREATE TRIGGER IF NOT EXISTS provisioned_concurrency_of_version
AFTER DELETE ON function_versions BEGIN
    DELETE FROM provisioned_concurrency WHERE account = OLD.account AND region = OLD.region
        AND function_name = OLD.name AND qualifier = CAST(OLD.version AS TEXT);
END;
CREATE TRIGGER IF NOT EXISTS provisioned_concurrency_of_alias
AFTER DELETE ON function_aliases BEGIN
    DELETE FROM provisioned_concurrency WHERE account = OLD.account AND region = OLD.region
        AND function_name = OLD.function_name AND qualifier = OLD.name;
END;
";

macro_rules! columns {
    () => {
        "account, region, function_name, qualifier, requested, last_modified_millis"
    };
}

fn corrupt(reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        table: TABLE,
        reason: reason.to_string(),
    }
}

fn from_row(row: &SqliteRow) -> Result<ProvisionedConcurrencyRecord, StoreError> {
    let account: String = row.try_get("account")?;
    let region: String = row.try_get("region")?;
    let requested: i64 = row.try_get("requested")?;
    Ok(ProvisionedConcurrencyRecord {
        scope: Scope::new(
            AccountId::parse(&account).ok_or_else(|| corrupt("an invalid account"))?,
            Region::parse(&region).ok_or_else(|| corrupt("an invalid region"))?,
        ),
        function_name: row.try_get("function_name")?,
        qualifier: row.try_get("qualifier")?,
        requested: u32::try_from(requested).map_err(corrupt)?,
        last_modified_millis: row.try_get("last_modified_millis")?,
    })
}

#[async_trait::async_trait]
impl ProvisionedConcurrencyStore for SqliteStore {
    async fn put_provisioned_concurrency(
        &self,
        record: &ProvisionedConcurrencyRecord,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO provisioned_concurrency (account, region, function_name, qualifier, \
             requested, last_modified_millis) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (account, region, function_name, qualifier) DO UPDATE SET \
             requested = excluded.requested, last_modified_millis = excluded.last_modified_millis",
        )
        .bind(record.scope.account.as_str())
        .bind(record.scope.region.as_str())
        .bind(&record.function_name)
        .bind(&record.qualifier)
        .bind(i64::from(record.requested))
        .bind(record.last_modified_millis)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn provisioned_concurrency(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: &str,
    ) -> Result<Option<ProvisionedConcurrencyRecord>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM provisioned_concurrency WHERE account = ?1 AND region = ?2 \
             AND function_name = ?3 AND qualifier = ?4"
        ))
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(function_name)
        .bind(qualifier)
        .fetch_optional(&self.readers)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    async fn delete_provisioned_concurrency(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "DELETE FROM provisioned_concurrency WHERE account = ?1 AND region = ?2 \
             AND function_name = ?3 AND qualifier = ?4",
        )
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(function_name)
        .bind(qualifier)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn provisioned_concurrency_configs(
        &self,
        scope: &Scope,
        function_name: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ProvisionedConcurrencyRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM provisioned_concurrency WHERE account = ?1 AND region = ?2 \
             AND function_name = ?3 AND (?4 IS NULL OR qualifier > ?4) \
             ORDER BY qualifier LIMIT ?5"
        ))
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(function_name)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(from_row).collect()
    }

    async fn all_provisioned_concurrency(
        &self,
    ) -> Result<Vec<ProvisionedConcurrencyRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM provisioned_concurrency ORDER BY account, region, function_name, qualifier"
        ))
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(from_row).collect()
    }
}

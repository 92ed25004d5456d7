//! [`EventInvokeConfigStore`] on SQLite: schema version 9 and its statements.

use lamina_types::{AccountId, Region, Scope};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::SqliteStore;
use crate::event_invoke_store::{EventInvokeConfigRecord, EventInvokeConfigStore};
use crate::metadata::StoreError;

const TABLE: &str = "event_invoke_configs";

/// Schema version 9: asynchronous invocation configurations. Deleting the function cascades;
/// deleting a version or an alias removes the configuration of that qualifier (triggers, as
/// for provisioned concurrency: a qualifier names either, so no single foreign key can).
pub(super) const SCHEMA_V9: &str = "
CREATE TABLE IF NOT EXISTS event_invoke_configs (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    function_name TEXT NOT NULL,
    qualifier TEXT NOT NULL,
    maximum_retry_attempts INTEGER,
    maximum_event_age_secs INTEGER,
    on_success TEXT,
    on_failure TEXT,
    last_modified_millis INTEGER NOT NULL,
    PRIMARY KEY (account, region, function_name, qualifier),
    FOREIGN KEY (account, region, function_name) REFERENCES functions (account, region, name)
        ON DELETE CASCADE
);
CREATE TRIGGER IF NOT EXISTS event_invoke_config_of_version
AFTER DELETE ON function_versions BEGIN
    DELETE FROM event_invoke_configs WHERE account = OLD.account AND region = OLD.region
        AND function_name = OLD.name AND qualifier = CAST(OLD.version AS TEXT);
END;
CREATE TRIGGER IF NOT EXISTS event_invoke_config_of_alias
AFTER DELETE ON function_aliases BEGIN
    DELETE FROM event_invoke_configs WHERE account = OLD.account AND region = OLD.region
        AND function_name = OLD.function_name AND qualifier = OLD.name;
END;
";

macro_rules! columns {
    () => {
        "account, region, function_name, qualifier, maximum_retry_attempts, \
         maximum_event_age_secs, on_success, on_failure, last_modified_millis"
    };
}

fn corrupt(reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        table: TABLE,
        reason: reason.to_string(),
    }
}

fn small(n: Option<i64>) -> Result<Option<u32>, StoreError> {
    n.map(|n| u32::try_from(n).map_err(corrupt)).transpose()
}

fn from_row(row: &SqliteRow) -> Result<EventInvokeConfigRecord, StoreError> {
    let account: String = row.try_get("account")?;
    let region: String = row.try_get("region")?;
    Ok(EventInvokeConfigRecord {
        scope: Scope::new(
            AccountId::parse(&account).ok_or_else(|| corrupt("an invalid account"))?,
            Region::parse(&region).ok_or_else(|| corrupt("an invalid region"))?,
        ),
        function_name: row.try_get("function_name")?,
        qualifier: row.try_get("qualifier")?,
        maximum_retry_attempts: small(row.try_get("maximum_retry_attempts")?)?,
        maximum_event_age_secs: small(row.try_get("maximum_event_age_secs")?)?,
        on_success: row.try_get("on_success")?,
        on_failure: row.try_get("on_failure")?,
        last_modified_millis: row.try_get("last_modified_millis")?,
    })
}

#[async_trait::async_trait]
impl EventInvokeConfigStore for SqliteStore {
    async fn put_event_invoke_config(
        &self,
        record: &EventInvokeConfigRecord,
    ) -> Result<(), StoreError> {
        sqlx::query(concat!(
            "INSERT OR REPLACE INTO event_invoke_configs (",
            columns!(),
            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        ))
        .bind(record.scope.account.as_str())
        .bind(record.scope.region.as_str())
        .bind(&record.function_name)
        .bind(&record.qualifier)
        .bind(record.maximum_retry_attempts.map(i64::from))
        .bind(record.maximum_event_age_secs.map(i64::from))
        .bind(record.on_success.as_deref())
        .bind(record.on_failure.as_deref())
        .bind(record.last_modified_millis)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn event_invoke_config(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: &str,
    ) -> Result<Option<EventInvokeConfigRecord>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM event_invoke_configs WHERE account = ?1 AND region = ?2 \
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

    async fn delete_event_invoke_config(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "DELETE FROM event_invoke_configs WHERE account = ?1 AND region = ?2 \
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

    async fn event_invoke_configs(
        &self,
        scope: &Scope,
        function_name: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<EventInvokeConfigRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM event_invoke_configs WHERE account = ?1 AND region = ?2 \
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
}

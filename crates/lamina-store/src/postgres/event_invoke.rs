//! [`EventInvokeConfigStore`] on PostgreSQL: the statements on `event_invoke_configs`.

use lamina_types::{AccountId, Region, Scope};
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::PgStore;
use crate::event_invoke_store::{EventInvokeConfigRecord, EventInvokeConfigStore};
use crate::metadata::StoreError;

const TABLE: &str = "event_invoke_configs";

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

fn from_row(row: &PgRow) -> Result<EventInvokeConfigRecord, StoreError> {
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
impl EventInvokeConfigStore for PgStore {
    async fn put_event_invoke_config(
        &self,
        record: &EventInvokeConfigRecord,
    ) -> Result<(), StoreError> {
        sqlx::query(concat!(
            "INSERT INTO event_invoke_configs (",
            columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (account, region, function_name, qualifier) DO UPDATE SET \
             maximum_retry_attempts = excluded.maximum_retry_attempts, \
             maximum_event_age_secs = excluded.maximum_event_age_secs, \
             on_success = excluded.on_success, on_failure = excluded.on_failure, \
             last_modified_millis = excluded.last_modified_millis"
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
        .execute(&self.pool)
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
            " FROM event_invoke_configs WHERE account = $1 AND region = $2 \
             AND function_name = $3 AND qualifier = $4"
        ))
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(function_name)
        .bind(qualifier)
        .fetch_optional(&self.pool)
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
            "DELETE FROM event_invoke_configs WHERE account = $1 AND region = $2 \
             AND function_name = $3 AND qualifier = $4",
        )
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(function_name)
        .bind(qualifier)
        .execute(&self.pool)
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
            " FROM event_invoke_configs WHERE account = $1 AND region = $2 \
             AND function_name = $3 AND ($4::text IS NULL OR qualifier > $4) \
             ORDER BY qualifier LIMIT $5"
        ))
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(function_name)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }
}

//! [`ProvisionedConcurrencyStore`] on PostgreSQL: the statements on
//! `provisioned_concurrency`.

use lamina_types::{AccountId, Region, Scope};
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::PgStore;
use crate::metadata::StoreError;
use crate::provisioned_store::{ProvisionedConcurrencyRecord, ProvisionedConcurrencyStore};

const TABLE: &str = "provisioned_concurrency";

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

fn from_row(row: &PgRow) -> Result<ProvisionedConcurrencyRecord, StoreError> {
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
impl ProvisionedConcurrencyStore for PgStore {
    async fn put_provisioned_concurrency(
        &self,
        record: &ProvisionedConcurrencyRecord,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO provisioned_concurrency (account, region, function_name, qualifier, \
             requested, last_modified_millis) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (account, region, function_name, qualifier) DO UPDATE SET \
             requested = excluded.requested, last_modified_millis = excluded.last_modified_millis",
        )
        .bind(record.scope.account.as_str())
        .bind(record.scope.region.as_str())
        .bind(&record.function_name)
        .bind(&record.qualifier)
        .bind(i64::from(record.requested))
        .bind(record.last_modified_millis)
        .execute(&self.pool)
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
            " FROM provisioned_concurrency WHERE account = $1 AND region = $2 \
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

    async fn delete_provisioned_concurrency(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "DELETE FROM provisioned_concurrency WHERE account = $1 AND region = $2 \
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
            " FROM provisioned_concurrency WHERE account = $1 AND region = $2 \
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

    async fn all_provisioned_concurrency(
        &self,
    ) -> Result<Vec<ProvisionedConcurrencyRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM provisioned_concurrency ORDER BY account, region, function_name, qualifier"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }
}

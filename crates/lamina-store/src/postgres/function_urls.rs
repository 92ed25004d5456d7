//! [`FunctionUrlStore`] on PostgreSQL: the statements on `function_urls`.

use lamina_types::Scope;
use lamina_types::function_url::FunctionUrlRecord;

use super::PgStore;
use crate::function_url_store::FunctionUrlStore;
use crate::function_url_store::rows::{columns, cors_json, from_row};
use crate::metadata::StoreError;

#[async_trait::async_trait]
impl FunctionUrlStore for PgStore {
    async fn insert_function_url(&self, record: &FunctionUrlRecord) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO function_urls (account, region, function_name, qualifier, url_id, \
             auth_type, invoke_mode, cors, created_millis, last_modified_millis) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
        )
        .bind(record.scope.account.as_str())
        .bind(record.scope.region.as_str())
        .bind(&record.function_name)
        .bind(record.qualifier.as_deref().unwrap_or(""))
        .bind(&record.url_id)
        .bind(record.auth_type.as_str())
        .bind(record.invoke_mode.as_str())
        .bind(cors_json(record)?)
        .bind(record.created_millis)
        .bind(record.last_modified_millis)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn replace_function_url(&self, record: &FunctionUrlRecord) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE function_urls SET auth_type = $5, invoke_mode = $6, cors = $7, \
             last_modified_millis = $8 WHERE account = $1 AND region = $2 \
             AND function_name = $3 AND qualifier = $4",
        )
        .bind(record.scope.account.as_str())
        .bind(record.scope.region.as_str())
        .bind(&record.function_name)
        .bind(record.qualifier.as_deref().unwrap_or(""))
        .bind(record.auth_type.as_str())
        .bind(record.invoke_mode.as_str())
        .bind(cors_json(record)?)
        .bind(record.last_modified_millis)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn function_url(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: Option<&str>,
    ) -> Result<Option<FunctionUrlRecord>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM function_urls WHERE account = $1 AND region = $2 \
             AND function_name = $3 AND qualifier = $4"
        ))
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(function_name)
        .bind(qualifier.unwrap_or(""))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    async fn delete_function_url(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: Option<&str>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "DELETE FROM function_urls WHERE account = $1 AND region = $2 \
             AND function_name = $3 AND qualifier = $4",
        )
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(function_name)
        .bind(qualifier.unwrap_or(""))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn function_urls(
        &self,
        scope: &Scope,
        function_name: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<FunctionUrlRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM function_urls WHERE account = $1 AND region = $2 \
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

    async fn function_url_by_id(
        &self,
        url_id: &str,
    ) -> Result<Option<FunctionUrlRecord>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM function_urls WHERE url_id = $1"
        ))
        .bind(url_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(from_row).transpose()
    }
}

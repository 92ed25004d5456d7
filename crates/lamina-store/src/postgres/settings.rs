//! [`FunctionSettingsStore`] on PostgreSQL: the statements on the settings
//! columns of `functions` and `function_versions`.

use lamina_types::Scope;
use lamina_types::function_settings::{RecursiveLoop, RuntimeManagement, UpdateRuntimeOn};
use sqlx::Row;

use super::PgStore;
use crate::metadata::StoreError;
use crate::settings_store::FunctionSettingsStore;

fn corrupt(table: &'static str, value: &str) -> StoreError {
    StoreError::Corrupt {
        table,
        reason: format!("an unknown setting {value:?}"),
    }
}

#[async_trait::async_trait]
impl FunctionSettingsStore for PgStore {
    async fn recursive_loop(
        &self,
        scope: &Scope,
        function_name: &str,
    ) -> Result<Option<RecursiveLoop>, StoreError> {
        let row = sqlx::query(
            "SELECT recursive_loop FROM functions WHERE account = $1 AND region = $2 \
             AND name = $3",
        )
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(function_name)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let stored: Option<String> = row.try_get("recursive_loop")?;
        match stored {
            None => Ok(Some(RecursiveLoop::default())),
            Some(s) => RecursiveLoop::parse(&s)
                .map(Some)
                .ok_or_else(|| corrupt("functions", &s)),
        }
    }

    async fn put_recursive_loop(
        &self,
        scope: &Scope,
        function_name: &str,
        setting: RecursiveLoop,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE functions SET recursive_loop = $4 WHERE account = $1 AND region = $2 \
             AND name = $3",
        )
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(function_name)
        .bind(setting.as_str())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn runtime_management(
        &self,
        scope: &Scope,
        function_name: &str,
        version: i64,
    ) -> Result<Option<RuntimeManagement>, StoreError> {
        let row = sqlx::query(
            "SELECT update_runtime_on, runtime_version_arn FROM function_versions \
             WHERE account = $1 AND region = $2 AND name = $3 AND version = $4",
        )
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(function_name)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let mode: Option<String> = row.try_get("update_runtime_on")?;
        let update_runtime_on = match mode {
            None => UpdateRuntimeOn::default(),
            Some(s) => {
                UpdateRuntimeOn::parse(&s).ok_or_else(|| corrupt("function_versions", &s))?
            }
        };
        Ok(Some(RuntimeManagement {
            update_runtime_on,
            runtime_version_arn: row.try_get("runtime_version_arn")?,
        }))
    }

    async fn put_runtime_management(
        &self,
        scope: &Scope,
        function_name: &str,
        version: i64,
        config: &RuntimeManagement,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE function_versions SET update_runtime_on = $5, runtime_version_arn = $6 \
             WHERE account = $1 AND region = $2 AND name = $3 AND version = $4",
        )
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(function_name)
        .bind(version)
        .bind(config.update_runtime_on.as_str())
        .bind(config.runtime_version_arn.as_deref())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

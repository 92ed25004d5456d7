//! [`LogRetentionStore`] on PostgreSQL: the `log_retention` table (schema step 2, in
//! `nodes.rs`).

use std::collections::BTreeMap;

use sqlx::Row;

use super::PgStore;
use crate::log_retention_store::{LogRetentionStore, stored_days};
use crate::metadata::StoreError;

#[async_trait::async_trait]
impl LogRetentionStore for PgStore {
    async fn retention_policies(&self, account: &str) -> Result<BTreeMap<String, u32>, StoreError> {
        let rows = sqlx::query("SELECT group_name, days FROM log_retention WHERE account = $1")
            .bind(account)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("group_name")?,
                    stored_days(row.try_get("days")?)?,
                ))
            })
            .collect()
    }

    async fn put_retention_policy(
        &self,
        account: &str,
        group: &str,
        days: u32,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO log_retention (account, group_name, days) VALUES ($1, $2, $3) \
             ON CONFLICT (account, group_name) DO UPDATE SET days = excluded.days",
        )
        .bind(account)
        .bind(group)
        .bind(i64::from(days))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn delete_retention_policy(&self, account: &str, group: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM log_retention WHERE account = $1 AND group_name = $2")
            .bind(account)
            .bind(group)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

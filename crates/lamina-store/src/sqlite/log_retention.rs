//! [`LogRetentionStore`] on SQLite: schema version 12's `log_retention` table.

use std::collections::BTreeMap;

use sqlx::Row;

use super::SqliteStore;
use crate::log_retention_store::{LogRetentionStore, stored_days};
use crate::metadata::StoreError;

/// Schema version 12 (with `nodes.rs`): log groups' retention policies, which before were a
/// file in the logs directory (`lamina serve` imports that file once).
pub(super) const SCHEMA_V12: &str = "
CREATE TABLE log_retention (
    account TEXT NOT NULL,
    group_name TEXT NOT NULL,
    days INTEGER NOT NULL,
    PRIMARY KEY (account, group_name)
);
";

#[async_trait::async_trait]
impl LogRetentionStore for SqliteStore {
    async fn retention_policies(&self, account: &str) -> Result<BTreeMap<String, u32>, StoreError> {
        let rows = sqlx::query("SELECT group_name, days FROM log_retention WHERE account = ?1")
            .bind(account)
            .fetch_all(&self.readers)
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
            "INSERT INTO log_retention (account, group_name, days) VALUES (?1, ?2, ?3) \
             ON CONFLICT (account, group_name) DO UPDATE SET days = excluded.days",
        )
        .bind(account)
        .bind(group)
        .bind(i64::from(days))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn delete_retention_policy(&self, account: &str, group: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM log_retention WHERE account = ?1 AND group_name = ?2")
            .bind(account)
            .bind(group)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}

//! [`FunctionAccessStore`] on SQLite: schema version 7 (function policies) and the
//! statements on the tags and reserved concurrency columns of `functions`.

use std::collections::BTreeMap;

use lamina_types::Scope;
use lamina_types::function_policy::{FunctionPolicy, FunctionStatement};
use sqlx::Row;

use super::SqliteStore;
use crate::function_access_store::{FunctionAccessStore, ReserveOutcome};
use crate::metadata::StoreError;

/// Schema version 7: the resource policy of each function (`qualifier` empty), version or
/// alias. Deleting the function cascades; deleting a version or an alias removes its policy
/// (triggers: a qualifier names either, so no single foreign key can).
pub(super) const SCHEMA_V7: &str = "
CREATE TABLE IF NOT EXISTS function_policies (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    function_name TEXT NOT NULL,
    qualifier TEXT NOT NULL,
    revision_id TEXT NOT NULL,
    statements TEXT NOT NULL,
    PRIMARY KEY (account, region, function_name, qualifier),
    FOREIGN KEY (account, region, function_name) REFERENCES functions (account, region, name)
        ON DELETE CASCADE
);
CREATE TRIGGER IF NOT EXISTS function_policies_of_version
AFTER DELETE ON function_versions BEGIN
    DELETE FROM function_policies WHERE account = OLD.account AND region = OLD.region
        AND function_name = OLD.name AND qualifier = CAST(OLD.version AS TEXT);
END;
CREATE TRIGGER IF NOT EXISTS function_policies_of_alias
AFTER DELETE ON function_aliases BEGIN
    DELETE FROM function_policies WHERE account = OLD.account AND region = OLD.region
        AND function_name = OLD.function_name AND qualifier = OLD.name;
END;
";

fn corrupt(table: &'static str, reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        table,
        reason: reason.to_string(),
    }
}

fn tags_json(tags: &BTreeMap<String, String>) -> Result<String, StoreError> {
    // A `BTreeMap` serialises in key order: equal maps give equal text, which the
    // compare-and-swap of `replace_tags` compares.
    serde_json::to_string(tags).map_err(|e| corrupt("functions", e))
}

#[async_trait::async_trait]
impl FunctionAccessStore for SqliteStore {
    async fn replace_tags(
        &self,
        scope: &Scope,
        name: &str,
        expected: &BTreeMap<String, String>,
        tags: &BTreeMap<String, String>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE functions SET tags = ?1 \
             WHERE account = ?2 AND region = ?3 AND name = ?4 AND tags = ?5",
        )
        .bind(tags_json(tags)?)
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(name)
        .bind(tags_json(expected)?)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_reserved_concurrency(
        &self,
        scope: &Scope,
        name: &str,
        reserved: Option<u32>,
        max_total: u32,
    ) -> Result<ReserveOutcome, StoreError> {
        // One statement: the check of the account's sum and the write cannot interleave with
        // another reservation (the store has a single writer connection).
        let done = sqlx::query(
            "UPDATE functions SET reserved_concurrency = ?1 \
             WHERE account = ?2 AND region = ?3 AND name = ?4 \
             AND COALESCE(?1, 0) + (SELECT COALESCE(SUM(reserved_concurrency), 0) FROM functions \
                 WHERE account = ?2 AND region = ?3 AND name != ?4) <= ?5",
        )
        .bind(reserved.map(i64::from))
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(name)
        .bind(i64::from(max_total))
        .execute(&self.writer)
        .await?;
        if done.rows_affected() == 1 {
            return Ok(ReserveOutcome::Set);
        }
        let exists: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM functions WHERE account = ?1 AND region = ?2 AND name = ?3",
        )
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(name)
        .fetch_optional(&self.writer)
        .await?;
        Ok(match exists {
            Some(_) => ReserveOutcome::OverLimit,
            None => ReserveOutcome::Missing,
        })
    }

    async fn reserved_concurrency_total(&self, scope: &Scope) -> Result<u64, StoreError> {
        let total: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(reserved_concurrency), 0) FROM functions \
             WHERE account = ?1 AND region = ?2",
        )
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .fetch_one(&self.readers)
        .await?;
        u64::try_from(total).map_err(|e| corrupt("functions", e))
    }

    async fn function_policy(
        &self,
        scope: &Scope,
        name: &str,
        qualifier: &str,
    ) -> Result<FunctionPolicy, StoreError> {
        let row = sqlx::query(
            "SELECT revision_id, statements FROM function_policies \
             WHERE account = ?1 AND region = ?2 AND function_name = ?3 AND qualifier = ?4",
        )
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(name)
        .bind(qualifier)
        .fetch_optional(&self.readers)
        .await?;
        let Some(row) = row else {
            return Ok(FunctionPolicy::default());
        };
        let statements: String = row.try_get("statements")?;
        let statements: Vec<FunctionStatement> =
            serde_json::from_str(&statements).map_err(|e| corrupt("function_policies", e))?;
        Ok(FunctionPolicy {
            revision_id: row.try_get("revision_id")?,
            statements,
        })
    }

    async fn replace_function_policy(
        &self,
        scope: &Scope,
        name: &str,
        qualifier: &str,
        expected_revision: &str,
        policy: &FunctionPolicy,
    ) -> Result<bool, StoreError> {
        let statements = serde_json::to_string(&policy.statements)
            .map_err(|e| corrupt("function_policies", e))?;
        // The first write inserts (its expected revision is the empty one of "no row": every
        // written revision is a UUID); every later one updates the row while its revision is
        // still the expected one.
        let sql = if expected_revision.is_empty() {
            "INSERT INTO function_policies \
             (revision_id, statements, account, region, function_name, qualifier) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (account, region, function_name, qualifier) DO NOTHING"
        } else {
            "UPDATE function_policies SET revision_id = ?1, statements = ?2 \
             WHERE account = ?3 AND region = ?4 AND function_name = ?5 AND qualifier = ?6 \
             AND revision_id = ?7"
        };
        let done = sqlx::query(sql)
            .bind(&policy.revision_id)
            .bind(statements)
            .bind(scope.account.as_str())
            .bind(scope.region.as_str())
            .bind(name)
            .bind(qualifier)
            .bind(expected_revision)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

//! [`FunctionAccessStore`] on PostgreSQL: the statements on `function_policies` and on the
//! tags and reserved concurrency columns of `functions`.

use std::collections::BTreeMap;

use lamina_types::Scope;
use lamina_types::function_policy::{FunctionPolicy, FunctionStatement};
use sqlx::Row;

use super::PgStore;
use crate::function_access_store::{FunctionAccessStore, ReserveOutcome};
use crate::metadata::StoreError;

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
impl FunctionAccessStore for PgStore {
    async fn replace_tags(
        &self,
        scope: &Scope,
        name: &str,
        expected: &BTreeMap<String, String>,
        tags: &BTreeMap<String, String>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE functions SET tags = $1 \
             WHERE account = $2 AND region = $3 AND name = $4 AND tags = $5",
        )
        .bind(tags_json(tags)?)
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(name)
        .bind(tags_json(expected)?)
        .execute(&self.pool)
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
        // Several nodes may reserve for different functions of one account at once, and
        // each statement only sees rows committed before it started: without a lock both
        // could pass the sum check. Locking every function row of the account first makes
        // reservations in one account take turns; the UPDATE's sum then sees the last one.
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "SELECT 1::bigint FROM functions WHERE account = $1 AND region = $2 FOR UPDATE",
        )
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query(
            "UPDATE functions SET reserved_concurrency = $1 \
             WHERE account = $2 AND region = $3 AND name = $4 \
             AND COALESCE($1, 0) + (SELECT COALESCE(SUM(reserved_concurrency), 0) FROM functions \
                 WHERE account = $2 AND region = $3 AND name != $4) <= $5",
        )
        .bind(reserved.map(i64::from))
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(name)
        .bind(i64::from(max_total))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if done.rows_affected() == 1 {
            return Ok(ReserveOutcome::Set);
        }
        let exists: Option<i64> = sqlx::query_scalar(
            "SELECT 1::bigint FROM functions WHERE account = $1 AND region = $2 AND name = $3",
        )
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match exists {
            Some(_) => ReserveOutcome::OverLimit,
            None => ReserveOutcome::Missing,
        })
    }

    async fn reserved_concurrency_total(&self, scope: &Scope) -> Result<u64, StoreError> {
        let total: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(reserved_concurrency), 0)::bigint FROM functions \
             WHERE account = $1 AND region = $2",
        )
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .fetch_one(&self.pool)
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
             WHERE account = $1 AND region = $2 AND function_name = $3 AND qualifier = $4",
        )
        .bind(scope.account.as_str())
        .bind(scope.region.as_str())
        .bind(name)
        .bind(qualifier)
        .fetch_optional(&self.pool)
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
        // written revision is a UUID); of two nodes inserting at once, the second finds the
        // first's row and inserts nothing. Every later write updates the row while its
        // revision is still the expected one (re-checked after a concurrent update commits).
        let query = if expected_revision.is_empty() {
            sqlx::query(
                "INSERT INTO function_policies \
                 (revision_id, statements, account, region, function_name, qualifier) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (account, region, function_name, qualifier) DO NOTHING",
            )
        } else {
            sqlx::query(
                "UPDATE function_policies SET revision_id = $1, statements = $2 \
                 WHERE account = $3 AND region = $4 AND function_name = $5 AND qualifier = $6 \
                 AND revision_id = $7",
            )
        };
        let query = query
            .bind(&policy.revision_id)
            .bind(statements)
            .bind(scope.account.as_str())
            .bind(scope.region.as_str())
            .bind(name)
            .bind(qualifier);
        let query = if expected_revision.is_empty() {
            query
        } else {
            query.bind(expected_revision)
        };
        let done = query.execute(&self.pool).await?;
        Ok(done.rows_affected() == 1)
    }
}

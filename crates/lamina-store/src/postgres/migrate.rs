//! Brings a PostgreSQL schema up to date, one numbered step at a time, in one transaction with
//! the version bump (PostgreSQL's DDL is transactional): a crash leaves the old schema and the
//! old version number.
//!
//! Several nodes may start at once on one database, so the steps run under a transaction-level
//! advisory lock: the first node migrates, the others wait and then find nothing to do.

use sqlx::{Executor, PgPool};

use super::{events, in_flight, nodes, schema};
use crate::metadata::StoreError;

/// The migration steps, in order: `STEPS[i]` brings the schema to version `i + 1`.
const STEPS: &[&str] = &[
    schema::SCHEMA_V1,
    nodes::SCHEMA_V2,
    events::SCHEMA_STEP_HOLDERS,
    in_flight::SCHEMA_STEP_IN_FLIGHT,
    super::access_keys::ACCESS_KEYS_SCHEMA,
];

/// The advisory lock key of the migration ("lamina" in ASCII); any fixed number works, as
/// long as nothing else on the database uses it.
const MIGRATION_LOCK: i64 = 0x6c61_6d69_6e61;

/// The schema version this build writes.
pub(super) fn schema_version() -> i64 {
    STEPS.len() as i64
}

/// Migrates the schema behind `pool` (its connections' `search_path`).
pub(super) async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *tx)
        .await?;
    tx.execute("CREATE TABLE IF NOT EXISTS lamina_schema (version BIGINT NOT NULL)")
        .await?;
    let current: Option<i64> = sqlx::query_scalar("SELECT version FROM lamina_schema")
        .fetch_optional(&mut *tx)
        .await?;
    let current = current.unwrap_or(0);
    if current > schema_version() {
        // A newer Lamina migrated this database; running older code on it could corrupt rows.
        return Err(StoreError::Corrupt {
            table: "lamina_schema",
            reason: format!(
                "schema version {current} is newer than this build's {}",
                schema_version()
            ),
        });
    }
    if current == schema_version() {
        return Ok(());
    }
    for step in STEPS.iter().skip(usize::try_from(current).unwrap_or(0)) {
        tx.execute(*step).await?;
    }
    sqlx::query("DELETE FROM lamina_schema")
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO lamina_schema (version) VALUES ($1)")
        .bind(schema_version())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

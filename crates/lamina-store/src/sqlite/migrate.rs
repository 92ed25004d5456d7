//! Brings a database's schema up to date, one numbered step at a time, all in one transaction
//! with the version bump: a crash leaves the old schema and the old version number.

use lamina_types::AccountId;
use sqlx::{Connection, Executor, SqlitePool};

use super::{
    SCHEMA, event_invoke, events, function_access, function_urls, functions, log_retention, nodes,
    provisioned, settings,
};
use crate::metadata::StoreError;

/// Version 1: layers. Version 2: functions, versions, aliases (see `functions.rs`). Version 3:
/// the function state model. Version 4: the queue of `Event` invocations (see `events.rs`).
/// Version 5: accounts (see [`schema_v5`]). Version 6: provisioned concurrency (see
/// `provisioned.rs`). Version 7: function resource policies (see `function_access.rs`).
/// Version 8: function URLs (see `function_urls.rs`). Version 9: asynchronous invocation
/// configurations (see `event_invoke.rs`). Version 11: function settings (see `settings.rs`).
/// Version 12: the node registry and log retention policies (see `nodes.rs` and
/// `log_retention.rs`). Version 13: the node holding each queued event (see `events.rs`).
pub(super) const SCHEMA_VERSION: i64 = 13;

/// Migrates the database behind `pool`. Rows written before accounts existed (schema 4 and
/// older) belong to `legacy_account`: the one account such a server had.
pub(super) async fn migrate(
    pool: &SqlitePool,
    legacy_account: &AccountId,
) -> Result<(), StoreError> {
    let current: i64 = sqlx::query_scalar("PRAGMA user_version")
        .fetch_one(pool)
        .await?;
    if current >= SCHEMA_VERSION {
        return Ok(());
    }
    let mut conn = pool.acquire().await?;
    // Version 5 rebuilds tables that others reference; with foreign keys on, dropping the old
    // `functions` would cascade into every version and alias. SQLite ignores this pragma inside
    // a transaction, so it is set around it, and the keys are checked before the commit.
    conn.execute("PRAGMA foreign_keys = OFF").await?;
    let mut tx = conn.begin().await?;
    if current < 1 {
        tx.execute(SCHEMA).await?;
    }
    if current < 2 {
        tx.execute(functions::SCHEMA_V2).await?;
    }
    if current < 3 {
        tx.execute(functions::SCHEMA_V3).await?;
    }
    if current < 4 {
        tx.execute(events::SCHEMA_V4).await?;
    }
    if current < 5 {
        tx.execute(sqlx::AssertSqlSafe(schema_v5(legacy_account)))
            .await?;
    }
    if current < 6 {
        tx.execute(provisioned::SCHEMA_V6).await?;
    }
    if current < 7 {
        tx.execute(function_access::SCHEMA_V7).await?;
    }
    if current < 8 {
        tx.execute(function_urls::SCHEMA_V8).await?;
    }
    if current < 9 {
        tx.execute(event_invoke::SCHEMA_V9).await?;
    }
    if current < 11 {
        tx.execute(settings::SCHEMA_V11).await?;
    }
    if current < 12 {
        tx.execute(nodes::SCHEMA_V12).await?;
        tx.execute(log_retention::SCHEMA_V12).await?;
    }
    if current < 13 {
        tx.execute(events::SCHEMA_V13).await?;
    }
    let broken: Vec<sqlx::sqlite::SqliteRow> = sqlx::query("PRAGMA foreign_key_check")
        .fetch_all(&mut *tx)
        .await?;
    if !broken.is_empty() {
        return Err(StoreError::Corrupt {
            table: "functions",
            reason: format!("{} rows break a foreign key after migration", broken.len()),
        });
    }
    tx.execute(sqlx::AssertSqlSafe(format!(
        "PRAGMA user_version = {SCHEMA_VERSION}"
    )))
    .await?;
    tx.commit().await?;
    conn.execute("PRAGMA foreign_keys = ON").await?;
    Ok(())
}

/// Version 5: every table gains an `account` column, first in its key, so each account has its
/// own names and counters. SQLite cannot change a primary key in place, so each table is
/// rebuilt (create, copy, drop, rename). The account is a literal: it is twelve digits,
/// checked by [`AccountId::parse`], so it cannot break out of its quotes.
fn schema_v5(legacy_account: &AccountId) -> String {
    let account = legacy_account.as_str();
    format!(
        "
CREATE TABLE functions_v5 (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    last_version INTEGER NOT NULL DEFAULT 0,
    tags TEXT NOT NULL DEFAULT '{{}}',
    reserved_concurrency INTEGER,
    PRIMARY KEY (account, region, name)
);
INSERT INTO functions_v5 SELECT '{account}', region, name, last_version, tags,
    reserved_concurrency FROM functions;
DROP TABLE functions;
ALTER TABLE functions_v5 RENAME TO functions;

CREATE TABLE function_versions_v5 (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    revision_id TEXT NOT NULL,
    last_modified_millis INTEGER NOT NULL,
    code_sha256 TEXT NOT NULL,
    code_size INTEGER NOT NULL,
    unzipped_size INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    config TEXT NOT NULL,
    status TEXT,
    previous TEXT,
    PRIMARY KEY (account, region, name, version),
    FOREIGN KEY (account, region, name) REFERENCES functions (account, region, name)
        ON DELETE CASCADE
);
INSERT INTO function_versions_v5 SELECT '{account}', region, name, version, revision_id,
    last_modified_millis, code_sha256, code_size, unzipped_size, content_hash, config, status,
    previous FROM function_versions;
DROP TABLE function_versions;
ALTER TABLE function_versions_v5 RENAME TO function_versions;
CREATE INDEX function_versions_by_digest ON function_versions (code_sha256);

CREATE TABLE function_aliases_v5 (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    function_name TEXT NOT NULL,
    name TEXT NOT NULL,
    function_version TEXT NOT NULL,
    description TEXT NOT NULL,
    routing TEXT,
    revision_id TEXT NOT NULL,
    PRIMARY KEY (account, region, function_name, name),
    FOREIGN KEY (account, region, function_name) REFERENCES functions (account, region, name)
        ON DELETE CASCADE
);
INSERT INTO function_aliases_v5 SELECT '{account}', region, function_name, name,
    function_version, description, routing, revision_id FROM function_aliases;
DROP TABLE function_aliases;
ALTER TABLE function_aliases_v5 RENAME TO function_aliases;

CREATE TABLE layers_v5 (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    last_version INTEGER NOT NULL,
    PRIMARY KEY (account, region, name)
);
INSERT INTO layers_v5 SELECT '{account}', region, name, last_version FROM layers;
DROP TABLE layers;
ALTER TABLE layers_v5 RENAME TO layers;

CREATE TABLE layer_versions_v5 (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    description TEXT NOT NULL,
    created_millis INTEGER NOT NULL,
    compatible_runtimes TEXT,
    compatible_architectures TEXT,
    license_info TEXT,
    code_sha256 TEXT NOT NULL,
    code_size INTEGER NOT NULL,
    unzipped_size INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    policy_revision TEXT NOT NULL DEFAULT '',
    policy_statements TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (account, region, name, version)
);
INSERT INTO layer_versions_v5 SELECT '{account}', region, name, version, description,
    created_millis, compatible_runtimes, compatible_architectures, license_info, code_sha256,
    code_size, unzipped_size, deleted, policy_revision, policy_statements FROM layer_versions;
DROP TABLE layer_versions;
ALTER TABLE layer_versions_v5 RENAME TO layer_versions;
CREATE INDEX layer_versions_by_digest ON layer_versions (code_sha256);

ALTER TABLE async_events ADD COLUMN account TEXT NOT NULL DEFAULT '{account}';
"
    )
}

//! Reading rows of either engine: the records SQLite and PostgreSQL store alike are decoded
//! once, over [`StoreRow`], instead of once per engine.

use lamina_types::layer::{Digest, LayerVersionRecord};
use lamina_types::{AccountId, LayerName, Region, Scope};
use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

use crate::event_store::{EventHeader, NewEvent, QueuedEvent};
use crate::metadata::StoreError;

/// The columns a shared decoder reads, by type.
pub(crate) trait StoreRow {
    /// A `TEXT` column.
    fn text(&self, column: &str) -> Result<String, StoreError>;
    /// A `TEXT` column that may be `NULL`.
    fn optional_text(&self, column: &str) -> Result<Option<String>, StoreError>;
    /// An integer column (`INTEGER`, `BIGINT`).
    fn int(&self, column: &str) -> Result<i64, StoreError>;
    /// A `BLOB` or `BYTEA` column.
    fn bytes(&self, column: &str) -> Result<Vec<u8>, StoreError>;
}

macro_rules! store_row {
    ($row:ty) => {
        impl StoreRow for $row {
            fn text(&self, column: &str) -> Result<String, StoreError> {
                Ok(self.try_get(column)?)
            }
            fn optional_text(&self, column: &str) -> Result<Option<String>, StoreError> {
                Ok(self.try_get(column)?)
            }
            fn int(&self, column: &str) -> Result<i64, StoreError> {
                Ok(self.try_get(column)?)
            }
            fn bytes(&self, column: &str) -> Result<Vec<u8>, StoreError> {
                Ok(self.try_get(column)?)
            }
        }
    };
}

store_row!(SqliteRow);
store_row!(PgRow);

fn corrupt(table: &'static str) -> impl Fn(String) -> StoreError {
    move |reason| StoreError::Corrupt { table, reason }
}

/// The `account` and `region` columns of a row of `table`.
pub(crate) fn scope_of(row: &impl StoreRow, table: &'static str) -> Result<Scope, StoreError> {
    let (account, region) = (row.text("account")?, row.text("region")?);
    let bad = corrupt(table);
    Ok(Scope::new(
        AccountId::parse(&account).ok_or_else(|| bad(format!("account {account}")))?,
        Region::parse(&region).ok_or_else(|| bad(format!("region {region}")))?,
    ))
}

/// A row of `layer_versions`.
pub(crate) fn layer_version(row: &impl StoreRow) -> Result<LayerVersionRecord, StoreError> {
    let bad = corrupt("layer_versions");
    let size = |column| u64::try_from(row.int(column)?).map_err(|e| bad(e.to_string()));
    let list = |column| {
        row.optional_text(column)?
            .map(|s| serde_json::from_str(&s).map_err(|e| bad(e.to_string())))
            .transpose()
    };
    let (name, sha) = (row.text("name")?, row.text("code_sha256")?);
    Ok(LayerVersionRecord {
        scope: scope_of(row, "layer_versions")?,
        name: LayerName::parse(&name).ok_or_else(|| bad(format!("name {name}")))?,
        version: row.int("version")?,
        description: row.text("description")?,
        created_millis: row.int("created_millis")?,
        compatible_runtimes: list("compatible_runtimes")?,
        compatible_architectures: list("compatible_architectures")?,
        license_info: row.optional_text("license_info")?,
        code_sha256: Digest::from_hex(&sha).ok_or_else(|| bad(format!("digest {sha}")))?,
        code_size: size("code_size")?,
        unzipped_size: size("unzipped_size")?,
    })
}

/// The function error attempts of a row of `async_events`.
fn attempts_of(row: &impl StoreRow) -> Result<u32, StoreError> {
    u32::try_from(row.int("function_error_attempts")?)
        .map_err(|e| corrupt("async_events")(e.to_string()))
}

/// A row of `async_events`, without its payload.
pub(crate) fn event_header(row: &impl StoreRow) -> Result<EventHeader, StoreError> {
    Ok(EventHeader {
        id: row.int("id")?,
        request_id: row.text("request_id")?,
        scope: scope_of(row, "async_events")?,
        function_name: row.text("function_name")?,
        enqueued_millis: row.int("enqueued_millis")?,
        function_error_attempts: attempts_of(row)?,
        next_attempt_millis: row.int("next_attempt_millis")?,
    })
}

/// A row of `async_events` in full.
pub(crate) fn queued_event(row: &impl StoreRow) -> Result<QueuedEvent, StoreError> {
    Ok(QueuedEvent {
        id: row.int("id")?,
        event: NewEvent {
            request_id: row.text("request_id")?,
            scope: scope_of(row, "async_events")?,
            function_name: row.text("function_name")?,
            qualifier: row.optional_text("qualifier")?,
            invoked_function_arn: row.text("invoked_function_arn")?,
            payload: row.bytes("payload")?,
            client_context: row.optional_text("client_context")?,
            enqueued_millis: row.int("enqueued_millis")?,
        },
        function_error_attempts: attempts_of(row)?,
        next_attempt_millis: row.int("next_attempt_millis")?,
    })
}

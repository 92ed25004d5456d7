//! The rows of `function_versions` and `function_aliases` as both engines store them: their
//! columns, their decoding and the JSON of their structured columns, written once.

use std::collections::BTreeMap;

use lamina_types::function_config::{AliasRecord, FunctionConfig, FunctionVersionRecord};
use lamina_types::function_state::FunctionStatus;
use lamina_types::layer::Digest;

use crate::metadata::StoreError;
use crate::rows::{StoreRow, scope_of};

/// The columns of `function_versions` that [`function_version`] reads.
macro_rules! fv_columns {
    () => {
        "account, region, name, version, revision_id, last_modified_millis, code_sha256, code_size, \
         unzipped_size, content_hash, config, status, previous"
    };
}

/// The columns of `function_aliases` that [`alias`] reads.
macro_rules! alias_columns {
    () => {
        "account, region, function_name, name, function_version, description, routing, \
         revision_id"
    };
}

pub(crate) fn corrupt(table: &'static str, reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        table,
        reason: reason.to_string(),
    }
}

pub(crate) fn to_i64(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|e| corrupt("function_versions", e))
}

pub(crate) fn to_u64(n: i64) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|e| corrupt("function_versions", e))
}

pub(crate) fn function_version(row: &impl StoreRow) -> Result<FunctionVersionRecord, StoreError> {
    const T: &str = "function_versions";
    let sha = row.text("code_sha256")?;
    let config = row.text("config")?;
    let status = row.optional_text("status")?;
    let previous = row.optional_text("previous")?;
    Ok(FunctionVersionRecord {
        scope: scope_of(row, T)?,
        name: row.text("name")?,
        version: row.int("version")?,
        revision_id: row.text("revision_id")?,
        last_modified_millis: row.int("last_modified_millis")?,
        code_sha256: Digest::from_hex(&sha).ok_or_else(|| corrupt(T, format!("digest {sha}")))?,
        code_size: to_u64(row.int("code_size")?)?,
        unzipped_size: to_u64(row.int("unzipped_size")?)?,
        content_hash: row.text("content_hash")?,
        config: serde_json::from_str::<FunctionConfig>(&config).map_err(|e| corrupt(T, e))?,
        status: match status {
            Some(raw) => serde_json::from_str(&raw).map_err(|e| corrupt(T, e))?,
            None => FunctionStatus::active(),
        },
        previous: previous
            .map(|raw| serde_json::from_str(&raw).map_err(|e| corrupt(T, e)))
            .transpose()?,
    })
}

pub(crate) fn alias(row: &impl StoreRow) -> Result<AliasRecord, StoreError> {
    const T: &str = "function_aliases";
    let routing = row.optional_text("routing")?;
    let weights = routing
        .map(|raw| serde_json::from_str::<BTreeMap<String, f64>>(&raw).map_err(|e| corrupt(T, e)))
        .transpose()?;
    Ok(AliasRecord {
        scope: scope_of(row, T)?,
        function_name: row.text("function_name")?,
        name: row.text("name")?,
        function_version: row.text("function_version")?,
        description: row.text("description")?,
        additional_version_weights: weights,
        revision_id: row.text("revision_id")?,
    })
}

pub(crate) fn routing_json(alias: &AliasRecord) -> Result<Option<String>, StoreError> {
    alias
        .additional_version_weights
        .as_ref()
        .map(|w| serde_json::to_string(w).map_err(|e| corrupt("function_aliases", e)))
        .transpose()
}

pub(crate) fn config_json(record: &FunctionVersionRecord) -> Result<String, StoreError> {
    serde_json::to_string(&record.config).map_err(|e| corrupt("function_versions", e))
}

pub(crate) fn status_json(record: &FunctionVersionRecord) -> Result<String, StoreError> {
    serde_json::to_string(&record.status).map_err(|e| corrupt("function_versions", e))
}

pub(crate) fn previous_json(record: &FunctionVersionRecord) -> Result<Option<String>, StoreError> {
    record
        .previous
        .as_ref()
        .map(|p| serde_json::to_string(p).map_err(|e| corrupt("function_versions", e)))
        .transpose()
}

pub(crate) use {alias_columns, fv_columns};

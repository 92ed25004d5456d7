//! The rows of `function_urls` as both engines store them: columns, decoding and the CORS JSON,
//! written once.

use lamina_types::function_url::{FunctionUrlRecord, UrlAuthType, UrlCors, UrlInvokeMode};

use crate::metadata::StoreError;
use crate::rows::{StoreRow, scope_of};

pub(crate) const TABLE: &str = "function_urls";

macro_rules! columns {
    () => {
        "account, region, function_name, qualifier, url_id, auth_type, invoke_mode, cors, \
         created_millis, last_modified_millis"
    };
}

pub(crate) fn corrupt(reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        table: TABLE,
        reason: reason.to_string(),
    }
}

pub(crate) fn from_row(row: &impl StoreRow) -> Result<FunctionUrlRecord, StoreError> {
    let qualifier = row.text("qualifier")?;
    let auth_type = row.text("auth_type")?;
    let invoke_mode = row.text("invoke_mode")?;
    let cors = row.optional_text("cors")?;
    Ok(FunctionUrlRecord {
        scope: scope_of(row, TABLE)?,
        function_name: row.text("function_name")?,
        qualifier: (!qualifier.is_empty()).then_some(qualifier),
        url_id: row.text("url_id")?,
        auth_type: UrlAuthType::parse(&auth_type).ok_or_else(|| corrupt("an invalid auth type"))?,
        invoke_mode: UrlInvokeMode::parse(&invoke_mode)
            .ok_or_else(|| corrupt("an invalid invoke mode"))?,
        cors: cors
            .map(|c| serde_json::from_str::<UrlCors>(&c))
            .transpose()
            .map_err(corrupt)?,
        created_millis: row.int("created_millis")?,
        last_modified_millis: row.int("last_modified_millis")?,
    })
}

pub(crate) fn cors_json(record: &FunctionUrlRecord) -> Result<Option<String>, StoreError> {
    record
        .cors
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(corrupt)
}

pub(crate) use columns;

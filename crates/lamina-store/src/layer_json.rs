//! The JSON text both engines store in a layer version's TEXT columns: compatible lists and
//! policy statements, encoded in one place so the engines cannot drift apart.

use lamina_types::layer::LayerStatement;

use crate::metadata::StoreError;

fn corrupt(reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        table: "layer_versions",
        reason: reason.to_string(),
    }
}

/// `CompatibleRuntimes` or `CompatibleArchitectures` as a JSON array (`None` stays NULL).
pub(crate) fn list_to_json(list: &Option<Vec<String>>) -> Option<String> {
    list.as_ref()
        .map(|l| serde_json::Value::from(l.clone()).to_string())
}

/// A policy's statements as a JSON array of objects.
pub(crate) fn statements_to_json(statements: &[LayerStatement]) -> String {
    let items: Vec<serde_json::Value> = statements
        .iter()
        .map(|s| {
            serde_json::json!({
                "sid": s.sid,
                "principal": s.principal,
                "organization_id": s.organization_id,
            })
        })
        .collect();
    serde_json::Value::from(items).to_string()
}

/// The statements [`statements_to_json`] wrote.
pub(crate) fn statements_from_json(raw: &str) -> Result<Vec<LayerStatement>, StoreError> {
    let items: Vec<serde_json::Value> = serde_json::from_str(raw).map_err(corrupt)?;
    items
        .iter()
        .map(|v| {
            let text = |key: &str| v.get(key).and_then(|x| x.as_str()).map(str::to_owned);
            Ok(LayerStatement {
                sid: text("sid").ok_or_else(|| corrupt("statement without sid"))?,
                principal: text("principal")
                    .ok_or_else(|| corrupt("statement without principal"))?,
                organization_id: text("organization_id"),
            })
        })
        .collect()
}

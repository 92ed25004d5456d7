//! Attaching layer versions to a function, with AWS's rules and messages: at most five,
//! one version per layer, same region, the caller's own layers or versions another account
//! shared with it, live versions only, and the 250 MB unzipped limit of
//! code plus layers.

use lamina_store::FunctionStore;
use lamina_types::function_config::AttachedLayer;
use lamina_types::limits::{MAX_LAYERS_PER_FUNCTION, MAX_UNZIPPED_BYTES};
use lamina_types::{LambdaError, Scope};

use super::validate::LayerEntry;
use crate::layers::access::{Access, access_denied, layer_version_for};

fn does_not_exist(arn: &str) -> LambdaError {
    LambdaError::InvalidParameterValue(format!("Layer version {arn} does not exist."))
}

/// Looks up every entry, in order, and captures what the function needs to keep running
/// them after they are deleted.
pub(crate) async fn attach_layers(
    store: &dyn FunctionStore,
    scope: &Scope,
    entries: &[LayerEntry],
) -> Result<Vec<AttachedLayer>, LambdaError> {
    if entries.len() > MAX_LAYERS_PER_FUNCTION {
        return Err(LambdaError::InvalidParameterValue(format!(
            "Cannot reference more than {MAX_LAYERS_PER_FUNCTION} layers."
        )));
    }
    let mut attached: Vec<(String, AttachedLayer)> = Vec::with_capacity(entries.len());
    for entry in entries {
        let arn = match entry {
            LayerEntry::Unknown(raw) => return Err(does_not_exist(raw)),
            LayerEntry::Arn(arn) => arn,
        };
        let text = arn.to_string();
        if arn.region != scope.region {
            return Err(LambdaError::InvalidParameterValue(format!(
                "Layers are not in the same region as the function. Layers are expected to be \
                 in region {}.",
                scope.region
            )));
        }
        let record = match layer_version_for(store, scope, arn).await? {
            Access::Usable(record) => *record,
            Access::Missing => return Err(does_not_exist(&text)),
            Access::Denied => return Err(access_denied(&scope.account, "GetLayerVersion", &text)),
        };
        let layer_key = format!("{}:{}", arn.account, arn.name);
        if let Some((_, first)) = attached.iter().find(|(key, _)| *key == layer_key) {
            return Err(LambdaError::InvalidParameterValue(format!(
                "Two different versions of the same layer are not allowed to be referenced in \
                 the same function. {} and {text} are versions of the same layer.",
                first.arn
            )));
        }
        attached.push((
            layer_key,
            AttachedLayer {
                arn: text,
                code_size: record.code_size,
                unzipped_size: record.unzipped_size,
                digest: record.code_sha256,
            },
        ));
    }
    Ok(attached.into_iter().map(|(_, layer)| layer).collect())
}

/// The function's code plus its layers must unzip to at most 262,144,000 bytes.
pub(crate) fn check_total_size(
    code_unzipped: u64,
    layers: &[AttachedLayer],
) -> Result<(), LambdaError> {
    if layers.is_empty() {
        return Ok(());
    }
    let total = layers
        .iter()
        .fold(code_unzipped, |sum, l| sum.saturating_add(l.unzipped_size));
    if total > MAX_UNZIPPED_BYTES {
        return Err(LambdaError::InvalidParameterValue(format!(
            "Function code combined with layers exceeds the maximum allowed size of \
             {MAX_UNZIPPED_BYTES} bytes. The actual size is {total} bytes."
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use lamina_types::layer::Digest;

    use super::*;

    fn layer(unzipped: u64) -> AttachedLayer {
        AttachedLayer {
            arn: "arn:aws:lambda:us-west-2:123456789012:layer:l:1".into(),
            code_size: 1,
            unzipped_size: unzipped,
            digest: Digest([0; 32]),
        }
    }

    #[test]
    fn total_size_boundary() {
        assert!(check_total_size(MAX_UNZIPPED_BYTES, &[]).is_ok());
        assert!(check_total_size(MAX_UNZIPPED_BYTES - 10, &[layer(10)]).is_ok());
        let e = check_total_size(MAX_UNZIPPED_BYTES - 10, &[layer(11)]).unwrap_err();
        assert_eq!(
            e.message(),
            "Function code combined with layers exceeds the maximum allowed size of 262144000 \
             bytes. The actual size is 262144001 bytes."
        );
    }
}

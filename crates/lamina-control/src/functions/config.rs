//! Building a version's configuration from a request: AWS's defaults on create, partial
//! replacement on update, and the digest that tells whether anything changed.

use lamina_types::Region;
use lamina_types::function_config::{AttachedLayer, FunctionConfig, LoggingConfig};
use lamina_types::layer::Digest;
use lamina_types::limits::{DEFAULT_EPHEMERAL_STORAGE_MB, DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_SECS};
use sha2::{Digest as _, Sha256};

use super::commands::{ConfigInput, LoggingInput};
use super::environment::EnvironmentVariables;

/// Numbers already validated to be within their model ranges.
fn small(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// `LoggingConfig` after a request: JSON format brings INFO levels unless given, Text drops
/// them; unspecified members keep their previous value.
pub(crate) fn logging(
    function_name: &str,
    input: Option<&LoggingInput>,
    previous: Option<&LoggingConfig>,
) -> LoggingConfig {
    let mut out = previous.cloned().unwrap_or_else(|| LoggingConfig {
        log_format: "Text".to_owned(),
        application_log_level: None,
        system_log_level: None,
        log_group: format!("/aws/lambda/{function_name}"),
    });
    let Some(input) = input else { return out };
    if let Some(format) = &input.log_format {
        out.log_format = format.clone();
    }
    if let Some(group) = &input.log_group {
        out.log_group = group.clone();
    }
    if out.log_format == "JSON" {
        out.application_log_level = input
            .application_log_level
            .clone()
            .or(out.application_log_level)
            .or_else(|| Some("INFO".to_owned()));
        out.system_log_level = input
            .system_log_level
            .clone()
            .or(out.system_log_level)
            .or_else(|| Some("INFO".to_owned()));
    } else {
        out.application_log_level = None;
        out.system_log_level = None;
    }
    out
}

/// The configuration of a new function, with AWS's defaults for what was not sent.
pub(crate) fn new_config(
    function_name: &str,
    input: &ConfigInput,
    architectures: Option<Vec<String>>,
    layers: Vec<AttachedLayer>,
) -> FunctionConfig {
    FunctionConfig {
        runtime: input.runtime.clone(),
        handler: input.handler.clone(),
        role: input.role.clone().unwrap_or_default(),
        description: input.description.clone().unwrap_or_default(),
        timeout_secs: input.timeout.map_or(DEFAULT_TIMEOUT_SECS, small),
        memory_mb: input.memory_size.map_or(DEFAULT_MEMORY_MB, small),
        ephemeral_storage_mb: input
            .ephemeral_storage
            .flatten()
            .map_or(DEFAULT_EPHEMERAL_STORAGE_MB, small),
        environment: input.environment.as_ref().map(EnvironmentVariables::to_map),
        layers,
        architectures: architectures.unwrap_or_else(|| vec!["x86_64".to_owned()]),
        package_type: "Zip".to_owned(),
        tracing_mode: input
            .tracing_mode
            .clone()
            .flatten()
            .unwrap_or_else(|| "PassThrough".to_owned()),
        logging: logging(function_name, input.logging.as_ref(), None),
        snap_start_apply_on: input
            .snap_start_apply_on
            .clone()
            .flatten()
            .unwrap_or_else(|| "None".to_owned()),
        kms_key_arn: input.kms_key_arn.clone().filter(|k| !k.is_empty()),
        extra: input.extra.clone(),
    }
}

/// Applies the members an UpdateFunctionConfiguration sent; `layers` replaces the whole list
/// when `Layers` was sent.
pub(crate) fn apply_update(
    function_name: &str,
    config: &mut FunctionConfig,
    input: &ConfigInput,
    layers: Option<Vec<AttachedLayer>>,
) {
    if let Some(r) = &input.role {
        config.role = r.clone();
    }
    if let Some(r) = &input.runtime {
        config.runtime = Some(r.clone());
    }
    if let Some(h) = &input.handler {
        config.handler = Some(h.clone());
    }
    if let Some(d) = &input.description {
        config.description = d.clone();
    }
    if let Some(t) = input.timeout {
        config.timeout_secs = small(t);
    }
    if let Some(m) = input.memory_size {
        config.memory_mb = small(m);
    }
    if let Some(Some(size)) = input.ephemeral_storage {
        config.ephemeral_storage_mb = small(size);
    }
    if let Some(env) = &input.environment {
        config.environment = Some(env.to_map());
    }
    if let Some(layers) = layers {
        config.layers = layers;
    }
    if let Some(Some(mode)) = &input.tracing_mode {
        config.tracing_mode = mode.clone();
    }
    if input.logging.is_some() {
        config.logging = logging(function_name, input.logging.as_ref(), Some(&config.logging));
    }
    if let Some(Some(apply_on)) = &input.snap_start_apply_on {
        config.snap_start_apply_on = apply_on.clone();
    }
    if let Some(k) = &input.kms_key_arn {
        config.kms_key_arn = Some(k.clone()).filter(|k| !k.is_empty());
    }
    for (key, value) in &input.extra {
        config.extra.insert(key.clone(), value.clone());
    }
}

/// Hex SHA-256 of the code digest and the configuration: equal iff nothing changed.
pub(crate) fn content_hash(config: &FunctionConfig, code: &Digest) -> String {
    let mut hasher = Sha256::new();
    hasher.update(code.to_hex().as_bytes());
    hasher.update(b"\n");
    hasher.update(serde_json::to_vec(config).unwrap_or_default());
    Digest(hasher.finalize().into()).to_hex()
}

/// `arn:aws:lambda:<region>::runtime:<64 hex>`, stable per runtime identifier.
pub(crate) fn runtime_version_arn(region: &Region, runtime: &str) -> String {
    let digest: [u8; 32] = Sha256::digest(format!("lamina runtime {runtime}")).into();
    format!(
        "arn:aws:lambda:{region}::runtime:{}",
        Digest(digest).to_hex()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_as_aws_creates_them() {
        let c = new_config("f", &ConfigInput::default(), None, vec![]);
        assert_eq!(
            (c.timeout_secs, c.memory_mb, c.ephemeral_storage_mb),
            (3, 128, 512)
        );
        assert_eq!(c.architectures, vec!["x86_64"]);
        assert_eq!(c.tracing_mode, "PassThrough");
        assert_eq!(c.logging.log_group, "/aws/lambda/f");
        assert_eq!(c.logging.log_format, "Text");
        assert_eq!(c.snap_start_apply_on, "None");
        assert!(c.environment.is_none());
    }

    #[test]
    fn logging_json_brings_levels_text_drops_them() {
        let json = LoggingInput {
            log_format: Some("JSON".into()),
            ..Default::default()
        };
        let l = logging("f", Some(&json), None);
        assert_eq!(l.application_log_level.as_deref(), Some("INFO"));
        let text = LoggingInput {
            log_format: Some("Text".into()),
            ..Default::default()
        };
        let back = logging("f", Some(&text), Some(&l));
        assert_eq!(back.application_log_level, None);
        assert_eq!(back.log_group, "/aws/lambda/f");
    }

    #[test]
    fn hash_changes_with_config_and_code() {
        let c = new_config("f", &ConfigInput::default(), None, vec![]);
        let h = content_hash(&c, &Digest([1; 32]));
        assert_eq!(h, content_hash(&c.clone(), &Digest([1; 32])));
        assert_ne!(h, content_hash(&c, &Digest([2; 32])));
        let mut d = c.clone();
        d.description = "x".into();
        assert_ne!(h, content_hash(&d, &Digest([1; 32])));
        assert!(
            runtime_version_arn(&Region::parse("us-west-2").unwrap(), "python3.12")
                .starts_with("arn:aws:lambda:us-west-2::runtime:")
        );
    }
}

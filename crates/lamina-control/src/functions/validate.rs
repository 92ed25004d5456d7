//! Model validation of the function operations (ValidationException, every violation of a
//! request in one message) and the AWS rules on runtimes and environments that answer
//! InvalidParameterValueException.

use std::collections::BTreeMap;

use lamina_types::arn::{
    LAYER_VERSION_ARN_PATTERN, LayerVersionArnError, MAX_LAYER_NAME_OR_ARN_LEN,
};
use lamina_types::function_arn::{FunctionRef, NameShape, check_role};
use lamina_types::function_config::{FunctionConfig, RESERVED_ENVIRONMENT_VARIABLES};
use lamina_types::limits::{
    MAX_DESCRIPTION_CHARS, MAX_ENVIRONMENT_BYTES, MAX_HANDLER_CHARS, MAX_TAG_KEY_CHARS,
    MAX_TAG_VALUE_CHARS, MAX_TAGS_PER_FUNCTION, RESERVED_TAG_KEY_PREFIX,
};
use lamina_types::runtime::{ALL_ARCHITECTURES, SUPPORTED_RUNTIMES};
use lamina_types::validation::{Constraint, Violations, render_list};
use lamina_types::{LambdaError, LayerVersionArn, Runtime};

use super::commands::{ConfigInput, LoggingInput};
use super::environment::EnvironmentVariables;

/// `EnvironmentVariableName`.
pub(crate) const ENV_NAME_PATTERN: &str = "[a-zA-Z]([a-zA-Z0-9_])+";

/// `Handler`.
pub(crate) const HANDLER_PATTERN: &str = "[^\\s]+";

/// `LogGroup`.
pub(crate) const LOG_GROUP_PATTERN: &str = "[\\.\\-_/#A-Za-z0-9]+";

/// Longest `LogGroup`.
const MAX_LOG_GROUP_CHARS: usize = 512;

/// A `Layers` entry after model validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LayerEntry {
    /// A layer version ARN Lamina can look up.
    Arn(LayerVersionArn),
    /// It matches the model but can name nothing here (an AWS-managed `awslayer`, or an
    /// impossible version number): it "does not exist".
    Unknown(String),
}

/// Checks a `FunctionName` and returns it parsed, or records the violation.
pub(crate) fn function_name(
    v: &mut Violations,
    raw: &str,
    shape: NameShape,
) -> Option<FunctionRef> {
    match FunctionRef::parse(raw, shape) {
        Ok(r) => Some(r),
        Err(c) => {
            v.add("functionName", raw, c);
            None
        }
    }
}

/// `value` of a string member is at most `max` characters.
pub(crate) fn max_chars(v: &mut Violations, field: &str, value: Option<&str>, max: usize) {
    if let Some(s) = value
        && s.chars().count() > max
    {
        v.add(field, s, Constraint::MaxLength(max));
    }
}

/// An integer member within `min..=max`.
pub(crate) fn range(v: &mut Violations, field: &str, value: Option<i64>, min: u32, max: u32) {
    match value {
        Some(n) if n < i64::from(min) => {
            v.add(field, &n.to_string(), Constraint::MinValue(i64::from(min)))
        }
        Some(n) if n > i64::from(max) => {
            v.add(field, &n.to_string(), Constraint::MaxValue(i64::from(max)))
        }
        _ => {}
    }
}

/// A string member within an enumeration.
pub(crate) fn one_of(
    v: &mut Violations,
    field: &str,
    value: Option<&str>,
    values: &[&'static str],
) {
    if let Some(s) = value
        && !values.contains(&s)
    {
        v.add(field, s, Constraint::Enum(values.to_vec()));
    }
}

/// `Role`: required when `required`, and an IAM role ARN.
pub(crate) fn role(v: &mut Violations, value: Option<&str>, required: bool) {
    match value {
        None if required => v.add_null("role"),
        None => {}
        Some(r) => {
            if let Err(c) = check_role(r) {
                v.add("role", r, c);
            }
        }
    }
}

/// `Handler`: at most 128 non-blank characters.
pub(crate) fn handler(v: &mut Violations, value: Option<&str>) {
    let Some(h) = value else { return };
    if h.chars().count() > MAX_HANDLER_CHARS {
        v.add("handler", h, Constraint::MaxLength(MAX_HANDLER_CHARS));
    } else if h.is_empty() || h.chars().any(char::is_whitespace) {
        v.add("handler", h, Constraint::Pattern(HANDLER_PATTERN));
    }
}

/// `Architectures`: exactly one of `x86_64`, `arm64`.
pub(crate) fn architectures(v: &mut Violations, value: Option<&[String]>) {
    let Some(list) = value else { return };
    let shown = render_list(list);
    if list.len() > 1 {
        v.add("architectures", &shown, Constraint::MaxLength(1));
    } else if list.is_empty() {
        v.add("architectures", &shown, Constraint::MinLength(1));
    } else if list
        .iter()
        .any(|a| !ALL_ARCHITECTURES.contains(&a.as_str()))
    {
        v.add(
            "architectures",
            &shown,
            Constraint::ListMember(vec![Constraint::Enum(ALL_ARCHITECTURES.to_vec())]),
        );
    }
}

/// `Environment.Variables` names. Values are secrets: the message shows `***` for them.
/// The names are listed sorted: AWS's order here is not recorded (only the 4 KB message's is).
pub(crate) fn environment_names(v: &mut Violations, env: Option<&EnvironmentVariables>) {
    let Some(env) = env else { return };
    let mut names: Vec<&str> = env.names().collect();
    names.sort_unstable();
    if names.iter().any(|k| !is_env_name(k)) {
        let shown: Vec<String> = names.iter().map(|k| format!("{k}=***")).collect();
        v.add(
            "environment.variables",
            &format!("{{{}}}", shown.join(", ")),
            Constraint::MapKeys(vec![Constraint::Pattern(ENV_NAME_PATTERN)]),
        );
    }
}

/// `[a-zA-Z]([a-zA-Z0-9_])+`
fn is_env_name(k: &str) -> bool {
    let mut bytes = k.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && k.len() >= 2
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `Layers`: each a layer version ARN of the model. Returns the entries when all are valid.
pub(crate) fn layers(v: &mut Violations, value: Option<&[String]>) -> Option<Vec<LayerEntry>> {
    let list = value?;
    let mut entries = Vec::with_capacity(list.len());
    for raw in list {
        match LayerVersionArn::parse(raw, "layers") {
            Ok(arn) => entries.push(LayerEntry::Arn(arn)),
            Err(LayerVersionArnError::Unknown) => entries.push(LayerEntry::Unknown(raw.clone())),
            Err(LayerVersionArnError::Invalid(_)) => {
                v.add(
                    "layers",
                    &render_list(list),
                    Constraint::ListMember(vec![
                        Constraint::MaxLength(MAX_LAYER_NAME_OR_ARN_LEN),
                        Constraint::MinLength(1),
                        Constraint::Pattern(LAYER_VERSION_ARN_PATTERN),
                    ]),
                );
                return None;
            }
        }
    }
    Some(entries)
}

/// `Tags`: keys 1 to 128 characters, values at most 256.
pub(crate) fn tags(v: &mut Violations, value: Option<&BTreeMap<String, String>>) {
    let Some(tags) = value else { return };
    let shown = || {
        let parts: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{{{}}}", parts.join(", "))
    };
    if tags
        .keys()
        .any(|k| k.is_empty() || k.chars().count() > MAX_TAG_KEY_CHARS)
    {
        v.add(
            "tags",
            &shown(),
            Constraint::MapKeys(vec![
                Constraint::MaxLength(MAX_TAG_KEY_CHARS),
                Constraint::MinLength(1),
            ]),
        );
    }
    if tags
        .values()
        .any(|x| x.chars().count() > MAX_TAG_VALUE_CHARS)
    {
        v.add(
            "tags",
            &shown(),
            Constraint::MapValues(vec![Constraint::MaxLength(MAX_TAG_VALUE_CHARS)]),
        );
    }
}

/// AWS's answer to more than [`MAX_TAGS_PER_FUNCTION`] tags. LocalStack, whose Lambda tests are
/// recorded against AWS, words it so; the exact text was not seen from AWS itself.
pub(crate) const TOO_MANY_TAGS: &str = "Number of tags exceeds function tag limit.";

/// AWS's answer to a tag key starting with `aws:`. A guess: this is the wording other AWS
/// services (CloudFormation, the tagging API) use for reserved keys; Lambda's own text was not
/// found.
pub(crate) const RESERVED_TAG_KEY: &str =
    "aws: prefixed tag key names are not allowed for external use.";

/// The service rules on `Tags` that the API model cannot say (InvalidParameterValueException):
/// at most 50 tags, and no key in the reserved `aws:` namespace. Run after model validation, as
/// AWS does.
pub(crate) fn tag_rules(value: Option<&BTreeMap<String, String>>) -> Result<(), LambdaError> {
    let Some(tags) = value else { return Ok(()) };
    if tags.len() > MAX_TAGS_PER_FUNCTION {
        return Err(LambdaError::InvalidParameterValue(TOO_MANY_TAGS.to_owned()));
    }
    let reserved = |k: &str| {
        k.get(..RESERVED_TAG_KEY_PREFIX.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(RESERVED_TAG_KEY_PREFIX))
    };
    if tags.keys().any(|k| reserved(k)) {
        return Err(LambdaError::InvalidParameterValue(
            RESERVED_TAG_KEY.to_owned(),
        ));
    }
    Ok(())
}

/// `LoggingConfig`.
pub(crate) fn logging(v: &mut Violations, value: Option<&LoggingInput>) {
    let Some(l) = value else { return };
    one_of(
        v,
        "loggingConfig.logFormat",
        l.log_format.as_deref(),
        &["JSON", "Text"],
    );
    one_of(
        v,
        "loggingConfig.applicationLogLevel",
        l.application_log_level.as_deref(),
        &["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"],
    );
    one_of(
        v,
        "loggingConfig.systemLogLevel",
        l.system_log_level.as_deref(),
        &["DEBUG", "INFO", "WARN"],
    );
    if let Some(g) = l.log_group.as_deref() {
        if g.chars().count() > MAX_LOG_GROUP_CHARS {
            v.add(
                "loggingConfig.logGroup",
                g,
                Constraint::MaxLength(MAX_LOG_GROUP_CHARS),
            );
        } else if g.is_empty()
            || !g
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-/#".contains(&b))
        {
            v.add(
                "loggingConfig.logGroup",
                g,
                Constraint::Pattern(LOG_GROUP_PATTERN),
            );
        }
    }
}

/// Every configuration member shared by Create and UpdateFunctionConfiguration. Returns the
/// parsed `Layers` when they were sent and are valid.
pub(crate) fn config_members(
    v: &mut Violations,
    c: &ConfigInput,
    role_required: bool,
) -> Option<Vec<LayerEntry>> {
    use lamina_types::limits::{
        MAX_EPHEMERAL_STORAGE_MB, MAX_MEMORY_MB, MAX_TIMEOUT_SECS, MIN_EPHEMERAL_STORAGE_MB,
        MIN_MEMORY_MB, MIN_TIMEOUT_SECS,
    };
    role(v, c.role.as_deref(), role_required);
    handler(v, c.handler.as_deref());
    max_chars(
        v,
        "description",
        c.description.as_deref(),
        MAX_DESCRIPTION_CHARS,
    );
    range(v, "timeout", c.timeout, MIN_TIMEOUT_SECS, MAX_TIMEOUT_SECS);
    range(v, "memorySize", c.memory_size, MIN_MEMORY_MB, MAX_MEMORY_MB);
    match c.ephemeral_storage {
        Some(None) => v.add_null("ephemeralStorage.size"),
        Some(size) => range(
            v,
            "ephemeralStorage.size",
            size,
            MIN_EPHEMERAL_STORAGE_MB,
            MAX_EPHEMERAL_STORAGE_MB,
        ),
        None => {}
    }
    if let Some(mode) = &c.tracing_mode {
        one_of(
            v,
            "tracingConfig.mode",
            mode.as_deref(),
            &["Active", "PassThrough"],
        );
    }
    if let Some(apply_on) = &c.snap_start_apply_on {
        one_of(
            v,
            "snapStart.applyOn",
            apply_on.as_deref(),
            &["PublishedVersions", "None"],
        );
    }
    environment_names(v, c.environment.as_ref());
    logging(v, c.logging.as_ref());
    layers(v, c.layers.as_deref())
}

/// SnapStart's limits, on the configuration as it will be: a runtime that has it (AWS's
/// text), and no more than 512 MB of `/tmp` (AWS documents the limit; the text is ours).
pub(crate) fn snap_start(config: &FunctionConfig) -> Result<(), LambdaError> {
    if !config.applies_snap_start() {
        return Ok(());
    }
    let runtime = config.runtime.as_deref().unwrap_or_default();
    if !Runtime::parse(runtime).is_some_and(|r| r.has_snap_start()) {
        return Err(LambdaError::InvalidParameterValue(format!(
            "{runtime} is not supported for SnapStart enabled functions."
        )));
    }
    if config.ephemeral_storage_mb > SNAP_START_MAX_EPHEMERAL_MB {
        return Err(LambdaError::InvalidParameterValue(format!(
            "SnapStart is not supported for functions with ephemeral storage greater than \
             {SNAP_START_MAX_EPHEMERAL_MB} MB."
        )));
    }
    Ok(())
}

/// The largest `/tmp` of a function with SnapStart, as on AWS.
const SNAP_START_MAX_EPHEMERAL_MB: u32 = 512;

/// `Runtime`: one of the model's values that AWS still accepts for new code.
pub(crate) fn runtime(value: &str) -> Result<(), LambdaError> {
    match Runtime::parse(value) {
        Some(r) if r.is_supported() => Ok(()),
        Some(_) => Err(LambdaError::InvalidParameterValue(format!(
            "The runtime parameter of {value} is no longer supported for creating or updating \
             AWS Lambda functions. We recommend you use a supported runtime while creating or \
             updating functions."
        ))),
        None => Err(LambdaError::InvalidParameterValue(format!(
            "Value {value} at 'runtime' failed to satisfy constraint: Member must satisfy enum \
             value set: {} or be a valid ARN",
            render_list(&SUPPORTED_RUNTIMES)
        ))),
    }
}

/// `Environment.Variables`: no reserved keys, and at most 4 KB as compact JSON. The measured
/// string keeps the request's order, as AWS prints it; the reserved keys are listed sorted
/// (AWS's order there is not recorded).
pub(crate) fn environment(env: &EnvironmentVariables) -> Result<(), LambdaError> {
    let mut reserved: Vec<&str> = env
        .names()
        .filter(|k| RESERVED_ENVIRONMENT_VARIABLES.contains(k))
        .collect();
    reserved.sort_unstable();
    if !reserved.is_empty() {
        return Err(LambdaError::InvalidParameterValue(format!(
            "Lambda was unable to configure your environment variables because the environment \
             variables you have provided contains reserved keys that are currently not \
             supported for modification. Reserved keys used in this request: {}",
            reserved.join(", ")
        )));
    }
    let measured = serde_json::to_string(env).unwrap_or_default();
    if measured.len() > MAX_ENVIRONMENT_BYTES {
        return Err(LambdaError::InvalidParameterValue(format!(
            "Lambda was unable to configure your environment variables because the environment \
             variables you have provided exceeded the 4KB limit. String measured: {measured}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(v: Violations) -> String {
        v.into_result().unwrap_err().message().to_owned()
    }

    #[test]
    fn ranges_at_their_boundaries() {
        for (value, ok) in [(0, false), (1, true), (900, true), (901, false)] {
            let mut v = Violations::new();
            range(&mut v, "timeout", Some(value), 1, 900);
            assert_eq!(v.is_empty(), ok, "{value}");
        }
        let mut v = Violations::new();
        range(&mut v, "memorySize", Some(10_241), 128, 10_240);
        range(&mut v, "timeout", Some(0), 1, 900);
        assert_eq!(
            message(v),
            "2 validation errors detected: Value '10241' at 'memorySize' failed to satisfy \
             constraint: Member must have value less than or equal to 10240; Value '0' at \
             'timeout' failed to satisfy constraint: Member must have value greater than or \
             equal to 1"
        );
    }

    #[test]
    fn architectures_words() {
        let mut v = Violations::new();
        architectures(&mut v, Some(&["x86_64".into(), "arm64".into()]));
        assert!(message(v).ends_with(
            "Value '[x86_64, arm64]' at 'architectures' failed to satisfy constraint: Member \
             must have length less than or equal to 1"
        ));
        let mut v = Violations::new();
        architectures(&mut v, Some(&["sparc".into()]));
        assert!(message(v).ends_with(
            "Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, \
             arm64], Member must not be null]"
        ));
        let mut v = Violations::new();
        architectures(&mut v, Some(&["arm64".into()]));
        assert!(v.is_empty());
    }

    #[test]
    fn roles_handlers_env_names() {
        let mut v = Violations::new();
        role(&mut v, Some("not-a-role"), true);
        assert!(message(v).contains("at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::"));
        let mut v = Violations::new();
        role(&mut v, None, true);
        assert!(message(v).contains("Value null at 'role'"));
        let mut v = Violations::new();
        handler(&mut v, Some("a b"));
        handler(&mut v, Some(&"h".repeat(129)));
        assert!(message(v).starts_with("2 validation errors detected"));
        for (name, ok) in [
            ("AB", true),
            ("a_1", true),
            ("A", false),
            ("1A", false),
            ("A-B", false),
        ] {
            let mut v = Violations::new();
            environment_names(&mut v, Some(&vars(&[(name, "x")])));
            assert_eq!(v.is_empty(), ok, "{name}");
        }
    }

    #[test]
    fn layers_need_versions() {
        let good = "arn:aws:lambda:us-west-2:123456789012:layer:l:1".to_owned();
        let bad = "arn:aws:lambda:us-west-2:123456789012:layer:l".to_owned();
        let mut v = Violations::new();
        let parsed = layers(&mut v, Some(std::slice::from_ref(&good))).unwrap();
        assert!(matches!(&parsed[0], LayerEntry::Arn(a) if a.to_string() == good));
        let mut v = Violations::new();
        assert!(layers(&mut v, Some(&[good.clone(), bad.clone()])).is_none());
        let text = message(v);
        assert!(text.starts_with(&format!(
            "1 validation error detected: Value '[{good}, {bad}]' at 'layers' failed to satisfy \
             constraint: Member must satisfy constraint: [Member must have length less than or \
             equal to 2048, Member must have length greater than or equal to 1, Member must \
             satisfy regular expression pattern: "
        )));
        assert!(text.ends_with(", Member must not be null]"));
        let mut v = Violations::new();
        let parsed = layers(&mut v, Some(&["arn:aws:lambda:::awslayer:X".into()])).unwrap();
        assert!(matches!(parsed[0], LayerEntry::Unknown(_)));
    }

    #[test]
    fn runtimes_deprecated_and_unknown() {
        assert!(runtime("python3.12").is_ok());
        let e = runtime("python2.7").unwrap_err();
        assert_eq!(e.type_name(), "InvalidParameterValueException");
        assert!(
            e.message()
                .starts_with("The runtime parameter of python2.7 is no longer supported")
        );
        let e = runtime("cobol").unwrap_err();
        assert_eq!(e.type_name(), "InvalidParameterValueException");
        assert_eq!(
            e.message(),
            "Value cobol at 'runtime' failed to satisfy constraint: Member must satisfy enum \
             value set: [nodejs20.x, python3.14, provided.al2023, python3.12, python3.13, \
             nodejs24.x, nodejs22.x, java25, python3.10, python3.11, java21, ruby3.3, ruby3.4, \
             ruby3.2, python3.8, python3.9, java17, nodejs16.x, dotnet10, dotnet8, java11, \
             dotnet6, nodejs18.x, provided.al2, java8.al2] or be a valid ARN"
        );
    }

    use super::super::environment::vars;

    #[test]
    fn environment_reserved_keys_and_4kb_boundary() {
        let env = vars(&[("AWS_REGION", "x"), ("OK", "y"), ("AWS_ACCESS_KEY_ID", "z")]);
        let e = environment(&env).unwrap_err();
        assert!(
            e.message()
                .ends_with("Reserved keys used in this request: AWS_ACCESS_KEY_ID, AWS_REGION")
        );
        assert!(environment(&vars(&[("TZ", "Asia/Tokyo")])).is_ok());
        // {"K":"<v>"} is 8 bytes plus the value.
        let at_limit = "v".repeat(4096 - 8);
        assert!(environment(&vars(&[("K", &at_limit)])).is_ok());
        let over = "v".repeat(4096 - 7);
        let e = environment(&vars(&[("K", &over)])).unwrap_err();
        assert!(e.message().starts_with("Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: {\"K\":\"vvv"));
    }

    #[test]
    fn the_measured_string_keeps_the_request_order() {
        let big = "v".repeat(4096);
        let e = environment(&vars(&[("Z", "1"), ("A", &big), ("M", "2")])).unwrap_err();
        assert!(
            e.message().ends_with(&format!(
                "String measured: {{\"Z\":\"1\",\"A\":\"{big}\",\"M\":\"2\"}}"
            )),
            "{}",
            e.message()
        );
    }

    fn numbered_tags(n: usize) -> BTreeMap<String, String> {
        (0..n).map(|i| (format!("k{i}"), format!("v{i}"))).collect()
    }

    #[test]
    fn fifty_tags_pass_and_fifty_one_are_refused() {
        assert!(tag_rules(Some(&numbered_tags(MAX_TAGS_PER_FUNCTION))).is_ok());
        let e = tag_rules(Some(&numbered_tags(MAX_TAGS_PER_FUNCTION + 1))).unwrap_err();
        assert_eq!(e.type_name(), "InvalidParameterValueException");
        assert_eq!(e.message(), TOO_MANY_TAGS);
        assert!(tag_rules(None).is_ok());
    }

    #[test]
    fn aws_prefixed_keys_are_refused_whatever_their_case() {
        for key in ["aws:x", "AWS:cloudformation:stack-name", "Aws:"] {
            let tags = BTreeMap::from([(key.to_owned(), String::new())]);
            let e = tag_rules(Some(&tags)).unwrap_err();
            assert_eq!(e.message(), RESERVED_TAG_KEY, "{key}");
        }
        for key in ["aws", "awsx:y", "team:aws:", "\u{e9}aws:"] {
            let tags = BTreeMap::from([(key.to_owned(), String::new())]);
            assert!(tag_rules(Some(&tags)).is_ok(), "{key}");
        }
    }

    #[test]
    fn tag_keys_and_values_at_their_length_boundaries() {
        let check = |k: &str, val: &str| {
            let mut v = Violations::new();
            tags(
                &mut v,
                Some(&BTreeMap::from([(k.to_owned(), val.to_owned())])),
            );
            v.is_empty()
        };
        assert!(check(
            &"k".repeat(MAX_TAG_KEY_CHARS),
            &"v".repeat(MAX_TAG_VALUE_CHARS)
        ));
        assert!(!check(&"k".repeat(MAX_TAG_KEY_CHARS + 1), "v"));
        assert!(!check("", "v"));
        assert!(!check("k", &"v".repeat(MAX_TAG_VALUE_CHARS + 1)));
        assert!(check("k", ""));
    }
}

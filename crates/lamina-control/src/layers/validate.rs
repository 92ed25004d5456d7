//! The members the layer operations check against the model: layer names and ARNs,
//! version numbers, text lengths, compatible runtimes and architectures, list filters.

use lamina_store::LayerVersionFilter;
use lamina_types::arn::LayerRef;
use lamina_types::limits::{
    MAX_COMPATIBLE_ARCHITECTURES, MAX_COMPATIBLE_RUNTIMES, MAX_LAYER_LIST_ITEMS,
};
use lamina_types::runtime::{ALL_ARCHITECTURES, ALL_RUNTIMES};
use lamina_types::validation::{Constraint, Violations, render_list};
use lamina_types::{Architecture, LambdaError, LayerName, Runtime};

use super::ListQuery;
use crate::paging;

/// A layer name or layer ARN from a path, failing alone (the operations with no other member).
pub(super) fn parse_layer_name(raw: &str) -> Result<LayerRef, LambdaError> {
    LayerName::parse_name_or_arn(raw)
}

/// A layer name or layer ARN, its violation recorded with the request's others.
pub(super) fn check_layer_name(violations: &mut Violations, raw: &str) -> Option<LayerRef> {
    match LayerName::check_name_or_arn(raw) {
        Ok(r) => Some(r),
        Err(constraint) => {
            violations.add("layerName", raw, constraint);
            None
        }
    }
}

/// Layer versions count from 1.
pub(super) fn check_version_number(version: i64) -> Result<(), LambdaError> {
    if version < 1 {
        return Err(LambdaError::InvalidParameterValue(
            "Layer Version Cannot be less than 1".into(),
        ));
    }
    Ok(())
}

/// At most `max` characters (not bytes), as the model counts.
pub(super) fn check_max_chars(
    violations: &mut Violations,
    field: &str,
    value: Option<&str>,
    max: usize,
) {
    if let Some(v) = value
        && v.chars().count() > max
    {
        violations.add(field, v, Constraint::MaxLength(max));
    }
}

/// `CompatibleRuntimes`: at most 15 values of the model's enum.
pub(super) fn check_runtimes(violations: &mut Violations, runtimes: Option<&[String]>) {
    let Some(runtimes) = runtimes else { return };
    if runtimes.len() > MAX_COMPATIBLE_RUNTIMES {
        violations.add(
            "compatibleRuntimes",
            &render_list(runtimes),
            Constraint::MaxLength(MAX_COMPATIBLE_RUNTIMES),
        );
    } else if runtimes.iter().any(|r| Runtime::parse(r).is_none()) {
        // Any value of the model's enum, deprecated ones included: AWS publishes layers for
        // python3.7 or go1.x although it no longer creates functions for them.
        violations.add(
            "compatibleRuntimes",
            &render_list(runtimes),
            Constraint::MemberEnum(ALL_RUNTIMES.to_vec()),
        );
    }
}

/// `CompatibleArchitectures`: at most 2 values of the model's enum.
pub(super) fn check_architectures(violations: &mut Violations, architectures: Option<&[String]>) {
    let Some(architectures) = architectures else {
        return;
    };
    if architectures.len() > MAX_COMPATIBLE_ARCHITECTURES {
        violations.add(
            "compatibleArchitectures",
            &render_list(architectures),
            Constraint::MaxLength(MAX_COMPATIBLE_ARCHITECTURES),
        );
    } else if architectures
        .iter()
        .any(|a| Architecture::parse(a).is_none())
    {
        violations.add(
            "compatibleArchitectures",
            &render_list(architectures),
            Constraint::MemberEnum(ALL_ARCHITECTURES.to_vec()),
        );
    }
}

/// The filters and page size of ListLayers and ListLayerVersions (at most 50 per page).
pub(super) fn check_list_query(
    violations: &mut Violations,
    query: &ListQuery,
) -> (LayerVersionFilter, u32) {
    if let Some(r) = &query.compatible_runtime
        && Runtime::parse(r).is_none()
    {
        violations.add(
            "compatibleRuntime",
            r,
            Constraint::Enum(ALL_RUNTIMES.to_vec()),
        );
    }
    if let Some(a) = &query.compatible_architecture
        && Architecture::parse(a).is_none()
    {
        violations.add(
            "compatibleArchitecture",
            a,
            Constraint::Enum(ALL_ARCHITECTURES.to_vec()),
        );
    }
    let limit = paging::max_items(
        violations,
        query.max_items.as_deref(),
        MAX_LAYER_LIST_ITEMS,
        MAX_LAYER_LIST_ITEMS,
    );
    let filter = LayerVersionFilter {
        runtime: query.compatible_runtime.clone(),
        architecture: query.compatible_architecture.clone(),
    };
    (filter, limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtimes_result(runtimes: &[&str]) -> Result<(), LambdaError> {
        let owned: Vec<String> = runtimes.iter().map(|r| (*r).to_owned()).collect();
        let mut violations = Violations::new();
        check_runtimes(&mut violations, Some(&owned));
        violations.into_result()
    }

    fn architectures_result(architectures: &[&str]) -> Result<(), LambdaError> {
        let owned: Vec<String> = architectures.iter().map(|a| (*a).to_owned()).collect();
        let mut violations = Violations::new();
        check_architectures(&mut violations, Some(&owned));
        violations.into_result()
    }

    fn list_result(query: ListQuery) -> Result<(LayerVersionFilter, u32), LambdaError> {
        let mut violations = Violations::new();
        let checked = check_list_query(&mut violations, &query);
        violations.into_result().map(|()| checked)
    }

    #[test]
    fn compatible_runtimes_accept_deprecated_values_of_the_model() {
        assert!(
            runtimes_result(&["python3.7", "nodejs12.x", "java8", "go1.x", "provided"]).is_ok()
        );
        assert!(runtimes_result(&["python2.7", "java17.al2023", "python3.14"]).is_ok());
    }

    #[test]
    fn an_unknown_compatible_runtime_lists_the_models_enum() {
        let e = runtimes_result(&["python3.12", "cobol85"]).unwrap_err();
        assert_eq!(e.type_name(), "ValidationException");
        assert_eq!(
            e.message(),
            format!(
                "1 validation error detected: Value '[python3.12, cobol85]' at \
                 'compatibleRuntimes' failed to satisfy constraint: Member must satisfy \
                 constraint: [Member must satisfy enum value set: [{}]]",
                ALL_RUNTIMES.join(", ")
            )
        );
    }

    #[test]
    fn more_than_fifteen_compatible_runtimes_fail_on_length() {
        let sixteen = ["python3.12"; 16];
        let e = runtimes_result(&sixteen).unwrap_err();
        assert!(
            e.message()
                .contains("Member must have length less than or equal to 15"),
            "{}",
            e.message()
        );
        assert!(runtimes_result(&sixteen[..15]).is_ok());
    }

    #[test]
    fn compatible_architectures_are_at_most_two_of_the_enum() {
        assert!(architectures_result(&["x86_64", "arm64"]).is_ok());
        let three = architectures_result(&["x86_64", "arm64", "x86_64"]).unwrap_err();
        assert!(
            three
                .message()
                .contains("Member must have length less than or equal to 2"),
            "{}",
            three.message()
        );
        let unknown = architectures_result(&["riscv64"]).unwrap_err();
        assert!(
            unknown
                .message()
                .contains("Member must satisfy enum value set: [x86_64, arm64]"),
            "{}",
            unknown.message()
        );
    }

    #[test]
    fn layer_names_and_versions() {
        assert_eq!(parse_layer_name("deps").unwrap().name.as_str(), "deps");
        let arn = "arn:aws:lambda:us-west-2:123456789012:layer:deps";
        assert_eq!(parse_layer_name(arn).unwrap().name.as_str(), "deps");
        let mut violations = Violations::new();
        assert!(check_layer_name(&mut violations, "bad name!").is_none());
        let e = violations.into_result().unwrap_err();
        assert!(e.message().contains("at 'layerName'"), "{}", e.message());
        assert!(check_version_number(1).is_ok());
        let e = check_version_number(0).unwrap_err();
        assert_eq!(e.type_name(), "InvalidParameterValueException");
        assert_eq!(e.message(), "Layer Version Cannot be less than 1");
    }

    #[test]
    fn descriptions_are_counted_in_characters() {
        let mut violations = Violations::new();
        check_max_chars(&mut violations, "description", Some("ééé"), 3);
        assert!(violations.is_empty());
        check_max_chars(&mut violations, "description", Some("éééé"), 3);
        assert!(!violations.is_empty());
    }

    #[test]
    fn list_filters_and_page_size() {
        let (filter, limit) = list_result(ListQuery::default()).unwrap();
        assert_eq!(
            (filter.runtime, filter.architecture, limit),
            (None, None, 50)
        );
        let query = ListQuery {
            compatible_runtime: Some("python3.12".into()),
            compatible_architecture: Some("arm64".into()),
            max_items: Some("7".into()),
            ..Default::default()
        };
        let (filter, limit) = list_result(query).unwrap();
        assert_eq!(filter.runtime.as_deref(), Some("python3.12"));
        assert_eq!(filter.architecture.as_deref(), Some("arm64"));
        assert_eq!(limit, 7);
        let bad = ListQuery {
            compatible_runtime: Some("cobol85".into()),
            compatible_architecture: Some("riscv64".into()),
            max_items: Some("51".into()),
            ..Default::default()
        };
        let e = list_result(bad).unwrap_err();
        assert!(
            e.message().starts_with("3 validation errors detected"),
            "{}",
            e.message()
        );
    }
}

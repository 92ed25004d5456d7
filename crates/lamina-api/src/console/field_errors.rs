//! AWS's validation messages placed next to the form field they concern.
//!
//! The control plane words its errors as AWS does: a `ValidationException` lists each
//! violation as `Value '..' at 'memorySize' failed to satisfy constraint: ..`, and some
//! `InvalidParameterValueException`s name their member in words ("The runtime parameter of
//! .."). A form names its fields by the model's member (`memorySize`, `ephemeralStorage.size`,
//! ...); this sorts a message's parts to those members, and leaves the rest for the page's
//! alert.

use std::collections::BTreeMap;

use lamina_types::LambdaError;
use maud::{Markup, html};

/// The messages of one failed request, by the model member they concern.
#[derive(Debug, Default)]
pub(super) struct FieldErrors {
    by_member: BTreeMap<String, Vec<String>>,
    /// What concerns no known member: shown at the top of the page.
    pub(super) general: Option<String>,
}

/// What separates the violations of a ValidationException message.
const VIOLATION_SEPARATOR: &str = "; Value ";

impl FieldErrors {
    /// No errors.
    pub(super) fn none() -> Self {
        Self::default()
    }

    /// Sorts `e` to the `members` the form has (each a model member name, e.g. `memorySize`).
    pub(super) fn of(e: &LambdaError, members: &[&str]) -> Self {
        let message = e.message();
        let mut errors = Self::default();
        let known = |m: &str| {
            members
                .iter()
                .find(|k| m == **k || m.starts_with(&format!("{k}.")))
        };
        if e.type_name() == "ValidationException" || message.contains("validation error detected") {
            let violations = split_violations(message);
            let targets: Vec<Option<&&str>> = violations
                .iter()
                .map(|v| member_of(v).and_then(known))
                .collect();
            if targets.iter().all(Option::is_some) {
                // A single violation keeps AWS's whole sentence; several are shown each at
                // its own field.
                let single = violations.len() == 1;
                for (violation, target) in violations.iter().zip(targets) {
                    let text = if single { message } else { violation.as_str() };
                    if let Some(member) = target {
                        errors.push(member, text);
                    }
                }
                return errors;
            }
        }
        let worded = [
            ("runtime parameter", "runtime"),
            ("at 'runtime'", "runtime"),
            ("environment variables", "environment"),
            ("Runtime and Handler are mandatory", "handler"),
            ("source for the function code", "code"),
            ("role defined for the function", "role"),
        ];
        match worded
            .iter()
            .find(|(words, m)| message.contains(words) && members.contains(m))
        {
            Some((_, member)) => errors.push(member, message),
            None => errors.general = Some(message.to_owned()),
        }
        errors
    }

    fn push(&mut self, member: &str, text: &str) {
        self.by_member
            .entry(member.to_owned())
            .or_default()
            .push(text.to_owned());
    }

    /// Records `text` (the console's own words, for a value no request could carry) at
    /// `member`.
    pub(super) fn add(&mut self, member: &str, text: &str) {
        self.push(member, text);
    }

    /// Whether nothing was recorded.
    pub(super) fn is_empty(&self) -> bool {
        self.by_member.is_empty() && self.general.is_none()
    }

    /// The id of `member`'s message element when it has one, for `aria-describedby`.
    pub(super) fn described_by(&self, member: &str) -> Option<String> {
        self.by_member
            .contains_key(member)
            .then(|| error_id(member))
    }

    /// `member`'s messages, in an element with `role=alert` (nothing when it has none).
    pub(super) fn at(&self, member: &str) -> Markup {
        html! {
            @if let Some(messages) = self.by_member.get(member) {
                div.alert.field-error id=(error_id(member)) role="alert" {
                    @for (i, m) in messages.iter().enumerate() {
                        @if i > 0 { br; }
                        (m)
                    }
                }
            }
        }
    }

    /// The page-level alert, when a message concerns no field.
    pub(super) fn general(&self) -> Markup {
        html! { @if let Some(m) = &self.general { (super::page::alert(m)) } }
    }
}

fn error_id(member: &str) -> String {
    format!("{}-error", member.replace('.', "-"))
}

/// The violations of a ValidationException message, each starting with `Value`.
fn split_violations(message: &str) -> Vec<String> {
    let body = message
        .split_once("detected: ")
        .map_or(message, |(_, rest)| rest);
    let mut parts: Vec<String> = body
        .split(VIOLATION_SEPARATOR)
        .map(|p| format!("Value {}", p.trim_start_matches("Value ")))
        .collect();
    parts.retain(|p| p != "Value ");
    parts
}

/// The member a violation names: `.. at 'memorySize' failed ..`.
fn member_of(violation: &str) -> Option<&str> {
    let (_, rest) = violation.split_once(" at '")?;
    let (member, _) = rest.split_once("' failed to satisfy")?;
    Some(member)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMBERS: &[&str] = &["memorySize", "timeout", "handler", "runtime", "environment"];

    #[test]
    fn one_violation_keeps_the_whole_message_at_its_field() {
        let message = "1 validation error detected: Value '10241' at 'memorySize' failed to \
                       satisfy constraint: Member must have value less than or equal to 10240";
        let errors = FieldErrors::of(&LambdaError::Validation(message.to_owned()), MEMBERS);
        let html = errors.at("memorySize").into_string();
        assert!(
            html.contains(r#"id="memorySize-error" role="alert""#),
            "{html}"
        );
        assert!(html.contains(message));
        assert_eq!(
            errors.described_by("memorySize").as_deref(),
            Some("memorySize-error")
        );
        assert!(errors.general.is_none() && errors.at("timeout").into_string().is_empty());
    }

    #[test]
    fn several_violations_go_each_to_its_field_and_unknown_ones_to_the_page() {
        let message = "2 validation errors detected: Value '0' at 'timeout' failed to satisfy \
                       constraint: Member must have value greater than or equal to 1; Value 'a b' \
                       at 'handler' failed to satisfy constraint: Member must satisfy regular \
                       expression pattern: [^\\s]+";
        let errors = FieldErrors::of(&LambdaError::Validation(message.to_owned()), MEMBERS);
        assert!(
            errors
                .at("timeout")
                .into_string()
                .contains("Value '0' at 'timeout'")
        );
        let handler = errors.at("handler").into_string();
        assert!(handler.starts_with(r#"<div class="alert field-error" id="handler-error""#));
        assert!(!handler.contains("timeout"));
        let env = "Value '{1A=***}' at 'environment.variables' failed to satisfy constraint: x";
        let errors = FieldErrors::of(
            &LambdaError::Validation(format!("1 validation error detected: {env}")),
            MEMBERS,
        );
        assert!(errors.at("environment").into_string().contains(env));
        let other = "1 validation error detected: Value 'x' at 'kmsKeyArn' failed to satisfy \
                     constraint: y";
        let errors = FieldErrors::of(&LambdaError::Validation(other.to_owned()), MEMBERS);
        assert_eq!(errors.general.as_deref(), Some(other));
    }

    #[test]
    fn worded_messages_find_their_field() {
        let e = LambdaError::InvalidParameterValue(
            "Lambda was unable to configure your environment variables because ..".to_owned(),
        );
        assert!(
            !FieldErrors::of(&e, MEMBERS)
                .at("environment")
                .into_string()
                .is_empty()
        );
        let e = LambdaError::ResourceConflict("The operation cannot be performed".to_owned());
        assert!(FieldErrors::of(&e, MEMBERS).general.is_some());
    }
}

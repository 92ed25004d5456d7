//! Collects model violations and words them as AWS's `ValidationException` does:
//! `2 validation errors detected: Value 'x' at 'field' failed to satisfy constraint: ...; ...`.

use crate::LambdaError;

/// One broken constraint, worded as AWS words it after "failed to satisfy constraint: ".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Constraint {
    /// The value must match a regular expression of the API model.
    Pattern(&'static str),
    /// The value is longer than the model allows.
    MaxLength(usize),
    /// The value is shorter than the model allows.
    MinLength(usize),
    /// The number is larger than the model allows.
    MaxValue(i64),
    /// The number is smaller than the model allows.
    MinValue(i64),
    /// The decimal is larger than the model allows (bound as AWS prints it, e.g. `1.0`).
    MaxDecimal(&'static str),
    /// The decimal is smaller than the model allows (bound as AWS prints it, e.g. `0.0`).
    MinDecimal(&'static str),
    /// The value is not one of an enumeration.
    Enum(Vec<&'static str>),
    /// A list member is not one of an enumeration.
    MemberEnum(Vec<&'static str>),
    /// A required member is missing.
    NotNull,
    /// Every member of a list must satisfy all of these (AWS appends "Member must not be
    /// null"), e.g. the `layers` and `architectures` lists.
    ListMember(Vec<Constraint>),
    /// Every key of a map must satisfy all of these.
    MapKeys(Vec<Constraint>),
    /// Every value of a map must satisfy all of these (AWS appends "Member must not be null").
    MapValues(Vec<Constraint>),
}

impl Constraint {
    fn describe(&self) -> String {
        match self {
            Self::Pattern(p) => format!("Member must satisfy regular expression pattern: {p}"),
            Self::MaxLength(n) => format!("Member must have length less than or equal to {n}"),
            Self::MinLength(n) => format!("Member must have length greater than or equal to {n}"),
            Self::MaxValue(n) => format!("Member must have value less than or equal to {n}"),
            Self::MinValue(n) => format!("Member must have value greater than or equal to {n}"),
            Self::MaxDecimal(n) => format!("Member must have value less than or equal to {n}"),
            Self::MinDecimal(n) => {
                format!("Member must have value greater than or equal to {n}")
            }
            Self::Enum(values) => {
                format!(
                    "Member must satisfy enum value set: [{}]",
                    values.join(", ")
                )
            }
            Self::NotNull => "Member must not be null".to_owned(),
            Self::MemberEnum(values) => format!(
                "Member must satisfy constraint: [Member must satisfy enum value set: [{}]]",
                values.join(", ")
            ),
            Self::ListMember(all) => format!(
                "Member must satisfy constraint: [{}, Member must not be null]",
                describe_all(all)
            ),
            Self::MapKeys(all) => {
                format!("Map keys must satisfy constraint: [{}]", describe_all(all))
            }
            Self::MapValues(all) => format!(
                "Map value must satisfy constraint: [{}, Member must not be null]",
                describe_all(all)
            ),
        }
    }
}

fn describe_all(all: &[Constraint]) -> String {
    let parts: Vec<String> = all.iter().map(Constraint::describe).collect();
    parts.join(", ")
}

/// The violations found in one request, in the order they were found.
#[derive(Debug, Default)]
pub struct Violations {
    found: Vec<String>,
}

impl Violations {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `value` at `field` (the model's lowerCamel member name) broke `constraint`.
    pub fn add(&mut self, field: &str, value: &str, constraint: Constraint) {
        self.found.push(format!(
            "Value '{value}' at '{field}' failed to satisfy constraint: {}",
            constraint.describe()
        ));
    }

    /// Records that the required member `field` is missing (AWS writes `Value null`).
    pub fn add_null(&mut self, field: &str) {
        self.found.push(format!(
            "Value null at '{field}' failed to satisfy constraint: {}",
            Constraint::NotNull.describe()
        ));
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// `Ok` when nothing was recorded, else one `ValidationException` naming every violation.
    pub fn into_result(self) -> Result<(), LambdaError> {
        match self.found.len() {
            0 => Ok(()),
            1 => Err(LambdaError::Validation(format!(
                "1 validation error detected: {}",
                self.found[0]
            ))),
            n => Err(LambdaError::Validation(format!(
                "{n} validation errors detected: {}",
                self.found.join("; ")
            ))),
        }
    }
}

/// Renders a list value as AWS quotes it in messages: `[a, b]`.
pub fn render_list<S: AsRef<str>>(items: &[S]) -> String {
    let parts: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    format!("[{}]", parts.join(", "))
}

/// Shorthand for a request with exactly one violation.
pub fn single(field: &str, value: &str, constraint: Constraint) -> LambdaError {
    let mut v = Violations::new();
    v.add(field, value, constraint);
    match v.into_result() {
        Err(e) => e,
        Ok(()) => LambdaError::Validation(String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_one_and_many() {
        let e = single("maxItems", "51", Constraint::MaxValue(50));
        assert_eq!(
            e.message(),
            "1 validation error detected: Value '51' at 'maxItems' failed to satisfy constraint: \
             Member must have value less than or equal to 50"
        );
        let mut v = Violations::new();
        v.add("a", "x", Constraint::MaxLength(1));
        v.add("b", "y", Constraint::Enum(vec!["p", "q"]));
        let e = v.into_result().unwrap_err();
        assert!(
            e.message()
                .starts_with("2 validation errors detected: Value 'x' at 'a'")
        );
        assert!(e.message().ends_with("enum value set: [p, q]"));
    }

    #[test]
    fn words_list_and_map_members() {
        let e = single(
            "architectures",
            "[x]",
            Constraint::ListMember(vec![Constraint::Enum(vec!["x86_64", "arm64"])]),
        );
        assert!(e.message().ends_with(
            "Member must satisfy constraint: [Member must satisfy enum value set: \
             [x86_64, arm64], Member must not be null]"
        ));
        let e = single(
            "environment.variables",
            "{1=***}",
            Constraint::MapKeys(vec![Constraint::Pattern("[a-z]+")]),
        );
        assert!(e.message().ends_with(
            "Map keys must satisfy constraint: [Member must satisfy regular expression \
             pattern: [a-z]+]"
        ));
    }
}

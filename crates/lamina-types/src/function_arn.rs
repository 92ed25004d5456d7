//! Function names, function ARNs, qualifiers, alias names and role ARNs, checked by hand
//! against the API model's patterns (quoted verbatim in validation messages, so they live
//! here too).

use std::fmt;

use crate::arn::{AccountId, Region, Scope};
use crate::limits::{MAX_ALIAS_NAME_CHARS, MAX_QUALIFIER_CHARS, MAX_ROLE_CHARS, MAX_VERSION_CHARS};
use crate::validation::Constraint;

/// The `FunctionName` pattern (Create, Update, Publish, aliases).
pub const FUNCTION_NAME_PATTERN: &str = "(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?";

/// The `NamespacedFunctionName` pattern (Get, Delete, ListVersionsByFunction, Invoke).
pub const NAMESPACED_FUNCTION_NAME_PATTERN: &str = "(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST(\\.PUBLISHED)?|[a-zA-Z0-9-_]+))?";

/// The `Qualifier` query parameter's pattern.
pub const QUALIFIER_PATTERN: &str = "\\$(LATEST(\\.PUBLISHED)?)|[a-zA-Z0-9-_$]+";

/// The alias `Name` pattern: not all digits.
pub const ALIAS_NAME_PATTERN: &str = "(?!^[0-9]+$)([a-zA-Z0-9-_]+)";

/// The alias `FunctionVersion` pattern.
pub const ALIAS_VERSION_PATTERN: &str = "(\\$LATEST(\\.PUBLISHED)?|[0-9]+)";

/// The `Role` pattern.
pub const ROLE_PATTERN: &str = "arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+";

/// Longest `FunctionName` (name or ARN) of Create, Update, Publish and alias operations.
pub const MAX_FUNCTION_NAME_OR_ARN_LEN: usize = 140;

/// Longest `NamespacedFunctionName` (Get, Delete, ListVersionsByFunction, Invoke).
pub const MAX_NAMESPACED_FUNCTION_NAME_LEN: usize = 256;

/// The version label of the unpublished, editable version.
pub const LATEST: &str = "$LATEST";

/// Which `FunctionName` shape an operation's model uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameShape {
    /// `FunctionName`: max 140, no `.` in names.
    Plain,
    /// `NamespacedFunctionName`: max 256, `.` allowed in names, `$LATEST.PUBLISHED` allowed.
    Namespaced,
}

impl NameShape {
    fn pattern(self) -> &'static str {
        match self {
            Self::Plain => FUNCTION_NAME_PATTERN,
            Self::Namespaced => NAMESPACED_FUNCTION_NAME_PATTERN,
        }
    }

    fn max_len(self) -> usize {
        match self {
            Self::Plain => MAX_FUNCTION_NAME_OR_ARN_LEN,
            Self::Namespaced => MAX_NAMESPACED_FUNCTION_NAME_LEN,
        }
    }
}

/// A function named in a request: a name, a partial ARN (`123456789012:function:name`) or a
/// full ARN, each possibly with a `:qualifier`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionRef {
    /// The function's name.
    pub name: String,
    /// The region of the ARN, when one was given.
    pub region: Option<Region>,
    /// The account of the ARN, when one was given.
    pub account: Option<AccountId>,
    /// The qualifier after the name, when one was given.
    pub qualifier: Option<String>,
}

impl FunctionRef {
    /// Parses a function name or ARN as the model's pattern for `shape` reads it (optional
    /// parts are tried greedily, as a regular expression would). Returns the broken constraint.
    pub fn parse(s: &str, shape: NameShape) -> Result<Self, Constraint> {
        if s.len() > shape.max_len() {
            return Err(Constraint::MaxLength(shape.max_len()));
        }
        if s.is_empty() {
            return Err(Constraint::MinLength(1));
        }
        let tokens: Vec<&str> = s.split(':').collect();
        for mask in 0u8..16 {
            // mask 0 = every optional prefix present, as a greedy regex tries first.
            let (arn, region, account, kind) =
                (mask & 8 == 0, mask & 4 == 0, mask & 2 == 0, mask & 1 == 0);
            if let Some(r) = match_tokens(&tokens, shape, arn, region, account, kind) {
                return Ok(r);
            }
        }
        Err(Constraint::Pattern(shape.pattern()))
    }
}

fn match_tokens(
    tokens: &[&str],
    shape: NameShape,
    arn: bool,
    region: bool,
    account: bool,
    kind: bool,
) -> Option<FunctionRef> {
    let mut rest = tokens;
    if arn {
        let [a, partition, service, tail @ ..] = rest else {
            return None;
        };
        if *a != "arn" || !is_partition(partition) || *service != "lambda" {
            return None;
        }
        rest = tail;
    }
    let mut found_region = None;
    if region {
        let (first, tail) = rest.split_first()?;
        found_region = Some(Region::parse(first)?);
        rest = tail;
    }
    let mut found_account = None;
    if account {
        let (first, tail) = rest.split_first()?;
        found_account = Some(AccountId::parse(first)?);
        rest = tail;
    }
    if kind {
        let (first, tail) = rest.split_first()?;
        if *first != "function" {
            return None;
        }
        rest = tail;
    }
    let (name, qualifier) = match rest {
        [name] => (*name, None),
        [name, qualifier] => (*name, Some(*qualifier)),
        _ => return None,
    };
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| is_name_byte(b) || (b == b'.' && matches!(shape, NameShape::Namespaced)));
    let qualifier_ok = qualifier.is_none_or(|q| {
        q == LATEST
            || (q == "$LATEST.PUBLISHED" && matches!(shape, NameShape::Namespaced))
            || (!q.is_empty() && q.bytes().all(is_name_byte))
    });
    (name_ok && qualifier_ok).then(|| FunctionRef {
        name: name.to_owned(),
        region: found_region,
        account: found_account,
        qualifier: qualifier.map(str::to_owned),
    })
}

/// `[a-zA-Z0-9-_]`
fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// `(aws[a-zA-Z-]*)?`
fn is_partition(s: &str) -> bool {
    s.is_empty()
        || (s.starts_with("aws") && s[3..].bytes().all(|b| b.is_ascii_alphabetic() || b == b'-'))
}

/// `arn:aws:lambda:<region>:<account>:function:<name>`.
pub fn function_arn(scope: &Scope, name: &str) -> String {
    let Scope { account, region } = scope;
    format!("arn:aws:lambda:{region}:{account}:function:{name}")
}

/// `arn:aws:lambda:<region>:<account>:function:<name>:<qualifier>`.
pub fn qualified_function_arn(scope: &Scope, name: &str, qualifier: &str) -> String {
    format!("{}:{qualifier}", function_arn(scope, name))
}

/// What a qualifier names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Qualifier {
    /// `$LATEST`.
    Latest,
    /// A published version number.
    Version(i64),
    /// An alias name (or anything else that cannot be a version; it then names nothing).
    Alias(String),
}

impl Qualifier {
    /// Reads a qualifier that already satisfied [`check_qualifier`].
    pub fn classify(s: &str) -> Self {
        if s == LATEST {
            Self::Latest
        } else if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            // Too large to be a version: it cannot exist, and 0 is never a version.
            Self::Version(s.parse::<i64>().unwrap_or(0))
        } else {
            Self::Alias(s.to_owned())
        }
    }
}

impl fmt::Display for Qualifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Latest => f.write_str(LATEST),
            Self::Version(n) => write!(f, "{n}"),
            Self::Alias(a) => f.write_str(a),
        }
    }
}

/// Checks the `Qualifier` query parameter: 1 to 128 characters of the model's pattern.
pub fn check_qualifier(s: &str) -> Result<(), Constraint> {
    if s.len() > MAX_QUALIFIER_CHARS {
        return Err(Constraint::MaxLength(MAX_QUALIFIER_CHARS));
    }
    if s.is_empty() {
        return Err(Constraint::MinLength(1));
    }
    let ok =
        s == LATEST || s == "$LATEST.PUBLISHED" || s.bytes().all(|b| is_name_byte(b) || b == b'$');
    if ok {
        Ok(())
    } else {
        Err(Constraint::Pattern(QUALIFIER_PATTERN))
    }
}

/// Checks an alias `Name`: 1 to 128 of `[a-zA-Z0-9-_]`, not all digits.
pub fn check_alias_name(s: &str) -> Result<(), Constraint> {
    if s.len() > MAX_ALIAS_NAME_CHARS {
        return Err(Constraint::MaxLength(MAX_ALIAS_NAME_CHARS));
    }
    if s.is_empty() {
        return Err(Constraint::MinLength(1));
    }
    if s.bytes().all(is_name_byte) && !s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Constraint::Pattern(ALIAS_NAME_PATTERN))
    }
}

/// Checks an alias `FunctionVersion`: `$LATEST`, `$LATEST.PUBLISHED` or digits, at most 1024.
pub fn check_alias_version(s: &str) -> Result<(), Constraint> {
    if s.len() > MAX_VERSION_CHARS {
        return Err(Constraint::MaxLength(MAX_VERSION_CHARS));
    }
    if s.is_empty() {
        return Err(Constraint::MinLength(1));
    }
    if s == LATEST || s == "$LATEST.PUBLISHED" || s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Constraint::Pattern(ALIAS_VERSION_PATTERN))
    }
}

/// Checks a `Role`: an IAM role ARN of the model's pattern, at most 10,000 characters.
pub fn check_role(s: &str) -> Result<(), Constraint> {
    if s.len() > MAX_ROLE_CHARS {
        return Err(Constraint::MaxLength(MAX_ROLE_CHARS));
    }
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let ok = match parts.as_slice() {
        ["arn", partition, "iam", "", account, resource] => {
            is_partition(partition)
                && AccountId::parse(account).is_some()
                && resource.strip_prefix("role").is_some_and(|path| {
                    let path = path.strip_prefix('/').unwrap_or(path);
                    !path.is_empty()
                        && path
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-/".contains(&b))
                })
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Constraint::Pattern(ROLE_PATTERN))
    }
}

/// The label of a version number: `$LATEST` for 0, else the number.
pub fn version_label(version: i64) -> String {
    if version == 0 {
        LATEST.to_owned()
    } else {
        version.to_string()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn parse(s: &str) -> FunctionRef {
        FunctionRef::parse(s, NameShape::Plain).unwrap()
    }

    #[test]
    fn names_partial_and_full_arns() {
        let r = parse("my-function");
        assert_eq!((r.name.as_str(), r.qualifier), ("my-function", None));
        let r = parse("my-function:prod");
        assert_eq!(r.qualifier.as_deref(), Some("prod"));
        let r = parse("123456789012:function:my-function");
        assert_eq!(r.account.unwrap().as_str(), "123456789012");
        assert_eq!(r.name, "my-function");
        let r = parse("arn:aws:lambda:us-west-2:123456789012:function:my-function:$LATEST");
        assert_eq!(r.region.unwrap().as_str(), "us-west-2");
        assert_eq!(r.name, "my-function");
        assert_eq!(r.qualifier.as_deref(), Some("$LATEST"));
        let r = parse("arn:aws:lambda:us-west-2:123456789012:function:f:7");
        assert_eq!(r.qualifier.as_deref(), Some("7"));
    }

    #[test]
    fn refuses_what_the_pattern_refuses() {
        for bad in ["", "a b", "f:$NOPE", "a:b:c", "arn:aws:s3:::bucket", "f.x"] {
            assert!(FunctionRef::parse(bad, NameShape::Plain).is_err(), "{bad}");
        }
        assert!(FunctionRef::parse("f.x", NameShape::Namespaced).is_ok());
        assert_eq!(
            FunctionRef::parse(&"x".repeat(141), NameShape::Plain),
            Err(Constraint::MaxLength(140))
        );
    }

    #[test]
    fn qualifiers_aliases_roles() {
        assert_eq!(Qualifier::classify("$LATEST"), Qualifier::Latest);
        assert_eq!(Qualifier::classify("12"), Qualifier::Version(12));
        assert_eq!(Qualifier::classify("prod"), Qualifier::Alias("prod".into()));
        assert!(check_qualifier("a b").is_err());
        assert!(check_qualifier("$LATEST").is_ok());
        assert!(check_alias_name("123").is_err());
        assert!(check_alias_name("live-1").is_ok());
        assert!(check_alias_version("$LATEST").is_ok());
        assert!(check_alias_version("v1").is_err());
        assert!(check_role("arn:aws:iam::123456789012:role/lambda-role").is_ok());
        assert!(check_role("arn:aws:iam::123456789012:role/service-role/x+y=z").is_ok());
        assert!(check_role("arn:aws:iam::12345:role/x").is_err());
        assert!(check_role("role").is_err());
        assert_eq!(version_label(0), "$LATEST");
        assert_eq!(version_label(3), "3");
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,300}") {
            let _ = FunctionRef::parse(&s, NameShape::Plain);
            let _ = FunctionRef::parse(&s, NameShape::Namespaced);
            let _ = check_role(&s);
        }

        #[test]
        fn full_arns_round_trip(name in "[a-zA-Z0-9_-]{1,64}", q in prop::option::of("[a-z][a-z0-9]{0,10}")) {
            let scope = Scope::new(
                AccountId::parse("123456789012").unwrap(),
                Region::parse("us-west-2").unwrap(),
            );
            let arn = match &q {
                Some(q) => qualified_function_arn(&scope, &name, q),
                None => function_arn(&scope, &name),
            };
            let r = FunctionRef::parse(&arn, NameShape::Plain).unwrap();
            prop_assert_eq!(r.name, name);
            prop_assert_eq!(r.qualifier, q);
            prop_assert_eq!(r.region, Some(scope.region));
        }
    }
}

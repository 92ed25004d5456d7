//! Regions, accounts, layer names and layer ARNs, parsed by hand to the API model's patterns
//! (the patterns are quoted verbatim in validation messages, so they live here too).

use std::fmt;

use crate::LambdaError;
use crate::validation::{self, Constraint};

/// The `LayerName` pattern of the API model: a plain name or a layer ARN.
pub const LAYER_NAME_PATTERN: &str = "(arn:(aws[a-zA-Z-]*)?:lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:\\d{12}:layer:[a-zA-Z0-9-_]{1,140})|[a-zA-Z0-9-_]{1,140}";

/// The `LayerVersionArn` pattern of the API model.
pub const LAYER_VERSION_ARN_PATTERN: &str = "(arn:(aws[a-zA-Z-]*)?:lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:\\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+)|(arn:[a-zA-Z0-9-]+:lambda:::awslayer:[a-zA-Z0-9-_]+)";

/// Longest `LayerName` or `LayerVersionArn` the model accepts.
pub const MAX_LAYER_NAME_OR_ARN_LEN: usize = 2048;

/// Longest plain layer name.
pub const MAX_LAYER_NAME_LEN: usize = 140;

/// An AWS region such as `us-west-2`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Region(String);

impl Region {
    /// Parses a region as the model's ARN patterns accept it:
    /// `(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d`.
    pub fn parse(s: &str) -> Option<Self> {
        is_region(s).then(|| Self(s.to_owned()))
    }

    /// The region's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A 12-digit AWS account id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountId(String);

impl AccountId {
    /// Parses exactly twelve ASCII digits.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())).then(|| Self(s.to_owned()))
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a resource lives: an account and a region. Names are unique within one scope, and
/// every request acts in its caller's scope (the account of its access key, the region of its
/// signature), so two accounts can each have a function `f` and never see each other's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    /// The owning account.
    pub account: AccountId,
    /// The region.
    pub region: Region,
}

impl Scope {
    /// The scope of `account` in `region`.
    pub fn new(account: AccountId, region: Region) -> Self {
        Self { account, region }
    }
}

/// A plain layer name: 1 to 140 of `[A-Za-z0-9-_]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LayerName(String);

impl LayerName {
    /// Parses a plain name (not an ARN).
    pub fn parse(s: &str) -> Option<Self> {
        (is_name(s) && s.len() <= MAX_LAYER_NAME_LEN).then(|| Self(s.to_owned()))
    }

    /// Parses the `LayerName` member of a request: a plain name or a layer ARN. The region
    /// and account of an ARN are returned so callers can check them.
    pub fn parse_name_or_arn(s: &str) -> Result<LayerRef, LambdaError> {
        Self::check_name_or_arn(s).map_err(|c| validation::single("layerName", s, c))
    }

    /// Like [`LayerName::parse_name_or_arn`], but returns the broken constraint so a caller
    /// can report it with the request's other violations.
    pub fn check_name_or_arn(s: &str) -> Result<LayerRef, Constraint> {
        if s.len() > MAX_LAYER_NAME_OR_ARN_LEN {
            return Err(Constraint::MaxLength(MAX_LAYER_NAME_OR_ARN_LEN));
        }
        if let Some(name) = Self::parse(s) {
            return Ok(LayerRef {
                name,
                region: None,
                account: None,
            });
        }
        match split_layer_arn(s) {
            Some(ArnParts {
                name,
                region,
                account,
                version: None,
            }) => match Self::parse(name) {
                Some(name) => Ok(LayerRef {
                    name,
                    region: Some(region),
                    account: Some(account),
                }),
                None => Err(Constraint::Pattern(LAYER_NAME_PATTERN)),
            },
            _ => Err(Constraint::Pattern(LAYER_NAME_PATTERN)),
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LayerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A layer named in a request, with the region and account when it was given as an ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerRef {
    /// The layer's name.
    pub name: LayerName,
    /// The region of the ARN, if an ARN was given.
    pub region: Option<Region>,
    /// The account of the ARN, if an ARN was given.
    pub account: Option<AccountId>,
}

/// A parsed `arn:aws:lambda:<region>:<account>:layer:<name>:<version>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LayerVersionArn {
    /// The layer's region.
    pub region: Region,
    /// The layer's account.
    pub account: AccountId,
    /// The layer's name.
    pub name: LayerName,
    /// The version number, at least 1.
    pub version: i64,
}

/// How a string fails to be a usable layer version ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerVersionArnError {
    /// It breaks the model's pattern or length (a `ValidationException`).
    Invalid(LambdaError),
    /// It matches the model but names nothing Lamina can hold: an AWS-managed `awslayer`,
    /// or a version number too large to exist.
    Unknown,
}

impl LayerVersionArn {
    /// Parses a layer version ARN; `field` is the request member named in validation errors.
    pub fn parse(s: &str, field: &str) -> Result<Self, LayerVersionArnError> {
        let invalid = |c| LayerVersionArnError::Invalid(validation::single(field, s, c));
        if s.len() > MAX_LAYER_NAME_OR_ARN_LEN {
            return Err(invalid(Constraint::MaxLength(MAX_LAYER_NAME_OR_ARN_LEN)));
        }
        if is_aws_managed_layer(s) {
            return Err(LayerVersionArnError::Unknown);
        }
        let Some(ArnParts {
            region,
            account,
            name,
            version: Some(version),
        }) = split_layer_arn(s)
        else {
            return Err(invalid(Constraint::Pattern(LAYER_VERSION_ARN_PATTERN)));
        };
        if !is_name(name) {
            return Err(invalid(Constraint::Pattern(LAYER_VERSION_ARN_PATTERN)));
        }
        // The pattern allows names longer than a layer name can be; such a layer cannot exist.
        let name = LayerName::parse(name).ok_or(LayerVersionArnError::Unknown)?;
        let version = version
            .parse::<i64>()
            .map_err(|_| LayerVersionArnError::Unknown)?;
        Ok(Self {
            region,
            account,
            name,
            version,
        })
    }
}

impl LayerVersionArn {
    /// The account and region the layer lives in.
    pub fn scope(&self) -> Scope {
        Scope::new(self.account.clone(), self.region.clone())
    }
}

impl fmt::Display for LayerVersionArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}",
            layer_arn(&self.scope(), &self.name),
            self.version
        )
    }
}

/// `arn:aws:lambda:<region>:<account>:layer:<name>`.
pub fn layer_arn(scope: &Scope, name: &LayerName) -> String {
    let Scope { account, region } = scope;
    format!("arn:aws:lambda:{region}:{account}:layer:{name}")
}

/// `arn:aws:lambda:<region>:<account>:layer:<name>:<version>`.
pub fn layer_version_arn(scope: &Scope, name: &LayerName, version: i64) -> String {
    format!("{}:{version}", layer_arn(scope, name))
}

struct ArnParts<'a> {
    region: Region,
    account: AccountId,
    name: &'a str,
    version: Option<&'a str>,
}

/// Splits `arn:<partition>:lambda:<region>:<account>:layer:<name>[:<version>]`, checking
/// every part but the name against the model.
fn split_layer_arn(s: &str) -> Option<ArnParts<'_>> {
    let mut parts = s.split(':');
    let (arn, partition, service) = (parts.next()?, parts.next()?, parts.next()?);
    let (region, account, kind, name) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let version = parts.next();
    if parts.next().is_some() || arn != "arn" || service != "lambda" || kind != "layer" {
        return None;
    }
    if !is_partition(partition) || !is_name(name) {
        return None;
    }
    if let Some(v) = version
        && (v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    Some(ArnParts {
        region: Region::parse(region)?,
        account: AccountId::parse(account)?,
        name,
        version,
    })
}

/// `arn:[a-zA-Z0-9-]+:lambda:::awslayer:[a-zA-Z0-9-_]+`
fn is_aws_managed_layer(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    matches!(parts.as_slice(), ["arn", p, "lambda", "", "", "awslayer", name]
        if !p.is_empty()
            && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && is_name(name))
}

/// `(aws[a-zA-Z-]*)?`
fn is_partition(s: &str) -> bool {
    s.is_empty()
        || (s.starts_with("aws") && s[3..].bytes().all(|b| b.is_ascii_alphabetic() || b == b'-'))
}

/// `[a-zA-Z0-9-_]+`
fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn is_lower_word(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase())
}

/// `(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d`, split on dashes so the optional
/// middle part cannot be confused with the area word.
fn is_region(s: &str) -> bool {
    let s = s.strip_prefix("eusc-").unwrap_or(s);
    let parts: Vec<&str> = s.split('-').collect();
    let Some((first, rest)) = parts.split_first() else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return false;
    };
    let country = first.len() == 2 && is_lower_word(first);
    let digit = last.len() == 1 && last.bytes().all(|b| b.is_ascii_digit());
    let middle_ok = match middle {
        [area] => is_lower_word(area),
        [qualifier, area] => {
            let iso = qualifier
                .strip_prefix("iso")
                .is_some_and(|t| t.is_empty() || (t.len() == 1 && is_lower_word(t)));
            (*qualifier == "gov" || iso) && is_lower_word(area)
        }
        _ => false,
    };
    country && digit && middle_ok
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn regions() {
        for ok in [
            "us-west-2",
            "us-gov-west-1",
            "us-isob-east-1",
            "us-iso-east-1",
            "eusc-de-east-1",
            "us-gov-1",
        ] {
            assert!(Region::parse(ok).is_some(), "{ok}");
        }
        for bad in [
            "",
            "us",
            "us-west",
            "us-west-22",
            "US-west-2",
            "usa-west-2",
            "us-foo-west-2",
        ] {
            assert!(Region::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn layer_names_and_arns() {
        let r = LayerName::parse_name_or_arn("requests-layer").unwrap();
        assert_eq!(r.name.as_str(), "requests-layer");
        assert!(r.region.is_none());
        let r =
            LayerName::parse_name_or_arn("arn:aws:lambda:us-west-2:123456789012:layer:my_layer")
                .unwrap();
        assert_eq!(r.name.as_str(), "my_layer");
        assert_eq!(r.region.unwrap().as_str(), "us-west-2");
        for bad in [
            "",
            "a b",
            "x".repeat(141).as_str(),
            "arn:aws:lambda:us-west-2:123456789012:layer:x:1",
            "arn:aws:s3:us-west-2:123456789012:layer:x",
        ] {
            let e = LayerName::parse_name_or_arn(bad).unwrap_err();
            assert_eq!(e.type_name(), "ValidationException", "{bad}");
        }
        let long = "x".repeat(2049);
        assert!(
            LayerName::parse_name_or_arn(&long)
                .unwrap_err()
                .message()
                .contains("length less than or equal to 2048")
        );
    }

    #[test]
    fn version_arns() {
        let a = LayerVersionArn::parse(
            "arn:aws:lambda:us-west-2:123456789012:layer:requests-layer:1",
            "arn",
        )
        .unwrap();
        assert_eq!(a.version, 1);
        assert_eq!(
            a.to_string(),
            "arn:aws:lambda:us-west-2:123456789012:layer:requests-layer:1"
        );
        let e = LayerVersionArn::parse(
            "arn:aws:lambda:us-west-2:123456789012:layer:requests-layer",
            "arn",
        )
        .unwrap_err();
        match e {
            LayerVersionArnError::Invalid(e) => assert!(e.message().starts_with("1 validation error detected: Value 'arn:aws:lambda:us-west-2:123456789012:layer:requests-layer' at 'arn' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:")),
            LayerVersionArnError::Unknown => panic!("expected invalid"),
        }
        assert_eq!(
            LayerVersionArn::parse("arn:aws:lambda:::awslayer:AWSLambda-Python", "arn"),
            Err(LayerVersionArnError::Unknown)
        );
        assert_eq!(
            LayerVersionArn::parse(
                "arn:aws:lambda:us-west-2:123456789012:layer:x:99999999999999999999",
                "arn"
            ),
            Err(LayerVersionArnError::Unknown)
        );
    }

    fn name_strategy() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9_-]{1,140}"
    }

    fn region_strategy() -> impl Strategy<Value = String> {
        (
            "[a-z]{2}",
            prop::option::of(prop_oneof!["gov", "iso", "isob"]),
            "[a-z]{1,9}",
            0u8..10,
        )
            .prop_map(|(c, q, area, d)| match q {
                Some(q) => format!("{c}-{q}-{area}-{d}"),
                None => format!("{c}-{area}-{d}"),
            })
    }

    proptest! {
        #[test]
        fn arn_round_trips(name in name_strategy(), region in region_strategy(), account in "[0-9]{12}", version in 1i64..i64::MAX) {
            let s = format!("arn:aws:lambda:{region}:{account}:layer:{name}:{version}");
            let arn = LayerVersionArn::parse(&s, "arn").unwrap();
            prop_assert_eq!(arn.to_string(), s);
            let unversioned = format!("arn:aws:lambda:{region}:{account}:layer:{name}");
            let r = LayerName::parse_name_or_arn(&unversioned).unwrap();
            prop_assert_eq!(r.name.as_str(), name.as_str());
        }

        #[test]
        fn parsers_never_panic(s in "\\PC{0,300}") {
            let _ = LayerName::parse_name_or_arn(&s);
            let _ = LayerVersionArn::parse(&s, "arn");
            let _ = Region::parse(&s);
        }

        #[test]
        fn names_with_other_bytes_are_refused(prefix in name_strategy(), bad in "[^a-zA-Z0-9_:-]", suffix in "[a-z]{0,3}") {
            let s = format!("{prefix}{bad}{suffix}");
            prop_assert!(LayerName::parse_name_or_arn(&s).is_err());
        }
    }
}

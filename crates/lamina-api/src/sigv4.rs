//! SigV4: the `Authorization` header and presigned query parameters parsed ([`signature_of`]),
//! the canonical request rebuilt from the request as received ([`canonical`]), and the
//! signature verified against the key's secret ([`verify`]).

pub mod canonical;
pub mod signing_key;
pub mod verify;

pub use signing_key::SigningKeys;
pub use verify::{Caller, Credential, CredentialStore, verify};

use lamina_types::LambdaError;

/// A request's SigV4 signature, from its `Authorization` header or, for a presigned request,
/// its `X-Amz-*` query parameters (decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// Access key id.
    pub access_key: String,
    /// `yyyymmdd` of the scope.
    pub date: String,
    /// Region of the scope.
    pub region: String,
    /// Service of the scope (`lambda`).
    pub service: String,
    /// `SignedHeaders`, `;`-separated.
    pub signed_headers: String,
    /// Hex signature.
    pub signature: String,
    /// Where it came from, and what only presigned requests carry.
    pub location: Location,
}

/// Where a signature was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// The `Authorization` header; the time is the `X-Amz-Date` header.
    Header,
    /// Query parameters (a presigned URL).
    Query {
        /// `X-Amz-Date`.
        amz_date: String,
        /// `X-Amz-Expires`, in seconds.
        expires_secs: u64,
        /// `X-Amz-Security-Token`, when given.
        session_token: Option<String>,
    },
}

/// Longest validity of a presigned request, as AWS allows (7 days).
pub const MAX_PRESIGNED_EXPIRES_SECS: u64 = 604_800;

/// The query parameters that make a request presigned.
const PRESIGNED_PARAMS: [&str; 6] = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
];

/// The signature of a request: its `Authorization` header, else its presigned query
/// parameters; `None` when it carries neither (an unsigned request).
pub fn signature_of(
    authorization: Option<&[u8]>,
    query: Option<&str>,
) -> Result<Option<Signature>, LambdaError> {
    let incomplete = |e: AuthorizationError| LambdaError::IncompleteSignature(e.to_string());
    if let Some(value) = authorization {
        let text = std::str::from_utf8(value).map_err(|_| {
            LambdaError::IncompleteSignature("Authorization header is not ASCII.".into())
        })?;
        let a = parse_authorization(text).map_err(incomplete)?;
        return Ok(Some(Signature {
            access_key: a.access_key.to_owned(),
            date: a.date.to_owned(),
            region: a.region.to_owned(),
            service: a.service.to_owned(),
            signed_headers: a.signed_headers.to_owned(),
            signature: a.signature.to_owned(),
            location: Location::Header,
        }));
    }
    let Some(query) = query else {
        return Ok(None);
    };
    let mut found: [Option<String>; 6] = Default::default();
    let mut session_token = None;
    for (name, value) in canonical::query_pairs(query) {
        if let Some(i) = PRESIGNED_PARAMS.iter().position(|p| *p == name) {
            found[i] = Some(value);
        } else if name == "X-Amz-Security-Token" {
            session_token = Some(value);
        }
    }
    if found.iter().all(Option::is_none) {
        return Ok(None);
    }
    let [
        algorithm,
        credential,
        amz_date,
        expires,
        signed_headers,
        signature,
    ] = found;
    let required = |value: Option<String>, name: &str| {
        value.ok_or_else(|| {
            LambdaError::IncompleteSignature(format!(
                "AWS query-string parameters must include '{name}'. Re-examine the \
                 query-string parameters."
            ))
        })
    };
    if required(algorithm, "X-Amz-Algorithm")? != "AWS4-HMAC-SHA256" {
        return Err(incomplete(AuthorizationError::UnsupportedAlgorithm));
    }
    let credential = required(credential, "X-Amz-Credential")?;
    let (access_key, date, region, service) = parse_credential(&credential).map_err(incomplete)?;
    let expires = required(expires, "X-Amz-Expires")?;
    let expires_secs = expires
        .parse::<u64>()
        .ok()
        .filter(|s| (1..=MAX_PRESIGNED_EXPIRES_SECS).contains(s))
        .ok_or_else(|| {
            LambdaError::IncompleteSignature(format!(
                "X-Amz-Expires must be a number of seconds from 1 to \
                 {MAX_PRESIGNED_EXPIRES_SECS}, not '{expires}'."
            ))
        })?;
    Ok(Some(Signature {
        access_key: access_key.to_owned(),
        date: date.to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
        signed_headers: required(signed_headers, "X-Amz-SignedHeaders")?,
        signature: required(signature, "X-Amz-Signature")?,
        location: Location::Query {
            amz_date: required(amz_date, "X-Amz-Date")?,
            expires_secs,
            session_token,
        },
    }))
}

/// The parts of `AWS4-HMAC-SHA256 Credential=AK/date/region/service/aws4_request, ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization<'a> {
    /// Access key id.
    pub access_key: &'a str,
    /// `yyyymmdd` of the scope.
    pub date: &'a str,
    /// Region of the scope.
    pub region: &'a str,
    /// Service of the scope (`lambda`).
    pub service: &'a str,
    /// `SignedHeaders`, `;`-separated.
    pub signed_headers: &'a str,
    /// Hex signature.
    pub signature: &'a str,
}

/// Why a header is not a SigV4 authorization, worded for `IncompleteSignatureException`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorizationError {
    /// Not `AWS4-HMAC-SHA256 ...`.
    #[error("Authorization header requires the AWS4-HMAC-SHA256 algorithm.")]
    UnsupportedAlgorithm,
    /// A required component is missing.
    #[error("Authorization header requires '{0}' parameter.")]
    Missing(&'static str),
    /// The credential is not `AK/date/region/service/aws4_request`.
    #[error(
        "Credential should be scoped to a valid region, service and date: \
         <key>/<yyyymmdd>/<region>/<service>/aws4_request."
    )]
    MalformedCredential,
}

/// Parses an `Authorization` header value.
pub fn parse_authorization(value: &str) -> Result<Authorization<'_>, AuthorizationError> {
    let rest = value
        .strip_prefix("AWS4-HMAC-SHA256")
        .filter(|r| r.starts_with(' '))
        .ok_or(AuthorizationError::UnsupportedAlgorithm)?;
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let Some((key, val)) = part.trim().split_once('=') else {
            continue;
        };
        match key {
            "Credential" => credential = Some(val),
            "SignedHeaders" => signed_headers = Some(val),
            "Signature" => signature = Some(val),
            _ => {}
        }
    }
    let credential = credential.ok_or(AuthorizationError::Missing("Credential"))?;
    let signed_headers = signed_headers.ok_or(AuthorizationError::Missing("SignedHeaders"))?;
    let signature = signature.ok_or(AuthorizationError::Missing("Signature"))?;
    let (access_key, date, region, service) = parse_credential(credential)?;
    Ok(Authorization {
        access_key,
        date,
        region,
        service,
        signed_headers,
        signature,
    })
}

/// `AK/yyyymmdd/region/service/aws4_request` into its parts.
fn parse_credential(credential: &str) -> Result<(&str, &str, &str, &str), AuthorizationError> {
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key, date, region, service, "aws4_request"] = scope.as_slice() else {
        return Err(AuthorizationError::MalformedCredential);
    };
    if access_key.is_empty()
        || date.len() != 8
        || !date.bytes().all(|b| b.is_ascii_digit())
        || region.is_empty()
        || service.is_empty()
    {
        return Err(AuthorizationError::MalformedCredential);
    }
    Ok((access_key, date, region, service))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const CLI: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-west-2/lambda/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";

    #[test]
    fn parses_what_the_cli_sends() {
        let a = parse_authorization(CLI).unwrap();
        assert_eq!(a.region, "us-west-2");
        assert_eq!(a.service, "lambda");
        assert_eq!(a.signed_headers, "content-type;host;x-amz-date");
        let rust_sdk = CLI.replace(", ", ",");
        assert_eq!(parse_authorization(&rust_sdk).unwrap().region, "us-west-2");
    }

    #[test]
    fn refuses_malformed() {
        assert_eq!(
            parse_authorization("Basic abc"),
            Err(AuthorizationError::UnsupportedAlgorithm)
        );
        assert_eq!(
            parse_authorization("AWS4-HMAC-SHA256 SignedHeaders=host, Signature=x"),
            Err(AuthorizationError::Missing("Credential"))
        );
        assert_eq!(
            parse_authorization(
                "AWS4-HMAC-SHA256 Credential=AK/2026/us-west-2, SignedHeaders=host, Signature=x"
            ),
            Err(AuthorizationError::MalformedCredential)
        );
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,400}") {
            let _ = parse_authorization(&s);
        }

        #[test]
        fn region_round_trips(region in "[a-z]{2}-[a-z]{2,9}-[0-9]", key in "[A-Z0-9]{16,20}") {
            let header = format!("AWS4-HMAC-SHA256 Credential={key}/20261125/{region}/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=00");
            prop_assert_eq!(parse_authorization(&header).unwrap().region, region.as_str());
        }
    }
}

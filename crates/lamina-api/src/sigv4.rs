//! Parsing of the SigV4 `Authorization` header. Signatures are not verified yet; the
//! credential scope is read because it carries the region the client is configured for.

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
    Ok(Authorization {
        access_key,
        date,
        region,
        service,
        signed_headers,
        signature,
    })
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

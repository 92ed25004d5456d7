//! Verification of a SigV4 signature: the key looked up, its session token checked, the date
//! inside the allowed window, and the signature recomputed from the received request and
//! compared in constant time. Each refusal is AWS's error for it (spec §10).

use hmac::Mac;
use lamina_types::{AccountId, LambdaError};
use subtle::ConstantTimeEq;
use time::macros::format_description;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use super::canonical::{self, Received};
use super::signing_key::{SigningKeys, hmac_of};
use super::{Location, Signature};

/// How far a header-signed request's `X-Amz-Date` may be from the server's clock, either way.
pub const MAX_CLOCK_SKEW_SECS: i64 = 5 * 60;

/// The service a request's signature must be scoped to: `logs` for CloudWatch Logs operations
/// (`POST /` with an `X-Amz-Target`), `sts` for STS's (`POST /` with a form body), `lambda`
/// for every other path.
fn expected_service(request: &Received<'_>) -> &'static str {
    match (request.method, request.path) {
        ("POST", "/") if request.headers.contains_key("x-amz-target") => "logs",
        ("POST", "/") => "sts",
        _ => "lambda",
    }
}

/// The literal a client signs instead of the body's hash when it does not sign the body.
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// AWS's text for an unknown key or session token.
const UNRECOGNIZED: &str = "The security token included in the request is invalid.";

/// What the server knows of one access key. Its `Debug` shows neither the secret nor the
/// session token.
#[derive(Clone)]
pub struct Credential {
    /// The secret access key: SigV4 needs the secret itself to recompute a signature.
    pub secret: String,
    /// The account the key belongs to: every ARN of the request is in it.
    pub account: AccountId,
    /// The session token a temporary key must come with; `None` for a long-term key, which
    /// must come without one.
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("secret", &"<redacted>")
            .field("account", &self.account)
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Looks access keys up.
pub trait CredentialStore: Send + Sync {
    /// The key's credential, or `None` when the key is unknown (or revoked), from what the
    /// store holds in memory: it never waits.
    fn lookup(&self, access_key_id: &str) -> Option<Credential>;

    /// As [`lookup`](Self::lookup), but a store that caches keys of a shared database may
    /// re-read them first when the key is unknown, so that a key created a moment ago on
    /// another node is found. Called once per request before the signature is verified.
    fn lookup_fresh<'a>(
        &'a self,
        access_key_id: &'a str,
    ) -> futures_util::future::BoxFuture<'a, Option<Credential>> {
        Box::pin(std::future::ready(self.lookup(access_key_id)))
    }
}

/// Who signed a verified request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The access key id the request was signed with.
    pub access_key_id: String,
    /// The key's account.
    pub account: AccountId,
    /// The region of the credential scope.
    pub region: String,
}

/// Verifies `signature` over `request` and `body` at `now`. The key is looked up (so a
/// revoked key is refused) before its signing key is taken from `signing_keys`.
pub fn verify(
    request: &Received<'_>,
    body: &[u8],
    signature: &Signature,
    store: &dyn CredentialStore,
    signing_keys: &SigningKeys,
    now: OffsetDateTime,
) -> Result<Caller, LambdaError> {
    let credential = store
        .lookup(&signature.access_key)
        .ok_or_else(|| LambdaError::UnrecognizedClient(UNRECOGNIZED.to_owned()))?;
    let sent_token = match &signature.location {
        Location::Header => request
            .headers
            .get("x-amz-security-token")
            .map(|v| v.as_bytes().to_vec()),
        Location::Query { session_token, .. } => {
            session_token.as_ref().map(|t| t.as_bytes().to_vec())
        }
    };
    let token_ok = match (&credential.session_token, &sent_token) {
        (None, None) => true,
        (Some(expected), Some(sent)) => bool::from(expected.as_bytes().ct_eq(sent)),
        _ => false,
    };
    if !token_ok {
        return Err(LambdaError::UnrecognizedClient(UNRECOGNIZED.to_owned()));
    }
    let signed_headers = signature.signed_headers.as_str();
    if !signed_headers.split(';').any(|h| h == "host") {
        return Err(LambdaError::IncompleteSignature(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".to_owned(),
        ));
    }
    let amz_date = match &signature.location {
        Location::Header => request
            .headers
            .get("x-amz-date")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                LambdaError::IncompleteSignature(
                    "Authorization header requires existence of either a 'X-Amz-Date' or a \
                     'Date' header."
                        .to_owned(),
                )
            })?,
        Location::Query { amz_date, .. } => amz_date.as_str(),
    };
    let signed_at = parse_amz_date(amz_date).ok_or_else(|| {
        LambdaError::IncompleteSignature(format!(
            "Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See \
             http://en.wikipedia.org/wiki/ISO_8601"
        ))
    })?;
    if !amz_date.starts_with(&signature.date) {
        return Err(LambdaError::InvalidSignature(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from \
             HTTP: '{}' != '{}', from '{amz_date}'.",
            signature.date,
            &amz_date[..8]
        )));
    }
    let service = expected_service(request);
    if signature.service != service {
        return Err(LambdaError::InvalidSignature(format!(
            "Credential should be scoped to correct service: '{service}'. "
        )));
    }
    check_window(amz_date, signed_at, &signature.location, now)?;
    let payload_hash = payload_hash(request, body)?;
    let skip = match signature.location {
        Location::Header => None,
        Location::Query { .. } => Some("X-Amz-Signature"),
    };
    let canonical = canonical::canonical_request(request, signed_headers, &payload_hash, skip);
    let scope = format!(
        "{}/{}/{}/aws4_request",
        signature.date, signature.region, signature.service
    );
    let to_sign = canonical::string_to_sign(amz_date, &scope, &canonical);
    let key = signing_keys.get(
        &signature.access_key,
        &credential.secret,
        &signature.date,
        &signature.region,
        &signature.service,
    );
    let mut mac = hmac_of(&key);
    mac.update(to_sign.as_bytes());
    let matches = hex::decode(&signature.signature)
        .ok()
        .is_some_and(|sent| mac.verify_slice(&sent).is_ok());
    if !matches {
        return Err(LambdaError::InvalidSignature(format!(
            "The request signature we calculated does not match the signature you provided. \
             Check your AWS Secret Access Key and signing method. Consult the service \
             documentation for details.\n\nThe Canonical String for this request should have \
             been\n'{}'\n\nThe String-to-Sign should have been\n'{to_sign}'\n",
            String::from_utf8_lossy(&canonical)
        )));
    }
    Ok(Caller {
        access_key_id: signature.access_key.clone(),
        account: credential.account,
        region: signature.region.clone(),
    })
}

/// The payload hash the client signed: the body's, or `UNSIGNED-PAYLOAD` when the client says
/// so in `X-Amz-Content-SHA256`. A hash given there must be the body's.
fn payload_hash(request: &Received<'_>, body: &[u8]) -> Result<String, LambdaError> {
    let computed = canonical::payload_sha256(body);
    match request.headers.get("x-amz-content-sha256") {
        None => Ok(computed),
        Some(v) if v.as_bytes() == UNSIGNED_PAYLOAD.as_bytes() => Ok(UNSIGNED_PAYLOAD.to_owned()),
        Some(v) if v.as_bytes().eq_ignore_ascii_case(computed.as_bytes()) => Ok(computed),
        Some(_) => Err(LambdaError::InvalidSignature(
            "The provided 'x-amz-content-sha256' header does not match what was computed."
                .to_owned(),
        )),
    }
}

/// A header-signed request is valid within [`MAX_CLOCK_SKEW_SECS`] of its date; a presigned
/// one from that much before its date until its `X-Amz-Expires` has passed.
fn check_window(
    amz_date: &str,
    signed_at: OffsetDateTime,
    location: &Location,
    now: OffsetDateTime,
) -> Result<(), LambdaError> {
    let skew = time::Duration::seconds(MAX_CLOCK_SKEW_SECS);
    let (earliest, lifetime) = match location {
        Location::Header => (now - skew, "5 min.".to_owned()),
        Location::Query { expires_secs, .. } => {
            let secs = i64::try_from(*expires_secs).unwrap_or(i64::MAX);
            (now - time::Duration::seconds(secs), format!("{secs} sec."))
        }
    };
    if signed_at < earliest {
        return Err(LambdaError::InvalidSignature(format!(
            "Signature expired: {amz_date} is now earlier than {} ({} - {lifetime})",
            format_amz_date(earliest),
            format_amz_date(now)
        )));
    }
    if signed_at > now + skew {
        return Err(LambdaError::InvalidSignature(format!(
            "Signature not yet current: {amz_date} is still later than {} ({} + 5 min.)",
            format_amz_date(now + skew),
            format_amz_date(now)
        )));
    }
    Ok(())
}

/// `yyyymmddTHHMMSSZ` as a UTC time.
pub fn parse_amz_date(s: &str) -> Option<OffsetDateTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        let digits = s.get(from..to)?;
        digits
            .bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| digits.parse().ok())?
    };
    let year = i32::try_from(num(0, 4)?).ok()?;
    let month = Month::try_from(u8::try_from(num(4, 6)?).ok()?).ok()?;
    let day = u8::try_from(num(6, 8)?).ok()?;
    let hour = u8::try_from(num(9, 11)?).ok()?;
    let minute = u8::try_from(num(11, 13)?).ok()?;
    let second = u8::try_from(num(13, 15)?).ok()?;
    let date = Date::from_calendar_date(year, month, day).ok()?;
    let time = Time::from_hms(hour, minute, second).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

/// A UTC time as `yyyymmddTHHMMSSZ`.
pub fn format_amz_date(t: OffsetDateTime) -> String {
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    t.to_offset(time::UtcOffset::UTC)
        .format(format)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;

//! The verifier against the AWS SDK's own signer (`aws-sigv4`): what it signs verifies, and
//! any single change of the signature, path, query, a signed header or the body does not.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use proptest::prelude::*;

use super::*;
use crate::sigv4::signature_of;

const KEY: &str = "AKIDLAMINATEST000000";
const SECRET: &str = "lamina-test-secret";
const HOST: &str = "127.0.0.1:8900";
/// 2026-11-25T12:00:00Z.
const SIGNED_AT_UNIX: u64 = 1_795_608_000;

const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

struct Keys(HashMap<String, Credential>);

impl CredentialStore for Keys {
    fn lookup(&self, access_key_id: &str) -> Option<Credential> {
        self.0.get(access_key_id).cloned()
    }
}

fn keys(session_token: Option<&str>) -> Keys {
    let credential = Credential {
        secret: SECRET.to_owned(),
        account: AccountId::parse("123456789012").unwrap(),
        session_token: session_token.map(str::to_owned),
    };
    Keys(HashMap::from([(KEY.to_owned(), credential)]))
}

fn signed_at() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(SIGNED_AT_UNIX)
}

fn now_plus(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from(signed_at()) + time::Duration::seconds(secs)
}

/// One request as the server receives it.
#[derive(Debug, Clone)]
struct Wire {
    method: String,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Wire {
    fn verify_at(&self, store: &Keys, now: OffsetDateTime) -> Result<Caller, LambdaError> {
        self.verify_cached(store, &SigningKeys::default(), now)
    }

    fn verify_cached(
        &self,
        store: &Keys,
        signing_keys: &SigningKeys,
        now: OffsetDateTime,
    ) -> Result<Caller, LambdaError> {
        let signature = signature_of(
            self.headers.get("authorization").map(HeaderValue::as_bytes),
            self.query.as_deref(),
        )?
        .ok_or_else(|| LambdaError::MissingAuthenticationToken("none".into()))?;
        let received = Received {
            method: &self.method,
            path: &self.path,
            query: self.query.as_deref(),
            headers: &self.headers,
        };
        verify(&received, &self.body, &signature, store, signing_keys, now)
    }

    fn verify(&self) -> Result<Caller, LambdaError> {
        self.verify_at(&keys(None), now_plus(0))
    }
}

/// Signs a request with the AWS SDK's signer, in the header or (`presign`) in the query.
fn sign_request(
    method: &str,
    path: &str,
    query: &[(String, String)],
    headers: &[(String, String)],
    body: &[u8],
    presign: Option<Duration>,
    session_token: Option<&str>,
) -> Wire {
    let query_text: Vec<String> = query
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, UNRESERVED),
                utf8_percent_encode(v, UNRESERVED)
            )
        })
        .collect();
    let query_text = query_text.join("&");
    let uri = if query_text.is_empty() {
        format!("http://{HOST}{path}")
    } else {
        format!("http://{HOST}{path}?{query_text}")
    };
    let mut all_headers = vec![("host".to_owned(), HOST.to_owned())];
    all_headers.extend(headers.iter().cloned());
    let identity =
        Credentials::new(KEY, SECRET, session_token.map(str::to_owned), None, "test").into();
    let mut settings = SigningSettings::default();
    if let Some(expires) = presign {
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(expires);
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-west-2")
        .name("lambda")
        .time(signed_at())
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let signable = SignableRequest::new(
        method,
        uri,
        all_headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut map = HeaderMap::new();
    for (k, v) in all_headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain(instructions.headers())
    {
        map.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    let mut full_query = query_text;
    for (k, v) in instructions.params() {
        if !full_query.is_empty() {
            full_query.push('&');
        }
        full_query.push_str(&format!("{k}={}", utf8_percent_encode(v, UNRESERVED)));
    }
    Wire {
        method: method.to_owned(),
        path: path.to_owned(),
        query: (!full_query.is_empty()).then_some(full_query),
        headers: map,
        body: body.to_vec(),
    }
}

fn simple(method: &str, path: &str) -> Wire {
    sign_request(method, path, &[], &[], b"", None, None)
}

#[test]
fn a_request_signed_by_the_sdk_verifies() {
    let wire = sign_request(
        "POST",
        "/2018-10-31/layers/arn%3Aaws%3Alambda%3Aus-west-2%3A123456789012%3Alayer%3Ax/versions",
        &[("Marker".into(), "a:b c".into())],
        &[("content-type".into(), "application/json".into())],
        br#"{"a":1}"#,
        None,
        None,
    );
    let caller = wire.verify().unwrap();
    assert_eq!(caller.region, "us-west-2");
    assert_eq!(caller.account.as_str(), "123456789012");
    assert_eq!(caller.access_key_id, KEY);
}

#[test]
fn an_unknown_key_is_unrecognized() {
    let wire = simple("GET", "/2015-03-31/functions/");
    let err = wire
        .verify_at(&Keys(HashMap::new()), now_plus(0))
        .unwrap_err();
    assert_eq!(err.type_name(), "UnrecognizedClientException");
    assert_eq!(err.message(), UNRECOGNIZED);
}

#[test]
fn a_wrong_secret_is_an_invalid_signature_naming_the_canonical_request() {
    let wire = simple("GET", "/2015-03-31/functions/");
    let mut store = keys(None);
    store.0.get_mut(KEY).unwrap().secret = "other".into();
    let err = wire.verify_at(&store, now_plus(0)).unwrap_err();
    assert_eq!(err.type_name(), "InvalidSignatureException");
    assert!(
        err.message()
            .starts_with("The request signature we calculated does not match"),
        "{}",
        err.message()
    );
    assert!(
        err.message()
            .contains("'GET\n/2015-03-31/functions/\n\nhost:127.0.0.1:8900\n"),
        "{}",
        err.message()
    );
}

#[test]
fn the_date_window_is_five_minutes_either_way() {
    let wire = simple("GET", "/2015-03-31/functions/");
    wire.verify_at(&keys(None), now_plus(300)).unwrap();
    wire.verify_at(&keys(None), now_plus(-300)).unwrap();
    let err = wire.verify_at(&keys(None), now_plus(301)).unwrap_err();
    assert_eq!(err.type_name(), "InvalidSignatureException");
    assert_eq!(
        err.message(),
        "Signature expired: 20261125T120000Z is now earlier than 20261125T120001Z \
         (20261125T120501Z - 5 min.)"
    );
    let err = wire.verify_at(&keys(None), now_plus(-301)).unwrap_err();
    assert!(
        err.message()
            .starts_with("Signature not yet current: 20261125T120000Z is still later than"),
        "{}",
        err.message()
    );
}

#[test]
fn a_missing_date_or_a_foreign_service_is_refused() {
    let mut wire = simple("GET", "/p");
    wire.headers.remove("x-amz-date");
    let err = wire.verify().unwrap_err();
    assert_eq!(err.type_name(), "IncompleteSignatureException");
    let mut wire = simple("GET", "/p");
    let auth = wire.headers["authorization"].to_str().unwrap().to_owned();
    let auth = auth.replace("/lambda/", "/s3/");
    wire.headers
        .insert("authorization", HeaderValue::from_str(&auth).unwrap());
    let err = wire.verify().unwrap_err();
    assert_eq!(err.type_name(), "InvalidSignatureException");
    assert!(err.message().contains("'lambda'"), "{}", err.message());
}

#[test]
fn logs_and_sts_requests_are_scoped_to_their_own_services() {
    let mut headers = HeaderMap::new();
    let at = |method, path, headers: &HeaderMap| {
        expected_service(&Received {
            method,
            path,
            query: None,
            headers,
        })
    };
    assert_eq!(at("POST", "/", &headers), "sts");
    assert_eq!(at("GET", "/2015-03-31/functions", &headers), "lambda");
    headers.insert(
        "x-amz-target",
        HeaderValue::from_static("Logs_20140328.FilterLogEvents"),
    );
    assert_eq!(at("POST", "/", &headers), "logs");
    assert_eq!(at("POST", "/2015-03-31/functions", &headers), "lambda");
}

#[test]
fn a_cached_signing_key_never_outlives_its_key_or_its_secret() {
    let cache = SigningKeys::default();
    let wire = simple("GET", "/2015-03-31/functions/");
    wire.verify_cached(&keys(None), &cache, now_plus(0))
        .unwrap();
    wire.verify_cached(&keys(None), &cache, now_plus(1))
        .unwrap();
    assert_eq!(cache.len(), 1);
    // Revoked: refused, although its signing key is still cached.
    let err = wire
        .verify_cached(&Keys(HashMap::new()), &cache, now_plus(2))
        .unwrap_err();
    assert_eq!(err.type_name(), "UnrecognizedClientException");
    // The same id with another secret: the cached key of the old secret is not used.
    let mut replaced = keys(None);
    if let Some(credential) = replaced.0.get_mut(KEY) {
        credential.secret = "a-new-secret".to_owned();
    }
    let err = wire
        .verify_cached(&replaced, &cache, now_plus(3))
        .unwrap_err();
    assert_eq!(err.type_name(), "InvalidSignatureException");
    wire.verify_cached(&keys(None), &cache, now_plus(4))
        .unwrap();
}

#[test]
fn a_credential_debug_shows_no_secret() {
    let debug = format!("{:?}", keys(Some("the-token")).0);
    assert!(!debug.contains(SECRET), "{debug}");
    assert!(!debug.contains("the-token"), "{debug}");
}

#[test]
fn session_tokens_must_match_the_key() {
    let wire = sign_request("GET", "/p", &[], &[], b"", None, Some("tok"));
    wire.verify_at(&keys(Some("tok")), now_plus(0)).unwrap();
    let err = wire
        .verify_at(&keys(Some("other")), now_plus(0))
        .unwrap_err();
    assert_eq!(err.type_name(), "UnrecognizedClientException");
    // A long-term key comes without a token, and a temporary one with its own.
    let err = wire.verify_at(&keys(None), now_plus(0)).unwrap_err();
    assert_eq!(err.type_name(), "UnrecognizedClientException");
    let err = simple("GET", "/p")
        .verify_at(&keys(Some("tok")), now_plus(0))
        .unwrap_err();
    assert_eq!(err.type_name(), "UnrecognizedClientException");
}

#[test]
fn presigned_requests_verify_until_they_expire() {
    let expires = Duration::from_secs(900);
    let wire = sign_request(
        "GET",
        "/2015-03-31/functions/f",
        &[("Qualifier".into(), "$LATEST".into())],
        &[],
        b"",
        Some(expires),
        None,
    );
    assert!(wire.headers.get("authorization").is_none());
    wire.verify_at(&keys(None), now_plus(900)).unwrap();
    let err = wire.verify_at(&keys(None), now_plus(901)).unwrap_err();
    assert_eq!(err.type_name(), "InvalidSignatureException");
    assert!(
        err.message().starts_with("Signature expired"),
        "{}",
        err.message()
    );
    let token = sign_request("GET", "/p", &[], &[], b"", Some(expires), Some("tok"));
    token.verify_at(&keys(Some("tok")), now_plus(0)).unwrap();
}

#[test]
fn a_content_hash_header_must_be_the_bodys() {
    let mut wire = simple("POST", "/p");
    wire.headers.insert(
        "x-amz-content-sha256",
        HeaderValue::from_static(canonical::EMPTY_PAYLOAD_SHA256),
    );
    // Not signed by the SDK here, but the hash is the body's: the signature still matches.
    wire.verify().unwrap();
    wire.body = b"x".to_vec();
    let err = wire.verify().unwrap_err();
    assert_eq!(err.type_name(), "InvalidSignatureException");
}

#[test]
fn amz_dates_round_trip() {
    let t = parse_amz_date("20261125T120000Z").unwrap();
    assert_eq!(format_amz_date(t), "20261125T120000Z");
    assert!(parse_amz_date("20261125T1200Z").is_none());
    assert!(parse_amz_date("20261325T120000Z").is_none());
    assert!(parse_amz_date("2026112५T12000Z").is_none());
}

/// A path segment as clients send it: percent-encoded, never a dot segment.
fn segment() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9:$._~ -]{0,11}"
        .prop_map(|s| utf8_percent_encode(&s, UNRESERVED).to_string())
}

fn request() -> impl Strategy<Value = (Wire, bool)> {
    (
        prop::sample::select(vec!["GET", "POST", "PUT", "DELETE"]),
        prop::collection::vec(segment(), 1..5),
        prop::collection::vec(("[A-Za-z][A-Za-z-]{0,7}", "[A-Za-z0-9 :/$]{0,10}"), 0..4),
        "[!-~]([ -~]{0,18}[!-~])?",
        prop::collection::vec(any::<u8>(), 0..64),
        any::<bool>(),
    )
        .prop_map(|(method, segments, query, meta, body, presign)| {
            let path = format!("/{}", segments.join("/"));
            let headers = [("x-lamina-meta".to_owned(), meta)];
            let presign = presign.then_some(Duration::from_secs(60));
            let wire = sign_request(method, &path, &query, &headers, &body, presign, None);
            (wire, presign.is_some())
        })
}

/// `s` with its byte at `at` (modulo the length) replaced by another alphanumeric.
fn change_byte(s: &str, at: usize) -> String {
    let mut bytes = s.as_bytes().to_vec();
    let i = at % bytes.len();
    bytes[i] = if bytes[i] == b'q' { b'z' } else { b'q' };
    String::from_utf8(bytes).unwrap()
}

/// A hex signature with one of its 64 digits changed.
fn flip_hex(sig: &str, at: usize) -> String {
    sig.char_indices()
        .map(|(i, c)| match (i == at % 64, c) {
            (false, c) => c,
            (true, '0') => '1',
            (true, _) => '0',
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn sdk_signed_requests_verify_and_single_changes_do_not(
        (wire, presigned) in request(),
        at in any::<usize>(),
        which in 0..5usize,
    ) {
        prop_assert!(wire.verify().is_ok(), "{:?}", wire.verify());
        let mut changed = wire.clone();
        match which {
            0 => {
                // The signature is the last thing of the header and of a presigned query.
                let (field, text) = match changed.query.clone().filter(|_| presigned) {
                    Some(query) => ("X-Amz-Signature=", query),
                    None => ("Signature=", changed.headers["authorization"].to_str().unwrap().to_owned()),
                };
                let start = text.find(field).unwrap() + field.len();
                let value = format!("{}{}", &text[..start], flip_hex(&text[start..], at));
                if presigned {
                    changed.query = Some(value);
                } else {
                    changed.headers.insert("authorization", HeaderValue::from_str(&value).unwrap());
                }
            }
            1 => {
                // Past the leading `/`, so the path stays a path.
                let tail = change_byte(&changed.path[1..], at);
                changed.path = format!("/{tail}");
            }
            2 => {
                let query = changed.query.clone().unwrap_or_default();
                changed.query = Some(if query.is_empty() {
                    "x=1".to_owned()
                } else {
                    // A byte of the operation's own parameters or of a signed X-Amz-* one
                    // (the signature itself is case 0).
                    let sig_at = query.find("X-Amz-Signature=").unwrap_or(query.len());
                    let (signed, rest) = query.split_at(sig_at);
                    if signed.is_empty() { format!("x=1&{rest}") } else {
                        format!("{}{rest}", change_byte(signed, at))
                    }
                });
            }
            3 => {
                let meta = changed.headers["x-lamina-meta"].to_str().unwrap().to_owned();
                let value = change_byte(&meta, at);
                changed.headers.insert("x-lamina-meta", HeaderValue::from_str(&value).unwrap());
            }
            _ => {
                if changed.body.is_empty() {
                    changed.body.push(b'x');
                } else {
                    let i = at % changed.body.len();
                    changed.body[i] ^= 1;
                }
            }
        }
        prop_assert!(changed.verify().is_err(), "{which}: {changed:?}");
    }
}

//! The SigV4 canonical request and string to sign, built from a request as it was received.
//!
//! Lambda is a "double encoding" service: the client signs its already percent-encoded path
//! encoded once more (`%3A` becomes `%253A`), after removing dot segments and empty segments
//! as botocore does. Query pairs are decoded and re-encoded with RFC 3986's unreserved set, then
//! sorted; headers are the ones `SignedHeaders` names, values trimmed and inner whitespace
//! collapsed, several values of one name joined with `,`.

use axum::http::HeaderMap;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, percent_encode};
use sha2::{Digest, Sha256};

/// Everything but RFC 3986's unreserved characters is encoded in query names and values.
const QUERY_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The path keeps its `/` separators.
const PATH_ENCODE: &AsciiSet = &QUERY_ENCODE.remove(b'/');

/// Hex SHA-256 of an empty payload.
pub const EMPTY_PAYLOAD_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// The received request, as much of it as the canonical request covers.
pub struct Received<'a> {
    /// The method (`GET`, `POST`...).
    pub method: &'a str,
    /// The path as received, still percent-encoded.
    pub path: &'a str,
    /// The query string as received, without the `?`.
    pub query: Option<&'a str>,
    /// Every header of the request.
    pub headers: &'a HeaderMap,
}

/// The canonical request (bytes, since header values may be any octets) for `signed_headers`
/// and `payload_hash`. `skip_param` names a query parameter left out (`X-Amz-Signature` of a
/// presigned request).
pub fn canonical_request(
    request: &Received<'_>,
    signed_headers: &str,
    payload_hash: &str,
    skip_param: Option<&str>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(request.method.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_uri(request.path).as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_query(request.query.unwrap_or(""), skip_param).as_bytes());
    out.push(b'\n');
    for name in signed_headers.split(';') {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        let mut first = true;
        for value in request.headers.get_all(name) {
            if !first {
                out.push(b',');
            }
            first = false;
            trim_all(value.as_bytes(), &mut out);
        }
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(signed_headers.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(payload_hash.as_bytes());
    out
}

/// `AWS4-HMAC-SHA256 \n <X-Amz-Date> \n <scope> \n hex(sha256(canonical request))`.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &[u8]) -> String {
    format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical_request))
    )
}

/// Hex SHA-256 of a payload.
pub fn payload_sha256(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// The received path without dot segments and empty segments, encoded once more.
pub fn canonical_uri(path: &str) -> String {
    let normalized = remove_dot_segments(path);
    percent_encode(normalized.as_bytes(), PATH_ENCODE).to_string()
}

/// botocore's `remove_dot_segments`: RFC 3986's, plus consecutive slashes removed, as AWS
/// services require.
fn remove_dot_segments(path: &str) -> String {
    if path.is_empty() {
        return "/".to_owned();
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let first = if path.starts_with('/') { "/" } else { "" };
    let last = if path.ends_with('/') && !segments.is_empty() {
        "/"
    } else {
        ""
    };
    format!("{first}{}{last}", segments.join("/"))
}

/// The query's pairs decoded, re-encoded with the unreserved set and sorted by name, then
/// value; `skip` is left out.
pub fn canonical_query(query: &str, skip: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> = query_pairs(query)
        .filter(|(name, _)| Some(name.as_str()) != skip)
        .map(|(name, value)| (encode(&name), encode(&value)))
        .collect();
    pairs.sort();
    let parts: Vec<String> = pairs.into_iter().map(|(n, v)| format!("{n}={v}")).collect();
    parts.join("&")
}

/// The decoded `name=value` pairs of a raw query string (a name without `=` has an empty
/// value; empty pieces between `&`s are skipped).
pub fn query_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(name), decode(value))
    })
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

fn encode(s: &str) -> String {
    percent_encode(s.as_bytes(), QUERY_ENCODE).to_string()
}

/// Appends `value` without leading and trailing whitespace and with each inner run of
/// whitespace collapsed to one space (SigV4's `Trimall`).
fn trim_all(value: &[u8], out: &mut Vec<u8>) {
    let mut first = true;
    for word in value
        .split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
    {
        if !first {
            out.push(b' ');
        }
        first = false;
        out.extend_from_slice(word);
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn the_path_is_encoded_once_more() {
        assert_eq!(
            canonical_uri("/2018-10-31/layers/arn%3Aaws%3Alambda/versions"),
            "/2018-10-31/layers/arn%253Aaws%253Alambda/versions"
        );
        assert_eq!(
            canonical_uri("/2015-03-31/functions/f/invocations"),
            "/2015-03-31/functions/f/invocations"
        );
        assert_eq!(canonical_uri("/a/%24LATEST"), "/a/%2524LATEST");
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/a//b/./c/../d/"), "/a/b/d/");
    }

    #[test]
    fn the_query_is_sorted_and_reencoded() {
        assert_eq!(
            canonical_query("MaxItems=10&Marker=a%3Ab&FunctionVersion=ALL", None),
            "FunctionVersion=ALL&Marker=a%3Ab&MaxItems=10"
        );
        assert_eq!(canonical_query("b=%7e&a", None), "a=&b=~");
        assert_eq!(
            canonical_query("X-Amz-Signature=ab&X-Amz-Date=1", Some("X-Amz-Signature")),
            "X-Amz-Date=1"
        );
        assert_eq!(canonical_query("a=2&a=1", None), "a=1&a=2");
    }

    #[test]
    fn header_values_are_trimmed_and_joined() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("127.0.0.1:8900"));
        headers.append("x-amz-meta", HeaderValue::from_static("  a   b  "));
        headers.append("x-amz-meta", HeaderValue::from_static("c"));
        let request = Received {
            method: "GET",
            path: "/p",
            query: None,
            headers: &headers,
        };
        let canonical = canonical_request(&request, "host;x-amz-meta", EMPTY_PAYLOAD_SHA256, None);
        let expected = format!(
            "GET\n/p\n\nhost:127.0.0.1:8900\nx-amz-meta:a b,c\n\nhost;x-amz-meta\n{EMPTY_PAYLOAD_SHA256}"
        );
        assert_eq!(String::from_utf8(canonical).unwrap(), expected);
    }
}

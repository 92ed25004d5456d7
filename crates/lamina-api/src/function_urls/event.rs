//! The event a request to a function URL becomes: AWS's payload format 2.0 (the format API
//! Gateway's HTTP APIs use), with `routeKey` and `stage` `$default`.

use axum::http::{HeaderMap, Method};
use base64::Engine;
use serde_json::{Map, Value, json};

/// What the event is made from, besides the request's headers and body.
pub(crate) struct EventSource<'a> {
    /// The request's method.
    pub method: &'a Method,
    /// The path below the URL (`/` at least), as sent.
    pub raw_path: &'a str,
    /// The query string, as sent (without `?`).
    pub raw_query: Option<&'a str>,
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub protocol: &'a str,
    /// The client's address.
    pub source_ip: &'a str,
    /// The owner's account.
    pub account_id: &'a str,
    /// The URL's id (`apiId`, `domainPrefix`).
    pub url_id: &'a str,
    /// The host the client addressed (`domainName`).
    pub domain_name: &'a str,
    /// The invocation's request id.
    pub request_id: &'a str,
    /// When the request came, milliseconds since the Unix epoch.
    pub epoch_millis: i64,
    /// The signer, for an `AWS_IAM` URL: its access key and account.
    pub iam: Option<(&'a str, &'a str)>,
}

/// The payload format 2.0 event of a request.
pub(crate) fn event(source: &EventSource<'_>, headers: &HeaderMap, body: &[u8]) -> Value {
    let (header_map, cookies) = event_headers(headers);
    let user_agent = headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut request_context = json!({
        "accountId": source.account_id,
        "apiId": source.url_id,
        "domainName": source.domain_name,
        "domainPrefix": source.url_id,
        "http": {
            "method": source.method.as_str(),
            "path": source.raw_path,
            "protocol": source.protocol,
            "sourceIp": source.source_ip,
            "userAgent": user_agent,
        },
        "requestId": source.request_id,
        "routeKey": "$default",
        "stage": "$default",
        "time": clf_time(source.epoch_millis),
        "timeEpoch": source.epoch_millis,
    });
    if let Some((access_key, account)) = source.iam {
        // Guessed: Lamina's keys are account keys, so the caller is the account's root.
        request_context["authorizer"] = json!({
            "iam": {
                "accessKey": access_key,
                "accountId": account,
                "callerId": account,
                "cognitoIdentity": null,
                "principalOrgId": null,
                "userArn": format!("arn:aws:iam::{account}:root"),
                "userId": account,
            }
        });
    }
    let mut event = Map::new();
    event.insert("version".into(), "2.0".into());
    event.insert("routeKey".into(), "$default".into());
    event.insert("rawPath".into(), source.raw_path.into());
    event.insert(
        "rawQueryString".into(),
        source.raw_query.unwrap_or("").into(),
    );
    if !cookies.is_empty() {
        event.insert("cookies".into(), cookies.into());
    }
    event.insert("headers".into(), Value::Object(header_map));
    if let Some(query) = source.raw_query.filter(|q| !q.is_empty()) {
        event.insert(
            "queryStringParameters".into(),
            Value::Object(query_parameters(query)),
        );
    }
    event.insert("requestContext".into(), request_context);
    if !body.is_empty() {
        let content_type = headers.get("content-type").and_then(|v| v.to_str().ok());
        let (text, encoded) = match std::str::from_utf8(body) {
            Ok(text) if is_text(content_type) => (text.to_owned(), false),
            _ => (base64::engine::general_purpose::STANDARD.encode(body), true),
        };
        event.insert("body".into(), text.into());
        event.insert("isBase64Encoded".into(), encoded.into());
    } else {
        event.insert("isBase64Encoded".into(), false.into());
    }
    Value::Object(event)
}

/// Headers lower-cased, repeated ones joined by commas, and the cookies (the `cookie`
/// header's pairs, which the event carries apart).
fn event_headers(headers: &HeaderMap) -> (Map<String, Value>, Vec<Value>) {
    let mut map: Map<String, Value> = Map::new();
    let mut cookies = Vec::new();
    for (name, value) in headers {
        let Ok(value) = value.to_str() else { continue };
        if name.as_str() == "cookie" {
            cookies.extend(
                value
                    .split(';')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(|c| Value::from(c.to_owned())),
            );
            continue;
        }
        match map.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(value);
            }
            _ => {
                map.insert(name.as_str().to_owned(), value.into());
            }
        }
    }
    (map, cookies)
}

/// `queryStringParameters`: decoded, repeated parameters joined by commas.
fn query_parameters(query: &str) -> Map<String, Value> {
    let mut map: Map<String, Value> = Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode(name);
        let value = decode(value);
        match map.get_mut(&name) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                map.insert(name, value.into());
            }
        }
    }
    map
}

/// A query component decoded (`+` is a space, as in forms).
fn decode(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// Whether a body of this content type is passed as text. Guessed from AWS's documentation
/// ("binary" bodies are base64): text types, JSON, XML, JavaScript and forms are text, and so
/// is a body without a content type that is valid UTF-8.
pub(crate) fn is_text(content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else {
        return true;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence.starts_with("text/")
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
        || matches!(
            essence.as_str(),
            "application/json"
                | "application/javascript"
                | "application/xml"
                | "application/x-www-form-urlencoded"
                | "application/graphql"
        )
}

/// `requestContext.time`: `12/Mar/2020:19:03:58 +0000`.
fn clf_time(epoch_millis: i64) -> String {
    let format = time::macros::format_description!(
        "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000"
    );
    time::OffsetDateTime::from_unix_timestamp(epoch_millis.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn source<'a>(method: &'a Method, query: Option<&'a str>) -> EventSource<'a> {
        EventSource {
            method,
            raw_path: "/a/b",
            raw_query: query,
            protocol: "HTTP/1.1",
            source_ip: "127.0.0.1",
            account_id: "123456789012",
            url_id: "abcdefghijklmnopqrstuvwxyz012345",
            domain_name: "abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.localhost",
            request_id: "req-1",
            epoch_millis: 1_583_348_638_390,
            iam: None,
        }
    }

    #[test]
    fn a_get_becomes_a_version_2_event() {
        let mut headers = HeaderMap::new();
        headers.insert("user-agent", HeaderValue::from_static("curl/8"));
        headers.append("x-multi", HeaderValue::from_static("1"));
        headers.append("x-multi", HeaderValue::from_static("2"));
        headers.insert("cookie", HeaderValue::from_static("a=1; b=2"));
        let method = Method::GET;
        let e = event(&source(&method, Some("p=1&p=2&q=x%20y")), &headers, b"");
        assert_eq!(e["version"], "2.0");
        assert_eq!(e["routeKey"], "$default");
        assert_eq!(e["rawPath"], "/a/b");
        assert_eq!(e["rawQueryString"], "p=1&p=2&q=x%20y");
        assert_eq!(e["cookies"], json!(["a=1", "b=2"]));
        assert_eq!(e["headers"]["x-multi"], "1,2");
        assert!(e["headers"].get("cookie").is_none());
        assert_eq!(e["queryStringParameters"], json!({"p": "1,2", "q": "x y"}));
        let ctx = &e["requestContext"];
        assert_eq!(ctx["accountId"], "123456789012");
        assert_eq!(ctx["apiId"], "abcdefghijklmnopqrstuvwxyz012345");
        assert_eq!(ctx["domainPrefix"], "abcdefghijklmnopqrstuvwxyz012345");
        assert_eq!(ctx["http"]["method"], "GET");
        assert_eq!(ctx["http"]["userAgent"], "curl/8");
        assert_eq!(ctx["stage"], "$default");
        assert_eq!(ctx["time"], "04/Mar/2020:19:03:58 +0000");
        assert_eq!(ctx["timeEpoch"], 1_583_348_638_390_i64);
        assert!(ctx.get("authorizer").is_none());
        assert_eq!(e["isBase64Encoded"], false);
        assert!(e.get("body").is_none());
    }

    #[test]
    fn binary_bodies_are_base64_and_text_bodies_are_not() {
        let method = Method::POST;
        let mut headers = HeaderMap::new();
        headers.insert(
            "content-type",
            HeaderValue::from_static("application/octet-stream"),
        );
        let e = event(&source(&method, None), &headers, &[0, 1, 2, 255]);
        assert_eq!(e["body"], "AAEC/w==");
        assert_eq!(e["isBase64Encoded"], true);
        assert!(e.get("queryStringParameters").is_none());
        headers.insert(
            "content-type",
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        let e = event(&source(&method, None), &headers, br#"{"a":1}"#);
        assert_eq!(e["body"], r#"{"a":1}"#);
        assert_eq!(e["isBase64Encoded"], false);
        // Not UTF-8: base64 whatever the content type says.
        headers.insert("content-type", HeaderValue::from_static("text/plain"));
        let e = event(&source(&method, None), &headers, &[0xff, 0xfe]);
        assert_eq!(e["isBase64Encoded"], true);
    }

    #[test]
    fn an_iam_caller_is_in_the_authorizer() {
        let method = Method::GET;
        let mut s = source(&method, None);
        s.iam = Some(("AKIDEXAMPLE", "123456789012"));
        let e = event(&s, &HeaderMap::new(), b"");
        let iam = &e["requestContext"]["authorizer"]["iam"];
        assert_eq!(iam["accessKey"], "AKIDEXAMPLE");
        assert_eq!(iam["accountId"], "123456789012");
    }
}

//! What a function's result becomes as a function URL's HTTP response, by AWS's rules: an
//! object with `statusCode` gives the status, `headers`, `cookies` (each a `Set-Cookie`) and
//! `body` (base64-decoded when `isBase64Encoded`); any other result is a 200
//! `application/json` response whose body is the result (a string's text, else its JSON).

use axum::body::{Body, Bytes};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::Value;

/// The head of a function URL's response: from a buffered result, or from the prelude a
/// streaming function writes first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    /// The status.
    pub status: StatusCode,
    /// Headers, as the function named them.
    pub headers: Vec<(String, String)>,
    /// One `Set-Cookie` each.
    pub cookies: Vec<String>,
}

impl Head {
    fn ok_json() -> Self {
        Self {
            status: StatusCode::OK,
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            cookies: Vec::new(),
        }
    }

    /// The head of an object with `statusCode` (the prelude of a stream, or a result).
    /// `None` when `statusCode` is not a status.
    pub(crate) fn of_object(object: &serde_json::Map<String, Value>) -> Option<Self> {
        let status = match object.get("statusCode") {
            None => StatusCode::OK,
            Some(code) => {
                let n = code
                    .as_u64()
                    .or_else(|| code.as_str().and_then(|s| s.parse().ok()))?;
                StatusCode::from_u16(u16::try_from(n).ok()?).ok()?
            }
        };
        let headers = object
            .get("headers")
            .and_then(Value::as_object)
            .map(|h| {
                h.iter()
                    .filter_map(|(name, value)| Some((name.clone(), scalar_text(value)?)))
                    .collect()
            })
            .unwrap_or_default();
        let cookies = object
            .get("cookies")
            .and_then(Value::as_array)
            .map(|c| c.iter().filter_map(scalar_text).collect())
            .unwrap_or_default();
        Some(Self {
            status,
            headers,
            cookies,
        })
    }

    /// The response with this head and `body`; headers that are not valid HTTP are left out.
    pub(crate) fn respond(&self, body: Body) -> Response {
        let mut response = (self.status, body).into_response();
        let out = response.headers_mut();
        for (name, value) in &self.headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                out.insert(name, value);
            }
        }
        for cookie in &self.cookies {
            if let Ok(value) = HeaderValue::from_str(cookie) {
                out.append(header::SET_COOKIE, value);
            }
        }
        response
    }
}

/// A header or cookie value: strings as they are, numbers and booleans as JSON writes them.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(_) | Value::Bool(_) => Some(value.to_string()),
        _ => None,
    }
}

/// What a buffered result becomes; `None` when it is malformed (a `statusCode` that is no
/// status, a base64 body that is not base64): AWS answers those 502.
pub(crate) fn from_result(payload: &[u8]) -> Option<(Head, Bytes)> {
    let Ok(value) = serde_json::from_slice::<Value>(payload) else {
        // Runtimes post JSON; anything else is passed on as it is (Guessed).
        return Some((Head::ok_json(), Bytes::copy_from_slice(payload)));
    };
    match value {
        Value::String(text) => Some((Head::ok_json(), Bytes::from(text))),
        Value::Object(object) if object.contains_key("statusCode") => {
            let head = Head::of_object(&object)?;
            let body = match object.get("body") {
                None | Some(Value::Null) => Bytes::new(),
                Some(Value::String(text)) => {
                    if object.get("isBase64Encoded") == Some(&Value::Bool(true)) {
                        Bytes::from(
                            base64::engine::general_purpose::STANDARD
                                .decode(text)
                                .ok()?,
                        )
                    } else {
                        Bytes::from(text.clone())
                    }
                }
                Some(other) => Bytes::from(other.to_string()),
            };
            Some((head, body))
        }
        other => Some((Head::ok_json(), Bytes::from(other.to_string()))),
    }
}

/// AWS's answer when the function failed or its result cannot be a response.
pub(crate) fn bad_gateway() -> Response {
    (
        StatusCode::BAD_GATEWAY,
        [(header::CONTENT_TYPE, "application/json")],
        "Internal Server Error",
    )
        .into_response()
}

/// AWS's `{"Message": ...}` answers of the URL service itself (unknown URL, refused
/// signature, throttling).
pub(crate) fn message(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "Message": message }).to_string();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_without_status_code_is_200_json() {
        let (head, body) = from_result(br#"{"message":"hi"}"#).unwrap();
        assert_eq!(head, Head::ok_json());
        assert_eq!(body.as_ref(), br#"{"message":"hi"}"#);
        let (head, body) = from_result(br#""Hello (world)""#).unwrap();
        assert_eq!(head.status, StatusCode::OK);
        assert_eq!(body.as_ref(), b"Hello (world)");
        let (_, body) = from_result(b"[1,2]").unwrap();
        assert_eq!(body.as_ref(), b"[1,2]");
    }

    #[test]
    fn a_result_with_status_code_gives_the_whole_response() {
        let payload = br#"{"statusCode":201,"headers":{"x-a":"b","x-n":3},
            "cookies":["c=1; Path=/","d=2"],"body":"AAH/","isBase64Encoded":true}"#;
        let (head, body) = from_result(payload).unwrap();
        assert_eq!(head.status, StatusCode::CREATED);
        assert_eq!(
            head.headers,
            vec![("x-a".into(), "b".into()), ("x-n".into(), "3".into())]
        );
        assert_eq!(head.cookies, vec!["c=1; Path=/", "d=2"]);
        assert_eq!(body.as_ref(), &[0, 1, 255]);
        let response = head.respond(Body::empty());
        let cookies: Vec<_> = response.headers().get_all("set-cookie").iter().collect();
        assert_eq!(cookies.len(), 2);
        assert_eq!(response.headers()["x-n"], "3");
    }

    #[test]
    fn malformed_results_are_refused() {
        assert!(from_result(br#"{"statusCode":"teapot"}"#).is_none());
        assert!(from_result(br#"{"statusCode":200,"body":"%%","isBase64Encoded":true}"#).is_none());
        let (head, body) = from_result(br#"{"statusCode":"404"}"#).unwrap();
        assert_eq!((head.status, body.len()), (StatusCode::NOT_FOUND, 0));
    }
}

//! CORS as a function URL's `Cors` configures it: Lamina answers preflight requests itself
//! and puts the `Access-Control-*` headers on the function's responses (replacing any the
//! function set, as AWS does).

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lamina_types::function_url::UrlCors;

/// The origin of a request, when `cors` allows it: what `Access-Control-Allow-Origin` says.
fn allowed_origin(cors: &UrlCors, request: &HeaderMap) -> Option<String> {
    let origin = request.get(header::ORIGIN)?.to_str().ok()?;
    let origins = cors.allow_origins.as_deref().unwrap_or_default();
    if origins.iter().any(|o| o.eq_ignore_ascii_case(origin)) {
        return Some(origin.to_owned());
    }
    // Guessed: with credentials allowed a wildcard answers with the origin itself, since
    // browsers refuse `*` then.
    origins.iter().any(|o| o == "*").then(|| {
        if cors.allow_credentials == Some(true) {
            origin.to_owned()
        } else {
            "*".to_owned()
        }
    })
}

/// Whether `method` with these headers is a CORS preflight request.
pub(crate) fn is_preflight(method: &Method, request: &HeaderMap) -> bool {
    method == Method::OPTIONS
        && request.contains_key(header::ORIGIN)
        && request.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// Lamina's answer to a preflight request: 200, with the allowances when the origin is
/// allowed (and none otherwise, which the browser takes as a refusal).
pub(crate) fn preflight(cors: &UrlCors, request: &HeaderMap) -> Response {
    let mut response = StatusCode::OK.into_response();
    let out = response.headers_mut();
    out.insert(header::VARY, HeaderValue::from_static("Origin"));
    let Some(origin) = allowed_origin(cors, request) else {
        return response;
    };
    insert(out, header::ACCESS_CONTROL_ALLOW_ORIGIN, &origin);
    let echo = |name: header::HeaderName| {
        request
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    if let Some(methods) = &cors.allow_methods {
        let value = if methods.iter().any(|m| m == "*") {
            echo(header::ACCESS_CONTROL_REQUEST_METHOD)
        } else {
            methods.join(",")
        };
        insert(out, header::ACCESS_CONTROL_ALLOW_METHODS, &value);
    }
    if let Some(headers) = &cors.allow_headers {
        let value = if headers.iter().any(|h| h == "*") {
            echo(header::ACCESS_CONTROL_REQUEST_HEADERS)
        } else {
            headers.join(",")
        };
        insert(out, header::ACCESS_CONTROL_ALLOW_HEADERS, &value);
    }
    if let Some(age) = cors.max_age {
        insert(out, header::ACCESS_CONTROL_MAX_AGE, &age.to_string());
    }
    if cors.allow_credentials == Some(true) {
        insert(out, header::ACCESS_CONTROL_ALLOW_CREDENTIALS, "true");
    }
    response
}

/// Puts the configured CORS headers on a function's response (removing the function's own).
pub(crate) fn decorate(cors: &UrlCors, request: &HeaderMap, response: &mut HeaderMap) {
    let own: Vec<_> = response
        .keys()
        .filter(|name| name.as_str().starts_with("access-control-"))
        .cloned()
        .collect();
    for name in own {
        response.remove(name);
    }
    let Some(origin) = allowed_origin(cors, request) else {
        return;
    };
    insert(response, header::ACCESS_CONTROL_ALLOW_ORIGIN, &origin);
    response.append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(expose) = cors.expose_headers.as_ref().filter(|e| !e.is_empty()) {
        insert(
            response,
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            &expose.join(","),
        );
    }
    if cors.allow_credentials == Some(true) {
        insert(response, header::ACCESS_CONTROL_ALLOW_CREDENTIALS, "true");
    }
}

fn insert(headers: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cors() -> UrlCors {
        UrlCors {
            allow_origins: Some(vec!["https://app.example".into()]),
            allow_methods: Some(vec!["GET".into(), "POST".into()]),
            allow_headers: Some(vec!["x-custom".into()]),
            expose_headers: Some(vec!["x-exposed".into()]),
            max_age: Some(600),
            allow_credentials: Some(true),
        }
    }

    fn request(origin: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ORIGIN, HeaderValue::from_static(origin));
        h.insert(
            header::ACCESS_CONTROL_REQUEST_METHOD,
            HeaderValue::from_static("POST"),
        );
        h
    }

    #[test]
    fn a_preflight_from_an_allowed_origin_gets_the_allowances() {
        let r = request("https://app.example");
        assert!(is_preflight(&Method::OPTIONS, &r));
        assert!(!is_preflight(&Method::GET, &r));
        let response = preflight(&cors(), &r);
        let h = response.headers();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(h["access-control-allow-origin"], "https://app.example");
        assert_eq!(h["access-control-allow-methods"], "GET,POST");
        assert_eq!(h["access-control-allow-headers"], "x-custom");
        assert_eq!(h["access-control-max-age"], "600");
        assert_eq!(h["access-control-allow-credentials"], "true");
    }

    #[test]
    fn another_origin_gets_no_allowances() {
        let response = preflight(&cors(), &request("https://evil.example"));
        assert!(
            !response
                .headers()
                .contains_key("access-control-allow-origin")
        );
    }

    #[test]
    fn responses_carry_the_configured_headers_only() {
        let mut out = HeaderMap::new();
        out.insert(
            "access-control-allow-origin",
            HeaderValue::from_static("https://function.example"),
        );
        decorate(&cors(), &request("https://app.example"), &mut out);
        assert_eq!(out["access-control-allow-origin"], "https://app.example");
        assert_eq!(out["access-control-expose-headers"], "x-exposed");
        let wildcard = UrlCors {
            allow_origins: Some(vec!["*".into()]),
            ..UrlCors::default()
        };
        let mut out = HeaderMap::new();
        decorate(&wildcard, &request("https://any.example"), &mut out);
        assert_eq!(out["access-control-allow-origin"], "*");
    }
}

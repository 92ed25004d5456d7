//! The body limit of each operation, known from its method and path before its body is read.
//!
//! The authentication middleware must read a signed body whole (the signature covers its
//! hash) before the handler runs; with this table it reads no more than the operation itself
//! accepts, and refuses the excess with the same 413 the handler gives (Invoke's own
//! `RequestTooLargeException`, `RequestEntityTooLargeException` elsewhere), before reading it.
//! Each handler still applies its limit itself, for `--auth none`.

use axum::http::{HeaderMap, Method};
use lamina_types::LambdaError;
use lamina_types::limits::{
    MAX_ASYNC_PAYLOAD_BYTES, MAX_REQUEST_BODY_BYTES, MAX_SMALL_BODY_BYTES, MAX_SYNC_PAYLOAD_BYTES,
};

/// How much body an operation takes, and how its refusal is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimit {
    /// Most bytes.
    pub bytes: u64,
    /// The operation named in the 413's message.
    pub operation: &'static str,
    /// Whether the refusal is Invoke's `RequestTooLargeException`.
    invoke: bool,
}

impl BodyLimit {
    const fn of(operation: &'static str, bytes: u64) -> Self {
        Self {
            bytes,
            operation,
            invoke: false,
        }
    }

    /// The error for a body over this limit, as the operation's handler words it:
    /// `refusal` is what [`crate::body::read_limited`] gave.
    pub fn refusal(&self, refusal: LambdaError) -> LambdaError {
        match refusal {
            LambdaError::RequestEntityTooLarge(m) if self.invoke => LambdaError::RequestTooLarge(m),
            other => other,
        }
    }
}

/// The limit of the operation `method` `path` names (with Invoke's `X-Amz-Invocation-Type`
/// from `headers`). Operations without a body of their own, and paths that name no
/// operation, get the limit of the small JSON operations.
pub fn body_limit(method: &Method, path: &str, headers: &HeaderMap) -> BodyLimit {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (&Method::POST, ["", "2015-03-31", "functions"]) => {
            BodyLimit::of("CreateFunction", MAX_REQUEST_BODY_BYTES)
        }
        (&Method::PUT, ["", "2015-03-31", "functions", _, "code"]) => {
            BodyLimit::of("UpdateFunctionCode", MAX_REQUEST_BODY_BYTES)
        }
        (&Method::POST, ["", "2018-10-31", "layers", _, "versions"]) => {
            BodyLimit::of("PublishLayerVersion", MAX_REQUEST_BODY_BYTES)
        }
        (&Method::POST, ["", "2015-03-31", "functions", _, "invocations"]) => {
            let event = headers
                .get("x-amz-invocation-type")
                .is_some_and(|v| v.as_bytes() == b"Event");
            // An unknown invocation type gets the larger limit: its handler refuses it
            // with a validation error, which is the answer AWS gives.
            let bytes = if event {
                MAX_ASYNC_PAYLOAD_BYTES
            } else {
                MAX_SYNC_PAYLOAD_BYTES
            };
            BodyLimit {
                bytes,
                operation: "InvokeFunction",
                invoke: true,
            }
        }
        (
            &Method::POST,
            [
                "",
                "2021-11-15",
                "functions",
                _,
                "response-streaming-invocations",
            ],
        ) => BodyLimit {
            bytes: MAX_SYNC_PAYLOAD_BYTES,
            operation: "InvokeWithResponseStream",
            invoke: true,
        },
        (&Method::POST, ["", "2014-11-13", "functions", _, "invoke-async"]) => {
            BodyLimit::of("InvokeAsync", MAX_ASYNC_PAYLOAD_BYTES)
        }
        (&Method::PUT, ["", "2015-03-31", "functions", _, "configuration"]) => {
            BodyLimit::of("UpdateFunctionConfiguration", MAX_SMALL_BODY_BYTES)
        }
        (&Method::POST, ["", "2015-03-31", "functions", _, "versions"]) => {
            BodyLimit::of("PublishVersion", MAX_SMALL_BODY_BYTES)
        }
        (&Method::POST, ["", "2015-03-31", "functions", _, "aliases"]) => {
            BodyLimit::of("CreateAlias", MAX_SMALL_BODY_BYTES)
        }
        (&Method::PUT, ["", "2015-03-31", "functions", _, "aliases", _]) => {
            BodyLimit::of("UpdateAlias", MAX_SMALL_BODY_BYTES)
        }
        (&Method::POST, ["", "2018-10-31", "layers", _, "versions", _, "policy"]) => {
            BodyLimit::of("AddLayerVersionPermission", MAX_SMALL_BODY_BYTES)
        }
        _ => BodyLimit::of("requested", MAX_SMALL_BODY_BYTES),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn limit(method: Method, path: &str) -> (&'static str, u64) {
        let l = body_limit(&method, path, &HeaderMap::new());
        (l.operation, l.bytes)
    }

    #[test]
    fn zip_operations_take_the_largest_bodies() {
        let big = MAX_REQUEST_BODY_BYTES;
        assert_eq!(
            limit(Method::POST, "/2015-03-31/functions"),
            ("CreateFunction", big)
        );
        assert_eq!(
            limit(Method::POST, "/2015-03-31/functions/"),
            ("CreateFunction", big)
        );
        assert_eq!(
            limit(Method::PUT, "/2015-03-31/functions/f/code"),
            ("UpdateFunctionCode", big)
        );
        assert_eq!(
            limit(Method::POST, "/2018-10-31/layers/l/versions"),
            ("PublishLayerVersion", big)
        );
    }

    #[test]
    fn invoke_takes_its_payload_limit_by_invocation_type() {
        let path = "/2015-03-31/functions/f/invocations";
        let mut headers = HeaderMap::new();
        let sync = body_limit(&Method::POST, path, &headers);
        assert_eq!(
            (sync.operation, sync.bytes),
            ("InvokeFunction", MAX_SYNC_PAYLOAD_BYTES)
        );
        headers.insert("x-amz-invocation-type", HeaderValue::from_static("Event"));
        assert_eq!(
            body_limit(&Method::POST, path, &headers).bytes,
            MAX_ASYNC_PAYLOAD_BYTES
        );
        headers.insert("x-amz-invocation-type", HeaderValue::from_static("DryRun"));
        assert_eq!(
            body_limit(&Method::POST, path, &headers).bytes,
            MAX_SYNC_PAYLOAD_BYTES
        );
        // Invoke's refusal is its own error type, with the same words.
        let refused = sync.refusal(LambdaError::RequestEntityTooLarge("m".into()));
        assert_eq!(refused.type_name(), "RequestTooLargeException");
        assert_eq!(refused.message(), "m");
    }

    #[test]
    fn other_operations_take_small_bodies() {
        let small = MAX_SMALL_BODY_BYTES;
        for (method, path, operation) in [
            (
                Method::PUT,
                "/2015-03-31/functions/f/configuration",
                "UpdateFunctionConfiguration",
            ),
            (
                Method::POST,
                "/2015-03-31/functions/f/versions",
                "PublishVersion",
            ),
            (
                Method::POST,
                "/2015-03-31/functions/f/aliases",
                "CreateAlias",
            ),
            (
                Method::PUT,
                "/2015-03-31/functions/f/aliases/live",
                "UpdateAlias",
            ),
            (
                Method::POST,
                "/2018-10-31/layers/l/versions/1/policy",
                "AddLayerVersionPermission",
            ),
            (Method::GET, "/2018-10-31/layers/l/versions", "requested"),
            (Method::GET, "/2015-03-31/functions", "requested"),
            (Method::DELETE, "/nowhere", "requested"),
        ] {
            assert_eq!(limit(method, path), (operation, small), "{path}");
        }
        let refused = body_limit(&Method::GET, "/x", &HeaderMap::new())
            .refusal(LambdaError::RequestEntityTooLarge("m".into()));
        assert_eq!(refused.type_name(), "RequestEntityTooLargeException");
    }
}

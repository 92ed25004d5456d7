//! A response the runtime streams (`Lambda-Runtime-Function-Response-Mode: streaming`): a
//! chunked body whose chunks go to the caller as they arrive (to its [`ResponseSink`]), or
//! are gathered for a caller that wants the response whole. A failure midway arrives as the
//! trailers `Lambda-Runtime-Function-Error-Type` and `Lambda-Runtime-Function-Error-Body`
//! (base64 of the error document), as AWS's runtimes send them.

use axum::body::{Body, Bytes};
use axum::http::HeaderMap;
use base64::Engine;
use http_body_util::BodyExt;
use tokio::sync::mpsc;

use super::Reply;

/// Where a streamed response goes as the runtime writes it.
pub type ResponseSink = mpsc::Sender<StreamPart>;

/// One part of a streamed response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamPart {
    /// First: the `Content-Type` the runtime gave the stream (AWS's default
    /// `application/octet-stream`; `application/vnd.awslambda.http-integration-response`
    /// when the function writes an HTTP prelude first).
    ContentType(String),
    /// Bytes of the response, in order.
    Chunk(Bytes),
}

/// The content type of a stream whose runtime names none.
const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// Most bytes a streamed response may have (AWS's limit for streamed responses, 20 MiB).
pub const MAX_STREAMED_RESPONSE_BYTES: usize = 20 * 1024 * 1024;

/// Reads a streamed response body to its end: its chunks go to `sink` (or are gathered, up
/// to `gather_limit`, when there is none) and the reply says how it ended. A caller that
/// stops listening does not stop the read: the runtime still gets its answer.
pub(super) async fn read_streamed(
    content_type: Option<&str>,
    mut body: Body,
    mut sink: Option<ResponseSink>,
    gather_limit: usize,
) -> (Reply, u64) {
    if let Some(tx) = &sink {
        let content_type = content_type.unwrap_or(DEFAULT_CONTENT_TYPE).to_owned();
        if tx
            .send(StreamPart::ContentType(content_type))
            .await
            .is_err()
        {
            sink = None;
        }
    }
    let mut gathered = Vec::new();
    let mut total: usize = 0;
    let mut trailers = None;
    let limit = if sink.is_some() {
        MAX_STREAMED_RESPONSE_BYTES
    } else {
        gather_limit
    };
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            // The runtime's connection broke midway: its exit or timeout settles the invoke.
            return (Reply::Error {
                error_type: Some("Runtime.StreamBroken".to_owned()),
                body: Bytes::from_static(
                    br#"{"errorType":"Runtime.StreamBroken","errorMessage":"The runtime's response stream broke off"}"#,
                ),
                init: false,
            }, total as u64);
        };
        let frame = match frame.into_data() {
            Ok(data) => {
                total = total.saturating_add(data.len());
                if total > limit {
                    return (Reply::TooLarge, total as u64);
                }
                match &sink {
                    Some(tx) => {
                        if !data.is_empty() && tx.send(StreamPart::Chunk(data)).await.is_err() {
                            // The caller left; the rest is read and dropped.
                            sink = None;
                        }
                    }
                    None => gathered.extend_from_slice(&data),
                }
                continue;
            }
            Err(frame) => frame,
        };
        if let Ok(t) = frame.into_trailers() {
            trailers = Some(t);
        }
    }
    let reply = match trailers.as_ref().and_then(error_trailers) {
        Some((error_type, body)) => Reply::Error {
            error_type: Some(error_type),
            body,
            init: false,
        },
        None => Reply::Response(Bytes::from(gathered)),
    };
    (reply, total as u64)
}

/// The error the trailers report, if any: its type and its document (a plain one made from
/// the type when the body trailer is missing or not base64).
fn error_trailers(trailers: &HeaderMap) -> Option<(String, Bytes)> {
    let error_type = trailers
        .get("lambda-runtime-function-error-type")?
        .to_str()
        .ok()?
        .to_owned();
    let body = trailers
        .get("lambda-runtime-function-error-body")
        .and_then(|v| {
            base64::engine::general_purpose::STANDARD
                .decode(v.as_bytes())
                .ok()
        })
        .map(Bytes::from)
        .unwrap_or_else(|| {
            Bytes::from(
                serde_json::json!({ "errorType": error_type, "errorMessage": "" }).to_string(),
            )
        });
    Some((error_type, body))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use http_body_util::StreamBody;

    use super::*;

    fn body(chunks: &[&'static str], trailers: Option<HeaderMap>) -> Body {
        let mut frames: Vec<Result<http_body::Frame<Bytes>, std::convert::Infallible>> = chunks
            .iter()
            .map(|c| Ok(http_body::Frame::data(Bytes::from_static(c.as_bytes()))))
            .collect();
        if let Some(t) = trailers {
            frames.push(Ok(http_body::Frame::trailers(t)));
        }
        Body::new(StreamBody::new(futures_util::stream::iter(frames)))
    }

    #[tokio::test]
    async fn chunks_go_to_the_sink_as_they_come() {
        let (tx, mut rx) = mpsc::channel(8);
        let (reply, total) = read_streamed(None, body(&["a", "bc"], None), Some(tx), 10).await;
        assert!(matches!(reply, Reply::Response(b) if b.is_empty()));
        assert_eq!(total, 3);
        let expected = [
            StreamPart::ContentType(DEFAULT_CONTENT_TYPE.into()),
            StreamPart::Chunk(Bytes::from_static(b"a")),
            StreamPart::Chunk(Bytes::from_static(b"bc")),
        ];
        for part in expected {
            assert_eq!(rx.recv().await, Some(part));
        }
    }

    #[tokio::test]
    async fn without_a_sink_the_chunks_are_gathered_within_the_limit() {
        let (reply, _) = read_streamed(None, body(&["a", "bc"], None), None, 10).await;
        assert!(matches!(reply, Reply::Response(b) if b.as_ref() == b"abc"));
        let (reply, _) = read_streamed(None, body(&["a", "bc"], None), None, 2).await;
        assert!(matches!(reply, Reply::TooLarge));
    }

    #[tokio::test]
    async fn error_trailers_become_the_functions_error() {
        let mut t = HeaderMap::new();
        t.insert(
            "lambda-runtime-function-error-type",
            HeaderValue::from_static("Error"),
        );
        let doc = base64::engine::general_purpose::STANDARD.encode(r#"{"errorMessage":"boom"}"#);
        t.insert(
            "lambda-runtime-function-error-body",
            HeaderValue::from_str(&doc).unwrap(),
        );
        let (reply, _) = read_streamed(None, body(&["x"], Some(t)), None, 10).await;
        let Reply::Error {
            error_type, body, ..
        } = reply
        else {
            panic!("not an error")
        };
        assert_eq!(error_type.as_deref(), Some("Error"));
        assert_eq!(body.as_ref(), br#"{"errorMessage":"boom"}"#);
    }
}

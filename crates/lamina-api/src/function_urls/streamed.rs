//! A function URL's response in `RESPONSE_STREAM` mode: the function's writes go to the
//! client as they come. When the function wrote an HTTP prelude first
//! (`awslambda.HttpResponseStream.from`: JSON, then 8 NUL bytes, with the content type
//! `application/vnd.awslambda.http-integration-response`), the prelude is the response's
//! status, headers and cookies.

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::response::Response;
use lamina_exec::runtime_api::StreamPart;
use tokio::sync::mpsc;

use super::answer::Head;
use crate::streamed_invoke::channel_body;

/// The content type of a stream that begins with an HTTP prelude.
pub(crate) const PRELUDE_CONTENT_TYPE: &str = "application/vnd.awslambda.http-integration-response";
/// What ends the prelude.
const DELIMITER: [u8; 8] = [0; 8];
/// Longest prelude read before giving up on finding its end.
const MAX_PRELUDE_BYTES: usize = 1 << 20;

/// Splits `buf` at the prelude's delimiter: the prelude and what follows it.
pub(crate) fn split_prelude(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = buf.windows(DELIMITER.len()).position(|w| w == DELIMITER)?;
    Some((&buf[..at], &buf[at + DELIMITER.len()..]))
}

/// The head of a prelude (status 200 when it is not an object with a valid `statusCode`).
pub(crate) fn prelude_head(prelude: &[u8]) -> Head {
    serde_json::from_slice::<serde_json::Value>(prelude)
        .ok()
        .as_ref()
        .and_then(serde_json::Value::as_object)
        .and_then(Head::of_object)
        .unwrap_or(Head {
            status: StatusCode::OK,
            headers: Vec::new(),
            cookies: Vec::new(),
        })
}

/// The response of a stream of `content_type` whose parts are still coming: its head is
/// read (the prelude, when there is one), then the body is sent as the function writes it.
pub(crate) async fn respond(
    content_type: String,
    mut parts: mpsc::Receiver<StreamPart>,
) -> Response {
    let mut first = Bytes::new();
    let head = if content_type == PRELUDE_CONTENT_TYPE {
        let mut buf = Vec::new();
        loop {
            if let Some((prelude, rest)) = split_prelude(&buf) {
                let head = prelude_head(prelude);
                first = Bytes::copy_from_slice(rest);
                break head;
            }
            let next = if buf.len() > MAX_PRELUDE_BYTES {
                None
            } else {
                parts.recv().await
            };
            match next {
                Some(StreamPart::Chunk(chunk)) => buf.extend_from_slice(&chunk),
                Some(StreamPart::ContentType(_)) => {}
                // Guessed: a stream that ends (or runs on) without the delimiter is all prelude.
                None => break prelude_head(&buf),
            }
        }
    } else {
        Head {
            status: StatusCode::OK,
            headers: vec![("content-type".to_owned(), content_type)],
            cookies: Vec::new(),
        }
    };
    let (tx, body): (_, Body) = channel_body();
    tokio::spawn(async move {
        if !first.is_empty() && tx.send(first).await.is_err() {
            return;
        }
        while let Some(part) = parts.recv().await {
            if let StreamPart::Chunk(chunk) = part
                && tx.send(chunk).await.is_err()
            {
                // The client left; dropping the parts lets the function's writes go nowhere.
                return;
            }
        }
    });
    head.respond(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prelude_ends_at_eight_nuls() {
        let mut stream = br#"{"statusCode":418,"headers":{"a":"b"},"cookies":["c=1"]}"#.to_vec();
        stream.extend_from_slice(&[0; 8]);
        stream.extend_from_slice(b"body\0");
        let (prelude, rest) = split_prelude(&stream).unwrap();
        assert_eq!(rest, b"body\0");
        let head = prelude_head(prelude);
        assert_eq!(head.status, StatusCode::IM_A_TEAPOT);
        assert_eq!(head.headers, vec![("a".to_owned(), "b".to_owned())]);
        assert_eq!(head.cookies, vec!["c=1".to_owned()]);
        assert!(split_prelude(b"{}\0\0\0").is_none());
    }

    #[tokio::test]
    async fn a_prelude_split_across_chunks_is_found() {
        let (tx, rx) = mpsc::channel(8);
        for chunk in [
            &b"{\"statusCode\":2"[..],
            b"01}\0\0\0\0",
            b"\0\0\0\0he",
            b"llo",
        ] {
            tx.send(StreamPart::Chunk(Bytes::from_static(chunk)))
                .await
                .unwrap();
        }
        drop(tx);
        let response = respond(PRELUDE_CONTENT_TYPE.to_owned(), rx).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(body.as_ref(), b"hello");
    }
}

//! Request bodies read with a size limit that answers AWS's 413 before the excess is read.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, header};
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use lamina_types::LambdaError;

/// After a refusal, at most this much of the rest of the body is read and thrown away, in the
/// background, while the 413 goes out. Clients such as botocore send a whole body before they
/// read the answer, and a socket closed with unread bytes in it is reset, which makes the
/// client's kernel drop the 413 it had received.
const LINGER_MAX_BYTES: u64 = 256 * 1024 * 1024;

/// ... and for at most this long (nginx's `lingering_time`); the connection's body timeout
/// ends it sooner when the client stops sending.
const LINGER_MAX: Duration = Duration::from_secs(30);

/// Reads the whole body, refusing more than `limit` bytes with `RequestEntityTooLarge`
/// naming `operation`, as AWS words it. A declared `Content-Length` over the limit is refused
/// before any of the body is read; a body without one is cut off as soon as it passes the limit.
pub async fn read_limited(
    headers: &HeaderMap,
    body: Body,
    limit: u64,
    operation: &str,
) -> Result<Bytes, LambdaError> {
    let too_large = || {
        LambdaError::RequestEntityTooLarge(format!(
            "Request must be smaller than {limit} bytes for the {operation} operation"
        ))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        linger(body);
        return Err(too_large());
    }
    let capacity = declared.unwrap_or(0);
    let mut buffer = BytesMut::with_capacity(usize::try_from(capacity).unwrap_or(0));
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            LambdaError::InvalidRequestContent(format!("Could not read request body: {e}"))
        })?;
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        if (buffer.len() + chunk.len()) as u64 > limit {
            linger(body);
            return Err(too_large());
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok(buffer.freeze())
}

/// Reads and drops what is left of a refused body, within [`LINGER_MAX_BYTES`] and
/// [`LINGER_MAX`], so its client can read the refusal; then the connection closes.
fn linger(body: Body) {
    tokio::spawn(async move {
        let drain = async {
            let mut body = body;
            let mut seen: u64 = 0;
            while let Some(Ok(frame)) = body.frame().await {
                if let Ok(chunk) = frame.into_data() {
                    seen += chunk.len() as u64;
                    if seen > LINGER_MAX_BYTES {
                        break;
                    }
                }
            }
        };
        let _ = tokio::time::timeout(LINGER_MAX, drain).await;
    });
}

#[cfg(test)]
pub(crate) mod test_bodies;

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use axum::http::HeaderValue;

    use super::test_bodies::endless;
    use super::*;

    fn declaring(length: u64) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        headers
    }

    #[tokio::test]
    async fn a_declared_length_over_the_limit_is_refused_before_reading() {
        let (body, read) = endless(1024);
        let err = read_limited(&declaring(300_000_000), body, 1000, "Op")
            .await
            .unwrap_err();
        // The linger task has not run yet on this single-threaded runtime.
        assert_eq!(read.load(Ordering::SeqCst), 0);
        assert_eq!(
            err.message(),
            "Request must be smaller than 1000 bytes for the Op operation"
        );
        assert_eq!(err.type_name(), "RequestEntityTooLargeException");
    }

    #[tokio::test]
    async fn a_body_without_a_length_is_cut_off_at_the_limit() {
        let (body, read) = endless(100);
        let err = read_limited(&HeaderMap::new(), body, 1000, "Op")
            .await
            .unwrap_err();
        assert_eq!(err.type_name(), "RequestEntityTooLargeException");
        assert_eq!(read.load(Ordering::SeqCst), 1100);
    }

    #[tokio::test]
    async fn a_body_at_the_limit_is_read_whole() {
        let body = Body::from(vec![b'x'; 1000]);
        let bytes = read_limited(&declaring(1000), body, 1000, "Op")
            .await
            .unwrap();
        assert_eq!(bytes.len(), 1000);
        let body = Body::from(vec![b'x'; 1001]);
        let err = read_limited(&HeaderMap::new(), body, 1000, "Op")
            .await
            .unwrap_err();
        assert_eq!(err.type_name(), "RequestEntityTooLargeException");
    }

    #[tokio::test]
    async fn the_rest_of_a_refused_body_is_drained_within_its_bound() {
        let (body, read) = endless(1 << 20);
        read_limited(&declaring(u64::MAX), body, 10, "Op")
            .await
            .unwrap_err();
        for _ in 0..10_000 {
            if read.load(Ordering::SeqCst) > LINGER_MAX_BYTES {
                break;
            }
            tokio::task::yield_now().await;
        }
        // Let the drain stop, then check that it did.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let drained = read.load(Ordering::SeqCst);
        assert!(drained > LINGER_MAX_BYTES, "{drained}");
        assert!(drained <= LINGER_MAX_BYTES + (1 << 20), "{drained}");
    }
}

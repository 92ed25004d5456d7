//! Request bodies read with a size limit that answers AWS's 413, not a dropped connection.

use axum::body::Body;
use axum::http::{HeaderMap, header};
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use lamina_types::LambdaError;

/// How much of an oversize body is read and thrown away so the client sees the 413 instead
/// of a reset connection; beyond this the connection is simply dropped.
const MAX_DRAIN_BYTES: u64 = 256 * 1024 * 1024;

/// Reads the whole body, refusing more than `limit` bytes with `RequestEntityTooLarge`
/// naming `operation`, as AWS words it.
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
    let capacity = declared.filter(|n| *n <= limit).unwrap_or(0);
    let mut buffer = BytesMut::with_capacity(usize::try_from(capacity).unwrap_or(0));
    let mut body = body;
    let mut seen: u64 = 0;
    let mut over = declared.is_some_and(|n| n > limit);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            LambdaError::InvalidRequestContent(format!("Could not read request body: {e}"))
        })?;
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        seen += chunk.len() as u64;
        if seen > limit {
            over = true;
        }
        if over {
            if seen > MAX_DRAIN_BYTES {
                break;
            }
            continue;
        }
        buffer.extend_from_slice(&chunk);
    }
    if over {
        return Err(too_large());
    }
    Ok(buffer.freeze())
}

//! AWS's event-stream framing (`application/vnd.amazon.eventstream`), as
//! InvokeWithResponseStream answers with it: each message is a prelude (total length,
//! headers length, CRC32 of those 8 bytes), headers, the payload and a CRC32 of everything
//! before it, all big-endian. Only what Lambda sends is written: string headers.

use bytes::{BufMut, Bytes, BytesMut};

/// Header value type 7: a string (u16 length, then UTF-8).
const STRING_VALUE: u8 = 7;
/// Prelude (12 bytes) plus the message CRC (4 bytes).
const FRAMING_BYTES: usize = 16;

/// One message with `headers` (name, string value) and `payload`.
pub fn message(headers: &[(&str, &str)], payload: &[u8]) -> Bytes {
    let mut encoded_headers = BytesMut::new();
    for (name, value) in headers {
        // Names and values are Lamina's constants and the function's error type, both far
        // below the u8/u16 limits; a longer one is cut rather than framed wrongly.
        let name = &name.as_bytes()[..name.len().min(usize::from(u8::MAX))];
        let value = &value.as_bytes()[..value.len().min(usize::from(u16::MAX))];
        encoded_headers.put_u8(u8::try_from(name.len()).unwrap_or(u8::MAX));
        encoded_headers.put_slice(name);
        encoded_headers.put_u8(STRING_VALUE);
        encoded_headers.put_u16(u16::try_from(value.len()).unwrap_or(u16::MAX));
        encoded_headers.put_slice(value);
    }
    let total = FRAMING_BYTES + encoded_headers.len() + payload.len();
    let mut out = BytesMut::with_capacity(total);
    // A payload chunk is at most a few MiB; u32 lengths hold 4 GiB.
    out.put_u32(u32::try_from(total).unwrap_or(u32::MAX));
    out.put_u32(u32::try_from(encoded_headers.len()).unwrap_or(u32::MAX));
    let prelude_crc = crc32fast::hash(&out[..8]);
    out.put_u32(prelude_crc);
    out.put_slice(&encoded_headers);
    out.put_slice(payload);
    let message_crc = crc32fast::hash(&out);
    out.put_u32(message_crc);
    out.freeze()
}

/// An event of InvokeWithResponseStream's stream: `:event-type` `event_type`.
fn event(event_type: &str, content_type: &str, payload: &[u8]) -> Bytes {
    message(
        &[
            (":event-type", event_type),
            (":content-type", content_type),
            (":message-type", "event"),
        ],
        payload,
    )
}

/// A `PayloadChunk` event: bytes of the function's response.
pub fn payload_chunk(bytes: &[u8]) -> Bytes {
    event("PayloadChunk", "application/octet-stream", bytes)
}

/// The `InvokeComplete` event that ends the stream: `ErrorCode` and `ErrorDetails` when the
/// function failed, `LogResult` when the log tail was asked for.
pub fn invoke_complete(
    error_code: Option<&str>,
    error_details: Option<&str>,
    log_result: Option<&str>,
) -> Bytes {
    let mut body = serde_json::Map::new();
    if let Some(code) = error_code {
        body.insert("ErrorCode".into(), code.into());
    }
    if let Some(details) = error_details {
        body.insert("ErrorDetails".into(), details.into());
    }
    if let Some(log) = log_result {
        body.insert("LogResult".into(), log.into());
    }
    let json = serde_json::Value::Object(body).to_string();
    event("InvokeComplete", "application/json", json.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_message_matches_awss_test_vector() {
        // `empty_message` of AWS's event-stream test suite (aws-c-event-stream).
        assert_eq!(
            message(&[], b"").as_ref(),
            [
                0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x05, 0xc2, 0x48, 0xeb, 0x7d, 0x98,
                0xc8, 0xff
            ]
        );
    }

    #[test]
    fn crc32_is_the_ieee_polynomial() {
        assert_eq!(crc32fast::hash(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn a_payload_chunk_frames_its_headers_and_bytes() {
        let m = payload_chunk(b"hi");
        let total = u32::from_be_bytes([m[0], m[1], m[2], m[3]]) as usize;
        let headers = u32::from_be_bytes([m[4], m[5], m[6], m[7]]) as usize;
        assert_eq!(total, m.len());
        assert_eq!(
            u32::from_be_bytes([m[8], m[9], m[10], m[11]]),
            crc32fast::hash(&m[..8])
        );
        assert_eq!(&m[12 + headers..total - 4], b"hi");
        assert_eq!(
            u32::from_be_bytes([m[total - 4], m[total - 3], m[total - 2], m[total - 1]]),
            crc32fast::hash(&m[..total - 4])
        );
        // The first header: `:event-type` = `PayloadChunk`, a string.
        assert_eq!(m[12], 11);
        assert_eq!(&m[13..24], b":event-type");
        assert_eq!(m[24], STRING_VALUE);
        assert_eq!(&m[25..27], &[0, 12]);
        assert_eq!(&m[27..39], b"PayloadChunk");
    }

    #[test]
    fn invoke_complete_carries_only_what_is_given() {
        let m = invoke_complete(Some("Unhandled"), Some("boom"), None);
        let text = String::from_utf8_lossy(&m);
        assert!(
            text.contains(r#"{"ErrorCode":"Unhandled","ErrorDetails":"boom"}"#),
            "{text}"
        );
        let m = invoke_complete(None, None, None);
        assert!(String::from_utf8_lossy(&m).contains("{}"));
    }
}

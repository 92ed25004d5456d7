//! Decodes an inline base64 `ZipFile` into a writer, hashing the bytes on the way.

use std::io::Write;

use lamina_types::layer::Digest;

/// What was written: the SHA-256 of the decoded bytes and their count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodedZip {
    /// SHA-256 of the decoded bytes.
    pub digest: Digest,
    /// Number of decoded bytes.
    pub size: u64,
}

/// Why decoding failed.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The member is not valid base64.
    #[error("invalid base64")]
    InvalidBase64,
    /// The decoded ZIP would exceed `limit` bytes.
    #[error("zip exceeds {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// Writing the decoded bytes failed.
    #[error("write decoded zip")]
    Write(#[source] std::io::Error),
}

/// Decodes `encoded` (standard base64 with padding) into `out` in bounded chunks, hashing as
/// it goes. Fails before writing anything if the decoded size would exceed `max_decoded`.
pub fn decode_base64_into(
    encoded: &[u8],
    out: &mut impl Write,
    max_decoded: u64,
) -> Result<DecodedZip, IngestError> {
    let _ = (encoded, out, max_decoded);
    Err(IngestError::InvalidBase64)
}

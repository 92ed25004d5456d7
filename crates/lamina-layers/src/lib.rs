//! Safe layer and function ZIP ingest: base64 decoding with hashing, validation, extraction.
//!
//! Owns everything between "bytes arrived" and "an immutable tree on disk". It knows nothing
//! of HTTP or SQL; callers decide where the blob and the tree finally live.

pub mod extract;
pub mod ingest;

pub use extract::{ExtractError, ExtractLimits, Extracted, extract_zip};
pub use ingest::{DecodedZip, IngestError, decode_base64_into};

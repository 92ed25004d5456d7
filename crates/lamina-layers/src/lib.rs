//! Safe layer and function ZIP ingest: base64 decoding with hashing, validation, extraction.
//!
//! Owns everything between "bytes arrived" and "an immutable tree on disk". It knows nothing
//! of HTTP or SQL; callers decide where the blob and the tree finally live.
//!
//! On the client side it also owns building a layer ZIP reproducibly with pip ([`build`]) and
//! analysing layer ZIPs ([`inspect`]): what a runtime sees, what is misplaced, what shadows
//! what.

pub mod build;
pub mod extract;
pub mod ingest;
pub mod inspect;

pub use extract::{ExtractError, ExtractLimits, Extracted, extract_zip};
pub use ingest::{DecodedZip, IngestError, decode_base64_into};

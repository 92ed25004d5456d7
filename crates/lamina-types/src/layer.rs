//! Layer versions and their permission policies as Lamina records them.

use crate::arn::{LayerName, Scope};

/// A SHA-256 digest: the content address of a ZIP (hex on disk, base64 as `CodeSha256`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// Lower-case hex, as used for blob and tree paths.
    pub fn to_hex(&self) -> String {
        use std::fmt::Write;
        self.0.iter().fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    }

    /// Parses 64 hex digits.
    pub fn from_hex(s: &str) -> Option<Self> {
        if s.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Self(out))
    }
}

/// One published layer version: immutable once recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerVersionRecord {
    /// The account and region the layer lives in.
    pub scope: Scope,
    /// The layer's name.
    pub name: LayerName,
    /// Version number, from 1, never reused.
    pub version: i64,
    /// `Description` (empty when not given).
    pub description: String,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_millis: i64,
    /// `CompatibleRuntimes`, `None` when the request did not send the member.
    pub compatible_runtimes: Option<Vec<String>>,
    /// `CompatibleArchitectures`, `None` when the request did not send the member.
    pub compatible_architectures: Option<Vec<String>>,
    /// `LicenseInfo`, `None` when not given.
    pub license_info: Option<String>,
    /// SHA-256 of the ZIP as uploaded.
    pub code_sha256: Digest,
    /// ZIP size in bytes.
    pub code_size: u64,
    /// Sum of the extracted file sizes in bytes.
    pub unzipped_size: u64,
}

/// One statement of a layer version's permission policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerStatement {
    /// `StatementId`.
    pub sid: String,
    /// `Principal`: `*`, an account id, or an account root ARN.
    pub principal: String,
    /// `OrganizationId`, when the grant is limited to an organization.
    pub organization_id: Option<String>,
}

/// A layer version's permission policy: statements in insertion order plus the revision id
/// that changes on every add and remove.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LayerPolicy {
    /// Current revision, a UUID.
    pub revision_id: String,
    /// Statements in insertion order.
    pub statements: Vec<LayerStatement>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let d = Digest([0xab; 32]);
        assert_eq!(Digest::from_hex(&d.to_hex()), Some(d));
        assert_eq!(Digest::from_hex("zz"), None);
    }
}

//! Fixtures shared by the extraction tests: a hand-written ZIP builder, so that hostile fields
//! can be set freely, and a stored ZIP beside an empty destination.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use flate2::Compression;
use flate2::write::DeflateEncoder;
use tempfile::TempDir;

use super::entries::{S_IFDIR, S_IFLNK, S_IFREG};
use super::{ExtractError, ExtractLimits, Extracted, extract_zip};

pub(super) const LIMITS: ExtractLimits = ExtractLimits {
    max_unzipped_bytes: 1 << 30,
    max_entries: 1000,
};

/// One entry of a hand-written ZIP, so that hostile fields can be set freely.
#[derive(Clone)]
pub(super) struct Raw {
    pub(super) name: Vec<u8>,
    /// Bytes as stored (already compressed for method 8).
    pub(super) data: Vec<u8>,
    pub(super) method: u16,
    pub(super) crc: u32,
    /// Declared uncompressed size, in both headers.
    pub(super) size: u32,
    pub(super) flags: u16,
    /// Unix mode, stored in the high half of the external attributes.
    pub(super) mode: u32,
}

impl Raw {
    pub(super) fn stored(name: &str, content: &[u8], mode: u32) -> Self {
        Self {
            name: name.as_bytes().to_vec(),
            data: content.to_vec(),
            method: 0,
            crc: crc32fast::hash(content),
            size: content.len() as u32,
            flags: 0,
            mode,
        }
    }

    pub(super) fn file(name: &str, content: &[u8]) -> Self {
        Self::stored(name, content, S_IFREG | 0o644)
    }

    pub(super) fn deflated(name: &str, content: &[u8]) -> Self {
        let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(content).unwrap();
        Self {
            data: encoder.finish().unwrap(),
            method: 8,
            ..Self::file(name, content)
        }
    }

    pub(super) fn dir(name: &str) -> Self {
        Self::stored(name, b"", S_IFDIR | 0o755)
    }

    pub(super) fn symlink(name: &str, target: &str) -> Self {
        Self::stored(name, target.as_bytes(), S_IFLNK | 0o777)
    }
}

pub(super) fn raw_zip(entries: &[Raw]) -> Vec<u8> {
    fn put16(out: &mut Vec<u8>, v: u16) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    fn put32(out: &mut Vec<u8>, v: u32) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    let mut out = Vec::new();
    let mut central = Vec::new();
    for e in entries {
        let offset = out.len() as u32;
        out.extend_from_slice(b"PK\x03\x04");
        put16(&mut out, 20);
        put16(&mut out, e.flags);
        put16(&mut out, e.method);
        put16(&mut out, 0);
        put16(&mut out, 0x21);
        put32(&mut out, e.crc);
        put32(&mut out, e.data.len() as u32);
        put32(&mut out, e.size);
        put16(&mut out, e.name.len() as u16);
        put16(&mut out, 0);
        out.extend_from_slice(&e.name);
        out.extend_from_slice(&e.data);

        central.extend_from_slice(b"PK\x01\x02");
        put16(&mut central, (3 << 8) | 20);
        put16(&mut central, 20);
        put16(&mut central, e.flags);
        put16(&mut central, e.method);
        put16(&mut central, 0);
        put16(&mut central, 0x21);
        put32(&mut central, e.crc);
        put32(&mut central, e.data.len() as u32);
        put32(&mut central, e.size);
        put16(&mut central, e.name.len() as u16);
        put16(&mut central, 0);
        put16(&mut central, 0);
        put16(&mut central, 0);
        put16(&mut central, 0);
        put32(&mut central, e.mode << 16);
        put32(&mut central, offset);
        central.extend_from_slice(&e.name);
    }
    let central_at = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(b"PK\x05\x06");
    put16(&mut out, 0);
    put16(&mut out, 0);
    put16(&mut out, entries.len() as u16);
    put16(&mut out, entries.len() as u16);
    put32(&mut out, central.len() as u32);
    put32(&mut out, central_at);
    put16(&mut out, 0);
    out
}

/// A stored ZIP and an empty destination in a temporary directory.
pub(super) struct Fixture {
    tmp: TempDir,
}

impl Fixture {
    pub(super) fn new(zip: &[u8]) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("layer.zip"), zip).unwrap();
        fs::create_dir(tmp.path().join("out")).unwrap();
        Self { tmp }
    }

    pub(super) fn zip(&self) -> PathBuf {
        self.tmp.path().join("layer.zip")
    }

    pub(super) fn dest(&self) -> PathBuf {
        self.tmp.path().join("out")
    }

    pub(super) fn extract(&self, limits: &ExtractLimits) -> Result<Extracted, ExtractError> {
        extract_zip(&self.zip(), &self.dest(), limits)
    }

    pub(super) fn is_untouched(&self) -> bool {
        fs::read_dir(self.dest()).unwrap().next().is_none()
    }

    pub(super) fn mode(&self, path: &str) -> u32 {
        fs::symlink_metadata(self.dest().join(path))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    }
}

/// Extracts `entries` and expects a refusal before anything was written.
pub(super) fn refused(entries: &[Raw]) -> ExtractError {
    refused_with(entries, &LIMITS)
}

pub(super) fn refused_with(entries: &[Raw], limits: &ExtractLimits) -> ExtractError {
    let fixture = Fixture::new(&raw_zip(entries));
    let err = fixture.extract(limits).unwrap_err();
    assert!(fixture.is_untouched(), "wrote before refusing: {err}");
    assert!(err.is_client_error());
    err
}

pub(super) fn pseudo_random_bytes(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed.to_le_bytes()[3]
        })
        .collect()
}

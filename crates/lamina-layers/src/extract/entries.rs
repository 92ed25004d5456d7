//! Classifying central directory entries one by one: name, type, encryption, compression and
//! declared size.

use std::io::{Read, Seek};
use std::path::Path;

use zip::read::ZipFileEntry;
use zip::{CompressionMethod, ZipArchive};

use super::{ExtractError, ExtractLimits};

/// Longest entry name accepted, in bytes (Linux `PATH_MAX` less the terminating NUL).
const MAX_PATH_BYTES: usize = 4095;

/// Longest path component accepted, in bytes (Linux `NAME_MAX`).
const MAX_COMPONENT_BYTES: usize = 255;

/// File type bits of a Unix mode, and the types a layer may hold.
const S_IFMT: u32 = 0o170_000;
pub(super) const S_IFREG: u32 = 0o100_000;
pub(super) const S_IFDIR: u32 = 0o040_000;
pub(super) const S_IFLNK: u32 = 0o120_000;

/// What an entry is, once its mode and name are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Dir,
    File { executable: bool },
    Symlink,
}

/// One validated central directory entry.
#[derive(Debug)]
pub(super) struct Entry {
    /// Position in the archive.
    pub(super) index: usize,
    /// Name as stored, for error messages.
    pub(super) name: String,
    /// Normalised relative path: non-empty components joined by `/`.
    pub(super) path: String,
    pub(super) kind: Kind,
    /// Declared uncompressed size; 0 for directories, whose data is never read.
    pub(super) size: u64,
}

/// Checks every entry on its own and the declared total size.
pub(super) fn classify_all<R: Read + Seek>(
    archive: &ZipArchive<R>,
    limits: &ExtractLimits,
) -> Result<Vec<Entry>, ExtractError> {
    let mut entries = Vec::with_capacity(archive.len());
    let mut declared_total = 0u64;
    for index in 0..archive.len() {
        let data = archive
            .by_index_data(index)
            .map_err(|e| ExtractError::NotAZip {
                reason: e.to_string(),
            })?;
        let entry = classify(index, &data)?;
        declared_total = declared_total.saturating_add(entry.size);
        if declared_total > limits.max_unzipped_bytes {
            return Err(ExtractError::TooLarge {
                name: entry.name,
                limit: limits.max_unzipped_bytes,
            });
        }
        entries.push(entry);
    }
    Ok(entries)
}

/// Checks one entry's name, encryption, type and compression.
fn classify(index: usize, data: &ZipFileEntry<'_>) -> Result<Entry, ExtractError> {
    let decoded = data.name();
    let name = match &decoded {
        Ok(name) => name.to_string(),
        Err(_) => String::from_utf8_lossy(data.name_raw()).into_owned(),
    };
    let unsafe_path = || ExtractError::UnsafePath { name: name.clone() };
    if decoded.is_err() {
        return Err(unsafe_path());
    }
    let path = normalize(&name).ok_or_else(unsafe_path)?;
    // Our own rules are stricter, but the two must agree (e.g. on a `C:` prefix).
    if data.enclosed_name().as_deref() != Some(Path::new(&path)) {
        return Err(unsafe_path());
    }
    if data.encrypted() || data.compression() == CompressionMethod::AES {
        return Err(ExtractError::Encrypted { name });
    }

    let mode = data.unix_mode();
    let kind = match mode.map(|mode| mode & S_IFMT) {
        Some(S_IFDIR) => Kind::Dir,
        Some(S_IFLNK) => Kind::Symlink,
        Some(S_IFREG | 0) | None if name.ends_with('/') => Kind::Dir,
        Some(S_IFREG | 0) | None => Kind::File {
            executable: mode.is_some_and(|mode| mode & 0o111 != 0),
        },
        Some(_) => {
            return Err(ExtractError::UnsupportedFileType {
                name,
                mode: mode.unwrap_or_default(),
            });
        }
    };
    let method = data.compression();
    if kind != Kind::Dir
        && method != CompressionMethod::Stored
        && method != CompressionMethod::DEFLATE
    {
        return Err(ExtractError::UnsupportedCompression {
            name,
            method: method.to_string(),
        });
    }
    Ok(Entry {
        index,
        name,
        path,
        kind,
        size: if kind == Kind::Dir { 0 } else { data.size() },
    })
}

/// The normalised relative path of a safe entry name, or `None` if the name is empty (or only
/// `.` and `/`), absolute, has a `..` component, a backslash or a NUL, or exceeds Linux limits.
fn normalize(name: &str) -> Option<String> {
    if name.len() > MAX_PATH_BYTES || name.starts_with('/') || name.contains(['\\', '\0']) {
        return None;
    }
    let mut path = String::with_capacity(name.len());
    for component in name.split('/') {
        match component {
            "" | "." => {}
            ".." => return None,
            c if c.len() > MAX_COMPONENT_BYTES => return None,
            c => {
                if !path.is_empty() {
                    path.push('/');
                }
                path.push_str(c);
            }
        }
    }
    (!path.is_empty()).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::test_support::{Fixture, LIMITS, Raw, raw_zip, refused, refused_with};

    const S_IFCHR: u32 = 0o020_000;
    const S_IFIFO: u32 = 0o010_000;
    const S_IFSOCK: u32 = 0o140_000;
    const S_IFBLK: u32 = 0o060_000;

    #[test]
    fn encrypted_entries_are_refused() {
        let mut entry = Raw::file("secret.txt", b"ciphertext");
        entry.flags = 1;
        let err = refused(&[Raw::file("ok", b"ok"), entry]);
        assert!(
            matches!(&err, ExtractError::Encrypted { name } if name == "secret.txt"),
            "{err}"
        );
    }

    #[test]
    fn unsafe_paths_are_refused() {
        let long_component = "x".repeat(256);
        let names: [&[u8]; 13] = [
            b"/etc/passwd",
            b"../evil",
            b"a/../../evil",
            b"a/../b",
            b"a/..",
            b"..\\evil",
            b"a\\b",
            b"a\0b",
            b"",
            b"./",
            b"//",
            b"C:/windows",
            long_component.as_bytes(),
        ];
        for name in names {
            let mut entry = Raw::file("placeholder", b"x");
            entry.name = name.to_vec();
            let err = refused(&[entry]);
            assert!(
                matches!(err, ExtractError::UnsafePath { .. }),
                "{:?}: {err}",
                String::from_utf8_lossy(name)
            );
        }
    }

    #[test]
    fn special_files_are_refused() {
        for mode in [
            S_IFCHR | 0o644,
            S_IFBLK | 0o600,
            S_IFIFO | 0o644,
            S_IFSOCK | 0o755,
        ] {
            let err = refused(&[Raw::stored("dev", b"", mode)]);
            assert!(
                matches!(err, ExtractError::UnsupportedFileType { mode: m, .. } if m == mode),
                "{err}"
            );
        }
    }

    #[test]
    fn declared_total_limit_is_exact() {
        let entries = [
            Raw::file("a", &[1; 600]),
            Raw::deflated("b", &[2; 400]),
            Raw::dir("d/"),
        ];
        let fixture = Fixture::new(&raw_zip(&entries));
        let exact = ExtractLimits {
            max_unzipped_bytes: 1000,
            ..LIMITS
        };
        assert_eq!(fixture.extract(&exact).unwrap().unzipped_bytes, 1000);

        let below = ExtractLimits {
            max_unzipped_bytes: 999,
            ..LIMITS
        };
        let err = refused_with(&entries, &below);
        assert!(
            matches!(&err, ExtractError::TooLarge { name, limit: 999 } if name == "b"),
            "{err}"
        );
    }

    #[test]
    fn unsupported_compression_is_refused() {
        let mut entry = Raw::file("a.bz2", b"BZh9");
        entry.method = 12;
        let err = refused(&[entry]);
        assert!(
            matches!(err, ExtractError::UnsupportedCompression { .. }),
            "{err}"
        );
    }

    #[test]
    fn normalize_keeps_only_plain_components() {
        assert_eq!(normalize("a/./b//c/").as_deref(), Some("a/b/c"));
        assert_eq!(normalize("./a").as_deref(), Some("a"));
        assert_eq!(normalize("a/../b"), None);
        assert_eq!(normalize("./."), None);
    }
}

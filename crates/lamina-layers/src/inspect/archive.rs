//! Reads a ZIP's entry list, with the first bytes of files that may be ELF binaries and the
//! `package.json` of Node.js packages.

use std::collections::BTreeSet;
use std::io::{Cursor, Read};

use zip::ZipArchive;

use super::InspectError;

/// Bytes of an ELF header needed to read `e_machine`.
pub const ELF_HEAD_BYTES: usize = 20;

/// Most bytes kept of a package's `package.json` (a longer one is cut, and its version is
/// then not read).
pub const MANIFEST_BYTES: usize = 256 * 1024;

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory, stored or implied by a deeper entry.
    Dir,
    /// A symlink.
    Symlink,
}

/// One entry of the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its name, relative, `/`-separated, without a trailing slash.
    pub name: String,
    /// What it is.
    pub kind: EntryKind,
    /// Uncompressed size in bytes (0 for directories).
    pub size: u64,
    /// The first bytes of files that may be ELF binaries (`.so`, `.node`, `bin/*`,
    /// `bootstrap`); the whole `package.json` of a package in a `node_modules` directory.
    pub head: Vec<u8>,
}

/// A parsed archive.
#[derive(Debug, Clone, Default)]
pub struct Archive {
    /// Entries sorted by name, implied directories included.
    pub entries: Vec<Entry>,
    /// Total uncompressed size of the files.
    pub unzipped_bytes: u64,
}

impl Archive {
    /// Reads the entry list of `zip`.
    ///
    /// # Errors
    /// [`InspectError::NotAZip`] when there is no readable central directory,
    /// [`InspectError::UnsafeName`] for an absolute name or one with `..`,
    /// [`InspectError::Entry`] when an entry cannot be read.
    pub fn read(zip: &[u8]) -> Result<Self, InspectError> {
        let mut archive = ZipArchive::new(Cursor::new(zip)).map_err(|e| InspectError::NotAZip {
            reason: e.to_string(),
        })?;
        let mut entries = Vec::with_capacity(archive.len());
        let mut dirs = BTreeSet::new();
        let mut unzipped_bytes = 0u64;
        for index in 0..archive.len() {
            let mut file = archive
                .by_index(index)
                .map_err(|source| InspectError::Entry {
                    index,
                    reason: source.to_string(),
                })?;
            let raw = file
                .name()
                .map_err(|source| InspectError::Entry {
                    index,
                    reason: source.to_string(),
                })?
                .into_owned();
            let name = normalise(&raw).ok_or(InspectError::UnsafeName { name: raw })?;
            if name.is_empty() {
                continue;
            }
            let kind = if file.is_dir() {
                EntryKind::Dir
            } else if file.is_symlink() {
                EntryKind::Symlink
            } else {
                EntryKind::File
            };
            let mut parent = name.as_str();
            while let Some((up, _)) = parent.rsplit_once('/') {
                dirs.insert(up.to_owned());
                parent = up;
            }
            let size = if kind == EntryKind::File {
                file.size()
            } else {
                0
            };
            unzipped_bytes = unzipped_bytes.saturating_add(size);
            let mut head = Vec::new();
            let keep = if kind != EntryKind::File {
                0
            } else if super::node::is_package_manifest(&name) {
                MANIFEST_BYTES
            } else if may_be_elf(&name) {
                ELF_HEAD_BYTES
            } else {
                0
            };
            if keep > 0 {
                // A short or corrupt entry just yields fewer bytes; the ELF check then skips
                // it, and a manifest that does not parse has no version.
                let _ = (&mut file).take(keep as u64).read_to_end(&mut head);
            }
            if kind == EntryKind::Dir {
                dirs.insert(name);
            } else {
                entries.push(Entry {
                    name,
                    kind,
                    size,
                    head,
                });
            }
        }
        let files: BTreeSet<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        let dir_entries: Vec<Entry> = dirs
            .into_iter()
            .filter(|d| !files.contains(d.as_str()))
            .map(|name| Entry {
                name,
                kind: EntryKind::Dir,
                size: 0,
                head: Vec::new(),
            })
            .collect();
        entries.extend(dir_entries);
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Self {
            entries,
            unzipped_bytes,
        })
    }

    /// Whether `name` is a directory of the archive.
    pub fn is_dir(&self, name: &str) -> bool {
        self.get(name).is_some_and(|e| e.kind == EntryKind::Dir)
    }

    /// The entry called `name`.
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries
            .binary_search_by(|e| e.name.as_str().cmp(name))
            .ok()
            .and_then(|i| self.entries.get(i))
    }

    /// Entries strictly under the directory `dir` (`""` for all), at any depth.
    pub fn under<'a>(&'a self, dir: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries.iter().filter(move |e| {
            dir.is_empty()
                || e.name
                    .strip_prefix(dir)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
    }

    /// Direct children of the directory `dir` (`""` for the root).
    pub fn children<'a>(&'a self, dir: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.under(dir).filter(move |e| {
            let rest = if dir.is_empty() {
                e.name.as_str()
            } else {
                &e.name[dir.len() + 1..]
            };
            !rest.contains('/')
        })
    }
}

/// The entry name without `.` components or a trailing slash; `None` when it is absolute,
/// holds a backslash, or climbs with `..`.
fn normalise(raw: &str) -> Option<String> {
    if raw.starts_with('/') || raw.contains('\\') {
        return None;
    }
    let mut parts = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

/// Whether a file name suggests a shared object or an executable worth reading the header of.
fn may_be_elf(name: &str) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name);
    base.ends_with(".so")
        || base.contains(".so.")
        || base.ends_with(".node")
        || name.starts_with("bin/")
        || name == "bootstrap"
        || name.starts_with("extensions/")
}

/// The ELF `e_machine` of a file's first bytes, if they are an ELF header.
pub fn elf_machine(head: &[u8]) -> Option<u16> {
    if head.len() < ELF_HEAD_BYTES || head.get(..4)? != b"\x7fELF" {
        return None;
    }
    let bytes = [*head.get(18)?, *head.get(19)?];
    match head.get(5)? {
        1 => Some(u16::from_le_bytes(bytes)),
        2 => Some(u16::from_be_bytes(bytes)),
        _ => None,
    }
}

/// `e_machine` of x86-64.
pub const EM_X86_64: u16 = 62;
/// `e_machine` of AArch64.
pub const EM_AARCH64: u16 = 183;

/// A readable name for an `e_machine` value.
pub fn machine_name(machine: u16) -> String {
    match machine {
        3 => String::from("i386"),
        40 => String::from("arm (32-bit)"),
        EM_X86_64 => String::from("x86_64"),
        EM_AARCH64 => String::from("aarch64"),
        other => format!("machine {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_or_refused() {
        assert_eq!(normalise("./python/a.py").as_deref(), Some("python/a.py"));
        assert_eq!(normalise("python/").as_deref(), Some("python"));
        assert_eq!(normalise("/etc/passwd"), None);
        assert_eq!(normalise("a/../../b"), None);
    }

    #[test]
    fn elf_machine_reads_both_endiannesses() {
        let mut head = vec![0u8; ELF_HEAD_BYTES];
        head[..4].copy_from_slice(b"\x7fELF");
        head[5] = 1;
        head[18..20].copy_from_slice(&EM_AARCH64.to_le_bytes());
        assert_eq!(elf_machine(&head), Some(EM_AARCH64));
        head[5] = 2;
        head[18..20].copy_from_slice(&EM_X86_64.to_be_bytes());
        assert_eq!(elf_machine(&head), Some(EM_X86_64));
        assert_eq!(elf_machine(b"#!/bin/sh"), None);
    }
}

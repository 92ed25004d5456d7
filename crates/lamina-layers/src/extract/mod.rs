//! Validates a stored ZIP and extracts it into a fresh directory.
//!
//! Extraction runs in phases, and nothing is written until the first one has passed:
//!
//! 1. **Validate.** The entry count declared by the end-of-central-directory record is checked
//!    before the directory is parsed. Then every entry's name, type, encryption, compression
//!    and declared size is checked, names are compared for duplicates and file/directory
//!    conflicts, and every symlink target (the only entry data read in this phase) is resolved
//!    through the other in-archive symlinks to prove it stays inside the tree.
//! 2. **Directories**, explicit and implied by deeper entries, are created parents first.
//! 3. **Regular files** are inflated by two threads, each with its own archive reader
//!    over the same file, taking the next largest file from a shared queue. Each entry is
//!    capped at its declared size plus one byte, so a ZIP bomb that lies in its headers fails
//!    after at most one buffer of output.
//! 4. **Symlinks** are created last, so no write ever passes through one.
//!
//! On error `dest` is left as it is; the caller removes it.
//!
//! Submodules by phase: `central_directory` and `entries` check the archive and each entry,
//! `plan` and `symlinks` check entries against each other, `write` creates the tree, and
//! `inflate` copies one entry's data, read through `positional_reader`.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use zip::ZipArchive;

use self::central_directory::{archive_error, declared_entry_count, first_repeated_name};
use self::entries::classify_all;
use self::inflate::InflateBudget;
use self::plan::Plan;
use self::positional_reader::PositionalReader;
use self::symlinks::read_symlink_targets;
use self::write::{create_dirs, umask_masks_modes, write_files};

mod central_directory;
mod entries;
mod inflate;
mod plan;
mod positional_reader;
mod symlinks;
#[cfg(test)]
mod test_support;
mod write;

/// Bounds applied while extracting.
#[derive(Debug, Clone, Copy)]
pub struct ExtractLimits {
    /// Most bytes the extracted files may hold in total.
    pub max_unzipped_bytes: u64,
    /// Most entries the archive may have.
    pub max_entries: usize,
}

/// What an extraction produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extracted {
    /// Total bytes of the extracted regular files.
    pub unzipped_bytes: u64,
    /// Number of entries (files, directories, symlinks).
    pub entries: u64,
}

/// Why a ZIP was refused or could not be extracted.
///
/// Every variant but [`ExtractError::Io`] is the client's fault; see
/// [`ExtractError::is_client_error`].
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// The file has no readable central directory.
    #[error("not a zip archive: {reason}")]
    NotAZip {
        /// What the reader found wrong.
        reason: String,
    },
    /// The archive holds more entries than allowed.
    #[error("zip has {count} entries, more than the limit of {limit}")]
    TooManyEntries {
        /// Entries the archive declares.
        count: u64,
        /// The limit.
        limit: usize,
    },
    /// An entry is encrypted.
    #[error("entry {name:?} is encrypted")]
    Encrypted {
        /// The entry name as stored.
        name: String,
    },
    /// An entry uses a compression method other than stored or deflate.
    #[error("entry {name:?} uses unsupported compression {method}")]
    UnsupportedCompression {
        /// The entry name as stored.
        name: String,
        /// The method's name.
        method: String,
    },
    /// An entry name is empty, absolute, has a `..` component, a backslash or a NUL, is not
    /// decodable, or is longer than Linux allows.
    #[error("entry {name:?} has an unsafe path")]
    UnsafePath {
        /// The entry name as stored.
        name: String,
    },
    /// Two entries of the same type have the same path once normalised.
    #[error("entry {name:?} appears more than once")]
    DuplicateName {
        /// The entry name as stored.
        name: String,
    },
    /// An entry's path is also another entry's path with a different type, or lies under a
    /// regular file.
    #[error("entry {name:?} conflicts with entry {other:?}")]
    PathConflict {
        /// The entry name as stored.
        name: String,
        /// The entry it conflicts with.
        other: String,
    },
    /// An entry's path goes through a symlink entry.
    #[error("entry {name:?} lies under symlink {link:?}")]
    ThroughSymlink {
        /// The entry name as stored.
        name: String,
        /// The symlink entry in its path.
        link: String,
    },
    /// A symlink's target is absolute or resolves outside the extracted tree.
    #[error("symlink {name:?} points outside the layer: {target:?}")]
    SymlinkEscape {
        /// The symlink entry name as stored.
        name: String,
        /// Its target (lossily decoded).
        target: String,
    },
    /// Resolving a symlink took more than `MAX_SYMLINK_HOPS` hops, or the archive's symlinks
    /// took too much work to resolve altogether.
    #[error("symlink {name:?} has too many levels of symbolic links")]
    SymlinkLoop {
        /// The symlink entry name as stored.
        name: String,
    },
    /// A symlink's target is empty, holds a NUL, or is longer than 4095 bytes.
    #[error("symlink {name:?} has an invalid target")]
    InvalidSymlink {
        /// The symlink entry name as stored.
        name: String,
    },
    /// An entry is a device, FIFO, socket or unknown file type.
    #[error("entry {name:?} has unsupported file type (mode {mode:o})")]
    UnsupportedFileType {
        /// The entry name as stored.
        name: String,
        /// Its Unix mode.
        mode: u32,
    },
    /// The entries' declared (or actual) sizes add up to more than allowed.
    #[error("zip unzips to more than {limit} bytes (reached at entry {name:?})")]
    TooLarge {
        /// The entry whose size crossed the limit.
        name: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// An entry inflates to more or fewer bytes than its header declares.
    #[error("entry {name:?} does not inflate to its declared {declared} bytes")]
    SizeMismatch {
        /// The entry name as stored.
        name: String,
        /// The size its headers declare.
        declared: u64,
    },
    /// An entry's data is unreadable: a bad local header, a corrupt deflate stream, or a CRC
    /// mismatch.
    #[error("entry {name:?} is corrupt: {reason}")]
    Corrupt {
        /// The entry name as stored.
        name: String,
        /// What was wrong.
        reason: String,
    },
    /// Reading the stored ZIP or writing into `dest` failed. Lamina's fault, not the client's.
    #[error("i/o error at {}", path.display())]
    Io {
        /// The file or directory being read or written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

impl ExtractError {
    /// Whether the archive itself is at fault (answer 4xx), as opposed to Lamina's own I/O
    /// (answer 500).
    pub fn is_client_error(&self) -> bool {
        !matches!(self, Self::Io { .. })
    }
}

/// Validates the ZIP at `zip_path` and extracts it into `dest`, an existing empty directory.
///
/// Files get mode 0644, or 0755 if the entry had any execute bit; directories 0755; setuid,
/// setgid and sticky bits are dropped. Relative symlinks that stay inside the tree are kept.
/// All validation happens before anything is written. See the module docs for the phases and
/// [`ExtractError`] for what is refused.
pub fn extract_zip(
    zip_path: &Path,
    dest: &Path,
    limits: &ExtractLimits,
) -> Result<Extracted, ExtractError> {
    let file = File::open(zip_path).map_err(io_at(zip_path))?;
    let len = file.metadata().map_err(io_at(zip_path))?.len();
    let too_many = |count: u64| ExtractError::TooManyEntries {
        count,
        limit: limits.max_entries,
    };

    if let Some(count) = declared_entry_count(&file, len, zip_path)?
        && count > limits.max_entries as u64
    {
        return Err(too_many(count));
    }
    let mut archive = ZipArchive::new(PositionalReader::new(&file, len))
        .map_err(|e| archive_error(e, zip_path))?;
    if archive.len() > limits.max_entries {
        return Err(too_many(archive.len() as u64));
    }
    if archive.has_duplicate_names() {
        let name = first_repeated_name(&file, archive.central_directory_start(), len);
        return Err(ExtractError::DuplicateName {
            name: name.unwrap_or_default(),
        });
    }

    let entries = classify_all(&archive, limits)?;
    let plan = Plan::new(&entries)?;
    let budget = InflateBudget::new(limits.max_unzipped_bytes);
    let targets = read_symlink_targets(&mut archive, &plan, zip_path, &budget)?;
    plan.check_symlinks(&targets)?;

    let fix_modes = umask_masks_modes();
    create_dirs(dest, &plan.dirs, fix_modes)?;
    let unzipped_bytes = write_files(&archive, &plan.files, dest, zip_path, &budget, fix_modes)?;
    for (link, target) in plan.symlinks.iter().zip(&targets) {
        let path = dest.join(&link.path);
        std::os::unix::fs::symlink(OsStr::from_bytes(target), &path).map_err(io_at(&path))?;
    }
    Ok(Extracted {
        unzipped_bytes,
        entries: entries.len() as u64,
    })
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> ExtractError + '_ {
    move |source| ExtractError::Io {
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::extract::entries::S_IFREG;
    use crate::extract::test_support::{
        Fixture, LIMITS, Raw, pseudo_random_bytes, raw_zip, refused, refused_with,
    };

    #[test]
    fn an_empty_archive_extracts_to_nothing() {
        let fixture = Fixture::new(&raw_zip(&[]));
        let extracted = fixture.extract(&LIMITS).unwrap();
        assert_eq!(
            extracted,
            Extracted {
                unzipped_bytes: 0,
                entries: 0
            }
        );
        assert!(fixture.is_untouched());
    }

    #[test]
    fn entry_count_limit_is_exact() {
        let entries: Vec<Raw> = (0..5).map(|i| Raw::file(&format!("f{i}"), b"x")).collect();
        let at_limit = ExtractLimits {
            max_entries: 5,
            ..LIMITS
        };
        let fixture = Fixture::new(&raw_zip(&entries));
        assert_eq!(fixture.extract(&at_limit).unwrap().entries, 5);

        let below = ExtractLimits {
            max_entries: 4,
            ..LIMITS
        };
        let err = refused_with(&entries, &below);
        assert!(
            matches!(err, ExtractError::TooManyEntries { count: 5, limit: 4 }),
            "{err}"
        );
    }

    #[test]
    fn nothing_is_written_when_a_late_entry_is_bad() {
        let mut entries: Vec<Raw> = (0..50)
            .map(|i| Raw::deflated(&format!("d/f{i}"), b"fine"))
            .collect();
        entries.push(Raw::symlink("d/zz", "../../escape"));
        let err = refused(&entries);
        assert!(matches!(err, ExtractError::SymlinkEscape { .. }), "{err}");
    }

    #[test]
    fn destination_errors_are_lamina_faults() {
        let fixture = Fixture::new(&raw_zip(&[Raw::file("a", b"a")]));
        let missing = fixture.dest().join("missing");
        let err = extract_zip(&fixture.zip(), &missing, &LIMITS).unwrap_err();
        assert!(matches!(err, ExtractError::Io { .. }), "{err}");
        assert!(!err.is_client_error());

        let err = extract_zip(&missing, &fixture.dest(), &LIMITS).unwrap_err();
        assert!(matches!(err, ExtractError::Io { .. }), "{err}");
    }

    #[test]
    fn mutated_archives_never_panic() {
        let zip = raw_zip(&[
            Raw::dir("d/"),
            Raw::deflated("d/a.txt", &b"some text ".repeat(50)),
            Raw::file("d/b.bin", &pseudo_random_bytes(300, 5)),
            Raw::symlink("d/l", "a.txt"),
            Raw::stored("run", b"#!/bin/sh\n", S_IFREG | 0o755),
        ]);
        let tmp = tempfile::tempdir().unwrap();
        let mut rng = pseudo_random_bytes(3 * 3 * 300, 11).into_iter();
        let mut next = || usize::from(rng.next().unwrap_or_default());
        for round in 0..300 {
            let mut mutated = zip.clone();
            for _ in 0..1 + round % 3 {
                let at = (next() << 8 | next()) % mutated.len();
                mutated[at] = next() as u8;
            }
            let zip_path = tmp.path().join(format!("{round}.zip"));
            let dest = tmp.path().join(format!("{round}"));
            fs::write(&zip_path, &mutated).unwrap();
            fs::create_dir(&dest).unwrap();
            // Any outcome but a panic is fine.
            let _ = extract_zip(&zip_path, &dest, &LIMITS);
        }
    }
}

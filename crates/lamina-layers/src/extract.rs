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

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::ffi::OsStr;
use std::fs::{DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread;

use flate2::read::DeflateDecoder;
use lamina_types::limits::MAX_SYMLINK_HOPS;
use zip::read::ZipFileEntry;
use zip::result::ZipError;
use zip::{CompressionMethod, ZipArchive};

/// Threads inflating regular files.
const WORKERS: usize = 2;

/// Longest symlink target accepted, in bytes (Linux refuses targets of `PATH_MAX` or more).
const MAX_SYMLINK_TARGET_BYTES: u64 = 4095;

/// Longest entry name accepted, in bytes (Linux `PATH_MAX` less the terminating NUL).
const MAX_PATH_BYTES: usize = 4095;

/// Longest path component accepted, in bytes (Linux `NAME_MAX`).
const MAX_COMPONENT_BYTES: usize = 255;

/// Work allowed for resolving all the symlinks of one archive, in bytes of path looked up.
/// Real layers use a tiny fraction; it bounds what thousands of hostile chains can cost.
const SYMLINK_RESOLUTION_BUDGET_BYTES: u64 = 1 << 26;

/// Output buffer of one worker, in bytes.
const COPY_BUF_BYTES: usize = 256 * 1024;

/// Read-ahead buffer of one archive reader, in bytes.
const READ_BUF_BYTES: usize = 64 * 1024;

/// Reads at least this large bypass the read-ahead buffer, in bytes.
const DIRECT_READ_BYTES: usize = 16 * 1024;

/// Mode of extracted directories and executable files.
const MODE_EXECUTABLE: u32 = 0o755;

/// Mode of extracted non-executable files.
const MODE_REGULAR: u32 = 0o644;

/// File type bits of a Unix mode, and the types a layer may hold.
const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFLNK: u32 = 0o120_000;

/// End-of-central-directory record: signature, size, and offset of its entry count.
const EOCD_SIGNATURE: &[u8] = b"PK\x05\x06";
const EOCD_BYTES: usize = 22;
const EOCD_TOTAL_ENTRIES_AT: usize = 10;
const EOCD_COMMENT_LEN_AT: usize = 20;

/// ZIP64 end-of-central-directory locator and record.
const ZIP64_LOCATOR_SIGNATURE: &[u8] = b"PK\x06\x07";
const ZIP64_LOCATOR_BYTES: usize = 20;
const ZIP64_LOCATOR_OFFSET_AT: usize = 8;
const ZIP64_EOCD_SIGNATURE: &[u8] = b"PK\x06\x06";
const ZIP64_EOCD_BYTES: usize = 56;
const ZIP64_EOCD_TOTAL_ENTRIES_AT: usize = 32;

/// Central directory file header.
const CENTRAL_HEADER_SIGNATURE: &[u8] = b"PK\x01\x02";
const CENTRAL_HEADER_BYTES: usize = 46;

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
    let budget = InflateBudget {
        inflated: AtomicU64::new(0),
        limit: limits.max_unzipped_bytes,
    };
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

/// What an entry is, once its mode and name are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dir,
    File { executable: bool },
    Symlink,
}

/// One validated central directory entry.
#[derive(Debug)]
struct Entry {
    /// Position in the archive.
    index: usize,
    /// Name as stored, for error messages.
    name: String,
    /// Normalised relative path: non-empty components joined by `/`.
    path: String,
    kind: Kind,
    /// Declared uncompressed size; 0 for directories, whose data is never read.
    size: u64,
}

/// Checks every entry on its own and the declared total size.
fn classify_all<R: Read + Seek>(
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

/// The validated archive, split into what each phase writes.
struct Plan<'e> {
    entries: &'e [Entry],
    /// Entry position by normalised path.
    by_path: HashMap<&'e str, usize>,
    /// Every directory to create, explicit or implied; parents sort before children.
    dirs: BTreeSet<&'e str>,
    /// Regular files, largest first, so the workers finish together.
    files: Vec<&'e Entry>,
    /// Symlinks in archive order.
    symlinks: Vec<&'e Entry>,
}

impl<'e> Plan<'e> {
    /// Finds duplicates and conflicts between entries, and lists what to create.
    fn new(entries: &'e [Entry]) -> Result<Self, ExtractError> {
        let mut by_path = HashMap::with_capacity(entries.len());
        for (position, entry) in entries.iter().enumerate() {
            if let Some(&earlier) = by_path.get(entry.path.as_str()) {
                let earlier: &Entry = &entries[earlier];
                let same_type =
                    std::mem::discriminant(&earlier.kind) == std::mem::discriminant(&entry.kind);
                return Err(if same_type {
                    ExtractError::DuplicateName {
                        name: entry.name.clone(),
                    }
                } else {
                    ExtractError::PathConflict {
                        name: entry.name.clone(),
                        other: earlier.name.clone(),
                    }
                });
            }
            by_path.insert(entry.path.as_str(), position);
        }

        let mut dirs = BTreeSet::new();
        let mut files = Vec::new();
        let mut symlinks = Vec::new();
        for entry in entries {
            match entry.kind {
                Kind::Dir => {
                    dirs.insert(entry.path.as_str());
                }
                Kind::File { .. } => files.push(entry),
                Kind::Symlink => symlinks.push(entry),
            }
            for (end, _) in entry.path.match_indices('/') {
                let parent = &entry.path[..end];
                match by_path.get(parent).map(|&position| &entries[position]) {
                    Some(link) if link.kind == Kind::Symlink => {
                        return Err(ExtractError::ThroughSymlink {
                            name: entry.name.clone(),
                            link: link.name.clone(),
                        });
                    }
                    Some(file) if matches!(file.kind, Kind::File { .. }) => {
                        return Err(ExtractError::PathConflict {
                            name: entry.name.clone(),
                            other: file.name.clone(),
                        });
                    }
                    _ => {
                        dirs.insert(parent);
                    }
                }
            }
        }
        files.sort_by_key(|entry| Reverse(entry.size));
        Ok(Self {
            entries,
            by_path,
            dirs,
            files,
            symlinks,
        })
    }

    /// Proves every symlink, given its target (same order as `symlinks`), stays in the tree.
    fn check_symlinks(&self, targets: &[Vec<u8>]) -> Result<(), ExtractError> {
        let by_entry: HashMap<usize, &[u8]> = self
            .symlinks
            .iter()
            .zip(targets)
            .map(|(link, target)| (link.index, target.as_slice()))
            .collect();
        let mut budget = SYMLINK_RESOLUTION_BUDGET_BYTES;
        for (link, target) in self.symlinks.iter().zip(targets) {
            self.resolve(link, target, &by_entry, &mut budget)?;
        }
        Ok(())
    }

    /// Walks `target` from the directory holding `link` the way the kernel would, component by
    /// component, expanding other in-archive symlinks as it meets them. Fails if the walk ever
    /// climbs above the root. Components that name nothing in the archive are taken as
    /// directories, so `..` after them is resolved lexically; the walk stops at a regular file,
    /// since anything after one fails with `ENOTDIR`.
    fn resolve(
        &self,
        link: &Entry,
        target: &[u8],
        targets: &HashMap<usize, &[u8]>,
        budget: &mut u64,
    ) -> Result<(), ExtractError> {
        let escape = || ExtractError::SymlinkEscape {
            name: link.name.clone(),
            target: String::from_utf8_lossy(target).into_owned(),
        };
        let looped = || ExtractError::SymlinkLoop {
            name: link.name.clone(),
        };
        if target.starts_with(b"/") {
            return Err(escape());
        }

        // The current directory as a path, plus where to truncate it to go up one level.
        let mut current: Vec<u8> = Vec::new();
        let mut parents: Vec<usize> = Vec::new();
        let link_dir = link.path.rsplit_once('/').map_or("", |(dir, _)| dir);
        for component in link_dir.split('/').filter(|c| !c.is_empty()) {
            enter(&mut current, &mut parents, component.as_bytes());
        }

        // Components still to walk, the next one last.
        let mut pending: Vec<&[u8]> = target.split(|&b| b == b'/').rev().collect();
        // Following `link` itself is the first hop, as in the kernel.
        let mut hops = 1usize;
        while let Some(component) = pending.pop() {
            *budget = budget
                .checked_sub(1 + current.len() as u64)
                .ok_or_else(looped)?;
            match component {
                b"" | b"." => {}
                b".." => current.truncate(parents.pop().ok_or_else(escape)?),
                component => {
                    enter(&mut current, &mut parents, component);
                    let Some(entry) = self.lookup(&current) else {
                        continue;
                    };
                    match entry.kind {
                        Kind::Dir => {}
                        Kind::File { .. } => return Ok(()),
                        Kind::Symlink => {
                            hops += 1;
                            if hops > MAX_SYMLINK_HOPS {
                                return Err(looped());
                            }
                            // The link's own target is relative to the directory holding it.
                            if let Some(parent) = parents.pop() {
                                current.truncate(parent);
                            }
                            let next = targets.get(&entry.index).copied().unwrap_or_default();
                            if next.starts_with(b"/") {
                                return Err(escape());
                            }
                            pending.extend(next.split(|&b| b == b'/').rev());
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// The entry at a normalised path, if the archive has one.
    fn lookup(&self, path: &[u8]) -> Option<&'e Entry> {
        let path = std::str::from_utf8(path).ok()?;
        self.by_path
            .get(path)
            .and_then(|&position| self.entries.get(position))
    }
}

/// Appends `component` to the path `current`, remembering where to cut to leave it again.
fn enter(current: &mut Vec<u8>, parents: &mut Vec<usize>, component: &[u8]) {
    parents.push(current.len());
    if !current.is_empty() {
        current.push(b'/');
    }
    current.extend_from_slice(component);
}

/// Reads every symlink's target, in the order of `plan.symlinks`.
fn read_symlink_targets(
    archive: &mut ZipArchive<PositionalReader<'_>>,
    plan: &Plan<'_>,
    zip_path: &Path,
    budget: &InflateBudget,
) -> Result<Vec<Vec<u8>>, ExtractError> {
    let mut buf = vec![0u8; MAX_SYMLINK_TARGET_BYTES as usize + 1];
    let mut targets = Vec::with_capacity(plan.symlinks.len());
    for link in &plan.symlinks {
        let invalid = || ExtractError::InvalidSymlink {
            name: link.name.clone(),
        };
        if link.size > MAX_SYMLINK_TARGET_BYTES {
            return Err(invalid());
        }
        let mut target = Vec::with_capacity(link.size as usize);
        copy_entry(
            archive,
            link,
            &mut buf,
            &mut target,
            zip_path,
            zip_path,
            budget,
        )?;
        if target.is_empty() || target.contains(&0) {
            return Err(invalid());
        }
        targets.push(target);
    }
    Ok(targets)
}

/// Creates the directories, parents first.
fn create_dirs(dest: &Path, dirs: &BTreeSet<&str>, fix_modes: bool) -> Result<(), ExtractError> {
    let mut builder = DirBuilder::new();
    builder.mode(MODE_EXECUTABLE);
    for dir in dirs {
        let path = dest.join(dir);
        builder.create(&path).map_err(io_at(&path))?;
        if fix_modes {
            std::fs::set_permissions(&path, Permissions::from_mode(MODE_EXECUTABLE))
                .map_err(io_at(&path))?;
        }
    }
    Ok(())
}

/// Bytes really inflated so far, across all entries and workers, checked against the limit
/// as they arrive: an archive whose headers lie is judged on what it really holds, and the
/// work it can cause is bounded by the limit whatever it declares.
struct InflateBudget {
    inflated: AtomicU64,
    limit: u64,
}

impl InflateBudget {
    fn charge(&self, bytes: u64, entry: &Entry) -> Result<(), ExtractError> {
        let total = self
            .inflated
            .fetch_add(bytes, Ordering::Relaxed)
            .saturating_add(bytes);
        if total > self.limit {
            return Err(ExtractError::TooLarge {
                name: entry.name.clone(),
                limit: self.limit,
            });
        }
        Ok(())
    }
}

/// Inflates the regular files with `WORKERS` threads and returns the bytes written.
///
/// An entry that inflates to other than its declared size does not stop the others: only
/// once every entry has been inflated (within the budget) is it known whether the archive is
/// too large, which is the more useful thing to tell, or merely inconsistent.
fn write_files(
    archive: &ZipArchive<PositionalReader<'_>>,
    files: &[&Entry],
    dest: &Path,
    zip_path: &Path,
    budget: &InflateBudget,
    fix_modes: bool,
) -> Result<u64, ExtractError> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let written = AtomicU64::new(0);

    // Takes the next file until none is left or a worker failed; errors carry the queue
    // position so the same archive always reports the same error.
    let work = || -> Vec<(usize, ExtractError)> {
        let mut archive = archive.clone();
        let mut buf = vec![0u8; COPY_BUF_BYTES];
        let mut mismatches = Vec::new();
        while !failed.load(Ordering::Relaxed) {
            let position = next.fetch_add(1, Ordering::Relaxed);
            let Some(entry) = files.get(position) else {
                break;
            };
            match write_file(
                &mut archive,
                entry,
                &mut buf,
                dest,
                zip_path,
                fix_modes,
                budget,
            ) {
                Ok(bytes) => {
                    written.fetch_add(bytes, Ordering::Relaxed);
                }
                Err(error @ ExtractError::SizeMismatch { .. }) => {
                    mismatches.push((position, error))
                }
                Err(error) => {
                    failed.store(true, Ordering::Relaxed);
                    return vec![(position, error)];
                }
            }
        }
        mismatches
    };

    let workers = WORKERS.min(files.len()).max(1);
    let errors: Vec<_> = thread::scope(|scope| {
        let helpers: Vec<_> = (1..workers).map(|_| scope.spawn(work)).collect();
        let mut errors = work();
        for helper in helpers {
            errors.extend(
                helper
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            );
        }
        errors
    });
    // A hard failure outranks a size mismatch; among equals, the earliest entry wins.
    let first = errors.into_iter().min_by_key(|(position, error)| {
        (
            matches!(error, ExtractError::SizeMismatch { .. }),
            *position,
        )
    });
    match first {
        Some((_, error)) => Err(error),
        None => Ok(written.into_inner()),
    }
}

/// Creates one regular file with its final mode and fills it.
fn write_file(
    archive: &mut ZipArchive<PositionalReader<'_>>,
    entry: &Entry,
    buf: &mut [u8],
    dest: &Path,
    zip_path: &Path,
    fix_modes: bool,
    budget: &InflateBudget,
) -> Result<u64, ExtractError> {
    let path = dest.join(&entry.path);
    let mode = match entry.kind {
        Kind::File { executable: true } => MODE_EXECUTABLE,
        _ => MODE_REGULAR,
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&path)
        .map_err(io_at(&path))?;
    if fix_modes {
        file.set_permissions(Permissions::from_mode(mode))
            .map_err(io_at(&path))?;
    }
    copy_entry(archive, entry, buf, &mut file, &path, zip_path, budget)
}

/// Inflates `entry` into `sink`, writing at most its declared size, charging every inflated
/// byte to `budget`, then checks the size and CRC-32. Returns the bytes written.
fn copy_entry<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    entry: &Entry,
    buf: &mut [u8],
    sink: &mut impl Write,
    sink_path: &Path,
    zip_path: &Path,
    budget: &InflateBudget,
) -> Result<u64, ExtractError> {
    let raw = archive.by_index_raw(entry.index).map_err(|e| match e {
        ZipError::Io(e) => read_error(e, entry, zip_path),
        e => corrupt(entry, e.to_string()),
    })?;
    let expected_crc = raw.crc32();
    let mut crc = crc32fast::Hasher::new();
    let mut out = Output {
        entry,
        sink,
        sink_path,
        crc: &mut crc,
        budget,
    };
    let inflated = if raw.compression() == CompressionMethod::Stored {
        out.pump(raw, buf, zip_path)?
    } else {
        out.pump(DeflateDecoder::new(raw), buf, zip_path)?
    };
    if inflated != entry.size {
        return Err(ExtractError::SizeMismatch {
            name: entry.name.clone(),
            declared: entry.size,
        });
    }
    if crc.finalize() != expected_crc {
        return Err(corrupt(entry, "crc-32 mismatch".to_owned()));
    }
    Ok(inflated)
}

/// Where one entry's bytes go.
struct Output<'a, W> {
    entry: &'a Entry,
    sink: &'a mut W,
    sink_path: &'a Path,
    crc: &'a mut crc32fast::Hasher,
    budget: &'a InflateBudget,
}

impl<W: Write> Output<'_, W> {
    /// Copies `reader` to the sink a full buffer at a time and returns how many bytes it
    /// inflated. Bytes past the declared size are counted against the budget but never
    /// written, so an entry that lies about its size fills neither disk nor memory.
    fn pump(
        &mut self,
        mut reader: impl Read,
        buf: &mut [u8],
        zip_path: &Path,
    ) -> Result<u64, ExtractError> {
        let mut total = 0u64;
        loop {
            let n = fill(&mut reader, buf).map_err(|e| read_error(e, self.entry, zip_path))?;
            let chunk = buf.get(..n).unwrap_or_default();
            if chunk.is_empty() {
                return Ok(total);
            }
            self.budget.charge(n as u64, self.entry)?;
            let writable = self.entry.size.saturating_sub(total);
            total += n as u64;
            let keep = chunk
                .get(..usize::try_from(writable).unwrap_or(usize::MAX).min(n))
                .unwrap_or_default();
            if !keep.is_empty() {
                self.crc.update(keep);
                self.sink.write_all(keep).map_err(io_at(self.sink_path))?;
            }
            if n < buf.len() {
                return Ok(total);
            }
        }
    }
}

/// Reads until `buf` is full or the reader ends; returns the bytes read.
fn fill(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..).filter(|rest| !rest.is_empty()) {
        match reader.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn corrupt(entry: &Entry, reason: String) -> ExtractError {
    ExtractError::Corrupt {
        name: entry.name.clone(),
        reason,
    }
}

/// Data errors while reading an entry are the archive's fault; anything else is real I/O on
/// the stored ZIP.
fn read_error(error: io::Error, entry: &Entry, zip_path: &Path) -> ExtractError {
    match error.kind() {
        io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput | io::ErrorKind::UnexpectedEof => {
            corrupt(entry, error.to_string())
        }
        _ => ExtractError::Io {
            path: zip_path.to_owned(),
            source: error,
        },
    }
}

/// Maps an error from parsing the central directory.
fn archive_error(error: ZipError, zip_path: &Path) -> ExtractError {
    match error {
        ZipError::Io(e)
            if !matches!(
                e.kind(),
                io::ErrorKind::InvalidData
                    | io::ErrorKind::InvalidInput
                    | io::ErrorKind::UnexpectedEof
            ) =>
        {
            ExtractError::Io {
                path: zip_path.to_owned(),
                source: e,
            }
        }
        e => ExtractError::NotAZip {
            reason: e.to_string(),
        },
    }
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> ExtractError + '_ {
    move |source| ExtractError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The entry count the end-of-central-directory record declares, read before the directory
/// itself is parsed. `None` when a ZIP64 count cannot be found this way; the parsed directory
/// is then checked instead.
fn declared_entry_count(
    file: &File,
    len: u64,
    zip_path: &Path,
) -> Result<Option<u64>, ExtractError> {
    let max_tail = (ZIP64_LOCATOR_BYTES + EOCD_BYTES + usize::from(u16::MAX)) as u64;
    let tail_len = len.min(max_tail);
    let mut tail = vec![0u8; tail_len as usize];
    file.read_exact_at(&mut tail, len - tail_len)
        .map_err(io_at(zip_path))?;

    // The last record whose comment ends the file, else the last record at all (some tools
    // append junk); the ZIP reader applies its own, finer rules next.
    let candidates: Vec<usize> = (0..tail.len().saturating_sub(EOCD_BYTES - 1))
        .rev()
        .filter(|&at| {
            tail.get(at..)
                .is_some_and(|rest| rest.starts_with(EOCD_SIGNATURE))
        })
        .collect();
    let exact = candidates.iter().copied().find(|&at| {
        le_u16(&tail, at + EOCD_COMMENT_LEN_AT)
            .is_some_and(|comment| at + EOCD_BYTES + usize::from(comment) == tail.len())
    });
    let Some(eocd) = exact.or(candidates.first().copied()) else {
        return Err(ExtractError::NotAZip {
            reason: "no end of central directory record".to_owned(),
        });
    };
    let total = le_u16(&tail, eocd + EOCD_TOTAL_ENTRIES_AT).unwrap_or(u16::MAX);
    if total != u16::MAX {
        return Ok(Some(total.into()));
    }

    let Some(locator) = eocd.checked_sub(ZIP64_LOCATOR_BYTES).filter(|&at| {
        tail.get(at..)
            .is_some_and(|rest| rest.starts_with(ZIP64_LOCATOR_SIGNATURE))
    }) else {
        return Ok(None);
    };
    let Some(record_at) = le_u64(&tail, locator + ZIP64_LOCATOR_OFFSET_AT) else {
        return Ok(None);
    };
    let mut record = [0u8; ZIP64_EOCD_BYTES];
    if file.read_exact_at(&mut record, record_at).is_err()
        || !record.starts_with(ZIP64_EOCD_SIGNATURE)
    {
        return Ok(None);
    }
    Ok(le_u64(&record, ZIP64_EOCD_TOTAL_ENTRIES_AT))
}

/// Finds the first name stored twice by walking the raw central directory, which the ZIP
/// reader collapses by name. Only used to name the culprit in an error.
fn first_repeated_name(file: &File, dir_start: u64, len: u64) -> Option<String> {
    let size = usize::try_from(len.checked_sub(dir_start)?).ok()?;
    let mut dir = vec![0u8; size];
    file.read_exact_at(&mut dir, dir_start).ok()?;
    let mut seen = HashSet::new();
    let mut at = 0usize;
    while let Some(header) = dir.get(at..at + CENTRAL_HEADER_BYTES)
        && header.starts_with(CENTRAL_HEADER_SIGNATURE)
    {
        let name_len = usize::from(le_u16(header, 28)?);
        let extra_len = usize::from(le_u16(header, 30)?);
        let comment_len = usize::from(le_u16(header, 32)?);
        let name_at = at + CENTRAL_HEADER_BYTES;
        let name = dir.get(name_at..name_at + name_len)?;
        if !seen.insert(name) {
            return Some(String::from_utf8_lossy(name).into_owned());
        }
        at = name_at + name_len + extra_len + comment_len;
    }
    None
}

fn le_u16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn le_u64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

/// Whether the process umask clears bits of 0o755, so created files and directories need an
/// explicit `chmod` to get their documented mode. Read once per extraction; if it cannot be
/// read, assume it does.
fn umask_masks_modes() -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return true;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("Umask:"))
        .and_then(|mask| u32::from_str_radix(mask.trim(), 8).ok())
        .is_none_or(|mask| mask & MODE_EXECUTABLE != 0)
}

/// A buffered reader over a shared file that reads with `pread`, so every clone keeps its own
/// position and the workers' archives share one descriptor and one parsed central directory.
struct PositionalReader<'f> {
    file: &'f File,
    len: u64,
    pos: u64,
    /// Read-ahead, allocated on first use; holds file bytes `buf_start..buf_start + buf_len`.
    buf: Vec<u8>,
    buf_start: u64,
    buf_len: usize,
}

impl<'f> PositionalReader<'f> {
    fn new(file: &'f File, len: u64) -> Self {
        Self {
            file,
            len,
            pos: 0,
            buf: Vec::new(),
            buf_start: 0,
            buf_len: 0,
        }
    }

    /// The buffered bytes from the current position on, if the position is in the buffer.
    fn buffered(&self) -> &[u8] {
        self.pos
            .checked_sub(self.buf_start)
            .and_then(|offset| usize::try_from(offset).ok())
            .and_then(|offset| self.buf.get(offset..self.buf_len))
            .unwrap_or_default()
    }
}

impl Clone for PositionalReader<'_> {
    fn clone(&self) -> Self {
        Self {
            pos: self.pos,
            ..Self::new(self.file, self.len)
        }
    }
}

impl Read for PositionalReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.buffered().is_empty() {
            if out.len() >= DIRECT_READ_BYTES {
                let n = self.file.read_at(out, self.pos)?;
                self.pos += n as u64;
                return Ok(n);
            }
            if self.buf.is_empty() {
                self.buf = vec![0u8; READ_BUF_BYTES];
            }
            self.buf_len = self.file.read_at(&mut self.buf, self.pos)?;
            self.buf_start = self.pos;
        }
        let buffered = self.buffered();
        let n = buffered.len().min(out.len());
        if let (Some(dst), Some(src)) = (out.get_mut(..n), buffered.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for PositionalReader<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let pos = match to {
            SeekFrom::Start(pos) => Some(pos),
            SeekFrom::End(delta) => self.len.checked_add_signed(delta),
            SeekFrom::Current(delta) => self.pos.checked_add_signed(delta),
        };
        self.pos = pos.ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "seek before start of file")
        })?;
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::io::Write as _;

    use flate2::Compression;
    use flate2::write::DeflateEncoder;
    use tempfile::TempDir;
    use zip::ZipWriter;
    use zip::write::SimpleFileOptions;

    use super::*;

    const LIMITS: ExtractLimits = ExtractLimits {
        max_unzipped_bytes: 1 << 30,
        max_entries: 1000,
    };

    const S_IFCHR: u32 = 0o020_000;
    const S_IFIFO: u32 = 0o010_000;
    const S_IFSOCK: u32 = 0o140_000;
    const S_IFBLK: u32 = 0o060_000;

    /// One entry of a hand-written ZIP, so that hostile fields can be set freely.
    #[derive(Clone)]
    struct Raw {
        name: Vec<u8>,
        /// Bytes as stored (already compressed for method 8).
        data: Vec<u8>,
        method: u16,
        crc: u32,
        /// Declared uncompressed size, in both headers.
        size: u32,
        flags: u16,
        /// Unix mode, stored in the high half of the external attributes.
        mode: u32,
    }

    impl Raw {
        fn stored(name: &str, content: &[u8], mode: u32) -> Self {
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

        fn file(name: &str, content: &[u8]) -> Self {
            Self::stored(name, content, S_IFREG | 0o644)
        }

        fn deflated(name: &str, content: &[u8]) -> Self {
            let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
            encoder.write_all(content).unwrap();
            Self {
                data: encoder.finish().unwrap(),
                method: 8,
                ..Self::file(name, content)
            }
        }

        fn dir(name: &str) -> Self {
            Self::stored(name, b"", S_IFDIR | 0o755)
        }

        fn symlink(name: &str, target: &str) -> Self {
            Self::stored(name, target.as_bytes(), S_IFLNK | 0o777)
        }
    }

    fn raw_zip(entries: &[Raw]) -> Vec<u8> {
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
    struct Fixture {
        tmp: TempDir,
    }

    impl Fixture {
        fn new(zip: &[u8]) -> Self {
            let tmp = tempfile::tempdir().unwrap();
            fs::write(tmp.path().join("layer.zip"), zip).unwrap();
            fs::create_dir(tmp.path().join("out")).unwrap();
            Self { tmp }
        }

        fn zip(&self) -> PathBuf {
            self.tmp.path().join("layer.zip")
        }

        fn dest(&self) -> PathBuf {
            self.tmp.path().join("out")
        }

        fn extract(&self, limits: &ExtractLimits) -> Result<Extracted, ExtractError> {
            extract_zip(&self.zip(), &self.dest(), limits)
        }

        fn is_untouched(&self) -> bool {
            fs::read_dir(self.dest()).unwrap().next().is_none()
        }

        fn mode(&self, path: &str) -> u32 {
            fs::symlink_metadata(self.dest().join(path))
                .unwrap()
                .permissions()
                .mode()
                & 0o7777
        }
    }

    /// Extracts `entries` and expects a refusal before anything was written.
    fn refused(entries: &[Raw]) -> ExtractError {
        refused_with(entries, &LIMITS)
    }

    fn refused_with(entries: &[Raw], limits: &ExtractLimits) -> ExtractError {
        let fixture = Fixture::new(&raw_zip(entries));
        let err = fixture.extract(limits).unwrap_err();
        assert!(fixture.is_untouched(), "wrote before refusing: {err}");
        assert!(err.is_client_error());
        err
    }

    fn pseudo_random_bytes(len: usize, mut seed: u64) -> Vec<u8> {
        (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed.to_le_bytes()[3]
            })
            .collect()
    }

    #[test]
    fn happy_path_keeps_tree_modes_and_in_tree_symlinks() {
        let tmp = tempfile::tempdir().unwrap();
        let zip_path = tmp.path().join("layer.zip");
        let dest = tmp.path().join("out");
        fs::create_dir(&dest).unwrap();
        let tool = b"#!/bin/sh\necho hi\n".repeat(100);
        let blob = pseudo_random_bytes(700_000, 1);

        let mut w = ZipWriter::new(fs::File::create(&zip_path).unwrap());
        let deflated = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .unix_permissions(0o644);
        w.add_directory("python/", deflated.unix_permissions(0o700))
            .unwrap();
        w.add_directory("python/pkg/", deflated).unwrap();
        w.start_file("python/pkg/__init__.py", deflated).unwrap();
        w.write_all(b"VERSION = 1\n").unwrap();
        w.start_file(
            "python/pkg/data.bin",
            deflated.compression_method(CompressionMethod::Stored),
        )
        .unwrap();
        w.write_all(&blob).unwrap();
        w.start_file("python/pkg/empty", deflated).unwrap();
        w.start_file("bin/tool", deflated.unix_permissions(0o4755))
            .unwrap();
        w.write_all(&tool).unwrap();
        w.add_symlink("python/pkg/current", "../../bin/tool", deflated)
            .unwrap();
        w.add_symlink("lib", "python/./pkg/", deflated).unwrap();
        w.finish().unwrap();

        let extracted = extract_zip(&zip_path, &dest, &LIMITS).unwrap();
        assert_eq!(
            extracted,
            Extracted {
                unzipped_bytes: (12 + blob.len() + tool.len()) as u64,
                entries: 8,
            }
        );
        let mode = |p: &str| {
            fs::symlink_metadata(dest.join(p))
                .unwrap()
                .permissions()
                .mode()
                & 0o7777
        };
        assert_eq!(mode("python"), 0o755);
        assert_eq!(mode("python/pkg"), 0o755);
        assert_eq!(mode("bin"), 0o755);
        assert_eq!(mode("python/pkg/__init__.py"), 0o644);
        assert_eq!(mode("bin/tool"), 0o755, "setuid dropped, exec kept");
        assert_eq!(fs::read(dest.join("python/pkg/data.bin")).unwrap(), blob);
        assert_eq!(fs::read(dest.join("python/pkg/empty")).unwrap(), b"");
        assert_eq!(
            fs::read_link(dest.join("python/pkg/current")).unwrap(),
            Path::new("../../bin/tool")
        );
        assert_eq!(fs::read(dest.join("python/pkg/current")).unwrap(), tool);
        assert_eq!(
            fs::read(dest.join("lib/__init__.py")).unwrap(),
            b"VERSION = 1\n"
        );
    }

    #[test]
    fn parents_are_created_when_the_zip_has_no_directory_entries() {
        let fixture = Fixture::new(&raw_zip(&[
            Raw::deflated("a/b/c/deep.txt", &b"deep ".repeat(1000)),
            Raw::file("a/top.txt", b"top"),
            Raw::stored("x/run", b"#!/bin/sh\n", S_IFREG | 0o700),
            Raw::file("x/./y//z.txt", b"z"),
        ]));
        let extracted = fixture.extract(&LIMITS).unwrap();
        assert_eq!(extracted.entries, 4);
        assert_eq!(extracted.unzipped_bytes, 5000 + 3 + 10 + 1);
        assert_eq!(
            fs::read(fixture.dest().join("a/b/c/deep.txt")).unwrap(),
            b"deep ".repeat(1000)
        );
        assert_eq!(fs::read(fixture.dest().join("x/y/z.txt")).unwrap(), b"z");
        for dir in ["a", "a/b", "a/b/c", "x", "x/y"] {
            assert_eq!(fixture.mode(dir), 0o755, "{dir}");
        }
        assert_eq!(fixture.mode("x/run"), 0o755);
        assert_eq!(fixture.mode("a/top.txt"), 0o644);
    }

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
    fn many_files_round_trip_across_workers() {
        let files: Vec<(String, Vec<u8>)> = (0..300)
            .map(|i| {
                let len = (i * 7919) % 20_000 + if i % 50 == 0 { 600_000 } else { 0 };
                let content = if i % 2 == 0 {
                    pseudo_random_bytes(len, i as u64 + 1)
                } else {
                    format!("line {i}\n").repeat(len / 8).into_bytes()
                };
                (format!("d{}/f{i}.bin", i % 7), content)
            })
            .collect();
        let entries: Vec<Raw> = files
            .iter()
            .enumerate()
            .map(|(i, (name, content))| {
                if i % 3 == 0 {
                    Raw::file(name, content)
                } else {
                    Raw::deflated(name, content)
                }
            })
            .collect();
        let fixture = Fixture::new(&raw_zip(&entries));
        let extracted = fixture.extract(&LIMITS).unwrap();
        let total: usize = files.iter().map(|(_, c)| c.len()).sum();
        assert_eq!(extracted.unzipped_bytes, total as u64);
        for (name, content) in &files {
            assert_eq!(
                &fs::read(fixture.dest().join(name)).unwrap(),
                content,
                "{name}"
            );
        }
    }

    #[test]
    fn not_a_zip_is_refused() {
        let valid = raw_zip(&[Raw::file("a", b"a")]);
        let cases: [&[u8]; 4] = [
            b"",
            b"hello, this is not a zip file at all",
            &pseudo_random_bytes(100_000, 9),
            // Cut inside the central directory.
            &valid[..valid.len() - 30],
        ];
        for case in cases {
            let fixture = Fixture::new(case);
            let err = fixture.extract(&LIMITS).unwrap_err();
            assert!(matches!(err, ExtractError::NotAZip { .. }), "{err}");
        }
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
    fn declared_count_is_checked_before_the_directory_is_parsed() {
        let mut zip = raw_zip(&[Raw::file("a", b"a")]);
        // Claim 60,000 entries in the end record; the directory holds one.
        let at = zip.len() - EOCD_BYTES;
        zip[at + 8..at + 12].copy_from_slice(&[0x60, 0xea, 0x60, 0xea]);
        let fixture = Fixture::new(&zip);
        let err = fixture.extract(&LIMITS).unwrap_err();
        assert!(
            matches!(err, ExtractError::TooManyEntries { count: 60_000, .. }),
            "{err}"
        );
    }

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
    fn duplicate_names_are_refused() {
        let cases = [
            vec![Raw::file("a.txt", b"1"), Raw::file("a.txt", b"2")],
            vec![Raw::file("d/b", b"1"), Raw::file("d/./b", b"2")],
            vec![Raw::file("d//b", b"1"), Raw::file("d/b", b"2")],
            vec![Raw::dir("d/"), Raw::dir("d")],
            vec![Raw::dir("d/"), Raw::dir("./d/")],
            vec![Raw::symlink("l", "a"), Raw::symlink("./l", "b")],
        ];
        for entries in cases {
            let err = refused(&entries);
            let ExtractError::DuplicateName { name } = &err else {
                panic!("{err}");
            };
            assert_eq!(name.as_bytes(), entries[1].name);
        }
    }

    #[test]
    fn files_and_directories_at_the_same_path_conflict() {
        let cases = [
            vec![Raw::file("a", b"1"), Raw::dir("a/")],
            vec![Raw::dir("a/"), Raw::file("a", b"1")],
            vec![Raw::file("a", b"1"), Raw::file("a/b", b"2")],
            vec![Raw::file("a/b/c", b"2"), Raw::file("a", b"1")],
            vec![Raw::symlink("./a", "x"), Raw::file("a", b"1")],
        ];
        for entries in cases {
            let err = refused(&entries);
            assert!(matches!(err, ExtractError::PathConflict { .. }), "{err}");
        }
    }

    #[test]
    fn entries_under_a_symlink_are_refused() {
        for entries in [
            vec![
                Raw::dir("real/"),
                Raw::symlink("link", "real"),
                Raw::file("link/f", b"x"),
            ],
            vec![Raw::file("link/sub/f", b"x"), Raw::symlink("link", "/tmp")],
        ] {
            let err = refused(&entries);
            assert!(
                matches!(&err, ExtractError::ThroughSymlink { link, .. } if link == "link"),
                "{err}"
            );
        }
    }

    #[test]
    fn symlinks_that_stay_inside_are_kept() {
        let fixture = Fixture::new(&raw_zip(&[
            Raw::file("a/b/file", b"data"),
            Raw::symlink("a/b/up", "../.."),
            Raw::symlink("a/b/same", "."),
            Raw::symlink("a/b/via", "up/a/b/file"),
            Raw::symlink("a/b/dangling", "missing/../../x"),
            Raw::symlink("a/b/past_file", "file/../../../../.."),
            Raw::symlink("top", "a//b/./file"),
        ]));
        fixture.extract(&LIMITS).unwrap();
        let dest = fixture.dest();
        assert_eq!(
            fs::read_link(dest.join("a/b/up")).unwrap(),
            Path::new("../..")
        );
        assert_eq!(fs::read(dest.join("a/b/via")).unwrap(), b"data");
        assert_eq!(fs::read(dest.join("top")).unwrap(), b"data");
        assert_eq!(fs::read(dest.join("a/b/up/a/b/file")).unwrap(), b"data");
    }

    #[test]
    fn symlinks_that_escape_are_refused() {
        let cases = [
            vec![Raw::symlink("abs", "/etc/passwd")],
            vec![Raw::symlink("up", "..")],
            vec![Raw::symlink("a/b/up", "../../..")],
            vec![Raw::symlink("a/x", "b/../../../etc")],
            // Lexically `a/b/x -> up/../..` is `a`, but `up` is the root.
            vec![
                Raw::symlink("a/b/up", "../.."),
                Raw::symlink("a/b/x", "up/../.."),
            ],
            // Through a chain, one step at a time.
            vec![
                Raw::symlink("a/b/c/l1", "../l2"),
                Raw::symlink("a/b/l2", "../l3"),
                Raw::symlink("a/l3", "../../outside"),
            ],
            // A link whose own target is absolute, met on the way.
            vec![Raw::symlink("l", "abs/x"), Raw::symlink("abs", "/")],
        ];
        for entries in cases {
            let err = refused(&entries);
            assert!(matches!(err, ExtractError::SymlinkEscape { .. }), "{err}");
        }
    }

    #[test]
    fn symlink_hops_are_capped() {
        let chain = |links: usize| -> Vec<Raw> {
            let mut entries: Vec<Raw> = (0..links)
                .map(|i| {
                    let next = if i + 1 == links {
                        "file".to_owned()
                    } else {
                        format!("l{}", i + 1)
                    };
                    Raw::symlink(&format!("l{i}"), &next)
                })
                .collect();
            entries.push(Raw::file("file", b"x"));
            entries
        };
        // Opening l0 follows all n links; the kernel allows MAX_SYMLINK_HOPS of them.
        let fixture = Fixture::new(&raw_zip(&chain(MAX_SYMLINK_HOPS)));
        fixture.extract(&LIMITS).unwrap();
        assert_eq!(fs::read(fixture.dest().join("l0")).unwrap(), b"x");

        let err = refused(&chain(MAX_SYMLINK_HOPS + 1));
        assert!(
            matches!(&err, ExtractError::SymlinkLoop { name } if name == "l0"),
            "{err}"
        );

        for entries in [
            vec![Raw::symlink("a", "b"), Raw::symlink("b", "a")],
            vec![Raw::symlink("self", "self/x")],
        ] {
            let err = refused(&entries);
            assert!(matches!(err, ExtractError::SymlinkLoop { .. }), "{err}");
        }
    }

    #[test]
    fn invalid_symlink_targets_are_refused() {
        let long = "a/".repeat(2048);
        for target in ["", "a\0b", long.as_str()] {
            let err = refused(&[Raw::symlink("l", target)]);
            assert!(matches!(err, ExtractError::InvalidSymlink { .. }), "{err}");
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
    fn a_bomb_lying_about_its_size_fails_fast() {
        let zeros = vec![0u8; 10 << 20];
        let mut bomb = Raw::deflated("bomb", &zeros);
        bomb.size = 100;
        let fixture = Fixture::new(&raw_zip(&[bomb]));
        let err = fixture.extract(&LIMITS).unwrap_err();
        assert!(
            matches!(&err, ExtractError::SizeMismatch { name, declared: 100 } if name == "bomb"),
            "{err}"
        );
        assert!(err.is_client_error());
        // Nothing past the declared size reached the disk.
        let written = fs::metadata(fixture.dest().join("bomb")).unwrap().len();
        assert!(written <= 100, "{written}");
    }

    #[test]
    fn lying_entries_are_judged_on_what_they_really_inflate_to() {
        let zeros = vec![0u8; 4 << 20];
        let entries: Vec<Raw> = (0..3)
            .map(|i| {
                let mut part = Raw::deflated(&format!("part{i}"), &zeros);
                part.size = 10;
                part
            })
            .collect();
        let fixture = Fixture::new(&raw_zip(&entries));
        let limits = ExtractLimits {
            max_unzipped_bytes: 10 << 20,
            ..LIMITS
        };
        let err = fixture.extract(&limits).unwrap_err();
        assert!(
            matches!(err, ExtractError::TooLarge { limit, .. } if limit == 10 << 20),
            "{err}"
        );
    }

    #[test]
    fn an_entry_shorter_than_declared_is_refused() {
        for mut entry in [
            Raw::deflated("short", &[7; 100]),
            Raw::file("short", &[7; 100]),
        ] {
            entry.size = 200;
            if entry.method == 0 {
                entry.data.truncate(100);
            }
            let fixture = Fixture::new(&raw_zip(&[entry]));
            let err = fixture.extract(&LIMITS).unwrap_err();
            assert!(
                matches!(err, ExtractError::SizeMismatch { declared: 200, .. }),
                "{err}"
            );
        }
    }

    #[test]
    fn corrupt_data_is_refused() {
        let mut bad_crc = Raw::deflated("crc", b"hello hello hello");
        bad_crc.crc ^= 1;
        let mut bad_stream = Raw::deflated("stream", b"hello");
        bad_stream.data = vec![0xff; 16];
        for entry in [bad_crc, bad_stream] {
            let fixture = Fixture::new(&raw_zip(&[entry]));
            let err = fixture.extract(&LIMITS).unwrap_err();
            assert!(matches!(err, ExtractError::Corrupt { .. }), "{err}");
        }
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

    #[test]
    fn normalize_keeps_only_plain_components() {
        assert_eq!(normalize("a/./b//c/").as_deref(), Some("a/b/c"));
        assert_eq!(normalize("./a").as_deref(), Some("a"));
        assert_eq!(normalize("a/../b"), None);
        assert_eq!(normalize("./."), None);
    }
}

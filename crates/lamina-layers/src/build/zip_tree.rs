//! Writes a directory tree as a reproducible ZIP.
//!
//! The bytes depend only on the tree's paths, file contents, symlink targets and whether each
//! file has an execute bit: entries are sorted by name, every timestamp is 1980-01-01 00:00:00,
//! modes are normalised to `0o755` (directories, files with any execute bit) or `0o644`, and
//! files are deflated at a fixed level. Directories are stored as entries of their own, so an
//! empty directory survives the round trip.

use std::fs::{self, File};
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use super::BuildError;

/// Deflate level used for every file, fixed so the output does not depend on a default.
pub const DEFLATE_LEVEL: i64 = 6;

/// Mode of directories and of files with any execute bit on disk.
pub const EXECUTABLE_MODE: u32 = 0o755;

/// Mode of files without an execute bit.
pub const REGULAR_MODE: u32 = 0o644;

/// Mode stored for symlinks (the permission bits of a link are not used on Linux).
pub const SYMLINK_MODE: u32 = 0o777;

/// What [`write_reproducible_zip`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipSummary {
    /// Regular files in the archive.
    pub files: u64,
    /// Directory entries in the archive.
    pub directories: u64,
    /// Symlink entries in the archive.
    pub symlinks: u64,
    /// Total size of the regular files, in bytes, before compression.
    pub unzipped_bytes: u64,
}

/// One entry to write, found by walking the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TreeEntry {
    Dir {
        name: String,
    },
    File {
        name: String,
        path: PathBuf,
        mode: u32,
        size: u64,
    },
    Symlink {
        name: String,
        target: String,
    },
}

impl TreeEntry {
    fn name(&self) -> &str {
        match self {
            Self::Dir { name } | Self::File { name, .. } | Self::Symlink { name, .. } => name,
        }
    }
}

/// Counts the entries [`write_reproducible_zip`] would write for `root`, for progress bars.
///
/// # Errors
/// The same as [`write_reproducible_zip`] for the walk.
pub fn count_entries(root: &Path) -> Result<u64, BuildError> {
    Ok(walk(root)?.len() as u64)
}

/// Writes every file, directory and symlink under `root` (not `root` itself) to `out` as a
/// reproducible ZIP, calling `on_entry` with each entry name after it is written.
///
/// # Errors
/// [`BuildError::Walk`] when the tree cannot be read, [`BuildError::NonUtf8Name`] for a name
/// that is not UTF-8, [`BuildError::SpecialFile`] for a FIFO, socket or device,
/// [`BuildError::EscapingSymlink`] for a symlink that is absolute, dangling or leaves the tree,
/// and [`BuildError::Zip`] when writing fails.
pub fn write_reproducible_zip<W: Write + Seek>(
    root: &Path,
    out: W,
    on_entry: &mut dyn FnMut(&str),
) -> Result<ZipSummary, BuildError> {
    let entries = walk(root)?;
    let mut zip = ZipWriter::new(out);
    let base = SimpleFileOptions::default()
        .last_modified_time(DateTime::default())
        .large_file(false);
    let mut summary = ZipSummary {
        files: 0,
        directories: 0,
        symlinks: 0,
        unzipped_bytes: 0,
    };
    for entry in &entries {
        let zip_err = |source| BuildError::Zip {
            entry: entry.name().to_owned(),
            source,
        };
        match entry {
            TreeEntry::Dir { name } => {
                zip.add_directory(name.as_str(), base.unix_permissions(EXECUTABLE_MODE))
                    .map_err(zip_err)?;
                summary.directories += 1;
            }
            TreeEntry::File {
                name,
                path,
                mode,
                size,
            } => {
                let options = base
                    .compression_method(CompressionMethod::Deflated)
                    .compression_level(Some(DEFLATE_LEVEL))
                    .unix_permissions(*mode)
                    .large_file(*size >= u64::from(u32::MAX));
                zip.start_file(name.as_str(), options).map_err(zip_err)?;
                let mut file = File::open(path).map_err(|source| BuildError::Walk {
                    path: path.clone(),
                    source,
                })?;
                let copied = io::copy(&mut file, &mut zip).map_err(|source| BuildError::Walk {
                    path: path.clone(),
                    source,
                })?;
                summary.files += 1;
                summary.unzipped_bytes += copied;
            }
            TreeEntry::Symlink { name, target } => {
                zip.add_symlink(
                    name.as_str(),
                    target.as_str(),
                    base.unix_permissions(SYMLINK_MODE),
                )
                .map_err(zip_err)?;
                summary.symlinks += 1;
            }
        }
        on_entry(entry.name());
    }
    zip.finish().map_err(|source| BuildError::Zip {
        entry: String::from("(central directory)"),
        source,
    })?;
    Ok(summary)
}

/// Walks `root` and returns its entries sorted by ZIP name (directories end in `/`).
fn walk(root: &Path) -> Result<Vec<TreeEntry>, BuildError> {
    let canonical_root = fs::canonicalize(root).map_err(|source| BuildError::Walk {
        path: root.to_owned(),
        source,
    })?;
    let mut entries = Vec::new();
    let mut pending = vec![(root.to_owned(), String::new())];
    while let Some((dir, prefix)) = pending.pop() {
        let read = fs::read_dir(&dir).map_err(|source| BuildError::Walk {
            path: dir.clone(),
            source,
        })?;
        for item in read {
            let item = item.map_err(|source| BuildError::Walk {
                path: dir.clone(),
                source,
            })?;
            let path = item.path();
            let file_name = item.file_name();
            let Some(file_name) = file_name.to_str() else {
                return Err(BuildError::NonUtf8Name { path });
            };
            let name = format!("{prefix}{file_name}");
            let meta = fs::symlink_metadata(&path).map_err(|source| BuildError::Walk {
                path: path.clone(),
                source,
            })?;
            let kind = meta.file_type();
            if kind.is_dir() {
                entries.push(TreeEntry::Dir {
                    name: format!("{name}/"),
                });
                pending.push((path, format!("{name}/")));
            } else if kind.is_file() {
                let mode = if meta.permissions().mode() & 0o111 != 0 {
                    EXECUTABLE_MODE
                } else {
                    REGULAR_MODE
                };
                entries.push(TreeEntry::File {
                    name,
                    path,
                    mode,
                    size: meta.len(),
                });
            } else if kind.is_symlink() {
                let target = checked_symlink_target(&canonical_root, &path, &name)?;
                entries.push(TreeEntry::Symlink { name, target });
            } else {
                return Err(BuildError::SpecialFile { path });
            }
        }
    }
    entries.sort_by(|a, b| a.name().cmp(b.name()));
    Ok(entries)
}

/// Returns the target of the symlink at `path` (ZIP name `name`) if it is relative, exists,
/// and stays inside the tree both as written and once resolved on disk.
fn checked_symlink_target(
    canonical_root: &Path,
    path: &Path,
    name: &str,
) -> Result<String, BuildError> {
    let escaping = |reason: &str| BuildError::EscapingSymlink {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let target = fs::read_link(path).map_err(|source| BuildError::Walk {
        path: path.to_owned(),
        source,
    })?;
    let Some(target_str) = target.to_str() else {
        return Err(BuildError::NonUtf8Name {
            path: path.to_owned(),
        });
    };
    if target.is_absolute() {
        return Err(escaping("its target is an absolute path"));
    }
    // Lexically: the link's directory inside the tree, then the target's components.
    let mut depth: Vec<&str> = name.split('/').collect();
    depth.pop();
    for component in target.components() {
        match component {
            Component::ParentDir => {
                if depth.pop().is_none() {
                    return Err(escaping("its target leaves the tree"));
                }
            }
            Component::Normal(part) => depth.push(part.to_str().unwrap_or_default()),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    // Physically: through any other symlinks on the way.
    let resolved = fs::canonicalize(path).map_err(|_| escaping("its target does not exist"))?;
    if !resolved.starts_with(canonical_root) {
        return Err(escaping("its target leaves the tree"));
    }
    Ok(target_str.to_owned())
}

/// Hashes a finished archive the way Lambda reports `CodeSha256`: base64 of the SHA-256.
///
/// # Errors
/// The read error of `reader`.
pub fn code_sha256<R: Read>(mut reader: R) -> io::Result<String> {
    use base64::Engine as _;
    use sha2::{Digest, Sha256};

    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(base64::engine::general_purpose::STANDARD.encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;
    use std::os::unix::fs::symlink;

    use super::*;

    fn zip_bytes(root: &Path) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        write_reproducible_zip(root, &mut out, &mut |_| {}).unwrap();
        out.into_inner()
    }

    fn make_tree(root: &Path, exec_mode: u32) {
        fs::create_dir_all(root.join("python/pkg/sub")).unwrap();
        fs::create_dir_all(root.join("python/empty")).unwrap();
        fs::write(root.join("python/pkg/__init__.py"), b"x = 1\n").unwrap();
        fs::write(root.join("python/pkg/sub/data.txt"), vec![b'a'; 10_000]).unwrap();
        fs::write(root.join("python/mod.py"), b"").unwrap();
        fs::create_dir_all(root.join("bin")).unwrap();
        fs::write(root.join("bin/tool"), b"#!/bin/sh\necho hi\n").unwrap();
        fs::set_permissions(root.join("bin/tool"), fs::Permissions::from_mode(exec_mode)).unwrap();
        symlink("pkg/__init__.py", root.join("python/alias.py")).unwrap();
    }

    #[test]
    fn same_tree_twice_gives_identical_bytes() {
        let dir = tempfile::tempdir().unwrap();
        make_tree(dir.path(), 0o755);
        assert_eq!(zip_bytes(dir.path()), zip_bytes(dir.path()));
    }

    #[test]
    fn mtimes_permissions_and_creation_order_do_not_matter() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        make_tree(a.path(), 0o755);
        // Created in another order, with other modes and mtimes.
        fs::create_dir_all(b.path().join("bin")).unwrap();
        fs::write(b.path().join("bin/tool"), b"#!/bin/sh\necho hi\n").unwrap();
        fs::set_permissions(b.path().join("bin/tool"), fs::Permissions::from_mode(0o700)).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        make_tree_rest(b.path());
        fs::set_permissions(
            b.path().join("python/mod.py"),
            fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        fs::set_permissions(
            b.path().join("python/pkg"),
            fs::Permissions::from_mode(0o700),
        )
        .unwrap();
        assert_eq!(zip_bytes(a.path()), zip_bytes(b.path()));
    }

    fn make_tree_rest(root: &Path) {
        fs::create_dir_all(root.join("python/empty")).unwrap();
        fs::create_dir_all(root.join("python/pkg/sub")).unwrap();
        fs::write(root.join("python/mod.py"), b"").unwrap();
        fs::write(root.join("python/pkg/sub/data.txt"), vec![b'a'; 10_000]).unwrap();
        fs::write(root.join("python/pkg/__init__.py"), b"x = 1\n").unwrap();
        symlink("pkg/__init__.py", root.join("python/alias.py")).unwrap();
    }

    #[test]
    fn entries_are_sorted_with_normalised_modes_and_fixed_times() {
        let dir = tempfile::tempdir().unwrap();
        make_tree(dir.path(), 0o744);
        let bytes = zip_bytes(dir.path());
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut names = Vec::new();
        for i in 0..archive.len() {
            let entry = archive.by_index(i).unwrap();
            let name = entry.name().unwrap().into_owned();
            let mode = entry.unix_mode().unwrap() & 0o777;
            let expected = if entry.is_symlink() {
                SYMLINK_MODE
            } else if entry.is_dir() || name == "bin/tool" {
                EXECUTABLE_MODE
            } else {
                REGULAR_MODE
            };
            assert_eq!(mode, expected, "{name}");
            assert_eq!(entry.last_modified(), Some(DateTime::default()), "{name}");
            names.push(name);
        }
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert!(names.contains(&String::from("python/empty/")));
        assert!(names.contains(&String::from("python/alias.py")));
    }

    #[test]
    fn symlinks_leaving_the_tree_are_refused() {
        for target in ["../../outside", "/etc/passwd", "missing"] {
            let dir = tempfile::tempdir().unwrap();
            fs::create_dir_all(dir.path().join("python")).unwrap();
            symlink(target, dir.path().join("python/link")).unwrap();
            let err = write_reproducible_zip(dir.path(), Cursor::new(Vec::new()), &mut |_| {})
                .unwrap_err();
            assert!(
                matches!(err, BuildError::EscapingSymlink { .. }),
                "{target}: {err}"
            );
        }
    }

    #[test]
    fn symlink_through_a_directory_link_to_the_parent_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        symlink(".", dir.path().join("here")).unwrap();
        symlink("here/..", dir.path().join("up")).unwrap();
        let err =
            write_reproducible_zip(dir.path(), Cursor::new(Vec::new()), &mut |_| {}).unwrap_err();
        assert!(matches!(err, BuildError::EscapingSymlink { .. }), "{err}");
    }

    #[test]
    fn code_sha256_is_base64_of_sha256() {
        // SHA-256 of the empty input.
        assert_eq!(
            code_sha256(&b""[..]).unwrap(),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }
}

//! Writing the tree: directories parents first, then regular files inflated by a small pool of
//! workers, each created with its final mode.

use std::collections::BTreeSet;
use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread;

use zip::ZipArchive;

use super::entries::{Entry, Kind};
use super::inflate::{InflateBudget, copy_entry};
use super::positional_reader::PositionalReader;
use super::{ExtractError, io_at};

/// Threads inflating regular files.
const WORKERS: usize = 2;

/// Output buffer of one worker, in bytes.
const COPY_BUF_BYTES: usize = 256 * 1024;

/// Mode of extracted directories and executable files.
const MODE_EXECUTABLE: u32 = 0o755;

/// Mode of extracted non-executable files.
const MODE_REGULAR: u32 = 0o644;

/// Creates the directories, parents first.
pub(super) fn create_dirs(
    dest: &Path,
    dirs: &BTreeSet<&str>,
    fix_modes: bool,
) -> Result<(), ExtractError> {
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

/// Inflates the regular files with `WORKERS` threads and returns the bytes written.
///
/// An entry that inflates to other than its declared size does not stop the others: only
/// once every entry has been inflated (within the budget) is it known whether the archive is
/// too large, which is the more useful thing to tell, or merely inconsistent.
pub(super) fn write_files(
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

/// Whether the process umask clears bits of 0o755, so created files and directories need an
/// explicit `chmod` to get their documented mode. Read once per extraction; if it cannot be
/// read, assume it does.
pub(super) fn umask_masks_modes() -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return true;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("Umask:"))
        .and_then(|mask| u32::from_str_radix(mask.trim(), 8).ok())
        .is_none_or(|mask| mask & MODE_EXECUTABLE != 0)
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::io::Write as _;

    use zip::CompressionMethod;
    use zip::ZipWriter;
    use zip::write::SimpleFileOptions;

    use super::*;
    use crate::extract::entries::S_IFREG;
    use crate::extract::test_support::{Fixture, LIMITS, Raw, pseudo_random_bytes, raw_zip};
    use crate::extract::{Extracted, extract_zip};

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
}

//! `--code DIR|ZIP`: a ZIP file as it is, or a directory zipped in memory, reproducibly.

use std::io::{Cursor, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// The bytes to upload for `path`: the file itself if it is a ZIP, else the directory zipped.
pub(crate) fn load_code(path: &Path) -> anyhow::Result<Vec<u8>> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if meta.is_dir() {
        return zip_dir(path);
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if !bytes.starts_with(b"PK") {
        bail!("{} is neither a directory nor a ZIP file", path.display());
    }
    Ok(bytes)
}

/// Zips the tree under `root`, with entries in byte order of their paths, a fixed timestamp
/// and modes reduced to 0644/0755, so the same tree always gives the same ZIP (and the same
/// `CodeSha256`). Relative symlinks are kept as symlinks; other file types are refused.
pub(crate) fn zip_dir(root: &Path) -> anyhow::Result<Vec<u8>> {
    let mut entries = Vec::new();
    walk(root, Path::new(""), &mut entries)?;
    entries.sort_by(|a, b| a.0.as_os_str().cmp(b.0.as_os_str()));
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let base = SimpleFileOptions::default().last_modified_time(DateTime::default());
    for (relative, kind) in entries {
        let name = relative
            .to_str()
            .with_context(|| format!("{} is not valid UTF-8", relative.display()))?;
        let full = root.join(&relative);
        match kind {
            Kind::Dir => writer.add_directory(format!("{name}/"), base.unix_permissions(0o755))?,
            Kind::File { executable } => {
                let mode = if executable { 0o755 } else { 0o644 };
                let options = base
                    .compression_method(CompressionMethod::Deflated)
                    .unix_permissions(mode);
                writer.start_file(name, options)?;
                let bytes =
                    std::fs::read(&full).with_context(|| format!("reading {}", full.display()))?;
                writer.write_all(&bytes)?;
            }
            Kind::Symlink(target) => {
                let target = target
                    .to_str()
                    .with_context(|| format!("{} is not valid UTF-8", target.display()))?;
                writer.add_symlink(name, target, base.unix_permissions(0o777))?;
            }
        }
    }
    Ok(writer.finish()?.into_inner())
}

enum Kind {
    Dir,
    File { executable: bool },
    Symlink(PathBuf),
}

fn walk(root: &Path, relative: &Path, out: &mut Vec<(PathBuf, Kind)>) -> anyhow::Result<()> {
    let dir = root.join(relative);
    let listing = std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))?;
    for entry in listing {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        let path = relative.join(entry.file_name());
        let meta = std::fs::symlink_metadata(entry.path())
            .with_context(|| format!("reading {}", entry.path().display()))?;
        let kind = meta.file_type();
        if kind.is_dir() {
            out.push((path.clone(), Kind::Dir));
            walk(root, &path, out)?;
        } else if kind.is_file() {
            let executable = meta.permissions().mode() & 0o111 != 0;
            out.push((path, Kind::File { executable }));
        } else if kind.is_symlink() {
            let target = std::fs::read_link(entry.path())?;
            if target.is_absolute() {
                bail!(
                    "{} is a symlink to an absolute path, which would not resolve inside the \
                     function",
                    entry.path().display()
                );
            }
            out.push((path, Kind::Symlink(target)));
        } else {
            bail!(
                "{} is not a file, directory or symlink",
                entry.path().display()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_tree_gives_the_same_zip_with_sorted_entries() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("pkg")).unwrap();
        std::fs::write(dir.path().join("pkg/b.py"), "b").unwrap();
        std::fs::write(dir.path().join("a.py"), "a").unwrap();
        std::fs::write(dir.path().join("run.sh"), "#!/bin/sh").unwrap();
        std::fs::set_permissions(
            dir.path().join("run.sh"),
            std::fs::Permissions::from_mode(0o700),
        )
        .unwrap();
        let first = zip_dir(dir.path()).unwrap();
        assert_eq!(first, zip_dir(dir.path()).unwrap());
        let mut archive = zip::ZipArchive::new(Cursor::new(first)).unwrap();
        let names: Vec<String> = archive
            .file_names()
            .map(|n| n.unwrap().into_owned())
            .collect();
        assert_eq!(names, ["a.py", "pkg/", "pkg/b.py", "run.sh"]);
        let mode = archive.by_name("run.sh").unwrap().unix_mode().unwrap();
        assert_eq!(mode & 0o777, 0o755);
    }

    #[test]
    fn a_file_that_is_not_a_zip_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("code.txt");
        std::fs::write(&path, "print(1)").unwrap();
        assert!(load_code(&path).is_err());
    }
}

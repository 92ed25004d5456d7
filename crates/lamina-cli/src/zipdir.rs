//! `--code DIR|ZIP`: a ZIP file as it is, or a directory zipped in memory, reproducibly.

use std::io::Cursor;
use std::path::Path;

use anyhow::{Context as _, bail};
use lamina_layers::build::write_reproducible_zip;

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

/// Zips the tree under `root` reproducibly (the layer builder's writer: sorted entries, a fixed
/// timestamp, modes 0644/0755), so the same tree always gives the same `CodeSha256`.
pub(crate) fn zip_dir(root: &Path) -> anyhow::Result<Vec<u8>> {
    let mut out = Cursor::new(Vec::new());
    write_reproducible_zip(root, &mut out, &mut |_| {})
        .with_context(|| format!("zipping {}", root.display()))?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

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

//! The merged `/opt` for environments that cannot mount an overlay (no isolation): a tree
//! of symlinks into the layer trees, later layers winning, built once per layer set.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The merged view of `layers` (in function order) under `views_dir`, built if missing.
/// With no layers it is an empty directory; with one, the layer's own tree.
pub fn merged_view(views_dir: &Path, layers: &[PathBuf], key: &str) -> io::Result<PathBuf> {
    if let [only] = layers {
        return Ok(only.clone());
    }
    let target = views_dir.join(key);
    if target.is_dir() {
        return Ok(target);
    }
    fs::create_dir_all(views_dir)?;
    let staging = tempfile::Builder::new()
        .prefix(".view-")
        .tempdir_in(views_dir)?;
    for layer in layers {
        link_tree(layer, staging.path())?;
    }
    let staged = staging.keep();
    match fs::rename(&staged, &target) {
        Ok(()) => Ok(target),
        // Another environment built the same view first.
        Err(_) if target.is_dir() => {
            let _ = fs::remove_dir_all(&staged);
            Ok(target)
        }
        Err(e) => Err(e),
    }
}

/// Mirrors `from` into `to` as directories plus symlinks to files, replacing what an
/// earlier layer put at the same path.
fn link_tree(from: &Path, to: &Path) -> io::Result<()> {
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let (source, dest) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if dest.is_symlink() || dest.is_file() {
                fs::remove_file(&dest)?;
            }
            fs::create_dir_all(&dest)?;
            link_tree(&source, &dest)?;
        } else {
            if dest.is_dir() && !dest.is_symlink() {
                fs::remove_dir_all(&dest)?;
            } else if dest.symlink_metadata().is_ok() {
                fs::remove_file(&dest)?;
            }
            std::os::unix::fs::symlink(&source, &dest)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_layers_win() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        for (layer, text) in [(&a, "a"), (&b, "b")] {
            fs::create_dir_all(layer.join("python")).unwrap();
            fs::write(layer.join("python/which.py"), text).unwrap();
        }
        fs::write(a.join("python/only_a.py"), "a").unwrap();
        let view = merged_view(&dir.path().join("views"), &[a.clone(), b], "k").unwrap();
        assert_eq!(
            fs::read_to_string(view.join("python/which.py")).unwrap(),
            "b"
        );
        assert_eq!(
            fs::read_to_string(view.join("python/only_a.py")).unwrap(),
            "a"
        );
        assert_eq!(
            merged_view(&dir.path().join("views"), std::slice::from_ref(&a), "x").unwrap(),
            a
        );
    }
}

//! The external extensions of a function: every executable file in `/opt/extensions`, as the
//! function's layers merge there (a later layer's file of the same name wins), in name order.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Where extensions are, inside an environment.
pub const GUEST_DIR: &str = "/opt/extensions";

/// The extensions the merged layers hold: their names, sorted, each with its path as the
/// environment sees it. Files that are not executable are left out (AWS runs only those).
pub fn discover<'a>(layers: impl IntoIterator<Item = &'a Path>) -> Vec<(String, PathBuf)> {
    let mut found = BTreeMap::new();
    for layer in layers {
        let Ok(entries) = std::fs::read_dir(layer.join("extensions")) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            // Follows symlinks, as the exec will; a later layer overrides an earlier file.
            let executable = std::fs::metadata(entry.path())
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
            if executable {
                found.insert(name, true);
            } else {
                found.remove(&name);
            }
        }
    }
    found
        .into_keys()
        .map(|name| {
            let path = Path::new(GUEST_DIR).join(&name);
            (name, path)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dir: &Path, name: &str, mode: u32) {
        let path = dir.join("extensions").join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn executables_of_all_layers_in_name_order_later_layers_winning() {
        let one = tempfile::tempdir().unwrap();
        let two = tempfile::tempdir().unwrap();
        let none = tempfile::tempdir().unwrap();
        file(one.path(), "zeta", 0o755);
        file(one.path(), "alpha", 0o755);
        file(one.path(), "data.txt", 0o644);
        file(one.path(), "hidden", 0o755);
        file(two.path(), "hidden", 0o644);
        file(two.path(), "beta", 0o700);
        let found = discover([one.path(), none.path(), two.path()]);
        let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["alpha", "beta", "zeta"]);
        assert_eq!(found[0].1, Path::new("/opt/extensions/alpha"));
    }
}

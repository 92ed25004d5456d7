//! Symlink entries: reading their targets, and proving that each stays inside the tree when
//! resolved through the other in-archive symlinks.

use std::collections::HashMap;
use std::path::Path;

use lamina_types::limits::MAX_SYMLINK_HOPS;
use zip::ZipArchive;

use super::ExtractError;
use super::entries::{Entry, Kind};
use super::inflate::{InflateBudget, copy_entry};
use super::plan::Plan;
use super::positional_reader::PositionalReader;

/// Longest symlink target accepted, in bytes (Linux refuses targets of `PATH_MAX` or more).
const MAX_SYMLINK_TARGET_BYTES: u64 = 4095;

/// Work allowed for resolving all the symlinks of one archive, in bytes of path looked up.
/// Real layers use a tiny fraction; it bounds what thousands of hostile chains can cost.
const SYMLINK_RESOLUTION_BUDGET_BYTES: u64 = 1 << 26;

impl Plan<'_> {
    /// Proves every symlink, given its target (same order as `symlinks`), stays in the tree.
    pub(super) fn check_symlinks(&self, targets: &[Vec<u8>]) -> Result<(), ExtractError> {
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
pub(super) fn read_symlink_targets(
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

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::extract::test_support::{Fixture, LIMITS, Raw, raw_zip, refused};

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
}

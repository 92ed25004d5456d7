//! The validated archive as a plan: duplicate names and path conflicts between entries, and
//! what each phase creates.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};

use super::ExtractError;
use super::entries::{Entry, Kind};

/// The validated archive, split into what each phase writes.
pub(super) struct Plan<'e> {
    entries: &'e [Entry],
    /// Entry position by normalised path.
    by_path: HashMap<&'e str, usize>,
    /// Every directory to create, explicit or implied; parents sort before children.
    pub(super) dirs: BTreeSet<&'e str>,
    /// Regular files, largest first, so the workers finish together.
    pub(super) files: Vec<&'e Entry>,
    /// Symlinks in archive order.
    pub(super) symlinks: Vec<&'e Entry>,
}

impl<'e> Plan<'e> {
    /// Finds duplicates and conflicts between entries, and lists what to create.
    pub(super) fn new(entries: &'e [Entry]) -> Result<Self, ExtractError> {
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

    /// The entry at a normalised path, if the archive has one.
    pub(super) fn lookup(&self, path: &[u8]) -> Option<&'e Entry> {
        let path = std::str::from_utf8(path).ok()?;
        self.by_path
            .get(path)
            .and_then(|&position| self.entries.get(position))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::test_support::{Raw, refused};

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
}

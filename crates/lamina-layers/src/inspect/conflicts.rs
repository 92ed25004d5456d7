//! Which files and modules several sources (the function's code and its layers) provide more
//! than once, and which one the function sees.
//!
//! Rules:
//! - Layers are stacked at `/opt` in the function's order, later on top (overlayfs): the same
//!   path from two layers is the later layer's. A file against a directory is a conflict too.
//! - Python searches `/var/task`, then `/opt/python/lib/pythonX.Y/site-packages`, then
//!   `/opt/python`; the first entry that has a regular module of the name wins, and within
//!   one entry the merged directory is searched like any other (package, then extension, then
//!   `.py`). Namespace portions alone merge and are not a conflict.
//! - The loader searches `/var/task/lib` before `/opt/lib`, so a library in both is the code's.

use std::collections::BTreeMap;

use crate::build::PythonVersion;

use super::InspectError;
use super::archive::{Archive, EntryKind};
use super::python::{Candidate, ModuleKind, precedence, top_level_modules};

/// Where a source is mounted in the function's sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mount {
    /// A layer, extracted at `/opt`.
    Opt,
    /// The function's code, extracted at `/var/task`.
    Task,
}

impl Mount {
    /// The mount point, without a trailing slash.
    pub fn root(self) -> &'static str {
        match self {
            Self::Opt => "/opt",
            Self::Task => "/var/task",
        }
    }
}

/// A ZIP the function sees, with a label for messages (a layer ARN, `code`).
#[derive(Debug, Clone)]
pub struct Source {
    /// How messages name it.
    pub label: String,
    /// The ZIP's bytes.
    pub zip: Vec<u8>,
    /// Where it is mounted.
    pub mount: Mount,
}

/// A path or module provided more than once.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Conflict {
    /// `/opt/python/which.py`, `module which` or `library libfoo.so.1`.
    pub what: String,
    /// The labels of the sources providing it, in the order of the sources given.
    pub providers: Vec<String>,
    /// Where each provider has it (absolute paths in the sandbox), in the same order.
    pub paths: Vec<String>,
    /// The label of the source the function sees it from.
    pub winner: String,
    /// The path the function sees it at.
    pub winner_path: String,
}

/// One provider of a module, with the place it was found.
#[derive(Debug, Clone)]
struct Provider {
    source: usize,
    /// Position of its directory on `sys.path`.
    entry: usize,
    candidate: Candidate,
}

/// The `sys.path` directories a source contributes: (position on `sys.path`, archive dir,
/// child directories that are not modules).
pub fn sys_path_dirs(
    mount: Mount,
    version: PythonVersion,
) -> Vec<(usize, String, Vec<&'static str>)> {
    match mount {
        Mount::Task => vec![(0, String::new(), vec![])],
        Mount::Opt => vec![
            (
                1,
                format!("python/lib/python{version}/site-packages"),
                vec![],
            ),
            (2, String::from("python"), vec!["lib"]),
        ],
    }
}

/// The files and modules that `sources` (in the function's order: layers as configured, the
/// code anywhere) provide more than once, modules first, each list sorted.
///
/// # Errors
/// [`InspectError::UnsupportedRuntime`] for a runtime that is not `pythonX.Y`, or the error
/// of a source that is not a readable ZIP.
pub fn conflicts(runtime: &str, sources: &[Source]) -> Result<Vec<Conflict>, InspectError> {
    let version =
        PythonVersion::from_runtime(runtime).ok_or_else(|| InspectError::UnsupportedRuntime {
            runtime: runtime.to_owned(),
        })?;
    let archives = sources
        .iter()
        .map(|s| {
            Archive::read(&s.zip).map_err(|e| InspectError::Source {
                label: s.label.clone(),
                source: Box::new(e),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mounts: Vec<Mount> = sources.iter().map(|s| s.mount).collect();
    let mut out = module_conflicts(version, sources, &mounts, &archives);
    let covered: Vec<String> = out.iter().flat_map(|c| c.paths.clone()).collect();
    out.extend(
        path_conflicts(sources, &mounts, &archives)
            .into_iter()
            .filter(|c| !covered.contains(&c.what)),
    );
    out.extend(library_conflicts(sources, &mounts, &archives));
    Ok(out)
}

/// Module conflicts, computed on already-read archives (also used by `inspect`).
pub(crate) fn module_conflicts(
    version: PythonVersion,
    sources: &[Source],
    mounts: &[Mount],
    archives: &[Archive],
) -> Vec<Conflict> {
    let mut by_name: BTreeMap<String, Vec<Provider>> = BTreeMap::new();
    for (source, (archive, mount)) in archives.iter().zip(mounts).enumerate() {
        for (entry, dir, skip) in sys_path_dirs(*mount, version) {
            for candidate in top_level_modules(archive, &dir, version, &skip) {
                by_name
                    .entry(candidate.name.clone())
                    .or_default()
                    .push(Provider {
                        source,
                        entry,
                        candidate,
                    });
            }
        }
    }
    let mut out = Vec::new();
    for (name, providers) in by_name {
        if providers.len() < 2
            || providers
                .iter()
                .all(|p| p.candidate.kind == ModuleKind::Namespace)
        {
            continue;
        }
        let Some(winner) = module_winner(&providers) else {
            continue;
        };
        let abs = |p: &Provider| absolute(mounts[p.source], &p.candidate.path);
        out.push(Conflict {
            what: format!("module {name}"),
            providers: providers
                .iter()
                .map(|p| sources[p.source].label.clone())
                .collect(),
            paths: providers.iter().map(abs).collect(),
            winner: sources[winner.source].label.clone(),
            winner_path: abs(winner),
        });
    }
    out
}

/// The provider Python imports: the first `sys.path` entry with a regular module; within it
/// the best kind; among equals, the later source (the upper overlay layer).
fn module_winner(providers: &[Provider]) -> Option<&Provider> {
    let first_entry = providers
        .iter()
        .filter(|p| p.candidate.kind != ModuleKind::Namespace)
        .map(|p| p.entry)
        .min()?;
    providers
        .iter()
        .filter(|p| p.entry == first_entry && p.candidate.kind != ModuleKind::Namespace)
        .min_by(|a, b| {
            precedence(&a.candidate)
                .cmp(&precedence(&b.candidate))
                .then(b.source.cmp(&a.source))
        })
}

/// The same path under `/opt` from more than one layer.
fn path_conflicts(sources: &[Source], mounts: &[Mount], archives: &[Archive]) -> Vec<Conflict> {
    let mut by_path: BTreeMap<&str, Vec<(usize, EntryKind)>> = BTreeMap::new();
    for (source, (archive, mount)) in archives.iter().zip(mounts).enumerate() {
        if *mount != Mount::Opt {
            continue;
        }
        for entry in &archive.entries {
            by_path
                .entry(entry.name.as_str())
                .or_default()
                .push((source, entry.kind));
        }
    }
    by_path
        .into_iter()
        .filter(|(_, v)| v.len() > 1 && v.iter().any(|(_, k)| *k != EntryKind::Dir))
        .filter_map(|(path, v)| {
            let (last, _) = *v.last()?;
            let abs = absolute(Mount::Opt, path);
            Some(Conflict {
                what: abs.clone(),
                providers: v.iter().map(|(s, _)| sources[*s].label.clone()).collect(),
                paths: vec![abs.clone(); v.len()],
                winner: sources[last].label.clone(),
                winner_path: abs,
            })
        })
        .collect()
}

/// The same library file name in the code's `lib/` and a layer's `lib/`, or in two layers'
/// `lib/` (already a path conflict, so only code-against-layer is reported here).
fn library_conflicts(sources: &[Source], mounts: &[Mount], archives: &[Archive]) -> Vec<Conflict> {
    let mut by_name: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (source, archive) in archives.iter().enumerate() {
        for entry in archive.children("lib") {
            let base = &entry.name["lib/".len()..];
            if entry.kind != EntryKind::Dir && (base.ends_with(".so") || base.contains(".so.")) {
                by_name.entry(base.to_owned()).or_default().push(source);
            }
        }
    }
    by_name
        .into_iter()
        .filter(|(_, v)| {
            v.iter().any(|s| mounts[*s] == Mount::Task)
                && v.iter().any(|s| mounts[*s] == Mount::Opt)
        })
        .filter_map(|(name, v)| {
            // /var/task/lib comes before /opt/lib on LD_LIBRARY_PATH; among layers, the top.
            let winner = v
                .iter()
                .copied()
                .find(|s| mounts[*s] == Mount::Task)
                .or_else(|| v.last().copied())?;
            let path_of = |s: usize| absolute(mounts[s], &format!("lib/{name}"));
            Some(Conflict {
                what: format!("library {name}"),
                providers: v.iter().map(|s| sources[*s].label.clone()).collect(),
                paths: v.iter().map(|s| path_of(*s)).collect(),
                winner: sources[winner].label.clone(),
                winner_path: path_of(winner),
            })
        })
        .collect()
}

/// `/opt/<path>` or `/var/task/<path>`.
pub fn absolute(mount: Mount, path: &str) -> String {
    if path.is_empty() {
        mount.root().to_owned()
    } else {
        format!("{}/{path}", mount.root())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::test_support::zip_of;

    fn layer(label: &str, files: &[(&str, &[u8])]) -> Source {
        Source {
            label: label.to_owned(),
            zip: zip_of(files),
            mount: Mount::Opt,
        }
    }

    #[test]
    fn the_later_layer_wins_for_the_same_module_file() {
        let sources = [
            layer("layer-a", &[("python/which.py", b"A = 1")]),
            layer("layer-b", &[("python/which.py", b"B = 1")]),
        ];
        let found = conflicts("python3.12", &sources).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        let c = &found[0];
        assert_eq!(c.what, "module which");
        assert_eq!(c.providers, ["layer-a", "layer-b"]);
        assert_eq!(c.winner, "layer-b");
        assert_eq!(c.winner_path, "/opt/python/which.py");
    }

    #[test]
    fn the_code_beats_every_layer() {
        let sources = [
            layer("layer-a", &[("python/which.py", b"A = 1")]),
            Source {
                label: String::from("code"),
                zip: zip_of(&[("which.py", b"C = 1"), ("handler.py", b"")]),
                mount: Mount::Task,
            },
            layer(
                "layer-b",
                &[("python/lib/python3.12/site-packages/which/__init__.py", b"")],
            ),
        ];
        let found = conflicts("python3.12", &sources).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].winner, "code");
        assert_eq!(found[0].winner_path, "/var/task/which.py");
        assert_eq!(found[0].providers, ["layer-a", "code", "layer-b"]);
    }

    #[test]
    fn site_packages_beats_python_and_a_package_beats_a_module() {
        let sources = [
            layer("a", &[("python/lib/python3.12/site-packages/m.py", b"")]),
            layer("b", &[("python/m.py", b"")]),
        ];
        let found = conflicts("python3.12", &sources).unwrap();
        assert_eq!(found[0].winner, "a");
        // In one directory, the package wins even from the lower layer.
        let sources = [
            layer("a", &[("python/m/__init__.py", b"")]),
            layer("b", &[("python/m.py", b"")]),
        ];
        let found = conflicts("python3.12", &sources).unwrap();
        assert_eq!(found[0].winner, "a");
        assert_eq!(found[0].winner_path, "/opt/python/m/__init__.py");
        // Site-packages of another Python version is not on sys.path.
        let sources = [
            layer("a", &[("python/lib/python3.9/site-packages/m.py", b"")]),
            layer("b", &[("python/m.py", b"")]),
        ];
        assert_eq!(conflicts("python3.12", &sources).unwrap(), vec![]);
    }

    #[test]
    fn namespace_portions_merge_but_files_inside_conflict() {
        let sources = [
            layer(
                "a",
                &[("python/ns/one.py", b""), ("python/ns/same.py", b"a")],
            ),
            layer(
                "b",
                &[("python/ns/two.py", b""), ("python/ns/same.py", b"b")],
            ),
        ];
        let found = conflicts("python3.12", &sources).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].what, "/opt/python/ns/same.py");
        assert_eq!(found[0].winner, "b");
    }

    #[test]
    fn bin_files_and_libraries_conflict() {
        let sources = [
            layer("a", &[("bin/tool", b"a"), ("lib/libx.so.1", b"a")]),
            Source {
                label: String::from("code"),
                zip: zip_of(&[("lib/libx.so.1", b"c")]),
                mount: Mount::Task,
            },
            layer("b", &[("bin/tool", b"b")]),
        ];
        let found = conflicts("python3.12", &sources).unwrap();
        let whats: Vec<&str> = found.iter().map(|c| c.what.as_str()).collect();
        assert_eq!(whats, ["/opt/bin/tool", "library libx.so.1"]);
        assert_eq!(found[0].winner, "b");
        assert_eq!(found[1].winner, "code");
    }

    #[test]
    fn a_broken_source_is_named() {
        let sources = [Source {
            label: String::from("bad-layer"),
            zip: b"not a zip".to_vec(),
            mount: Mount::Opt,
        }];
        let err = conflicts("python3.12", &sources).unwrap_err();
        assert!(err.to_string().contains("bad-layer"), "{err}");
    }
}

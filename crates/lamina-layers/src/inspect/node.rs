//! What a Node.js runtime finds in a layer: the packages in the `node_modules` directories
//! `NODE_PATH` names (`/opt/nodejs/nodeNN/node_modules`, then `/opt/nodejs/node_modules`), with
//! the versions their `package.json` gives, and the layouts it does not search.

use std::collections::BTreeMap;

use super::archive::{Archive, EntryKind};
use super::{Finding, Severity};

/// Runtime assumed for a layer that has `nodejs/` (or a root `node_modules/`) and says no more.
pub const DEFAULT_NODE_RUNTIME: &str = "nodejs22.x";

/// A package `require`/`import` finds by name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NodePackage {
    /// Its name, `@scope/name` for a scoped one.
    pub name: String,
    /// The `version` of its `package.json`, when it has one.
    pub version: Option<String>,
    /// Its directory, as the runtime sees it (`/opt/nodejs/node_modules/name`).
    pub path: String,
}

/// The archive directories on `NODE_PATH` of Node.js `major`, in search order.
pub fn node_path_dirs(major: u32) -> [String; 2] {
    [
        format!("nodejs/node{major}/node_modules"),
        String::from("nodejs/node_modules"),
    ]
}

/// Whether `name` is the `package.json` of a package directly in a `node_modules` directory
/// (`…/node_modules/pkg/package.json` or `…/node_modules/@scope/pkg/package.json`), whose
/// contents the archive reader keeps.
pub fn is_package_manifest(name: &str) -> bool {
    let Some(dir) = name.strip_suffix("/package.json") else {
        return false;
    };
    let Some((parent, pkg)) = dir.rsplit_once('/') else {
        return false;
    };
    if pkg.starts_with('.') {
        return false;
    }
    if parent == "node_modules" || parent.ends_with("/node_modules") {
        return !pkg.starts_with('@');
    }
    let Some((grand, scope)) = parent.rsplit_once('/') else {
        return false;
    };
    scope.starts_with('@') && (grand == "node_modules" || grand.ends_with("/node_modules"))
}

/// The packages of the `node_modules` directory `dir`, by name.
fn packages_in(archive: &Archive, dir: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for entry in archive.children(dir) {
        if entry.kind == EntryKind::File {
            continue;
        }
        let base = &entry.name[dir.len() + 1..];
        if base.starts_with('.') {
            continue;
        }
        if base.starts_with('@') {
            for scoped in archive.children(&entry.name) {
                if scoped.kind != EntryKind::File {
                    let name = &scoped.name[dir.len() + 1..];
                    found.push((name.to_owned(), scoped.name.clone()));
                }
            }
        } else {
            found.push((base.to_owned(), entry.name.clone()));
        }
    }
    found
}

/// The `version` of the package at archive directory `dir`.
fn version_of(archive: &Archive, dir: &str) -> Option<String> {
    let manifest = archive.get(&format!("{dir}/package.json"))?;
    let json: serde_json::Value = serde_json::from_slice(&manifest.head).ok()?;
    Some(json.get("version")?.as_str()?.to_owned())
}

/// The packages a Node.js `major` runtime finds in the layer: per name, the first on
/// `NODE_PATH`; sorted by name.
pub fn visible_packages(archive: &Archive, major: u32) -> Vec<NodePackage> {
    let mut by_name: BTreeMap<String, NodePackage> = BTreeMap::new();
    for dir in node_path_dirs(major) {
        for (name, path) in packages_in(archive, &dir) {
            by_name.entry(name.clone()).or_insert_with(|| NodePackage {
                version: version_of(archive, &path),
                name,
                path: format!("/opt/{path}"),
            });
        }
    }
    by_name.into_values().collect()
}

/// `nodejsNN.x` of the only `nodejs/nodeNN` directory, else [`DEFAULT_NODE_RUNTIME`] when the
/// layer has `nodejs/` or a root `node_modules/` and no `python/`; `None` otherwise.
pub fn infer_node_runtime(archive: &Archive) -> Option<String> {
    if archive.is_dir("python") || !(archive.is_dir("nodejs") || archive.is_dir("node_modules")) {
        return None;
    }
    let versions: Vec<u32> = archive
        .children("nodejs")
        .filter(|e| e.kind == EntryKind::Dir)
        .filter_map(|e| versioned_dir(&e.name))
        .collect();
    Some(match versions.as_slice() {
        [only] => format!("nodejs{only}.x"),
        _ => String::from(DEFAULT_NODE_RUNTIME),
    })
}

/// `NN` of `nodejs/nodeNN`.
fn versioned_dir(name: &str) -> Option<u32> {
    name.strip_prefix("nodejs/node")?.parse().ok()
}

/// Layout, shadowing and native-build findings for a Node.js `major` runtime.
pub fn node_findings(
    archive: &Archive,
    major: u32,
    packages: &[NodePackage],
    findings: &mut Vec<Finding>,
) {
    const WHY: &str = "Lambda puts layers at /opt, and Node.js finds packages in \
                       /opt/nodejs/node_modules and /opt/nodejs/nodeNN/node_modules (NODE_PATH)";
    if archive.is_dir("node_modules") {
        findings.push(Finding {
            severity: Severity::Error,
            path: Some(String::from("node_modules/")),
            message: format!(
                "node_modules/ is at the root of the ZIP: {WHY}, not /opt/node_modules — move it \
                 to nodejs/node_modules/"
            ),
        });
    }
    for entry in archive.children("nodejs") {
        let name = entry.name.as_str();
        let base = &name["nodejs/".len()..];
        match entry.kind {
            EntryKind::Dir if base == "node_modules" => {}
            EntryKind::Dir => {
                if let Some(other) = versioned_dir(name) {
                    if other != major && archive.is_dir(&format!("{name}/node_modules")) {
                        findings.push(Finding {
                            severity: Severity::Warning,
                            path: Some(format!("{name}/node_modules/")),
                            message: format!(
                                "{name}/node_modules/ is not on NODE_PATH of nodejs{major}.x: its \
                                 packages will not be found (use nodejs/node_modules/ to work \
                                 with every Node.js version)"
                            ),
                        });
                    }
                } else if archive.get(&format!("{name}/package.json")).is_some() {
                    findings.push(Finding {
                        severity: Severity::Error,
                        path: Some(format!("{name}/")),
                        message: format!(
                            "package {name}/ is outside node_modules: {WHY} — move it to \
                             nodejs/node_modules/{base}/"
                        ),
                    });
                }
            }
            EntryKind::File | EntryKind::Symlink => {
                if [".js", ".mjs", ".cjs"]
                    .iter()
                    .any(|ext| base.ends_with(ext))
                {
                    findings.push(Finding {
                        severity: Severity::Warning,
                        path: Some(name.to_owned()),
                        message: format!(
                            "{name} is not in a node_modules directory: require() by name will \
                             not find it ({WHY}) — move it into a package in nodejs/node_modules/"
                        ),
                    });
                }
            }
        }
    }
    let [first, second] = node_path_dirs(major);
    for (name, path) in packages_in(archive, &second) {
        if archive.is_dir(&format!("{first}/{name}")) {
            findings.push(Finding {
                severity: Severity::Warning,
                path: Some(format!("{path}/")),
                message: format!(
                    "{path}/ is shadowed by /opt/{first}/{name}: {first}/ comes first on NODE_PATH"
                ),
            });
        }
    }
    for package in packages {
        let dir = package.path.trim_start_matches("/opt/");
        let has_gyp = archive.get(&format!("{dir}/binding.gyp")).is_some();
        let built = archive
            .under(dir)
            .any(|e| e.kind == EntryKind::File && e.name.ends_with(".node"));
        if has_gyp && !built {
            findings.push(Finding {
                severity: Severity::Warning,
                path: Some(format!("{dir}/")),
                message: format!(
                    "{} has native code (binding.gyp) but no built .node file: its install \
                     scripts did not run — rebuild the layer with `lamina layer build --scripts`",
                    package.name
                ),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::zip_of;
    use super::*;

    #[test]
    fn package_manifests_are_recognised() {
        for yes in [
            "nodejs/node_modules/ms/package.json",
            "nodejs/node20/node_modules/@aws-sdk/client-s3/package.json",
            "node_modules/x/package.json",
        ] {
            assert!(is_package_manifest(yes), "{yes}");
        }
        for no in [
            "nodejs/package.json",
            "nodejs/node_modules/ms/lib/package.json",
            "nodejs/node_modules/.bin/package.json",
            "nodejs/node_modules/@scope/package.json",
        ] {
            assert!(!is_package_manifest(no), "{no}");
        }
    }

    #[test]
    fn the_versioned_directory_comes_first_and_scopes_are_read() {
        let archive = Archive::read(&zip_of(&[
            (
                "nodejs/node_modules/ms/package.json",
                br#"{"version": "2.1.3"}"#,
            ),
            ("nodejs/node_modules/ms/index.js", b""),
            (
                "nodejs/node20/node_modules/ms/package.json",
                br#"{"version": "3.0.0"}"#,
            ),
            ("nodejs/node_modules/@s/p/index.js", b""),
            ("nodejs/node_modules/.bin/x", b""),
            ("nodejs/node_modules/.package-lock.json", b"{}"),
        ]))
        .unwrap();
        let found = visible_packages(&archive, 20);
        let listed: Vec<(&str, Option<&str>, &str)> = found
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_deref(), p.path.as_str()))
            .collect();
        assert_eq!(
            listed,
            [
                ("@s/p", None, "/opt/nodejs/node_modules/@s/p"),
                ("ms", Some("3.0.0"), "/opt/nodejs/node20/node_modules/ms"),
            ]
        );
        let on_18 = visible_packages(&archive, 18);
        assert_eq!(on_18[1].version.as_deref(), Some("2.1.3"));
    }

    #[test]
    fn the_runtime_is_inferred_from_the_node_directories() {
        let read =
            |files: &[(&str, &[u8])]| infer_node_runtime(&Archive::read(&zip_of(files)).unwrap());
        assert_eq!(
            read(&[("nodejs/node18/node_modules/x/index.js", b"")]).as_deref(),
            Some("nodejs18.x")
        );
        assert_eq!(
            read(&[("nodejs/node_modules/x/index.js", b"")]).as_deref(),
            Some(DEFAULT_NODE_RUNTIME)
        );
        assert_eq!(
            read(&[("node_modules/x/index.js", b"")]).as_deref(),
            Some(DEFAULT_NODE_RUNTIME)
        );
        assert_eq!(read(&[("python/x.py", b""), ("nodejs/x.js", b"")]), None);
        assert_eq!(read(&[("bin/tool", b"")]), None);
    }
}

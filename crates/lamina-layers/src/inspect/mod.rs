//! Analysis of a layer ZIP: what a runtime will see once it is mounted at `/opt`, and what is
//! likely wrong with it. Also [`conflicts`], which compares several ZIPs (the function's code
//! and its layers) for files and modules provided more than once.
//!
//! Nothing here extracts anything: the ZIP is read in memory, and only the first bytes of
//! files that may be ELF binaries are inflated.

use std::collections::BTreeMap;

use lamina_types::limits::{MAX_UNZIPPED_BYTES, MAX_ZIPPED_BYTES};
use lamina_types::runtime::Architecture;

use crate::build::pip::machine;
use crate::build::{PythonVersion, node_major};

pub mod archive;
pub mod conflicts;
pub mod node;
pub mod python;
#[cfg(test)]
mod test_support;

pub use archive::{Archive, EM_AARCH64, EM_X86_64, elf_machine};
pub use conflicts::{Conflict, Mount, Source, conflicts};
pub use node::NodePackage;
pub use python::ModuleKind;

use self::archive::{EntryKind, machine_name};
use self::python::{STDLIB_MODULES, extension_tag, is_python_file, top_level_modules};

/// Runtime assumed when none is given and the ZIP does not tell.
pub const DEFAULT_RUNTIME: &str = "python3.12";

/// Top-level directories of a layer that Lambda runtimes use for something other than Python
/// modules, so Python files in them are not misplaced modules.
const NON_PYTHON_DIRS: [&str; 7] = [
    "python",
    "bin",
    "lib",
    "extensions",
    "nodejs",
    "java",
    "ruby",
];

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Probably wrong, but the layer can work.
    Warning,
    /// The layer will not work as intended; `lamina layer inspect` exits with 1.
    Error,
}

/// Something likely wrong with the layer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// How serious it is.
    pub severity: Severity,
    /// The archive path it is about, if it is about one.
    pub path: Option<String>,
    /// What is wrong and what to do, as a sentence without a trailing period.
    pub message: String,
}

/// A top-level module the runtime can import from the layer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Module {
    /// The import name.
    pub name: String,
    /// How it is provided.
    pub kind: ModuleKind,
    /// Where the runtime finds it (`/opt/python/...`).
    pub path: String,
}

/// What [`inspect`] found.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Inspection {
    /// The runtime the analysis assumed.
    pub runtime: String,
    /// Whether the runtime was inferred rather than given.
    pub runtime_inferred: bool,
    /// The architecture the analysis assumed (`x86_64` or `arm64`).
    pub arch: String,
    /// Importable top-level Python modules, by name.
    pub modules: Vec<Module>,
    /// Node.js packages `require`/`import` finds by name, by name.
    pub node_packages: Vec<NodePackage>,
    /// Executables on `PATH` (`/opt/bin/*`).
    pub tools: Vec<String>,
    /// Shared libraries on `LD_LIBRARY_PATH` (`/opt/lib/*.so*`).
    pub libraries: Vec<String>,
    /// Lambda extensions (`/opt/extensions/*`).
    pub extensions: Vec<String>,
    /// `/opt/bootstrap`, when the layer ships a custom runtime.
    pub bootstrap: Option<String>,
    /// Number of files and symlinks.
    pub files: u64,
    /// Size of the ZIP in bytes.
    pub zipped_bytes: u64,
    /// Total size of its files in bytes.
    pub unzipped_bytes: u64,
    /// `unzipped_bytes` as a share of the 250 MB limit for a function and its layers.
    pub share_of_unzipped_limit: f64,
    /// What is likely wrong, errors first.
    pub findings: Vec<Finding>,
}

impl Inspection {
    /// Whether any finding is an [`Severity::Error`].
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }
}

/// Why a ZIP could not be inspected.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// The bytes are not a ZIP.
    #[error("not a zip archive: {reason}")]
    NotAZip {
        /// What the reader found wrong.
        reason: String,
    },
    /// An entry could not be read.
    #[error("cannot read zip entry #{index}: {reason}")]
    Entry {
        /// Its position in the central directory.
        index: usize,
        /// What the reader found wrong.
        reason: String,
    },
    /// An entry name is absolute or climbs out with `..`.
    #[error("zip entry {name:?} has an absolute path or climbs out with ..")]
    UnsafeName {
        /// The name as stored.
        name: String,
    },
    /// The runtime is not a Python runtime where one is needed.
    #[error("runtime {runtime} is not a python runtime (expected pythonX.Y, e.g. python3.12)")]
    UnsupportedRuntime {
        /// The runtime given.
        runtime: String,
    },
    /// One of several sources could not be read.
    #[error("{label}: {source}")]
    Source {
        /// The source's label.
        label: String,
        /// Why.
        source: Box<InspectError>,
    },
}

/// Analyses a layer ZIP for `runtime` (`None`: inferred from a `python/lib/pythonX.Y` directory
/// or extension tags, else from `nodejs/` ([`node::infer_node_runtime`]), else
/// [`DEFAULT_RUNTIME`]) on `arch`. `pythonX.Y` runtimes get the Python analysis, `nodejsNN.x`
/// ones the Node.js one, and every runtime the tools, libraries, bootstrap and size checks.
///
/// # Errors
/// [`InspectError`] when the ZIP cannot be read.
pub fn inspect(
    zip: &[u8],
    runtime: Option<&str>,
    arch: Architecture,
) -> Result<Inspection, InspectError> {
    let archive = Archive::read(zip)?;
    let (runtime, runtime_inferred) = match runtime {
        Some(r) => (r.to_owned(), false),
        None => (infer_runtime(&archive), true),
    };
    let version = PythonVersion::from_runtime(&runtime);
    let mut findings = Vec::new();
    let mut modules = Vec::new();
    let mut node_packages = Vec::new();
    if let Some(version) = version {
        modules = visible_modules(&archive, version);
        layout_findings(&archive, version, &mut findings);
        shadow_findings(&archive, version, &modules, &mut findings);
        python_version_findings(&archive, version, &mut findings);
    }
    if let Some(major) = node_major(&runtime) {
        node_packages = node::visible_packages(&archive, major);
        node::node_findings(&archive, major, &node_packages, &mut findings);
    }
    arch_findings(&archive, arch, &mut findings);
    size_findings(zip.len() as u64, archive.unzipped_bytes, &mut findings);
    // Stable: errors first, then by path, keeping each check's order among equals.
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.path.cmp(&b.path)));

    let listed = |dir: &str, keep: &dyn Fn(&str) -> bool| -> Vec<String> {
        archive
            .children(dir)
            .filter(|e| e.kind != EntryKind::Dir && keep(&e.name[dir.len() + 1..]))
            .map(|e| format!("/opt/{}", e.name))
            .collect()
    };
    Ok(Inspection {
        runtime,
        runtime_inferred,
        arch: match arch {
            Architecture::X86_64 => String::from("x86_64"),
            Architecture::Arm64 => String::from("arm64"),
        },
        modules,
        node_packages,
        tools: listed("bin", &|_| true),
        libraries: listed("lib", &|n| n.ends_with(".so") || n.contains(".so.")),
        extensions: listed("extensions", &|_| true),
        bootstrap: archive
            .get("bootstrap")
            .filter(|e| e.kind != EntryKind::Dir)
            .map(|_| String::from("/opt/bootstrap")),
        files: archive
            .entries
            .iter()
            .filter(|e| e.kind != EntryKind::Dir)
            .count() as u64,
        zipped_bytes: zip.len() as u64,
        unzipped_bytes: archive.unzipped_bytes,
        share_of_unzipped_limit: crate::build::share_of(archive.unzipped_bytes, MAX_UNZIPPED_BYTES),
        findings,
    })
}

/// `pythonX.Y` of the only `python/lib/pythonX.Y` directory, else of the extension tags when
/// they agree, else a Node.js runtime for a `nodejs/` layer, else [`DEFAULT_RUNTIME`].
fn infer_runtime(archive: &Archive) -> String {
    let lib_versions: Vec<PythonVersion> = archive
        .children("python/lib")
        .filter(|e| e.kind == EntryKind::Dir)
        .filter_map(|e| PythonVersion::parse(e.name.strip_prefix("python/lib/python")?))
        .collect();
    if let [only] = lib_versions.as_slice() {
        return format!("python{only}");
    }
    let mut tagged = archive
        .entries
        .iter()
        .filter_map(|e| extension_tag(e.name.rsplit('/').next()?)?.version);
    if let Some(first) = tagged.next()
        && tagged.all(|v| v == first)
    {
        return format!("python{first}");
    }
    node::infer_node_runtime(archive).unwrap_or_else(|| String::from(DEFAULT_RUNTIME))
}

/// The modules Python imports from the layer: per name, the first on `sys.path`.
fn visible_modules(archive: &Archive, version: PythonVersion) -> Vec<Module> {
    let mut by_name: BTreeMap<String, Module> = BTreeMap::new();
    for (_, dir, skip) in conflicts::sys_path_dirs(Mount::Opt, version) {
        for c in top_level_modules(archive, &dir, version, &skip) {
            match by_name.get(&c.name) {
                Some(m) if m.kind != ModuleKind::Namespace => {}
                _ => {
                    by_name.insert(
                        c.name.clone(),
                        Module {
                            name: c.name,
                            kind: c.kind,
                            path: conflicts::absolute(Mount::Opt, &c.path),
                        },
                    );
                }
            }
        }
    }
    by_name.into_values().collect()
}

/// Errors for Python modules outside `python/`, warnings for another version's site-packages.
fn layout_findings(archive: &Archive, version: PythonVersion, findings: &mut Vec<Finding>) {
    const WHY: &str = "Lambda puts layers at /opt, and Python looks in /opt/python";
    for entry in archive.children("") {
        let name = entry.name.as_str();
        let misplaced = match entry.kind {
            EntryKind::File | EntryKind::Symlink => is_python_file(name).then(|| {
                format!("{name} is at the root of the ZIP: {WHY} — move it to python/{name}")
            }),
            EntryKind::Dir if name == "site-packages" => Some(format!(
                "site-packages/ is at the root of the ZIP: {WHY} — move its contents to python/"
            )),
            EntryKind::Dir if name == "lib" => {
                // lib/pythonX.Y/site-packages zipped without the python/ prefix.
                let stray: Vec<&str> = archive
                    .children("lib")
                    .filter(|e| e.kind == EntryKind::Dir && e.name.starts_with("lib/python"))
                    .filter(|e| archive.under(&e.name).any(|f| is_python_file(&f.name)))
                    .map(|e| e.name.as_str())
                    .collect();
                for dir in stray {
                    findings.push(Finding {
                        severity: Severity::Error,
                        path: Some(format!("{dir}/")),
                        message: format!(
                            "{dir}/ is outside python/: {WHY} — move it to python/{dir}/"
                        ),
                    });
                }
                None
            }
            EntryKind::Dir if NON_PYTHON_DIRS.contains(&name) => None,
            EntryKind::Dir => {
                let has_python = archive
                    .under(name)
                    .any(|e| e.kind != EntryKind::Dir && is_python_file(&e.name));
                let is_package = archive.get(&format!("{name}/__init__.py")).is_some();
                if is_package {
                    Some(format!(
                        "package {name}/ is at the root of the ZIP: {WHY} — move it to python/{name}/"
                    ))
                } else if has_python {
                    Some(format!(
                        "{name}/ holds Python files outside python/: {WHY} — move it to python/{name}/"
                    ))
                } else {
                    None
                }
            }
        };
        if let Some(message) = misplaced {
            let path = if entry.kind == EntryKind::Dir {
                format!("{name}/")
            } else {
                name.to_owned()
            };
            findings.push(Finding {
                severity: Severity::Error,
                path: Some(path),
                message,
            });
        }
    }
    for entry in archive.children("python/lib") {
        let Some(other) = entry
            .name
            .strip_prefix("python/lib/python")
            .and_then(PythonVersion::parse)
        else {
            continue;
        };
        if entry.kind == EntryKind::Dir && other != version {
            findings.push(Finding {
                severity: Severity::Warning,
                path: Some(format!("{}/", entry.name)),
                message: format!(
                    "{}/ is not on sys.path of python{version}: its modules will not import \
                     (use python/ to work with every Python version)",
                    entry.name
                ),
            });
        }
    }
}

/// Warnings for modules the layer itself shadows, and for standard library names.
fn shadow_findings(
    archive: &Archive,
    version: PythonVersion,
    modules: &[Module],
    findings: &mut Vec<Finding>,
) {
    let site = format!("python/lib/python{version}/site-packages");
    for site_module in top_level_modules(archive, &site, version, &[]) {
        let shadowed = top_level_modules(archive, "python", version, &["lib"])
            .into_iter()
            .find(|c| c.name == site_module.name && site_module.kind != ModuleKind::Namespace);
        if let Some(lower) = shadowed {
            findings.push(Finding {
                severity: Severity::Warning,
                path: Some(lower.path.clone()),
                message: format!(
                    "{} is shadowed by {}: {site}/ comes first on sys.path",
                    lower.path, site_module.path
                ),
            });
        }
    }
    for module in modules {
        if STDLIB_MODULES.binary_search(&module.name.as_str()).is_ok() {
            findings.push(Finding {
                severity: Severity::Warning,
                path: Some(module.path.trim_start_matches("/opt/").to_owned()),
                message: format!(
                    "{} has the name of a standard library module: /opt/python comes before \
                     the standard library on sys.path, so `import {}` may load it instead",
                    module.path, module.name
                ),
            });
        }
    }
}

/// Warnings for extension modules built for another Python version.
fn python_version_findings(archive: &Archive, version: PythonVersion, findings: &mut Vec<Finding>) {
    let mut by_version: BTreeMap<PythonVersion, Vec<&str>> = BTreeMap::new();
    for entry in archive.under("python") {
        let base = entry.name.rsplit('/').next().unwrap_or_default();
        if let Some(other) = extension_tag(base).and_then(|t| t.version)
            && other != version
        {
            by_version.entry(other).or_default().push(&entry.name);
        }
    }
    for (other, files) in by_version {
        findings.push(Finding {
            severity: Severity::Warning,
            path: files.first().map(|f| (*f).to_owned()),
            message: format!(
                "{} built for Python {other}, but the runtime is python{version}: {} will not \
                 import ({}); rebuild with --runtime python{version}",
                count_files(files.len(), "extension module is", "extension modules are"),
                if files.len() == 1 { "it" } else { "they" },
                list_some(&files),
            ),
        });
    }
}

/// Warnings for ELF files built for another machine than `arch`.
fn arch_findings(archive: &Archive, arch: Architecture, findings: &mut Vec<Finding>) {
    let want = match arch {
        Architecture::X86_64 => EM_X86_64,
        Architecture::Arm64 => EM_AARCH64,
    };
    let mut by_machine: BTreeMap<u16, Vec<&str>> = BTreeMap::new();
    for entry in &archive.entries {
        if let Some(m) = elf_machine(&entry.head)
            && m != want
        {
            by_machine.entry(m).or_default().push(&entry.name);
        }
    }
    let arch_name = match arch {
        Architecture::X86_64 => "x86_64",
        Architecture::Arm64 => "arm64",
    };
    for (m, files) in by_machine {
        findings.push(Finding {
            severity: Severity::Warning,
            path: files.first().map(|f| (*f).to_owned()),
            message: format!(
                "{} built for {}, but the function runs on {arch_name} ({}): {}",
                count_files(files.len(), "native file is", "native files are"),
                machine_name(m),
                machine(arch),
                list_some(&files),
            ),
        });
    }
}

/// Size against the direct-upload and unzipped limits.
fn size_findings(zipped: u64, unzipped: u64, findings: &mut Vec<Finding>) {
    if unzipped > MAX_UNZIPPED_BYTES {
        findings.push(Finding {
            severity: Severity::Error,
            path: None,
            message: format!(
                "unzipped size {unzipped} bytes is over the limit of {MAX_UNZIPPED_BYTES} bytes \
                 (250 MB) for a function and all its layers"
            ),
        });
    }
    if zipped > MAX_ZIPPED_BYTES {
        findings.push(Finding {
            severity: Severity::Warning,
            path: None,
            message: format!(
                "zipped size {zipped} bytes is over the limit of {MAX_ZIPPED_BYTES} bytes \
                 (50 MB) for a direct upload"
            ),
        });
    }
}

/// "1 native file is" / "3 native files are".
fn count_files(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Up to three names, then how many more.
fn list_some(files: &[&str]) -> String {
    let shown: Vec<&str> = files.iter().take(3).copied().collect();
    let mut out = shown.join(", ");
    if files.len() > shown.len() {
        out.push_str(&format!(" and {} more", files.len() - shown.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::test_support::{elf_head, zip_of};
    use super::*;

    fn run(files: &[(&str, &[u8])], runtime: Option<&str>, arch: Architecture) -> Inspection {
        inspect(&zip_of(files), runtime, arch).unwrap()
    }

    #[test]
    fn a_module_at_the_root_is_an_error_naming_python() {
        let report = run(&[("mymod.py", b"x = 1")], None, Architecture::X86_64);
        assert!(report.has_errors());
        let f = &report.findings[0];
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(f.path.as_deref(), Some("mymod.py"));
        assert!(
            f.message.contains("move it to python/mymod.py"),
            "{}",
            f.message
        );
        assert!(report.modules.is_empty());
    }

    #[test]
    fn packages_and_stray_site_packages_are_errors() {
        let report = run(
            &[
                ("mypkg/__init__.py", b""),
                ("lib/python3.12/site-packages/requests/__init__.py", b""),
                ("site-packages/idna/__init__.py", b""),
                ("nodejs/node_modules/x/index.py", b""),
            ],
            Some("python3.12"),
            Architecture::X86_64,
        );
        let errors: Vec<&str> = report
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| f.path.as_deref().unwrap())
            .collect();
        assert_eq!(
            errors,
            ["lib/python3.12/", "mypkg/", "site-packages/"],
            "{:?}",
            report.findings
        );
        assert!(
            report
                .findings
                .iter()
                .all(|f| f.message.contains("python/"))
        );
    }

    #[test]
    fn a_well_formed_layer_lists_what_the_runtime_sees() {
        let so = elf_head(EM_X86_64);
        let report = run(
            &[
                ("python/requests/__init__.py", b""),
                ("python/requests-2.34.2.dist-info/METADATA", b""),
                ("python/six.py", b""),
                ("python/ns/part.py", b""),
                ("python/bin/normalizer", b"#!/usr/bin/python"),
                (
                    "python/lib/python3.12/site-packages/fast.cpython-312-x86_64-linux-gnu.so",
                    &so,
                ),
                ("bin/jq", &so),
                ("lib/libjq.so.1", &so),
                ("bootstrap", b"#!/bin/sh"),
            ],
            None,
            Architecture::X86_64,
        );
        assert_eq!(report.runtime, "python3.12");
        assert!(report.runtime_inferred);
        let names: Vec<(&str, ModuleKind)> = report
            .modules
            .iter()
            .map(|m| (m.name.as_str(), m.kind))
            .collect();
        assert_eq!(
            names,
            [
                ("fast", ModuleKind::Extension),
                ("ns", ModuleKind::Namespace),
                ("requests", ModuleKind::Package),
                ("six", ModuleKind::Source),
            ]
        );
        assert_eq!(report.tools, ["/opt/bin/jq"]);
        assert_eq!(report.libraries, ["/opt/lib/libjq.so.1"]);
        assert_eq!(report.bootstrap.as_deref(), Some("/opt/bootstrap"));
        assert_eq!(report.findings, vec![]);
    }

    #[test]
    fn an_aarch64_extension_on_x86_64_is_a_warning() {
        let so = elf_head(EM_AARCH64);
        let files: &[(&str, &[u8])] = &[(
            "python/charset_normalizer/md.cpython-312-aarch64-linux-gnu.so",
            &so,
        )];
        let report = run(files, Some("python3.12"), Architecture::X86_64);
        assert!(!report.has_errors());
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        assert_eq!(report.findings[0].severity, Severity::Warning);
        assert!(report.findings[0].message.contains("aarch64"));
        assert_eq!(
            run(files, Some("python3.12"), Architecture::Arm64).findings,
            vec![]
        );
    }

    #[test]
    fn an_extension_for_another_python_is_a_warning_but_abi3_is_fine() {
        let so = elf_head(EM_X86_64);
        let report = run(
            &[
                ("python/old/_speedups.cpython-39-x86_64-linux-gnu.so", &so),
                ("python/old/__init__.py", b""),
                ("python/good/_x.abi3.so", &so),
                ("python/good/__init__.py", b""),
            ],
            Some("python3.12"),
            Architecture::X86_64,
        );
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        assert_eq!(report.findings[0].severity, Severity::Warning);
        assert!(report.findings[0].message.contains("Python 3.9"));
        assert!(report.findings[0].message.contains("python3.12"));
    }

    #[test]
    fn shadowing_inside_the_layer_and_of_the_stdlib_is_a_warning() {
        let report = run(
            &[
                ("python/dup.py", b""),
                ("python/lib/python3.12/site-packages/dup.py", b""),
                ("python/typing.py", b""),
                ("python/lib/python3.9/site-packages/x.py", b""),
            ],
            Some("python3.12"),
            Architecture::X86_64,
        );
        let paths: Vec<&str> = report
            .findings
            .iter()
            .map(|f| f.path.as_deref().unwrap())
            .collect();
        assert_eq!(
            paths,
            ["python/dup.py", "python/lib/python3.9/", "python/typing.py"],
            "{:?}",
            report.findings
        );
        let dup = report.modules.iter().find(|m| m.name == "dup").unwrap();
        assert_eq!(dup.path, "/opt/python/lib/python3.12/site-packages/dup.py");
    }

    #[test]
    fn non_python_runtimes_skip_the_python_checks() {
        let report = run(
            &[("mymod.py", b"")],
            Some("provided.al2023"),
            Architecture::X86_64,
        );
        assert_eq!(report.findings, vec![]);
    }

    #[test]
    fn a_node_layer_lists_its_packages_with_their_versions() {
        let addon = elf_head(EM_AARCH64);
        let report = run(
            &[
                ("nodejs/package.json", b"{}"),
                (
                    "nodejs/node_modules/is-number/package.json",
                    br#"{"name": "is-number", "version": "7.0.0"}"#,
                ),
                ("nodejs/node_modules/is-number/index.js", b""),
                (
                    "nodejs/node_modules/@aws/x/package.json",
                    br#"{"version": "1.2.3"}"#,
                ),
                ("nodejs/node_modules/@aws/x/build/Release/x.node", &addon),
            ],
            None,
            Architecture::X86_64,
        );
        assert_eq!(report.runtime, node::DEFAULT_NODE_RUNTIME);
        assert!(report.runtime_inferred);
        assert!(report.modules.is_empty());
        let names: Vec<(&str, Option<&str>)> = report
            .node_packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_deref()))
            .collect();
        assert_eq!(
            names,
            [("@aws/x", Some("1.2.3")), ("is-number", Some("7.0.0"))]
        );
        // The one finding: the addon is built for aarch64.
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        assert!(report.findings[0].message.contains("aarch64"));
    }

    #[test]
    fn misplaced_node_layouts_are_found() {
        let report = run(
            &[
                ("node_modules/ms/package.json", br#"{"version": "2.1.3"}"#),
                ("nodejs/left-pad/package.json", b"{}"),
                ("nodejs/helper.js", b""),
                ("nodejs/node18/node_modules/old/index.js", b""),
                ("nodejs/node_modules/dup/index.js", b""),
                ("nodejs/node20/node_modules/dup/index.js", b""),
                ("nodejs/node_modules/native/binding.gyp", b""),
            ],
            Some("nodejs20.x"),
            Architecture::X86_64,
        );
        let found: Vec<(Severity, &str)> = report
            .findings
            .iter()
            .map(|f| (f.severity, f.path.as_deref().unwrap()))
            .collect();
        assert_eq!(
            found,
            [
                (Severity::Error, "node_modules/"),
                (Severity::Error, "nodejs/left-pad/"),
                (Severity::Warning, "nodejs/helper.js"),
                (Severity::Warning, "nodejs/node18/node_modules/"),
                (Severity::Warning, "nodejs/node_modules/dup/"),
                (Severity::Warning, "nodejs/node_modules/native/"),
            ],
            "{:#?}",
            report.findings
        );
        assert!(
            report.findings[0]
                .message
                .contains("move it to nodejs/node_modules/")
        );
        assert!(report.findings[5].message.contains("--scripts"));
        let dup = report
            .node_packages
            .iter()
            .find(|p| p.name == "dup")
            .unwrap();
        assert_eq!(dup.path, "/opt/nodejs/node20/node_modules/dup");
    }

    #[test]
    fn not_a_zip_is_an_error() {
        assert!(matches!(
            inspect(b"nope", None, Architecture::X86_64),
            Err(InspectError::NotAZip { .. })
        ));
    }
}

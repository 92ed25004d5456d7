//! Which top-level modules a directory of the archive makes importable, following the rules
//! of CPython's `FileFinder`: in one directory a package (`name/__init__.py`) beats an
//! extension module, which beats a `.py` file; a directory without `__init__` is a namespace
//! portion, used only when no regular module of that name is found on all of `sys.path`.

use crate::build::PythonVersion;

use super::archive::{Archive, EntryKind};

/// How a top-level module is provided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ModuleKind {
    /// A directory with `__init__.py`.
    Package,
    /// A compiled extension module (`name.cpython-312-x86_64-linux-gnu.so`, `name.abi3.so`).
    Extension,
    /// A `name.py` file.
    Source,
    /// A directory without `__init__.py` holding Python files (a namespace package portion).
    Namespace,
}

impl ModuleKind {
    /// How the kind reads in a sentence.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Package => "package",
            Self::Extension => "extension module",
            Self::Source => "module",
            Self::Namespace => "namespace package",
        }
    }
}

/// One top-level module a directory provides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The import name.
    pub name: String,
    /// How it is provided.
    pub kind: ModuleKind,
    /// The archive path that defines it: `pkg/__init__.py`, `mod.py`, `ext.abi3.so`, or
    /// `pkg` for a namespace portion.
    pub path: String,
    /// For extensions, the rank of the suffix in the import system's search order (lower is
    /// tried first); 0 otherwise.
    pub suffix_rank: u8,
}

/// What an extension file name says about its build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionTag<'a> {
    /// The module name before the first dot.
    pub module: &'a str,
    /// The CPython version of a `cpython-3XY-...` tag; `None` for `abi3` and untagged.
    pub version: Option<PythonVersion>,
    /// The platform part of a `cpython-3XY-<platform>` tag, such as `x86_64-linux-gnu`.
    pub platform: Option<&'a str>,
    /// Suffix rank: 0 for `cpython-3XY-*`, 1 for `abi3`, 2 for a bare `.so`.
    pub rank: u8,
}

/// Parses `name.cpython-312-x86_64-linux-gnu.so`, `name.abi3.so` or `name.so`.
pub fn extension_tag(file_name: &str) -> Option<ExtensionTag<'_>> {
    let stem = file_name.strip_suffix(".so")?;
    let (module, tag) = match stem.split_once('.') {
        Some((module, tag)) => (module, Some(tag)),
        None => (stem, None),
    };
    if !is_identifier(module) {
        return None;
    }
    match tag {
        None => Some(ExtensionTag {
            module,
            version: None,
            platform: None,
            rank: 2,
        }),
        Some("abi3") => Some(ExtensionTag {
            module,
            version: None,
            platform: None,
            rank: 1,
        }),
        Some(tag) => {
            let rest = tag.strip_prefix("cpython-")?;
            let (digits, platform) = rest.split_once('-').unwrap_or((rest, ""));
            let minor = digits.strip_prefix('3')?.parse().ok()?;
            Some(ExtensionTag {
                module,
                version: Some(PythonVersion { major: 3, minor }),
                platform: (!platform.is_empty()).then_some(platform),
                rank: 0,
            })
        }
    }
}

/// Whether `s` can be an import name.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}

/// Whether a file name is Python code or an extension module.
pub fn is_python_file(file_name: &str) -> bool {
    file_name.ends_with(".py") || extension_tag(file_name).is_some_and(|t| t.rank < 2)
}

/// The top-level modules importable from the archive directory `dir` (`""` for the root) by
/// Python `version`, one per name: the one `FileFinder` picks within that directory.
/// `skip` names child directories that are not modules (such as `lib` under `python/`).
pub fn top_level_modules(
    archive: &Archive,
    dir: &str,
    version: PythonVersion,
    skip: &[&str],
) -> Vec<Candidate> {
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let mut found: Vec<Candidate> = Vec::new();
    for child in archive.children(dir) {
        let base = &child.name[prefix.len()..];
        let candidate = match child.kind {
            EntryKind::Dir => {
                if skip.contains(&base) || !is_identifier(base) {
                    continue;
                }
                let init = format!("{}/__init__.py", child.name);
                if archive.get(&init).is_some() {
                    Candidate {
                        name: base.to_owned(),
                        kind: ModuleKind::Package,
                        path: init,
                        suffix_rank: 0,
                    }
                } else if archive.under(&child.name).any(|e| {
                    e.kind != EntryKind::Dir
                        && is_python_file(e.name.rsplit('/').next().unwrap_or_default())
                }) {
                    Candidate {
                        name: base.to_owned(),
                        kind: ModuleKind::Namespace,
                        path: child.name.clone(),
                        suffix_rank: 0,
                    }
                } else {
                    continue;
                }
            }
            EntryKind::File | EntryKind::Symlink => {
                if let Some(module) = base.strip_suffix(".py").filter(|m| is_identifier(m)) {
                    Candidate {
                        name: module.to_owned(),
                        kind: ModuleKind::Source,
                        path: child.name.clone(),
                        suffix_rank: 0,
                    }
                } else if let Some(tag) =
                    extension_tag(base).filter(|t| t.version.is_none_or(|v| v == version))
                {
                    Candidate {
                        name: tag.module.to_owned(),
                        kind: ModuleKind::Extension,
                        path: child.name.clone(),
                        suffix_rank: tag.rank,
                    }
                } else {
                    continue;
                }
            }
        };
        match found.iter_mut().find(|c| c.name == candidate.name) {
            Some(existing) if precedence(&candidate) < precedence(existing) => {
                *existing = candidate;
            }
            Some(_) => {}
            None => found.push(candidate),
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

/// Order of preference within one directory: lower wins.
pub fn precedence(c: &Candidate) -> (ModuleKind, u8) {
    (c.kind, c.suffix_rank)
}

/// Standard library modules that live on `sys.path` (not built in), by their top-level name,
/// for Python 3.12. A layer module of the same name in `/opt/python` comes first on `sys.path`.
pub const STDLIB_MODULES: [&str; 196] = [
    "abc",
    "aifc",
    "antigravity",
    "argparse",
    "array",
    "ast",
    "asyncio",
    "audioop",
    "base64",
    "bdb",
    "binascii",
    "bisect",
    "bz2",
    "cProfile",
    "calendar",
    "cgi",
    "cgitb",
    "chunk",
    "cmath",
    "cmd",
    "code",
    "codecs",
    "codeop",
    "collections",
    "colorsys",
    "compileall",
    "concurrent",
    "configparser",
    "contextlib",
    "contextvars",
    "copy",
    "copyreg",
    "crypt",
    "csv",
    "ctypes",
    "curses",
    "dataclasses",
    "datetime",
    "dbm",
    "decimal",
    "difflib",
    "dis",
    "doctest",
    "email",
    "encodings",
    "ensurepip",
    "enum",
    "fcntl",
    "filecmp",
    "fileinput",
    "fnmatch",
    "fractions",
    "ftplib",
    "functools",
    "genericpath",
    "getopt",
    "getpass",
    "gettext",
    "glob",
    "graphlib",
    "grp",
    "gzip",
    "hashlib",
    "heapq",
    "hmac",
    "html",
    "http",
    "idlelib",
    "imaplib",
    "imghdr",
    "importlib",
    "inspect",
    "io",
    "ipaddress",
    "json",
    "keyword",
    "lib2to3",
    "linecache",
    "locale",
    "logging",
    "lzma",
    "mailbox",
    "mailcap",
    "math",
    "mimetypes",
    "mmap",
    "modulefinder",
    "multiprocessing",
    "netrc",
    "nis",
    "nntplib",
    "ntpath",
    "nturl2path",
    "numbers",
    "opcode",
    "operator",
    "optparse",
    "os",
    "ossaudiodev",
    "pathlib",
    "pdb",
    "pickle",
    "pickletools",
    "pipes",
    "pkgutil",
    "platform",
    "plistlib",
    "poplib",
    "posixpath",
    "pprint",
    "profile",
    "pstats",
    "pty",
    "py_compile",
    "pyclbr",
    "pydoc",
    "pydoc_data",
    "pyexpat",
    "queue",
    "quopri",
    "random",
    "re",
    "readline",
    "reprlib",
    "resource",
    "rlcompleter",
    "runpy",
    "sched",
    "secrets",
    "select",
    "selectors",
    "shelve",
    "shlex",
    "shutil",
    "signal",
    "site",
    "smtplib",
    "sndhdr",
    "socket",
    "socketserver",
    "spwd",
    "sqlite3",
    "sre_compile",
    "sre_constants",
    "sre_parse",
    "ssl",
    "stat",
    "statistics",
    "string",
    "stringprep",
    "struct",
    "subprocess",
    "sunau",
    "symtable",
    "sysconfig",
    "syslog",
    "tabnanny",
    "tarfile",
    "telnetlib",
    "tempfile",
    "termios",
    "textwrap",
    "this",
    "threading",
    "timeit",
    "tkinter",
    "token",
    "tokenize",
    "tomllib",
    "trace",
    "traceback",
    "tracemalloc",
    "tty",
    "turtle",
    "turtledemo",
    "types",
    "typing",
    "unicodedata",
    "unittest",
    "urllib",
    "uu",
    "uuid",
    "venv",
    "warnings",
    "wave",
    "weakref",
    "webbrowser",
    "wsgiref",
    "xdrlib",
    "xml",
    "xmlrpc",
    "zipapp",
    "zipfile",
    "zipimport",
    "zlib",
    "zoneinfo",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_tags_parse() {
        let t = extension_tag("md.cpython-39-x86_64-linux-gnu.so").unwrap();
        assert_eq!(t.module, "md");
        assert_eq!(t.version, PythonVersion::parse("3.9"));
        assert_eq!(t.platform, Some("x86_64-linux-gnu"));
        let t = extension_tag("_speedups.abi3.so").unwrap();
        assert_eq!((t.module, t.version, t.rank), ("_speedups", None, 1));
        assert_eq!(extension_tag("libfoo.so.1"), None);
        assert_eq!(extension_tag("lib-foo.so"), None);
    }

    #[test]
    fn identifiers() {
        assert!(is_identifier("charset_normalizer"));
        assert!(!is_identifier("charset-normalizer"));
        assert!(!is_identifier("requests-2.34.dist-info"));
        assert!(!is_identifier("1abc"));
    }

    #[test]
    fn stdlib_list_is_sorted_and_has_the_usual_suspects() {
        assert!(STDLIB_MODULES.is_sorted());
        for name in ["typing", "enum", "dataclasses", "json"] {
            assert!(STDLIB_MODULES.contains(&name), "{name}");
        }
    }
}

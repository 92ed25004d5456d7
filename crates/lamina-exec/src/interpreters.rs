//! Which interpreter runs each Python and Node.js runtime on this machine.
//!
//! Discovered once at start: exact `python3.X` first (Debian's `/usr/bin`, `/usr/local/bin`,
//! pyenv's versions), the nearest other 3.x otherwise. Shims are never used: they cost tens of
//! milliseconds per start and hide the real prefix we mount at `/var/lang`. Node.js runtimes
//! work the same way by major version (`node_interpreters`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lamina_types::runtime::SUPPORTED_RUNTIMES;

/// One usable interpreter: `prefix/bin/pythonX.Y` or `prefix/bin/node`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interpreter {
    /// `X.Y` (Python) or `X.Y.Z` (Node.js).
    pub version: String,
    /// The installation prefix (mounted at `/var/lang`).
    pub prefix: PathBuf,
    /// The executable, relative to the prefix: `bin/pythonX.Y`, `bin/node`.
    pub executable: PathBuf,
}

/// How a runtime maps onto an interpreter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// The interpreter used.
    pub interpreter: Interpreter,
    /// Whether it is another version than the runtime names (a warning for the log).
    pub substituted: bool,
}

/// The interpreters found on this machine: Python by `X.Y`, Node.js by major version.
#[derive(Debug, Clone, Default)]
pub struct Interpreters {
    by_version: BTreeMap<(u32, u32), Interpreter>,
    node_by_major: BTreeMap<u32, Interpreter>,
}

const PYTHON_MINORS: std::ops::RangeInclusive<u32> = 6..=15;

impl Interpreters {
    /// Looks in the standard places for `python3.6` … `python3.15`.
    pub fn discover() -> Self {
        let mut roots: Vec<PathBuf> = vec!["/usr".into(), "/usr/local".into()];
        let pyenv = std::env::var_os("PYENV_ROOT")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".pyenv")));
        if let Some(versions) = pyenv.map(|p| p.join("versions"))
            && let Ok(entries) = std::fs::read_dir(versions)
        {
            let mut found: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            found.sort();
            roots.extend(found);
        }
        let mut by_version = BTreeMap::new();
        for root in roots {
            for minor in PYTHON_MINORS {
                let executable = PathBuf::from(format!("bin/python3.{minor}"));
                if is_executable(&root.join(&executable)) {
                    // First found wins: the system interpreter over pyenv's.
                    by_version.entry((3, minor)).or_insert_with(|| Interpreter {
                        version: format!("3.{minor}"),
                        prefix: root.clone(),
                        executable,
                    });
                }
            }
        }
        Self {
            by_version,
            node_by_major: crate::node_interpreters::discover(),
        }
    }

    /// The interpreter for a `pythonX.Y` or `nodejsNN.x` runtime: exact, else the nearest
    /// version (the newer one on a tie). `None` if the runtime is neither or none was found.
    pub fn resolve(&self, runtime: &str) -> Option<Resolution> {
        if let Some(major) = crate::node_interpreters::runtime_major(runtime) {
            return nearest(&self.node_by_major, major);
        }
        let minor: u32 = runtime.strip_prefix("python3.")?.parse().ok()?;
        if let Some(exact) = self.by_version.get(&(3, minor)) {
            return Some(Resolution {
                interpreter: exact.clone(),
                substituted: false,
            });
        }
        self.by_version
            .iter()
            .min_by_key(|((_, m), _)| (m.abs_diff(minor), u32::MAX - m))
            .map(|(_, i)| Resolution {
                interpreter: i.clone(),
                substituted: true,
            })
    }

    /// Every Python interpreter found, oldest first.
    pub fn all(&self) -> impl Iterator<Item = &Interpreter> {
        self.by_version.values()
    }

    /// The interpreters that run some Python runtime AWS supports (exactly or as the nearest
    /// version), oldest first: the only ones a function can run on. An interpreter no such
    /// runtime uses (Python 3.6, say) is found but never prepared or complained about.
    pub fn in_use(&self) -> Vec<&Interpreter> {
        let used: Vec<Interpreter> = SUPPORTED_RUNTIMES
            .iter()
            .filter_map(|runtime| self.resolve(runtime))
            .map(|r| r.interpreter)
            .collect();
        self.by_version
            .values()
            .filter(|i| used.contains(i))
            .collect()
    }
}

/// The interpreter of version `wanted` in `found`, else the nearest (the newer on a tie).
fn nearest(found: &BTreeMap<u32, Interpreter>, wanted: u32) -> Option<Resolution> {
    found
        .iter()
        .min_by_key(|(v, _)| (v.abs_diff(wanted), u32::MAX - **v))
        .map(|(v, i)| Resolution {
            interpreter: i.clone(),
            substituted: *v != wanted,
        })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Interpreters of Python `3.<minor>` for each of `minors`, under `/p<minor>`.
    pub(crate) fn with(minors: &[u32]) -> Interpreters {
        let by_version = minors
            .iter()
            .map(|m| {
                let i = Interpreter {
                    version: format!("3.{m}"),
                    prefix: PathBuf::from(format!("/p{m}")),
                    executable: PathBuf::from(format!("bin/python3.{m}")),
                };
                ((3, *m), i)
            })
            .collect();
        Interpreters {
            by_version,
            node_by_major: BTreeMap::new(),
        }
    }

    fn with_node(majors: &[u32]) -> Interpreters {
        let node_by_major = majors
            .iter()
            .map(|m| {
                let i = Interpreter {
                    version: format!("{m}.1.0"),
                    prefix: PathBuf::from(format!("/n{m}")),
                    executable: PathBuf::from("bin/node"),
                };
                (*m, i)
            })
            .collect();
        Interpreters {
            node_by_major,
            ..with(&[12])
        }
    }

    #[test]
    fn node_runtimes_take_their_major_else_the_nearest() {
        let found = with_node(&[18, 22]);
        let exact = found.resolve("nodejs22.x").unwrap();
        assert!(!exact.substituted);
        assert_eq!(exact.interpreter.prefix, Path::new("/n22"));
        let near = found.resolve("nodejs20.x").unwrap();
        assert!(near.substituted);
        assert_eq!(near.interpreter.prefix, Path::new("/n22"));
        assert_eq!(
            found.resolve("nodejs16.x").unwrap().interpreter.version,
            "18.1.0"
        );
        assert!(with_node(&[]).resolve("nodejs20.x").is_none());
        // Node interpreters never count as Python ones (the bootstrap is byte-compiled for those).
        assert_eq!(versions(&found), ["3.12"]);
    }

    #[test]
    fn exact_then_nearest() {
        let found = with(&[9, 11]);
        let exact = found.resolve("python3.11").unwrap();
        assert!(!exact.substituted);
        assert_eq!(exact.interpreter.version, "3.11");
        let near = found.resolve("python3.12").unwrap();
        assert!(near.substituted);
        assert_eq!(near.interpreter.version, "3.11");
        assert_eq!(
            found.resolve("python3.10").unwrap().interpreter.version,
            "3.11"
        );
        assert!(found.resolve("provided.al2023").is_none());
        assert!(with(&[]).resolve("python3.12").is_none());
    }

    fn versions(found: &Interpreters) -> Vec<&str> {
        found.in_use().iter().map(|i| i.version.as_str()).collect()
    }

    #[test]
    fn only_interpreters_of_supported_runtimes_are_in_use() {
        // 3.6 and 3.7 are no runtime AWS supports; 3.12 also runs python3.13 and 3.14.
        let found = with(&[6, 7, 8, 11, 12]);
        assert_eq!(versions(&found), ["3.8", "3.11", "3.12"]);
    }

    #[test]
    fn an_old_interpreter_is_in_use_when_it_is_the_nearest_there_is() {
        assert_eq!(versions(&with(&[6, 7])), ["3.7"]);
        assert!(versions(&with(&[])).is_empty());
    }
}

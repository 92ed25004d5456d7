//! Which `node` runs each Node.js runtime on this machine.
//!
//! Found once at start in the standard prefixes (`/usr`, `/usr/local`) and nvm's versions.
//! The executable's real path decides the prefix mounted at `/var/lang`, so a
//! `/usr/local/bin/node` that links into another tree still runs inside the sandbox.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::interpreters::Interpreter;

/// Every `node` found, by major version; the first found of a version wins.
pub(crate) fn discover() -> BTreeMap<u32, Interpreter> {
    let mut candidates: Vec<PathBuf> = vec!["/usr/bin/node".into(), "/usr/local/bin/node".into()];
    let nvm = std::env::var_os("NVM_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".nvm")));
    if let Some(versions) = nvm.map(|n| n.join("versions/node"))
        && let Ok(entries) = std::fs::read_dir(versions)
    {
        let mut found: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path().join("bin/node"))
            .collect();
        found.sort();
        candidates.extend(found);
    }
    let mut by_major = BTreeMap::new();
    for candidate in candidates {
        let Some(interpreter) = inspect(&candidate) else {
            continue;
        };
        if let Some(major) = major_of(&interpreter.version) {
            by_major.entry(major).or_insert(interpreter);
        }
    }
    by_major
}

/// The interpreter at `candidate`: its real prefix and its `node --version`.
fn inspect(candidate: &Path) -> Option<Interpreter> {
    let real = std::fs::canonicalize(candidate).ok()?;
    let prefix = real.parent()?.parent()?.to_owned();
    if real.parent()?.file_name()? != "bin" {
        return None;
    }
    let output = Command::new(&real)
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let version = String::from_utf8(output.stdout).ok()?;
    Some(Interpreter {
        version: version.trim().trim_start_matches('v').to_owned(),
        prefix,
        executable: Path::new("bin").join(real.file_name()?),
    })
}

/// `20` of `20.11.1`.
pub(crate) fn major_of(version: &str) -> Option<u32> {
    version.split('.').next()?.parse().ok()
}

/// The major version a `nodejsNN.x` runtime names.
pub(crate) fn runtime_major(runtime: &str) -> Option<u32> {
    runtime
        .strip_prefix("nodejs")?
        .strip_suffix(".x")?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_runtimes_give_their_major() {
        assert_eq!(major_of("20.20.2"), Some(20));
        assert_eq!(major_of("x"), None);
        assert_eq!(runtime_major("nodejs22.x"), Some(22));
        assert_eq!(runtime_major("nodejs4.3"), None);
        assert_eq!(runtime_major("python3.12"), None);
    }

    #[test]
    fn the_node_on_this_machine_is_found_with_its_prefix() {
        // The e2e machines have Debian's /usr/bin/node; elsewhere nothing may be found.
        let found = discover();
        if Path::new("/usr/bin/node").exists() {
            let any = found.values().next().expect("a node");
            assert!(any.prefix.join(&any.executable).is_file(), "{any:?}");
        }
    }
}

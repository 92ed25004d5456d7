//! Lamina's own runtime files, embedded in the binary and written into the data directory
//! at start, where environments see them as `/var/runtime`: the Python bootstrap and the
//! Node.js one (`index.cjs` and its two CommonJS modules,
//! loaded as they are: no compile step).
//!
//! The Python bootstrap is installed as a module (`lamina_bootstrap.py`) behind a three-line
//! `bootstrap.py`, and byte-compiled once per interpreter: a script is compiled from source on
//! every start (8-10 ms for this one), a module loads from its `.pyc`. The `.pyc` files use
//! checked hashes, so they stay valid whatever the file times, and a stale one is never used.

use std::io;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::interpreters::Interpreters;

/// The Python bootstrap (`runtimes/python/bootstrap.py`).
pub const PYTHON_BOOTSTRAP: &str = include_str!("../../../runtimes/python/bootstrap.py");

/// The Python runtime's SnapStart modules, installed beside the bootstrap: the template and
/// restore protocol, and AWS's runtime hooks API.
pub const PYTHON_MODULES: [(&str, &str); 2] = [
    (
        "lamina_snapstart.py",
        include_str!("../../../runtimes/python/lamina_snapstart.py"),
    ),
    (
        "snapshot_restore_py.py",
        include_str!("../../../runtimes/python/snapshot_restore_py.py"),
    ),
];

/// The Node.js bootstrap (`runtimes/nodejs/`): its files by name, started as `index.cjs`.
pub const NODE_BOOTSTRAP: [(&str, &str); 4] = [
    (
        "index.cjs",
        include_str!("../../../runtimes/nodejs/index.cjs"),
    ),
    (
        "lamina_node_api.cjs",
        include_str!("../../../runtimes/nodejs/lamina_node_api.cjs"),
    ),
    (
        "lamina_node_support.cjs",
        include_str!("../../../runtimes/nodejs/lamina_node_support.cjs"),
    ),
    (
        "lamina_node_streaming.cjs",
        include_str!("../../../runtimes/nodejs/lamina_node_streaming.cjs"),
    ),
];

const STUB: &str = "import sys\nfrom lamina_bootstrap import main\nmain(sys.argv)\n";

const COMPILE: &str = "import py_compile, sys\n\
    for path in sys.argv[1:]:\n\
    \x20   py_compile.compile(path, doraise=True,\n\
    \x20       invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)\n";

/// Writes the runtime files into `dir` and byte-compiles the bootstrap for each interpreter a
/// supported runtime uses (others never run it). A failed compilation only costs start time,
/// so it is logged, not returned.
pub fn install(dir: &Path, interpreters: &Interpreters) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    write_if_changed(&dir.join("lamina_bootstrap.py"), PYTHON_BOOTSTRAP)?;
    write_if_changed(&dir.join("bootstrap.py"), STUB)?;
    for (name, text) in PYTHON_MODULES {
        write_if_changed(&dir.join(name), text)?;
    }
    for (name, text) in NODE_BOOTSTRAP {
        write_if_changed(&dir.join(name), text)?;
    }
    let modules = std::iter::once("lamina_bootstrap.py")
        .chain(PYTHON_MODULES.iter().map(|(name, _)| *name))
        .map(|name| dir.join(name));
    for interpreter in interpreters.in_use() {
        let python = interpreter.prefix.join(&interpreter.executable);
        let status = Command::new(&python)
            .args(["-I", "-c", COMPILE])
            .args(modules.clone())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !status.is_ok_and(|s| s.success()) {
            tracing::warn!(python = %python.display(), "could not byte-compile the bootstrap");
        }
    }
    Ok(())
}

fn write_if_changed(target: &Path, text: &str) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if std::fs::read_to_string(target).is_ok_and(|current| current == text) {
        return Ok(());
    }
    let dir = target.parent().unwrap_or(Path::new("."));
    let mut staged = tempfile::NamedTempFile::new_in(dir)?;
    io::Write::write_all(&mut staged, text.as_bytes())?;
    staged
        .as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    staged.persist(target).map_err(|e| e.error)?;
    Ok(())
}

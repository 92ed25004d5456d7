//! Lamina's own runtime files, embedded in the binary and written into the data directory
//! at start, where environments see them as `/var/runtime`.

use std::io;
use std::path::Path;

/// The Python bootstrap (`runtimes/python/bootstrap.py`).
pub const PYTHON_BOOTSTRAP: &str = include_str!("../../../runtimes/python/bootstrap.py");

/// Writes the runtime files into `dir` (replacing older copies), read-only for everyone.
pub fn install(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir)?;
    let target = dir.join("bootstrap.py");
    if std::fs::read_to_string(&target).is_ok_and(|current| current == PYTHON_BOOTSTRAP) {
        return Ok(());
    }
    let mut staged = tempfile::NamedTempFile::new_in(dir)?;
    io::Write::write_all(&mut staged, PYTHON_BOOTSTRAP.as_bytes())?;
    staged
        .as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    staged.persist(&target).map_err(|e| e.error)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
}

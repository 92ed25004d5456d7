//! Console scripts pip writes for `--target` installs start with `#!<the build interpreter>`,
//! a path that does not exist in Lambda and would make the layer's bytes depend on where the
//! builder's Python lives. They are rewritten to `#!/usr/bin/env python3`, and the hashes of
//! the rewritten files in the `RECORD` files are updated to match.

use std::fs;
use std::path::Path;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::BuildError;

/// The interpreter line written instead.
pub const PORTABLE_SHEBANG: &str = "#!/usr/bin/env python3";

/// Rewrites the shebang of every file in `target/bin` that names `interpreter`, and the
/// `RECORD` lines of those files. Returns how many scripts were rewritten.
///
/// # Errors
/// [`BuildError::Walk`] when a file cannot be read or written.
pub fn normalise_scripts(target: &Path, interpreter: &Path) -> Result<usize, BuildError> {
    let bin = target.join("bin");
    if !bin.is_dir() {
        return Ok(0);
    }
    let walk_err = |path: &Path| {
        let path = path.to_owned();
        move |source| BuildError::Walk { path, source }
    };
    let old = format!("#!{}", interpreter.display());
    let mut rewritten = Vec::new();
    let mut names: Vec<_> = fs::read_dir(&bin)
        .map_err(walk_err(&bin))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(walk_err(&bin))?;
    names.sort_by_key(fs::DirEntry::file_name);
    for item in names {
        let path = item.path();
        if !item.file_type().map_err(walk_err(&path))?.is_file() {
            continue;
        }
        let bytes = fs::read(&path).map_err(walk_err(&path))?;
        let Some(rest) = bytes.strip_prefix(old.as_bytes()) else {
            continue;
        };
        // The interpreter path must end the first line (not be a prefix of a longer path).
        if !rest.starts_with(b"\n") && !rest.starts_with(b" ") {
            continue;
        }
        let mut new = PORTABLE_SHEBANG.as_bytes().to_vec();
        new.extend_from_slice(rest);
        fs::write(&path, &new).map_err(walk_err(&path))?;
        if let Some(name) = item.file_name().to_str() {
            rewritten.push((format!("bin/{name}"), record_hash(&new), new.len()));
        }
    }
    if !rewritten.is_empty() {
        update_records(target, &rewritten)?;
    }
    Ok(rewritten.len())
}

/// `sha256=<urlsafe base64 without padding>`, as `RECORD` spells a hash.
fn record_hash(bytes: &[u8]) -> String {
    format!(
        "sha256={}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(bytes))
    )
}

/// Replaces hash and size on the `RECORD` lines whose path ends in one of the scripts.
fn update_records(target: &Path, scripts: &[(String, String, usize)]) -> Result<(), BuildError> {
    let read = fs::read_dir(target).map_err(|source| BuildError::Walk {
        path: target.to_owned(),
        source,
    })?;
    for item in read.flatten() {
        let record = item.path().join("RECORD");
        let is_dist_info = item
            .file_name()
            .to_str()
            .is_some_and(|n| n.ends_with(".dist-info"));
        if !is_dist_info || !record.is_file() {
            continue;
        }
        let text = fs::read_to_string(&record).map_err(|source| BuildError::Walk {
            path: record.clone(),
            source,
        })?;
        let mut changed = false;
        let lines: Vec<String> = text
            .lines()
            .map(|line| {
                let path = line.split(',').next().unwrap_or_default();
                match scripts
                    .iter()
                    .find(|(s, _, _)| path.ends_with(&format!("/{s}")))
                {
                    Some((_, hash, size)) => {
                        changed = true;
                        format!("{path},{hash},{size}")
                    }
                    None => line.to_owned(),
                }
            })
            .collect();
        if changed {
            let mut out = lines.join("\n");
            out.push('\n');
            fs::write(&record, out).map_err(|source| BuildError::Walk {
                path: record.clone(),
                source,
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_interpreter_shebangs_become_portable() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path();
        fs::create_dir_all(target.join("bin")).unwrap();
        fs::create_dir_all(target.join("tool-1.0.dist-info")).unwrap();
        let script = "#!/home/me/venv/bin/python\nimport tool\n";
        fs::write(target.join("bin/tool"), script).unwrap();
        fs::write(target.join("bin/other"), "#!/home/me/venv/bin/python3.11\n").unwrap();
        fs::write(
            target.join("tool-1.0.dist-info/RECORD"),
            "../../bin/tool,sha256=old,40\ntool/__init__.py,sha256=x,0\n",
        )
        .unwrap();
        let n = normalise_scripts(target, Path::new("/home/me/venv/bin/python")).unwrap();
        assert_eq!(n, 1);
        let new = fs::read_to_string(target.join("bin/tool")).unwrap();
        assert_eq!(new, "#!/usr/bin/env python3\nimport tool\n");
        let record = fs::read_to_string(target.join("tool-1.0.dist-info/RECORD")).unwrap();
        let expected = format!(
            "../../bin/tool,{},{}\ntool/__init__.py,sha256=x,0\n",
            record_hash(new.as_bytes()),
            new.len()
        );
        assert_eq!(record, expected);
        let untouched = fs::read_to_string(target.join("bin/other")).unwrap();
        assert!(untouched.starts_with("#!/home/me/venv/bin/python3.11"));
    }
}

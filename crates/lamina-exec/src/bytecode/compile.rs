//! One compilation: the interpreter's processes writing a staging directory, then the
//! staging directory flushed to disk and renamed into place.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use lamina_types::ExtractedTree;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;
use tokio::task::JoinSet;

use super::{empty_marker, sidecar_dir};
use crate::interpreters::Interpreter;

/// The program each interpreter process runs, read from its standard input (`-I -S -`, so
/// process listings show the arguments only): see its own comment.
const DRIVER: &str = include_str!("compile_tree.py");

/// Most bytes of an interpreter's error output kept for the log.
const MAX_STDERR_BYTES: usize = 2048;

/// Sources per interpreter process: a small tree is not worth starting several.
const SOURCES_PER_WORKER: u64 = 200;

/// What a compilation made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compiled {
    /// Sources compiled.
    pub compiled: u64,
    /// Sources that did not compile (skipped).
    pub failed: u64,
    /// How long it took.
    pub elapsed: Duration,
}

/// Why a tree has no bytecode for an interpreter.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// Staging, flushing or renaming failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// An interpreter process failed as a whole (not a source that does not compile).
    #[error("{python} exited with {status}: {stderr}")]
    Interpreter {
        /// The interpreter.
        python: String,
        /// How it ended.
        status: String,
        /// The end of its error output.
        stderr: String,
    },
    /// The compilation took too long and was stopped.
    #[error("it took longer than {} s", .0.as_secs())]
    Timeout(Duration),
    /// The server is stopping.
    #[error("the server is stopping")]
    Stopped,
}

/// Compiles `tree` for `interpreter` with `workers` processes, staged under `scratch`, and
/// renames the result into `tree`'s bytecode directory: `Ok(None)` when the tree keeps no
/// bytecode. A tree without sources gets the empty marker. Nothing is left under the final
/// name unless complete and flushed to disk; the staging directory goes on any failure.
pub async fn compile_tree(
    interpreter: &Interpreter,
    tree: &ExtractedTree,
    scratch: &Path,
    workers: usize,
    timeout: Duration,
) -> Result<Option<Compiled>, CompileError> {
    let Some(bytecode) = tree.bytecode.as_deref() else {
        return Ok(None);
    };
    let started = Instant::now();
    let target = sidecar_dir(bytecode, &interpreter.version);
    let marker = empty_marker(bytecode, &interpreter.version);
    let root = tree.path.clone();
    let sources = tokio::task::spawn_blocking(move || count_sources(&root))
        .await
        .map_err(|_| CompileError::Stopped)??;
    if sources == 0 {
        let bytecode = bytecode.to_owned();
        tokio::task::spawn_blocking(move || mark_empty(&bytecode, &marker))
            .await
            .map_err(|_| CompileError::Stopped)??;
        return Ok(Some(Compiled {
            compiled: 0,
            failed: 0,
            elapsed: started.elapsed(),
        }));
    }
    let workers = workers.clamp(1, (sources / SOURCES_PER_WORKER + 1) as usize);
    let staging = tempfile::Builder::new()
        .prefix("bytecode-")
        .tempdir_in(scratch)?;
    // The sandbox's uid reads it through the overlay.
    fs::set_permissions(staging.path(), fs::Permissions::from_mode(0o755))?;
    let python = interpreter.prefix.join(&interpreter.executable);
    let mut running = JoinSet::new();
    for shard in 0..workers {
        let mut child = Command::new(&python)
            .args(["-I", "-S", "-"])
            .arg(&tree.path)
            .arg(staging.path())
            .arg(shard.to_string())
            .arg(workers.to_string())
            .arg(std::process::id().to_string())
            .env_clear()
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stdin = child.stdin.take();
        running.spawn(async move {
            if let Some(mut stdin) = stdin {
                // The interpreter reads all of it before it runs; a failed write shows as its
                // exit status.
                let _ = stdin.write_all(DRIVER.as_bytes()).await;
            }
            child.wait_with_output().await
        });
    }
    let mut counts = (0u64, 0u64);
    let collected = tokio::time::timeout(timeout, async {
        while let Some(joined) = running.join_next().await {
            let output = joined.map_err(|_| CompileError::Stopped)??;
            if !output.status.success() {
                let stderr = String::from_utf8_lossy(&output.stderr);
                let tail = stderr
                    .char_indices()
                    .rev()
                    .nth(MAX_STDERR_BYTES)
                    .map_or(&stderr[..], |(i, _)| &stderr[i..]);
                return Err(CompileError::Interpreter {
                    python: python.display().to_string(),
                    status: output.status.to_string(),
                    stderr: tail.trim().to_owned(),
                });
            }
            let stdout = String::from_utf8_lossy(&output.stdout);
            let (compiled, failed) =
                parse_counts(&stdout).ok_or_else(|| CompileError::Interpreter {
                    python: python.display().to_string(),
                    status: output.status.to_string(),
                    stderr: format!("unexpected output {:?}", stdout.trim()),
                })?;
            counts.0 += compiled;
            counts.1 += failed;
        }
        Ok::<(), CompileError>(())
    })
    .await;
    match collected {
        Ok(result) => result?,
        // Dropping the set kills what still runs.
        Err(_) => return Err(CompileError::Timeout(timeout)),
    }
    let (compiled, failed) = counts;
    let bytecode = bytecode.to_owned();
    tokio::task::spawn_blocking(move || {
        if compiled + failed == 0 {
            return mark_empty(&bytecode, &marker);
        }
        fs::create_dir_all(&bytecode)?;
        commit(staging, &target)?;
        fs::File::open(&bytecode)?.sync_all()
    })
    .await
    .map_err(|_| CompileError::Stopped)??;
    Ok(Some(Compiled {
        compiled,
        failed,
        elapsed: started.elapsed(),
    }))
}

/// How many `.py` files the driver will find: those of the tree not under `__pycache__` or a
/// symlinked directory.
fn count_sources(root: &Path) -> io::Result<u64> {
    let mut count = 0;
    let mut dirs = vec![root.to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let name = entry.file_name();
            if entry.file_type()?.is_dir() {
                if name != "__pycache__" {
                    dirs.push(entry.path());
                }
            } else if name.as_encoded_bytes().ends_with(b".py") {
                count += 1;
            }
        }
    }
    Ok(count)
}

/// Records that the tree has nothing to compile.
fn mark_empty(bytecode: &Path, marker: &Path) -> io::Result<()> {
    fs::create_dir_all(bytecode)?;
    fs::File::create(marker)?.sync_all()?;
    fs::File::open(bytecode)?.sync_all()
}

/// Flushes the staging directory's file system, then renames it to `target`; if `target`
/// exists already (same tree, same version, same bytecode) the staging copy goes.
fn commit(staging: tempfile::TempDir, target: &Path) -> io::Result<()> {
    // One call for the thousands of files the interpreter wrote.
    rustix::fs::syncfs(fs::File::open(staging.path())?)?;
    if target.is_dir() {
        return Ok(());
    }
    let staged = staging.keep();
    match fs::rename(&staged, target) {
        Ok(()) => Ok(()),
        Err(_) if target.is_dir() => fs::remove_dir_all(&staged),
        Err(e) => {
            let _ = fs::remove_dir_all(&staged);
            Err(e)
        }
    }
}

/// The counts of the driver's last line, `compiled N failed M`.
fn parse_counts(stdout: &str) -> Option<(u64, u64)> {
    let words: Vec<&str> = stdout.lines().last()?.split_whitespace().collect();
    match words[..] {
        ["compiled", compiled, "failed", failed] => {
            Some((compiled.parse().ok()?, failed.parse().ok()?))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_come_from_the_last_line() {
        assert_eq!(parse_counts("compiled 12 failed 3\n"), Some((12, 3)));
        assert_eq!(parse_counts("noise\ncompiled 1 failed 0"), Some((1, 0)));
        assert_eq!(parse_counts(""), None);
        assert_eq!(parse_counts("compiled x failed 2"), None);
    }
}

//! `lamina logs FUNCTION [--follow]`: a function's log, from the server's data directory,
//! with the part already rotated out of its current file.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use lamina_exec::logs::{log_files, log_name, log_path, rotated_log_path};

use crate::data_dir::DEFAULT_DATA_DIR;

/// Options of `lamina logs`.
#[derive(clap::Args)]
pub struct LogsArgs {
    /// The function's name.
    function: String,
    /// Keep printing new lines as they are written.
    #[arg(long, short)]
    follow: bool,
    /// The server's data directory (the same default as `lamina serve`).
    #[arg(long, default_value = DEFAULT_DATA_DIR, env = "LAMINA_DATA_DIR")]
    data_dir: PathBuf,
    /// The account the function belongs to (the same default as `lamina serve`'s).
    #[arg(long, default_value = lamina_cli::DEFAULT_ACCOUNT_ID)]
    account_id: String,
}

/// Prints the log (its rotated files first, oldest first), then follows it if asked.
pub fn run(args: LogsArgs) -> anyhow::Result<()> {
    if lamina_types::AccountId::parse(&args.account_id).is_none() {
        bail!("--account-id must be 12 digits, got {:?}", args.account_id);
    }
    let dir = args.data_dir.join("logs");
    let name = log_name(&args.account_id, &args.function);
    let current = log_path(&dir, &name);
    let files = list_logs(&dir, &name);
    if files.is_empty() && !args.follow {
        bail!("no log for {} at {}", args.function, current.display());
    }
    let mut stdout = std::io::stdout().lock();
    for path in files.iter().filter(|p| **p != current) {
        print_from(path, 0, &mut stdout)?;
    }
    let mut followed: Option<(u64, u64)> = None;
    loop {
        followed = print_new(&dir, &name, followed, &mut stdout)?;
        if !args.follow {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The function's log files. With three files or more a rotation takes several renames,
/// and a listing taken in the middle of one can miss them all; such an empty listing is
/// taken again. (With two, the one rename never hides the log: see `log_files`.)
fn list_logs(dir: &Path, function: &str) -> Vec<PathBuf> {
    for _ in 0..ROTATION_RETRIES {
        let files = log_files(dir, function);
        if !files.is_empty() {
            return files;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    log_files(dir, function)
}

/// How many times an empty listing is taken again (20 ms apart) before "no log".
const ROTATION_RETRIES: usize = 10;

/// Prints what the current log file gained since `followed` (its inode and the bytes
/// printed); a file rotated meanwhile is finished from `<name>.log.1` first. Returns what is
/// followed now.
fn print_new(
    dir: &Path,
    function: &str,
    followed: Option<(u64, u64)>,
    out: &mut impl Write,
) -> anyhow::Result<Option<(u64, u64)>> {
    let path = log_path(dir, function);
    let inode = match std::fs::metadata(&path) {
        Ok(meta) => meta.ino(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(followed),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let mut position = match followed {
        Some((old, position)) if old == inode => position,
        Some((old, position)) => {
            let rotated = rotated_log_path(dir, function, 1);
            if std::fs::metadata(&rotated).is_ok_and(|m| m.ino() == old) {
                print_from(&rotated, position, out)?;
            }
            0
        }
        None => 0,
    };
    if std::fs::metadata(&path).is_ok_and(|m| m.len() < position) {
        // The server emptied it to keep all logs under their total.
        position = 0;
    }
    position += print_from(&path, position, out)?;
    Ok(Some((inode, position)))
}

/// Prints a file from `position` to its end; returns the bytes printed (none when the file
/// is gone).
fn print_from(path: &Path, position: u64, out: &mut impl Write) -> anyhow::Result<u64> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    file.seek(SeekFrom::Start(position))?;
    let printed = std::io::copy(&mut file, out)?;
    out.flush()?;
    Ok(printed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn append(path: &Path, text: &str) {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        file.write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn following_reads_across_a_rotation_and_an_emptied_file() {
        let dir = tempfile::tempdir().unwrap();
        let (current, rotated) = (
            log_path(dir.path(), "f"),
            rotated_log_path(dir.path(), "f", 1),
        );
        let mut out = Vec::new();
        append(&current, "a\n");
        let followed = print_new(dir.path(), "f", None, &mut out).unwrap();

        // Written after the last look, then rotated out: still printed, before the new file.
        append(&current, "b\n");
        std::fs::rename(&current, &rotated).unwrap();
        append(&current, "ccc\n");
        let followed = print_new(dir.path(), "f", followed, &mut out).unwrap();
        // Emptied to keep all logs under their total, then written again (seen as long as
        // it is shorter than what was printed of it).
        std::fs::File::create(&current).unwrap();
        append(&current, "d\n");
        print_new(dir.path(), "f", followed, &mut out).unwrap();

        assert_eq!(String::from_utf8(out).unwrap(), "a\nb\nccc\nd\n");
    }
}

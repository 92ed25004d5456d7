//! `lamina logs FUNCTION [--follow]`: a function's log, from the server's data directory.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

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
}

/// Prints the log, then follows it if asked.
pub fn run(args: LogsArgs) -> anyhow::Result<()> {
    let path = lamina_exec::logs::log_path(&args.data_dir.join("logs"), &args.function);
    let mut stdout = std::io::stdout().lock();
    let mut position = 0u64;
    loop {
        match std::fs::File::open(&path) {
            Ok(mut file) => {
                file.seek(SeekFrom::Start(position))?;
                let mut text = Vec::new();
                file.read_to_end(&mut text)?;
                position += text.len() as u64;
                stdout.write_all(&text)?;
                stdout.flush()?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && args.follow => {}
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("no log for {} at {}", args.function, path.display())
                });
            }
        }
        if !args.follow {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

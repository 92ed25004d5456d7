//! `lamina __jail ...`: the entry point of an execution environment's set-up.

use std::ffi::OsString;

use lamina_jail::{LinuxSyscall, enter, parse_args};

/// The hidden subcommand the executor re-executes `lamina` with.
pub const SUBCOMMAND: &str = "__jail";

/// Sets up the environment and execs its runtime; on failure prints why and exits 126, which
/// the invoker reports as `Runtime.ExitError` with this message in the function's log.
pub fn run(args: impl Iterator<Item = OsString>) -> ! {
    let error = match parse_args(args) {
        Ok(args) => enter(&args, &LinuxSyscall),
        Err(e) => e,
    };
    eprintln!("lamina jail: {error}");
    std::process::exit(126)
}

//! `lamina __jail ...`: the entry point of an execution environment's set-up.

use std::ffi::OsString;

use lamina_jail::{LinuxSyscall, enter, parse_args};

/// The hidden subcommand the executor re-executes `lamina` with.
pub const SUBCOMMAND: &str = "__jail";

/// Sets up the environment and runs its runtime, then ends the way the runtime ended. On a
/// failed step prints why and exits 126, which the invoker reports as `Runtime.ExitError`
/// with this message in the function's log.
pub fn run(args: impl Iterator<Item = OsString>) -> ! {
    match parse_args(args).and_then(|args| enter(&args, &LinuxSyscall)) {
        Ok(ending) => ending.apply(),
        Err(error) => {
            eprintln!("lamina jail: {error}");
            std::process::exit(126)
        }
    }
}

//! `lamina __jail`: the entry point of an execution environment's set-up. Its plan comes on
//! standard input ([`lamina_jail::plan`]); it takes no arguments.

use std::ffi::OsString;

use lamina_jail::{JailPlanError, LinuxSyscall, run_from};

/// The hidden subcommand the executor re-executes `lamina` with.
pub use lamina_jail::SUBCOMMAND;

/// Sets up the environment and runs its runtime, then ends the way the runtime ended. On a
/// failed step (or a plan it cannot read) prints why and exits 126, which the invoker
/// reports as `Runtime.ExitError` with this message in the function's log.
pub fn run(mut args: impl Iterator<Item = OsString>) -> ! {
    let ran = match args.next() {
        Some(extra) => Err(JailPlanError::Arguments(extra.to_string_lossy().into_owned()).into()),
        None => run_from(std::io::stdin().lock(), &LinuxSyscall),
    };
    match ran {
        Ok(ending) => ending.apply(),
        Err(error) => {
            eprintln!("lamina jail: {error}");
            std::process::exit(126)
        }
    }
}

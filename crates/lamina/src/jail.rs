//! `lamina __jail ...`: the entry point of an execution environment's set-up.

use std::ffi::OsString;

use lamina_jail::{LinuxSyscall, enter, enter_standby, parse_args, parse_standby};

/// The hidden subcommand the executor re-executes `lamina` with.
pub const SUBCOMMAND: &str = "__jail";

/// Sets up the environment and runs its runtime, then ends the way the runtime ended. On a
/// failed step prints why and exits 126, which the invoker reports as `Runtime.ExitError`
/// with this message in the function's log.
pub fn run(args: impl Iterator<Item = OsString>) -> ! {
    let args: Vec<OsString> = args.collect();
    let ran = match parse_standby(&args) {
        Some(cgroups) => {
            cgroups.and_then(|c| enter_standby(&c, std::io::stdin().lock(), &LinuxSyscall))
        }
        None => parse_args(args).and_then(|args| enter(&args, &LinuxSyscall)),
    };
    match ran {
        Ok(ending) => ending.apply(),
        Err(error) => {
            eprintln!("lamina jail: {error}");
            std::process::exit(126)
        }
    }
}

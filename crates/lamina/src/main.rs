//! `lamina`: the server and the command-line tools around it.

mod jail;
mod logs;
mod runtimes;
mod serve;

use clap::{Parser, Subcommand};

/// Lamina: a self-hosted, AWS-Lambda-compatible function platform with first-class layers.
#[derive(Parser)]
#[command(name = "lamina", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the AWS Lambda API on one port, storing everything in a data directory.
    Serve(serve::ServeArgs),
    /// Show which interpreter runs each Python runtime on this machine.
    Runtimes,
    /// Print a function's log (START/END/REPORT lines and its output).
    Logs(logs::LogsArgs),
}

fn main() -> anyhow::Result<()> {
    // The jail must run before anything starts a thread: it is entered by re-executing
    // this binary, and its namespace calls apply to the calling thread only.
    let mut args = std::env::args_os();
    if args.nth(1).is_some_and(|a| a == jail::SUBCOMMAND) {
        jail::run(args);
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Runtimes => runtimes::run(),
        Command::Logs(args) => logs::run(args),
    }
}

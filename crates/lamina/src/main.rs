//! `lamina`: the server and, later, the command-line tools around it.

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
    /// Serve the AWS Lambda API (layers) on one port, storing everything in a data directory.
    Serve(serve::ServeArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(args),
    }
}

//! `lamina`: the server and the command-line tools around it.

mod access_keys;
mod api_server;
mod artifact_store;
mod cluster_admissions;
mod cluster_writes;
mod data_dir;
mod database;
mod fd_limit;
mod function_network;
mod jail;
mod legacy_retention;
mod node_registry;
mod prepare;
mod provisioning;
mod runtime_sdks;
mod runtimes;
mod serve;
mod shared_key_cache;
mod shutdown;
mod tree_eviction;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use lamina_cli::{AccountCommand, FunctionCommand, GlobalArgs, InvokeArgs, LayerCommand, LogsArgs};

/// Lamina: a self-hosted, AWS-Lambda-compatible function platform with first-class layers.
#[derive(Parser)]
#[command(name = "lamina", version, about)]
struct Cli {
    /// Options of every command (before or after the subcommand, as with the AWS CLI).
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the AWS Lambda API on one port, storing everything in a data directory.
    Serve(Box<serve::ServeArgs>),
    /// Show which interpreter runs each runtime on this machine and the AWS SDK it ships;
    /// `--install-sdks` installs those SDKs (for `lamina serve --runtime-sdks cached`).
    Runtimes(runtimes::RuntimesArgs),
    /// Print a function's log (START/END/REPORT lines and its output), read through the
    /// endpoint's CloudWatch Logs operations.
    Logs(LogsArgs),
    /// Build, inspect, publish, list, download and delete layers.
    Layer {
        #[command(subcommand)]
        command: LayerCommand,
    },
    /// Create functions, replace their code, order their layers, check layer conflicts.
    Function {
        #[command(subcommand)]
        command: FunctionCommand,
    },
    /// The seed's whole flow, timed: build a `requests` layer, publish it, create the
    /// seed's function, attach the layer, invoke it (against a running server, else one on
    /// a temporary data directory).
    Demo(lamina_cli::demo::DemoArgs),
    /// Invoke a function and print its response.
    Invoke(InvokeArgs),
    /// Manage the accounts and access keys of a server on this machine (in its data
    /// directory).
    Account {
        #[command(subcommand)]
        command: AccountCommand,
    },
}

fn main() -> anyhow::Result<ExitCode> {
    // The jail must run before anything starts a thread: it is entered by re-executing
    // this binary, and its namespace calls apply to the calling thread only.
    let mut args = std::env::args_os();
    if args.nth(1).is_some_and(|a| a == jail::SUBCOMMAND) {
        jail::run(args);
    }
    let Cli { global, command } = Cli::parse();
    match command {
        Command::Serve(args) => {
            serve::run(*args, global.region.as_deref()).map(|()| ExitCode::SUCCESS)
        }
        Command::Runtimes(args) => runtimes::run(&args),
        Command::Logs(args) => Ok(lamina_cli::run_logs(&global, &args)),
        Command::Layer { command } => Ok(lamina_cli::run_layer(&global, &command)),
        Command::Function { command } => Ok(lamina_cli::run_function(&global, &command)),
        Command::Invoke(args) => Ok(lamina_cli::run_invoke(&global, &args)),
        Command::Demo(args) => Ok(lamina_cli::run_demo(&global, &args)),
        Command::Account { command } => Ok(lamina_cli::run_account(&global, &command)),
    }
}

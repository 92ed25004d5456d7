//! `lamina layer`, `lamina function` and `lamina invoke`: the command-line client of the
//! Lambda API, for a Lamina server or AWS itself; and `lamina account`, which manages a local
//! server's accounts and access keys.
//!
//! Owns the command tree, the global options (`--endpoint-url`, `--region`, `--profile`,
//! `--output`), the SDK client built from them, and how results and errors are printed.
//! Every remote call goes through `aws-sdk-lambda`; the only other HTTP is the download of
//! the signed `Content.Location` URLs. The local commands (`layer build`, `layer inspect`)
//! and the conflict analysis behind `function check` live in [`local`] and `lamina-layers`.
//! The binary `lamina` parses the command line and calls the `run_*` functions.

pub mod account;
mod api;
mod content;
pub mod demo;
mod error;
mod function;
mod global;
mod invoke;
mod layer;
pub mod local;
mod logs;
mod output;
mod zipdir;

use std::process::ExitCode;

pub use account::{AccountCommand, DEFAULT_ACCOUNT_ID, DEFAULT_DATA_DIR};
pub use api::LayerVersionRef;
pub use error::{ApiError, EXIT_API_ERROR, EXIT_FAILURE};
pub use function::{CreateArgs, DEFAULT_ROLE, FunctionCommand};
pub use global::{DEFAULT_ENDPOINT_URL, DEFAULT_REGION, GlobalArgs, OutputFormat};
pub use invoke::InvokeArgs;
pub use layer::{LayerCommand, PublishArgs};
pub use logs::LogsArgs;

/// Runs `lamina layer ...`, printing its result or error; gives the process exit code.
pub fn run_layer(global: &GlobalArgs, command: &LayerCommand) -> ExitCode {
    error::report(match command {
        LayerCommand::Build(args) => local::build::run(args),
        LayerCommand::Inspect(args) => {
            local::inspect::run(args, global.output == OutputFormat::Json)
        }
        remote => global::block_on(async {
            let api = api::Api::new(global).await?;
            layer::run(&api, remote).await
        }),
    })
}

/// Runs `lamina account ...` (it edits the data directory's key file, or with `--database`
/// the keys in a cluster's PostgreSQL database); gives the process exit code.
pub fn run_account(global: &GlobalArgs, command: &AccountCommand) -> ExitCode {
    error::report(account::run(global, command))
}

/// Runs `lamina demo`, printing its steps or its error; gives the process exit code.
pub fn run_demo(global: &GlobalArgs, args: &demo::DemoArgs) -> ExitCode {
    error::report(demo::run(global, args))
}

/// Runs `lamina function ...`, printing its result or error; gives the process exit code.
pub fn run_function(global: &GlobalArgs, command: &FunctionCommand) -> ExitCode {
    error::report(global::block_on(async {
        let api = api::Api::new(global).await?;
        function::run(&api, command).await
    }))
}

/// Runs `lamina logs FUNCTION`, printing the function's log through the endpoint's CloudWatch
/// Logs operations; gives the process exit code.
pub fn run_logs(global: &GlobalArgs, args: &LogsArgs) -> ExitCode {
    error::report(global::block_on(async {
        logs::run(global, args).await?;
        Ok(ExitCode::SUCCESS)
    }))
}

/// Runs `lamina invoke ...`, printing the response payload; gives the process exit code
/// (1 if the function returned an error).
pub fn run_invoke(global: &GlobalArgs, args: &InvokeArgs) -> ExitCode {
    error::report(global::block_on(async {
        let api = api::Api::new(global).await?;
        invoke::run(&api, args).await
    }))
}

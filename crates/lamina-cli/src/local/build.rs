//! STUB – replaced at merge: `lamina layer build`.

use std::process::ExitCode;

/// Options of `lamina layer build` (STUB).
#[derive(clap::Args, Debug)]
pub struct BuildArgs {
    /// Packages to put in the layer.
    pub packages: Vec<String>,
}

/// Builds a layer ZIP (STUB: not implemented on this branch).
pub fn run(_args: &BuildArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("layer build is not part of this build (stub)")
}

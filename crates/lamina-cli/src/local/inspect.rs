//! STUB – replaced at merge: `lamina layer inspect`.

use std::path::PathBuf;
use std::process::ExitCode;

/// Options of `lamina layer inspect` (STUB).
#[derive(clap::Args, Debug)]
pub struct InspectArgs {
    /// The layer ZIP.
    pub zip: PathBuf,
}

/// Shows what a layer ZIP provides (STUB: not implemented on this branch).
pub fn run(_args: &InspectArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("layer inspect is not part of this build (stub)")
}

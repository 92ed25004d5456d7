//! The options that say where the runtimes' AWS SDKs come from, shared by `lamina serve` and
//! `lamina runtimes --install-sdks`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use lamina_exec::runtime_sdks::{RuntimeSdks, SdkPolicy};

/// `--runtime-sdks` and `--runtime-sdks-dir`.
#[derive(clap::Args, Clone, Debug)]
pub struct SdkArgs {
    /// The AWS SDKs the managed runtimes ship (boto3 for Python, the v3 JavaScript clients
    /// for Node.js 18+): `install` (the first time a function of a runtime is created, from
    /// PyPI and the npm registry as this machine's pip and npm are configured), `cached`
    /// (only what `--runtime-sdks-dir` holds already, prepared elsewhere with
    /// `lamina runtimes --install-sdks`; no registry is asked), or `off` (functions get only
    /// what they and their layers bring).
    #[arg(long, value_enum, default_value_t = SdkChoice::Install, env = "LAMINA_RUNTIME_SDKS")]
    pub runtime_sdks: SdkChoice,
    /// Where the installed SDKs are kept, one directory per pinned set (default:
    /// `<data dir>/runtime-sdks`). Several servers may share one.
    #[arg(long, env = "LAMINA_RUNTIME_SDKS_DIR")]
    pub runtime_sdks_dir: Option<PathBuf>,
}

/// The `--runtime-sdks` choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SdkChoice {
    Install,
    Cached,
    Off,
}

impl SdkArgs {
    /// The server's SDK trees, in `--runtime-sdks-dir` or under `data_dir`.
    pub fn open(&self, data_dir: &Path) -> anyhow::Result<RuntimeSdks> {
        let policy = match self.runtime_sdks {
            SdkChoice::Install => SdkPolicy::Install,
            SdkChoice::Cached => SdkPolicy::Cached,
            SdkChoice::Off => return Ok(RuntimeSdks::off()),
        };
        let dir = self
            .runtime_sdks_dir
            .clone()
            .unwrap_or_else(|| data_dir.join("runtime-sdks"));
        // The jail opens it by path from `/`: only absolute paths.
        let dir = std::path::absolute(&dir)
            .with_context(|| format!("--runtime-sdks-dir {}", dir.display()))?;
        Ok(RuntimeSdks::new(policy, dir))
    }
}

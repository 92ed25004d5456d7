//! What makes a function version ready to run on this server, for the control plane's
//! state model: its runtime can run here, and its code and layers are extracted.

use std::path::PathBuf;
use std::time::Duration;

use lamina_control::functions::Preparer;
use lamina_exec::Executor;
use lamina_exec::launch::LaunchError;
use lamina_exec::runtime_sdks::SdkPolicy;
use lamina_store::LocalArtifacts;
use lamina_types::Runtime;
use lamina_types::function_config::FunctionVersionRecord;
use lamina_types::function_state::{NotReady, Reason, ReasonCode};

/// The server's [`Preparer`].
pub struct ServerPreparer {
    /// Knows which runtimes run here.
    pub executor: Executor,
    /// Holds the extracted trees.
    pub artifacts: LocalArtifacts,
    /// A test seam: when set, every preparation waits until this file exists, so tests can
    /// hold a function in `Pending` or `InProgress` and release it (`None` in normal use).
    pub gate: Option<PathBuf>,
}

/// How often a gated preparation looks for its gate file.
const GATE_POLL: Duration = Duration::from_millis(20);

#[async_trait::async_trait]
impl Preparer for ServerPreparer {
    async fn prepare(&self, record: &FunctionVersionRecord) -> Result<(), NotReady> {
        if let Some(gate) = &self.gate {
            while !gate.exists() {
                tokio::time::sleep(GATE_POLL).await;
            }
        }
        let named = record.config.runtime.as_deref().unwrap_or_default();
        let runtime = Runtime::parse(named);
        let checked = match runtime {
            Some(runtime) => self.executor.check_runtime(runtime),
            None => Err(LaunchError::UnknownRuntime),
        };
        if let Err(e) = checked {
            return Err(not_ready(
                ReasonCode::InvalidRuntime,
                runtime_reason(named, &e, &self.executor.runnable_runtimes()),
            ));
        }
        // The AWS SDK the runtime ships: installed now, the first time a function of this
        // runtime is created or updated, so no invoke waits for it (the function stays
        // `Pending` meanwhile).
        if let Some(runtime) = runtime
            && let Err(e) = self.executor.prepare_runtime_sdk(runtime).await
        {
            let installs = self.executor.runtime_sdks().policy() == SdkPolicy::Install;
            return Err(not_ready(
                ReasonCode::InternalError,
                sdk_reason(named, &e.0, installs),
            ));
        }
        let trees = std::iter::once(&record.code_sha256)
            .chain(record.config.layers.iter().map(|l| &l.digest));
        for digest in trees {
            if !self.artifacts.has_tree(digest) {
                return Err(not_ready(
                    ReasonCode::InternalError,
                    format!(
                        "The extracted code {} is missing from this server's data directory.",
                        digest.to_hex()
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn not_ready(code: ReasonCode, text: String) -> NotReady {
    NotReady(Reason { code, text })
}

/// A `StateReason` for an SDK that could not be installed, with the way out.
fn sdk_reason(runtime: &str, why: &str, installs: bool) -> String {
    let way_out = if installs {
        " Lamina installs it from the package registries (PyPI, the npm registry) as this \
         machine's pip and npm are configured; without them, prepare it elsewhere \
         (`lamina runtimes --install-sdks --runtime-sdks-dir DIR`) and start the server with \
         `--runtime-sdks cached --runtime-sdks-dir DIR`, or with `--runtime-sdks off`."
    } else {
        ""
    };
    let why = why.trim_end_matches('.');
    format!(
        "The AWS SDK that {runtime} ships is not available on this Lamina server: {why}.{way_out}"
    )
}

/// A `StateReason` that says what this server can run instead.
fn runtime_reason(runtime: &str, why: &LaunchError, runnable: &[&str]) -> String {
    let instead = match runnable {
        [] => "none".to_owned(),
        some => some.join(", "),
    };
    let why = match why {
        LaunchError::NoInterpreter(_) => {
            "no Python interpreter was found on this server (`lamina runtimes` names the \
             package to install)"
        }
        _ => "this Lamina server does not run this language",
    };
    format!(
        "The runtime {runtime} cannot run on this Lamina server: {why}. Runtimes this server \
         can run: {instead}."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reason_names_what_runs_here() {
        let text = runtime_reason(
            "nodejs20.x",
            &LaunchError::UnsupportedRuntime(Runtime::parse("nodejs20.x").unwrap()),
            &["python3.12", "provided.al2023"],
        );
        assert_eq!(
            text,
            "The runtime nodejs20.x cannot run on this Lamina server: this Lamina server does \
             not run this language. Runtimes this server can run: python3.12, provided.al2023."
        );
    }
}

//! What makes a function version ready to run on this server, for the control plane's
//! state model: its runtime can run here, its code and layers are extracted, and its code is
//! byte-compiled (for a while at most). Also what a layer version gets once published: its
//! byte-compilation in the background.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lamina_control::LayerPublished;
use lamina_control::functions::{Preparer, locked_spec};
use lamina_control::trees::ensure_tree;
use lamina_exec::Executor;
use lamina_exec::launch::LaunchError;
use lamina_exec::runtime_sdks::SdkPolicy;
use lamina_exec::snapshot::SnapshotError;
use lamina_store::LocalArtifacts;
use lamina_types::function_config::FunctionVersionRecord;
use lamina_types::function_state::{NotReady, Reason, ReasonCode};
use lamina_types::{ExtractedTree, Runtime};

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

/// Longest a function stays `Pending` or `InProgress` for its code's byte-compilation; past
/// this it goes on in the background and the first environments start without it. Well
/// within [`SETTLE_WAIT`], so an invoke right after a create still finds the function
/// `Active` (a function's code is small as a rule: the heavy libraries are in layers, which
/// never hold a function back).
///
/// [`SETTLE_WAIT`]: lamina_control::functions::SETTLE_WAIT
const CODE_BYTECODE_WAIT: Duration = Duration::from_millis(500);

/// Byte-compiles each layer version published, in the background ([`lamina_exec::bytecode`]).
pub struct CompileLayers(pub Executor);

impl LayerPublished for CompileLayers {
    fn layer_published(&self, tree: &ExtractedTree, compatible_runtimes: Option<&[String]>) {
        self.0.bytecode().layer_published(tree, compatible_runtimes);
    }
}

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
        // A tree this node lacks (published through another node sharing the blob store, or
        // removed here) is fetched from the blob store and extracted now.
        for digest in trees {
            if let Err(e) = ensure_tree(&self.artifacts, digest).await {
                tracing::error!(error = %e, "the code of a function version could not be extracted");
                return Err(not_ready(
                    ReasonCode::InternalError,
                    format!(
                        "The code {} could not be made ready on this server: {e}",
                        digest.to_hex()
                    ),
                ));
            }
        }
        if let Some(runtime) = runtime {
            self.compile(runtime, record).await;
        }
        self.snapshot(record).await
    }
}

impl ServerPreparer {
    /// SnapStart: a published version's Init runs now, once, and its template waits for the
    /// version's cold starts ([`lamina_exec::snapshot`]); the version stays `Pending` until
    /// then and is `Failed` when its Init fails, as on AWS. A server that cannot restore
    /// (no namespaces or no private network) runs such versions as any other.
    async fn snapshot(&self, record: &FunctionVersionRecord) -> Result<(), NotReady> {
        if !self.executor.restores_snapshots() {
            return Ok(());
        }
        let spec = locked_spec(record, |digest| self.artifacts.extracted(digest))
            .map_err(|e| not_ready(ReasonCode::InternalError, e.to_string()))?;
        if !spec.snap_start {
            return Ok(());
        }
        self.executor
            .snapshot(&Arc::new(spec))
            .await
            .map_err(|e| match e {
                SnapshotError::InitFailed(log) => not_ready(
                    ReasonCode::FunctionError,
                    format!(
                        "The function's Init failed while its SnapStart snapshot was made: {log}"
                    ),
                ),
                SnapshotError::InitTimeout => not_ready(ReasonCode::InitTimeout, e.to_string()),
                SnapshotError::Lamina(why) => not_ready(
                    ReasonCode::InternalError,
                    format!("The SnapStart snapshot could not be made: {why}"),
                ),
            })
    }

    /// Byte-compiles the version's code for its runtime's interpreter, waiting for it up to
    /// [`CODE_BYTECODE_WAIT`], and its layers for that interpreter in the background (those
    /// published for it are compiled or under way already). Never a reason not to be ready:
    /// without bytecode a function runs as before, only its cold starts are slower.
    async fn compile(&self, runtime: Runtime, record: &FunctionVersionRecord) {
        let code = self.artifacts.extracted(&record.code_sha256);
        let compiling = self.executor.compile_bytecode(runtime, &code);
        for layer in &record.config.layers {
            drop(
                self.executor
                    .compile_bytecode(runtime, &self.artifacts.extracted(&layer.digest)),
            );
        }
        let _ = tokio::time::timeout(CODE_BYTECODE_WAIT, compiling.done()).await;
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

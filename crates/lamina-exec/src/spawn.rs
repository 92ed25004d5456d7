//! Starting a new environment for a spec, in three steps that each either finish or undo
//! themselves: the sandbox (scratch directory and `/tmp`, cgroup or a standby's, the merged
//! `/opt` without isolation), the launch plan (with the Runtime API already listening, so
//! planning is a plain `Result`), and the runtime process.

use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::Arc;

use lamina_jail::cgroup::{Cgroup, Limits};
use lamina_types::{FunctionSpec, LambdaError, RuntimeFamily};

use crate::Executor;
use crate::bytecode::{self, Sidecars};
use crate::environment::{Environment, Process};
use crate::function_error::FunctionError;
use crate::interpreters::Resolution;
use crate::launch::{self, HostPaths, Isolation, LaunchContext, LaunchError};
use crate::network::{Networks, RuntimeApiSocket};
use crate::opt_view;
use crate::sandbox::{self, Scratch};
use crate::snapshot;
use crate::standby::Standby;

/// `AWS_LAMBDA_INITIALIZATION_TYPE` of an environment started for an invoke (the plan's).
const ON_DEMAND: &str = "on-demand";

/// Sets the runtime's `AWS_LAMBDA_INITIALIZATION_TYPE` in `plan` (the jail's runtime
/// environment with namespaces, the process's own without).
pub(crate) fn set_initialization_type(plan: &mut launch::LaunchPlan, value: &str) {
    let env = match plan.jail.as_mut() {
        Some(jail) => &mut jail.env,
        None => &mut plan.env,
    };
    env.insert(
        "AWS_LAMBDA_INITIALIZATION_TYPE".to_owned(),
        value.to_owned(),
    );
}

/// Why no environment could be started.
#[derive(Debug)]
pub(crate) enum StartError {
    /// Lamina's own failure or a limit: the API answers it.
    Lamina(LambdaError),
    /// The function's: its runtime cannot start. The invocation fails as AWS fails it.
    Function(FunctionError),
}

impl From<LambdaError> for StartError {
    fn from(e: LambdaError) -> Self {
        Self::Lamina(e)
    }
}

/// A sandbox ready for a runtime.
struct Sandbox {
    id: String,
    opt_view: PathBuf,
    scratch: Scratch,
    cgroup: Option<Box<dyn Cgroup>>,
    standby: Option<Standby>,
}

impl Executor {
    /// Starts a new environment for `spec`, taking over `kept_scratch` (a reset
    /// environment's `/tmp`) when it fits. The caller holds the environment's slot.
    pub(crate) async fn start_environment(
        &self,
        spec: &Arc<FunctionSpec>,
        kept_scratch: Option<Scratch>,
    ) -> Result<Environment, StartError> {
        self.start_environment_as(spec, kept_scratch, ON_DEMAND, None)
            .await
    }

    /// As [`Executor::start_environment`], with `initialization_type` as the runtime's
    /// `AWS_LAMBDA_INITIALIZATION_TYPE` (`on-demand`, `provisioned-concurrency`,
    /// `snap-start`); with `template_control`, the environment is a SnapStart template (see
    /// [`crate::snapshot`]) whose runtime gets that control socket. A template never takes a
    /// standby: a standby's jail started without the socket.
    pub(crate) async fn start_environment_as(
        &self,
        spec: &Arc<FunctionSpec>,
        kept_scratch: Option<Scratch>,
        initialization_type: &str,
        template_control: Option<OwnedFd>,
    ) -> Result<Environment, StartError> {
        // Installed when the function was created; only a server whose SDK cache was emptied
        // (or whose pins changed) installs it here, before the environment exists.
        let runtime_sdk = self.prepare_runtime_sdk(spec.runtime).await.map_err(|e| {
            StartError::Lamina(LambdaError::Service(format!(
                "the AWS SDK that {} ships could not be made ready on this server: {e}",
                spec.runtime
            )))
        })?;
        // A tree this node evicted (or never had: another node published it) is fetched now.
        self.ensure_trees(spec).await?;
        let (kept_scratch, limits) = self.limits_taking_over(spec, kept_scratch);
        let mut sandbox = self
            .prepare_sandbox(spec, kept_scratch, limits, template_control.is_none())
            .await?;
        let config = &self.inner.config;
        // A standby's network namespace and listener are ready; otherwise they are made now
        // (a private one on a blocking thread: it runs commands).
        let api = match sandbox.standby.as_mut().and_then(|s| s.api.take()) {
            Some(api) => Ok(api),
            None => match &self.inner.networks {
                Networks::Host => RuntimeApiSocket::bind_host(),
                private => {
                    let private = private.clone();
                    tokio::task::spawn_blocking(move || private.runtime_api())
                        .await
                        .map_err(std::io::Error::other)
                        .and_then(|bound| bound)
                }
            },
        };
        let network = api.as_ref().ok().and_then(RuntimeApiSocket::namespace_path);
        let interpreter = config.interpreters.resolve(spec.runtime.as_str());
        let bytecode = self.sidecars(spec, interpreter.as_ref());
        let host = HostPaths {
            opt_view: sandbox.opt_view.clone(),
            runtime: config.runtime_dir.clone(),
            runtime_sdk,
            tmp: sandbox.scratch.tmp(),
            root: sandbox.scratch.root(),
            sandbox_id: sandbox.scratch.id,
            // A standby's jail is in its cgroup already; a new jail joins this one.
            cgroup_procs: sandbox
                .cgroup
                .as_ref()
                .map(|c| c.procs_files())
                .unwrap_or_default(),
            network,
            bytecode,
        };
        let sink = self.function_sink(spec);
        if let Some(r) = interpreter.as_ref().filter(|r| r.substituted) {
            sink.line(&format!(
                "[lamina] WARNING: no interpreter for {} on this machine; using {} {} from {}",
                spec.runtime,
                if spec.runtime.family() == RuntimeFamily::NodeJs {
                    "Node.js"
                } else {
                    "Python"
                },
                r.interpreter.version,
                r.interpreter.prefix.display()
            ));
        }
        let planned = api
            .map_err(|e| LambdaError::Service(format!("starting the Runtime API failed: {e}")))
            .map_err(StartError::Lamina)
            .and_then(|api| {
                let log_stream = log_stream_name(spec);
                let ctx = LaunchContext {
                    isolation: config.isolation,
                    interpreter: interpreter.as_ref(),
                    runtime_api: &api.address(),
                    log_stream: &log_stream,
                    jail_program: &config.jail_program,
                    seccomp: config.seccomp,
                };
                let mut plan = launch::plan(spec, &host, &ctx).map_err(launch_failure)?;
                if initialization_type != ON_DEMAND {
                    set_initialization_type(&mut plan, initialization_type);
                }
                if template_control.is_some() {
                    snapshot::make_template_plan(&mut plan);
                }
                Ok((api, plan))
            });
        let (api, plan) = match planned {
            Ok(planned) => planned,
            Err(e) => {
                self.undo(sandbox);
                return Err(e);
            }
        };
        let Sandbox {
            id,
            scratch,
            mut cgroup,
            standby,
            ..
        } = sandbox;
        let process = match standby {
            Some(standby) => {
                cgroup = Some(standby.cgroup);
                Process::Waiting {
                    child: Box::new(standby.child),
                    output: standby.output,
                    plan: standby.plan,
                }
            }
            None => Process::New {
                control: template_control,
            },
        };
        Environment::spawn(id, api, &plan, sink, scratch, cgroup, process).map_err(
            |(e, scratch)| {
                self.remove_scratch(scratch);
                StartError::Lamina(LambdaError::Service(format!(
                    "starting the runtime failed: {e}"
                )))
            },
        )
    }

    /// The bytecode sidecars a new environment of `spec` mounts (a Python runtime with
    /// namespace isolation only); the trees that have none yet are compiled in the
    /// background, for the environments that start after.
    fn sidecars(&self, spec: &FunctionSpec, interpreter: Option<&Resolution>) -> Sidecars {
        let Some(resolution) = interpreter else {
            return Sidecars::default();
        };
        let bytecode = &self.inner.bytecode;
        if !bytecode.is_enabled() || spec.runtime.family() != RuntimeFamily::Python {
            return Sidecars::default();
        }
        let mut sidecars = bytecode::sidecars(spec, &resolution.interpreter.version);
        for tree in std::mem::take(&mut sidecars.missing) {
            drop(bytecode.compile(&tree, &resolution.interpreter));
        }
        sidecars
    }

    /// The kept scratch to take over, if any, and the new environment's limits: a kept
    /// `/tmp` counts against its memory, and one holding more than half of it is dropped.
    fn limits_taking_over(
        &self,
        spec: &FunctionSpec,
        kept_scratch: Option<Scratch>,
    ) -> (Option<Scratch>, Limits) {
        let Some(kept) = kept_scratch else {
            return (None, sandbox::limits_for(spec));
        };
        let used = kept.tmp_memory_bytes();
        match sandbox::limits_with_kept_tmp(spec, used) {
            Some(limits) => (Some(kept), limits),
            None => {
                tracing::info!(
                    function = %spec.function_name,
                    kept_tmp_bytes = used,
                    "a kept /tmp holds more than half the memory: starting with a new one"
                );
                self.remove_scratch(kept);
                (None, sandbox::limits_for(spec))
            }
        }
    }

    /// The scratch directory, cgroup (a standby's when one is ready) and `/opt` view of a
    /// new environment. On failure nothing of it is left.
    async fn prepare_sandbox(
        &self,
        spec: &Arc<FunctionSpec>,
        kept_scratch: Option<Scratch>,
        limits: Limits,
        standby_allowed: bool,
    ) -> Result<Sandbox, LambdaError> {
        let failed = |e: &dyn std::fmt::Display| {
            LambdaError::Service(format!("preparing an environment failed: {e}"))
        };
        let standby = match standby_allowed
            .then(|| self.inner.standbys.take())
            .flatten()
        {
            Some(standby) => match standby.cgroup.set_limits(&limits) {
                Ok(()) => Some(standby),
                Err(e) => {
                    self.discard_standby(standby);
                    return Err(failed(&e));
                }
            },
            None => None,
        };
        let id = match &standby {
            Some(standby) => standby.cgroup.name().to_owned(),
            None => format!("env-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
        };
        let sandboxes = Arc::clone(&self.inner.sandboxes);
        let (isolation, views_dir) = (
            self.inner.config.isolation,
            self.inner.config.views_dir.clone(),
        );
        let layers: Vec<PathBuf> = spec.layers.iter().map(|l| l.path.clone()).collect();
        let view_key = spec
            .layers
            .iter()
            .map(|l| l.digest.to_hex()[..16].to_owned())
            .collect::<Vec<_>>()
            .join("-");
        let (cgroup_name, ephemeral_mb) = (id.clone(), spec.ephemeral_storage_mb);
        let needs_cgroup = standby.is_none();
        let prepared = tokio::task::spawn_blocking(move || {
            let view = match isolation {
                Isolation::None => opt_view::merged_view(&views_dir, &layers, &view_key)?,
                Isolation::Namespaces => PathBuf::new(),
            };
            let scratch = match kept_scratch {
                Some(kept) if kept.dir.is_dir() => kept,
                Some(gone) => {
                    sandboxes.remove_scratch(gone);
                    sandboxes.new_scratch(ephemeral_mb)?
                }
                None => sandboxes.new_scratch(ephemeral_mb)?,
            };
            if !needs_cgroup {
                return Ok((view, scratch, None));
            }
            match sandboxes.create_cgroup(&cgroup_name, &limits) {
                Ok(cgroup) => Ok((view, scratch, cgroup)),
                Err(e) => {
                    sandboxes.remove_scratch(scratch);
                    Err(std::io::Error::other(e))
                }
            }
        })
        .await
        .map_err(std::io::Error::other)
        .and_then(|prepared| prepared);
        match prepared {
            Ok((opt_view, scratch, cgroup)) => Ok(Sandbox {
                id,
                opt_view,
                scratch,
                cgroup,
                standby,
            }),
            Err(e) => {
                standby.into_iter().for_each(|s| self.discard_standby(s));
                Err(failed(&e))
            }
        }
    }

    /// Removes a sandbox whose runtime was never started.
    fn undo(&self, sandbox: Sandbox) {
        self.remove_scratch(sandbox.scratch);
        if let Some(standby) = sandbox.standby {
            self.discard_standby(standby);
        }
        if let Some(cgroup) = sandbox.cgroup {
            self.inner
                .tasks
                .spawn_blocking(move || sandbox::remove_cgroup(cgroup.as_ref()));
        }
    }

    fn discard_standby(&self, standby: Standby) {
        self.inner.standbys.discard(standby);
    }
}

/// How a plan that cannot be made fails the invocation: a missing or unusable `bootstrap`
/// is the function's error, as on AWS; a runtime this server cannot run is Lamina's (the
/// state model keeps such functions from becoming `Active`).
fn launch_failure(e: LaunchError) -> StartError {
    match e {
        LaunchError::NoBootstrap | LaunchError::BootstrapNotExecutable(_) => {
            StartError::Function(FunctionError::InvalidEntrypoint(e.to_string()))
        }
        LaunchError::NoInterpreter(_)
        | LaunchError::UnsupportedRuntime(_)
        | LaunchError::UnknownRuntime => StartError::Lamina(LambdaError::Service(e.to_string())),
    }
}

/// A new environment's log stream, named as AWS names them.
pub(crate) fn log_stream_name(spec: &FunctionSpec) -> String {
    crate::logs::stream_name(&spec.version, lamina_types::timestamp::now_millis())
}

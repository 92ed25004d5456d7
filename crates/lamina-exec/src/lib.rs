//! Lamina's executor: pools of execution environments per locked [`FunctionSpec`], the
//! Runtime API they poll, the invoke lifecycle (timeouts, crashes, init errors) and logs.
//!
//! It never queries the metadata store: callers resolve a function into a spec first.

mod acquire;
mod bounded_listener;
pub mod bytecode;
pub mod cluster_concurrency;
mod concurrency;
pub mod descriptors;
mod env_process;
mod environment;
mod event_splitter;
pub mod exec_wrapper;
pub mod extension_files;
pub mod function_error;
pub mod interpreters;
mod invocation;
mod jail_output;
pub mod launch;
mod lease;
pub mod log_format;
pub mod log_groups;
mod log_store;
pub mod logs;
pub mod metrics;
pub mod network;
pub use provisioned::ProvisionedCounts;
mod node_interpreters;
mod node_modules;
mod opt_view;
pub mod outbound;
mod outcome;
mod output;
mod peer;
mod pool;
mod provisioned;
pub mod runtime_api;
pub mod runtime_files;
pub mod runtime_sdks;
mod sandbox;
pub mod snapshot;
mod spawn;
mod standby;
#[cfg(test)]
mod test_specs;
pub mod tree_source;

use crate::cluster_concurrency::ClusterAdmissions;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use lamina_types::{ExtractedTree, FunctionSpec, LambdaError, Runtime, RuntimeFamily};
use tokio::sync::Notify;

use crate::environment::ShutdownReason;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::environment::Environment;
use crate::interpreters::Interpreters;
use crate::launch::Isolation;
use crate::logs::{LogLimits, LogSink, LogStore};
use crate::network::{FunctionNetwork, Networks};
use crate::pool::Pools;
use crate::sandbox::{Sandboxes, Scratch};
use crate::standby::Standbys;

/// How the executor runs environments.
pub struct ExecConfig {
    /// Per-environment scratch directories (`<data>/envs`).
    pub envs_dir: PathBuf,
    /// Merged `/opt` views for [`Isolation::None`] (`<data>/views`).
    pub views_dir: PathBuf,
    /// Lamina's runtime files, mounted at `/var/runtime` (`<data>/runtime`).
    pub runtime_dir: PathBuf,
    /// Function logs (`<data>/logs`).
    pub logs_dir: PathBuf,
    /// How much the function logs may hold, per function and in all.
    pub log_limits: LogLimits,
    /// Isolation mode.
    pub isolation: Isolation,
    /// The network environments get; [`FunctionNetwork::Isolated`] needs
    /// [`Isolation::Namespaces`].
    pub network: FunctionNetwork,
    /// Interpreters for the Python runtimes.
    pub interpreters: Interpreters,
    /// The AWS SDKs the managed runtimes ship, beneath `/var/runtime`.
    pub runtime_sdks: runtime_sdks::RuntimeSdks,
    /// The `lamina` executable, re-executed as the jail.
    pub jail_program: PathBuf,
    /// Most environments one function version may have at once; beyond, 429.
    pub max_environments_per_function: usize,
    /// Idle environments older than this are shut down.
    pub idle_timeout: Duration,
    /// Jails kept waiting in fresh cgroups, so a cold start does not pay for joining one
    /// (namespaces with cgroups only).
    pub standby_environments: usize,
    /// Descriptors a cold start leaves free for the rest of the server (the API's clients,
    /// the store, uploads); below, invokes that need a new environment get 429.
    pub descriptor_reserve: u64,
    /// Whether the jail installs its seccomp filter before the runtime's exec. Always on in
    /// `lamina serve`; off only to measure what the filter costs (`cargo bench`).
    pub seccomp: bool,
    /// Where byte-compilations of Python trees write before their sidecar is renamed into
    /// place (`<data>/tmp`, emptied at start); `None`, or no namespace isolation (which could
    /// not mount the sidecars): nothing is compiled ([`bytecode`]).
    pub bytecode_scratch: Option<PathBuf>,
}

/// One invocation as the API hands it over.
#[derive(Debug, Clone)]
pub struct InvokeRequest {
    /// The invocation's request id: the API's `x-amzn-RequestId`, the runtime's
    /// `Lambda-Runtime-Aws-Request-Id` and the RequestId of START/END/REPORT (an `Event`
    /// invocation keeps it across its retries).
    pub request_id: String,
    /// The event.
    pub payload: Bytes,
    /// The ARN as invoked (qualified when a qualifier was used).
    pub invoked_function_arn: String,
    /// `X-Amz-Client-Context`, decoded from base64 (JSON text).
    pub client_context: Option<String>,
    /// Whether to return the log tail.
    pub tail_log: bool,
}

/// What a synchronous invocation returns.
#[derive(Debug, Clone)]
pub struct InvokeResult {
    /// The function's response, or its error document.
    pub payload: Bytes,
    /// Whether `payload` is an error (`X-Amz-Function-Error: Unhandled`).
    pub function_error: bool,
    /// Base64 of the invocation's last 4 KB of log, when asked for.
    pub log_result: Option<String>,
}

struct Inner {
    config: ExecConfig,
    networks: Networks,
    sandboxes: Arc<Sandboxes>,
    standbys: Arc<Standbys>,
    pools: Pools<Environment, Scratch>,
    logs: Arc<LogStore>,
    /// The logs as CloudWatch Logs' groups and streams.
    log_groups: log_groups::LogGroups,
    /// Each function's recent invocations, for the console's Monitor.
    metrics: metrics::Metrics,
    /// One open log per function, so the invoke path never reopens the file.
    sinks: Mutex<HashMap<String, LogSink>>,
    /// Woken whenever an environment becomes idle or ends, so a throttled caller can retry
    /// then instead of polling.
    released: Arc<Notify>,
    /// Invocations in flight per function and account, against their concurrency limits.
    admissions: concurrency::Admissions,
    /// The cluster's count of invocations in flight, when this node is one of several.
    cluster: std::sync::OnceLock<Arc<dyn ClusterAdmissions>>,
    /// Invocations under way and environments being ended or started in the background:
    /// shutdown waits for all of them, so nothing they own outlives the server.
    tasks: TaskTracker,
    /// Cancelled at shutdown: invocations under way end at once (their environments are
    /// killed) and no new one starts.
    stopping: CancellationToken,
    /// Compiles Python trees in the background.
    bytecode: bytecode::Bytecode,
    /// How many provisioned environments each spec wants, and has.
    provisioning: provisioned::Provisioning,
    /// SnapStart templates, one per version with SnapStart.
    templates: snapshot::Templates,
    /// Makes a cold start's trees present ([`tree_source`]); unset, they are assumed there.
    tree_source: std::sync::OnceLock<Arc<dyn tree_source::TreeSource>>,
}

/// A private network per environment is joined by the jail, so it needs namespaces.
fn check_network(network: FunctionNetwork, isolation: Isolation) -> std::io::Result<()> {
    if network == FunctionNetwork::Isolated && isolation != Isolation::Namespaces {
        return Err(std::io::Error::other(
            "a private network per environment needs namespace isolation",
        ));
    }
    Ok(())
}

/// Runs functions. Cheap to clone.
#[derive(Clone)]
pub struct Executor {
    inner: Arc<Inner>,
}

impl Executor {
    /// Starts the idle reaper. What environments of an earlier run (a crash) left behind
    /// is removed first: their processes, cgroups, `/tmp` mounts and scratch directories.
    /// The networks are prepared for `config.network` (see [`Networks::private`]).
    pub async fn start(config: ExecConfig) -> std::io::Result<Self> {
        check_network(config.network, config.isolation)?;
        let networks = match config.network {
            FunctionNetwork::Host => Networks::Host,
            FunctionNetwork::Isolated => {
                let data_dir = config
                    .envs_dir
                    .parent()
                    .unwrap_or(&config.envs_dir)
                    .to_owned();
                tokio::task::spawn_blocking(move || Networks::private(&data_dir))
                    .await
                    .map_err(std::io::Error::other)?
                    .map_err(std::io::Error::other)?
            }
        };
        Self::start_on(config, networks).await
    }

    /// As [`Executor::start`], with networks the caller prepared (`lamina serve` prepares
    /// them first to learn whether a private network is possible); `config.network` is
    /// taken from them. Private networks are removed again if the start fails.
    pub async fn start_on(mut config: ExecConfig, networks: Networks) -> std::io::Result<Self> {
        config.network = networks.kind();
        let started = Self::start_with(config, networks.clone()).await;
        if started.is_err()
            && let Networks::Private(outbound) = networks
        {
            let _ = tokio::task::spawn_blocking(move || outbound.stop()).await;
        }
        started
    }

    async fn start_with(config: ExecConfig, networks: Networks) -> std::io::Result<Self> {
        check_network(config.network, config.isolation)?;
        std::fs::create_dir_all(&config.views_dir)?;
        let logs = LogStore::open(&config.logs_dir, config.log_limits)?;
        let (isolation, envs_dir) = (config.isolation, config.envs_dir.clone());
        let sandboxes = tokio::task::spawn_blocking(move || Sandboxes::start(isolation, &envs_dir))
            .await
            .map_err(std::io::Error::other)??;
        let sandboxes = Arc::new(sandboxes);
        let tasks = TaskTracker::new();
        let standbys = Standbys::new(
            config.standby_environments,
            config.jail_program.clone(),
            networks.clone(),
            Arc::clone(&sandboxes),
            tasks.clone(),
        );
        let bytecode = match (&config.bytecode_scratch, config.isolation) {
            (Some(scratch), Isolation::Namespaces) => {
                bytecode::Bytecode::new(config.interpreters.clone(), scratch.clone())
            }
            _ => bytecode::Bytecode::disabled(),
        };
        let released = Arc::new(Notify::new());
        let inner = Arc::new(Inner {
            admissions: concurrency::Admissions::new(Arc::clone(&released)),
            cluster: std::sync::OnceLock::new(),
            bytecode,
            config,
            networks,
            sandboxes,
            standbys,
            pools: Pools::default(),
            log_groups: log_groups::LogGroups::new(Arc::clone(&logs)),
            logs,
            metrics: metrics::Metrics::default(),
            sinks: Mutex::default(),
            released,
            tasks,
            stopping: CancellationToken::new(),
            provisioning: provisioned::Provisioning::default(),
            templates: snapshot::Templates::default(),
            tree_source: std::sync::OnceLock::new(),
        });
        tokio::spawn(acquire::reap_idle(Arc::downgrade(&inner)));
        tokio::spawn(acquire::freeze_idle(Arc::downgrade(&inner)));
        Ok(Self { inner })
    }

    /// The isolation mode in force.
    pub fn isolation(&self) -> Isolation {
        self.inner.config.isolation
    }

    /// The network environments get.
    pub fn function_network(&self) -> FunctionNetwork {
        self.inner.config.network
    }

    /// What a private network is made of on the host (bridge, subnet, nftables table), for
    /// the banner; `None` on the host's network.
    pub fn network_description(&self) -> Option<String> {
        match &self.inner.networks {
            Networks::Host => None,
            Networks::Private(outbound) => Some(outbound.describe()),
        }
    }

    /// Counts every invocation in `cluster` too, from now on (a node of several sharing a
    /// database). A second call changes nothing.
    pub fn count_in_cluster(&self, cluster: Arc<dyn ClusterAdmissions>) {
        let _ = self.inner.cluster.set(cluster);
    }

    /// Most environments one function version may have at once (beyond, invokes get 429).
    pub fn max_environments_per_function(&self) -> usize {
        self.inner.config.max_environments_per_function
    }

    /// Notified (`notify_waiters`) each time an environment becomes idle or ends: the moment
    /// a throttled invocation may succeed.
    pub fn releases(&self) -> Arc<Notify> {
        Arc::clone(&self.inner.released)
    }

    /// The invocations of `function` of `account` that ended since `since_millis` (in memory:
    /// the newest [`metrics::MAX_SAMPLES`] per function since the server started).
    pub fn invocations_since(
        &self,
        account: &str,
        function: &str,
        since_millis: i64,
    ) -> Vec<metrics::Sample> {
        self.inner
            .metrics
            .since(&logs::log_name(account, function), since_millis)
    }

    /// How many cold starts took a ready standby sandbox, and how many had to make theirs.
    pub fn standby_uses(&self) -> (u64, u64) {
        self.inner.standbys.uses()
    }

    /// The directory of the function logs (`logs::log_path` and friends name the files).
    pub fn logs_dir(&self) -> &std::path::Path {
        &self.inner.config.logs_dir
    }

    /// The function logs as log groups and streams, for the Logs operations.
    pub fn log_groups(&self) -> &log_groups::LogGroups {
        &self.inner.log_groups
    }

    /// Appends a line to a function's log (`log` from [`logs::log_name`]), as START/END/REPORT
    /// are.
    pub fn function_log(&self, log: &str, line: &str) {
        self.sink(log).line(line);
    }

    /// Shuts every environment down and removes their cgroups, `/tmp` mounts and scratch
    /// directories (at server shutdown, so nothing is left for the next start to clean).
    /// Invocations still running are ended first, their environments killed (as AWS ends
    /// them when it shuts an environment down); they return a `ServiceException`. New
    /// invocations are refused from now on.
    pub async fn shut_down(&self) {
        self.inner.stopping.cancel();
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
        let (mut environments, mut scratch) = self.inner.pools.drain();
        environments.extend(self.take_templates().await);
        self.inner.standbys.shut_down().await;
        // At once: each may give its extensions up to 2 s for SHUTDOWN.
        let mut ending = tokio::task::JoinSet::new();
        for env in environments {
            ending.spawn(env.shut_down(ShutdownReason::Spindown));
        }
        while let Some(ended) = ending.join_next().await {
            scratch.extend(ended.ok().flatten());
        }
        // What was ending in the background meanwhile (idle environments, standbys).
        self.inner.tasks.wait().await;
        let sandboxes = Arc::clone(&self.inner.sandboxes);
        let networks = self.inner.networks.clone();
        let _ = tokio::task::spawn_blocking(move || {
            for dir in scratch {
                sandboxes.remove_scratch(dir);
            }
            sandboxes.remove_cgroup_instance();
            // The bridge, the table and forwarding (the veths went with the environments).
            if let Networks::Private(outbound) = networks {
                outbound.stop();
            }
        })
        .await;
    }

    /// Whether this server can run functions of `runtime`: Python and Node.js runtimes need
    /// an interpreter (the nearest version stands in for a missing one), custom runtimes run
    /// their own `bootstrap`; other languages are not run yet.
    pub fn check_runtime(&self, runtime: Runtime) -> Result<(), launch::LaunchError> {
        match runtime.family() {
            RuntimeFamily::Python | RuntimeFamily::NodeJs => {
                match self.inner.config.interpreters.resolve(runtime.as_str()) {
                    Some(_) => Ok(()),
                    None => Err(launch::LaunchError::NoInterpreter(runtime)),
                }
            }
            RuntimeFamily::Custom => Ok(()),
            RuntimeFamily::Other => Err(launch::LaunchError::UnsupportedRuntime(runtime)),
        }
    }

    /// Compiles Python trees in the background ([`bytecode`]); disabled without namespace
    /// isolation.
    pub fn bytecode(&self) -> &bytecode::Bytecode {
        &self.inner.bytecode
    }

    /// Starts byte-compiling `tree` (code or a layer) for the interpreter that runs
    /// `runtime` here, in the background, unless done already: what to wait on. Nothing for
    /// other languages, or when this server compiles nothing.
    pub fn compile_bytecode(&self, runtime: Runtime, tree: &ExtractedTree) -> bytecode::Compiling {
        if runtime.family() != RuntimeFamily::Python {
            return bytecode::Compiling::default();
        }
        match self.inner.config.interpreters.resolve(runtime.as_str()) {
            Some(resolution) => self.inner.bytecode.compile(tree, &resolution.interpreter),
            None => bytecode::Compiling::default(),
        }
    }

    /// The AWS SDK tree `runtime` gets on this server (`None`: AWS bundles none for it, this
    /// machine cannot run it, or `--runtime-sdks off`).
    pub fn runtime_sdk_tree(&self, runtime: Runtime) -> Option<runtime_sdks::SdkTree> {
        if self.inner.config.runtime_sdks.policy() == runtime_sdks::SdkPolicy::Off {
            return None;
        }
        let resolution = self.inner.config.interpreters.resolve(runtime.as_str())?;
        runtime_sdks::SdkTree::for_runtime(runtime, &resolution)
    }

    /// Makes the AWS SDK `runtime` ships ready (installing it once, if needed): `Ok(None)`
    /// when it gets none.
    pub async fn prepare_runtime_sdk(
        &self,
        runtime: Runtime,
    ) -> Result<Option<std::path::PathBuf>, runtime_sdks::SdkError> {
        match self.runtime_sdk_tree(runtime) {
            Some(tree) => self.inner.config.runtime_sdks.ensure(&tree).await,
            None => Ok(None),
        }
    }

    /// The runtime SDK trees of this server.
    pub fn runtime_sdks(&self) -> &runtime_sdks::RuntimeSdks {
        &self.inner.config.runtime_sdks
    }

    /// The runtimes AWS accepts that this server can run, in AWS's order.
    pub fn runnable_runtimes(&self) -> Vec<&'static str> {
        lamina_types::runtime::SUPPORTED_RUNTIMES
            .into_iter()
            .filter(|r| Runtime::parse(r).is_some_and(|r| self.check_runtime(r).is_ok()))
            .collect()
    }

    /// The cgroup version in use (`v1`, `v2` or `none`) and this server's path below each
    /// cgroup hierarchy.
    pub fn cgroup_info(&self) -> (&'static str, Option<String>) {
        self.inner.sandboxes.cgroup_info()
    }

    /// Runs one attempt of an invocation (`RequestResponse`, or one run of a queued `Event`)
    /// and returns the function's answer. Function failures are results (`function_error`),
    /// not errors; errors are Lamina's or limits (429 `TooManyRequests` at the environment
    /// cap).
    ///
    /// The invocation runs in a task of its own: a caller that stops waiting (a client that
    /// disconnects, a cancelled future) does not cancel it, as on AWS. It runs to its end or
    /// its timeout, and its environment then goes back to the pool (or is reset).
    pub async fn invoke(
        &self,
        spec: Arc<FunctionSpec>,
        request: InvokeRequest,
    ) -> Result<InvokeResult, LambdaError> {
        self.invoke_with_sink(spec, request, None).await
    }

    /// [`invoke`](Self::invoke) for a caller that streams the response: the chunks of a
    /// response the runtime streams go to `sink` as it writes them (and the result's payload
    /// is then empty); a buffered response comes whole in the result as usual.
    pub async fn invoke_streaming(
        &self,
        spec: Arc<FunctionSpec>,
        request: InvokeRequest,
        sink: runtime_api::ResponseSink,
    ) -> Result<InvokeResult, LambdaError> {
        self.invoke_with_sink(spec, request, Some(sink)).await
    }

    async fn invoke_with_sink(
        &self,
        spec: Arc<FunctionSpec>,
        request: InvokeRequest,
        sink: Option<runtime_api::ResponseSink>,
    ) -> Result<InvokeResult, LambdaError> {
        let executor = self.clone();
        let run = self
            .inner
            .tasks
            .spawn(async move { executor.run(spec, request, sink).await });
        match run.await {
            Ok(result) => result,
            Err(e) => {
                tracing::error!(error = %e, "an invocation failed in Lamina");
                Err(LambdaError::Service(
                    "the invocation failed in Lamina".to_owned(),
                ))
            }
        }
    }

    /// The log of `spec`'s function: one per account's function, shared by all its versions
    /// and environments.
    fn function_sink(&self, spec: &FunctionSpec) -> LogSink {
        self.sink(&logs::log_name(spec.account(), &spec.function_name))
            .with_json(
                spec.json_log_level
                    .as_ref()
                    .map(|levels| log_format::PlatformLevel::of(&levels.system)),
            )
    }

    /// The log named `log` ([`logs::log_name`]).
    fn sink(&self, log: &str) -> LogSink {
        let mut sinks = self
            .inner
            .sinks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        sinks
            .entry(log.to_owned())
            .or_insert_with(|| self.inner.logs.sink(log))
            .clone()
    }
}

/// What an invocation refused or ended by the server's shutdown returns.
pub(crate) fn shutting_down() -> LambdaError {
    LambdaError::Service("Lamina is shutting down".to_owned())
}

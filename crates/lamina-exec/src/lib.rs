//! Lamina's executor: pools of execution environments per locked [`FunctionSpec`], the
//! Runtime API they poll, the invoke lifecycle (timeouts, crashes, init errors) and logs.
//!
//! It never queries the metadata store: callers resolve a function into a spec first.

mod bounded_listener;
pub mod descriptors;
mod environment;
mod event_splitter;
pub mod interpreters;
pub mod launch;
mod lease;
mod log_store;
pub mod logs;
mod opt_view;
mod output;
mod peer;
pub mod runtime_api;
pub mod runtime_files;
mod sandbox;
mod standby;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use lamina_store::LocalArtifacts;
use lamina_types::{FunctionSpec, LambdaError};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::environment::{Environment, Outcome};
use crate::interpreters::Interpreters;
use crate::launch::{HostPaths, Isolation, LaunchContext};
use crate::lease::Lease;
use crate::logs::{LogLimits, LogSink, LogStore, report_line};
use crate::runtime_api::Reply;
use crate::sandbox::{Sandboxes, Scratch};
use crate::standby::Standbys;

/// How the executor runs environments.
pub struct ExecConfig {
    /// Where extracted code and layer trees are.
    pub artifacts: LocalArtifacts,
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
    /// Interpreters for the Python runtimes.
    pub interpreters: Interpreters,
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

struct Pool {
    idle: Vec<Environment>,
    total: usize,
    /// Scratch directories of environments reset by a timeout or crash: AWS keeps `/tmp`
    /// across a reset, so the next environment of the spec takes one over.
    kept_scratch: Vec<(Scratch, Instant)>,
}

struct Inner {
    config: ExecConfig,
    sandboxes: Arc<Sandboxes>,
    standbys: Arc<Standbys>,
    pools: Mutex<HashMap<Arc<FunctionSpec>, Pool>>,
    logs: Arc<LogStore>,
    /// One open log per function, so the invoke path never reopens the file.
    sinks: Mutex<HashMap<String, LogSink>>,
    /// Woken whenever an environment becomes idle or ends, so a throttled caller can retry
    /// then instead of polling.
    released: Arc<Notify>,
    /// Invocations under way and environments being ended or started in the background:
    /// shutdown waits for all of them, so nothing they own outlives the server.
    tasks: TaskTracker,
    /// Cancelled at shutdown: invocations under way end at once (their environments are
    /// killed) and no new one starts.
    stopping: CancellationToken,
}

/// Runs functions. Cheap to clone.
#[derive(Clone)]
pub struct Executor {
    inner: Arc<Inner>,
}

impl Executor {
    /// Starts the idle reaper. What environments of an earlier run (a crash) left behind
    /// is removed first: their processes, cgroups, `/tmp` mounts and scratch directories.
    pub async fn start(config: ExecConfig) -> std::io::Result<Self> {
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
            Arc::clone(&sandboxes),
            tasks.clone(),
        );
        let inner = Arc::new(Inner {
            config,
            sandboxes,
            standbys,
            pools: Mutex::default(),
            logs,
            sinks: Mutex::default(),
            released: Arc::new(Notify::new()),
            tasks,
            stopping: CancellationToken::new(),
        });
        tokio::spawn(reap_idle(Arc::downgrade(&inner)));
        Ok(Self { inner })
    }

    /// The isolation mode in force.
    pub fn isolation(&self) -> Isolation {
        self.inner.config.isolation
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

    /// Appends a line to a function's log, as START/END/REPORT are.
    pub fn function_log(&self, function_name: &str, line: &str) {
        self.sink(function_name).line(line);
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
        let (environments, mut scratch): (Vec<Environment>, Vec<Scratch>) = {
            let mut pools = self
                .inner
                .pools
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let mut environments = Vec::new();
            let mut scratch = Vec::new();
            for (_, pool) in pools.drain() {
                environments.extend(pool.idle);
                scratch.extend(pool.kept_scratch.into_iter().map(|(s, _)| s));
            }
            (environments, scratch)
        };
        self.inner.standbys.shut_down().await;
        for env in environments {
            if let Some(kept) = env.shut_down().await {
                scratch.push(kept);
            }
        }
        // What was ending in the background meanwhile (idle environments, standbys).
        self.inner.tasks.wait().await;
        let sandboxes = Arc::clone(&self.inner.sandboxes);
        let _ = tokio::task::spawn_blocking(move || {
            for dir in scratch {
                sandboxes.remove_scratch(dir);
            }
            sandboxes.remove_cgroup_instance();
        })
        .await;
    }

    /// Whether this server can run functions of `runtime`: Python runtimes need an
    /// interpreter (the nearest version stands in for a missing one), custom runtimes run
    /// their own `bootstrap`; other languages are not run yet.
    pub fn check_runtime(&self, runtime: &str) -> Result<(), launch::LaunchError> {
        if runtime.starts_with("python") {
            match self.inner.config.interpreters.resolve(runtime) {
                Some(_) => Ok(()),
                None => Err(launch::LaunchError::NoInterpreter(runtime.to_owned())),
            }
        } else if runtime.starts_with("provided") {
            Ok(())
        } else {
            Err(launch::LaunchError::UnsupportedRuntime(runtime.to_owned()))
        }
    }

    /// The runtimes AWS accepts that this server can run, in AWS's order.
    pub fn runnable_runtimes(&self) -> Vec<&'static str> {
        lamina_types::runtime::SUPPORTED_RUNTIMES
            .into_iter()
            .filter(|r| self.check_runtime(r).is_ok())
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
        let executor = self.clone();
        let run = self
            .inner
            .tasks
            .spawn(async move { executor.run(spec, request).await });
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

    /// The body of [`Executor::invoke`], in its own task.
    async fn run(
        &self,
        spec: Arc<FunctionSpec>,
        request: InvokeRequest,
    ) -> Result<InvokeResult, LambdaError> {
        if self.inner.stopping.is_cancelled() {
            return Err(shutting_down());
        }
        let (env, cold) = self.acquire(&spec).await?;
        let mut lease = Lease::new(self, &spec, env);
        let Some(env) = lease.env() else {
            return Err(LambdaError::Service("the environment was lost".to_owned()));
        };
        let request_id = request.request_id;
        let sink = self.sink(&spec.function_name);
        let start_line = format!("START RequestId: {request_id} Version: {}", spec.version);
        sink.line(&start_line);
        env.note(&start_line);
        let timeout = Duration::from_secs(u64::from(spec.timeout_secs));
        let invoked_at = Instant::now();
        let invoked = env.invoke(
            &request_id,
            request.payload,
            &request.invoked_function_arn,
            request.client_context,
            timeout,
        );
        let outcome = tokio::select! {
            outcome = invoked => Some(outcome),
            () = self.inner.stopping.cancelled() => None,
        };
        let Some(outcome) = outcome else {
            let now = lamina_types::timestamp::format_millis(lamina_types::timestamp::now_millis());
            sink.line(&format!(
                "{now} {request_id} [lamina] the invocation was ended: the server is shutting down"
            ));
            lease.end(false).await;
            return Err(shutting_down());
        };
        let finished = Instant::now();
        let handler_start = match env.initialized {
            Some(at) if cold => at.max(invoked_at),
            _ => invoked_at,
        };
        let duration_ms = finished.duration_since(handler_start).as_secs_f64() * 1e3;
        let init_ms = cold.then(|| {
            env.initialized
                .unwrap_or(finished)
                .duration_since(env.started)
                .as_secs_f64()
                * 1e3
        });

        let Settled {
            payload,
            function_error,
            keep,
            status,
            timeout_line,
        } = settle(outcome, &request_id, timeout, env);
        let max_memory = env.max_memory_mb();
        // An environment that is reset is not read after this: output it still writes
        // would land after its END.
        let mut log = env.take_log(!keep).await;
        let end_line = format!("END RequestId: {request_id}");
        let report = report_line(
            &request_id,
            duration_ms,
            spec.memory_mb,
            max_memory,
            init_ms,
            status.as_ref().map(|(s, t)| (s.as_str(), t.as_str())),
        );
        let closing: Vec<&str> = timeout_line
            .iter()
            .chain([&end_line, &report])
            .map(String::as_str)
            .collect();
        sink.lines(&closing);
        for line in closing {
            log.push(line);
        }
        lease.end(keep).await;
        Ok(InvokeResult {
            payload,
            function_error,
            log_result: request.tail_log.then(|| log.tail_base64()),
        })
    }

    async fn acquire(&self, spec: &Arc<FunctionSpec>) -> Result<(Environment, bool), LambdaError> {
        let mut dead = Vec::new();
        let reserved = {
            let mut pools = self
                .inner
                .pools
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let pool = pools.entry(Arc::clone(spec)).or_insert(Pool {
                idle: Vec::new(),
                total: 0,
                kept_scratch: Vec::new(),
            });
            let mut warm = None;
            while let Some(mut env) = pool.idle.pop() {
                if env.is_alive() {
                    warm = Some(env);
                    break;
                }
                pool.total -= 1;
                dead.push(env);
            }
            if let Some(env) = warm {
                env.thaw();
                Ok(env)
            } else if pool.total >= self.inner.config.max_environments_per_function {
                // Each version may have a bounded number of environments, as reserved concurrency.
                return Err(LambdaError::rate_exceeded(Some(
                    "ReservedFunctionConcurrentInvocationLimitExceeded",
                )));
            } else {
                pool.total += 1;
                let kept = pool.kept_scratch.pop().map(|(dir, _)| dir);
                Err((kept, pools.values().map(|pool| pool.total).sum::<usize>()))
            }
        };
        for env in dead {
            self.end(env);
        }
        let (kept_scratch, environments) = match reserved {
            Ok(env) => return Ok((env, false)),
            Err(reserved) => reserved,
        };
        if !descriptors::room_for(environments, self.inner.config.descriptor_reserve) {
            tracing::warn!(
                function = %spec.function_name,
                reserve = self.inner.config.descriptor_reserve,
                "cold start refused: the server's descriptor reserve is in use"
            );
            self.unreserve(spec, kept_scratch);
            return Err(LambdaError::rate_exceeded(Some(
                "ConcurrentInvocationLimitExceeded",
            )));
        }
        match self.spawn(spec, kept_scratch).await {
            Ok(env) => Ok((env, true)),
            Err(e) => {
                self.forget_one(spec);
                Err(e)
            }
        }
    }

    async fn spawn(
        &self,
        spec: &Arc<FunctionSpec>,
        kept_scratch: Option<Scratch>,
    ) -> Result<Environment, LambdaError> {
        let config = &self.inner.config;
        let artifacts = &config.artifacts;
        let task = artifacts.tree_path(&spec.code);
        let layers: Vec<PathBuf> = spec.layers.iter().map(|d| artifacts.tree_path(d)).collect();
        let view_key: String = spec
            .layers
            .iter()
            .map(|d| d.to_hex()[..16].to_owned())
            .collect::<Vec<_>>()
            .join("-");
        let views_dir = config.views_dir.clone();
        let isolation = config.isolation;
        let layers_for_view = layers.clone();
        let sandboxes = Arc::clone(&self.inner.sandboxes);
        let standby = self.inner.standbys.take();
        let env_id = match &standby {
            Some(standby) => standby.cgroup.name().to_owned(),
            None => format!("env-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
        };
        let (cgroup_name, cgroup_spec) = (env_id.clone(), Arc::clone(spec));
        // A `/tmp` kept from a reset environment counts against this one's memory.
        let (kept_scratch, limits) = match kept_scratch {
            Some(kept) => {
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
            None => (None, sandbox::limits_for(spec)),
        };
        let standby_limits = standby.as_ref().map(|s| s.cgroup.set_limits(&limits));
        if let Some(Err(e)) = standby_limits {
            standby
                .into_iter()
                .for_each(|s| self.inner.standbys.discard(s));
            return Err(LambdaError::Service(format!(
                "preparing an environment failed: {e}"
            )));
        }
        let needs_cgroup = standby.is_none();
        let prepared = tokio::task::spawn_blocking(move || {
            let view = match isolation {
                Isolation::None => opt_view::merged_view(&views_dir, &layers_for_view, &view_key)?,
                Isolation::Namespaces => PathBuf::new(),
            };
            let scratch = match kept_scratch {
                Some(kept) if kept.dir.is_dir() => kept,
                Some(gone) => {
                    sandboxes.remove_scratch(gone);
                    sandboxes.new_scratch(cgroup_spec.ephemeral_storage_mb)?
                }
                None => sandboxes.new_scratch(cgroup_spec.ephemeral_storage_mb)?,
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
        let (opt_view, scratch, cgroup) = match prepared {
            Ok(prepared) => prepared,
            Err(e) => {
                standby
                    .into_iter()
                    .for_each(|s| self.inner.standbys.discard(s));
                return Err(LambdaError::Service(format!(
                    "preparing an environment failed: {e}"
                )));
            }
        };
        let host = HostPaths {
            task,
            layers,
            opt_view,
            runtime: config.runtime_dir.clone(),
            tmp: scratch.tmp(),
            root: scratch.root(),
            sandbox_id: scratch.id,
            cgroup_procs: cgroup.as_ref().map(|c| c.procs_files()).unwrap_or_default(),
        };
        let python = config.interpreters.resolve(&spec.runtime);
        let sink = self.sink(&spec.function_name);
        if let Some(r) = python.as_ref().filter(|r| r.substituted) {
            sink.line(&format!(
                "[lamina] WARNING: no interpreter for {} on this machine; using Python {} from {}",
                spec.runtime,
                r.interpreter.version,
                r.interpreter.prefix.display()
            ));
        }
        let log_stream = format!(
            "{}/[{}]{}",
            today(),
            spec.version,
            uuid::Uuid::new_v4().simple()
        );
        let mut launch_error = None;
        let env = Environment::spawn(
            env_id,
            |runtime_api| {
                let ctx = LaunchContext {
                    isolation,
                    python: python.as_ref(),
                    runtime_api,
                    log_stream: &log_stream,
                    jail_program: &config.jail_program,
                    seccomp: config.seccomp,
                };
                match launch::plan(spec, &host, &ctx) {
                    Ok(plan) => plan,
                    Err(e) => {
                        launch_error = Some(e);
                        launch::LaunchPlan {
                            program: "/nonexistent".into(),
                            args: Vec::new(),
                            env: Default::default(),
                            cwd: "/".into(),
                            jail: None,
                        }
                    }
                }
            },
            sink,
            scratch,
            cgroup,
            standby,
        );
        match (env, launch_error) {
            (Ok(env), None) => Ok(env),
            (Ok(env), Some(e)) => {
                self.end(env);
                Err(LambdaError::Service(e.to_string()))
            }
            (Err((e, scratch)), _) => {
                self.remove_scratch(scratch);
                Err(LambdaError::Service(format!(
                    "starting the runtime failed: {e}"
                )))
            }
        }
    }

    /// Shuts an environment down for good, in the background.
    fn end(&self, env: Environment) {
        let sandboxes = Arc::clone(&self.inner.sandboxes);
        self.inner.tasks.spawn(async move {
            if let Some(scratch) = env.shut_down().await {
                let _ =
                    tokio::task::spawn_blocking(move || sandboxes.remove_scratch(scratch)).await;
            }
        });
    }

    fn remove_scratch(&self, scratch: Scratch) {
        let sandboxes = Arc::clone(&self.inner.sandboxes);
        self.inner
            .tasks
            .spawn_blocking(move || sandboxes.remove_scratch(scratch));
    }

    /// The log of a function (shared by all its versions and environments).
    fn sink(&self, function_name: &str) -> LogSink {
        let mut sinks = self
            .inner
            .sinks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        sinks
            .entry(function_name.to_owned())
            .or_insert_with(|| self.inner.logs.sink(function_name))
            .clone()
    }

    fn release(&self, spec: &Arc<FunctionSpec>, mut env: Environment) {
        env.last_used = Instant::now();
        env.freeze();
        let mut pools = self
            .inner
            .pools
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match pools.get_mut(spec) {
            Some(pool) => pool.idle.push(env),
            // The pool was reaped meanwhile.
            None => self.end(env),
        }
        self.inner.released.notify_waiters();
    }

    /// Gives back an environment reserved by [`Self::acquire`] but never started, and the
    /// kept scratch it was to take over.
    fn unreserve(&self, spec: &Arc<FunctionSpec>, kept_scratch: Option<Scratch>) {
        let mut pools = self
            .inner
            .pools
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match (pools.get_mut(spec), kept_scratch) {
            (Some(pool), kept) => {
                pool.total = pool.total.saturating_sub(1);
                pool.kept_scratch
                    .extend(kept.map(|scratch| (scratch, Instant::now())));
            }
            (None, Some(scratch)) => self.remove_scratch(scratch),
            (None, None) => {}
        }
        drop(pools);
        self.inner.released.notify_waiters();
    }

    fn forget_one(&self, spec: &Arc<FunctionSpec>) {
        let mut pools = self
            .inner
            .pools
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(pool) = pools.get_mut(spec) {
            pool.total = pool.total.saturating_sub(1);
        }
        self.inner.released.notify_waiters();
    }

    /// Ends an environment after a reset (timeout, crash, init failure), keeping its scratch
    /// (and so its `/tmp`) for the spec's next environment, as AWS keeps `/tmp` across a reset.
    async fn discard(&self, spec: &Arc<FunctionSpec>, env: Environment) {
        let scratch = env.shut_down().await;
        let mut pools = self
            .inner
            .pools
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match (pools.get_mut(spec), scratch) {
            (Some(pool), scratch) => {
                pool.total = pool.total.saturating_sub(1);
                if let Some(scratch) = scratch {
                    pool.kept_scratch.push((scratch, Instant::now()));
                }
            }
            (None, Some(scratch)) => self.remove_scratch(scratch),
            (None, None) => {}
        }
        drop(pools);
        self.inner.released.notify_waiters();
    }
}

/// How one invocation ended, as the caller and the log see it.
struct Settled {
    payload: Bytes,
    function_error: bool,
    /// Whether the environment may serve another invocation (false after a reset).
    keep: bool,
    /// `Status` and `Error Type` for the REPORT line, on failures.
    status: Option<(String, String)>,
    /// The `Task timed out` line, logged before END.
    timeout_line: Option<String>,
}

/// Turns the runtime's answer (or its absence) into what AWS returns for it.
fn settle(outcome: Outcome, request_id: &str, timeout: Duration, env: &Environment) -> Settled {
    let failed = |payload: Bytes, keep: bool, status: &str, error_type: &str| Settled {
        payload,
        function_error: true,
        keep,
        status: Some((status.to_owned(), error_type.to_owned())),
        timeout_line: None,
    };
    match outcome {
        Outcome::Reply(Reply::Response(body)) => Settled {
            payload: body,
            function_error: false,
            keep: true,
            status: None,
            timeout_line: None,
        },
        // After an init error the runtime exits by itself; the next invoke re-inits.
        Outcome::Reply(Reply::Error {
            body,
            init,
            error_type,
        }) => {
            let kind = error_type.unwrap_or_else(|| "Unhandled".to_owned());
            failed(body, !init, "error", &kind)
        }
        Outcome::Reply(Reply::TooLarge) => failed(
            error_payload(
                "Function.ResponseSizeTooLarge",
                "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
            ),
            true,
            "error",
            "Function.ResponseSizeTooLarge",
        ),
        Outcome::Exited(status) => {
            let reason = match status {
                Some(s) if s.success() => "Runtime exited without providing a reason".to_owned(),
                Some(s) => format!("Runtime exited with error: {}", describe_exit(s)),
                None => "Runtime exited with error: signal: killed".to_owned(),
            };
            let message = format!("RequestId: {request_id} Error: {reason}");
            // AWS names an exit the out-of-memory killer caused, with the same message.
            let error_type = if env.out_of_memory() {
                "Runtime.OutOfMemory"
            } else {
                "Runtime.ExitError"
            };
            failed(
                error_payload(error_type, &message),
                false,
                "error",
                error_type,
            )
        }
        Outcome::TimedOut => {
            let secs = timeout.as_secs_f64();
            let message =
                format!("RequestId: {request_id} Error: Task timed out after {secs:.2} seconds");
            let now = lamina_types::timestamp::format_millis(lamina_types::timestamp::now_millis());
            Settled {
                timeout_line: Some(format!(
                    "{now} {request_id} Task timed out after {secs:.2} seconds"
                )),
                ..failed(
                    error_payload("Sandbox.Timedout", &message),
                    false,
                    "timeout",
                    "Sandbox.Timedout",
                )
            }
        }
    }
}

/// What an invocation refused or ended by the server's shutdown returns.
fn shutting_down() -> LambdaError {
    LambdaError::Service("Lamina is shutting down".to_owned())
}

fn error_payload(error_type: &str, message: &str) -> Bytes {
    let body = serde_json::json!({ "errorType": error_type, "errorMessage": message });
    Bytes::from(body.to_string())
}

fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(9)) => "signal: killed".to_owned(),
        (None, Some(signal)) => format!("signal: {signal}"),
        (None, None) => "unknown status".to_owned(),
    }
}

fn today() -> String {
    let stamp = lamina_types::timestamp::format_millis(lamina_types::timestamp::now_millis());
    stamp.get(..10).unwrap_or("1970-01-01").replace('-', "/")
}

/// Shuts down environments idle longer than the configured time.
async fn reap_idle(inner: std::sync::Weak<Inner>) {
    loop {
        let Some(strong) = inner.upgrade() else {
            return;
        };
        if strong.stopping.is_cancelled() {
            return;
        }
        let timeout = strong.config.idle_timeout;
        let (expired, stale_scratch) = {
            let mut pools = strong.pools.lock().unwrap_or_else(PoisonError::into_inner);
            let (mut expired, mut stale_scratch) = (Vec::new(), Vec::new());
            for pool in pools.values_mut() {
                let (old, fresh): (Vec<_>, Vec<_>) = pool
                    .idle
                    .drain(..)
                    .partition(|e| e.last_used.elapsed() >= timeout);
                pool.total -= old.len();
                pool.idle = fresh;
                expired.extend(old);
                let (old, fresh): (Vec<_>, Vec<_>) = pool
                    .kept_scratch
                    .drain(..)
                    .partition(|(_, at)| at.elapsed() >= timeout);
                pool.kept_scratch = fresh;
                stale_scratch.extend(old.into_iter().map(|(scratch, _)| scratch));
            }
            pools.retain(|_, p| p.total > 0 || !p.kept_scratch.is_empty());
            (expired, stale_scratch)
        };
        let executor = Executor {
            inner: Arc::clone(&strong),
        };
        for env in expired {
            tracing::debug!(environment = %env.id, "shutting down idle environment");
            executor.end(env);
        }
        for scratch in stale_scratch {
            executor.remove_scratch(scratch);
        }
        let period = (timeout / 4).clamp(Duration::from_millis(100), Duration::from_secs(5));
        drop((strong, executor));
        tokio::time::sleep(period).await;
    }
}

//! One execution environment: a runtime process, its Runtime API link and its log capture.

mod ahead;

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use tokio::process::{Child, Command};

use crate::env_process::{EnvProcess, Restored};
use tokio::sync::{mpsc, oneshot};

use lamina_jail::JailReport;
use lamina_jail::cgroup::{Cgroup, Usage};

use crate::jail_output::{self, OutputPipes};
use crate::launch::LaunchPlan;
use crate::logs::{InvocationLog, LogSink};
use crate::network::RuntimeApiSocket;
use crate::output::{self, Flush};
use crate::runtime_api::telemetry::{self, Telemetry};
use crate::runtime_api::{self, EnvironmentLink, Extensions, FunctionInfo, Invocation, Reply};
use crate::sandbox::{self, Scratch};

/// Longest time a runtime may take to start and ask for its first event (AWS: 10 s).
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long extensions get to handle SHUTDOWN before the environment is killed (AWS: 2 s
/// when the function has external extensions).
const EXTENSION_SHUTDOWN: Duration = Duration::from_secs(2);
/// How long an invocation whose runtime is gone waits for the jail to end and report why.
const JAIL_END_WAIT: Duration = Duration::from_secs(1);

/// Longest wait for telemetry subscribers to be sent what is batched, at the end of an
/// invoke (before the freeze) and at shutdown; a slow listener gets the rest later.
pub const TELEMETRY_FLUSH_WAIT: Duration = Duration::from_secs(1);

/// What an environment's extensions are told at registration, from its runtime's
/// environment variables.
fn function_info(plan: &LaunchPlan) -> FunctionInfo {
    let env = plan.jail.as_ref().map_or(&plan.env, |jail| &jail.env);
    let get = |key: &str| env.get(key).cloned().unwrap_or_default();
    FunctionInfo {
        function_name: get("AWS_LAMBDA_FUNCTION_NAME"),
        function_version: get("AWS_LAMBDA_FUNCTION_VERSION"),
        handler: get("_HANDLER"),
    }
}

/// Longest wait for the output reader to log what the runtime wrote during an invocation;
/// past it (a stalled disk) the invocation ends anyway and the reader catches up later. It
/// never waits for the runtime to stop writing.
const FLUSH_WAIT: Duration = Duration::from_secs(2);

/// How one hand-over of an event ended.
#[derive(Debug)]
pub enum Outcome {
    /// The runtime answered.
    Reply(Reply),
    /// The runtime process ended before answering.
    Exited(Option<ExitStatus>),
    /// The function timeout passed (or init did not finish in time).
    TimedOut,
}

/// A started runtime.
pub struct Environment {
    /// Short id, used for the scratch directory and in logs.
    pub id: String,
    api_server: tokio::task::JoinHandle<()>,
    /// The Runtime and Extensions API side of the environment.
    link: Arc<EnvironmentLink>,
    process: EnvProcess,
    invocations: mpsc::Sender<Invocation>,
    /// The current invocation's log tail, fed by the output reader.
    tail: Arc<Mutex<InvocationLog>>,
    /// The function's log, for the lines the platform writes about the environment.
    log: LogSink,
    /// One per output pipe (the runtime's, the extensions').
    flushes: Vec<mpsc::Sender<Flush>>,
    output_readers: Vec<tokio::task::JoinHandle<()>>,
    /// The jail's report of whose ending its own was (jails only).
    report: Option<std::io::PipeReader>,
    /// When the process was started.
    pub started: Instant,
    /// When the runtime first asked for an event; `None` while initialising.
    pub initialized: Option<Instant>,
    /// Restored from a SnapStart template: its start is a restore, not an Init.
    pub restored: bool,
    /// The environment's scratch directory; given back by [`Environment::shut_down`].
    scratch: Option<Scratch>,
    /// Its cgroup, when the machine has usable cgroups.
    cgroup: Option<Box<dyn Cgroup>>,
    /// Its own network namespace, kept open until it ends: the jail joins it through this
    /// descriptor (see [`RuntimeApiSocket::namespace_path`]).
    _network: Option<OwnedFd>,
    /// When it last finished an invocation.
    pub last_used: Instant,
    /// Whether it is one of its spec's provisioned environments (initialised ahead, never
    /// reaped for idleness, replaced when it ends).
    pub provisioned: bool,
    /// Whether its cgroup is frozen now (an idle environment is frozen only once it has
    /// stayed idle a while: see `acquire::FREEZE_AFTER_IDLE`).
    frozen: bool,
}

impl Environment {
    /// The function's log as this environment writes it (its log stream).
    pub(crate) fn log(&self) -> &LogSink {
        &self.log
    }

    /// Starts the runtime of `plan`, made for the Runtime API listening on `api`, as
    /// `process` says. On failure the scratch directory is given back.
    pub(crate) fn spawn(
        id: String,
        api: RuntimeApiSocket,
        plan: &LaunchPlan,
        sink: LogSink,
        scratch: Scratch,
        cgroup: Option<Box<dyn Cgroup>>,
        process: Process,
    ) -> Result<Self, (std::io::Error, Scratch)> {
        match Self::start(api, plan, sink, process) {
            Ok(started) => Ok(started.into_environment(id, scratch, cgroup)),
            Err(e) => {
                if let Some(cgroup) = cgroup {
                    tokio::task::spawn_blocking(move || sandbox::remove_cgroup(cgroup.as_ref()));
                }
                Err((e, scratch))
            }
        }
    }

    fn start(
        api: RuntimeApiSocket,
        plan: &LaunchPlan,
        sink: LogSink,
        process: Process,
    ) -> std::io::Result<Started> {
        // Everything the environment logs goes to the stream its runtime was told of (in the
        // jail's environment when jailed).
        let stream = plan
            .jail
            .as_ref()
            .map_or(&plan.env, |jail| &jail.env)
            .get("AWS_LAMBDA_LOG_STREAM_NAME")
            .map_or("", String::as_str);
        let sink = sink.with_stream(stream);
        let info = function_info(plan);
        // Telemetry reaches listeners inside the environment through its own namespace.
        let connector =
            telemetry::Connector::new(api.namespace.as_ref().and_then(|ns| ns.try_clone().ok()));
        let telemetry = Arc::new(Telemetry::new(
            &info.function_name,
            &info.function_version,
            connector,
        ));
        let (link, invocations) = EnvironmentLink::with_telemetry(
            Extensions::new(plan.extensions.len(), info),
            Arc::clone(&telemetry),
        );
        // In a namespace of its own, only the environment's processes can connect at all.
        let peers = match api.namespace {
            Some(_) => runtime_api::Peers::AnyInNamespace,
            None => runtime_api::Peers::RuntimeTreeOnly,
        };
        let tail = Arc::new(Mutex::new(InvocationLog::default()));
        let listener = tokio::net::TcpListener::from_std(api.listener)?;
        let api_server = tokio::spawn(runtime_api::serve(listener, Arc::clone(&link), peers));
        let (process, outputs) = match process.run(plan) {
            Ok(running) => running,
            Err(e) => {
                api_server.abort();
                return Err(e);
            }
        };
        if let Some(pid) = process.id() {
            link.set_runtime_pid(pid);
        }
        let report = outputs.report;
        let mut flushes = Vec::with_capacity(2);
        let mut output_readers = Vec::with_capacity(2);
        let sources = std::iter::once((outputs.runtime, telemetry::Stream::Function)).chain(
            outputs
                .extensions
                .map(|reader| (reader, telemetry::Stream::Extension)),
        );
        for (reader, stream) in sources {
            let pipe = match tokio::net::unix::pipe::Receiver::from_owned_fd(OwnedFd::from(reader))
            {
                Ok(pipe) => pipe,
                Err(e) => {
                    api_server.abort();
                    output_readers
                        .iter()
                        .for_each(tokio::task::JoinHandle::abort);
                    return Err(e);
                }
            };
            let (flush, flush_requests) = mpsc::channel(1);
            if stream == telemetry::Stream::Function {
                link.telemetry().set_output(flush.clone());
            }
            flushes.push(flush);
            output_readers.push(tokio::spawn(output::read_output(
                pipe,
                Arc::clone(&tail),
                flush_requests,
                sink.clone(),
                Some(telemetry::Tap::new(Arc::clone(&telemetry), stream)),
            )));
        }
        Ok(Started {
            api_server,
            link,
            network: api.namespace,
            process,
            invocations,
            tail,
            log: sink,
            flushes,
            output_readers,
            report,
        })
    }

    /// The environment's `/tmp` on the host, while it has one.
    pub(crate) fn tmp_dir(&self) -> Option<std::path::PathBuf> {
        self.scratch.as_ref().map(Scratch::tmp)
    }

    /// Freezes every process of the environment (idle between invokes: no CPU at all).
    pub fn freeze(&mut self) {
        if !self.frozen {
            self.set_frozen(true);
            self.frozen = true;
        }
    }

    /// Thaws the environment for its next invocation; nothing to do when it was not frozen.
    pub fn thaw(&mut self) {
        if self.frozen {
            self.set_frozen(false);
            self.frozen = false;
        }
    }

    /// Whether the environment is frozen now.
    pub fn is_frozen(&self) -> bool {
        self.frozen
    }

    fn set_frozen(&self, frozen: bool) {
        self.link.telemetry().set_frozen(frozen);
        if let Some(Err(e)) = self.cgroup.as_ref().map(|c| c.set_frozen(frozen)) {
            tracing::warn!(environment = %self.id, frozen, error = %e, "freezer write failed");
        }
    }

    /// What the environment used so far, from its cgroup.
    fn usage(&self) -> Option<Usage> {
        self.cgroup.as_ref().map(|c| c.usage())
    }

    /// Whether the kernel's out-of-memory killer killed a process of the environment.
    pub fn out_of_memory(&self) -> bool {
        self.usage().is_some_and(|u| u.oom_kills > 0)
    }

    /// Whether the runtime process is still running.
    pub fn is_alive(&mut self) -> bool {
        matches!(self.process.try_wait(), Ok(None))
    }

    /// Hands one event to the runtime and waits for its answer, its exit or the timeout.
    pub async fn invoke(
        &mut self,
        request_id: &str,
        payload: Bytes,
        invoked_function_arn: &str,
        client_context: Option<String>,
        timeout: Duration,
        stream: Option<crate::runtime_api::ResponseSink>,
    ) -> Outcome {
        let (delivered_tx, mut delivered) = oneshot::channel::<SystemTime>();
        let (reply_tx, mut reply) = oneshot::channel();
        let invocation = Invocation {
            request_id: request_id.to_owned(),
            payload,
            invoked_function_arn: invoked_function_arn.to_owned(),
            client_context,
            timeout,
            delivered: delivered_tx,
            reply: reply_tx,
            stream,
        };
        if self.invocations.send(invocation).await.is_err() {
            return Outcome::Exited(self.process.try_wait().ok().flatten());
        }
        let mut deadline = tokio::time::Instant::now() + INIT_TIMEOUT;
        let mut handed_over = false;
        loop {
            tokio::select! {
                biased;
                answer = &mut reply => {
                    return match answer {
                        Ok(reply) => Outcome::Reply(reply),
                        Err(_) => {
                            // The runtime is gone; its jail ends right after, saying why.
                            let ended = tokio::time::timeout(JAIL_END_WAIT, self.process.wait());
                            let status = ended.await.ok().and_then(Result::ok);
                            self.exited(request_id, status)
                        }
                    };
                }
                given = &mut delivered, if !handed_over => {
                    handed_over = true;
                    if given.is_ok() {
                        if self.initialized.is_none() {
                            self.log_extensions_ready();
                        }
                        self.initialized.get_or_insert_with(Instant::now);
                        deadline = tokio::time::Instant::now() + timeout;
                    }
                }
                status = self.process.wait() => {
                    let status = status.ok();
                    return self.exited(request_id, status);
                }
                () = tokio::time::sleep_until(deadline) => return Outcome::TimedOut,
            }
        }
    }

    /// The environment's processes ended: an extension's crash when the jail reports that an
    /// extension's exit ended it (the jail then kills the runtime), as AWS fails the Init or
    /// the invoke with `Extension.Crash`; otherwise the runtime's exit.
    fn exited(&self, request_id: &str, status: Option<ExitStatus>) -> Outcome {
        if let Some(JailReport::Extension(raw)) = self.jail_report() {
            let failure = runtime_api::ExtensionFailure::crash(Some(ExitStatus::from_raw(raw)));
            return Outcome::Reply(failure.reply(request_id));
        }
        Outcome::Exited(status)
    }

    /// What the jail reported as it ended; `None` while it runs, or without a jail.
    fn jail_report(&self) -> Option<JailReport> {
        let mut reader = self.report.as_ref()?;
        // Non-blocking: the jail may still run (its runtime API side ended first).
        let mut bytes = [0u8; 5];
        let mut got = 0;
        while got < bytes.len() {
            match reader.read(&mut bytes[got..]) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
        JailReport::decode(&bytes[..got])
    }

    /// Init is over: AWS logs one `EXTENSION` line per registered extension.
    fn log_extensions_ready(&self) {
        let lines = self.link.extensions().ready_lines();
        if lines.is_empty() {
            return;
        }
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        self.log.lines(&lines);
        for line in lines {
            self.note(line);
        }
    }

    /// Whether the environment runs external extensions.
    pub fn has_extensions(&self) -> bool {
        self.link.extensions().any()
    }

    /// Waits until every extension called `next` again after an invoke (their post-invoke
    /// work), at most until `until`. `false` when one failed or the time ran out: the
    /// environment must then be reset.
    pub async fn extensions_done(&self, until: tokio::time::Instant) -> bool {
        let ready = self.link.extensions().wait_ready();
        matches!(tokio::time::timeout_at(until, ready).await, Ok(Ok(())))
    }

    /// Sends SHUTDOWN to the extensions that asked for it and gives them AWS's shutdown
    /// time (2 s with external extensions) to call `next` again.
    async fn shut_down_extensions(&mut self, reason: ShutdownReason) {
        let deadline = SystemTime::now() + EXTENSION_SHUTDOWN;
        let deadline_ms = deadline
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        // Telemetry still batched (a delivery that failed before the freeze) goes first.
        self.link.telemetry().flush(TELEMETRY_FLUSH_WAIT).await;
        if !self
            .link
            .extensions()
            .shutdown(reason.as_str(), deadline_ms)
        {
            return;
        }
        let until = tokio::time::Instant::now() + EXTENSION_SHUTDOWN;
        let _ = self.extensions_done(until).await;
        // What the extensions printed for SHUTDOWN is logged before the processes die.
        let _ = self.take_log(true).await;
        self.link.telemetry().flush(TELEMETRY_FLUSH_WAIT).await;
    }

    /// The environment's Telemetry and Logs API side.
    pub fn telemetry(&self) -> &Arc<Telemetry> {
        self.link.telemetry()
    }

    /// Waits until what the runtime wrote so far is logged (at most [`FLUSH_WAIT`]), then
    /// returns the invocation's log tail and starts a new one. With `last` (the environment
    /// is ending), the runtime's output is no longer read afterwards.
    pub async fn take_log(&self, last: bool) -> InvocationLog {
        let flushed = async {
            let mut answers = Vec::with_capacity(self.flushes.len());
            for flush in &self.flushes {
                let (done, answered) = oneshot::channel();
                if flush.send(Flush { done, last }).await.is_ok() {
                    answers.push(answered);
                }
            }
            for answered in answers {
                let _ = answered.await;
            }
        };
        if tokio::time::timeout(FLUSH_WAIT, flushed).await.is_err() {
            tracing::warn!(environment = %self.id, "the function log fell behind its output");
        }
        std::mem::take(&mut *self.tail.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Adds a platform line (START) to the current invocation's log tail.
    pub fn note(&self, line: &str) {
        self.tail
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(line);
    }

    /// Peak memory of the environment in MB: its cgroup's peak, else the runtime process's
    /// peak resident size.
    pub fn max_memory_mb(&self) -> u64 {
        if let Some(peak) = self.cgroup.as_ref().and_then(|c| c.peak_memory_bytes()) {
            return peak.div_ceil(1 << 20);
        }
        let Some(pid) = self.process.id() else {
            return 0;
        };
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb.div_ceil(1024))
            .unwrap_or(0)
    }

    /// Kills every process of the environment, removes its cgroup and closes its Runtime API
    /// listener; extensions first get SHUTDOWN with `reason`. Gives back the scratch directory.
    pub async fn shut_down(mut self, reason: ShutdownReason) -> Option<Scratch> {
        if let Some(usage) = self.usage() {
            tracing::debug!(
                environment = %self.id,
                cpu_ms = usage.cpu_nanos.map(|n| n / 1_000_000),
                peak_memory_mb = usage.peak_memory_bytes.map(|b| b >> 20),
                oom_kills = usage.oom_kills,
                "environment ends"
            );
        }
        // A frozen process does not die until thawed (cgroup v1).
        self.thaw();
        if self.has_extensions() {
            self.shut_down_extensions(reason).await;
        }
        // The keeper's death takes the init with it, and the init's the whole PID namespace.
        let _ = self.process.kill().await;
        if let Some(cgroup) = self.cgroup.take() {
            let _ =
                tokio::task::spawn_blocking(move || sandbox::remove_cgroup(cgroup.as_ref())).await;
        }
        self.scratch.take()
    }
}

/// Why an environment ends, as its extensions' SHUTDOWN event says (`shutdownReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownReason {
    /// Idle, or the server is stopping.
    Spindown,
    /// Reset after an invocation timed out.
    Timeout,
    /// Reset after a crash, an init failure or an extension failure.
    Failure,
}

impl ShutdownReason {
    /// The value AWS sends.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Spindown => "spindown",
            Self::Timeout => "timeout",
            Self::Failure => "failure",
        }
    }
}

/// How an environment's process comes to be.
pub(crate) enum Process {
    /// A new jail (or, without isolation, the runtime itself) is started; a SnapStart
    /// template's gets its `control` socket (see [`crate::snapshot`]).
    New { control: Option<OwnedFd> },
    /// A standby jail, already in its cgroup, gets the plan.
    Waiting {
        child: Box<Child>,
        output: OutputPipes,
        plan: std::io::PipeWriter,
    },
    /// A SnapStart copy, already running in its environment (see [`crate::snapshot`]).
    Restored {
        restored: Box<Restored>,
        output: OutputPipes,
    },
}

impl Process {
    /// Runs `plan`: the process and the read ends of its output. A jail is
    /// sent its plan on its standard input (see [`lamina_jail::plan`]), new or standby alike.
    fn run(self, plan: &LaunchPlan) -> std::io::Result<(EnvProcess, OutputPipes)> {
        let frame = plan
            .jail
            .as_ref()
            .map(|jail| jail.encode().map_err(std::io::Error::other))
            .transpose()?;
        let (child, output, plan_pipe) = match self {
            Self::Restored { restored, output } => {
                return Ok((EnvProcess::Restored(*restored), output));
            }
            Self::New { control } => {
                let mut command = Command::new(&plan.program);
                command
                    .args(&plan.args)
                    .env_clear()
                    .envs(&plan.env)
                    .current_dir(&plan.cwd)
                    .kill_on_drop(true);
                let plan_pipe = if frame.is_some() {
                    let (plan_reader, plan_writer) = std::io::pipe()?;
                    command.stdin(Stdio::from(plan_reader));
                    Some(plan_writer)
                } else {
                    command.stdin(Stdio::null());
                    None
                };
                let (child, output) =
                    jail_output::spawn(&mut command, plan.jail.is_some(), control.as_ref())?;
                (child, output, plan_pipe)
            }
            Self::Waiting {
                child,
                output,
                plan: plan_pipe,
            } => (*child, output, Some(plan_pipe)),
        };
        if let Some(mut plan_pipe) = plan_pipe {
            let frame = frame.ok_or_else(|| {
                std::io::Error::other("a standby jail needs a jail plan, not a plain process")
            })?;
            // A few KB: it fits in the pipe's buffer; at worst this waits until the jail,
            // already started, reads it. The pipe closes here, once written.
            plan_pipe.write_all(&frame)?;
        }
        Ok((EnvProcess::Child(child), output))
    }
}

/// A runtime process started, before it is an [`Environment`].
struct Started {
    api_server: tokio::task::JoinHandle<()>,
    link: Arc<EnvironmentLink>,
    network: Option<OwnedFd>,
    process: EnvProcess,
    invocations: mpsc::Sender<Invocation>,
    tail: Arc<Mutex<InvocationLog>>,
    log: LogSink,
    flushes: Vec<mpsc::Sender<Flush>>,
    output_readers: Vec<tokio::task::JoinHandle<()>>,
    report: Option<std::io::PipeReader>,
}

impl Started {
    fn into_environment(
        self,
        id: String,
        scratch: Scratch,
        cgroup: Option<Box<dyn Cgroup>>,
    ) -> Environment {
        let now = Instant::now();
        Environment {
            id,
            api_server: self.api_server,
            link: self.link,
            process: self.process,
            invocations: self.invocations,
            tail: self.tail,
            log: self.log,
            flushes: self.flushes,
            output_readers: self.output_readers,
            report: self.report,
            started: now,
            initialized: None,
            restored: false,
            scratch: Some(scratch),
            cgroup,
            _network: self.network,
            last_used: now,
            provisioned: false,
            frozen: false,
        }
    }
}

impl Drop for Environment {
    fn drop(&mut self) {
        self.api_server.abort();
        // Output of a process that outlives its environment (without a PID namespace) is
        // nobody's: stop logging it.
        self.output_readers
            .iter()
            .for_each(tokio::task::JoinHandle::abort);
        // Dropped without `shut_down`: the process dies (kill on drop), the cgroup must too.
        if let Some(cgroup) = self.cgroup.take() {
            let _ = cgroup.set_frozen(false);
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn_blocking(move || sandbox::remove_cgroup(cgroup.as_ref()));
            }
        }
    }
}

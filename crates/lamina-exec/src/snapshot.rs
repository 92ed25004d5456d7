//! SnapStart: a published version's Init runs once, in a *template* environment, and every
//! cold start of that version is a copy of the initialised runtime, restored into an
//! environment of its own, instead of a new Init.
//!
//! **Mechanism.** A template is an ordinary environment (its own jail, namespaces, uid,
//! cgroup and network) whose Python runtime, after Init and the before-snapshot hooks, waits
//! on a control socket instead of asking for events (`runtimes/python/lamina_snapstart.py`).
//! A restore asks it for a copy: the template forks, and the copy moves itself into new
//! user, mount, PID, network, IPC and UTS namespaces; the server then maps the new
//! environment's own uid in the copy's user namespace, moves the copy into the environment's
//! cgroup, brings up its network and makes its `/tmp` (a copy of the template's) (see
//! [`restore`]); the copy attaches that `/tmp`, mounts its own `/proc`, becomes that uid,
//! drops every capability, stacks the full seccomp filter and runs the after-restore hooks. A
//! copy is as isolated as a new environment; its memory is the template's, shared
//! copy-on-write. Each template keeps one copy made ahead (a *spare*), so a cold start only
//! tells it to go. Copies live in the template's PID namespace, so its jail outlives its
//! runtime until they end; a template whose runtime ended is made again.
//!
//! Why not CRIU: Debian 12's `criu` (3.17) cannot run on this kernel (`criu check`: "vdso:
//! Unexpected rt vDSO area bounds"), and a memory image must be read back on every restore
//! (the numpy+pandas runtime holds about 100 MB), where a fork copies page tables only.
//!
//! **Limits.** A template lives in this server's memory: a server that restarts makes it
//! again at the first cold start of the version (that one start runs the Init). Templates run
//! no extensions ("extensions aside"), so restored environments have none. The template's
//! seccomp filter allows creating user namespaces (the copy's first step), which a new
//! environment's filter denies; each copy denies it again before user code runs.

mod protocol;
mod restore;

use restore::Spare;

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use lamina_types::{FunctionSpec, LambdaError};
use rustix::event::{PollFd, PollFlags};
use rustix::net::{AddressFamily, SocketFlags, SocketType};
use tokio::sync::OnceCell;

use crate::Executor;
use crate::environment::{Environment, ShutdownReason};
use crate::launch::LaunchPlan;
use crate::spawn::{StartError, set_initialization_type};

/// How often a retired template is checked for the end of its last copy.
const RETIRED_POLL: Duration = Duration::from_secs(1);

/// Longest a template's Init may take (AWS gives a SnapStart Init 15 minutes).
pub const TEMPLATE_INIT_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// The error type the Python runtime reports when an after-restore hook fails (awslambdaric's);
/// the invocation then fails with `SnapStartException`, as on AWS.
pub(crate) const AFTER_RESTORE_ERROR: &str = "Runtime.AfterRestoreError";

/// The variable that tells the Python runtime its template control socket's descriptor.
const TEMPLATE_FD_VARIABLE: &str = "_LAMINA_TEMPLATE_FD";

/// Why a version's snapshot could not be made.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SnapshotError {
    /// The runtime exited during Init or a before-snapshot hook (its log says why).
    #[error("the function's Init failed: {0}")]
    InitFailed(String),
    /// Init did not end within [`TEMPLATE_INIT_TIMEOUT`].
    #[error("the function's Init did not finish in {} s", TEMPLATE_INIT_TIMEOUT.as_secs())]
    InitTimeout,
    /// Lamina's own failure (starting the environment, the control socket).
    #[error("{0}")]
    Lamina(String),
}

/// A running template and its control socket.
pub(crate) struct Template {
    state: tokio::sync::Mutex<TemplateState>,
    control: OwnedFd,
    /// A copy made ahead of the next cold start.
    spare: Mutex<SpareSlot>,
    /// The template's `/tmp` on the host: each copy starts with a copy of it, as AWS's
    /// snapshots hold the environment's disk.
    tmp: Option<PathBuf>,
}

/// Where a template keeps its spare: none once the template is retired (a spare made after
/// that would never be used, nor removed).
#[derive(Default)]
struct SpareSlot {
    spare: Option<Box<Spare>>,
    retired: bool,
}

/// A template's environment, frozen while no restore needs it (as AWS's snapshot is still:
/// threads that Init left running do no work there), and the restores under way.
struct TemplateState {
    environment: Option<Environment>,
    restoring: usize,
}

impl Template {
    fn slot(&self) -> std::sync::MutexGuard<'_, SpareSlot> {
        self.spare.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn take_spare(&self) -> Option<Box<Spare>> {
        self.slot().spare.take()
    }

    fn has_spare(&self) -> bool {
        self.slot().spare.is_some()
    }

    /// Keeps `spare`, or gives it back when there is one already or the template is retired.
    fn put_spare(&self, spare: Box<Spare>) -> Result<(), Box<Spare>> {
        let mut slot = self.slot();
        if slot.retired || slot.spare.is_some() {
            return Err(spare);
        }
        slot.spare = Some(spare);
        Ok(())
    }

    /// Retires the template's spare slot: its spare, if any, is to be discarded.
    fn retire_spare(&self) -> Option<Box<Spare>> {
        let mut slot = self.slot();
        slot.retired = true;
        slot.spare.take()
    }

    /// Whether the template's runtime ended: it alone holds the other end of the control
    /// socket (its jail closes its own copies), so the socket hangs up when it does.
    fn runtime_ended(&self) -> bool {
        let mut fds = [PollFd::new(&self.control, PollFlags::IN)];
        let polled = rustix::event::poll(&mut fds, Some(&rustix::event::Timespec::default()));
        matches!(polled, Ok(n) if n > 0)
            && fds[0].revents().intersects(PollFlags::HUP | PollFlags::ERR)
    }

    /// Thaws the template for a restore (the first of those under way).
    async fn begin_restore(&self) {
        let mut state = self.state.lock().await;
        if state.restoring == 0
            && let Some(environment) = &mut state.environment
        {
            environment.thaw();
        }
        state.restoring += 1;
    }

    /// Freezes it again once no restore is under way (the copies forked and left its cgroup).
    async fn end_restore(&self) {
        let mut state = self.state.lock().await;
        state.restoring = state.restoring.saturating_sub(1);
        if state.restoring == 0
            && let Some(environment) = &mut state.environment
        {
            environment.freeze();
        }
    }
}

/// A template being made, or made: the first caller makes it, the others wait.
type TemplateCell = Arc<OnceCell<Arc<Template>>>;

/// The templates of this server, one per locked spec.
#[derive(Default)]
pub(crate) struct Templates {
    by_spec: Mutex<HashMap<Arc<FunctionSpec>, TemplateCell>>,
}

impl Templates {
    fn cell(&self, spec: &Arc<FunctionSpec>) -> TemplateCell {
        let mut by_spec = self.by_spec.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(by_spec.entry(Arc::clone(spec)).or_default())
    }

    /// The specs of every template, made or being made.
    pub(crate) fn specs(&self) -> Vec<Arc<FunctionSpec>> {
        let by_spec = self.by_spec.lock().unwrap_or_else(PoisonError::into_inner);
        by_spec.keys().cloned().collect()
    }

    /// Every template, taken out (the server stops).
    fn take_all(&self) -> Vec<Arc<Template>> {
        let mut by_spec = self.by_spec.lock().unwrap_or_else(PoisonError::into_inner);
        by_spec
            .drain()
            .filter_map(|(_, cell)| cell.get().cloned())
            .collect()
    }

    /// Forgets `template`, which ended, if it is still the one of `spec`.
    fn forget(&self, spec: &Arc<FunctionSpec>, template: &Arc<Template>) {
        let mut by_spec = self.by_spec.lock().unwrap_or_else(PoisonError::into_inner);
        let current = by_spec
            .get(spec)
            .and_then(|cell| cell.get())
            .is_some_and(|made| Arc::ptr_eq(made, template));
        if current {
            by_spec.remove(spec);
        }
    }

    /// Forgets a template whose making failed, so the next cold start tries again.
    fn forget_unmade(&self, spec: &Arc<FunctionSpec>) {
        let mut by_spec = self.by_spec.lock().unwrap_or_else(PoisonError::into_inner);
        if by_spec.get(spec).is_some_and(|cell| cell.get().is_none()) {
            by_spec.remove(spec);
        }
    }
}

/// `AWS_LAMBDA_INITIALIZATION_TYPE` of SnapStart environments, template and copies alike.
pub(crate) const SNAP_START: &str = "snap-start";

/// Turns a new environment's plan into a template's: its runtime gets the control socket,
/// knows it runs for SnapStart, and runs no extensions.
pub(crate) fn make_template_plan(plan: &mut LaunchPlan) {
    set_initialization_type(plan, SNAP_START);
    plan.extensions.clear();
    if let Some(jail) = plan.jail.as_mut() {
        jail.template = true;
        jail.extensions.clear();
        jail.env.insert(
            TEMPLATE_FD_VARIABLE.to_owned(),
            lamina_jail::output::TEMPLATE_CONTROL_FD.to_string(),
        );
    }
}

impl Executor {
    /// Whether this server restores SnapStart versions from templates: a copy makes its own
    /// namespaces, so it needs namespace isolation and private networks. Elsewhere a version
    /// with SnapStart runs its Init at each cold start, as one without.
    pub fn restores_snapshots(&self) -> bool {
        self.inner.config.isolation == crate::launch::Isolation::Namespaces
            && self.inner.networks.kind() == crate::network::FunctionNetwork::Isolated
    }

    /// Makes the template of `spec` (running its Init once) unless it exists. The control
    /// plane calls it when a version with SnapStart is published.
    pub async fn snapshot(&self, spec: &Arc<FunctionSpec>) -> Result<(), SnapshotError> {
        self.template(spec).await.map(drop)
    }

    /// The template of `spec`, made now if it does not exist.
    async fn template(&self, spec: &Arc<FunctionSpec>) -> Result<Arc<Template>, SnapshotError> {
        let cell = self.inner.templates.cell(spec);
        let made = cell
            .get_or_try_init(|| async {
                let template = Arc::new(self.make_template(spec).await?);
                self.refill(spec, &template);
                Ok(template)
            })
            .await
            .cloned();
        if made.is_err() {
            self.inner.templates.forget_unmade(spec);
        }
        made
    }

    async fn make_template(&self, spec: &Arc<FunctionSpec>) -> Result<Template, SnapshotError> {
        let (ours, theirs) = rustix::net::socketpair(
            AddressFamily::UNIX,
            SocketType::SEQPACKET,
            SocketFlags::CLOEXEC,
            None,
        )
        .map_err(|e| SnapshotError::Lamina(format!("a control socket: {e}")))?;
        let mut environment = self
            .start_environment_as(spec, None, SNAP_START, Some(theirs))
            .await
            .map_err(|e| match e {
                StartError::Lamina(e) => SnapshotError::Lamina(e.to_string()),
                StartError::Function(e) => SnapshotError::InitFailed(format!("{e:?}")),
            })?;
        let waiting = ours
            .try_clone()
            .map_err(|e| SnapshotError::Lamina(e.to_string()));
        let ready = match waiting {
            Ok(waiting) => tokio::task::spawn_blocking(move || wait_ready(&waiting))
                .await
                .unwrap_or_else(|e| Err(std::io::Error::other(e))),
            Err(e) => Err(std::io::Error::other(e)),
        };
        let failure = match ready {
            Ok(()) => None,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Some(SnapshotError::InitTimeout),
            Err(_) => {
                // The runtime ended: Init failed, and its log says why.
                let log = environment.take_log(true).await;
                Some(SnapshotError::InitFailed(log.last_lines(5)))
            }
        };
        if let Some(failure) = failure {
            if let Some(scratch) = environment.shut_down(ShutdownReason::Failure).await {
                self.remove_scratch(scratch);
            }
            return Err(failure);
        }
        tracing::info!(function = %spec.function_name, version = %spec.version, "SnapStart template ready");
        environment.freeze();
        Ok(Template {
            tmp: environment.tmp_dir(),
            spare: Mutex::default(),
            state: tokio::sync::Mutex::new(TemplateState {
                environment: Some(environment),
                restoring: 0,
            }),
            control: ours,
        })
    }

    /// A new environment for `spec`, restored from its template (made first if needed).
    /// A template that died (its runtime killed or crashed after the snapshot) is made again,
    /// once, by the same cold start.
    pub(crate) async fn restore_environment(
        &self,
        spec: &Arc<FunctionSpec>,
    ) -> Result<Environment, StartError> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let template = self.template(spec).await.map_err(|e| {
                StartError::Lamina(LambdaError::Service(format!(
                    "SnapStart could not restore {}:{}: {e}",
                    spec.function_name, spec.version
                )))
            })?;
            let restored = self.restore_from(spec, &template).await;
            if restored.is_ok() || attempts > 1 || !template.runtime_ended() {
                return restored;
            }
            tracing::warn!(function = %spec.function_name, version = %spec.version, "the SnapStart template's runtime ended; making it again");
            self.inner.templates.forget(spec, &template);
            self.retire(&template).await;
        }
    }

    /// Retires a template whose runtime ended: its environment ends once its restored copies
    /// have (they live in its PID namespace, which its end would tear down), or when the
    /// server stops.
    async fn retire(&self, template: &Template) {
        if let Some(spare) = template.retire_spare() {
            self.discard_spare(*spare);
        }
        let Some(mut environment) = template.state.lock().await.environment.take() else {
            return;
        };
        environment.thaw();
        let stopping = self.inner.stopping.clone();
        let executor = self.clone();
        self.inner.tasks.spawn(async move {
            while environment.is_alive() {
                tokio::select! {
                    () = stopping.cancelled() => break,
                    () = tokio::time::sleep(RETIRED_POLL) => {}
                }
            }
            if let Some(scratch) = environment.shut_down(ShutdownReason::Spindown).await {
                executor.remove_scratch(scratch);
            }
        });
    }

    /// Every template's environment, taken out to be shut down (the server stops).
    pub(crate) async fn take_templates(&self) -> Vec<Environment> {
        let mut environments = Vec::new();
        for template in self.inner.templates.take_all() {
            if let Some(spare) = template.retire_spare() {
                self.discard_spare(*spare);
            }
            environments.extend(template.state.lock().await.environment.take());
        }
        environments
    }
}

/// Waits (blocking, at most [`TEMPLATE_INIT_TIMEOUT`]) for the template's `ready`; an error
/// when the socket ends first (the runtime exited).
fn wait_ready(control: &OwnedFd) -> std::io::Result<()> {
    rustix::net::sockopt::set_socket_timeout(
        control,
        rustix::net::sockopt::Timeout::Recv,
        Some(TEMPLATE_INIT_TIMEOUT),
    )?;
    let mut buf = [0u8; 16];
    let received = rustix::net::recv(control, &mut buf[..], rustix::net::RecvFlags::empty());
    match received {
        Ok((n, _)) if buf[..n] == *b"ready" => Ok(()),
        Ok(_) => Err(std::io::Error::other(
            "the template's runtime ended before it was ready",
        )),
        Err(rustix::io::Errno::AGAIN) => Err(std::io::ErrorKind::TimedOut.into()),
        Err(e) => Err(e.into()),
    }
}

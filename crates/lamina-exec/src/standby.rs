//! Environments started ahead of need: a jail process already in a fresh cgroup, waiting for
//! its plan on a pipe. Joining a cgroup costs 6-15 ms on cgroup v1 when it happens rarely
//! (the kernel waits out an RCU grace period), which every cold start would otherwise pay.
//! A claimed standby is replaced in the background. With a private network per environment,
//! a standby's network namespace and Runtime API listener are made ahead too.

use std::io::Write;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use lamina_jail::JailRequest;
use lamina_jail::cgroup::{Cgroup, Limits};
use tokio::process::{Child, Command};
use tokio_util::task::TaskTracker;

use crate::jail_output::{self, OutputPipes};
use crate::network::{Networks, RuntimeApiSocket};
use crate::sandbox::{self, Sandboxes};

/// A jail process waiting in its cgroup for a plan.
pub struct Standby {
    /// Its cgroup; the environment's id is the cgroup's name.
    pub cgroup: Box<dyn Cgroup>,
    /// The jail process.
    pub child: Child,
    /// The read ends of its output.
    pub output: OutputPipes,
    /// Its Runtime API socket in its own network namespace, made ahead; `None` on the
    /// host's network (a free port is bound when a function claims it).
    pub api: Option<RuntimeApiSocket>,
    /// Its standard input, where its plan goes ([`lamina_jail::JailPlan::encode`]) once a
    /// function claims it; it was told to stand by on it already.
    pub plan: std::io::PipeWriter,
}

/// The standbys of one executor.
pub struct Standbys {
    wanted: usize,
    jail_program: PathBuf,
    networks: Networks,
    sandboxes: Arc<Sandboxes>,
    state: Mutex<State>,
    /// The executor's background tasks: standbys starting or ending are among them, so
    /// shutdown waits until they and their cgroups are gone.
    tasks: TaskTracker,
    /// Cold starts that found a standby ready, and those that did not (the bench reports
    /// them: a cold start without one pays for the sandbox on its critical path).
    taken: AtomicU64,
    missed: AtomicU64,
}

#[derive(Default)]
struct State {
    ready: Vec<Standby>,
    starting: usize,
    closed: bool,
}

impl Standbys {
    /// Keeps `wanted` standbys ready; none without cgroups (so none without namespaces):
    /// there is nothing to win.
    pub fn new(
        wanted: usize,
        jail_program: PathBuf,
        networks: Networks,
        sandboxes: Arc<Sandboxes>,
        tasks: TaskTracker,
    ) -> Arc<Self> {
        let wanted = if sandboxes.has_cgroups() { wanted } else { 0 };
        let this = Arc::new(Self {
            wanted,
            jail_program,
            networks,
            sandboxes,
            state: Mutex::default(),
            tasks,
            taken: AtomicU64::new(0),
            missed: AtomicU64::new(0),
        });
        this.refill();
        this
    }

    /// A ready standby, if any; a replacement is started in the background.
    pub fn take(self: &Arc<Self>) -> Option<Standby> {
        let mut dead = Vec::new();
        let taken = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            let mut taken = None;
            while let Some(mut standby) = state.ready.pop() {
                if matches!(standby.child.try_wait(), Ok(None)) {
                    taken = Some(standby);
                    break;
                }
                dead.push(standby);
            }
            taken
        };
        for standby in dead {
            self.discard(standby);
        }
        self.refill();
        let counter = if taken.is_some() {
            &self.taken
        } else {
            &self.missed
        };
        counter.fetch_add(1, Ordering::Relaxed);
        taken
    }

    /// How many cold starts took a ready standby, and how many found none.
    pub fn uses(&self) -> (u64, u64) {
        (
            self.taken.load(Ordering::Relaxed),
            self.missed.load(Ordering::Relaxed),
        )
    }

    /// Starts standbys until `wanted` are ready or starting.
    fn refill(self: &Arc<Self>) {
        let missing = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            if state.closed {
                return;
            }
            let missing = self
                .wanted
                .saturating_sub(state.ready.len() + state.starting);
            state.starting += missing;
            missing
        };
        for _ in 0..missing {
            let this = Arc::clone(self);
            self.tasks.spawn(async move {
                let started = this.start_one().await;
                let unwanted = {
                    let mut state = this.state.lock().unwrap_or_else(PoisonError::into_inner);
                    state.starting -= 1;
                    match started {
                        Ok(standby) if !state.closed => {
                            state.ready.push(standby);
                            None
                        }
                        Ok(standby) => Some(standby),
                        Err(e) => {
                            tracing::warn!(error = %e, "starting a standby environment failed");
                            None
                        }
                    }
                };
                if let Some(standby) = unwanted {
                    end(standby).await;
                }
            });
        }
    }

    async fn start_one(&self) -> std::io::Result<Standby> {
        let name = format!("env-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let sandboxes = Arc::clone(&self.sandboxes);
        // Small limits until a function claims it and sets its own.
        let limits = Limits {
            memory_bytes: 128 << 20,
            pids: 16,
        };
        let networks = self.networks.clone();
        let (cgroup, api) = tokio::task::spawn_blocking(move || {
            let cgroup = sandboxes
                .cgroup_with(&name, &limits)
                .map_err(std::io::Error::other)?;
            let api = match networks {
                Networks::Host => Ok(None),
                Networks::Private(_) => networks.runtime_api().map(Some),
            };
            match api {
                Ok(api) => Ok((cgroup, api)),
                Err(e) => {
                    sandbox::remove_cgroup(cgroup.as_ref());
                    Err(e)
                }
            }
        })
        .await
        .map_err(std::io::Error::other)??;
        // On the jail's one transport, its standard input: stand by now, the plan later.
        let standby = JailRequest::Standby {
            cgroups: cgroup.procs_files(),
        }
        .encode()
        .map_err(std::io::Error::other);
        let started = standby.and_then(|frame| {
            let (plan_reader, mut plan) = std::io::pipe()?;
            let mut command = Command::new(&self.jail_program);
            command
                .arg(lamina_jail::SUBCOMMAND)
                .env_clear()
                .current_dir("/")
                .stdin(Stdio::from(plan_reader))
                .kill_on_drop(true);
            let (child, output) = jail_output::spawn(&mut command, true, None)?;
            // A few hundred bytes: they fit in the pipe's buffer.
            plan.write_all(&frame)?;
            Ok((child, output, plan))
        });
        match started {
            Ok((child, output, plan)) => Ok(Standby {
                cgroup,
                api,
                child,
                output,
                plan,
            }),
            Err(e) => {
                tokio::task::spawn_blocking(move || sandbox::remove_cgroup(cgroup.as_ref()));
                Err(e)
            }
        }
    }

    /// Ends every standby (waiting until they and their cgroups are gone) and starts no more.
    pub async fn shut_down(&self) {
        let ready = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.closed = true;
            std::mem::take(&mut state.ready)
        };
        for standby in ready {
            end(standby).await;
        }
    }

    /// Ends an unused standby: killed with its cgroup, in the background.
    pub fn discard(&self, standby: Standby) {
        self.tasks.spawn(end(standby));
    }
}

async fn end(mut standby: Standby) {
    let _ = standby.child.kill().await;
    let cgroup = standby.cgroup;
    let _ = tokio::task::spawn_blocking(move || sandbox::remove_cgroup(cgroup.as_ref())).await;
}

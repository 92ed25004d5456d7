//! Taking environments from the pools and giving them back: warm ones first, new ones while
//! a spec is under its cap and the server has descriptors to spare, and every environment
//! that ends removed in the background, its slot freed and waiters woken.

use std::sync::{Arc, Weak};
use std::time::Duration;

use lamina_types::{FunctionSpec, LambdaError};

use crate::environment::{Environment, ShutdownReason};
use crate::pool::{Pooled, Taken};
use crate::sandbox::Scratch;
use crate::spawn::StartError;
use crate::{Executor, Inner, descriptors};

impl Pooled for Environment {
    fn is_alive(&mut self) -> bool {
        Environment::is_alive(self)
    }

    fn last_used(&self) -> std::time::Instant {
        self.last_used
    }

    fn is_provisioned(&self) -> bool {
        self.provisioned
    }
}

impl Executor {
    /// An environment for `spec` and whether it is new (a cold start): an idle one, else a
    /// new one. Throttled (429) at the spec's cap or when the server's descriptors run low.
    pub(crate) async fn acquire(
        &self,
        spec: &Arc<FunctionSpec>,
    ) -> Result<(Environment, bool), StartError> {
        let max = self.inner.config.max_environments_per_function;
        let (taken, dead) = self.inner.pools.take(spec, max);
        for env in dead {
            let provisioned = env.provisioned;
            self.end(env);
            if provisioned {
                self.provisioned_ended(spec);
            }
        }
        let (kept_scratch, environments) = match taken {
            Taken::Warm(mut env) => {
                env.thaw();
                return Ok((env, false));
            }
            // Each version may have a bounded number of environments, as reserved concurrency.
            Taken::Full => {
                return Err(StartError::Lamina(LambdaError::rate_exceeded(Some(
                    "ReservedFunctionConcurrentInvocationLimitExceeded",
                ))));
            }
            Taken::Reserved {
                kept_scratch,
                environments,
            } => (kept_scratch, environments),
        };
        if !descriptors::room_for(environments, self.inner.config.descriptor_reserve) {
            tracing::warn!(
                function = %spec.function_name,
                reserve = self.inner.config.descriptor_reserve,
                "cold start refused: the server's descriptor reserve is in use"
            );
            self.forget_keeping(spec, kept_scratch);
            return Err(StartError::Lamina(LambdaError::rate_exceeded(Some(
                "ConcurrentInvocationLimitExceeded",
            ))));
        }
        let started = if spec.snap_start && self.restores_snapshots() {
            // A restored environment makes its own `/tmp`: a reset one's is not taken over.
            if let Some(kept) = kept_scratch {
                self.remove_scratch(kept);
            }
            self.restore_environment(spec).await
        } else {
            self.start_environment(spec, kept_scratch).await
        };
        match started {
            Ok(env) => Ok((env, true)),
            Err(e) => {
                self.forget_one(spec);
                Err(e)
            }
        }
    }

    /// Puts an environment back for the spec's next invocation; it is frozen once it has
    /// stayed idle for [`FREEZE_AFTER_IDLE`] (see [`freeze_idle`]).
    pub(crate) fn release(&self, spec: &Arc<FunctionSpec>, mut env: Environment) {
        env.last_used = std::time::Instant::now();
        let provisioned = env.provisioned;
        if let Err(env) = self.inner.pools.release(spec, env) {
            // The pool was reaped meanwhile.
            self.end(env);
        }
        self.inner.released.notify_waiters();
        if provisioned {
            // Fewer may be wanted now than when it was taken.
            self.adjust_provisioned(spec);
        }
    }

    /// Frees the slot of an environment that ended or never started.
    pub(crate) fn forget_one(&self, spec: &Arc<FunctionSpec>) {
        self.inner.pools.forget_one(spec);
        self.inner.released.notify_waiters();
    }

    /// Frees a slot, keeping `scratch` for the spec's next environment.
    fn forget_keeping(&self, spec: &Arc<FunctionSpec>, scratch: Option<Scratch>) {
        if let Some(orphan) = self.inner.pools.forget_keeping(spec, scratch) {
            self.remove_scratch(orphan);
        }
        self.inner.released.notify_waiters();
    }

    /// Ends an environment after a reset (timeout, crash, init failure), keeping its scratch
    /// (and so its `/tmp`) for the spec's next environment, as AWS keeps `/tmp` across a reset.
    pub(crate) async fn discard(
        &self,
        spec: &Arc<FunctionSpec>,
        env: Environment,
        reason: ShutdownReason,
    ) {
        let provisioned = env.provisioned;
        let scratch = env.shut_down(reason).await;
        self.forget_keeping(spec, scratch);
        if provisioned {
            self.provisioned_ended(spec);
        }
    }

    /// Shuts an environment down for good, in the background.
    pub(crate) fn end(&self, env: Environment) {
        let sandboxes = Arc::clone(&self.inner.sandboxes);
        self.inner.tasks.spawn(async move {
            if let Some(scratch) = env.shut_down(ShutdownReason::Spindown).await {
                let _ =
                    tokio::task::spawn_blocking(move || sandboxes.remove_scratch(scratch)).await;
            }
        });
    }

    /// Removes a scratch directory (and its `/tmp` mount), in the background.
    pub(crate) fn remove_scratch(&self, scratch: Scratch) {
        let sandboxes = Arc::clone(&self.inner.sandboxes);
        self.inner
            .tasks
            .spawn_blocking(move || sandboxes.remove_scratch(scratch));
    }
}

/// How long an environment stays idle before it is frozen. A freeze and its thaw cost two
/// cgroup writes and the kernel a stop and restart of every task of the environment (some
/// 0.1-0.3 ms in all), so freezing at every release taxed functions invoked back to back for
/// nothing. 100 ms is far above the gap between such invokes, and short enough that an idle
/// environment's background threads stop soon, as AWS freezes an environment soon after its
/// invoke (without saying when).
pub(crate) const FREEZE_AFTER_IDLE: Duration = Duration::from_millis(100);

/// How often idle environments are checked: each is frozen 100 to 150 ms after its invoke.
const FREEZE_SWEEP_PERIOD: Duration = Duration::from_millis(50);

/// Freezes the environments idle for [`FREEZE_AFTER_IDLE`], every [`FREEZE_SWEEP_PERIOD`].
/// They are frozen in place, under the pools' lock, so none is taken meanwhile (an invoke
/// that takes one thaws it when [`Environment::is_frozen`] says so).
pub(crate) async fn freeze_idle(inner: Weak<Inner>) {
    loop {
        let Some(strong) = inner.upgrade() else {
            return;
        };
        if strong.stopping.is_cancelled() {
            return;
        }
        strong.pools.visit_idle(|env| {
            if !env.is_frozen() && env.last_used.elapsed() >= FREEZE_AFTER_IDLE {
                env.freeze();
            }
        });
        drop(strong);
        tokio::time::sleep(FREEZE_SWEEP_PERIOD).await;
    }
}

/// Shuts down environments idle longer than the configured time, and drops the kept scratch
/// no environment took over in that time.
pub(crate) async fn reap_idle(inner: Weak<Inner>) {
    loop {
        let Some(strong) = inner.upgrade() else {
            return;
        };
        if strong.stopping.is_cancelled() {
            return;
        }
        let timeout = strong.config.idle_timeout;
        let (expired, stale_scratch) = strong.pools.expire(timeout);
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

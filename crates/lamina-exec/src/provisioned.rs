//! Provisioned concurrency: environments started and initialised ahead of any invoke, kept
//! (never reaped for idleness) and replaced when one ends. The caller says how many each
//! locked spec wants ([`Executor::provision`]); which specs those are, and re-resolving them
//! when an alias moves, is the caller's (the executor never queries the store).
//!
//! Provisioned environments live in their spec's pool with the others, flagged: the pool
//! hands them out first, so invokes use them before any on-demand environment, and beyond
//! them on-demand environments start as usual.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use lamina_types::FunctionSpec;

use crate::Executor;
use crate::environment::{Environment, ShutdownReason};
use crate::spawn::StartError;

/// `AWS_LAMBDA_INITIALIZATION_TYPE` of a provisioned environment.
const PROVISIONED: &str = "provisioned-concurrency";

/// What one spec's provisioned environments are doing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProvisionedCounts {
    /// How many are wanted.
    pub requested: usize,
    /// Started and initialised (idle or busy with an invoke).
    pub ready: usize,
    /// Of those, busy with an invoke.
    pub in_use: usize,
    /// Starting or running their Init.
    pub starting: usize,
    /// Why the last one could not be started or initialised; no more are started until the
    /// configuration changes (a new `generation`, or another count).
    pub failure: Option<String>,
}

/// One spec's wish and its progress.
#[derive(Debug, Default)]
struct Wanted {
    count: usize,
    generation: i64,
    starting: usize,
    ready: usize,
    failure: Option<String>,
}

/// The provisioned environments of every spec.
#[derive(Default)]
pub(crate) struct Provisioning {
    specs: Mutex<HashMap<Arc<FunctionSpec>, Wanted>>,
}

impl Provisioning {
    fn lock(&self) -> MutexGuard<'_, HashMap<Arc<FunctionSpec>, Wanted>> {
        self.specs.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Executor {
    /// Makes the provisioned environments what `wanted` says: for each spec, `count`
    /// environments (with the configuration's `generation`, e.g. its last-modified time: a
    /// new one retries a spec whose Init failed). Specs left out get none any more. Returns
    /// at once; environments start and end in the background. Also replaces provisioned
    /// environments that died while idle.
    pub fn provision(&self, wanted: Vec<(Arc<FunctionSpec>, usize, i64)>) {
        let specs: Vec<Arc<FunctionSpec>> = {
            let mut all = self.inner.provisioning.lock();
            for entry in all.values_mut() {
                entry.count = 0;
            }
            for (spec, count, generation) in wanted {
                let entry = all.entry(spec).or_default();
                if entry.generation != generation {
                    entry.failure = None;
                    entry.generation = generation;
                }
                entry.count = count;
            }
            all.keys().cloned().collect()
        };
        for spec in specs {
            self.adjust_provisioned(&spec);
        }
    }

    /// How `spec`'s provisioned environments stand; `None` when it wants none and has none.
    pub fn provisioned(&self, spec: &Arc<FunctionSpec>) -> Option<ProvisionedCounts> {
        let counts = {
            let all = self.inner.provisioning.lock();
            let wanted = all.get(spec)?;
            ProvisionedCounts {
                requested: wanted.count,
                ready: wanted.ready,
                in_use: 0,
                starting: wanted.starting,
                failure: wanted.failure.clone(),
            }
        };
        let idle = self.inner.pools.idle_provisioned(spec);
        Some(ProvisionedCounts {
            in_use: counts.ready.saturating_sub(idle),
            ..counts
        })
    }

    /// Every provisioned environment of the server: `(ready, in use)`.
    pub fn provisioned_totals(&self) -> (usize, usize) {
        let specs: Vec<Arc<FunctionSpec>> =
            self.inner.provisioning.lock().keys().cloned().collect();
        specs
            .iter()
            .filter_map(|spec| self.provisioned(spec))
            .fold((0, 0), |(ready, in_use), c| {
                (ready + c.ready, in_use + c.in_use)
            })
    }

    /// A provisioned environment of `spec` ended (a reset, a crash): it is replaced.
    pub(crate) fn provisioned_ended(&self, spec: &Arc<FunctionSpec>) {
        if let Some(wanted) = self.inner.provisioning.lock().get_mut(spec) {
            wanted.ready = wanted.ready.saturating_sub(1);
        }
        self.adjust_provisioned(spec);
    }

    /// Ends the idle provisioned environments `spec` has beyond its count (and those found
    /// dead), and starts the missing ones.
    pub(crate) fn adjust_provisioned(&self, spec: &Arc<FunctionSpec>) {
        if self.inner.stopping.is_cancelled() {
            return;
        }
        let excess = {
            let all = self.inner.provisioning.lock();
            let Some(wanted) = all.get(spec) else { return };
            wanted.ready.saturating_sub(wanted.count)
        };
        let (unwanted, dead) = self.inner.pools.take_unwanted(spec, excess);
        let gone = unwanted.len() + dead.iter().filter(|e| e.provisioned).count();
        let missing = {
            let mut all = self.inner.provisioning.lock();
            let Some(wanted) = all.get_mut(spec) else {
                return;
            };
            wanted.ready = wanted.ready.saturating_sub(gone);
            let missing = if wanted.failure.is_some() {
                0
            } else {
                wanted.count.saturating_sub(wanted.ready + wanted.starting)
            };
            wanted.starting += missing;
            if wanted.count == 0 && wanted.ready == 0 && wanted.starting == 0 {
                all.remove(spec);
            }
            missing
        };
        for env in unwanted.into_iter().chain(dead) {
            self.end(env);
        }
        if gone > 0 {
            self.inner.released.notify_waiters();
        }
        for _ in 0..missing {
            let executor = self.clone();
            let spec = Arc::clone(spec);
            self.inner.tasks.spawn(async move {
                let started = executor.start_provisioned(&spec).await;
                let ready = {
                    let mut all = executor.inner.provisioning.lock();
                    let wanted = all.entry(Arc::clone(&spec)).or_default();
                    wanted.starting = wanted.starting.saturating_sub(1);
                    match started {
                        Ok(env) => {
                            wanted.ready += 1;
                            Some(env)
                        }
                        Err(why) => {
                            tracing::warn!(function = %spec.function_name, version = %spec.version, reason = %why, "a provisioned environment could not be initialised");
                            wanted.failure = Some(why);
                            None
                        }
                    }
                };
                if let Some(env) = ready {
                    executor.release(&spec, env);
                }
                executor.adjust_provisioned(&spec);
            });
        }
    }

    /// Starts one provisioned environment of `spec` and runs its Init; on failure nothing is
    /// left of it and the error says why.
    async fn start_provisioned(&self, spec: &Arc<FunctionSpec>) -> Result<Environment, String> {
        let max = self.inner.config.max_environments_per_function;
        let Some(kept_scratch) = self.inner.pools.reserve(spec, max) else {
            return Err(format!(
                "this server runs at most {max} environments per function version \
                 (--max-environments-per-function)"
            ));
        };
        let mut env = match self
            .start_environment_as(spec, kept_scratch, PROVISIONED, None)
            .await
        {
            Ok(env) => env,
            Err(e) => {
                self.forget_one(spec);
                return Err(match e {
                    StartError::Lamina(e) => e.to_string(),
                    StartError::Function(e) => e.error_type().to_owned(),
                });
            }
        };
        let init = tokio::select! {
            init = env.initialize_ahead() => init,
            () = self.inner.stopping.cancelled() => Err(crate::shutting_down().to_string()),
        };
        if let Err(why) = init {
            self.discard(spec, env, ShutdownReason::Failure).await;
            return Err(why);
        }
        if self.inner.stopping.is_cancelled() {
            self.discard(spec, env, ShutdownReason::Spindown).await;
            return Err(crate::shutting_down().to_string());
        }
        env.provisioned = true;
        Ok(env)
    }
}

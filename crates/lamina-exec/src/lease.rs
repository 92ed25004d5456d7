//! An environment taken from its pool for one invocation. Whatever ends the invocation, the
//! environment goes back: to the pool when it may serve again, else it is ended with its slot
//! freed. A lease dropped without [`Lease::end`] (the invocation's task panicked, or the
//! runtime dropped it) ends its environment in the background, so no slot, `/tmp` mount or
//! cgroup is ever lost.

use std::sync::Arc;

use lamina_types::FunctionSpec;

use crate::Executor;
use crate::environment::{Environment, ShutdownReason};

/// One environment, out of its pool for one invocation.
pub(crate) struct Lease {
    executor: Executor,
    spec: Arc<FunctionSpec>,
    /// `Some` until [`Lease::end`] or the drop hands it back.
    env: Option<Environment>,
}

impl Lease {
    /// Holds `env`, taken from the pool of `spec`.
    pub(crate) fn new(executor: &Executor, spec: &Arc<FunctionSpec>, env: Environment) -> Self {
        Self {
            executor: executor.clone(),
            spec: Arc::clone(spec),
            env: Some(env),
        }
    }

    /// The environment; `None` only once it was handed back, which consumes the lease, so
    /// never to a caller.
    pub(crate) fn env(&mut self) -> Option<&mut Environment> {
        self.env.as_mut()
    }

    /// Hands the environment back: to the pool when `reset` is `None`, else it is ended for
    /// that reason (a reset: its scratch is kept for the spec's next environment).
    pub(crate) async fn end(mut self, reset: Option<ShutdownReason>) {
        let Some(env) = self.env.take() else { return };
        match reset {
            None => self.executor.release(&self.spec, env),
            Some(reason) => self.executor.discard(&self.spec, env, reason).await,
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(env) = self.env.take() else { return };
        tracing::warn!(environment = %env.id, "an invocation ended without handing its environment back");
        let executor = self.executor.clone();
        let spec = Arc::clone(&self.spec);
        let tasks = executor.inner.tasks.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let reset = async move {
                    executor.discard(&spec, env, ShutdownReason::Failure).await;
                };
                tasks.spawn_on(reset, &runtime);
            }
            // No runtime left (the process is ending): the environment's own drop kills its
            // process; the slot is freed all the same.
            Err(_) => {
                drop(env);
                executor.forget_one(&spec);
            }
        }
    }
}

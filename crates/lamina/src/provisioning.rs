//! Keeps the provisioned concurrency configurations of the store running in the executor:
//! each configuration's version or alias is resolved into its locked spec (an alias into its
//! `FunctionVersion`'s), and the executor is told how many environments each spec wants.
//! Resolving again every [`RECONCILE_PERIOD`] follows an alias that moved, a version or
//! function that went away, and, at start, configurations an earlier run left; a put or a
//! delete wakes it at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use lamina_control::FunctionService;
use lamina_control::functions::{ProvisionedState, Provisioner};
use lamina_exec::Executor;
use lamina_store::FunctionStore;
use lamina_types::{FunctionSpec, Scope};
use tokio::sync::Notify;

/// How often the configurations are resolved again without a change through the API.
const RECONCILE_PERIOD: Duration = Duration::from_secs(1);

/// A configuration: its account and region, function and qualifier.
type ConfigKey = (Scope, String, String);

/// The reconciler; the control plane's [`Provisioner`].
pub struct Provisioning {
    executor: Executor,
    wake: Notify,
    /// What each configuration resolved to at the last pass, with its last-modified time.
    applied: Mutex<HashMap<ConfigKey, (Arc<FunctionSpec>, i64)>>,
}

impl Provisioning {
    /// A reconciler for `executor`; [`Provisioning::start`] runs it.
    pub fn new(executor: Executor) -> Arc<Self> {
        Arc::new(Self {
            executor,
            wake: Notify::new(),
            applied: Mutex::default(),
        })
    }

    /// Runs the reconciliation in the background, for as long as the server runs.
    pub fn start(self: &Arc<Self>, functions: Arc<FunctionService>, store: Arc<dyn FunctionStore>) {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                this.reconcile(&functions, store.as_ref()).await;
                tokio::select! {
                    () = this.wake.notified() => {}
                    () = tokio::time::sleep(RECONCILE_PERIOD) => {}
                }
            }
        });
    }

    /// One pass: every configuration resolved, and the executor told.
    async fn reconcile(&self, functions: &FunctionService, store: &dyn FunctionStore) {
        let configs = match store.all_provisioned_concurrency().await {
            Ok(configs) => configs,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the provisioned concurrency configurations");
                return;
            }
        };
        let mut applied = HashMap::with_capacity(configs.len());
        // A version provisioned both directly and through an alias gets both counts.
        let mut wanted: HashMap<Arc<FunctionSpec>, (usize, i64)> = HashMap::new();
        for config in configs {
            let resolved = functions
                .resolve(
                    &config.scope,
                    &config.function_name,
                    Some(&config.qualifier),
                )
                .await;
            let spec = match resolved {
                Ok(resolved) => Arc::new(resolved.spec),
                Err(e) => {
                    // Not runnable now (settling, failed): provisioned once it is.
                    tracing::debug!(function = %config.function_name, qualifier = %config.qualifier, error = %e, "provisioned concurrency waits for its version");
                    continue;
                }
            };
            let entry = wanted.entry(Arc::clone(&spec)).or_default();
            entry.0 += config.requested as usize;
            entry.1 = entry.1.max(config.last_modified_millis);
            applied.insert(
                (config.scope, config.function_name, config.qualifier),
                (spec, config.last_modified_millis),
            );
        }
        // Each spec's generation is the newest of its configurations': a changed one
        // retries an Init that failed.
        self.executor.provision(
            wanted
                .into_iter()
                .map(|(spec, (count, generation))| (spec, count, generation))
                .collect(),
        );
        *self.applied.lock().unwrap_or_else(PoisonError::into_inner) = applied;
    }
}

impl Provisioner for Provisioning {
    fn changed(&self) {
        self.wake.notify_one();
    }

    fn status(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: &str,
    ) -> Option<ProvisionedState> {
        let key = (
            scope.clone(),
            function_name.to_owned(),
            qualifier.to_owned(),
        );
        let (spec, generation) = self
            .applied
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .cloned()?;
        let counts = self.executor.provisioned(&spec)?;
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Some(ProvisionedState {
            generation,
            ready: count(counts.ready),
            in_use: count(counts.in_use),
            failure: counts.failure,
        })
    }
}

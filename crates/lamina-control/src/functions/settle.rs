//! Settling: what happens between accepting a create or update (`Pending`, `InProgress`) and
//! reporting it `Active`/`Successful` or `Failed`, as AWS's asynchronous state model has it.
//!
//! The preparation runs in a task started right after the write, so the request answers at
//! once. While it runs, reads and changes of that function on this server wait for it (up to
//! [`SETTLE_WAIT`]): a small function is `Active` by the time any client can ask, so
//! `aws lambda wait function-active-v2` and an Invoke right after CreateFunction both succeed
//! on their first call, and a slow preparation is still reported as `Pending`/`InProgress`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use lamina_store::FunctionStore;
use lamina_types::Scope;
use lamina_types::function_config::FunctionVersionRecord;
use lamina_types::function_state::NotReady;
use tokio::sync::watch;

use super::{FunctionService, new_revision, storage_error};

/// Longest a read or change waits for a settling in progress before it answers with the
/// state as it is.
pub const SETTLE_WAIT: Duration = Duration::from_secs(1);

/// Makes a function version ready to run: checks (and, later, prepares) what its code,
/// layers and runtime need on this server.
#[async_trait::async_trait]
pub trait Preparer: Send + Sync {
    /// `Ok` when the version can run here; the reason it cannot otherwise.
    async fn prepare(&self, record: &FunctionVersionRecord) -> Result<(), NotReady>;
}

/// Functions whose settling runs on this server, each with a channel closed when it ends.
#[derive(Default)]
pub(super) struct Settling {
    running: Mutex<HashMap<(Scope, String), watch::Sender<()>>>,
}

impl Settling {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Scope, String), watch::Sender<()>>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl FunctionService {
    /// Settles `versions` of a function in the background.
    pub(super) fn start_settling(&self, scope: &Scope, name: &str, versions: Vec<i64>) {
        let key = (scope.clone(), name.to_owned());
        let (done, _) = watch::channel(());
        let marker = done.clone();
        self.settling.lock().insert(key.clone(), done);
        let store = Arc::clone(&self.store);
        let preparer = Arc::clone(&self.preparer);
        let settling = Arc::clone(&self.settling);
        let resolved = Arc::clone(&self.resolved);
        tokio::spawn(async move {
            for version in versions {
                let settled =
                    settle_version(store.as_ref(), preparer.as_ref(), &key, version).await;
                // The state (and, for a failed update, the code and configuration) changed.
                resolved.invalidate(&key.0, &key.1);
                if let Err(e) = settled {
                    tracing::error!(function = %key.1, version, error = %e, "settling failed");
                }
            }
            let mut running = settling.lock();
            // A later change of the function may have registered its own settling already.
            if running.get(&key).is_some_and(|s| s.same_channel(&marker)) {
                running.remove(&key);
            }
        });
    }

    /// Waits (up to [`SETTLE_WAIT`]) while this server settles the function.
    pub(super) async fn settled(&self, scope: &Scope, name: &str) {
        let waiting = {
            let running = self.settling.lock();
            // Every Invoke passes here: when nothing settles, build no key.
            if running.is_empty() {
                return;
            }
            running
                .get(&(scope.clone(), name.to_owned()))
                .map(watch::Sender::subscribe)
        };
        if let Some(mut done) = waiting {
            // `changed` ends with an error when the settling task drops its sender.
            let _ = tokio::time::timeout(SETTLE_WAIT, done.changed()).await;
        }
    }

    /// Settles what a crash left `Pending` or `InProgress` (run once at start; with several
    /// nodes, also now and then, for the settlings a node that died left unfinished: a
    /// version another live node is still settling is settled twice, and the second
    /// outcome, identical, loses the revision race).
    pub async fn settle_unfinished(&self) -> Result<usize, lamina_types::LambdaError> {
        let unfinished = self
            .store
            .settling_versions()
            .await
            .map_err(storage_error)?;
        let count = unfinished.len();
        let mut by_function: HashMap<(Scope, String), Vec<i64>> = HashMap::new();
        for r in unfinished {
            by_function
                .entry((r.scope, r.name))
                .or_default()
                .push(r.version);
        }
        let running = self.settling.lock().keys().cloned().collect::<Vec<_>>();
        for ((scope, name), versions) in by_function {
            // Settling here already: it reaches these versions itself.
            if !running.contains(&(scope.clone(), name.clone())) {
                self.start_settling(&scope, &name, versions);
            }
        }
        Ok(count)
    }
}

/// Prepares one version and records the outcome under a new revision, unless the version
/// changed or went away meanwhile. A version is changed only once settled (changes are
/// refused while it settles), and preparing depends on the record alone, so whoever settles
/// a record settles it right.
async fn settle_version(
    store: &dyn FunctionStore,
    preparer: &dyn Preparer,
    (scope, name): &(Scope, String),
    version: i64,
) -> Result<(), lamina_store::StoreError> {
    let Some(record) = store.function_version(scope, name, version).await? else {
        return Ok(());
    };
    if !record.status.is_settling() {
        return Ok(());
    }
    let revision = record.revision_id.clone();
    let outcome = preparer.prepare(&record).await;
    let mut next = record.clone();
    next.status = record.status.settled(outcome.clone());
    next.revision_id = new_revision();
    let previous = next.previous.take();
    match (&outcome, previous) {
        (Err(NotReady(reason)), Some(previous)) => {
            tracing::warn!(function = %name, reason = %reason.text, "update failed; the previous code and configuration stay");
            next.restore(*previous);
        }
        (Err(NotReady(reason)), None) => {
            tracing::warn!(function = %name, version, reason = %reason.text, "function failed");
        }
        (Ok(()), _) => {}
    }
    if store.replace_version(&revision, &next).await? {
        tracing::info!(function = %name, version, state = next.status.state.as_str(), "function settled");
    }
    Ok(())
}

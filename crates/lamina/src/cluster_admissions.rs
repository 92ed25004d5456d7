//! The cluster's count of invocations in flight, over PostgreSQL: what the executor asks
//! before each invocation when this node shares its database with others.

use std::sync::Arc;
use std::time::Duration;

use lamina_exec::cluster_concurrency::{ClusterAdmissions, ClusterLimit};
use lamina_store::PgStore;
use lamina_store::postgres::{InFlightAdmission, InFlightRequest};
use lamina_types::node::LIVE_FOR_MS;
use lamina_types::timestamp::now_millis;
use lamina_types::{ConcurrencyLimit, FunctionSpec, LambdaError, NodeId};

/// Tries to release a place this many times (over about a minute) while the database is
/// unreachable.
const RELEASE_ATTEMPTS: u32 = 6;

/// How often the places of dead nodes are deleted (they are not counted meanwhile).
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Counts this node's invocations in the cluster's table.
pub(crate) struct PgAdmissions {
    store: Arc<PgStore>,
    node: NodeId,
}

impl PgAdmissions {
    /// Counts for `node`, forgetting first what it counted before it last stopped (those
    /// invocations ended with it).
    pub(crate) async fn start(store: Arc<PgStore>, node: NodeId) -> anyhow::Result<Self> {
        let forgotten = store.forget_in_flight_of(&node).await?;
        if forgotten > 0 {
            tracing::info!(
                invocations = forgotten,
                "forgot the invocations this node counted before it stopped"
            );
        }
        tokio::spawn(sweep_dead_nodes(Arc::clone(&store)));
        Ok(Self { store, node })
    }
}

/// Deletes, now and then, the places counted by nodes that stopped beating (crashed or were
/// killed): they no longer count, but would stay in the table for ever.
async fn sweep_dead_nodes(store: Arc<PgStore>) {
    let mut ticks = tokio::time::interval(SWEEP_EVERY);
    loop {
        ticks.tick().await;
        let live_since = now_millis().saturating_sub(LIVE_FOR_MS);
        match store.forget_in_flight_of_dead_nodes(live_since).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(invocations = n, "forgot the places of nodes that stopped"),
            Err(e) => tracing::debug!(error = %e, "sweeping the places of dead nodes failed"),
        }
    }
}

#[async_trait::async_trait]
impl ClusterAdmissions for PgAdmissions {
    async fn admit(
        &self,
        spec: &FunctionSpec,
        version_cap: u32,
    ) -> Result<Result<i64, ClusterLimit>, LambdaError> {
        let (reserved, pool) = match spec.concurrency {
            ConcurrencyLimit::Reserved(reserved) => (Some(reserved), 0),
            ConcurrencyLimit::Unreserved { pool } => (None, pool),
        };
        let request = InFlightRequest {
            node: &self.node,
            account: spec.account(),
            region: &spec.region,
            function_name: &spec.function_name,
            version: &spec.version,
            reserved,
            pool,
            version_cap,
            live_since_millis: now_millis().saturating_sub(LIVE_FOR_MS),
        };
        match self.store.admit_in_flight(&request).await {
            Ok(InFlightAdmission::Admitted(id)) => Ok(Ok(id)),
            Ok(InFlightAdmission::ReservedFull) => Ok(Err(ClusterLimit::Reserved)),
            Ok(InFlightAdmission::PoolFull) => Ok(Err(ClusterLimit::Pool)),
            Ok(InFlightAdmission::VersionFull) => Ok(Err(ClusterLimit::VersionCap)),
            Err(e) => Err(LambdaError::Service(format!(
                "the cluster's concurrency count is unreachable: {e}"
            ))),
        }
    }

    async fn release(&self, id: i64) {
        let mut delay = Duration::from_secs(1);
        for attempt in 1..=RELEASE_ATTEMPTS {
            match self.store.release_in_flight(id).await {
                Ok(()) => return,
                Err(e) if attempt == RELEASE_ATTEMPTS => {
                    // The place stays counted until this node restarts or stops beating: the
                    // cluster throttles a little early meanwhile, never admits too many.
                    tracing::warn!(error = %e, "releasing an invocation's place in the cluster's count failed");
                }
                Err(_) => {
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
            }
        }
    }
}

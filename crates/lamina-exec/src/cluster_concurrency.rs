//! Concurrency counted across the nodes of a cluster. Each node's [`crate::concurrency`]
//! counts what runs on it; when several nodes share a database, an invocation also takes a
//! place in the cluster's count, so a function's reserved concurrency, its account's pool and
//! each version's environment cap hold for the cluster. The executor never queries a store:
//! the server hands it a [`ClusterAdmissions`] that does.

use std::sync::Arc;

use lamina_types::{FunctionSpec, LambdaError};

use crate::concurrency::{ACCOUNT_LIMIT_REASON, RESERVED_LIMIT_REASON};

/// Which of the cluster's limits refused an invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterLimit {
    /// The function's reserved concurrency.
    Reserved,
    /// The account's unreserved pool.
    Pool,
    /// The version's environment cap.
    VersionCap,
}

impl ClusterLimit {
    /// AWS's `Reason` for the throttle (a full version is answered as the node's own cap is).
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Self::Reserved | Self::VersionCap => RESERVED_LIMIT_REASON,
            Self::Pool => ACCOUNT_LIMIT_REASON,
        }
    }
}

/// The cluster's count of invocations in flight.
#[async_trait::async_trait]
pub trait ClusterAdmissions: Send + Sync + 'static {
    /// Counts an invocation of `spec` (its limits come with it; `version_cap` is the most
    /// invocations of its version at once), returning the place to release, or the limit
    /// in use. An error (the database is unreachable) fails the invocation with it.
    async fn admit(
        &self,
        spec: &FunctionSpec,
        version_cap: u32,
    ) -> Result<Result<i64, ClusterLimit>, LambdaError>;

    /// Stops counting the place `id`.
    async fn release(&self, id: i64);
}

/// A place in the cluster's count, released (in the background) when dropped.
pub(crate) struct ClusterPlace {
    admissions: Arc<dyn ClusterAdmissions>,
    id: i64,
}

impl ClusterPlace {
    /// Takes a place for `spec`, or throttles with the limit's reason.
    pub(crate) async fn take(
        admissions: &Arc<dyn ClusterAdmissions>,
        spec: &FunctionSpec,
        version_cap: u32,
    ) -> Result<Self, LambdaError> {
        match admissions.admit(spec, version_cap).await? {
            Ok(id) => Ok(Self {
                admissions: Arc::clone(admissions),
                id,
            }),
            Err(limit) => Err(LambdaError::rate_exceeded(Some(limit.reason()))),
        }
    }
}

impl Drop for ClusterPlace {
    fn drop(&mut self) {
        let (admissions, id) = (Arc::clone(&self.admissions), self.id);
        // Outside a runtime (a test tearing down) nothing can be awaited: the place lapses
        // with this node's heartbeat, or at its next start.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { admissions.release(id).await });
        }
    }
}

//! How many invocations run at once, per function and per account: a function with reserved
//! concurrency runs at most that many (all its versions and aliases together), and the
//! functions without share their account's unreserved pool. Each invocation holds an
//! [`Admission`] from before its environment is taken until it ends; over a limit it is
//! throttled with AWS's 429 and its `Reason`.
//!
//! Counted are invocations, not environments: AWS's concurrency is requests in flight, and
//! an idle environment runs none. The limits come with each spec, as the control plane
//! resolved them; a limit lowered below what runs already admits nothing until enough end.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use lamina_types::{ConcurrencyLimit, FunctionSpec, LambdaError};
use tokio::sync::Notify;

use crate::cluster_concurrency::{ClusterAdmissions, ClusterPlace};

/// AWS's `Reason` when a function's reserved concurrency is in use.
pub(crate) const RESERVED_LIMIT_REASON: &str = "ReservedFunctionConcurrentInvocationLimitExceeded";

/// AWS's `Reason` when the account's unreserved concurrency is in use.
pub(crate) const ACCOUNT_LIMIT_REASON: &str = "ConcurrentInvocationLimitExceeded";

/// A function: its account, region and name.
type FunctionKey = (String, String, String);

/// An account in a region.
type AccountKey = (String, String);

#[derive(Default)]
struct Counts {
    /// Invocations in flight of each function, reserved or not.
    functions: HashMap<FunctionKey, u32>,
    /// Invocations in flight of each account's unreserved functions.
    unreserved: HashMap<AccountKey, u32>,
}

/// The invocations in flight; see the module docs.
pub(crate) struct Admissions {
    counts: Arc<Mutex<Counts>>,
    /// Woken when an invocation ends, so a throttled caller can retry then.
    released: Arc<Notify>,
}

/// One invocation admitted; it counts until dropped.
#[must_use = "an admission counts only while it is held"]
pub(crate) struct Admission {
    counts: Arc<Mutex<Counts>>,
    released: Arc<Notify>,
    function: FunctionKey,
    /// Whether it counts in its account's unreserved pool.
    unreserved: bool,
    /// The limit it was admitted under: its function's reservation, or its account's pool.
    limit: u32,
    /// Its place in the cluster's count, when the server is one node of several.
    cluster: Option<ClusterPlace>,
}

fn lock(counts: &Mutex<Counts>) -> MutexGuard<'_, Counts> {
    counts.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Admissions {
    /// No invocation in flight; `released` is woken whenever one ends.
    pub(crate) fn new(released: Arc<Notify>) -> Self {
        Self {
            counts: Arc::default(),
            released,
        }
    }

    /// Admits an invocation of `spec` under its limit, or throttles it.
    pub(crate) fn admit(&self, spec: &FunctionSpec) -> Result<Admission, LambdaError> {
        let function = (
            spec.account().to_owned(),
            spec.region.clone(),
            spec.function_name.clone(),
        );
        let mut counts = lock(&self.counts);
        let running = counts.functions.get(&function).copied().unwrap_or(0);
        let (unreserved, limit) = match spec.concurrency {
            ConcurrencyLimit::Reserved(reserved) => {
                if running >= reserved {
                    return Err(LambdaError::rate_exceeded(Some(RESERVED_LIMIT_REASON)));
                }
                (false, reserved)
            }
            ConcurrencyLimit::Unreserved { pool } => {
                let account = (function.0.clone(), function.1.clone());
                let in_pool = counts.unreserved.entry(account).or_default();
                if *in_pool >= pool {
                    return Err(LambdaError::rate_exceeded(Some(ACCOUNT_LIMIT_REASON)));
                }
                *in_pool += 1;
                (true, pool)
            }
        };
        *counts.functions.entry(function.clone()).or_default() += 1;
        Ok(Admission {
            counts: Arc::clone(&self.counts),
            released: Arc::clone(&self.released),
            function,
            unreserved,
            limit,
            cluster: None,
        })
    }
}

impl Admission {
    /// Also counts the invocation in the cluster's count, or throttles it (dropping this
    /// admission, so the node's count goes back down too).
    pub(crate) async fn in_cluster(
        mut self,
        cluster: Option<&Arc<dyn ClusterAdmissions>>,
        spec: &FunctionSpec,
        version_cap: u32,
    ) -> Result<Self, LambdaError> {
        if let Some(cluster) = cluster {
            self.cluster = Some(ClusterPlace::take(cluster, spec, version_cap).await?);
        }
        Ok(self)
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut counts = lock(&self.counts);
        let mut was_full = false;
        if let Some(n) = counts.functions.get_mut(&self.function) {
            was_full |= !self.unreserved && *n >= self.limit;
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.functions.remove(&self.function);
            }
        }
        if self.unreserved {
            let account = (self.function.0.clone(), self.function.1.clone());
            if let Some(n) = counts.unreserved.get_mut(&account) {
                was_full |= *n >= self.limit;
                *n = n.saturating_sub(1);
                if *n == 0 {
                    counts.unreserved.remove(&account);
                }
            }
        }
        drop(counts);
        // Only a limit that was reached can have throttled anyone. Waking the waiters for
        // any other admission would tell them room was made when none was: an invocation
        // refused by its pool drops its admission at once, and its caller would retry into
        // the same full pool.
        if was_full {
            self.released.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn spec(account: &str, name: &str, version: &str, limit: ConcurrencyLimit) -> FunctionSpec {
        let mut spec = crate::test_specs::spec("python3.12", Path::new("/t"), &[]);
        spec.function_name = name.to_owned();
        spec.function_arn = format!("arn:aws:lambda:us-east-1:{account}:function:{name}");
        spec.version = version.to_owned();
        spec.concurrency = limit;
        spec
    }

    fn reason(e: LambdaError) -> Option<&'static str> {
        match e {
            LambdaError::TooManyRequests { reason, .. } => reason,
            other => panic!("expected a throttle, got {other:?}"),
        }
    }

    fn admissions() -> Admissions {
        Admissions::new(Arc::new(Notify::new()))
    }

    #[test]
    fn zero_reserved_throttles_every_invocation() {
        let a = admissions();
        let e = a
            .admit(&spec(
                "111111111111",
                "f",
                "$LATEST",
                ConcurrencyLimit::Reserved(0),
            ))
            .err()
            .unwrap();
        assert_eq!(reason(e), Some(RESERVED_LIMIT_REASON));
    }

    #[test]
    fn reserved_concurrency_counts_every_version_of_the_function() {
        let a = admissions();
        let two = ConcurrencyLimit::Reserved(2);
        let first = a.admit(&spec("111111111111", "f", "$LATEST", two)).unwrap();
        let _second = a.admit(&spec("111111111111", "f", "3", two)).unwrap();
        let e = a.admit(&spec("111111111111", "f", "4", two)).err().unwrap();
        assert_eq!(reason(e), Some(RESERVED_LIMIT_REASON));
        // Another function, and the same name in another account, have their own counts.
        let _g = a.admit(&spec("111111111111", "g", "$LATEST", two)).unwrap();
        let _other = a.admit(&spec("222222222222", "f", "$LATEST", two)).unwrap();
        drop(first);
        assert!(a.admit(&spec("111111111111", "f", "4", two)).is_ok());
    }

    #[test]
    fn unreserved_functions_share_their_accounts_pool() {
        let a = admissions();
        let pool = ConcurrencyLimit::Unreserved { pool: 2 };
        let first = a
            .admit(&spec("111111111111", "f", "$LATEST", pool))
            .unwrap();
        let _second = a
            .admit(&spec("111111111111", "g", "$LATEST", pool))
            .unwrap();
        let e = a
            .admit(&spec("111111111111", "h", "$LATEST", pool))
            .err()
            .unwrap();
        assert_eq!(reason(e), Some(ACCOUNT_LIMIT_REASON));
        // Reserved functions and other accounts do not draw on it.
        let reserved = ConcurrencyLimit::Reserved(1);
        let _r = a
            .admit(&spec("111111111111", "r", "$LATEST", reserved))
            .unwrap();
        let _b = a
            .admit(&spec("222222222222", "h", "$LATEST", pool))
            .unwrap();
        drop(first);
        let _h = a
            .admit(&spec("111111111111", "h", "$LATEST", pool))
            .unwrap();
    }

    #[test]
    fn a_reservation_counts_what_ran_unreserved_before_it() {
        let a = admissions();
        let pool = ConcurrencyLimit::Unreserved { pool: 10 };
        let running = a
            .admit(&spec("111111111111", "f", "$LATEST", pool))
            .unwrap();
        let e = a
            .admit(&spec(
                "111111111111",
                "f",
                "$LATEST",
                ConcurrencyLimit::Reserved(1),
            ))
            .err()
            .unwrap();
        assert_eq!(reason(e), Some(RESERVED_LIMIT_REASON));
        drop(running);
        let counts = lock(&a.counts);
        assert!(counts.functions.is_empty() && counts.unreserved.is_empty());
    }

    #[tokio::test]
    async fn only_an_admission_at_its_limit_wakes_the_throttled() {
        let released = Arc::new(Notify::new());
        let a = Admissions::new(Arc::clone(&released));
        let one = ConcurrencyLimit::Reserved(1);
        let pool = ConcurrencyLimit::Unreserved { pool: 10 };
        let woken = || {
            let told = released.notified();
            let mut told = Box::pin(told);
            told.as_mut().enable();
            told
        };
        let mut told = woken();
        drop(
            a.admit(&spec("111111111111", "f", "$LATEST", pool))
                .unwrap(),
        );
        assert!(
            poll_once(told.as_mut()).await.is_none(),
            "room was made in no full limit"
        );
        let full = a.admit(&spec("111111111111", "g", "$LATEST", one)).unwrap();
        drop(full);
        assert!(
            poll_once(told.as_mut()).await.is_some(),
            "a full reservation freed a slot"
        );
    }

    /// Polls `f` once: `Some` if it is ready.
    async fn poll_once<F: std::future::Future + Unpin>(mut f: F) -> Option<F::Output> {
        std::future::poll_fn(|cx| {
            std::task::Poll::Ready(match std::pin::Pin::new(&mut f).poll(cx) {
                std::task::Poll::Ready(out) => Some(out),
                std::task::Poll::Pending => None,
            })
        })
        .await
    }
}

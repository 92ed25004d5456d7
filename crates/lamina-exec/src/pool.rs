//! The environments of each locked spec: idle ones waiting for an invoke, how many exist
//! (idle or busy, against the per-version cap), and the scratch of reset ones, whose `/tmp`
//! the spec's next environment takes over, as AWS keeps `/tmp` across a reset.
//!
//! Only bookkeeping: starting and ending environments is the executor's, so every method
//! returns what the caller must end or remove, and none blocks on anything but the lock.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use lamina_types::FunctionSpec;

/// What the pool needs to know of an environment.
pub(crate) trait Pooled {
    /// Whether its runtime still runs (a dead idle one is dropped, not handed out).
    fn is_alive(&mut self) -> bool;
    /// When it last finished an invocation.
    fn last_used(&self) -> Instant;
    /// Whether it is provisioned: handed out before the others, never expired.
    fn is_provisioned(&self) -> bool;
}

/// What [`Pools::take`] found.
#[derive(Debug)]
pub(crate) enum Taken<E, S> {
    /// An idle environment, now out of the pool.
    Warm(E),
    /// A slot for a new environment, counted already: start one, or give the slot back with
    /// [`Pools::unreserve`] or [`Pools::forget_one`].
    Reserved {
        /// A reset environment's scratch for the new one to take over.
        kept_scratch: Option<S>,
        /// Every environment of every spec, the new one included.
        environments: usize,
    },
    /// The spec has its most environments, all busy.
    Full,
}

/// The pools of every spec.
pub(crate) struct Pools<E, S, K = Arc<FunctionSpec>> {
    pools: Mutex<HashMap<K, Pool<E, S>>>,
}

struct Pool<E, S> {
    idle: Vec<E>,
    /// Idle and busy environments, and those starting.
    total: usize,
    kept_scratch: Vec<(S, Instant)>,
}

impl<E, S> Default for Pool<E, S> {
    fn default() -> Self {
        Self {
            idle: Vec::new(),
            total: 0,
            kept_scratch: Vec::new(),
        }
    }
}

impl<E, S, K> Default for Pools<E, S, K> {
    fn default() -> Self {
        Self {
            pools: Mutex::default(),
        }
    }
}

impl<E: Pooled, S, K: Hash + Eq + Clone> Pools<E, S, K> {
    fn lock(&self) -> MutexGuard<'_, HashMap<K, Pool<E, S>>> {
        self.pools.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An idle environment of `spec` (a provisioned one first: they exist to take invokes
    /// before any other), else a slot for a new one while it has fewer than `max`
    /// environments. Also returns the idle environments found dead, for the caller to end.
    pub(crate) fn take(&self, spec: &K, max: usize) -> (Taken<E, S>, Vec<E>) {
        let mut pools = self.lock();
        let pool = pools.entry(spec.clone()).or_default();
        let mut dead = Vec::new();
        loop {
            let newest = pool.idle.len().checked_sub(1);
            let pick = pool
                .idle
                .iter()
                .rposition(Pooled::is_provisioned)
                .or(newest);
            let Some(at) = pick else { break };
            let mut env = pool.idle.remove(at);
            if env.is_alive() {
                return (Taken::Warm(env), dead);
            }
            pool.total -= 1;
            dead.push(env);
        }
        if pool.total >= max {
            return (Taken::Full, dead);
        }
        pool.total += 1;
        let kept_scratch = pool.kept_scratch.pop().map(|(scratch, _)| scratch);
        let environments = pools.values().map(|pool| pool.total).sum();
        let taken = Taken::Reserved {
            kept_scratch,
            environments,
        };
        (taken, dead)
    }

    /// A slot for a new environment of `spec` (one started ahead of need) while it has fewer
    /// than `max`, with a reset environment's scratch to take over; `None` at the cap.
    pub(crate) fn reserve(&self, spec: &K, max: usize) -> Option<Option<S>> {
        let mut pools = self.lock();
        let pool = pools.entry(spec.clone()).or_default();
        if pool.total >= max {
            return None;
        }
        pool.total += 1;
        Some(pool.kept_scratch.pop().map(|(scratch, _)| scratch))
    }

    /// Takes out of `spec`'s pool up to `count` idle provisioned environments and every idle
    /// one found dead, their slots freed: `(provisioned, dead)`, for the caller to end.
    pub(crate) fn take_unwanted(&self, spec: &K, count: usize) -> (Vec<E>, Vec<E>) {
        let mut pools = self.lock();
        let Some(pool) = pools.get_mut(spec) else {
            return (Vec::new(), Vec::new());
        };
        let (mut taken, mut dead, mut kept) = (Vec::new(), Vec::new(), Vec::new());
        for mut env in pool.idle.drain(..) {
            if !env.is_alive() {
                dead.push(env);
            } else if env.is_provisioned() && taken.len() < count {
                taken.push(env);
            } else {
                kept.push(env);
            }
        }
        pool.idle = kept;
        pool.total -= taken.len() + dead.len();
        (taken, dead)
    }

    /// How many idle provisioned environments `spec` has.
    pub(crate) fn idle_provisioned(&self, spec: &K) -> usize {
        self.lock().get(spec).map_or(0, |pool| {
            pool.idle.iter().filter(|e| e.is_provisioned()).count()
        })
    }

    /// Puts an environment back as idle; gives it back when its pool is gone (reaped
    /// meanwhile), for the caller to end.
    pub(crate) fn release(&self, spec: &K, env: E) -> Result<(), E> {
        match self.lock().get_mut(spec) {
            Some(pool) => {
                pool.idle.push(env);
                Ok(())
            }
            None => Err(env),
        }
    }

    /// Frees the slot of an environment that ended or never started.
    pub(crate) fn forget_one(&self, spec: &K) {
        if let Some(pool) = self.lock().get_mut(spec) {
            pool.total = pool.total.saturating_sub(1);
        }
    }

    /// Frees the slot of an environment that ended, keeping its `scratch` for the spec's next
    /// one; gives the scratch back when the pool is gone, for the caller to remove.
    pub(crate) fn forget_keeping(&self, spec: &K, scratch: Option<S>) -> Option<S> {
        match self.lock().get_mut(spec) {
            Some(pool) => {
                pool.total = pool.total.saturating_sub(1);
                if let Some(scratch) = scratch {
                    pool.kept_scratch.push((scratch, Instant::now()));
                }
                None
            }
            None => scratch,
        }
    }

    /// Removes from the pools the idle environments and kept scratch unused for `timeout`,
    /// and the pools left empty; returns them for the caller to end.
    pub(crate) fn expire(&self, timeout: Duration) -> (Vec<E>, Vec<S>) {
        let mut pools = self.lock();
        let (mut expired, mut stale) = (Vec::new(), Vec::new());
        for pool in pools.values_mut() {
            let (old, fresh): (Vec<_>, Vec<_>) = pool
                .idle
                .drain(..)
                .partition(|e| !e.is_provisioned() && e.last_used().elapsed() >= timeout);
            pool.total -= old.len();
            pool.idle = fresh;
            expired.extend(old);
            let (old, fresh): (Vec<_>, Vec<_>) = pool
                .kept_scratch
                .drain(..)
                .partition(|(_, at)| at.elapsed() >= timeout);
            pool.kept_scratch = fresh;
            stale.extend(old.into_iter().map(|(scratch, _)| scratch));
        }
        pools.retain(|_, p| p.total > 0 || !p.kept_scratch.is_empty());
        (expired, stale)
    }

    /// Every spec with environments (starting, busy or idle) or kept scratch.
    pub(crate) fn specs(&self) -> Vec<K> {
        self.lock().keys().cloned().collect()
    }

    /// Calls `f` on every idle environment, under the lock: none is taken meanwhile.
    pub(crate) fn visit_idle(&self, mut f: impl FnMut(&mut E)) {
        for pool in self.lock().values_mut() {
            pool.idle.iter_mut().for_each(&mut f);
        }
    }

    /// Empties every pool (at shutdown): the idle environments and the kept scratch.
    pub(crate) fn drain(&self) -> (Vec<E>, Vec<S>) {
        let (mut environments, mut scratch) = (Vec::new(), Vec::new());
        for (_, pool) in self.lock().drain() {
            environments.extend(pool.idle);
            scratch.extend(pool.kept_scratch.into_iter().map(|(s, _)| s));
        }
        (environments, scratch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Env {
        id: u32,
        alive: bool,
        last_used: Instant,
        provisioned: bool,
    }

    impl Pooled for Env {
        fn is_alive(&mut self) -> bool {
            self.alive
        }
        fn last_used(&self) -> Instant {
            self.last_used
        }
        fn is_provisioned(&self) -> bool {
            self.provisioned
        }
    }

    fn env(id: u32) -> Env {
        Env {
            id,
            alive: true,
            last_used: Instant::now(),
            provisioned: false,
        }
    }

    fn provisioned(id: u32) -> Env {
        Env {
            provisioned: true,
            ..env(id)
        }
    }

    fn warm_id(taken: Taken<Env, &'static str>) -> u32 {
        match taken {
            Taken::Warm(e) => e.id,
            other => panic!("expected a warm environment, got {other:?}"),
        }
    }

    #[test]
    fn provisioned_environments_are_handed_out_first() {
        let pools = TestPools::default();
        for _ in 0..3 {
            reserved(pools.take(&"f", 3).0);
        }
        // Released in an order where an on-demand one is the newest idle.
        pools.release(&"f", provisioned(1)).unwrap();
        pools.release(&"f", env(2)).unwrap();
        pools.release(&"f", provisioned(3)).unwrap();
        assert_eq!(pools.idle_provisioned(&"f"), 2);
        let first = warm_id(pools.take(&"f", 3).0);
        let second = warm_id(pools.take(&"f", 3).0);
        assert_eq!([first, second], [3, 1]);
        assert_eq!(warm_id(pools.take(&"f", 3).0), 2);
        // All three busy: none idle, no slot left.
        assert!(matches!(pools.take(&"f", 3).0, Taken::Full));
    }

    #[test]
    fn provisioned_environments_never_expire_and_slots_for_them_count() {
        let pools = TestPools::default();
        assert_eq!(pools.reserve(&"f", 2), Some(None));
        assert_eq!(pools.reserve(&"f", 2), Some(None));
        assert_eq!(pools.reserve(&"f", 2), None);
        let old = Instant::now() - Duration::from_secs(10);
        pools
            .release(
                &"f",
                Env {
                    last_used: old,
                    ..provisioned(1)
                },
            )
            .unwrap();
        pools
            .release(
                &"f",
                Env {
                    last_used: old,
                    ..env(2)
                },
            )
            .unwrap();
        let (expired, _) = pools.expire(Duration::from_secs(5));
        assert_eq!(expired.iter().map(|e| e.id).collect::<Vec<_>>(), [2]);
        // Deprovisioning takes the provisioned one out, and frees its slot.
        let (taken, dead) = pools.take_unwanted(&"f", 5);
        assert_eq!(taken.iter().map(|e| e.id).collect::<Vec<_>>(), [1]);
        assert!(dead.is_empty());
        assert_eq!(pools.reserve(&"f", 2), Some(None));
    }

    #[test]
    fn a_dead_idle_provisioned_environment_is_taken_out() {
        let pools = TestPools::default();
        pools.reserve(&"f", 2);
        pools
            .release(
                &"f",
                Env {
                    alive: false,
                    ..provisioned(4)
                },
            )
            .unwrap();
        let (taken, dead) = pools.take_unwanted(&"f", 0);
        assert!(taken.is_empty());
        assert_eq!(dead.iter().map(|e| e.id).collect::<Vec<_>>(), [4]);
        assert_eq!(pools.idle_provisioned(&"f"), 0);
    }

    type TestPools = Pools<Env, &'static str, &'static str>;

    fn reserved(taken: Taken<Env, &'static str>) -> (Option<&'static str>, usize) {
        match taken {
            Taken::Reserved {
                kept_scratch,
                environments,
            } => (kept_scratch, environments),
            other => panic!("expected a reservation, got {other:?}"),
        }
    }

    #[test]
    fn slots_run_out_at_the_cap_and_come_back_when_environments_end() {
        let pools = TestPools::default();
        assert_eq!(reserved(pools.take(&"f", 2).0), (None, 1));
        assert_eq!(reserved(pools.take(&"f", 2).0), (None, 2));
        assert!(matches!(pools.take(&"f", 2).0, Taken::Full));
        // Another spec has its own cap, and counts towards every environment.
        assert_eq!(reserved(pools.take(&"g", 2).0), (None, 3));
        pools.forget_one(&"f");
        assert_eq!(reserved(pools.take(&"f", 2).0), (None, 3));
    }

    #[test]
    fn an_idle_environment_is_handed_out_before_a_new_slot() {
        let pools = TestPools::default();
        reserved(pools.take(&"f", 1).0);
        pools.release(&"f", env(7)).unwrap();
        match pools.take(&"f", 1).0 {
            Taken::Warm(e) => assert_eq!(e.id, 7),
            other => panic!("{other:?}"),
        }
        assert!(matches!(pools.take(&"f", 1).0, Taken::Full));
    }

    #[test]
    fn dead_idle_environments_are_returned_and_free_their_slot() {
        let pools = TestPools::default();
        reserved(pools.take(&"f", 1).0);
        pools
            .release(
                &"f",
                Env {
                    alive: false,
                    ..env(1)
                },
            )
            .unwrap();
        let (taken, dead) = pools.take(&"f", 1);
        assert_eq!(dead.iter().map(|e| e.id).collect::<Vec<_>>(), [1]);
        assert_eq!(reserved(taken), (None, 1));
    }

    #[test]
    fn a_reset_environments_scratch_goes_to_the_next_one() {
        let pools = TestPools::default();
        reserved(pools.take(&"f", 1).0);
        assert_eq!(pools.forget_keeping(&"f", Some("tmp-1")), None);
        assert_eq!(reserved(pools.take(&"f", 1).0), (Some("tmp-1"), 1));
    }

    #[test]
    fn what_comes_back_to_a_reaped_pool_is_given_back() {
        let pools = TestPools::default();
        assert_eq!(pools.release(&"gone", env(1)).map_err(|e| e.id), Err(1));
        assert_eq!(pools.forget_keeping(&"gone", Some("tmp")), Some("tmp"));
    }

    #[test]
    fn expiry_takes_what_idled_too_long_and_drops_empty_pools() {
        let pools = TestPools::default();
        reserved(pools.take(&"f", 2).0);
        reserved(pools.take(&"f", 2).0);
        let old = Instant::now() - Duration::from_secs(10);
        pools
            .release(
                &"f",
                Env {
                    last_used: old,
                    ..env(1)
                },
            )
            .unwrap();
        pools.release(&"f", env(2)).unwrap();
        let (expired, stale) = pools.expire(Duration::from_secs(5));
        assert_eq!(expired.iter().map(|e| e.id).collect::<Vec<_>>(), [1]);
        assert!(stale.is_empty());
        // The other one is still idle, in a pool that still exists.
        let (expired, _) = pools.expire(Duration::ZERO);
        assert_eq!(expired.iter().map(|e| e.id).collect::<Vec<_>>(), [2]);
        assert_eq!(pools.release(&"f", env(3)).map_err(|e| e.id), Err(3));
    }

    #[test]
    fn drain_empties_everything() {
        let pools = TestPools::default();
        reserved(pools.take(&"f", 2).0);
        reserved(pools.take(&"f", 2).0);
        pools.release(&"f", env(1)).unwrap();
        pools.forget_keeping(&"f", Some("tmp"));
        let (environments, scratch) = pools.drain();
        assert_eq!(environments.len(), 1);
        assert_eq!(scratch, ["tmp"]);
        assert!(pools.drain().0.is_empty());
    }

    #[test]
    fn visiting_reaches_every_idle_environment_in_place() {
        let pools = TestPools::default();
        for spec in ["f", "f", "g"] {
            reserved(pools.take(&spec, 2).0);
        }
        pools.release(&"f", env(1)).unwrap();
        pools.release(&"g", env(2)).unwrap();
        // The third one is busy: not visited.
        let mut seen = Vec::new();
        pools.visit_idle(|e| {
            seen.push(e.id);
            e.alive = false;
        });
        seen.sort();
        assert_eq!(seen, [1, 2]);
        // What the visit changed stays in the pool.
        let (taken, dead) = pools.take(&"f", 2);
        assert_eq!(dead.iter().map(|e| e.id).collect::<Vec<_>>(), [1]);
        assert!(matches!(taken, Taken::Reserved { .. }));
    }
}

//! What [`FunctionService::resolve`](super::FunctionService::resolve) found, kept until a
//! write can change it, so a warm invoke costs no store lookup.
//!
//! Every write of a function's records (create, update of code or configuration, publish,
//! alias create/update/delete, version or function delete, and each settle step of the state
//! model) calls [`ResolveCache::invalidate`] for that function right after the store write,
//! before the operation answers: the next invoke reads the store again, exactly as without the
//! cache. A lookup that raced with a write is not kept: every invalidation moves a generation
//! on, and [`ResolveCache::insert`] keeps a result only when no invalidation happened since
//! the lookup began.
//!
//! Only successful resolutions are kept (an unknown or not yet `Active` function is looked up
//! each time), and none longer than [`MAX_AGE`]: several nodes sharing one store see each
//! other's writes without invalidating each other's caches, so a node runs what another node
//! wrote within that much time (AWS, too, may run the previous code briefly after an update).
//! A cross-node notification on every write would make that immediate.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use lamina_types::Scope;

use super::commands::ResolvedFunction;

/// A resolution's key: the caller's scope, the function's name and the qualifier as given
/// (`None`, `$LATEST`, a version or an alias).
type Key = (Scope, String, Option<String>);

/// Longest a resolution is kept: how stale a node's view of a write made through another
/// node sharing the store may be. One store lookup per function and qualifier per this much
/// time is all it costs a warm invoke.
pub(super) const MAX_AGE: Duration = Duration::from_secs(1);

/// Resolved functions by scope, name and qualifier; see the module docs.
#[derive(Default)]
pub(super) struct ResolveCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Moves on at every invalidation.
    generation: u64,
    /// Each resolution with when its lookup began.
    entries: HashMap<Key, (Instant, ResolvedFunction)>,
}

impl ResolveCache {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current generation: take it before a store lookup whose result goes to
    /// [`insert`](Self::insert).
    pub(super) fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// The kept resolution of `name` with `qualifier` in `scope`, if any younger than
    /// [`MAX_AGE`].
    pub(super) fn get(
        &self,
        scope: &Scope,
        name: &str,
        qualifier: Option<&str>,
    ) -> Option<ResolvedFunction> {
        self.get_at(scope, name, qualifier, Instant::now())
    }

    fn get_at(
        &self,
        scope: &Scope,
        name: &str,
        qualifier: Option<&str>,
        now: Instant,
    ) -> Option<ResolvedFunction> {
        let key = (scope.clone(), name.to_owned(), qualifier.map(str::to_owned));
        let inner = self.lock();
        let (looked_up, resolved) = inner.entries.get(&key)?;
        (now.saturating_duration_since(*looked_up) <= MAX_AGE).then(|| resolved.clone())
    }

    /// The current generation and the time a lookup begins: take them before a store
    /// lookup whose result goes to [`insert`](Self::insert).
    pub(super) fn lookup_began(&self) -> (u64, Instant) {
        (self.generation(), Instant::now())
    }

    /// Keeps `resolved`, unless an invalidation happened since `began` was taken (the lookup
    /// may then have read what the write replaced). Its age counts from `began`.
    pub(super) fn insert(
        &self,
        began: (u64, Instant),
        scope: &Scope,
        name: &str,
        qualifier: Option<&str>,
        resolved: &ResolvedFunction,
    ) {
        let (generation, looked_up) = began;
        let mut inner = self.lock();
        if inner.generation == generation {
            let key = (scope.clone(), name.to_owned(), qualifier.map(str::to_owned));
            inner.entries.insert(key, (looked_up, resolved.clone()));
        }
    }

    /// Forgets every resolution in `scope` (every function of an account in a region);
    /// called after a write that changes them all (the account's unreserved concurrency).
    pub(super) fn invalidate_scope(&self, scope: &Scope) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.retain(|(s, _, _), _| s != scope);
    }

    /// Forgets every resolution of function `name` in `scope` (all its qualifiers); called
    /// after each write of its records.
    pub(super) fn invalidate(&self, scope: &Scope, name: &str) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner
            .entries
            .retain(|(s, n, _), _| !(s == scope && n == name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lamina_types::{AccountId, Architecture, ExtractedTree, FunctionSpec, Region, Runtime};

    fn resolved(version: &str) -> ResolvedFunction {
        let tree = ExtractedTree {
            digest: lamina_types::layer::Digest([0; 32]),
            path: "/t".into(),
            bytecode: None,
        };
        ResolvedFunction {
            owner: scope("123456789012"),
            spec: FunctionSpec {
                function_name: "f".into(),
                function_arn: "arn".into(),
                version: version.into(),
                region: "us-east-1".into(),
                runtime: Runtime::parse("python3.12").expect("a runtime"),
                handler: "app.handler".into(),
                code: tree,
                layers: Vec::new(),
                memory_mb: 128,
                timeout_secs: 3,
                ephemeral_storage_mb: 512,
                environment: Default::default(),
                architecture: Architecture::X86_64,
                log_group: "/aws/lambda/f".into(),
                json_log_level: None,
                snap_start: false,
                concurrency: Default::default(),
            },
            executed_version: version.into(),
            invoked_function_arn: "arn".into(),
        }
    }

    fn scope(account: &str) -> Scope {
        Scope::new(
            AccountId::parse(account).expect("an account id"),
            Region::parse("us-east-1").expect("a region"),
        )
    }

    #[test]
    fn keeps_a_resolution_per_scope_name_and_qualifier() {
        let cache = ResolveCache::default();
        let (a, b) = (scope("111111111111"), scope("222222222222"));
        cache.insert(cache.lookup_began(), &a, "f", None, &resolved("$LATEST"));
        cache.insert(cache.lookup_began(), &a, "f", Some("live"), &resolved("3"));
        assert_eq!(cache.get(&a, "f", None), Some(resolved("$LATEST")));
        assert_eq!(cache.get(&a, "f", Some("live")), Some(resolved("3")));
        assert_eq!(cache.get(&a, "f", Some("$LATEST")), None);
        assert_eq!(cache.get(&b, "f", None), None);
        assert_eq!(cache.get(&a, "g", None), None);
    }

    #[test]
    fn invalidation_forgets_every_qualifier_of_that_function_only() {
        let cache = ResolveCache::default();
        let (a, b) = (scope("111111111111"), scope("222222222222"));
        for (s, name, q) in [(&a, "f", None), (&a, "f", Some("1")), (&a, "g", None)] {
            cache.insert(cache.lookup_began(), s, name, q, &resolved("1"));
        }
        cache.insert(cache.lookup_began(), &b, "f", None, &resolved("1"));
        cache.invalidate(&a, "f");
        assert_eq!(cache.get(&a, "f", None), None);
        assert_eq!(cache.get(&a, "f", Some("1")), None);
        assert!(cache.get(&a, "g", None).is_some());
        assert!(cache.get(&b, "f", None).is_some());
        cache.invalidate_scope(&b);
        assert!(cache.get(&b, "f", None).is_none());
        assert!(cache.get(&a, "g", None).is_some());
    }

    #[test]
    fn a_lookup_that_raced_with_a_write_is_not_kept() {
        let cache = ResolveCache::default();
        let a = scope("111111111111");
        let before = cache.lookup_began();
        // A write lands between the lookup's start and its insert.
        cache.invalidate(&a, "f");
        cache.insert(before, &a, "f", None, &resolved("stale"));
        assert_eq!(cache.get(&a, "f", None), None);
        cache.insert(cache.lookup_began(), &a, "f", None, &resolved("fresh"));
        assert_eq!(cache.get(&a, "f", None), Some(resolved("fresh")));
    }

    #[test]
    fn a_resolution_is_kept_for_max_age_at_most() {
        let cache = ResolveCache::default();
        let a = scope("111111111111");
        let began = cache.lookup_began();
        cache.insert(began, &a, "f", None, &resolved("1"));
        let at = |age| cache.get_at(&a, "f", None, began.1 + age);
        assert_eq!(at(MAX_AGE), Some(resolved("1")));
        assert_eq!(at(MAX_AGE + Duration::from_millis(1)), None);
    }
}

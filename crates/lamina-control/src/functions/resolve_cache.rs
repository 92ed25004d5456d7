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
//! each time). Several nodes sharing one store each keep their own cache: every invalidation
//! is also told to the [`WriteFeed`] (which tells the other nodes, whose caches then
//! [`forget`](ResolveCache::forget) the function), so another node's cache is stale only for
//! the moment the feed takes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use lamina_types::Scope;

use super::commands::ResolvedFunction;

/// A resolution's key: the caller's scope, the function's name and the qualifier as given
/// (`None`, `$LATEST`, a version or an alias).
type Key = (Scope, String, Option<String>);

/// Resolved functions by scope, name and qualifier; see the module docs.
#[derive(Default)]
pub(super) struct ResolveCache {
    inner: Mutex<Inner>,
    /// Told of every write, for the other nodes of a cluster.
    feed: OnceLock<Arc<dyn WriteFeed>>,
}

/// Where a node tells the others that a function was written, so they forget what they
/// resolved of it.
pub trait WriteFeed: Send + Sync {
    /// `function` of `scope` was written (`None`: any function of the scope may have been,
    /// e.g. the account's unreserved pool changed). Must not block.
    fn written(&self, scope: &Scope, function: Option<&str>);
}

#[derive(Default)]
struct Inner {
    /// Moves on at every invalidation.
    generation: u64,
    entries: HashMap<Key, ResolvedFunction>,
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

    /// The kept resolution of `name` with `qualifier` in `scope`, if any.
    pub(super) fn get(
        &self,
        scope: &Scope,
        name: &str,
        qualifier: Option<&str>,
    ) -> Option<ResolvedFunction> {
        let key = (scope.clone(), name.to_owned(), qualifier.map(str::to_owned));
        self.lock().entries.get(&key).cloned()
    }

    /// Keeps `resolved`, unless an invalidation happened since `generation` was taken (the
    /// lookup may then have read what the write replaced).
    pub(super) fn insert(
        &self,
        generation: u64,
        scope: &Scope,
        name: &str,
        qualifier: Option<&str>,
        resolved: &ResolvedFunction,
    ) {
        let mut inner = self.lock();
        if inner.generation == generation {
            let key = (scope.clone(), name.to_owned(), qualifier.map(str::to_owned));
            inner.entries.insert(key, resolved.clone());
        }
    }

    /// Forgets every resolution in `scope` (every function of an account in a region);
    /// called after a write that changes them all (the account's unreserved concurrency).
    pub(super) fn invalidate_scope(&self, scope: &Scope) {
        self.forget(scope, None);
        if let Some(feed) = self.feed.get() {
            feed.written(scope, None);
        }
    }

    /// Forgets every resolution of function `name` in `scope` (all its qualifiers); called
    /// after each write of its records.
    pub(super) fn invalidate(&self, scope: &Scope, name: &str) {
        self.forget(scope, Some(name));
        if let Some(feed) = self.feed.get() {
            feed.written(scope, Some(name));
        }
    }

    /// Drops what was kept of `name` (every function of `scope` when `None`), here only:
    /// another node wrote it.
    pub(super) fn forget(&self, scope: &Scope, name: Option<&str>) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner
            .entries
            .retain(|(s, n, _), _| !(s == scope && name.is_none_or(|name| n == name)));
    }

    /// Drops everything kept: the feed from the other nodes was cut, so any write may have
    /// been missed.
    pub(super) fn forget_all(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.clear();
    }

    /// Tells `feed` of every write from now on (a second call changes nothing).
    pub(super) fn feed_writes_to(&self, feed: Arc<dyn WriteFeed>) {
        let _ = self.feed.set(feed);
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
        cache.insert(cache.generation(), &a, "f", None, &resolved("$LATEST"));
        cache.insert(cache.generation(), &a, "f", Some("live"), &resolved("3"));
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
            cache.insert(cache.generation(), s, name, q, &resolved("1"));
        }
        cache.insert(cache.generation(), &b, "f", None, &resolved("1"));
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
        let before = cache.generation();
        // A write lands between the lookup's start and its insert.
        cache.invalidate(&a, "f");
        cache.insert(before, &a, "f", None, &resolved("stale"));
        assert_eq!(cache.get(&a, "f", None), None);
        cache.insert(cache.generation(), &a, "f", None, &resolved("fresh"));
        assert_eq!(cache.get(&a, "f", None), Some(resolved("fresh")));
    }
}

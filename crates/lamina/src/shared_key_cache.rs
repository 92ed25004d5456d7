//! The access keys of a PostgreSQL database shared by several nodes, as the SigV4 verifier
//! reads them: from memory, so that a request costs no query.
//!
//! The bounds, which the README repeats:
//! - A key revoked on any node is refused by every node at most [`KEY_REFRESH_INTERVAL`]
//!   plus the time of one read of the table after the revocation commits: each node re-reads
//!   the whole table in the background at that interval.
//! - A key created on any node works at once on every node: a request signed by a key this
//!   node does not know re-reads the table before it is refused. Such re-reads are at most one
//!   per [`MISS_REREAD_INTERVAL`]; requests that miss meanwhile wait for the next one and share
//!   it, so a flood of unknown keys costs the database at most one read per interval.
//! - A node that cannot read the table for [`KEY_CACHE_MAX_AGE`] refuses every key until it
//!   can again (it fails closed: a revocation it cannot see must not stay valid).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use anyhow::Context;
use lamina_api::{Credential, CredentialStore};
use lamina_store::AccessKeyStore;
use tokio::time::{Instant, MissedTickBehavior};

use crate::access_keys::credentials_of;

/// How often every node re-reads the keys: the bound on how long a revoked key keeps working.
pub const KEY_REFRESH_INTERVAL: Duration = Duration::from_secs(1);

/// The least time between two re-reads caused by unknown keys.
pub const MISS_REREAD_INTERVAL: Duration = Duration::from_millis(100);

/// How long a request signed by an unknown key waits for its re-read before it is refused
/// (the database may be slow or unreachable; the background refresh keeps trying).
pub const MISS_REREAD_TIMEOUT: Duration = Duration::from_secs(2);

/// How old the keys in memory may grow (the database unreachable) before every key is refused.
pub const KEY_CACHE_MAX_AGE: Duration = Duration::from_secs(10);

/// The keys last read, and when that read started (a change committed before then is in them).
struct Snapshot {
    keys: HashMap<String, Credential>,
    read_started: Instant,
}

/// The keys of a shared store, re-read in the background and on a miss.
pub struct SharedKeyCache {
    store: Arc<dyn AccessKeyStore>,
    snapshot: RwLock<Snapshot>,
    /// Held by the one task re-reading for a miss; holds when the last such re-read started.
    miss_reread: tokio::sync::Mutex<Option<Instant>>,
}

impl SharedKeyCache {
    /// Reads the keys of `store` now (an unreadable store stops the server at start), then
    /// keeps them fresh from a background task that ends when the cache is dropped.
    pub async fn start(store: Arc<dyn AccessKeyStore>) -> anyhow::Result<Arc<Self>> {
        let read_started = Instant::now();
        let keys = credentials_of(
            store
                .read()
                .await
                .with_context(|| format!("reading the access keys in {}", store.location()))?,
        );
        let cache = Arc::new(Self {
            store,
            snapshot: RwLock::new(Snapshot { keys, read_started }),
            miss_reread: tokio::sync::Mutex::new(None),
        });
        tokio::spawn(refresh_in_background(Arc::downgrade(&cache)));
        Ok(cache)
    }

    /// Re-reads the keys; on failure keeps those in memory (until [`KEY_CACHE_MAX_AGE`]).
    async fn refresh(&self) {
        let read_started = Instant::now();
        match self.store.read().await {
            Ok(records) => {
                let keys = credentials_of(records);
                let mut snapshot = self.snapshot.write().unwrap_or_else(|p| p.into_inner());
                // A slower read that started earlier must not replace a newer one.
                if read_started > snapshot.read_started {
                    *snapshot = Snapshot { keys, read_started };
                }
            }
            Err(e) => tracing::warn!(
                error = %e,
                "could not re-read the access keys; keeping those read before"
            ),
        }
    }

    fn read_started(&self) -> Instant {
        self.snapshot
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .read_started
    }

    /// Re-reads the keys for a request whose key was unknown at `asked`, unless a read that
    /// started since then already did; at most one such re-read per [`MISS_REREAD_INTERVAL`].
    async fn reread_for_miss(&self, asked: Instant) {
        let mut last = self.miss_reread.lock().await;
        if self.read_started() >= asked {
            return;
        }
        if let Some(last) = *last {
            tokio::time::sleep_until(last + MISS_REREAD_INTERVAL).await;
        }
        *last = Some(Instant::now());
        if tokio::time::timeout(MISS_REREAD_TIMEOUT, self.refresh())
            .await
            .is_err()
        {
            tracing::warn!("re-reading the access keys for an unknown key timed out");
        }
    }
}

/// Refreshes the cache every [`KEY_REFRESH_INTERVAL`] while it exists.
async fn refresh_in_background(cache: Weak<SharedKeyCache>) {
    let mut ticks = tokio::time::interval(KEY_REFRESH_INTERVAL);
    // After a slow read, wait a whole interval rather than read twice in a row.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // The first tick is immediate, and `start` has just read.
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let Some(cache) = cache.upgrade() else { return };
        cache.refresh().await;
    }
}

impl CredentialStore for SharedKeyCache {
    fn lookup(&self, access_key_id: &str) -> Option<Credential> {
        let snapshot = self.snapshot.read().unwrap_or_else(|p| p.into_inner());
        if snapshot.read_started.elapsed() > KEY_CACHE_MAX_AGE {
            return None;
        }
        snapshot.keys.get(access_key_id).cloned()
    }

    fn lookup_fresh<'a>(
        &'a self,
        access_key_id: &'a str,
    ) -> Pin<Box<dyn Future<Output = Option<Credential>> + Send + 'a>> {
        Box::pin(async move {
            if let Some(credential) = self.lookup(access_key_id) {
                return Some(credential);
            }
            self.reread_for_miss(Instant::now()).await;
            self.lookup(access_key_id)
        })
    }
}

#[cfg(test)]
mod tests {
    use lamina_store::AccessKeyFile;

    use super::*;

    const ACCOUNT: &str = "123456789012";

    /// A real store: the key file of a temporary directory (the cache does not care which
    /// engine is behind it; the PostgreSQL leg is the e2e test of two nodes).
    fn key_file(dir: &tempfile::TempDir) -> AccessKeyFile {
        AccessKeyFile::in_data_dir(dir.path())
    }

    #[tokio::test]
    async fn a_new_key_is_found_at_once_and_a_revoked_one_refused_after_a_refresh() {
        let dir = tempfile::tempdir().unwrap();
        let file = key_file(&dir);
        let cache = SharedKeyCache::start(Arc::new(file.clone())).await.unwrap();
        let key = file.create(ACCOUNT, false, "t").unwrap();
        // Unknown in memory; the miss re-reads.
        assert!(cache.lookup(&key.access_key_id).is_none());
        let found = cache.lookup_fresh(&key.access_key_id).await.unwrap();
        assert_eq!(found.secret, key.secret_access_key);
        assert_eq!(found.account.as_str(), ACCOUNT);
        // A second miss right after waits for the next allowed re-read, and finds it too.
        let second = file.create(ACCOUNT, false, "t").unwrap();
        assert!(cache.lookup_fresh(&second.access_key_id).await.is_some());

        file.revoke(&key.access_key_id).unwrap();
        // Until the next refresh the key is still known (the documented bound) ...
        assert!(cache.lookup(&key.access_key_id).is_some());
        cache.refresh().await;
        // ... then refused, by both lookups.
        assert!(cache.lookup(&key.access_key_id).is_none());
        assert!(cache.lookup_fresh(&key.access_key_id).await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn the_background_refresh_sees_revocations() {
        let dir = tempfile::tempdir().unwrap();
        let file = key_file(&dir);
        let key = file.create(ACCOUNT, false, "t").unwrap();
        let cache = SharedKeyCache::start(Arc::new(file.clone())).await.unwrap();
        assert!(cache.lookup(&key.access_key_id).is_some());
        file.revoke(&key.access_key_id).unwrap();
        // Paused time: the sleep lets the background task run its next refresh.
        tokio::time::sleep(KEY_REFRESH_INTERVAL * 2).await;
        assert!(cache.lookup(&key.access_key_id).is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn keys_that_cannot_be_re_read_expire() {
        let dir = tempfile::tempdir().unwrap();
        let file = key_file(&dir);
        let key = file.create(ACCOUNT, false, "t").unwrap();
        let cache = SharedKeyCache::start(Arc::new(file.clone())).await.unwrap();
        // The store becomes unreadable: the keys read before still serve for a while ...
        std::fs::write(file.path(), b"{").unwrap();
        tokio::time::sleep(KEY_REFRESH_INTERVAL * 2).await;
        assert!(cache.lookup(&key.access_key_id).is_some());
        // ... but not past their maximum age.
        tokio::time::sleep(KEY_CACHE_MAX_AGE).await;
        assert!(cache.lookup(&key.access_key_id).is_none());
    }
}

//! The bound on the extracted trees a node keeps (`lamina serve --tree-cache-mb`): their
//! sizes and the order they were last used in, and which of them go when the bound is
//! exceeded. Only bookkeeping and policy: [`crate::LocalArtifacts::evict`] moves the trees.
//!
//! A tree may go only when it can be had again: its ZIP is in the blob store (local or S3),
//! from which `ensure_tree` extracts it again at the next cold start that needs it.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};

use lamina_types::layer::Digest;
use tokio::sync::Notify;

/// The trees of one node, by digest.
#[derive(Debug)]
pub struct TreeCache {
    bound_bytes: u64,
    state: Mutex<CacheState>,
    /// Woken when a tree is added, so the evictor looks at once.
    grown: Notify,
}

/// What the cache knows, behind its lock.
#[derive(Debug, Default)]
pub(crate) struct CacheState {
    entries: HashMap<Digest, CachedTree>,
    /// A counter, not a clock: its order is the order of use.
    clock: u64,
}

/// One tree on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachedTree {
    /// Bytes of the tree's files.
    pub tree_bytes: u64,
    /// Bytes of its bytecode, as last measured (compilations add it after the tree).
    pub bytecode_bytes: u64,
    /// When it was last used, in [`CacheState`]'s counter.
    pub last_used: u64,
}

impl CachedTree {
    /// Bytes on disk: the tree's and its bytecode's.
    pub fn bytes(&self) -> u64 {
        self.tree_bytes + self.bytecode_bytes
    }
}

impl TreeCache {
    /// A cache that evicts down to `bound_bytes`.
    pub fn new(bound_bytes: u64) -> Self {
        Self {
            bound_bytes,
            state: Mutex::default(),
            grown: Notify::new(),
        }
    }

    /// The most bytes of trees kept (those in use may exceed it).
    pub fn bound_bytes(&self) -> u64 {
        self.bound_bytes
    }

    /// Resolves when a tree was added since the last call (or one is added meanwhile).
    pub async fn grown(&self) {
        self.grown.notified().await;
    }

    /// The bytes of every tree known.
    pub fn total_bytes(&self) -> u64 {
        self.lock().total_bytes()
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, CacheState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn notify_grown(&self) {
        self.grown.notify_one();
    }
}

impl CacheState {
    /// Records a use of `digest`; `tree_bytes` (when measured) replaces its tree's size. A
    /// tree not yet known is only recorded with its size.
    pub(crate) fn used(&mut self, digest: &Digest, tree_bytes: Option<u64>) {
        self.clock += 1;
        let clock = self.clock;
        match (self.entries.get_mut(digest), tree_bytes) {
            (Some(entry), bytes) => {
                entry.last_used = clock;
                if let Some(bytes) = bytes {
                    entry.tree_bytes = bytes;
                }
            }
            (None, Some(tree_bytes)) => {
                self.entries.insert(
                    *digest,
                    CachedTree {
                        tree_bytes,
                        bytecode_bytes: 0,
                        last_used: clock,
                    },
                );
            }
            (None, None) => {}
        }
    }

    /// Updates the size of a tree's bytecode without counting a use.
    pub(crate) fn resize_bytecode(&mut self, digest: &Digest, bytes: u64) {
        if let Some(entry) = self.entries.get_mut(digest) {
            entry.bytecode_bytes = bytes;
        }
    }

    pub(crate) fn entry_bytes(&self, digest: &Digest) -> u64 {
        self.entries.get(digest).map_or(0, CachedTree::bytes)
    }

    pub(crate) fn forget(&mut self, digest: &Digest) {
        self.entries.remove(digest);
    }

    pub(crate) fn digests(&self) -> Vec<Digest> {
        self.entries.keys().copied().collect()
    }

    pub(crate) fn total_bytes(&self) -> u64 {
        self.entries.values().map(CachedTree::bytes).sum()
    }

    pub(crate) fn victims(&self, bound_bytes: u64, in_use: &HashSet<Digest>) -> Vec<Digest> {
        victims(&self.entries, bound_bytes, in_use)
    }
}

/// The trees to evict so that the rest fit in `bound_bytes`: least recently used first,
/// never one `in_use`. When the trees in use alone exceed the bound, every other one goes and
/// the bound is exceeded (a running function is never starved of its code).
pub fn victims(
    entries: &HashMap<Digest, CachedTree>,
    bound_bytes: u64,
    in_use: &HashSet<Digest>,
) -> Vec<Digest> {
    let mut total: u64 = entries.values().map(CachedTree::bytes).sum();
    if total <= bound_bytes {
        return Vec::new();
    }
    let mut candidates: Vec<(&Digest, &CachedTree)> = entries
        .iter()
        .filter(|(digest, _)| !in_use.contains(digest))
        .collect();
    candidates.sort_by_key(|(digest, e)| (e.last_used, **digest));
    let mut chosen = Vec::new();
    for (digest, entry) in candidates {
        if total <= bound_bytes {
            break;
        }
        total -= entry.bytes();
        chosen.push(*digest);
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: u8) -> Digest {
        Digest([n; 32])
    }

    /// Trees 1..=n of `bytes` each, used in that order (1 least recently).
    fn used_in_order(sizes: &[u64]) -> CacheState {
        let mut state = CacheState::default();
        for (i, bytes) in sizes.iter().enumerate() {
            state.used(&d(i as u8 + 1), Some(*bytes));
        }
        state
    }

    #[test]
    fn nothing_goes_within_the_bound() {
        let state = used_in_order(&[10, 10, 10]);
        assert_eq!(state.victims(30, &HashSet::new()), vec![]);
    }

    #[test]
    fn the_least_recently_used_go_first_until_the_rest_fit() {
        let mut state = used_in_order(&[10, 10, 10, 10]);
        // Tree 1 used again: now tree 2 is the least recently used.
        state.used(&d(1), None);
        assert_eq!(state.victims(25, &HashSet::new()), vec![d(2), d(3)]);
        assert_eq!(state.victims(39, &HashSet::new()), vec![d(2)]);
    }

    #[test]
    fn a_tree_in_use_never_goes() {
        let state = used_in_order(&[10, 10, 10]);
        let in_use = HashSet::from([d(1)]);
        assert_eq!(state.victims(15, &in_use), vec![d(2), d(3)]);
    }

    #[test]
    fn trees_in_use_may_exceed_the_bound() {
        let state = used_in_order(&[50, 10]);
        let in_use = HashSet::from([d(1)]);
        assert_eq!(state.victims(20, &in_use), vec![d(2)]);
        assert_eq!(state.victims(0, &HashSet::from([d(1), d(2)])), vec![]);
    }

    #[test]
    fn a_bound_of_zero_keeps_only_trees_in_use() {
        let state = used_in_order(&[1, 2, 3]);
        let mut gone = state.victims(0, &HashSet::from([d(2)]));
        gone.sort();
        assert_eq!(gone, vec![d(1), d(3)]);
    }

    #[test]
    fn sizes_are_updated_and_forgotten_trees_count_no_more() {
        let mut state = used_in_order(&[10, 10]);
        state.resize_bytecode(&d(1), 20);
        assert_eq!(state.total_bytes(), 40);
        assert_eq!(
            state.victims(20, &HashSet::new()),
            vec![d(1)],
            "bytecode counts too"
        );
        state.forget(&d(1));
        assert_eq!(state.total_bytes(), 10);
        // A use of an unknown tree without its size records nothing.
        state.used(&d(9), None);
        assert_eq!(state.digests(), vec![d(2)]);
    }
}

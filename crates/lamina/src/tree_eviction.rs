//! `lamina serve --tree-cache-mb`: the extracted trees this node keeps are bounded; the least
//! recently used ones no environment uses are evicted, and extracted again from their blob
//! (on this disk or in S3) by the next cold start that needs them.

use std::sync::Arc;
use std::time::Duration;

use lamina_control::trees::ensure_tree;
use lamina_exec::Executor;
use lamina_exec::tree_source::TreeSource;
use lamina_store::LocalArtifacts;
use lamina_types::layer::Digest;

/// How often the trees are measured (bytecode grows after its tree, in the background) and
/// evicted when over the bound, besides whenever a tree is added. Environments reaped as idle
/// free their trees for the next pass.
const EVICTION_PERIOD: Duration = Duration::from_secs(10);

/// Cold starts make their trees present through [`ensure_tree`].
pub struct FetchTrees(pub LocalArtifacts);

#[async_trait::async_trait]
impl TreeSource for FetchTrees {
    async fn ensure(&self, digest: &Digest) -> Result<(), String> {
        ensure_tree(&self.0, digest)
            .await
            .map_err(|e| e.to_string())
    }
}

/// Evicts trees over the bound whenever one is added and every [`EVICTION_PERIOD`], for as
/// long as the server runs.
pub async fn run(artifacts: LocalArtifacts, executor: Executor) {
    let cache = Arc::clone(artifacts.tree_cache());
    loop {
        tokio::select! {
            () = cache.grown() => {}
            () = tokio::time::sleep(EVICTION_PERIOD) => {}
        }
        let executor = executor.clone();
        match artifacts.evict(move || executor.trees_in_use()).await {
            Ok(report) if report.trees > 0 => tracing::info!(
                trees = report.trees,
                bytes = report.bytes,
                "evicted extracted trees no environment uses (--tree-cache-mb)"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "evicting extracted trees failed"),
        }
    }
}

//! Where an environment's trees come from when they are not on this node's disk: a node
//! bounds the trees it keeps and evicts those no environment uses, so a cold start first
//! makes its spec's trees present again (the server's [`TreeSource`] fetches and extracts
//! them). Which trees are in use is the executor's to say ([`Executor::trees_in_use`]).

use std::collections::HashSet;
use std::sync::Arc;

use lamina_types::layer::Digest;
use lamina_types::{FunctionSpec, LambdaError};

use crate::Executor;
use crate::spawn::StartError;

/// Makes extracted trees present on this node.
#[async_trait::async_trait]
pub trait TreeSource: Send + Sync {
    /// Makes the tree of `digest` present (at once when it is); the error says why not.
    async fn ensure(&self, digest: &Digest) -> Result<(), String>;
}

/// The trees a spec mounts: its code and its layers.
fn digests(spec: &FunctionSpec) -> impl Iterator<Item = Digest> + '_ {
    std::iter::once(spec.code.digest).chain(spec.layers.iter().map(|l| l.digest))
}

impl Executor {
    /// Cold starts make their trees present through `source` from now on (once set, it
    /// stays: `lamina serve` sets it right after the start).
    pub fn set_tree_source(&self, source: Arc<dyn TreeSource>) {
        let _ = self.inner.tree_source.set(source);
    }

    /// The trees an environment of this server uses or may use without a cold start: those
    /// of every spec with environments (starting, busy or idle) or kept scratch, and of every
    /// SnapStart template. Such a tree must stay on disk.
    pub fn trees_in_use(&self) -> HashSet<Digest> {
        let mut specs = self.inner.pools.specs();
        specs.extend(self.inner.templates.specs());
        specs.iter().flat_map(|spec| digests(spec)).collect()
    }

    /// Makes `spec`'s trees present before an environment of it starts. The caller holds the
    /// environment's slot, so the spec is in [`Self::trees_in_use`] already and nothing
    /// evicts the trees once they are here.
    pub(crate) async fn ensure_trees(&self, spec: &FunctionSpec) -> Result<(), StartError> {
        let Some(source) = self.inner.tree_source.get() else {
            return Ok(());
        };
        for digest in digests(spec) {
            source.ensure(&digest).await.map_err(|e| {
                StartError::Lamina(LambdaError::Service(format!(
                    "the code sha256:{} could not be made ready on this server: {e}",
                    digest.to_hex()
                )))
            })?;
        }
        Ok(())
    }
}

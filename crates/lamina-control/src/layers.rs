//! The nine layer operations: publishing (`layers/publish.rs`), reading and deleting one
//! version (`layers/versions.rs`), the listings (`layers/listing.rs`) and the version
//! permission policies (`layers/permissions.rs`, rendered by `layers/policy.rs`). The
//! members every operation checks are in `layers/validate.rs`.

pub(crate) mod access;
mod commands;
mod listing;
mod permissions;
mod policy;
mod publish;
mod validate;
mod versions;

#[cfg(test)]
mod test_support;

use std::sync::Arc;

use lamina_store::{LocalArtifacts, MetadataStore};
use lamina_types::ExtractedTree;
use lamina_types::arn::layer_version_arn;
use lamina_types::layer::LayerVersionRecord;

pub use self::commands::{
    AddLayerPermission, AddedPermission, LayerContent, ListQuery, PublishLayerVersion,
    RenderedPolicy,
};
use crate::ingest::Ingestor;
pub use crate::paging::Page;

/// Told of each layer version published, with its tree, to prepare it for the environments
/// that will mount it (the server byte-compiles its Python sources). It must return at once:
/// the work goes on in the background while the layer version is already usable.
pub trait LayerPublished: Send + Sync {
    /// `tree` was published as a layer version for `compatible_runtimes`.
    fn layer_published(&self, tree: &ExtractedTree, compatible_runtimes: Option<&[String]>);
}

/// The layer operations over one metadata store and one artifact directory.
pub struct LayerService {
    metadata: Arc<dyn MetadataStore>,
    artifacts: LocalArtifacts,
    ingestor: Ingestor,
    published: Option<Arc<dyn LayerPublished>>,
}

impl LayerService {
    /// A service that records layers in the metadata store and their ZIPs among `artifacts`;
    /// each operation acts in the scope (account and region) of its caller.
    pub fn new(metadata: Arc<dyn MetadataStore>, artifacts: LocalArtifacts) -> Self {
        Self {
            ingestor: Ingestor::new(Arc::clone(&metadata), artifacts.clone()),
            metadata,
            artifacts,
            published: None,
        }
    }

    /// This service, telling `published` of each layer version published.
    pub fn with_published_hook(mut self, published: Arc<dyn LayerPublished>) -> Self {
        self.published = Some(published);
        self
    }

    /// The artifact directories (for content downloads).
    pub fn artifacts(&self) -> &LocalArtifacts {
        &self.artifacts
    }

    /// `arn:aws:lambda:<region>:<account>:layer:<name>:<version>` of a record.
    pub fn version_arn(&self, record: &LayerVersionRecord) -> String {
        layer_version_arn(&record.scope, &record.name, record.version)
    }
}

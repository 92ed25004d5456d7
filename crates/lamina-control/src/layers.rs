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
use lamina_types::arn::layer_version_arn;
use lamina_types::layer::LayerVersionRecord;

pub use self::commands::{
    AddLayerPermission, AddedPermission, LayerContent, ListQuery, PublishLayerVersion,
    RenderedPolicy,
};
use crate::ingest::Ingestor;
pub use crate::paging::Page;

/// The layer operations over one metadata store and one artifact directory.
pub struct LayerService {
    metadata: Arc<dyn MetadataStore>,
    artifacts: LocalArtifacts,
    ingestor: Ingestor,
}

impl LayerService {
    /// A service that records layers in the metadata store and their ZIPs among `artifacts`;
    /// each operation acts in the scope (account and region) of its caller.
    pub fn new(metadata: Arc<dyn MetadataStore>, artifacts: LocalArtifacts) -> Self {
        Self {
            ingestor: Ingestor::new(Arc::clone(&metadata), artifacts.clone()),
            metadata,
            artifacts,
        }
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

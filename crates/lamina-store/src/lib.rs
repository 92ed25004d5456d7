//! Lamina's storage: layer and function metadata behind [`MetadataStore`] (SQLite, or
//! PostgreSQL for several nodes), the durable queue of `Event` invocations behind
//! [`EventStore`], content-addressed artifacts (ZIP blobs behind [`BlobStore`], locally or in
//! S3, and their extracted trees), and the accounts and access keys behind
//! [`AccessKeyStore`] (the data directory's key file, or PostgreSQL).
//!
//! Knows nothing of HTTP or of AWS's wire format; the control plane decides what to store.

pub mod access_key_store;
pub mod access_keys;
pub mod artifacts;
pub mod blob_store;
pub mod event_invoke_store;
pub mod event_store;
pub mod function_access_store;
pub mod function_store;
pub mod function_url_store;
mod layer_json;
pub mod log_retention_store;
pub mod metadata;
pub mod node_store;
pub mod postgres;
pub mod provisioned_store;
mod rows;
pub mod settings_store;
pub mod sqlite;
#[cfg(test)]
mod test_db;
pub mod tree_cache;

pub use access_key_store::AccessKeyStore;
pub use access_keys::{AccessKeyFile, AccessKeyRecord, AccessKeysError};
pub use artifacts::{EvictReport, LocalArtifacts};
pub use blob_store::{
    BlobError, BlobReader, BlobStore, LocalBlobStore, Put, S3BlobStore, S3Location, S3ObjectError,
    S3ObjectRef, S3Objects, S3Settings, StoredBlob,
};
pub use event_invoke_store::{EventInvokeConfigRecord, EventInvokeConfigStore};
pub use event_store::{EventHeader, EventStore, NewEvent, QueuedEvent};
pub use function_access_store::{FunctionAccessStore, ReserveOutcome};
pub use function_store::{
    AccountUsage, AliasInsert, DeleteVersionOutcome, FunctionStore, PublishLatest, PublishOutcome,
};
pub use function_url_store::FunctionUrlStore;
pub use log_retention_store::LogRetentionStore;
pub use metadata::{LayerVersionFilter, MetadataStore, NewLayerVersion, StoreError};
pub use node_store::{NodeRecord, NodeStore};
pub use postgres::{PgAccessKeys, PgStore};
pub use provisioned_store::{ProvisionedConcurrencyRecord, ProvisionedConcurrencyStore};
pub use settings_store::FunctionSettingsStore;
pub use sqlite::SqliteStore;

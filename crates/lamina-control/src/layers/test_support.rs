//! A layer service over a real SQLite store and artifact directory in a temporary directory,
//! for the layer operations' tests.

use std::sync::{Arc, Mutex};

use lamina_store::{LocalArtifacts, MetadataStore, SqliteStore};
use lamina_types::layer::LayerVersionRecord;
use lamina_types::{AccountId, ExtractedTree, Region, Scope};

use super::{LayerContent, LayerPublished, LayerService, PublishLayerVersion};
use crate::test_zip::{b64, stored_zip};

pub(super) struct Fixture {
    _dir: tempfile::TempDir,
    pub(super) layers: LayerService,
    pub(super) scope: Scope,
    /// What the service told of each layer version published.
    pub(super) published: Arc<Published>,
}

/// Records each tree published, with its compatible runtimes.
#[derive(Default)]
pub(super) struct Published(pub(super) Mutex<Vec<(ExtractedTree, Option<Vec<String>>)>>);

impl LayerPublished for Published {
    fn layer_published(&self, tree: &ExtractedTree, compatible_runtimes: Option<&[String]>) {
        let mut told = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        told.push((tree.clone(), compatible_runtimes.map(<[String]>::to_vec)));
    }
}

/// PublishLayerVersion of a one-file layer compatible with python3.12 on x86_64.
pub(super) fn publish_cmd(name: &str) -> PublishLayerVersion {
    PublishLayerVersion {
        layer_name: name.to_owned(),
        description: Some("test layer".to_owned()),
        compatible_runtimes: Some(vec!["python3.12".to_owned()]),
        compatible_architectures: Some(vec!["x86_64".to_owned()]),
        license_info: None,
        content: Some(LayerContent {
            zip_file_base64: Some(b64(&stored_zip(&[("python/dep.py", b"X = 1\n")]))),
            ..Default::default()
        }),
    }
}

impl Fixture {
    pub(super) async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let account = AccountId::parse("123456789012").unwrap();
        let store = SqliteStore::open(&dir.path().join("lamina.db"), &account)
            .await
            .unwrap();
        let metadata: Arc<dyn MetadataStore> = Arc::new(store);
        let artifacts = LocalArtifacts::open(dir.path()).unwrap();
        let published = Arc::new(Published::default());
        Self {
            layers: LayerService::new(metadata, artifacts).with_published_hook(published.clone()),
            scope: Scope::new(account, Region::parse("us-west-2").unwrap()),
            published,
            _dir: dir,
        }
    }

    /// Publishes [`publish_cmd`] of `name`.
    pub(super) async fn publish(&self, name: &str) -> LayerVersionRecord {
        self.layers
            .publish(&self.scope, publish_cmd(name))
            .await
            .unwrap()
    }
}

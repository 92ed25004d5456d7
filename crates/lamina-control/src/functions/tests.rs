//! The function service end to end over a real SQLite store and artifact directory:
//! create, publish, aliases, and what `resolve` hands the invoker.

use std::sync::Arc;

use lamina_store::{FunctionStore, LocalArtifacts, MetadataStore, SqliteStore};
use lamina_types::{AccountId, LambdaError, Region, Scope};

use super::*;
use crate::layers::{LayerContent, LayerService, PublishLayerVersion};
use crate::test_zip::{b64, stored_zip};

pub(super) struct Fixture {
    _dir: tempfile::TempDir,
    pub(super) functions: FunctionService,
    pub(super) layers: LayerService,
    pub(super) scope: Scope,
}

/// Every function is ready at once.
pub(super) struct Ready;

#[async_trait::async_trait]
impl Preparer for Ready {
    async fn prepare(
        &self,
        _: &FunctionVersionRecord,
    ) -> Result<(), lamina_types::function_state::NotReady> {
        Ok(())
    }
}

pub(super) async fn fixture() -> Fixture {
    fixture_with(Arc::new(Ready)).await
}

pub(super) async fn fixture_with(preparer: Arc<dyn Preparer>) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let account = AccountId::parse("123456789012").unwrap();
    let store = Arc::new(
        SqliteStore::open(&dir.path().join("lamina.db"), &account)
            .await
            .unwrap(),
    );
    let artifacts = LocalArtifacts::open(dir.path()).unwrap();
    let metadata: Arc<dyn MetadataStore> = store.clone();
    let function_store: Arc<dyn FunctionStore> = store;
    Fixture {
        layers: LayerService::new(metadata, artifacts.clone()),
        functions: FunctionService::new(function_store, artifacts, preparer),
        scope: Scope::new(account, Region::parse("us-west-2").unwrap()),
        _dir: dir,
    }
}

pub(super) fn create_cmd(name: &str, layers: Vec<String>) -> CreateFunction {
    CreateFunction {
        function_name: Some(name.to_owned()),
        code: Some(FunctionCode {
            zip_file_base64: Some(b64(&stored_zip(&[(
                "app.py",
                b"def h(e, c):\n    return e\n",
            )]))),
            ..Default::default()
        }),
        config: ConfigInput {
            role: Some("arn:aws:iam::123456789012:role/r".into()),
            runtime: Some("python3.12".into()),
            handler: Some("app.h".into()),
            memory_size: Some(256),
            environment: Some(EnvironmentVariables::from_iter([(
                "STAGE".to_owned(),
                "dev".to_owned(),
            )])),
            layers: Some(layers),
            ..Default::default()
        },
        ..Default::default()
    }
}

#[tokio::test]
async fn resolve_hands_the_invoker_a_locked_spec() {
    let f = fixture().await;
    let layer = f
        .layers
        .publish(
            &f.scope,
            PublishLayerVersion {
                layer_name: "deps".into(),
                content: Some(LayerContent {
                    zip_file_base64: Some(b64(&stored_zip(&[("python/dep.py", b"X = 1\n")]))),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let layer_arn = f.layers.version_arn(&layer);
    let created = f
        .functions
        .create(&f.scope, create_cmd("app", vec![layer_arn.clone()]))
        .await
        .unwrap();
    f.functions
        .publish_version(
            &f.scope,
            PublishVersion {
                function_name: "app".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    f.functions
        .create_alias(
            &f.scope,
            CreateAlias {
                function_name: "app".into(),
                name: Some("live".into()),
                function_version: Some("1".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // Deleting the layer version changes nothing for the function.
    f.layers.delete(&f.scope, "deps", 1).await.unwrap();

    let unqualified = f.functions.resolve(&f.scope, "app", None).await.unwrap();
    assert_eq!(unqualified.executed_version, "$LATEST");
    assert_eq!(
        unqualified.invoked_function_arn,
        "arn:aws:lambda:us-west-2:123456789012:function:app"
    );
    let spec = &unqualified.spec;
    assert_eq!(spec.function_arn, unqualified.invoked_function_arn);
    assert_eq!(
        (spec.runtime.as_str(), spec.handler.as_str()),
        ("python3.12", "app.h")
    );
    // The spec names the extracted trees themselves: the executor looks nothing up.
    assert_eq!(spec.code.digest, created.record.code_sha256);
    assert!(spec.code.path.join("app.py").is_file(), "{:?}", spec.code);
    assert_eq!(spec.layers.len(), 1);
    assert_eq!(spec.layers[0].digest, layer.code_sha256);
    assert!(spec.layers[0].path.is_dir(), "{:?}", spec.layers);
    assert_eq!(
        (spec.memory_mb, spec.timeout_secs, spec.ephemeral_storage_mb),
        (256, 3, 512)
    );
    assert_eq!(spec.environment["STAGE"], "dev");
    assert_eq!(spec.log_group, "/aws/lambda/app");
    assert_eq!(
        (spec.architecture.as_str(), spec.region.as_str()),
        ("x86_64", "us-west-2")
    );

    let via_alias = f
        .functions
        .resolve(&f.scope, "app", Some("live"))
        .await
        .unwrap();
    assert_eq!(via_alias.executed_version, "1");
    assert_eq!(via_alias.spec.version, "1");
    assert!(
        via_alias
            .invoked_function_arn
            .ends_with("function:app:live")
    );
    let by_arn = f
        .functions
        .resolve(
            &f.scope,
            "arn:aws:lambda:us-west-2:123456789012:function:app:1",
            None,
        )
        .await
        .unwrap();
    assert_eq!(by_arn.executed_version, "1");
    assert!(by_arn.invoked_function_arn.ends_with("function:app:1"));
    let partial = f
        .functions
        .resolve(&f.scope, "123456789012:function:app", Some("$LATEST"))
        .await
        .unwrap();
    assert!(
        partial
            .invoked_function_arn
            .ends_with("function:app:$LATEST")
    );

    let missing = |e: LambdaError| e.message().to_owned();
    assert_eq!(
        missing(
            f.functions
                .resolve(&f.scope, "nope", None)
                .await
                .unwrap_err()
        ),
        "Function not found: arn:aws:lambda:us-west-2:123456789012:function:nope:$LATEST"
    );
    assert_eq!(
        missing(
            f.functions
                .resolve(&f.scope, "app", Some("dark"))
                .await
                .unwrap_err()
        ),
        "Function not found: arn:aws:lambda:us-west-2:123456789012:function:app:dark"
    );
    assert_eq!(
        missing(
            f.functions
                .resolve(&f.scope, "app", Some("9"))
                .await
                .unwrap_err()
        ),
        "Function not found: arn:aws:lambda:us-west-2:123456789012:function:app:9"
    );
}

#[tokio::test]
async fn attachment_rules_run_before_anything_is_stored() {
    let f = fixture().await;
    let e = f
        .functions
        .create(
            &f.scope,
            create_cmd(
                "app",
                vec!["arn:aws:lambda:us-west-2:123456789012:layer:ghost:1".into()],
            ),
        )
        .await
        .unwrap_err();
    assert_eq!(
        e.message(),
        "Layer version arn:aws:lambda:us-west-2:123456789012:layer:ghost:1 does not exist."
    );
    let e = f
        .functions
        .get_configuration(&f.scope, "app", None)
        .await
        .unwrap_err();
    assert_eq!(e.type_name(), "ResourceNotFoundException");
    let six = (0..6)
        .map(|i| format!("arn:aws:lambda:us-west-2:123456789012:layer:l{i}:1"))
        .collect();
    let e = f
        .functions
        .create(&f.scope, create_cmd("app", six))
        .await
        .unwrap_err();
    assert_eq!(e.message(), "Cannot reference more than 5 layers.");
}

//! The function spec the unit tests launch: one place for its many fields.

use std::collections::BTreeMap;
use std::path::Path;

use lamina_types::layer::Digest;
use lamina_types::{Architecture, ExtractedTree, FunctionSpec, Runtime};

/// A `runtime` function `f` of account 123456789012 whose code is `task` and whose layers are
/// `layers`, with AWS's default sizes and no environment variables.
pub(crate) fn spec(runtime: &str, task: &Path, layers: &[&Path]) -> FunctionSpec {
    let tree = |path: &Path| ExtractedTree {
        digest: Digest([1; 32]),
        path: path.to_owned(),
        bytecode: None,
    };
    FunctionSpec {
        function_name: "f".into(),
        function_arn: "arn:aws:lambda:us-east-1:123456789012:function:f".into(),
        version: "$LATEST".into(),
        region: "us-east-1".into(),
        runtime: Runtime::parse(runtime).expect("a runtime of the API model"),
        handler: "app.handler".into(),
        code: tree(task),
        layers: layers.iter().map(|l| tree(l)).collect(),
        memory_mb: 128,
        timeout_secs: 3,
        ephemeral_storage_mb: 512,
        environment: BTreeMap::new(),
        architecture: Architecture::X86_64,
        log_group: "/aws/lambda/f".into(),
        json_log_level: None,
        snap_start: false,
        concurrency: Default::default(),
    }
}

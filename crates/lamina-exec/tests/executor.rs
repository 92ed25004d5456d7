//! The executor with real processes and no isolation: a custom runtime written in Python
//! (tests/fixtures/custom_runtime.py) exercises the Runtime API and the invoke lifecycle.

#![allow(clippy::unwrap_used)] // a test: a failed step should stop it loudly

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use lamina_exec::interpreters::Interpreters;
use lamina_exec::launch::Isolation;
use lamina_exec::{ExecConfig, Executor, InvokeRequest, InvokeResult};
use lamina_types::layer::Digest;
use lamina_types::{Architecture, ExtractedTree, FunctionSpec, Runtime};
use serde_json::{Value, json};

const CODE: Digest = Digest([1; 32]);
const LAYER_A: Digest = Digest([2; 32]);
const LAYER_B: Digest = Digest([3; 32]);
const PY_CODE: Digest = Digest([4; 32]);
const PY_LAYER: Digest = Digest([5; 32]);

struct Setup {
    _dir: tempfile::TempDir,
    executor: Executor,
    logs: std::path::PathBuf,
    envs: std::path::PathBuf,
    trees: std::path::PathBuf,
}

/// Where the test keeps the extracted tree of `digest` (any layout works: the spec names it).
fn tree_path(trees: &Path, digest: &Digest) -> std::path::PathBuf {
    trees.join(digest.to_hex())
}

async fn setup(max_envs: usize) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let trees = dir.path().join("trees");
    let code = tree_path(&trees, &CODE);
    fs::create_dir_all(&code).unwrap();
    let bootstrap = code.join("bootstrap");
    let runtime = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/custom_runtime.py");
    fs::copy(runtime, &bootstrap).unwrap();
    fs::set_permissions(&bootstrap, fs::Permissions::from_mode(0o755)).unwrap();
    for (digest, which) in [(LAYER_A, "a"), (LAYER_B, "b")] {
        let tree = tree_path(&trees, &digest);
        fs::create_dir_all(tree.join(format!("only-{which}"))).unwrap();
        fs::write(tree.join("which.txt"), which).unwrap();
    }
    let logs = dir.path().join("logs");
    let config = ExecConfig {
        envs_dir: dir.path().join("envs"),
        views_dir: dir.path().join("views"),
        runtime_dir: dir.path().join("runtime"),
        logs_dir: logs.clone(),
        log_limits: Default::default(),
        isolation: Isolation::None,
        network: lamina_exec::network::FunctionNetwork::Host,
        interpreters: Interpreters::discover(),
        runtime_sdks: lamina_exec::runtime_sdks::RuntimeSdks::off(),
        jail_program: "/nonexistent".into(),
        max_environments_per_function: max_envs,
        idle_timeout: Duration::from_secs(60),
        standby_environments: 0,
        descriptor_reserve: 0,
        seccomp: true,
        bytecode_scratch: None,
    };
    lamina_exec::runtime_files::install(&dir.path().join("runtime"), &Interpreters::discover())
        .unwrap();
    let python_code = tree_path(&trees, &PY_CODE);
    fs::create_dir_all(&python_code).unwrap();
    fs::write(
        python_code.join("app.py"),
        "import greeting\nCALLS = []\ndef handler(event, context):\n    CALLS.append(1)\n    \
         print('handled', event)\n    return {'greeting': greeting.TEXT, 'calls': len(CALLS), \
         'name': context.function_name}\n",
    )
    .unwrap();
    let py_layer = tree_path(&trees, &PY_LAYER);
    fs::create_dir_all(py_layer.join("python")).unwrap();
    fs::write(
        py_layer.join("python/greeting.py"),
        "TEXT = 'hello from a layer'\n",
    )
    .unwrap();
    let executor = Executor::start(config).await.unwrap();
    Setup {
        envs: dir.path().join("envs"),
        trees,
        _dir: dir,
        executor,
        logs,
    }
}

impl Setup {
    fn tree(&self, digest: Digest) -> ExtractedTree {
        ExtractedTree {
            digest,
            path: tree_path(&self.trees, &digest),
            bytecode: None,
        }
    }

    fn spec(&self, timeout_secs: u32, env: &[(&str, &str)]) -> Arc<FunctionSpec> {
        Arc::new(FunctionSpec {
            function_name: "fn".into(),
            function_arn: "arn:aws:lambda:us-west-2:123456789012:function:fn".into(),
            version: "$LATEST".into(),
            region: "us-west-2".into(),
            runtime: Runtime::parse("provided.al2023").unwrap(),
            handler: "handler".into(),
            code: self.tree(CODE),
            layers: vec![self.tree(LAYER_A), self.tree(LAYER_B)],
            memory_mb: 128,
            timeout_secs,
            ephemeral_storage_mb: 512,
            environment: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            architecture: Architecture::X86_64,
            log_group: "/aws/lambda/fn".into(),
            json_log_level: None,
            snap_start: false,
            concurrency: Default::default(),
        })
    }
}

fn request(event: Value, tail: bool) -> InvokeRequest {
    InvokeRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        payload: Bytes::from(event.to_string()),
        invoked_function_arn: "arn:aws:lambda:us-west-2:123456789012:function:fn".into(),
        client_context: None,
        tail_log: tail,
    }
}

fn body(result: &InvokeResult) -> Value {
    serde_json::from_slice(&result.payload).unwrap()
}

#[tokio::test]
async fn warm_environment_keeps_state_and_sees_merged_layers() {
    let s = setup(4).await;
    let spec = s.spec(5, &[("MY_VAR", "mine")]);
    let first = s
        .executor
        .invoke(spec.clone(), request(json!({"action": "echo"}), false))
        .await
        .unwrap();
    assert!(!first.function_error, "{:?}", first.payload);
    let first = body(&first);
    assert_eq!(first["count"], 1);
    assert_eq!(first["which"], "b", "the later layer wins");
    assert_eq!(first["opt"], json!(["only-a", "only-b", "which.txt"]));
    assert_eq!(first["env"]["MY_VAR"], "mine");
    assert_eq!(first["env"]["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "128");
    let second = s
        .executor
        .invoke(spec, request(json!({"action": "echo"}), false))
        .await
        .unwrap();
    assert_eq!(
        body(&second)["count"],
        2,
        "module state survives between invokes"
    );
}

#[tokio::test]
async fn function_errors_exits_and_timeouts() {
    let s = setup(4).await;
    let spec = s.spec(1, &[]);
    let failed = s
        .executor
        .invoke(spec.clone(), request(json!({"action": "fail"}), false))
        .await
        .unwrap();
    assert!(failed.function_error);
    assert_eq!(body(&failed)["errorType"], "ValueError");

    let exited = s
        .executor
        .invoke(
            spec.clone(),
            request(json!({"action": "exit", "code": 3}), false),
        )
        .await
        .unwrap();
    assert!(exited.function_error);
    let exited = body(&exited);
    assert_eq!(exited["errorType"], "Runtime.ExitError");
    assert!(
        exited["errorMessage"]
            .as_str()
            .unwrap()
            .ends_with("Error: Runtime exited with error: exit status 3")
    );

    let timed_out = s
        .executor
        .invoke(
            spec.clone(),
            request(json!({"action": "sleep", "secs": 30}), false),
        )
        .await
        .unwrap();
    let timed_out = body(&timed_out);
    assert_eq!(timed_out["errorType"], "Sandbox.Timedout");
    assert!(
        timed_out["errorMessage"]
            .as_str()
            .unwrap()
            .ends_with("Task timed out after 1.00 seconds")
    );

    let after = s
        .executor
        .invoke(spec, request(json!({"action": "echo"}), false))
        .await
        .unwrap();
    assert_eq!(
        body(&after)["count"],
        1,
        "a fresh environment after the reset"
    );
}

#[tokio::test]
async fn init_errors_fail_the_invoke_and_the_next_one_reinits() {
    let s = setup(4).await;
    let spec = s.spec(5, &[("FAIL_INIT", "1")]);
    for _ in 0..2 {
        let result = s
            .executor
            .invoke(spec.clone(), request(json!({}), false))
            .await
            .unwrap();
        assert!(result.function_error);
        assert_eq!(body(&result)["errorType"], "InitError");
    }
}

#[tokio::test]
async fn tail_has_the_handler_output_and_report_and_logs_are_kept() {
    let s = setup(4).await;
    let result = s
        .executor
        .invoke(s.spec(5, &[]), request(json!({"action": "print"}), true))
        .await
        .unwrap();
    use base64::Engine;
    let tail = base64::engine::general_purpose::STANDARD
        .decode(result.log_result.unwrap())
        .unwrap();
    let tail = String::from_utf8(tail).unwrap();
    assert!(tail.contains("START RequestId: "), "{tail}");
    assert!(tail.contains("hello from the handler\n"), "{tail}");
    assert!(tail.contains("\nEND RequestId: "), "{tail}");
    assert!(
        tail.contains("Init Duration: "),
        "cold start reports init: {tail}"
    );
    // One log per account's function: `<account>.<name>.log`.
    let log = fs::read_to_string(s.logs.join("123456789012.fn.log")).unwrap();
    assert!(log.contains("\thello from the handler"));
    assert!(log.contains("\tREPORT RequestId: "));
}

#[tokio::test]
async fn the_callers_request_id_reaches_the_runtime_and_every_log_line() {
    let s = setup(4).await;
    let mut req = request(json!({"action": "echo"}), true);
    req.request_id = "5f1e0c1a-7d0e-4f3b-9d62-0b3a2c9e8f10".into();

    let result = s.executor.invoke(s.spec(5, &[]), req).await.unwrap();

    assert_eq!(
        body(&result)["request_id"],
        "5f1e0c1a-7d0e-4f3b-9d62-0b3a2c9e8f10"
    );
    // One log per account's function: `<account>.<name>.log`.
    let log = fs::read_to_string(s.logs.join("123456789012.fn.log")).unwrap();
    for kind in ["START", "END", "REPORT"] {
        let line = format!("\t{kind} RequestId: 5f1e0c1a-7d0e-4f3b-9d62-0b3a2c9e8f10");
        assert!(log.contains(&line), "no {kind} line with the id in {log}");
    }
}

#[tokio::test]
async fn parallel_invokes_use_separate_environments_up_to_the_cap() {
    let s = setup(2).await;
    let spec = s.spec(5, &[]);
    let slow = || {
        s.executor.invoke(
            spec.clone(),
            request(json!({"action": "sleep", "secs": 1}), false),
        )
    };
    let (a, b, c) = tokio::join!(slow(), slow(), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        s.executor
            .invoke(spec.clone(), request(json!({"action": "echo"}), false))
            .await
    });
    assert!(!a.unwrap().function_error && !b.unwrap().function_error);
    let throttled = c.unwrap_err();
    assert_eq!(throttled.type_name(), "TooManyRequestsException");
}

#[tokio::test]
async fn a_throttled_caller_is_told_when_the_environment_is_released() {
    let s = setup(1).await;
    let spec = s.spec(5, &[]);
    let released = s.executor.releases();
    let slow = s.executor.invoke(
        spec.clone(),
        request(json!({"action": "sleep", "secs": 1}), false),
    );
    let throttled_then_told = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let told = released.notified();
        tokio::pin!(told);
        told.as_mut().enable();
        let throttled = s
            .executor
            .invoke(spec.clone(), request(json!({"action": "echo"}), false))
            .await
            .unwrap_err();
        assert_eq!(throttled.type_name(), "TooManyRequestsException");
        tokio::time::timeout(Duration::from_secs(30), told)
            .await
            .expect("no release notification");
        s.executor
            .invoke(spec.clone(), request(json!({"action": "echo"}), false))
            .await
    };

    let (first, after_release) = tokio::join!(slow, throttled_then_told);

    assert!(!first.unwrap().function_error);
    assert!(!after_release.unwrap().function_error);
}

#[tokio::test]
async fn python_handler_imports_from_its_layer_through_our_bootstrap() {
    let s = setup(4).await;
    let mut spec = (*s.spec(5, &[])).clone();
    spec.runtime = Runtime::parse("python3.11").unwrap();
    spec.handler = "app.handler".into();
    spec.code = s.tree(PY_CODE);
    spec.layers = vec![s.tree(PY_LAYER)];
    let spec = Arc::new(spec);
    for calls in 1..=2 {
        let result = s
            .executor
            .invoke(spec.clone(), request(json!({"n": 1}), true))
            .await
            .unwrap();
        assert!(
            !result.function_error,
            "{}",
            String::from_utf8_lossy(&result.payload)
        );
        let body = body(&result);
        assert_eq!(body["greeting"], "hello from a layer");
        assert_eq!(body["calls"], calls);
        assert_eq!(body["name"], "fn");
    }
}

#[tokio::test]
async fn a_caller_that_stops_waiting_neither_cancels_the_invocation_nor_keeps_its_environment() {
    let s = setup(1).await;
    let spec = s.spec(5, &[]);
    let released = s.executor.releases();
    let told = released.notified();
    tokio::pin!(told);
    told.as_mut().enable();
    let first = request(json!({"action": "sleep", "secs": 1}), false);
    let first_id = first.request_id.clone();

    // The caller goes away mid-invoke, as a client that disconnects.
    let gave_up = tokio::time::timeout(
        Duration::from_millis(300),
        s.executor.invoke(spec.clone(), first),
    )
    .await;
    assert!(gave_up.is_err(), "the invoke should still be running");
    tokio::time::timeout(Duration::from_secs(30), told)
        .await
        .expect("the environment was never handed back");

    let next = s
        .executor
        .invoke(spec, request(json!({"action": "echo"}), false))
        .await
        .expect("the only slot is free again");
    assert_eq!(
        body(&next)["count"],
        2,
        "the same environment, after the first invocation ran in it"
    );
    // One log per account's function: `<account>.<name>.log`.
    let log = fs::read_to_string(s.logs.join("123456789012.fn.log")).unwrap();
    assert!(
        log.contains(&format!("\tEND RequestId: {first_id}")),
        "the abandoned invocation ran to its end: {log}"
    );
}

#[tokio::test]
async fn shutdown_ends_invocations_under_way_and_leaves_no_scratch() {
    let s = setup(2).await;
    let spec = s.spec(60, &[]);
    let running = tokio::spawn({
        let executor = s.executor.clone();
        let spec = spec.clone();
        async move {
            executor
                .invoke(spec, request(json!({"action": "sleep", "secs": 30}), false))
                .await
        }
    });
    let envs = s.envs.clone();
    tokio::time::timeout(Duration::from_secs(30), async {
        while fs::read_dir(&envs).unwrap().count() == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the invocation never got an environment");

    tokio::time::timeout(Duration::from_secs(20), s.executor.shut_down())
        .await
        .expect("shutdown waited for the 30 s invocation");

    let ended = running.await.unwrap().unwrap_err();
    assert_eq!(ended.type_name(), "ServiceException");
    let left: Vec<_> = fs::read_dir(&s.envs).unwrap().collect();
    assert!(left.is_empty(), "scratch left after shutdown: {left:?}");
    let refused = s
        .executor
        .invoke(spec, request(json!({"action": "echo"}), false))
        .await
        .unwrap_err();
    assert_eq!(refused.type_name(), "ServiceException");
}

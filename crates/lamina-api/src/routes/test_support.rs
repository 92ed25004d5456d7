//! The real router over a real state for in-process route tests: a SQLite store and an
//! artifact directory in a temporary directory, an executor without isolation (nothing in
//! these tests runs a function) and a preparer that finds every function ready at once.

use std::io::Write;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use base64::Engine;
use lamina_control::functions::Preparer;
use lamina_control::{FunctionService, LayerService};
use lamina_events::{EventQueue, LaminaRunner, QueueConfig, RetryPolicy};
use lamina_exec::interpreters::Interpreters;
use lamina_exec::launch::Isolation;
use lamina_exec::logs::LogLimits;
use lamina_exec::{ExecConfig, Executor};
use lamina_store::{EventStore, FunctionStore, LocalArtifacts, MetadataStore, SqliteStore};
use lamina_types::function_config::FunctionVersionRecord;
use lamina_types::function_state::NotReady;
use lamina_types::{AccountId, Region};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::{AppState, ContentSigner};

/// The account of every ARN in the route tests.
pub(crate) const ACCOUNT: &str = "123456789012";

/// The region of unsigned requests in the route tests.
pub(crate) const REGION: &str = "us-east-1";

/// The router and the state behind it, alive as long as its temporary directory.
pub(crate) struct TestApi {
    router: Router,
    _dir: tempfile::TempDir,
}

/// One response, read whole.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    /// `x-amzn-ErrorType`, when the response is an error.
    pub(crate) error_type: Option<String>,
    /// The JSON body (`Null` when the body is empty).
    pub(crate) body: Value,
}

impl Answer {
    /// Asserts a success with `status` and gives its body.
    #[track_caller]
    pub(crate) fn ok(&self, status: u16) -> &Value {
        assert_eq!((self.status, &self.error_type), (status, &None), "{self:?}");
        &self.body
    }

    /// Asserts an error with `status`, `x-amzn-ErrorType` `error_type` and exactly `body`.
    #[track_caller]
    pub(crate) fn error(&self, status: u16, error_type: &str, body: Value) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.error_type.as_deref(), Some(error_type), "{self:?}");
        assert_eq!(self.body, body);
    }

    /// Asserts an error with `status` and `error_type` whose body is AWS's shape for it
    /// (`Type: User` for modelled user errors, then `message` or `Message`), and gives the
    /// message.
    #[track_caller]
    pub(crate) fn error_message(&self, status: u16, error_type: &str) -> &str {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.error_type.as_deref(), Some(error_type), "{self:?}");
        let Value::Object(members) = &self.body else {
            panic!("error body is not an object: {self:?}");
        };
        let mut keys: Vec<&str> = members.keys().map(String::as_str).collect();
        keys.sort_unstable();
        let expected: &[&str] = match error_type {
            // AWS's unmodelled errors carry no `Type`.
            "ValidationException" | "UnknownOperationException" => &["message"],
            "ResourceNotFoundException" => &["Message", "Type"],
            _ => &["Type", "message"],
        };
        assert_eq!(keys, expected, "{self:?}");
        if let Some(kind) = members.get("Type") {
            assert_eq!(kind, "User");
        }
        members
            .get("message")
            .or_else(|| members.get("Message"))
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}

/// Every function is ready as soon as it is recorded.
struct Ready;

#[async_trait::async_trait]
impl Preparer for Ready {
    async fn prepare(&self, _: &FunctionVersionRecord) -> Result<(), NotReady> {
        Ok(())
    }
}

impl TestApi {
    pub(crate) async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path();
        let account = AccountId::parse(ACCOUNT).unwrap();
        let store = Arc::new(
            SqliteStore::open(&data.join("lamina.db"), &account)
                .await
                .unwrap(),
        );
        let artifacts = LocalArtifacts::open(data).unwrap();
        let executor = Executor::start(ExecConfig {
            envs_dir: data.join("envs"),
            views_dir: data.join("views"),
            runtime_dir: data.join("runtime"),
            logs_dir: data.join("logs"),
            log_limits: LogLimits::default(),
            isolation: Isolation::None,
            network: lamina_exec::network::FunctionNetwork::Host,
            interpreters: Interpreters::default(),
            runtime_sdks: lamina_exec::runtime_sdks::RuntimeSdks::off(),
            jail_program: "/nonexistent/lamina".into(),
            max_environments_per_function: 1,
            idle_timeout: std::time::Duration::from_secs(60),
            standby_environments: 0,
            descriptor_reserve: 0,
            seccomp: false,
            bytecode_scratch: None,
        })
        .await
        .unwrap();
        let signer = ContentSigner::new(b"route tests".to_vec(), 60);
        let cluster = crate::Cluster {
            node: lamina_store::NodeRecord {
                id: lamina_types::NodeId::from_random(1),
                url: "http://127.0.0.1:8900".to_owned(),
                started_millis: 0,
                heartbeat_millis: 0,
            },
            nodes: store.clone(),
            log_retention: store.clone(),
            artifacts: artifacts.blobs().clone(),
            peer_token: crate::cluster::PeerToken::derive(&signer),
        };
        let metadata: Arc<dyn MetadataStore> = store.clone();
        let event_store: Arc<dyn EventStore> = store.clone();
        let function_store: Arc<dyn FunctionStore> = store;
        let functions = Arc::new(FunctionService::new(
            function_store,
            artifacts.clone(),
            Arc::new(Ready),
        ));
        // The queue is opened but never run: Event invocations are only recorded.
        let runner = Arc::new(LaminaRunner::new(Arc::clone(&functions), executor.clone()));
        let config = QueueConfig {
            retry: RetryPolicy::aws(std::time::Duration::from_secs(60)),
            max_running_per_function: 1,
            node: lamina_types::NodeId::from_random(1),
            claim_every: std::time::Duration::from_secs(1),
            node_live_for: std::time::Duration::from_secs(10),
        };
        let events = EventQueue::open(event_store, runner, config).await.unwrap();
        let state = Arc::new(AppState {
            layers: LayerService::new(metadata, artifacts),
            functions,
            executor,
            events,
            content: signer,
            default_region: Region::parse(REGION).unwrap(),
            default_account: account,
            // The route tests send unsigned requests; authentication has its own tests.
            auth: crate::AuthMode::None,
            host_network_because: Some("route tests: no isolation".to_owned()),
            cluster,
        });
        Self {
            router: crate::router(state),
            _dir: dir,
        }
    }

    /// Sends `request` through the router.
    pub(crate) async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let error_type = response
            .headers()
            .get("x-amzn-errortype")
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        Answer {
            status,
            error_type,
            body,
        }
    }

    /// `method uri` with `body` as JSON (no body when `None`).
    pub(crate) async fn call(&self, method: &str, uri: &str, body: Option<Value>) -> Answer {
        let request = Request::builder().method(method).uri(uri);
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        };
        self.send(request.unwrap()).await
    }

    /// `method uri` with an HTML form `form` (URL-encoded), as a browser sends it; gives the
    /// status, the `Location` header and the body as text.
    pub(crate) async fn page(
        &self,
        method: &str,
        uri: &str,
        form: Option<&str>,
    ) -> (u16, Option<String>, String) {
        let request = Request::builder().method(method).uri(uri);
        let request = match form {
            Some(form) => request
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form.to_owned())),
            None => request.body(Body::empty()),
        };
        let response = self.router.clone().oneshot(request.unwrap()).await.unwrap();
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, location, String::from_utf8(bytes.to_vec()).unwrap())
    }

    /// PublishLayerVersion of a small python3.12 layer named `name`; gives its body.
    pub(crate) async fn publish_layer(&self, name: &str) -> Value {
        let uri = format!("/2018-10-31/layers/{name}/versions");
        let body = json!({
            "Content": { "ZipFile": zip_base64(&[("python/dep.py", "X = 1\n")]) },
            "CompatibleRuntimes": ["python3.12"],
            "Description": "dependencies",
        });
        self.call("POST", &uri, Some(body)).await.ok(201).clone()
    }

    /// CreateFunction of a python3.12 function named `name`; gives its body.
    pub(crate) async fn create_function(&self, name: &str) -> Value {
        let body = create_function_body(name);
        let answer = self.call("POST", "/2015-03-31/functions", Some(body)).await;
        answer.ok(201).clone()
    }

    /// PublishVersion of function `name`; the new version's configuration.
    pub(crate) async fn publish_version(&self, name: &str) -> Value {
        let uri = format!("/2015-03-31/functions/{name}/versions");
        self.call("POST", &uri, Some(json!({})))
            .await
            .ok(201)
            .clone()
    }
}

/// The body of CreateFunction for a python3.12 function named `name`.
pub(crate) fn create_function_body(name: &str) -> Value {
    json!({
        "FunctionName": name,
        "Runtime": "python3.12",
        "Role": format!("arn:aws:iam::{ACCOUNT}:role/lambda"),
        "Handler": "app.handler",
        "Code": { "ZipFile": zip_base64(&[("app.py", "def handler(event, context):\n    return event\n")]) },
    })
}

/// Base64 of a ZIP holding `files` (path, text).
pub(crate) fn zip_base64(files: &[(&str, &str)]) -> String {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (path, text) in files {
        writer.start_file(*path, options).unwrap();
        writer.write_all(text.as_bytes()).unwrap();
    }
    let bytes = writer.finish().unwrap().into_inner();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

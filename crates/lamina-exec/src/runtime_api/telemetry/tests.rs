use std::time::Duration;

use axum::http::Request;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tower::ServiceExt;

use super::delivery::Batch;
use super::subscription::{Buffering, parse};
use super::*;
use crate::runtime_api::{Extensions, FunctionInfo, router};

// --- validation ------------------------------------------------------------------------------

fn request(types: Value, uri: &str, buffering: Value) -> Vec<u8> {
    let mut doc = json!({
        "schemaVersion": "2022-07-01",
        "destination": {"protocol": "HTTP", "URI": uri},
        "types": types,
    });
    if !buffering.is_null() {
        doc["buffering"] = buffering;
    }
    serde_json::to_vec(&doc).unwrap()
}

#[test]
fn a_minimal_subscription_gets_awss_default_buffering() {
    let body = request(
        json!(["platform", "function"]),
        "http://sandbox.localdomain:8080",
        Value::Null,
    );
    let sub = parse(Api::Telemetry, &body).unwrap();
    assert_eq!(sub.buffering, Buffering::default());
    assert_eq!(sub.buffering.max_items, 1000);
    assert_eq!(sub.buffering.max_bytes, 262_144);
    assert_eq!(sub.buffering.timeout, Duration::from_millis(1000));
    assert!(sub.types.platform && sub.types.function && !sub.types.extension);
    assert_eq!(sub.destination.port, 8080);
    assert_eq!(sub.destination.path, "/");
    assert_eq!(sub.destination.authority, "sandbox.localdomain:8080");
    assert_eq!(sub.destination.method, "POST");
}

#[test]
fn buffering_limits_are_awss() {
    let ok = json!({"maxItems": 10000, "maxBytes": 1_048_576, "timeoutMs": 25});
    let body = request(json!(["platform"]), "http://127.0.0.1:4243/in?x=1", ok);
    let sub = parse(Api::Telemetry, &body).unwrap();
    assert_eq!(
        (
            sub.buffering.max_items,
            sub.buffering.max_bytes,
            sub.buffering.timeout
        ),
        (10_000, 1_048_576, Duration::from_millis(25))
    );
    assert_eq!(sub.destination.path, "/in?x=1");
    for (field, bad) in [
        ("maxItems", json!(999)),
        ("maxItems", json!(10_001)),
        ("maxBytes", json!(262_143)),
        ("maxBytes", json!(1_048_577)),
        ("timeoutMs", json!(24)),
        ("timeoutMs", json!(30_001)),
        ("timeoutMs", json!("100")),
    ] {
        let body = request(
            json!(["platform"]),
            "http://sandbox.localdomain:8080",
            json!({field: bad}),
        );
        let message = parse(Api::Telemetry, &body).unwrap_err();
        assert!(
            message.contains(&format!("buffering.{field}")),
            "{field}={bad}: {message}"
        );
    }
}

#[test]
fn every_problem_is_named_in_one_message() {
    let body = request(json!([]), "http://sandbox.localdomain", Value::Null);
    assert_eq!(
        parse(Api::Telemetry, &body).unwrap_err(),
        "URI port is not provided; types should not be empty"
    );
}

#[test]
fn destinations_outside_the_environment_or_not_http_are_refused() {
    for (uri, expected) in [
        ("https://sandbox.localdomain:8080", "https is not supported"),
        (
            "http://example.com:8080",
            "not in the execution environment",
        ),
        ("http://10.0.0.1:8080", "not in the execution environment"),
        ("http://sandbox.localdomain:9001", "reserved"),
        ("http://sandbox.localdomain:http", "port is not valid"),
        ("sandbox.localdomain:8080", "http:// URL"),
    ] {
        let body = request(json!(["platform"]), uri, Value::Null);
        let message = parse(Api::Telemetry, &body).unwrap_err();
        assert!(message.contains(expected), "{uri}: {message}");
    }
    for uri in [
        "http://localhost:1234",
        "http://127.0.0.1:1234/x",
        "http://sandbox:1234",
    ] {
        parse(
            Api::Telemetry,
            &request(json!(["function"]), uri, Value::Null),
        )
        .unwrap();
    }
    let mut tcp: Value = serde_json::from_slice(&request(
        json!(["platform"]),
        "http://sandbox.localdomain:8080",
        Value::Null,
    ))
    .unwrap();
    tcp["destination"]["protocol"] = json!("TCP");
    let message = parse(Api::Telemetry, &serde_json::to_vec(&tcp).unwrap()).unwrap_err();
    assert!(
        message.contains("TCP is not supported by Lamina"),
        "{message}"
    );
}

#[test]
fn schema_versions_are_each_apis_own() {
    let mut doc: Value = serde_json::from_slice(&request(
        json!(["platform"]),
        "http://sandbox.localdomain:8080",
        Value::Null,
    ))
    .unwrap();
    doc.as_object_mut().unwrap().remove("schemaVersion");
    let body = serde_json::to_vec(&doc).unwrap();
    assert!(
        parse(Api::Telemetry, &body)
            .unwrap_err()
            .contains("schemaVersion is required")
    );
    // The Logs API's is optional.
    assert_eq!(
        parse(Api::Logs, &body).unwrap().schema_version,
        "2020-08-15"
    );
    doc["schemaVersion"] = json!("2021-03-18");
    let body = serde_json::to_vec(&doc).unwrap();
    assert!(parse(Api::Telemetry, &body).is_err());
    assert_eq!(
        parse(Api::Logs, &body).unwrap().schema_version,
        "2021-03-18"
    );
    assert!(parse(Api::Logs, b"[]").is_err());
    assert!(parse(Api::Logs, b"not json").is_err());
}

// --- shapes ----------------------------------------------------------------------------------

fn rendered(event: &Event, api: Api, schema: &str) -> Option<Value> {
    event
        .render(api, schema)
        .map(|bytes| serde_json::from_slice(&bytes).unwrap())
}

fn at(body: Body) -> Event {
    Event {
        time: "2022-10-12T00:00:15.064Z".into(),
        body,
    }
}

#[test]
fn platform_records_have_the_telemetry_apis_shapes() {
    let trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0";
    let start = at(Body::Start {
        request_id: "r-1".into(),
        version: "$LATEST".into(),
        trace: trace.into(),
    });
    assert_eq!(
        rendered(&start, Api::Telemetry, "2022-07-01").unwrap(),
        json!({"time": "2022-10-12T00:00:15.064Z", "type": "platform.start", "record": {
            "requestId": "r-1", "version": "$LATEST",
            "tracing": {"type": "X-Amzn-Trace-Id", "value": trace}}})
    );
    let done = at(Body::RuntimeDone {
        request_id: "r-1".into(),
        status: Status::success(),
        duration_ms: 12.3456,
        produced_bytes: Some(16),
        trace: trace.into(),
    });
    let record = &rendered(&done, Api::Telemetry, "2022-07-01").unwrap()["record"];
    assert_eq!(record["status"], "success");
    assert_eq!(
        record["metrics"],
        json!({"durationMs": 12.35, "producedBytes": 16})
    );
    assert!(record.get("errorType").is_none());

    let report = at(Body::Report {
        request_id: "r-1".into(),
        status: Status::failed("timeout", "Sandbox.Timedout"),
        metrics: ReportMetrics {
            duration_ms: 693.92,
            memory_size_mb: 128,
            max_memory_used_mb: 84,
            init_duration_ms: Some(397.678),
        },
        trace: trace.into(),
    });
    let doc = rendered(&report, Api::Telemetry, "2022-07-01").unwrap();
    assert_eq!(doc["type"], "platform.report");
    assert_eq!(
        doc["record"]["metrics"],
        json!({"billedDurationMs": 694, "durationMs": 693.92, "initDurationMs": 397.68,
               "maxMemoryUsedMB": 84, "memorySizeMB": 128})
    );
    assert_eq!(doc["record"]["status"], "timeout");
    assert_eq!(doc["record"]["errorType"], "Sandbox.Timedout");

    let init = at(Body::InitReport {
        status: Status::success(),
        duration_ms: 125.331,
    });
    assert_eq!(
        rendered(&init, Api::Telemetry, "2022-07-01").unwrap()["record"],
        json!({"initializationType": "on-demand", "phase": "init", "status": "success",
               "metrics": {"durationMs": 125.33}})
    );
    let line = at(Body::FunctionLine("[INFO] Hello world".into()));
    assert_eq!(
        rendered(&line, Api::Telemetry, "2022-07-01").unwrap(),
        json!({"time": "2022-10-12T00:00:15.064Z", "type": "function", "record": "[INFO] Hello world"})
    );
    let sub = at(Body::Subscription {
        name: "my-ext".into(),
        state: "Subscribed",
        types: vec!["platform", "function"],
    });
    assert_eq!(
        rendered(&sub, Api::Telemetry, "2022-07-01").unwrap()["type"],
        "platform.telemetrySubscription"
    );
    let ext = at(Body::Extension {
        name: "my-ext".into(),
        state: "Ready",
        events: vec!["INVOKE".into(), "SHUTDOWN".into()],
    });
    assert_eq!(
        rendered(&ext, Api::Telemetry, "2022-07-01").unwrap()["record"],
        json!({"name": "my-ext", "state": "Ready", "events": ["INVOKE", "SHUTDOWN"]})
    );
}

#[test]
fn the_logs_api_gets_its_older_shapes() {
    let init = at(Body::InitStart {
        function_name: "f".into(),
        function_version: "$LATEST".into(),
    });
    assert!(rendered(&init, Api::Logs, "2020-08-15").is_none());
    let start = at(Body::Start {
        request_id: "r-1".into(),
        version: "$LATEST".into(),
        trace: "Root=1".into(),
    });
    assert_eq!(
        rendered(&start, Api::Logs, "2020-08-15").unwrap()["record"],
        json!({"requestId": "r-1", "version": "$LATEST"})
    );
    let done = at(Body::RuntimeDone {
        request_id: "r-1".into(),
        status: Status::success(),
        duration_ms: 1.0,
        produced_bytes: Some(2),
        trace: "Root=1".into(),
    });
    // Only from schema 2021-03-18 on, and without metrics.
    assert!(rendered(&done, Api::Logs, "2020-08-15").is_none());
    assert_eq!(
        rendered(&done, Api::Logs, "2021-03-18").unwrap()["record"],
        json!({"requestId": "r-1", "status": "success"})
    );
    let report = at(Body::Report {
        request_id: "r-1".into(),
        status: Status::success(),
        metrics: ReportMetrics {
            duration_ms: 101.51,
            memory_size_mb: 512,
            max_memory_used_mb: 33,
            init_duration_ms: None,
        },
        trace: "Root=1".into(),
    });
    assert_eq!(
        rendered(&report, Api::Logs, "2020-08-15").unwrap()["record"],
        json!({"requestId": "r-1", "metrics": {"durationMs": 101.51, "billedDurationMs": 102,
               "memorySizeMB": 512, "maxMemoryUsedMB": 33}})
    );
    let end: Value = serde_json::from_slice(&report.logs_end().unwrap()).unwrap();
    assert_eq!(end["type"], "platform.end");
    assert_eq!(end["record"], json!({"requestId": "r-1"}));
    let sub = at(Body::Subscription {
        name: "my-ext".into(),
        state: "Subscribed",
        types: vec!["function"],
    });
    assert_eq!(
        rendered(&sub, Api::Logs, "2020-08-15").unwrap()["type"],
        "platform.logsSubscription"
    );
}

#[test]
fn times_are_iso_8601_utc_with_milliseconds() {
    assert_eq!(event::iso(1_542_236_632_894), "2018-11-14T23:03:52.894Z");
    assert!(event::now_iso().ends_with('Z'));
}

#[test]
fn a_batch_is_due_at_max_items_or_max_bytes_and_is_a_json_array() {
    let buffering = Buffering {
        max_items: 3,
        max_bytes: 20,
        timeout: Duration::from_secs(1),
    };
    let mut batch = Batch::default();
    batch.push(b"1".to_vec());
    batch.push(b"{\"a\":2}".to_vec());
    assert!(!batch.full(&buffering));
    batch.push(b"3".to_vec());
    assert!(batch.full(&buffering));
    let (body, count) = batch.take_body();
    assert_eq!(count, 3);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!([1, {"a": 2}, 3])
    );
    assert!(batch.is_empty());
    batch.push(vec![b'1'; 20]);
    assert!(batch.full(&buffering));
}

// --- subscribing and delivery ----------------------------------------------------------------

/// A listener like an extension's: answers `status` to each POST and passes its body on.
async fn listener(status: u16) -> (u16, mpsc::UnboundedReceiver<Vec<Value>>) {
    listener_refusing(0, status).await
}

/// As [`listener`], answering 500 to the first `refuse` requests.
async fn listener_refusing(
    refuse: usize,
    status: u16,
) -> (u16, mpsc::UnboundedReceiver<Vec<Value>>) {
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = socket.local_addr().unwrap().port();
    (port, serve(socket, refuse, status))
}

/// Serves `socket` as [`listener_refusing`] does.
fn serve(
    socket: tokio::net::TcpListener,
    refuse: usize,
    status: u16,
) -> mpsc::UnboundedReceiver<Vec<Value>> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut seen = 0;
        loop {
            let Ok((mut stream, _)) = socket.accept().await else {
                return;
            };
            let mut data = Vec::new();
            let mut buf = [0u8; 8192];
            let body = loop {
                let n = stream.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    break None;
                }
                data.extend_from_slice(&buf[..n]);
                let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                let head = String::from_utf8_lossy(&data[..end]).to_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map(|v| v.trim().parse().unwrap())
                    .unwrap_or(0);
                if data.len() >= end + 4 + length {
                    assert!(head.starts_with("post /in "), "{head}");
                    break Some(data[end + 4..end + 4 + length].to_vec());
                }
            };
            let Some(body) = body else { continue };
            seen += 1;
            let code = if seen <= refuse { 500 } else { status };
            let answer = format!("HTTP/1.1 {code} X\r\nContent-Length: 0\r\n\r\n");
            let _ = stream.write_all(answer.as_bytes()).await;
            if code < 300 {
                let _ = tx.send(serde_json::from_slice(&body).unwrap());
            }
        }
    });
    rx
}

struct Env {
    link: Arc<EnvironmentLink>,
}

fn env() -> Env {
    let info = FunctionInfo {
        function_name: "f".into(),
        function_version: "$LATEST".into(),
        handler: "h".into(),
    };
    let telemetry = Arc::new(Telemetry::new("f", "$LATEST", Connector::default()));
    let (link, _invocations) = EnvironmentLink::with_telemetry(Extensions::new(1, info), telemetry);
    Env { link }
}

impl Env {
    async fn call(
        &self,
        method: &str,
        path: &str,
        id: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(id) = id {
            request = request.header("Lambda-Extension-Identifier", id);
        }
        let response = router(Arc::clone(&self.link))
            .oneshot(request.body(HttpBody::from(body)).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn register(&self, name: &str) -> String {
        let request = Request::builder()
            .method("POST")
            .uri("/2020-01-01/extension/register")
            .header("Lambda-Extension-Name", name)
            .body(HttpBody::from(r#"{"events":["INVOKE"]}"#))
            .unwrap();
        let response = router(Arc::clone(&self.link))
            .oneshot(request)
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.headers()["lambda-extension-identifier"]
            .to_str()
            .unwrap()
            .to_owned()
    }

    fn telemetry(&self) -> &Telemetry {
        self.link.telemetry()
    }
}

fn subscription(port: u16, types: Value, timeout_ms: u64) -> Vec<u8> {
    request(
        types,
        &format!("http://sandbox.localdomain:{port}/in"),
        json!({"timeoutMs": timeout_ms}),
    )
}

/// The records received until `done` holds for them, or 10 s.
async fn receive_until(
    rx: &mut mpsc::UnboundedReceiver<Vec<Value>>,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let mut all = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !done(&all) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(batch)) => all.extend(batch),
            _ => panic!("not received in time; got {all:#?}"),
        }
    }
    all
}

fn types_of(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| r["type"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_subscriber_gets_init_then_each_invokes_records_in_order() {
    let (port, mut rx) = listener(200).await;
    let env = env();
    let id = env.register("my-ext").await;
    env.telemetry().line(Stream::Function, b"imported");

    let (status, body) = env
        .call(
            "PUT",
            "/2022-07-01/telemetry",
            Some(&id),
            subscription(port, json!(["platform", "function"]), 25),
        )
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!("OK")));

    let t = env.telemetry();
    t.init_done(Status::success());
    t.start("r-1", "Root=1-abc");
    t.line(Stream::Function, b"hello from the handler");
    t.line(Stream::Extension, b"not subscribed to extension lines");
    t.runtime_done("r-1", Status::success(), Some(5));
    t.report_outcome(
        "r-1",
        None,
        ReportMetrics {
            duration_ms: 2.0,
            memory_size_mb: 128,
            max_memory_used_mb: 20,
            init_duration_ms: Some(50.0),
        },
    );
    let records = receive_until(&mut rx, |r| {
        r.iter().any(|e| e["type"] == "platform.report")
    })
    .await;

    assert_eq!(
        types_of(&records),
        [
            "platform.initStart",
            "platform.extension",
            "function",
            "platform.telemetrySubscription",
            "platform.initRuntimeDone",
            "platform.initReport",
            "platform.start",
            "function",
            "platform.runtimeDone",
            "platform.report",
        ]
    );
    assert_eq!(records[2]["record"], "imported");
    assert_eq!(
        records[3]["record"],
        json!({"name": "my-ext", "state": "Subscribed", "types": ["platform", "function"]})
    );
    assert_eq!(records[7]["record"], "hello from the handler");
    assert_eq!(records[8]["record"]["requestId"], "r-1");
    assert_eq!(records[8]["record"]["metrics"]["producedBytes"], 5);
    assert_eq!(records[9]["record"]["tracing"]["value"], "Root=1-abc");
    assert_eq!(records[9]["record"]["metrics"]["initDurationMs"], 50.0);
}

#[tokio::test]
async fn records_wait_for_timeout_ms_unless_flushed() {
    let (port, mut rx) = listener(200).await;
    let env = env();
    let id = env.register("my-ext").await;
    let (status, _) = env
        .call(
            "PUT",
            "/2022-07-01/telemetry",
            Some(&id),
            subscription(port, json!(["function"]), 30_000),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    env.telemetry().init_done(Status::success());
    env.telemetry().line(Stream::Function, b"one");
    // Not due for 30 s.
    assert!(
        tokio::time::timeout(Duration::from_millis(300), rx.recv())
            .await
            .is_err()
    );

    env.telemetry().flush(Duration::from_secs(5)).await;

    let batch = rx.try_recv().expect("the flush waits for the delivery");
    assert_eq!(types_of(&batch), ["function"]);
    assert_eq!(batch[0]["record"], "one");
}

#[tokio::test]
async fn a_full_batch_goes_at_once() {
    let (port, mut rx) = listener(200).await;
    let env = env();
    let id = env.register("my-ext").await;
    let body = request(
        json!(["function"]),
        &format!("http://127.0.0.1:{port}/in"),
        json!({"maxItems": 1000, "timeoutMs": 30_000}),
    );
    assert_eq!(
        env.call("PUT", "/2022-07-01/telemetry", Some(&id), body)
            .await
            .0,
        StatusCode::OK
    );
    env.telemetry().init_done(Status::success());
    for i in 0..1000 {
        env.telemetry()
            .line(Stream::Function, format!("line {i}").as_bytes());
    }
    let batch = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(batch.len(), 1000);
    assert_eq!(batch[999]["record"], "line 999");
}

#[tokio::test]
async fn a_failed_delivery_is_retried() {
    let (port, mut rx) = listener_refusing(2, 200).await;
    let env = env();
    let id = env.register("my-ext").await;
    assert_eq!(
        env.call(
            "PUT",
            "/2022-07-01/telemetry",
            Some(&id),
            subscription(port, json!(["function"]), 25)
        )
        .await
        .0,
        StatusCode::OK
    );
    env.telemetry().line(Stream::Function, b"kept");
    let records = receive_until(&mut rx, |r| !r.is_empty()).await;
    assert_eq!(records[0]["record"], "kept");
}

#[tokio::test]
async fn a_batch_nobody_takes_is_dropped_and_reported_in_the_next() {
    // Nothing listens on the port at first.
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let env = env();
    let id = env.register("my-ext").await;
    let body = subscription(port, json!(["platform", "function"]), 25);
    assert_eq!(
        env.call("PUT", "/2022-07-01/telemetry", Some(&id), body)
            .await
            .0,
        StatusCode::OK
    );
    env.telemetry().init_done(Status::success());
    // Every try fails: the flush answers after the first, the batch is given up after the
    // last (about 1 s of pauses later): a broken listener holds the invoke's end up for
    // one try only.
    let flushing = std::time::Instant::now();
    env.telemetry().flush(Duration::from_secs(10)).await;
    assert!(
        flushing.elapsed() < Duration::from_millis(500),
        "{:?}",
        flushing.elapsed()
    );
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Now a listener: the next batch starts with the notice of what was lost.
    let socket = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let mut rx = serve(socket, 0, 200);
    env.telemetry().line(Stream::Function, b"after");
    let records = receive_until(&mut rx, |r| r.iter().any(|e| e["type"] == "function")).await;
    assert_eq!(records[0]["type"], "platform.logsDropped", "{records:#?}");
    assert!(records[0]["record"]["droppedRecords"].as_u64().unwrap() >= 3);
    assert_eq!(records.last().unwrap()["record"], "after");
}

#[tokio::test]
async fn nothing_is_sent_while_the_environment_is_frozen() {
    let (port, mut rx) = listener(200).await;
    let env = env();
    let id = env.register("my-ext").await;
    assert_eq!(
        env.call(
            "PUT",
            "/2022-07-01/telemetry",
            Some(&id),
            subscription(port, json!(["function"]), 25)
        )
        .await
        .0,
        StatusCode::OK
    );
    env.telemetry().init_done(Status::success());
    env.telemetry().set_frozen(true);
    env.telemetry().line(Stream::Function, b"while frozen");
    assert!(
        tokio::time::timeout(Duration::from_millis(300), rx.recv())
            .await
            .is_err()
    );
    env.telemetry().set_frozen(false);
    let records = receive_until(&mut rx, |r| !r.is_empty()).await;
    assert_eq!(records[0]["record"], "while frozen");
}

#[tokio::test]
async fn only_registered_extensions_subscribe_and_only_during_init() {
    let env = env();
    let body = || subscription(4243, json!(["platform"]), 100);
    let (status, error) = env.call("PUT", "/2022-07-01/telemetry", None, body()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error["errorType"], "Extension.MissingExtensionIdentifier");
    let (status, error) = env
        .call(
            "PUT",
            "/2022-07-01/telemetry",
            Some("not-registered"),
            body(),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error["errorType"], "Extension.UnknownExtensionIdentifier");

    let id = env.register("my-ext").await;
    let (status, error) = env
        .call(
            "PUT",
            "/2022-07-01/telemetry",
            Some(&id),
            request(json!([]), "http://sandbox.localdomain", Value::Null),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        error,
        json!({"errorType": "ValidationError", "errorMessage": "URI port is not provided; types should not be empty"})
    );
    let (status, error) = env
        .call(
            "PUT",
            "/2020-08-15/logs",
            Some(&id),
            request(json!(["nope"]), "http://sandbox.localdomain:1", Value::Null),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["errorType"], "Logs.ValidationError");

    assert_eq!(
        env.call("PUT", "/2022-07-01/telemetry", Some(&id), body())
            .await
            .0,
        StatusCode::OK
    );
    // The same again is idempotent; the other API is refused.
    assert_eq!(
        env.call("PUT", "/2022-07-01/telemetry/", Some(&id), body())
            .await
            .0,
        StatusCode::OK
    );
    let mut logs: Value = serde_json::from_slice(&body()).unwrap();
    logs["schemaVersion"] = json!("2020-08-15");
    let (status, error) = env
        .call(
            "PUT",
            "/2020-08-15/logs",
            Some(&id),
            serde_json::to_vec(&logs).unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_eq!(error["errorType"], "Logs.InvalidRequest");

    env.telemetry().init_done(Status::success());
    let (status, error) = env
        .call(
            "PUT",
            "/2020-08-15/logs",
            Some(&id),
            serde_json::to_vec(&logs).unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    assert_eq!(error["errorType"], "Logs.SubscriptionClosed");
}

#[tokio::test]
async fn the_logs_api_delivers_its_own_records() {
    let (port, mut rx) = listener(200).await;
    let env = env();
    let id = env.register("my-ext").await;
    let body = json!({
        "schemaVersion": "2021-03-18",
        "types": ["platform", "function"],
        "buffering": {"timeoutMs": 25},
        "destination": {"protocol": "HTTP", "URI": format!("http://sandbox.localdomain:{port}/in")},
    });
    let (status, answer) = env
        .call(
            "PUT",
            "/2020-08-15/logs",
            Some(&id),
            serde_json::to_vec(&body).unwrap(),
        )
        .await;
    assert_eq!((status, answer), (StatusCode::OK, json!("OK")));
    let t = env.telemetry();
    t.init_done(Status::success());
    t.start("r-1", "Root=1");
    t.line(Stream::Function, b"hi");
    t.runtime_done("r-1", Status::failed("error", "Unhandled"), None);
    t.report_outcome(
        "r-1",
        Some(&("error", "Unhandled".to_owned())),
        ReportMetrics {
            duration_ms: 1.0,
            memory_size_mb: 128,
            max_memory_used_mb: 1,
            init_duration_ms: None,
        },
    );
    let records = receive_until(&mut rx, |r| {
        r.iter().any(|e| e["type"] == "platform.report")
    })
    .await;
    assert_eq!(
        types_of(&records),
        [
            "platform.extension",
            "platform.logsSubscription",
            "platform.start",
            "function",
            "platform.runtimeDone",
            "platform.end",
            "platform.report",
        ]
    );
    assert_eq!(
        records[4]["record"],
        json!({"requestId": "r-1", "status": "error", "errorType": "Unhandled"})
    );
}

#[test]
fn with_nobody_listening_after_init_a_line_costs_nothing() {
    let telemetry = Telemetry::default();
    telemetry.init_done(Status::success());
    assert!(!telemetry.listening.load(Ordering::Relaxed));
    telemetry.line(Stream::Function, b"dropped at once");
    assert!(telemetry.state().backlog.is_none());
}

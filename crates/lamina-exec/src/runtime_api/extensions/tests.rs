use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::http::Request;
use tokio::sync::oneshot;
use tower::ServiceExt;

use super::*;
use crate::runtime_api::{Invocation, Reply, router};

fn link(expected: usize) -> (Arc<EnvironmentLink>, mpsc::Sender<Invocation>) {
    let info = FunctionInfo {
        function_name: "f".into(),
        function_version: "$LATEST".into(),
        handler: "lambda_function.lambda_handler".into(),
    };
    EnvironmentLink::with_extensions(Extensions::new(expected, info))
}

async fn call(
    link: &Arc<EnvironmentLink>,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &'static str,
) -> (StatusCode, HeaderMap, serde_json::Value) {
    let mut request = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Body::from(body)).unwrap();
    let response = router(Arc::clone(link)).oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (parts.status, parts.headers, json)
}

const REGISTER: &str = "/2020-01-01/extension/register";
const NEXT: &str = "/2020-01-01/extension/event/next";

async fn register(link: &Arc<EnvironmentLink>, name: &str) -> String {
    let (status, headers, body) = call(
        link,
        "POST",
        REGISTER,
        &[("Lambda-Extension-Name", name)],
        r#"{"events":["INVOKE","SHUTDOWN"]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        serde_json::json!({"functionName": "f", "functionVersion": "$LATEST", "handler": "lambda_function.lambda_handler"})
    );
    headers["lambda-extension-identifier"]
        .to_str()
        .unwrap()
        .to_owned()
}

async fn queue(
    invocations: &mpsc::Sender<Invocation>,
    id: &str,
) -> (oneshot::Receiver<SystemTime>, oneshot::Receiver<Reply>) {
    let (delivered, delivered_rx) = oneshot::channel();
    let (reply, reply_rx) = oneshot::channel();
    let invocation = Invocation {
        request_id: id.to_owned(),
        payload: Bytes::from_static(b"{}"),
        invoked_function_arn: "arn:aws:lambda:us-east-1:123456789012:function:f".into(),
        client_context: None,
        timeout: Duration::from_secs(3),
        delivered,
        reply,
        stream: None,
    };
    invocations.send(invocation).await.unwrap();
    (delivered_rx, reply_rx)
}

#[tokio::test]
async fn next_needs_a_known_identifier() {
    let (link, _invocations) = link(1);
    let (status, _, body) = call(&link, "GET", NEXT, &[], "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["errorType"], "Extension.MissingExtensionIdentifier");
    let (status, _, body) = call(
        &link,
        "GET",
        NEXT,
        &[("Lambda-Extension-Identifier", "nope")],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["errorType"], "Extension.UnknownExtensionIdentifier");
    let (status, _, body) = call(&link, "POST", REGISTER, &[], "{}").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

#[tokio::test]
async fn the_first_event_waits_for_the_extension_and_both_get_it() {
    let (link, invocations) = link(1);
    let (mut delivered, _reply) = queue(&invocations, "req-1").await;
    let runtime = tokio::spawn({
        let link = Arc::clone(&link);
        async move { call(&link, "GET", "/2018-06-01/runtime/invocation/next", &[], "").await }
    });
    tokio::task::yield_now().await;
    // Not registered yet: Init is not over, the runtime still waits.
    assert!(delivered.try_recv().is_err());
    assert!(link.extensions().missing());
    let id = register(&link, "my-ext").await;
    assert!(!link.extensions().missing());
    let (status, _, event) = call(
        &link,
        "GET",
        NEXT,
        &[("Lambda-Extension-Identifier", &id)],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(event["eventType"], "INVOKE");
    assert_eq!(event["requestId"], "req-1");
    assert_eq!(
        event["invokedFunctionArn"],
        "arn:aws:lambda:us-east-1:123456789012:function:f"
    );
    assert!(event["deadlineMs"].as_u64().is_some());
    assert_eq!(event["tracing"]["type"], "X-Amzn-Trace-Id");
    let (status, headers, _) = runtime.await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["lambda-runtime-aws-request-id"], "req-1");
    // Busy with the invoke until it calls next again; registering is too late now.
    assert!(link.extensions().settled().is_none());
    let (status, _, body) = call(
        &link,
        "POST",
        REGISTER,
        &[("Lambda-Extension-Name", "late")],
        r#"{"events":["INVOKE"]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    let waiting = tokio::spawn({
        let link = Arc::clone(&link);
        async move {
            call(
                &link,
                "GET",
                NEXT,
                &[("Lambda-Extension-Identifier", &id)],
                "",
            )
            .await
        }
    });
    tokio::time::timeout(Duration::from_secs(5), link.extensions().wait_ready())
        .await
        .unwrap()
        .unwrap();
    assert!(link.extensions().shutdown("spindown", 42));
    let (status, _, event) = waiting.await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        event,
        serde_json::json!({"eventType": "SHUTDOWN", "shutdownReason": "spindown", "deadlineMs": 42})
    );
}

#[tokio::test]
async fn an_init_error_fails_the_pending_invocation_with_its_type() {
    let (link, invocations) = link(1);
    let (_delivered, reply) = queue(&invocations, "req-1").await;
    let id = register(&link, "my-ext").await;
    let (status, _, _) = call(
        &link,
        "POST",
        "/2020-01-01/extension/init/error",
        &[
            ("Lambda-Extension-Identifier", &id),
            (
                "Lambda-Extension-Function-Error-Type",
                "Extension.ConfigInvalid",
            ),
        ],
        r#"{"errorMessage":"bad config","errorType":"Extension.ConfigInvalid"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    match reply.await.unwrap() {
        Reply::Error {
            error_type,
            body,
            init,
        } => {
            assert_eq!(error_type.as_deref(), Some("Extension.InitError"));
            assert!(init);
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(
                body,
                serde_json::json!({"errorMessage": "RequestId: req-1 Error: Extension.ConfigInvalid", "errorType": "Extension.InitError"})
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(link.extensions().wait_ready().await.is_err());
}

#[test]
fn a_crash_is_worded_as_aws_words_it() {
    use std::os::unix::process::ExitStatusExt;
    let exited = ExtensionFailure::crash(Some(std::process::ExitStatus::from_raw(3 << 8)));
    let Reply::Error {
        error_type,
        body,
        init,
    } = exited.reply("r-1")
    else {
        panic!("not an error");
    };
    assert_eq!(error_type.as_deref(), Some("Extension.Crash"));
    assert!(init);
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"errorMessage": "RequestId: r-1 Error: exit code 3", "errorType": "Extension.Crash"})
    );
    let killed = ExtensionFailure::crash(Some(std::process::ExitStatus::from_raw(9)));
    assert_eq!(killed.detail, "signal: killed");
    assert_eq!(ExtensionFailure::crash(None).detail, "signal: killed");
}

#[tokio::test]
async fn each_registered_extension_has_its_ready_line_in_registration_order() {
    let (link, _invocations) = link(3);
    register(&link, "zeta").await;
    let (status, _, body) = call(
        &link,
        "POST",
        REGISTER,
        &[("Lambda-Extension-Name", "alpha")],
        r#"{"events":["SHUTDOWN","INVOKE"]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, body) = call(
        &link,
        "POST",
        REGISTER,
        &[("Lambda-Extension-Name", "quiet")],
        r#"{"events":[]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        link.extensions().ready_lines(),
        [
            "EXTENSION\tName: zeta\tState: Ready\tEvents: [INVOKE, SHUTDOWN]",
            "EXTENSION\tName: alpha\tState: Ready\tEvents: [SHUTDOWN, INVOKE]",
            "EXTENSION\tName: quiet\tState: Ready\tEvents: []",
        ]
    );
}

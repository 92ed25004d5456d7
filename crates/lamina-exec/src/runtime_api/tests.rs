use axum::body::Body;
use axum::http::Request;
use tower::ServiceExt;

use super::*;

struct Harness {
    link: Arc<EnvironmentLink>,
    invocations: mpsc::Sender<Invocation>,
}

fn harness() -> Harness {
    let (link, invocations) = EnvironmentLink::new();
    Harness { link, invocations }
}

async fn call(
    h: &Harness,
    method: &str,
    path: &str,
    body: &'static str,
) -> (StatusCode, HeaderMap, String) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .body(Body::from(body))
        .unwrap();
    let response = router(h.link.clone()).oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    (
        parts.status,
        parts.headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

async fn queue(h: &Harness, id: &str) -> (oneshot::Receiver<SystemTime>, oneshot::Receiver<Reply>) {
    let (delivered, delivered_rx) = oneshot::channel();
    let (reply, reply_rx) = oneshot::channel();
    let invocation = Invocation {
        request_id: id.to_owned(),
        payload: Bytes::from_static(b"{\"k\":1}"),
        invoked_function_arn: "arn:aws:lambda:us-west-2:123456789012:function:f:live".into(),
        client_context: None,
        timeout: Duration::from_secs(3),
        delivered,
        reply,
        stream: None,
    };
    h.invocations.send(invocation).await.unwrap();
    (delivered_rx, reply_rx)
}

#[tokio::test]
async fn next_then_response_reaches_the_invoker() {
    let h = harness();
    let (delivered, reply) = queue(&h, "req-1").await;
    let base = "/2018-06-01/runtime/invocation";
    let (status, headers, body) = call(&h, "GET", &format!("{base}/next"), "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "{\"k\":1}");
    assert_eq!(headers["lambda-runtime-aws-request-id"], "req-1");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(
        headers["lambda-runtime-invoked-function-arn"],
        "arn:aws:lambda:us-west-2:123456789012:function:f:live"
    );
    assert!(
        headers["lambda-runtime-deadline-ms"]
            .to_str()
            .unwrap()
            .parse::<u128>()
            .is_ok()
    );
    assert!(
        headers["lambda-runtime-trace-id"]
            .to_str()
            .unwrap()
            .starts_with("Root=1-")
    );
    assert!(delivered.await.is_ok());
    let (status, _, body) = call(&h, "POST", &format!("{base}/req-1/response"), "42").await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
    );
    assert!(matches!(reply.await.unwrap(), Reply::Response(b) if b == "42"));
}

#[tokio::test]
async fn wrong_ids_and_states_are_refused_without_panicking() {
    let h = harness();
    let base = "/2018-06-01/runtime/invocation";
    let (status, _, body) = call(&h, "POST", &format!("{base}/nope/response"), "x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("InvalidRequestID"));
    let (status, _, _) = call(&h, "GET", "/x/2018-06-01/runtime/invocation/next", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_delivered, _reply) = queue(&h, "req-2").await;
    call(&h, "GET", &format!("{base}/next"), "").await;
    let (status, _, body) = call(&h, "GET", &format!("{base}/next"), "").await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "next while an invocation is in flight"
    );
    assert!(body.contains("InvalidStateTransition"));
    let (status, _, _) = call(&h, "POST", "/2018-06-01/bogus", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn errors_and_init_errors_carry_their_type() {
    let h = harness();
    let (_d, reply) = queue(&h, "req-3").await;
    let init = "/2018-06-01/runtime/init/error";
    let request = Request::builder()
        .method("POST")
        .uri(init)
        .header(
            "lambda-runtime-function-error-type",
            "Runtime.ImportModuleError",
        )
        .body(Body::from("{\"errorType\":\"Runtime.ImportModuleError\"}"))
        .unwrap();
    let response = router(h.link.clone()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    match reply.await.unwrap() {
        Reply::Error {
            error_type, init, ..
        } => {
            assert!(init);
            assert_eq!(error_type.as_deref(), Some("Runtime.ImportModuleError"));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn oversize_responses_become_function_errors() {
    let h = harness();
    let (_d, reply) = queue(&h, "req-4").await;
    let base = "/2018-06-01/runtime/invocation";
    call(&h, "GET", &format!("{base}/next"), "").await;
    let big = vec![b'x'; MAX_RESPONSE_BYTES + 4096];
    let request = Request::builder()
        .method("POST")
        .uri(format!("{base}/req-4/response"))
        .body(Body::from(big))
        .unwrap();
    let response = router(h.link.clone()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(matches!(reply.await.unwrap(), Reply::TooLarge));
}

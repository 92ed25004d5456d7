//! Invoke through the real router, up to the executor: `DryRun` and `Event` (which run
//! nothing here) and the errors answered before anything runs. A `RequestResponse` that runs
//! a function needs a runtime and is covered end to end (tests/e2e).

use axum::body::Body;
use axum::http::Request;
use serde_json::json;

use crate::routes::test_support::{ACCOUNT, REGION, TestApi};

const INVOKE: &str = "/2015-03-31/functions/echo/invocations";

fn invocation(kind: &str, payload: &'static str) -> Request<Body> {
    Request::post(INVOKE)
        .header("x-amz-invocation-type", kind)
        .body(Body::from(payload))
        .unwrap()
}

#[tokio::test]
async fn dry_run_and_event_invocations_are_accepted() {
    let api = TestApi::start().await;
    api.create_function("echo").await;
    let dry = api.send(invocation("DryRun", "{}")).await;
    assert_eq!((dry.status, dry.error_type), (204, None));
    let event = api.send(invocation("Event", r#"{"n": 1}"#)).await;
    assert_eq!((event.status, event.error_type), (202, None));
}

#[tokio::test]
async fn invoke_refuses_unknown_functions_types_and_payloads() {
    let api = TestApi::start().await;
    api.send(invocation("DryRun", "{}")).await.error(
        404,
        "ResourceNotFoundException",
        json!({
            "Type": "User",
            "Message": format!("Function not found: arn:aws:lambda:{REGION}:{ACCOUNT}:function:echo:$LATEST"),
        }),
    );
    api.create_function("echo").await;
    let answer = api.send(invocation("Sometimes", "{}")).await;
    let message = answer.error_message(400, "ValidationException");
    assert!(message.contains("at 'invocationType'"), "{message}");
    let answer = api.send(invocation("DryRun", "{not json")).await;
    let message = answer.error_message(400, "InvalidRequestContentException");
    assert!(
        message.starts_with("Could not parse request body into json"),
        "{message}"
    );
    let bad_context = Request::post(INVOKE)
        .header("x-amz-invocation-type", "DryRun")
        .header("x-amz-client-context", "not base64!")
        .body(Body::from("{}"))
        .unwrap();
    api.send(bad_context).await.error(
        400,
        "InvalidParameterValueException",
        json!({
            "Type": "User",
            "message": "Client context must be a valid Base64-encoded JSON object.",
        }),
    );
}

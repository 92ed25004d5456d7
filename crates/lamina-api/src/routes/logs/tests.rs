use axum::body::Body;
use axum::http::Request;
use serde_json::json;

use crate::routes::test_support::TestApi;

/// `POST /` as a Logs client sends `operation` with `body`.
fn logs_request(operation: &str, body: &str) -> Request<Body> {
    Request::builder()
        .method("POST")
        .uri("/")
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", format!("Logs_20140328.{operation}"))
        .body(Body::from(body.to_owned()))
        .unwrap()
}

#[tokio::test]
async fn an_account_without_logs_has_no_groups() {
    let api = TestApi::start().await;
    let answer = api.send(logs_request("DescribeLogGroups", "{}")).await;
    assert_eq!(answer.ok(200), &json!({ "logGroups": [] }));
    // An empty body is an empty request, as the SDKs send none for no members.
    let answer = api.send(logs_request("DescribeLogGroups", "")).await;
    assert_eq!(answer.ok(200), &json!({ "logGroups": [] }));
}

#[tokio::test]
async fn errors_have_the_aws_json_shape() {
    let api = TestApi::start().await;
    let missing = api
        .send(logs_request(
            "FilterLogEvents",
            r#"{"logGroupName":"/aws/lambda/none"}"#,
        ))
        .await;
    missing.error(
        400,
        "ResourceNotFoundException",
        json!({ "__type": "ResourceNotFoundException",
                "message": "The specified log group does not exist." }),
    );
    let unnamed = api.send(logs_request("GetLogEvents", "{}")).await;
    unnamed.error(
        400,
        "InvalidParameterException",
        json!({ "__type": "InvalidParameterException",
                "message": "Should provide either logGroupName or logGroupIdentifier." }),
    );
    let garbled = api.send(logs_request("GetLogEvents", "{")).await;
    assert_eq!(garbled.status, 400);
    assert_eq!(garbled.body["__type"], "SerializationException");
}

#[tokio::test]
async fn unserved_operations_are_named() {
    let api = TestApi::start().await;
    let answer = api.send(logs_request("StartLiveTail", "{}")).await;
    answer.error(
        400,
        "UnknownOperationException",
        json!({ "__type": "UnknownOperationException",
                "message": "Lamina does not serve the CloudWatch Logs operation StartLiveTail." }),
    );
}

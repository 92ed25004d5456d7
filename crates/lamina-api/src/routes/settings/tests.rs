//! The settings routes over a real control plane and store.

use serde_json::json;

use crate::routes::test_support::TestApi;

const RECURSION: &str = "/2024-08-31/functions/f/recursion-config";
const RUNTIME: &str = "/2021-07-20/functions/f/runtime-management-config";
const RUNTIME_ARN: &str = "arn:aws:lambda:us-east-1::runtime:0123456789abcdef";

#[tokio::test]
async fn recursion_config_defaults_to_terminate_and_keeps_allow() {
    let api = TestApi::start().await;
    api.call("GET", RECURSION, None)
        .await
        .error_message(404, "ResourceNotFoundException");
    api.create_function("f").await;
    let got = api.call("GET", RECURSION, None).await;
    assert_eq!(got.ok(200), &json!({ "RecursiveLoop": "Terminate" }));
    let put = api
        .call("PUT", RECURSION, Some(json!({ "RecursiveLoop": "Allow" })))
        .await;
    assert_eq!(put.ok(200), &json!({ "RecursiveLoop": "Allow" }));
    let got = api.call("GET", RECURSION, None).await;
    assert_eq!(got.ok(200), &json!({ "RecursiveLoop": "Allow" }));

    let bad = api
        .call(
            "PUT",
            RECURSION,
            Some(json!({ "RecursiveLoop": "Sometimes" })),
        )
        .await;
    assert!(
        bad.error_message(400, "ValidationException")
            .contains("Member must satisfy enum value set: [Allow, Terminate]")
    );
    let missing = api.call("PUT", RECURSION, Some(json!({}))).await;
    assert!(
        missing
            .error_message(400, "ValidationException")
            .contains("at 'recursiveLoop' failed to satisfy constraint: Member must not be null")
    );
}

#[tokio::test]
async fn runtime_management_is_per_version_and_manual_needs_an_arn() {
    let api = TestApi::start().await;
    api.create_function("f").await;
    let got = api.call("GET", RUNTIME, None).await;
    let body = got.ok(200);
    assert_eq!(body["UpdateRuntimeOn"], json!("Auto"));
    assert_eq!(body["RuntimeVersionArn"], json!(null));
    assert!(
        body["FunctionArn"]
            .as_str()
            .is_some_and(|a| a.ends_with(":function:f"))
    );

    let manual = json!({ "UpdateRuntimeOn": "Manual", "RuntimeVersionArn": RUNTIME_ARN });
    let put = api.call("PUT", RUNTIME, Some(manual)).await;
    assert_eq!(put.ok(200)["RuntimeVersionArn"], json!(RUNTIME_ARN));
    let got = api
        .call("GET", &format!("{RUNTIME}?Qualifier=$LATEST"), None)
        .await;
    let body = got.ok(200);
    assert_eq!(body["UpdateRuntimeOn"], json!("Manual"));
    assert!(
        body["FunctionArn"]
            .as_str()
            .is_some_and(|a| a.ends_with(":function:f:$LATEST"))
    );

    // A published version has its own, and a missing one is not found.
    api.publish_version("f").await;
    let v1 = api
        .call("GET", &format!("{RUNTIME}?Qualifier=1"), None)
        .await;
    assert_eq!(v1.ok(200)["UpdateRuntimeOn"], json!("Auto"));
    api.call("GET", &format!("{RUNTIME}?Qualifier=7"), None)
        .await
        .error_message(404, "ResourceNotFoundException");

    let no_arn = api
        .call("PUT", RUNTIME, Some(json!({ "UpdateRuntimeOn": "Manual" })))
        .await;
    no_arn.error_message(400, "InvalidParameterValueException");
    let stray_arn = json!({ "UpdateRuntimeOn": "Auto", "RuntimeVersionArn": RUNTIME_ARN });
    api.call("PUT", RUNTIME, Some(stray_arn))
        .await
        .error_message(400, "InvalidParameterValueException");
    let bad_arn = json!({ "UpdateRuntimeOn": "Manual", "RuntimeVersionArn": "arn:aws:lambda:us-east-1::layer:x" });
    assert!(
        api.call("PUT", RUNTIME, Some(bad_arn))
            .await
            .error_message(400, "ValidationException")
            .contains("at 'runtimeVersionArn'")
    );
}

#[tokio::test]
async fn code_signing_is_never_configured_and_its_put_is_unsupported() {
    let api = TestApi::start().await;
    let path = "/2020-06-30/functions/f/code-signing-config";
    api.call("GET", path, None)
        .await
        .error_message(404, "ResourceNotFoundException");
    api.create_function("f").await;
    let got = api.call("GET", path, None).await;
    assert_eq!(
        got.ok(200),
        &json!({ "CodeSigningConfigArn": "", "FunctionName": "f" })
    );
    api.call("DELETE", path, None).await.ok(204);
    let put = api
        .call("PUT", path, Some(json!({ "CodeSigningConfigArn": "x" })))
        .await;
    assert!(
        put.error_message(404, "UnknownOperationException")
            .starts_with("Lamina does not support PutFunctionCodeSigningConfig: ")
    );
    let esm = api
        .call("POST", "/2015-03-31/event-source-mappings", Some(json!({})))
        .await;
    assert!(
        esm.error_message(404, "UnknownOperationException")
            .starts_with("Lamina does not support CreateEventSourceMapping: ")
    );
}

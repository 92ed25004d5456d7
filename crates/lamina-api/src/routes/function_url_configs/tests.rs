//! The five function URL configuration operations through the real router, and the URL
//! dispatch's refusals (nothing here runs a function).

use axum::body::Body;
use axum::http::{Request, header};
use serde_json::json;

use crate::routes::test_support::{ACCOUNT, REGION, TestApi};

const URL: &str = "/2021-10-31/functions/echo/url";

#[tokio::test]
async fn create_get_update_list_delete() {
    let api = TestApi::start().await;
    api.create_function("echo").await;

    let created = api
        .call("POST", URL, Some(json!({ "AuthType": "NONE" })))
        .await;
    let created = created.ok(201).clone();
    let url = created["FunctionUrl"].as_str().unwrap().to_owned();
    assert!(url.starts_with("http://localhost/_lamina/url/"), "{url}");
    assert!(url.ends_with('/') && url.len() == "http://localhost/_lamina/url/".len() + 33);
    assert_eq!(
        created["FunctionArn"],
        format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:echo")
    );
    assert_eq!(created["InvokeMode"], "BUFFERED");
    assert!(created.get("LastModifiedTime").is_none());

    let got = api.call("GET", URL, None).await;
    assert_eq!(got.ok(200)["FunctionUrl"], url.as_str());
    let updated = api
        .call("PUT", URL, Some(json!({ "Cors": { "MaxAge": 5 } })))
        .await;
    assert_eq!(updated.ok(200)["Cors"], json!({ "MaxAge": 5 }));
    assert_eq!(updated.ok(200)["AuthType"], "NONE");
    let listed = api
        .call("GET", "/2021-10-31/functions/echo/urls", None)
        .await;
    assert_eq!(
        listed.ok(200)["FunctionUrlConfigs"][0]["FunctionUrl"],
        url.as_str()
    );

    api.call("DELETE", URL, None).await.ok(204);
    let gone = api.call("GET", URL, None).await;
    assert_eq!(
        gone.error_message(404, "ResourceNotFoundException"),
        "The resource you requested does not exist."
    );
}

#[tokio::test]
async fn awss_errors() {
    let api = TestApi::start().await;
    api.create_function("echo").await;
    api.call("POST", URL, Some(json!({ "AuthType": "NONE" })))
        .await
        .ok(201);

    let again = api
        .call("POST", URL, Some(json!({ "AuthType": "NONE" })))
        .await;
    assert!(
        again
            .error_message(409, "ResourceConflictException")
            .ends_with("FunctionUrlConfig exists for this Lambda function")
    );
    let missing = api
        .call(
            "POST",
            "/2021-10-31/functions/echo/url?Qualifier=x",
            Some(json!({})),
        )
        .await;
    assert_eq!(
        missing.error_message(400, "ValidationException"),
        "1 validation error detected: Value null at 'authType' failed to satisfy constraint: \
         Member must not be null"
    );
    let version = api
        .call("GET", "/2021-10-31/functions/echo/url?Qualifier=1", None)
        .await;
    assert!(
        version
            .error_message(400, "ValidationException")
            .contains("Value '1' at 'qualifier' failed to satisfy constraint")
    );
}

#[tokio::test]
async fn unknown_urls_are_forbidden_in_both_forms() {
    let api = TestApi::start().await;
    let by_path = api
        .call("GET", &format!("/_lamina/url/{}/x", "0".repeat(32)), None)
        .await;
    assert_eq!(
        (by_path.status, &by_path.body),
        (403, &json!({ "Message": "Forbidden" }))
    );
    let malformed = api.call("GET", "/_lamina/url/NOT-AN-ID/", None).await;
    assert_eq!(malformed.status, 403);
    let request = Request::builder()
        .uri("/x")
        .header(
            header::HOST,
            format!("{}.lambda-url.{REGION}.localhost:9000", "1".repeat(32)),
        )
        .body(Body::empty())
        .unwrap();
    let by_host = api.send(request).await;
    assert_eq!(
        (by_host.status, &by_host.body),
        (403, &json!({ "Message": "Forbidden" }))
    );
}

//! What the route table answers outside the AWS operations.

use serde_json::json;

use super::test_support::TestApi;

#[tokio::test]
async fn health_reports_the_isolation_in_force() {
    let api = TestApi::start().await;
    let health = api.call("GET", "/_lamina/health", None).await;
    let body = health.ok(200);
    assert_eq!(
        (&body["status"], &body["isolation"]),
        (&json!("ok"), &json!("none"))
    );
    assert_eq!(body["functionNetwork"], json!("host"));
    assert!(
        body["functionNetworkWarning"]
            .as_str()
            .is_some_and(|w| w.contains("this API included")),
        "{body}"
    );
}

#[tokio::test]
async fn an_unknown_path_is_an_unknown_operation() {
    let api = TestApi::start().await;
    api.call("GET", "/2015-03-31/nothing-here", None)
        .await
        .error(
            404,
            "UnknownOperationException",
            json!({ "message": "Unknown operation." }),
        );
}

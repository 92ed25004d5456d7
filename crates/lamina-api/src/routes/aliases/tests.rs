//! The five alias operations through the real router: each one's success and its main
//! errors, with the status, `x-amzn-ErrorType` and body AWS gives.

use serde_json::{Value, json};

use crate::routes::test_support::{ACCOUNT, REGION, TestApi};

const ALIASES: &str = "/2015-03-31/functions/echo/aliases";

/// A function `echo` with a published version 1.
async fn api_with_version() -> TestApi {
    let api = TestApi::start().await;
    api.create_function("echo").await;
    api.publish_version("echo").await;
    api
}

/// CreateAlias `live` → version 1, as sent.
async fn create_live(api: &TestApi) -> crate::routes::test_support::Answer {
    api.call(
        "POST",
        ALIASES,
        Some(json!({ "Name": "live", "FunctionVersion": "1" })),
    )
    .await
}

#[tokio::test]
async fn create_alias_and_get_alias() {
    let api = api_with_version().await;
    let created = create_live(&api).await;
    let body = created.ok(201).clone();
    assert_eq!(
        body["AliasArn"],
        format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:echo:live")
    );
    assert_eq!(
        (&body["Name"], &body["FunctionVersion"]),
        (&json!("live"), &json!("1"))
    );
    let got = api.call("GET", &format!("{ALIASES}/live"), None).await;
    assert_eq!(got.ok(200), &body);

    create_live(&api)
        .await
        .error_message(409, "ResourceConflictException");
    api.call(
        "POST",
        ALIASES,
        Some(json!({ "Name": "next", "FunctionVersion": "9" })),
    )
    .await
    .error_message(404, "ResourceNotFoundException");
    let message = api
        .call("POST", ALIASES, Some(json!({ "Name": "live" })))
        .await
        .error_message(400, "ValidationException")
        .to_owned();
    assert!(message.contains("at 'functionVersion'"), "{message}");
    api.call("GET", &format!("{ALIASES}/none"), None)
        .await
        .error_message(404, "ResourceNotFoundException");
}

#[tokio::test]
async fn list_aliases_pages_by_name() {
    let api = api_with_version().await;
    for name in ["b", "a"] {
        api.call(
            "POST",
            ALIASES,
            Some(json!({ "Name": name, "FunctionVersion": "1" })),
        )
        .await
        .ok(201);
    }
    let first = api
        .call("GET", &format!("{ALIASES}?MaxItems=1"), None)
        .await;
    let body = first.ok(200).clone();
    assert_eq!(body["Aliases"][0]["Name"], "a");
    let marker = body["NextMarker"].as_str().unwrap();
    let second = api
        .call("GET", &format!("{ALIASES}?Marker={marker}"), None)
        .await;
    assert_eq!(second.ok(200)["Aliases"][0]["Name"], "b");
    api.call("GET", "/2015-03-31/functions/nope/aliases", None)
        .await
        .error_message(404, "ResourceNotFoundException");
}

#[tokio::test]
async fn update_alias_under_its_revision() {
    let api = api_with_version().await;
    let created = create_live(&api).await.ok(201).clone();
    let updated = api
        .call(
            "PUT",
            &format!("{ALIASES}/live"),
            Some(json!({ "Description": "d", "RevisionId": created["RevisionId"] })),
        )
        .await;
    let body = updated.ok(200);
    assert_eq!(body["Description"], "d");
    assert_ne!(body["RevisionId"], created["RevisionId"]);
    api.call(
        "PUT",
        &format!("{ALIASES}/live"),
        Some(json!({ "Description": "e", "RevisionId": "stale" })),
    )
    .await
    .error_message(412, "PreconditionFailedException");
    api.call("PUT", &format!("{ALIASES}/none"), Some(json!({})))
        .await
        .error_message(404, "ResourceNotFoundException");
}

#[tokio::test]
async fn delete_alias_is_idempotent() {
    let api = api_with_version().await;
    create_live(&api).await.ok(201);
    for _ in 0..2 {
        let deleted = api.call("DELETE", &format!("{ALIASES}/live"), None).await;
        assert_eq!(deleted.ok(204), &Value::Null);
    }
    api.call("GET", &format!("{ALIASES}/live"), None)
        .await
        .error_message(404, "ResourceNotFoundException");
}

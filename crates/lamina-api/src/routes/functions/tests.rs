//! The function and version operations through the real router: each one's success and its
//! main errors, with the status, `x-amzn-ErrorType` and body AWS gives.

use serde_json::{Value, json};

use crate::routes::test_support::{ACCOUNT, REGION, TestApi, create_function_body, zip_base64};

fn function_arn(name: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}")
}

fn not_found(name: &str) -> Value {
    json!({ "Type": "User", "Message": format!("Function not found: {}", function_arn(name)) })
}

#[tokio::test]
async fn create_function_answers_its_configuration() {
    let api = TestApi::start().await;
    let body = api.create_function("echo").await;
    assert_eq!(body["FunctionName"], "echo");
    assert_eq!(body["FunctionArn"], function_arn("echo"));
    assert_eq!(body["Version"], "$LATEST");
    assert_eq!(body["Runtime"], "python3.12");
    assert_eq!(body["Handler"], "app.handler");
    assert_eq!(body["State"], "Pending");
    assert_eq!(body["PackageType"], "Zip");
    assert!(body["RevisionId"].is_string() && body["CodeSha256"].is_string());

    api.call(
        "POST",
        "/2015-03-31/functions",
        Some(create_function_body("echo")),
    )
    .await
    .error(
        409,
        "ResourceConflictException",
        json!({ "Type": "User", "message": "Function already exist: echo" }),
    );
    let mut no_runtime = create_function_body("bare");
    no_runtime.as_object_mut().unwrap().remove("Runtime");
    let message = api
        .call("POST", "/2015-03-31/functions", Some(no_runtime))
        .await
        .error_message(400, "InvalidParameterValueException")
        .to_owned();
    assert!(
        message.starts_with("Runtime and Handler are mandatory"),
        "{message}"
    );
    let message = api
        .call("POST", "/2015-03-31/functions", Some(json!({})))
        .await
        .error_message(400, "ValidationException")
        .to_owned();
    assert!(
        message.starts_with("3 validation errors detected"),
        "{message}"
    );
}

#[tokio::test]
async fn get_function_and_get_function_configuration() {
    let api = TestApi::start().await;
    api.create_function("echo").await;
    let got = api.call("GET", "/2015-03-31/functions/echo", None).await;
    let body = got.ok(200);
    assert_eq!(body["Configuration"]["State"], "Active");
    assert_eq!(body["Code"]["RepositoryType"], "S3");
    assert!(body.get("Tags").is_none(), "{body}");
    let configuration = api
        .call("GET", "/2015-03-31/functions/echo/configuration", None)
        .await;
    assert_eq!(configuration.ok(200), &body["Configuration"]);

    api.call("GET", "/2015-03-31/functions/nope", None)
        .await
        .error(404, "ResourceNotFoundException", not_found("nope"));
    api.call("GET", "/2015-03-31/functions/echo?Qualifier=7", None)
        .await
        .error(
            404,
            "ResourceNotFoundException",
            json!({ "Type": "User", "Message": format!("Function not found: {}:7", function_arn("echo")) }),
        );
    let message = api
        .call(
            "GET",
            "/2015-03-31/functions/bad%20name/configuration",
            None,
        )
        .await
        .error_message(400, "ValidationException")
        .to_owned();
    assert!(message.contains("at 'functionName'"), "{message}");
}

#[tokio::test]
async fn update_function_configuration_and_its_revision_precondition() {
    let api = TestApi::start().await;
    api.create_function("echo").await;
    let uri = "/2015-03-31/functions/echo/configuration";
    let updated = api
        .call(
            "PUT",
            uri,
            Some(json!({ "MemorySize": 512, "Description": "d" })),
        )
        .await;
    let body = updated.ok(200);
    assert_eq!(
        (&body["MemorySize"], &body["Description"]),
        (&json!(512), &json!("d"))
    );
    assert_eq!(body["LastUpdateStatus"], "InProgress");

    let stale = api
        .call(
            "PUT",
            uri,
            Some(json!({ "Timeout": 5, "RevisionId": "stale" })),
        )
        .await;
    let message = stale.error_message(412, "PreconditionFailedException");
    assert!(
        message.starts_with("The Revision Id provided does not match"),
        "{message}"
    );
    let message = api
        .call("PUT", uri, Some(json!({ "MemorySize": 64 })))
        .await
        .error_message(400, "ValidationException")
        .to_owned();
    assert!(message.contains("at 'memorySize'"), "{message}");
    api.call(
        "PUT",
        "/2015-03-31/functions/nope/configuration",
        Some(json!({ "Timeout": 5 })),
    )
    .await
    .error(404, "ResourceNotFoundException", not_found("nope"));
}

#[tokio::test]
async fn update_function_code_with_dry_run_and_its_errors() {
    let api = TestApi::start().await;
    let created = api.create_function("echo").await;
    let uri = "/2015-03-31/functions/echo/code";
    let zip = zip_base64(&[("app.py", "def handler(e, c):\n    return 2\n")]);
    let dry = api
        .call("PUT", uri, Some(json!({ "ZipFile": zip, "DryRun": true })))
        .await;
    assert_ne!(dry.ok(200)["CodeSha256"], created["CodeSha256"]);
    let updated = api
        .call("PUT", uri, Some(json!({ "ZipFile": zip, "Publish": true })))
        .await;
    let body = updated.ok(200);
    assert_eq!(body["Version"], "1");
    assert_eq!(body["FunctionArn"], format!("{}:1", function_arn("echo")));

    let message = api
        .call("PUT", uri, Some(json!({})))
        .await
        .error_message(400, "InvalidParameterValueException")
        .to_owned();
    assert!(message.starts_with("Please provide a source"), "{message}");
    api.call(
        "PUT",
        uri,
        Some(json!({ "ZipFile": zip, "RevisionId": "stale" })),
    )
    .await
    .error_message(412, "PreconditionFailedException");
}

#[tokio::test]
async fn list_functions_pages_by_name() {
    let api = TestApi::start().await;
    api.create_function("b").await;
    api.create_function("a").await;
    let first = api
        .call("GET", "/2015-03-31/functions?MaxItems=1", None)
        .await;
    let body = first.ok(200).clone();
    assert_eq!(body["Functions"][0]["FunctionName"], "a");
    // List items carry no state members, as on AWS.
    assert!(body["Functions"][0].get("State").is_none(), "{body}");
    let marker = body["NextMarker"].as_str().unwrap();
    let second = api
        .call(
            "GET",
            &format!("/2015-03-31/functions?Marker={marker}"),
            None,
        )
        .await;
    let body = second.ok(200);
    assert_eq!(body["Functions"][0]["FunctionName"], "b");
    assert!(body.get("NextMarker").is_none());
    let message = api
        .call("GET", "/2015-03-31/functions?MaxItems=0", None)
        .await
        .error_message(400, "ValidationException")
        .to_owned();
    assert!(message.contains("at 'maxItems'"), "{message}");
}

#[tokio::test]
async fn publish_version_and_list_versions_by_function() {
    let api = TestApi::start().await;
    let created = api.create_function("echo").await;
    let uri = "/2015-03-31/functions/echo/versions";
    let published = api.call("POST", uri, Some(json!({}))).await;
    assert_eq!(published.ok(201)["Version"], "1");
    let listed = api.call("GET", uri, None).await;
    let versions: Vec<&Value> = listed.ok(200)["Versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &v["Version"])
        .collect();
    assert_eq!(versions, [&json!("$LATEST"), &json!("1")]);

    let message = api
        .call("POST", uri, Some(json!({ "CodeSha256": "c3RhbGU=" })))
        .await
        .error_message(400, "InvalidParameterValueException")
        .to_owned();
    assert!(
        message.starts_with("CodeSHA256 (c3RhbGU=) is different"),
        "{message}"
    );
    api.call("POST", uri, Some(json!({ "RevisionId": "stale" })))
        .await
        .error_message(412, "PreconditionFailedException");
    assert!(created["RevisionId"].is_string());
    api.call("GET", "/2015-03-31/functions/nope/versions", None)
        .await
        .error(404, "ResourceNotFoundException", not_found("nope"));
}

#[tokio::test]
async fn delete_function_whole_or_one_version() {
    let api = TestApi::start().await;
    api.create_function("echo").await;
    api.publish_version("echo").await;
    let message = api
        .call(
            "DELETE",
            "/2015-03-31/functions/echo?Qualifier=$LATEST",
            None,
        )
        .await
        .error_message(400, "InvalidParameterValueException")
        .to_owned();
    assert!(
        message.starts_with("$LATEST version cannot be deleted"),
        "{message}"
    );
    let version = api
        .call("DELETE", "/2015-03-31/functions/echo?Qualifier=1", None)
        .await;
    assert_eq!(version.ok(204), &Value::Null);
    let whole = api.call("DELETE", "/2015-03-31/functions/echo", None).await;
    assert_eq!(whole.ok(204), &Value::Null);
    api.call("DELETE", "/2015-03-31/functions/echo", None)
        .await
        .error(404, "ResourceNotFoundException", not_found("echo"));
}

//! The nine layer operations through the real router: each one's success and its main
//! errors, with the status, `x-amzn-ErrorType` and body AWS gives.

use serde_json::{Value, json};

use crate::routes::test_support::{ACCOUNT, REGION, TestApi, zip_base64};

const NOT_FOUND: &str = "The resource you requested does not exist.";

fn layer_arn(name: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT}:layer:{name}")
}

fn not_found() -> Value {
    json!({ "Type": "User", "Message": NOT_FOUND })
}

fn grant(sid: &str) -> Value {
    json!({ "StatementId": sid, "Action": "lambda:GetLayerVersion", "Principal": "*" })
}

#[tokio::test]
async fn publish_layer_version_answers_the_full_layer_version() {
    let api = TestApi::start().await;
    let body = api.publish_layer("deps").await;
    assert_eq!(body["LayerArn"], layer_arn("deps"));
    assert_eq!(body["LayerVersionArn"], format!("{}:1", layer_arn("deps")));
    assert_eq!(body["Version"], 1);
    assert_eq!(body["Description"], "dependencies");
    assert_eq!(body["CompatibleRuntimes"], json!(["python3.12"]));
    assert!(
        body["CreatedDate"].as_str().unwrap().ends_with("+0000"),
        "{body}"
    );
    let content = &body["Content"];
    assert!(
        content["CodeSha256"].as_str().unwrap().ends_with('='),
        "{body}"
    );
    assert!(content["CodeSize"].as_u64().unwrap() > 0);
    assert!(
        content["Location"]
            .as_str()
            .unwrap()
            .contains("/_lamina/content/sha256/"),
        "{body}"
    );
    assert_eq!(api.publish_layer("deps").await["Version"], 2);
}

#[tokio::test]
async fn publish_layer_version_refuses_bad_members_and_bodies() {
    let api = TestApi::start().await;
    let zip = json!({ "ZipFile": zip_base64(&[("python/x.py", "")]) });
    let bad_name = api
        .call(
            "POST",
            "/2018-10-31/layers/bad%20name/versions",
            Some(json!({ "Content": zip })),
        )
        .await;
    let message = bad_name.error_message(400, "ValidationException");
    assert!(message.contains("at 'layerName'"), "{message}");

    let no_content = api
        .call("POST", "/2018-10-31/layers/deps/versions", Some(json!({})))
        .await;
    let message = no_content.error_message(400, "ValidationException");
    assert!(
        message.ends_with("at 'content' failed to satisfy constraint: Member must not be null"),
        "{message}"
    );

    let s3 = json!({ "Content": { "S3Bucket": "b", "S3Key": "k" } });
    let answer = api
        .call("POST", "/2018-10-31/layers/deps/versions", Some(s3))
        .await;
    let message = answer.error_message(400, "InvalidParameterValueException");
    assert!(
        message.starts_with("S3Bucket and S3Key are not supported")
            && message.contains("--artifacts s3://"),
        "{message}"
    );

    let not_json = axum::http::Request::post("/2018-10-31/layers/deps/versions")
        .body(axum::body::Body::from("{"))
        .unwrap();
    let message = api
        .send(not_json)
        .await
        .error_message(400, "InvalidRequestContentException")
        .to_owned();
    assert!(
        message.starts_with("Could not parse request body into json"),
        "{message}"
    );
    // Nothing was recorded by the refused requests.
    assert_eq!(api.publish_layer("deps").await["Version"], 1);
}

#[tokio::test]
async fn get_layer_version_by_name_and_its_errors() {
    let api = TestApi::start().await;
    let published = api.publish_layer("deps").await;
    let got = api
        .call("GET", "/2018-10-31/layers/deps/versions/1", None)
        .await;
    assert_eq!(got.ok(200), &published);
    api.call("GET", "/2018-10-31/layers/deps/versions/2", None)
        .await
        .error(404, "ResourceNotFoundException", not_found());
    let message = api
        .call("GET", "/2018-10-31/layers/deps/versions/one", None)
        .await
        .error_message(400, "ValidationException")
        .to_owned();
    assert!(message.contains("at 'versionNumber'"), "{message}");
    api.call("GET", "/2018-10-31/layers/deps/versions/0", None)
        .await
        .error(
            400,
            "InvalidParameterValueException",
            json!({ "Type": "User", "message": "Layer Version Cannot be less than 1" }),
        );
}

#[tokio::test]
async fn get_layer_version_by_arn_and_its_errors() {
    let api = TestApi::start().await;
    let published = api.publish_layer("deps").await;
    let arn = published["LayerVersionArn"].as_str().unwrap();
    let got = api
        .call(
            "GET",
            &format!("/2018-10-31/layers?find=LayerVersion&Arn={arn}"),
            None,
        )
        .await;
    assert_eq!(got.ok(200), &published);
    let foreign = "arn:aws:lambda:us-east-1:210987654321:layer:deps:1";
    api.call(
        "GET",
        &format!("/2018-10-31/layers?find=LayerVersion&Arn={foreign}"),
        None,
    )
    .await
    .error(
        403,
        "AccessDeniedException",
        serde_json::json!({ "message": format!(
            "User: arn:aws:iam::123456789012:root is not authorized to perform: \
             lambda:GetLayerVersion on resource: {foreign} because no resource-based policy \
             allows the lambda:GetLayerVersion action"
        ) }),
    );
    let message = api
        .call("GET", "/2018-10-31/layers?find=LayerVersion", None)
        .await
        .error_message(400, "ValidationException")
        .to_owned();
    assert!(
        message.contains("at 'arn' failed to satisfy constraint"),
        "{message}"
    );
    let message = api
        .call("GET", "/2018-10-31/layers?find=LayerVersion&Arn=deps", None)
        .await
        .error_message(400, "ValidationException")
        .to_owned();
    assert!(message.contains("at 'arn'"), "{message}");
}

#[tokio::test]
async fn list_layers_pages_by_name_with_the_newest_version() {
    let api = TestApi::start().await;
    api.publish_layer("b").await;
    api.publish_layer("a").await;
    api.publish_layer("a").await;
    let first = api.call("GET", "/2018-10-31/layers?MaxItems=1", None).await;
    let body = first.ok(200);
    assert_eq!(body["Layers"].as_array().unwrap().len(), 1);
    let layer = &body["Layers"][0];
    assert_eq!(layer["LayerName"], "a");
    assert_eq!(layer["LayerArn"], layer_arn("a"));
    let latest = &layer["LatestMatchingVersion"];
    assert_eq!(latest["Version"], 2);
    // List items carry neither the content nor the layer's ARN.
    assert!(latest.get("Content").is_none() && latest.get("LayerArn").is_none());
    let marker = body["NextMarker"].as_str().unwrap();
    let second = api
        .call(
            "GET",
            &format!("/2018-10-31/layers?MaxItems=1&Marker={marker}"),
            None,
        )
        .await;
    let body = second.ok(200);
    assert_eq!(body["Layers"][0]["LayerName"], "b");
    assert!(body.get("NextMarker").is_none(), "{body}");

    let message = api
        .call("GET", "/2018-10-31/layers?MaxItems=51", None)
        .await
        .error_message(400, "ValidationException")
        .to_owned();
    assert!(message.contains("less than or equal to 50"), "{message}");
    api.call("GET", "/2018-10-31/layers?Marker=bm9wZQ", None)
        .await
        .error(
            400,
            "InvalidParameterValueException",
            json!({ "Type": "User", "message": "Invalid marker: bm9wZQ" }),
        );
}

#[tokio::test]
async fn list_layer_versions_newest_first_with_filters() {
    let api = TestApi::start().await;
    api.publish_layer("deps").await;
    api.publish_layer("deps").await;
    let body = api
        .call("GET", "/2018-10-31/layers/deps/versions", None)
        .await
        .ok(200)
        .clone();
    let versions: Vec<&Value> = body["LayerVersions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &v["Version"])
        .collect();
    assert_eq!(versions, [&json!(2), &json!(1)]);
    let none = api
        .call(
            "GET",
            "/2018-10-31/layers/deps/versions?CompatibleRuntime=nodejs20.x",
            None,
        )
        .await;
    assert_eq!(none.ok(200), &json!({ "LayerVersions": [] }));
    let unknown = api
        .call("GET", "/2018-10-31/layers/never/versions", None)
        .await;
    assert_eq!(unknown.ok(200), &json!({ "LayerVersions": [] }));
    let message = api
        .call(
            "GET",
            "/2018-10-31/layers/deps/versions?CompatibleRuntime=cobol85",
            None,
        )
        .await
        .error_message(400, "ValidationException")
        .to_owned();
    assert!(message.contains("at 'compatibleRuntime'"), "{message}");
}

#[tokio::test]
async fn delete_layer_version_is_idempotent() {
    let api = TestApi::start().await;
    api.publish_layer("deps").await;
    for _ in 0..2 {
        let deleted = api
            .call("DELETE", "/2018-10-31/layers/deps/versions/1", None)
            .await;
        assert_eq!(deleted.ok(204), &Value::Null);
    }
    api.call("GET", "/2018-10-31/layers/deps/versions/1", None)
        .await
        .error(404, "ResourceNotFoundException", not_found());
    api.call("DELETE", "/2018-10-31/layers/deps/versions/0", None)
        .await
        .error_message(400, "InvalidParameterValueException");
}

#[tokio::test]
async fn layer_version_permissions_add_get_and_remove_under_revisions() {
    let api = TestApi::start().await;
    api.publish_layer("deps").await;
    let policy_uri = "/2018-10-31/layers/deps/versions/1/policy";
    api.call("GET", policy_uri, None).await.error(
        404,
        "ResourceNotFoundException",
        json!({ "Type": "User", "Message": "No policy is associated with the given resource." }),
    );
    let added = api.call("POST", policy_uri, Some(grant("s1"))).await;
    let added = added.ok(201).clone();
    let statement: Value = serde_json::from_str(added["Statement"].as_str().unwrap()).unwrap();
    assert_eq!(
        statement,
        json!({
            "Sid": "s1", "Effect": "Allow", "Principal": "*",
            "Action": "lambda:GetLayerVersion",
            "Resource": format!("{}:1", layer_arn("deps")),
        })
    );
    let revision = added["RevisionId"].as_str().unwrap();
    let policy = api.call("GET", policy_uri, None).await.ok(200).clone();
    assert_eq!(policy["RevisionId"], revision);
    let document: Value = serde_json::from_str(policy["Policy"].as_str().unwrap()).unwrap();
    assert_eq!(document["Statement"], json!([statement]));

    api.call("POST", policy_uri, Some(grant("s1")))
        .await
        .error_message(409, "ResourceConflictException");
    let stale = api
        .call(
            "POST",
            &format!("{policy_uri}?RevisionId=stale"),
            Some(grant("s2")),
        )
        .await;
    let message = stale.error_message(412, "PreconditionFailedException");
    assert!(
        message.starts_with("The Revision Id provided does not match"),
        "{message}"
    );
    let message = api
        .call("POST", policy_uri, Some(json!({ "StatementId": "s3" })))
        .await
        .error_message(400, "ValidationException")
        .to_owned();
    assert!(
        message.starts_with("2 validation errors detected"),
        "{message}"
    );
    api.call(
        "POST",
        "/2018-10-31/layers/deps/versions/9/policy",
        Some(grant("s1")),
    )
    .await
    .error(
        404,
        "ResourceNotFoundException",
        json!({
            "Type": "User",
            "Message": format!("Layer version {}:9 does not exist.", layer_arn("deps")),
        }),
    );

    api.call("DELETE", &format!("{policy_uri}/s1?RevisionId=stale"), None)
        .await
        .error_message(412, "PreconditionFailedException");
    let removed = api
        .call(
            "DELETE",
            &format!("{policy_uri}/s1?RevisionId={revision}"),
            None,
        )
        .await;
    assert_eq!(removed.ok(204), &Value::Null);
    api.call("DELETE", &format!("{policy_uri}/s1"), None)
        .await
        .error(
            404,
            "ResourceNotFoundException",
            json!({ "Type": "User", "Message": "Statement s1 is not found in resource policy." }),
        );
}

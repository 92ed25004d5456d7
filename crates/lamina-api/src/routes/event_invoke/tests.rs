//! The event invoke configuration routes over a real store.

use serde_json::json;

use super::super::test_support::{ACCOUNT, REGION, TestApi};

fn arn(name: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}")
}

const URI: &str = "/2019-09-25/functions/f/event-invoke-config";

#[tokio::test]
async fn put_replaces_update_merges_and_each_qualifier_has_its_own() {
    let api = TestApi::start().await;
    api.create_function("f").await;
    api.create_function("d").await;

    let put = api
        .call(
            "PUT",
            URI,
            Some(json!({
                "MaximumRetryAttempts": 1,
                "DestinationConfig": { "OnSuccess": { "Destination": arn("d") } },
            })),
        )
        .await;
    let body = put.ok(200);
    assert_eq!(body["FunctionArn"], json!(format!("{}:$LATEST", arn("f"))));
    assert!(
        body["LastModified"].as_f64().is_some_and(|t| t > 1.6e9),
        "{body}"
    );
    assert_eq!(body["MaximumRetryAttempts"], json!(1));
    assert!(body.get("MaximumEventAgeInSeconds").is_none(), "{body}");
    assert_eq!(
        body["DestinationConfig"],
        json!({ "OnSuccess": { "Destination": arn("d") }, "OnFailure": {} })
    );

    let updated = api
        .call("POST", URI, Some(json!({ "MaximumEventAgeInSeconds": 60 })))
        .await;
    let body = updated.ok(200).clone();
    assert_eq!(
        (
            &body["MaximumRetryAttempts"],
            &body["MaximumEventAgeInSeconds"]
        ),
        (&json!(1), &json!(60))
    );
    assert_eq!(
        body["DestinationConfig"]["OnSuccess"],
        json!({ "Destination": arn("d") })
    );
    let got = api
        .call("GET", &format!("{URI}?Qualifier=$LATEST"), None)
        .await;
    assert_eq!(got.ok(200), &body);

    // A put replaces: what it does not send is removed.
    let put = api
        .call("PUT", URI, Some(json!({ "MaximumRetryAttempts": 0 })))
        .await;
    assert!(put.ok(200).get("MaximumEventAgeInSeconds").is_none());

    api.publish_version("f").await;
    api.call(
        "PUT",
        &format!("{URI}?Qualifier=1"),
        Some(json!({ "MaximumRetryAttempts": 2 })),
    )
    .await
    .ok(200);
    let list = api
        .call("GET", &format!("{URI}/list?MaxItems=1"), None)
        .await;
    let page = list.ok(200).clone();
    assert_eq!(
        page["FunctionEventInvokeConfigs"][0]["FunctionArn"],
        json!(format!("{}:$LATEST", arn("f")))
    );
    let marker = page["NextMarker"].as_str().unwrap();
    let rest = api
        .call("GET", &format!("{URI}/list?Marker={marker}"), None)
        .await;
    let rest = rest.ok(200);
    assert_eq!(
        rest["FunctionEventInvokeConfigs"][0]["FunctionArn"],
        json!(format!("{}:1", arn("f")))
    );
    assert!(rest.get("NextMarker").is_none());

    let deleted = api.call("DELETE", URI, None).await;
    assert_eq!(deleted.status, 204);
    let gone = api.call("GET", URI, None).await;
    assert_eq!(
        gone.error_message(404, "ResourceNotFoundException"),
        format!(
            "The function {}:$LATEST doesn't have an EventInvokeConfig",
            arn("f")
        )
    );
}

#[tokio::test]
async fn update_needs_an_existing_configuration() {
    let api = TestApi::start().await;
    api.create_function("f").await;

    let missing = api
        .call("POST", URI, Some(json!({ "MaximumRetryAttempts": 1 })))
        .await;

    assert_eq!(
        missing.error_message(404, "ResourceNotFoundException"),
        format!(
            "The function {}:$LATEST doesn't have an EventInvokeConfig",
            arn("f")
        )
    );
}

#[tokio::test]
async fn destinations_other_than_lamina_functions_are_refused_clearly() {
    let api = TestApi::start().await;
    api.create_function("f").await;
    let queue = format!("arn:aws:sqs:{REGION}:{ACCOUNT}:q");
    let put =
        |target: String| json!({ "DestinationConfig": { "OnFailure": { "Destination": target } } });

    let sqs = api.call("PUT", URI, Some(put(queue.clone()))).await;
    let message = sqs.error_message(400, "InvalidParameterValueException");
    assert!(
        message.starts_with(&format!(
            "The destination ARN {queue} is not supported: Lamina delivers"
        )),
        "{message}"
    );
    let itself = api.call("PUT", URI, Some(put(arn("f")))).await;
    assert_eq!(
        itself.error_message(400, "InvalidParameterValueException"),
        "You can't specify the function as a destination for itself."
    );
    let gone = api.call("PUT", URI, Some(put(arn("nowhere")))).await;
    assert_eq!(
        gone.error_message(400, "InvalidParameterValueException"),
        format!("The destination ARN {} is invalid.", arn("nowhere"))
    );
    let nothing = api.call("PUT", URI, Some(json!({}))).await;
    assert_eq!(
        nothing.error_message(400, "InvalidParameterValueException"),
        "You must specify at least one of error handling or destination setting."
    );
    let no_function = api
        .call(
            "PUT",
            "/2019-09-25/functions/nope/event-invoke-config",
            Some(json!({ "MaximumRetryAttempts": 1 })),
        )
        .await;
    assert_eq!(
        no_function.error_message(404, "ResourceNotFoundException"),
        "The function doesn't exist."
    );
}

#[tokio::test]
async fn a_dead_letter_target_must_be_a_lamina_function() {
    let api = TestApi::start().await;
    api.create_function("f").await;
    let uri = "/2015-03-31/functions/f/configuration";

    let sqs = api
        .call(
            "PUT",
            uri,
            Some(json!({ "DeadLetterConfig": { "TargetArn": format!("arn:aws:sqs:{REGION}:{ACCOUNT}:dlq") } })),
        )
        .await;
    assert!(
        sqs.error_message(400, "InvalidParameterValueException")
            .contains("dead-letter target ARN arn:aws:sqs"),
        "{sqs:?}"
    );
    let function = api
        .call(
            "PUT",
            uri,
            Some(json!({ "DeadLetterConfig": { "TargetArn": arn("dlq") } })),
        )
        .await;
    assert_eq!(
        function.ok(200)["DeadLetterConfig"],
        json!({ "TargetArn": arn("dlq") })
    );
}

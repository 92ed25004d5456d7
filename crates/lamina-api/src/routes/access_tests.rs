//! The wire shapes of the tag, concurrency and policy routes, through the real router.

use serde_json::json;

use super::test_support::TestApi;

const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:f";

fn tags_uri() -> String {
    format!("/2017-03-31/tags/{}", ARN.replace(':', "%3A"))
}

#[tokio::test]
async fn untag_resource_reads_every_repeated_tag_key() {
    let api = TestApi::start().await;
    api.create_function("f").await;
    let tags = json!({"Tags": {"a": "1", "b": "2", "c": "3"}});
    api.call("POST", &tags_uri(), Some(tags)).await.ok(204);
    let uri = format!("{}?tagKeys=a&tagKeys=c", tags_uri());
    api.call("DELETE", &uri, None).await.ok(204);
    let listed = api.call("GET", &tags_uri(), None).await;
    assert_eq!(listed.ok(200), &json!({"Tags": {"b": "2"}}));
    let missing = api.call("DELETE", &tags_uri(), None).await;
    assert!(
        missing
            .error_message(400, "ValidationException")
            .contains("Value null at 'tagKeys'")
    );
}

#[tokio::test]
async fn concurrency_and_policy_answer_aws_shapes() {
    let api = TestApi::start().await;
    api.create_function("f").await;
    let got = api
        .call("GET", "/2019-09-30/functions/f/concurrency", None)
        .await;
    assert_eq!(got.ok(200), &json!({}));
    let put = api
        .call(
            "PUT",
            "/2017-10-31/functions/f/concurrency",
            Some(json!({"ReservedConcurrentExecutions": 0})),
        )
        .await;
    assert_eq!(put.ok(200), &json!({"ReservedConcurrentExecutions": 0}));
    api.call("DELETE", "/2017-10-31/functions/f/concurrency", None)
        .await
        .ok(204);

    let none = api
        .call("GET", "/2015-03-31/functions/f/policy", None)
        .await;
    none.error(
        404,
        "ResourceNotFoundException",
        json!({"Type": "User", "Message": "The resource you requested does not exist."}),
    );
    let added = api
        .call(
            "POST",
            "/2015-03-31/functions/f/policy",
            Some(json!({"StatementId": "s", "Action": "lambda:InvokeFunction", "Principal": "*"})),
        )
        .await;
    let statement = added.ok(201)["Statement"].as_str().unwrap().to_owned();
    assert_eq!(
        statement,
        format!(
            r#"{{"Sid":"s","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","Resource":"{ARN}"}}"#
        )
    );
    let got = api
        .call("GET", "/2015-03-31/functions/f/policy", None)
        .await;
    let revision = got.ok(200)["RevisionId"].as_str().unwrap().to_owned();
    let uri = format!("/2015-03-31/functions/f/policy/s?RevisionId={revision}");
    api.call("DELETE", &uri, None).await.ok(204);
    let resource = format!("/2026-07-09/resource-policy/{}", ARN.replace(':', "%3A"));
    api.call("GET", &resource, None)
        .await
        .error_message(404, "ResourceNotFoundException");
}

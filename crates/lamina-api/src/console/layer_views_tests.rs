//! The layer version page's extras (permissions, delete, versions, "Used by", what /opt will
//! hold) and the function page's overlaps, through the real router, checked against what the
//! AWS API then reports.

use serde_json::{Value, json};

use crate::routes::test_support::{TestApi, zip_base64};

/// The CSRF token of a rendered page.
fn csrf_of(html: &str) -> String {
    let start = html.find(r#"name="csrf" value=""#).unwrap() + r#"name="csrf" value=""#.len();
    html[start..start + 64].to_owned()
}

/// PublishLayerVersion of `files` as layer `name` for python3.12.
async fn publish(api: &TestApi, name: &str, files: &[(&str, &str)]) -> Value {
    let body = json!({
        "Content": { "ZipFile": zip_base64(files) },
        "CompatibleRuntimes": ["python3.12"],
    });
    let uri = format!("/2018-10-31/layers/{name}/versions");
    api.call("POST", &uri, Some(body)).await.ok(201).clone()
}

/// Sets the layers of function `function` (UpdateFunctionConfiguration).
async fn attach(api: &TestApi, function: &str, arns: &[&str]) {
    let uri = format!("/2015-03-31/functions/{function}/configuration");
    api.call("PUT", &uri, Some(json!({ "Layers": arns })))
        .await
        .ok(200);
}

fn arn_of(published: &Value) -> &str {
    published["LayerVersionArn"].as_str().unwrap()
}

#[tokio::test]
async fn the_version_page_shows_what_opt_will_hold_and_misplaced_modules() {
    let api = TestApi::start().await;
    publish(
        &api,
        "mixed",
        &[("python/x.py", "X = 1\n"), ("stray.py", "")],
    )
    .await;
    let (status, _, html) = api
        .page("GET", "/console/layers/mixed/versions/1", None)
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("What /opt will hold"), "{html}");
    assert!(
        html.contains(r#"<td>x</td><td>module</td><td class="arn">/opt/python/x.py</td>"#),
        "{html}"
    );
    let findings = &html[html.find(r#"id="layer-findings""#).expect("findings")..];
    assert!(
        findings.contains(
            r#"data-severity="error"><strong>Error</strong>: stray.py is at the root of the ZIP"#
        ),
        "{findings}"
    );
    assert!(findings.contains("python/stray.py"), "{findings}");
    assert!(!html.contains(r#"<td>stray</td>"#), "{html}");
}

#[tokio::test]
async fn the_function_page_shows_which_layer_wins_a_file_both_provide() {
    let api = TestApi::start().await;
    api.create_function("f").await;
    let first = publish(&api, "first", &[("python/dup.py", "A = 1\n")]).await;
    let second = publish(&api, "second", &[("python/dup.py", "B = 1\n")]).await;
    attach(&api, "f", &[arn_of(&first), arn_of(&second)]).await;
    let (status, _, html) = api.page("GET", "/console/functions/f", None).await;
    assert_eq!(status, 200);
    let table = &html[html.find(r#"id="function-overlaps""#).expect("overlaps")..];
    assert!(table.contains("dup.py"), "{table}");
    assert!(
        table.contains(r#"<li>first:1 <span class="arn">/opt/python/dup.py</span></li>"#),
        "{table}"
    );
    assert!(
        table.contains(
            r#"<td class="winner">second:1 <span class="arn">/opt/python/dup.py</span></td>"#
        ),
        "{table}"
    );

    // One layer alone overlaps nothing.
    attach(&api, "f", &[arn_of(&first)]).await;
    let (_, _, html) = api.page("GET", "/console/functions/f", None).await;
    assert!(html.contains(r#"id="function-overlaps-none""#), "{html}");
}

#[tokio::test]
async fn permissions_are_added_and_removed_as_get_layer_version_policy_reports() {
    let api = TestApi::start().await;
    api.publish_layer("shared").await;
    let page = "/console/layers/shared/versions/1";
    let policy = "/2018-10-31/layers/shared/versions/1/policy";
    let (_, _, html) = api.page("GET", page, None).await;
    assert!(html.contains(r#"id="layer-permissions-none""#), "{html}");
    let csrf = csrf_of(&html);

    let form = format!("csrf={csrf}&statement_id=partner&principal=111122223333&organization_id=");
    let (status, location, _) = api
        .page("POST", &format!("{page}/permissions/add"), Some(&form))
        .await;
    assert_eq!(status, 303);
    assert_eq!(
        location.as_deref(),
        Some("/console/layers/shared/versions/1#permissions-heading")
    );
    let answer = api.call("GET", policy, None).await;
    let doc: Value = serde_json::from_str(answer.ok(200)["Policy"].as_str().unwrap()).unwrap();
    assert_eq!(doc["Statement"][0]["Sid"], "partner");
    assert_eq!(
        doc["Statement"][0]["Principal"]["AWS"],
        "arn:aws:iam::111122223333:root"
    );
    assert_eq!(doc["Statement"][0]["Action"], "lambda:GetLayerVersion");
    let (_, _, html) = api.page("GET", page, None).await;
    assert!(
        html.contains(r#"<td>partner</td><td class="arn">arn:aws:iam::111122223333:root</td>"#),
        "{html}"
    );

    // The same statement ID again: AWS's message, in the page.
    let (status, _, html) = api
        .page("POST", &format!("{page}/permissions/add"), Some(&form))
        .await;
    assert_eq!(status, 409);
    assert!(
        html.contains(r#"<div class="alert" role="alert">"#),
        "{html}"
    );
    assert!(html.contains("partner"), "{html}");

    let form = format!("csrf={csrf}&statement_id=partner");
    let (status, _, _) = api
        .page("POST", &format!("{page}/permissions/remove"), Some(&form))
        .await;
    assert_eq!(status, 303);
    api.call("GET", policy, None)
        .await
        .error_message(404, "ResourceNotFoundException");

    let (status, _, _) = api
        .page(
            "POST",
            &format!("{page}/permissions/add"),
            Some("csrf=forged&statement_id=x&principal=*"),
        )
        .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn a_bad_principal_shows_aws_message() {
    let api = TestApi::start().await;
    api.publish_layer("shared").await;
    let page = "/console/layers/shared/versions/1";
    let (_, _, html) = api.page("GET", page, None).await;
    let form = format!("csrf={}&statement_id=s&principal=nobody", csrf_of(&html));
    let (status, _, html) = api
        .page("POST", &format!("{page}/permissions/add"), Some(&form))
        .await;
    assert_eq!(status, 400);
    assert!(
        html.contains(r#"role="alert">1 validation error detected: Value 'nobody' at 'principal'"#),
        "{html}"
    );
    // The form keeps what was typed.
    assert!(
        html.contains(
            r#"name="principal" required placeholder="111122223333 or *" value="nobody">"#
        ),
        "{html}"
    );
}

#[tokio::test]
async fn delete_asks_first_then_hides_the_version() {
    let api = TestApi::start().await;
    api.publish_layer("old").await;
    api.publish_layer("old").await;
    let (status, _, html) = api
        .page("GET", "/console/layers/old/versions/2/delete", None)
        .await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"id="delete-layer-version""#), "{html}");
    // Only the confirmation deletes.
    api.call("GET", "/2018-10-31/layers/old/versions/2", None)
        .await
        .ok(200);
    let form = format!("csrf={}", csrf_of(&html));
    let (status, location, _) = api
        .page("POST", "/console/layers/old/versions/2/delete", Some(&form))
        .await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some("/console/layers/old/versions/1"))
    );
    api.call("GET", "/2018-10-31/layers/old/versions/2", None)
        .await
        .error_message(404, "ResourceNotFoundException");
    let (status, _, _) = api
        .page("GET", "/console/layers/old/versions/2", None)
        .await;
    assert_eq!(status, 404);

    let (status, location, _) = api
        .page("POST", "/console/layers/old/versions/1/delete", Some(&form))
        .await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some("/console/layers"))
    );
    let (status, _, _) = api
        .page(
            "POST",
            "/console/layers/old/versions/1/delete",
            Some("csrf=forged"),
        )
        .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn used_by_and_versions_list_the_functions_and_every_version() {
    let api = TestApi::start().await;
    api.create_function("user").await;
    api.create_function("bystander").await;
    api.publish_layer("deps").await;
    let second = api.publish_layer("deps").await;
    attach(&api, "user", &[arn_of(&second)]).await;

    let (_, _, html) = api
        .page("GET", "/console/layers/deps/versions/2", None)
        .await;
    let used = &html[html.find(r#"id="layer-used-by""#).expect("used by")..];
    assert!(
        used.contains(r#"<td><a href="/console/functions/user">user</a></td><td>1</td>"#),
        "{used}"
    );
    assert!(!used.contains("bystander"), "{used}");
    let versions = &html[html.find(r#"id="layer-versions""#).expect("versions")..];
    assert!(
        versions.contains(r#"<a href="/console/layers/deps/versions/2" aria-current="page">2</a>"#),
        "{versions}"
    );
    assert!(
        versions.contains(r#"<a href="/console/layers/deps/versions/1">1</a>"#),
        "{versions}"
    );

    let (_, _, html) = api
        .page("GET", "/console/layers/deps/versions/1", None)
        .await;
    assert!(html.contains(r#"id="layer-used-by-none""#), "{html}");
}

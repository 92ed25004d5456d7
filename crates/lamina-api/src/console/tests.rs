//! The console's pages through the real router (`--auth none`: no sign-in), checked against
//! what the AWS API then reports.

use crate::routes::test_support::TestApi;

/// The CSRF token of a rendered page.
fn csrf_of(html: &str) -> String {
    let start = html.find(r#"name="csrf" value=""#).unwrap() + r#"name="csrf" value=""#.len();
    html[start..start + 64].to_owned()
}

async fn layer_arns(api: &TestApi, function: &str) -> Vec<String> {
    let config = api
        .call(
            "GET",
            &format!("/2015-03-31/functions/{function}/configuration"),
            None,
        )
        .await;
    config.ok(200)["Layers"]
        .as_array()
        .map(|l| {
            l.iter()
                .map(|x| x["Arn"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn the_root_leads_to_the_functions_list() {
    let api = TestApi::start().await;
    api.create_function("listed").await;
    let (status, location, _) = api.page("GET", "/", None).await;
    assert_eq!((status, location.as_deref()), (303, Some("/console/")));
    let (status, _, html) = api.page("GET", "/console/functions", None).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(r#"<a href="/console/functions/listed">listed</a>"#),
        "{html}"
    );
    assert!(html.contains("<h1>Functions</h1>"));
}

#[tokio::test]
async fn add_a_layer_from_custom_layers_or_an_arn_with_aws_messages() {
    let api = TestApi::start().await;
    api.create_function("f").await;
    let deps = api.publish_layer("deps").await;
    let (status, _, html) = api
        .page("GET", "/console/functions/f/layers/add", None)
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("Custom layers") && html.contains("Specify an ARN"));
    assert!(
        html.contains(r#"<option value="deps" selected>deps</option>"#),
        "{html}"
    );
    let csrf = csrf_of(&html);

    let form = format!("csrf={csrf}&source=custom&layer=deps&version=1");
    let (status, location, _) = api
        .page("POST", "/console/functions/f/layers/add", Some(&form))
        .await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some("/console/functions/f"))
    );
    assert_eq!(
        layer_arns(&api, "f").await,
        vec![deps["LayerVersionArn"].as_str().unwrap()]
    );

    let missing = "arn:aws:lambda:us-east-1:123456789012:layer:nope:1";
    let form = format!("csrf={csrf}&source=arn&arn={missing}");
    let (status, _, html) = api
        .page("POST", "/console/functions/f/layers/add", Some(&form))
        .await;
    assert_eq!(status, 400);
    assert!(
        html.contains(&format!(
            r#"role="alert">Layer version {missing} does not exist."#
        )),
        "{html}"
    );

    let (status, _, _) = api
        .page(
            "POST",
            "/console/functions/f/layers/add",
            Some("csrf=forged&source=arn&arn=x"),
        )
        .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn edit_reorders_and_removes_and_save_applies() {
    let api = TestApi::start().await;
    api.create_function("f").await;
    let a = api.publish_layer("a").await["LayerVersionArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = api.publish_layer("b").await["LayerVersionArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, _, html) = api
        .page("GET", "/console/functions/f/layers/edit", None)
        .await;
    let csrf = csrf_of(&html);
    for arn in [&a, &b] {
        let form = format!("csrf={csrf}&source=arn&arn={arn}");
        api.page("POST", "/console/functions/f/layers/add", Some(&form))
            .await;
    }
    assert_eq!(layer_arns(&api, "f").await, vec![a.clone(), b.clone()]);

    // "Move up" on the second row changes the pending order only.
    let form = format!("csrf={csrf}&arn={a}&arn={b}&op=up:1");
    let (status, _, html) = api
        .page("POST", "/console/functions/f/layers/edit", Some(&form))
        .await;
    assert_eq!(status, 200);
    assert!(html.find(&b).unwrap() < html.find(&a).unwrap());
    assert_eq!(layer_arns(&api, "f").await, vec![a.clone(), b.clone()]);

    let form = format!("csrf={csrf}&arn={b}&arn={a}&op=save");
    let (status, _, _) = api
        .page("POST", "/console/functions/f/layers/edit", Some(&form))
        .await;
    assert_eq!(status, 303);
    assert_eq!(layer_arns(&api, "f").await, vec![b.clone(), a.clone()]);

    let form = format!("csrf={csrf}&arn={b}&arn={a}&op=remove:0");
    let (_, _, html) = api
        .page("POST", "/console/functions/f/layers/edit", Some(&form))
        .await;
    assert!(!html.contains(&format!("<td class=\"arn\">{b}</td>")));
    let form = format!("csrf={csrf}&arn={a}&op=save");
    api.page("POST", "/console/functions/f/layers/edit", Some(&form))
        .await;
    assert_eq!(layer_arns(&api, "f").await, vec![a]);
}

#[tokio::test]
async fn the_function_page_shows_its_layers_as_aws_does() {
    let api = TestApi::start().await;
    api.create_function("f").await;
    let deps = api.publish_layer("deps").await;
    let arn = deps["LayerVersionArn"].as_str().unwrap();
    let (_, _, html) = api
        .page("GET", "/console/functions/f/layers/add", None)
        .await;
    let form = format!("csrf={}&source=arn&arn={arn}", csrf_of(&html));
    api.page("POST", "/console/functions/f/layers/add", Some(&form))
        .await;
    let (status, _, html) = api.page("GET", "/console/functions/f", None).await;
    assert_eq!(status, 200);
    for column in [
        "Merge order",
        "Name",
        "Layer version",
        "Compatible runtimes",
        "Compatible architectures",
        "Version ARN",
    ] {
        assert!(
            html.contains(&format!(r#"<th scope="col">{column}</th>"#)),
            "{column}"
        );
    }
    assert!(html.contains(&format!("<td>1</td><td>deps</td><td>1</td><td>python3.12</td><td>-</td><td class=\"arn\">{arn}</td>")), "{html}");
    assert!(html.contains("Add a layer") && html.contains(">Edit<"));
}

#[tokio::test]
async fn the_monitor_page_and_its_log_follow_exist_per_function() {
    let api = TestApi::start().await;
    api.create_function("f").await;
    let (status, _, html) = api.page("GET", "/console/functions/f/monitor", None).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(r#"<dd id="monitor-invocations">0</dd>"#),
        "{html}"
    );
    assert!(html.contains(r#"data-follow="/console/functions/f/log""#));
    let (status, _, body) = api
        .page("GET", "/console/functions/f/log?from=0", None)
        .await;
    assert_eq!((status, body.as_str()), (200, r#"{"next":0,"text":""}"#));
    let (status, _, _) = api
        .page("GET", "/console/functions/nope/monitor", None)
        .await;
    assert_eq!(status, 404);
    let (status, _, _) = api.page("GET", "/console/functions/nope/log", None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_form_larger_than_any_console_form_is_refused() {
    let api = TestApi::start().await;
    let huge = format!(
        "access_key_id=x&secret_access_key={}",
        "a".repeat(300 * 1024)
    );
    let (status, _, _) = api.page("POST", "/console/sign-in", Some(&huge)).await;
    assert_eq!(status, 413);
}

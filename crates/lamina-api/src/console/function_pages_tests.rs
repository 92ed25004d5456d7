//! The function pages (configuration, environment, code, versions and aliases, create and
//! delete) through the real router (`--auth none`), checked against what the AWS API reports.

use axum::body::Body;
use axum::http::Request;
use base64::Engine;
use serde_json::Value;

use crate::routes::test_support::{ACCOUNT, TestApi, zip_base64};

/// The CSRF token of a rendered page.
fn csrf_of(html: &str) -> String {
    let start = html.find(r#"name="csrf" value=""#).unwrap() + r#"name="csrf" value=""#.len();
    html[start..start + 64].to_owned()
}

async fn csrf(api: &TestApi) -> String {
    let (_, _, html) = api.page("GET", "/console/functions/create", None).await;
    csrf_of(&html)
}

async fn configuration(api: &TestApi, function: &str) -> Value {
    let uri = format!("/2015-03-31/functions/{function}/configuration");
    api.call("GET", &uri, None).await.ok(200).clone()
}

/// The field block (`div.field`) of `member` in `html`.
fn field_block<'h>(html: &'h str, member: &str) -> &'h str {
    let start = html
        .find(&format!(r#"data-member="{member}""#))
        .unwrap_or_else(|| panic!("no field {member} in {html}"));
    let end = html[start..]
        .find("</div><div class=\"field\"")
        .map_or(html.len(), |e| start + e);
    &html[start..end]
}

#[tokio::test]
async fn a_memory_aws_refuses_shows_its_message_at_the_memory_field_and_changes_nothing() {
    let api = TestApi::start().await;
    api.create_function("f").await;
    let (status, _, html) = api
        .page("GET", "/console/functions/f/configuration/edit", None)
        .await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"name="memory" value="128""#), "{html}");
    let form = format!(
        "csrf={}&runtime=python3.12&handler=app.handler&description=&memory=10241&ephemeral_storage=512&timeout=3",
        csrf_of(&html)
    );
    let (status, _, html) = api
        .page(
            "POST",
            "/console/functions/f/configuration/edit",
            Some(&form),
        )
        .await;
    assert_eq!(status, 400);
    let memory = field_block(&html, "memorySize");
    let message = "1 validation error detected: Value '10241' at 'memorySize' failed to satisfy \
                   constraint: Member must have value less than or equal to 10240";
    assert!(
        memory.contains(&format!(
            r#"id="memorySize-error" role="alert">{message}</div>"#
        )),
        "{memory}"
    );
    assert!(
        memory.contains(r#"name="memory" value="10241" aria-describedby="memorySize-error""#),
        "{memory}"
    );
    assert!(!field_block(&html, "timeout").contains("role=\"alert\""));
    assert_eq!(configuration(&api, "f").await["MemorySize"], 128);
}

#[tokio::test]
async fn a_valid_edit_shows_through_get_function_configuration() {
    let api = TestApi::start().await;
    api.create_function("f").await;
    let form = format!(
        "csrf={}&runtime=python3.13&handler=app.main&description=edited&memory=256&ephemeral_storage=1024&timeout=30",
        csrf(&api).await
    );
    let (status, location, _) = api
        .page(
            "POST",
            "/console/functions/f/configuration/edit",
            Some(&form),
        )
        .await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some("/console/functions/f"))
    );
    let config = configuration(&api, "f").await;
    assert_eq!(
        (&config["MemorySize"], &config["Timeout"]),
        (&Value::from(256), &Value::from(30))
    );
    assert_eq!(config["EphemeralStorage"]["Size"], 1024);
    assert_eq!(
        (
            &config["Runtime"],
            &config["Handler"],
            &config["Description"]
        ),
        (
            &Value::from("python3.13"),
            &Value::from("app.main"),
            &Value::from("edited")
        )
    );
    let (_, _, html) = api.page("GET", "/console/functions/f", None).await;
    assert!(html.contains("<dt>Memory (MB)</dt><dd>256</dd>"), "{html}");
    assert!(html.contains("Edit configuration"));
}

#[tokio::test]
async fn environment_variables_round_trip_with_aws_messages_at_the_variables() {
    let api = TestApi::start().await;
    api.create_function("f").await;
    let token = csrf(&api).await;
    let uri = "/console/functions/f/environment/edit";
    // "Add environment variable" adds an empty row and saves nothing.
    let form = format!("csrf={token}&key=GREETING&value=1&op=add");
    let (status, _, html) = api.page("POST", uri, Some(&form)).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(r#"id="env-key-1" type="text" name="key" value="""#),
        "{html}"
    );
    assert!(configuration(&api, "f").await["Environment"].is_null());

    let form = format!("csrf={token}&key=MODE&value=2&key=GREETING&value=1&key=&value=&op=save");
    let (status, _, html) = api.page("POST", uri, Some(&form)).await;
    assert_eq!(status, 303, "{html}");
    let vars = configuration(&api, "f").await["Environment"]["Variables"].clone();
    assert_eq!(vars, serde_json::json!({"GREETING": "1", "MODE": "2"}));
    let (_, _, html) = api.page("GET", uri, None).await;
    assert!(
        html.contains(r#"name="key" value="GREETING""#)
            && html.contains(r#"name="value" value="2""#)
    );

    let form = format!("csrf={token}&key=GREETING&value=1&key=AWS_REGION&value=x&op=save");
    let (status, _, html) = api.page("POST", uri, Some(&form)).await;
    assert_eq!(status, 400);
    let block = field_block(&html, "environment");
    assert!(
        block.contains(r#"id="environment-error" role="alert">Lambda was unable to configure your environment variables"#)
            && block.contains("Reserved keys used in this request: AWS_REGION"),
        "{block}"
    );
    assert!(
        html.contains(r#"name="key" value="AWS_REGION""#),
        "the input is kept"
    );

    // "Remove" drops the row; Save with none left clears the variables.
    let form = format!("csrf={token}&key=GREETING&value=1&op=remove:0");
    let (_, _, html) = api.page("POST", uri, Some(&form)).await;
    assert!(!html.contains(r#"name="key" value="GREETING""#));
    let (status, _, _) = api
        .page("POST", uri, Some(&format!("csrf={token}&op=save")))
        .await;
    assert_eq!(status, 303);
    let env = &configuration(&api, "f").await["Environment"];
    assert!(
        env.is_null() || env["Variables"] == serde_json::json!({}),
        "{env}"
    );
    let (status, _, _) = api.page("POST", uri, Some("csrf=forged&op=save")).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn published_versions_and_aliases_show_up_through_the_api() {
    let api = TestApi::start().await;
    api.create_function("f").await;
    let token = csrf(&api).await;
    let form = format!("csrf={token}&description=first+release");
    let (status, location, _) = api
        .page("POST", "/console/functions/f/versions/publish", Some(&form))
        .await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some("/console/functions/f#versions"))
    );
    let versions = api
        .call("GET", "/2015-03-31/functions/f/versions", None)
        .await;
    let versions = versions.ok(200)["Versions"].as_array().unwrap().clone();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[1]["Description"], "first release");

    let form = format!("csrf={token}&name=live&version=1&description=production");
    let (status, _, _) = api
        .page("POST", "/console/functions/f/aliases/create", Some(&form))
        .await;
    assert_eq!(status, 303);
    let alias = api
        .call("GET", "/2015-03-31/functions/f/aliases/live", None)
        .await;
    assert_eq!(alias.ok(200)["FunctionVersion"], "1");
    let (_, _, html) = api.page("GET", "/console/functions/f", None).await;
    assert!(
        html.contains("<td>live</td><td>1</td><td>production</td>"),
        "{html}"
    );
    assert!(html.contains("<td>1</td><td>first release</td>"), "{html}");

    // AWS's message when the alias exists already.
    let (_, _, html) = api
        .page("POST", "/console/functions/f/aliases/create", Some(&form))
        .await;
    assert!(
        html.contains(r#"role="alert">Alias already exists: arn:aws:lambda:us-east-1:"#),
        "{html}"
    );

    let form = format!("csrf={token}");
    let (status, _, _) = api
        .page(
            "POST",
            "/console/functions/f/aliases/live/delete",
            Some(&form),
        )
        .await;
    assert_eq!(status, 303);
    let gone = api
        .call("GET", "/2015-03-31/functions/f/aliases/live", None)
        .await;
    assert_eq!(gone.status, 404);
}

#[tokio::test]
async fn create_with_the_hello_handler_then_delete_after_confirming() {
    let api = TestApi::start().await;
    let (status, _, html) = api.page("GET", "/console/functions/create", None).await;
    assert_eq!(status, 200);
    let role = format!("arn:aws:iam::{ACCOUNT}:role/lambda-role");
    assert!(
        html.contains(&format!(r#"name="role" value="{role}""#)),
        "{html}"
    );
    assert!(html.contains(r#"value="lambda_function.lambda_handler""#));
    let token = csrf_of(&html);
    let form = format!(
        "csrf={token}&name=hello&runtime=python3.12&architecture=arm64&handler=lambda_function.lambda_handler&role={role}&code=hello"
    );
    let (status, location, _) = api
        .page("POST", "/console/functions/create", Some(&form))
        .await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some("/console/functions/hello"))
    );
    let config = configuration(&api, "hello").await;
    assert_eq!(config["Role"], role.as_str());
    assert_eq!(config["Architectures"], serde_json::json!(["arm64"]));

    // AWS's message at the field: a name with a space.
    let bad = form.replace("name=hello", "name=bad+name");
    let (status, _, html) = api
        .page("POST", "/console/functions/create", Some(&bad))
        .await;
    assert_eq!(status, 400);
    assert!(
        field_block(&html, "functionName")
            .contains("at 'functionName' failed to satisfy constraint"),
        "{html}"
    );
    assert!(html.contains(r#"name="name" value="bad name""#));

    let (status, _, html) = api
        .page("GET", "/console/functions/hello/delete", None)
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("To confirm deletion, type confirm in the field."));
    let uri = "/console/functions/hello/delete";
    let (status, _, html) = api
        .page("POST", uri, Some(&format!("csrf={token}&confirm=nope")))
        .await;
    assert_eq!(status, 400);
    assert!(html.contains(r#"id="confirm-error" role="alert""#));
    assert_eq!(configuration(&api, "hello").await["FunctionName"], "hello");
    let (status, location, _) = api
        .page("POST", uri, Some(&format!("csrf={token}&confirm=confirm")))
        .await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some("/console/functions"))
    );
    let gone = api
        .call("GET", "/2015-03-31/functions/hello/configuration", None)
        .await;
    assert_eq!(gone.status, 404);
}

fn zip_bytes(files: &[(&str, &str)]) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(zip_base64(files))
        .unwrap()
}

fn raw_post(uri: &str, body: Vec<u8>) -> Request<Body> {
    Request::builder()
        .method("POST")
        .uri(uri)
        .header("content-type", "application/zip")
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn code_uploads_replace_the_zip_and_download_is_signed() {
    let api = TestApi::start().await;
    let before = api.create_function("f").await["CodeSha256"].clone();
    let token = csrf(&api).await;
    let zip = zip_bytes(&[("app.py", "def handler(e, c):\n    return 2\n")]);
    let answer = api
        .send(raw_post(
            &format!("/console/functions/f/code?csrf={token}"),
            zip,
        ))
        .await;
    assert_eq!(answer.ok(200)["location"], "/console/functions/f");
    let after = configuration(&api, "f").await["CodeSha256"].clone();
    assert_ne!(before, after);

    let answer = api
        .send(raw_post(
            &format!("/console/functions/f/code?csrf={token}"),
            b"no zip".to_vec(),
        ))
        .await;
    assert_eq!(answer.status, 400);
    assert!(
        answer.body["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    let (status, _, _) = api
        .page("POST", "/console/functions/f/code?csrf=forged", Some(""))
        .await;
    assert_eq!(status, 403);

    let (status, location, _) = api
        .page("GET", "/console/functions/f/code/download", None)
        .await;
    assert_eq!(status, 303);
    assert!(location.unwrap().contains("/_lamina/content/sha256/"));
    let (_, _, html) = api.page("GET", "/console/functions/f", None).await;
    assert!(html.contains(r#"<label for="code-zip">Upload a .zip file</label>"#));
}

#[tokio::test]
async fn create_by_upload_answers_the_new_functions_page() {
    let api = TestApi::start().await;
    let token = csrf(&api).await;
    let zip = zip_bytes(&[("app.py", "def handler(e, c):\n    return 1\n")]);
    let uri = format!(
        "/console/functions/create/upload?csrf={token}&name=up&runtime=python3.12&architecture=x86_64&handler=app.handler&role=arn:aws:iam::{ACCOUNT}:role/r&code=zip"
    );
    let answer = api.send(raw_post(&uri, zip)).await;
    assert_eq!(answer.ok(200)["location"], "/console/functions/up");
    assert_eq!(configuration(&api, "up").await["Handler"], "app.handler");
    // "Upload a .zip file" chosen with no file: AWS's message.
    let answer = api
        .send(raw_post(&uri.replace("name=up", "name=up2"), Vec::new()))
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.body["message"],
        "Please provide a source for the function code: ZipFile."
    );
}

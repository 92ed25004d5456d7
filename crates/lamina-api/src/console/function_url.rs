//! A function's URLs and the settings kept beside it (recursive loop detection, runtime
//! updates), read-only on its page: they are set through the API (CreateFunctionUrlConfig,
//! `cargo lambda deploy --enable-function-url`, PutFunctionRecursionConfig,
//! PutRuntimeManagementConfig). Each URL is linked in its path form on this same server.

use maud::{Markup, html};

use super::page::alert;
use super::session::Session;
use crate::AppState;
use crate::function_urls::PATH_PREFIX;

/// The "Function URL" and "Runtime settings" sections.
pub(super) async fn sections(state: &AppState, session: &Session, function: &str) -> Markup {
    let urls = state
        .functions
        .list_function_urls(&session.scope, function, None, None)
        .await;
    let recursion = state
        .functions
        .recursion_config(&session.scope, function)
        .await;
    let runtime = state
        .functions
        .runtime_management_config(&session.scope, function, None)
        .await;
    html! {
        section #function-urls aria-labelledby="urls-heading" {
            h2 #urls-heading { "Function URL" }
            @match &urls {
                Err(e) => (alert(e.message())),
                Ok(page) if page.items.is_empty() => p.hint { "No function URL." },
                Ok(page) => div.table-wrap {
                    table #function-url-configs {
                        thead { tr {
                            th scope="col" { "Alias" } th scope="col" { "URL" } th scope="col" { "Auth type" }
                            th scope="col" { "Invoke mode" } th scope="col" { "CORS origins" }
                        } }
                        tbody {
                            @for url in &page.items {
                                @let r = &url.record;
                                @let link = format!("{PATH_PREFIX}{}/", r.url_id);
                                @let origins = r.cors.as_ref().and_then(|c| c.allow_origins.as_ref());
                                tr {
                                    td { (r.qualifier.as_deref().unwrap_or("-")) }
                                    td { a href=(link) { (link) } }
                                    td { (r.auth_type.as_str()) }
                                    td { (r.invoke_mode.as_str()) }
                                    td { @match origins { Some(o) => (o.join(", ")), None => "-" } }
                                }
                            }
                        }
                    }
                },
            }
        }
        section #runtime-settings aria-labelledby="runtime-settings-heading" {
            h2 #runtime-settings-heading { "Runtime settings" }
            dl.facts {
                dt { "Recursive loop detection" }
                dd #recursive-loop { @match &recursion { Ok(r) => (r.as_str()), Err(_) => "-" } }
                dt { "Runtime update mode" }
                dd #update-runtime-on {
                    @match &runtime { Ok(r) => (r.config.update_runtime_on.as_str()), Err(_) => "-" }
                }
                dt { "Runtime version ARN" }
                dd.arn #runtime-version-arn {
                    @match runtime.as_ref().ok().and_then(|r| r.config.runtime_version_arn.as_deref()) {
                        Some(arn) => (arn),
                        None => "-",
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::routes::test_support::TestApi;

    #[tokio::test]
    async fn the_page_shows_urls_and_runtime_settings() {
        let api = TestApi::start().await;
        api.create_function("f").await;
        let (_, _, html) = api.page("GET", "/console/functions/f", None).await;
        assert!(html.contains("No function URL."), "{html}");
        assert!(html.contains(r#"id="recursive-loop">Terminate<"#), "{html}");
        assert!(html.contains(r#"id="update-runtime-on">Auto<"#), "{html}");

        let created = api
            .call(
                "POST",
                "/2021-10-31/functions/f/url",
                Some(json!({ "AuthType": "NONE", "Cors": { "AllowOrigins": ["https://example.com"] } })),
            )
            .await;
        let url = created.ok(201)["FunctionUrl"].as_str().unwrap().to_owned();
        api.call(
            "PUT",
            "/2024-08-31/functions/f/recursion-config",
            Some(json!({ "RecursiveLoop": "Allow" })),
        )
        .await
        .ok(200);
        let (status, _, html) = api.page("GET", "/console/functions/f", None).await;

        assert_eq!(status, 200);
        let path = url.split_once("/_lamina/url/").map(|(_, id)| id).unwrap();
        let row = format!(
            "<td>-</td><td><a href=\"/_lamina/url/{path}\">/_lamina/url/{path}</a></td><td>NONE</td><td>BUFFERED</td><td>https://example.com</td>"
        );
        assert!(html.contains(&row), "{html}");
        assert!(html.contains(r#"id="recursive-loop">Allow<"#), "{html}");
    }
}

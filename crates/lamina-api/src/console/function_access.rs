//! A function's tags, reserved concurrency and resource-based policy, read-only on its page
//! (they are changed through the API: TagResource, PutFunctionConcurrency, AddPermission).

use maud::{Markup, html};
use serde_json::Value;

use super::page::alert;
use super::session::Session;
use crate::AppState;

/// The "Tags", "Concurrency" and "Resource-based policy statements" sections.
pub(super) async fn sections(state: &AppState, session: &Session, function: &str) -> Markup {
    let details = state.functions.get(&session.scope, function, None).await;
    let unreserved = state
        .functions
        .account_settings(&session.scope)
        .await
        .map(|s| s.unreserved_concurrent_executions);
    // No policy is a 404 from GetPolicy: shown as "no statements", not as an error.
    let policy = match state
        .functions
        .get_policy(&session.scope, function, None)
        .await
    {
        Ok(view) => Ok(statements(&view.policy)),
        Err(e) if e.status() == 404 => Ok(Vec::new()),
        Err(e) => Err(e),
    };
    html! {
        section #tags aria-labelledby="tags-heading" {
            h2 #tags-heading { "Tags" }
            @match &details {
                Err(e) => (alert(e.message())),
                Ok(d) if d.tags.is_empty() => p.hint { "No tags." },
                Ok(d) => div.table-wrap {
                    table #function-tags {
                        thead { tr { th scope="col" { "Key" } th scope="col" { "Value" } } }
                        tbody { @for (k, v) in &d.tags { tr { td { (k) } td { (v) } } } }
                    }
                },
            }
        }
        section #concurrency aria-labelledby="concurrency-heading" {
            h2 #concurrency-heading { "Concurrency" }
            dl.facts {
                dt { "Reserved concurrency" }
                dd #reserved-concurrency {
                    @match details.as_ref().map(|d| d.reserved_concurrency) {
                        Ok(Some(n)) => (n),
                        Ok(None) => "None (uses the account's unreserved concurrency)",
                        Err(_) => "-",
                    }
                }
                dt { "Unreserved account concurrency" }
                dd #unreserved-concurrency {
                    @match &unreserved { Ok(n) => (n), Err(_) => "-" }
                }
            }
        }
        section #policy aria-labelledby="policy-heading" {
            h2 #policy-heading { "Resource-based policy statements" }
            @match &policy {
                Err(e) => (alert(e.message())),
                Ok(rows) if rows.is_empty() => p.hint { "No resource-based policy." },
                Ok(rows) => div.table-wrap {
                    table #function-policy {
                        thead { tr {
                            th scope="col" { "Statement ID" } th scope="col" { "Principal" }
                            th scope="col" { "Action" } th scope="col" { "Conditions" }
                        } }
                        tbody {
                            @for row in rows {
                                tr { td { (row.sid) } td { (row.principal) } td { (row.action) } td { (row.condition) } }
                            }
                        }
                    }
                },
            }
        }
    }
}

/// One statement as the table shows it: principals and conditions as their JSON.
struct StatementRow {
    sid: String,
    principal: String,
    action: String,
    condition: String,
}

/// The statements of GetPolicy's document (which the control plane wrote, so it parses).
fn statements(policy: &str) -> Vec<StatementRow> {
    let doc: Value = serde_json::from_str(policy).unwrap_or(Value::Null);
    let text = |v: Option<&Value>| match v {
        None => "-".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    doc.get("Statement")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|s| StatementRow {
                    sid: text(s.get("Sid")),
                    principal: text(s.get("Principal")),
                    action: text(s.get("Action")),
                    condition: text(s.get("Condition")),
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::routes::test_support::TestApi;

    const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:f";

    #[tokio::test]
    async fn the_page_shows_tags_concurrency_and_policy_statements() {
        let api = TestApi::start().await;
        api.create_function("f").await;
        let (_, _, html) = api.page("GET", "/console/functions/f", None).await;
        assert!(html.contains("No tags."), "{html}");
        assert!(
            html.contains("None (uses the account&#39;s unreserved concurrency)")
                || html.contains("None (uses the account's unreserved concurrency)"),
            "{html}"
        );
        assert!(html.contains("No resource-based policy."), "{html}");

        let tags = format!("/2017-03-31/tags/{}", ARN.replace(':', "%3A"));
        api.call("POST", &tags, Some(json!({"Tags": {"team": "core"}})))
            .await
            .ok(204);
        api.call(
            "PUT",
            "/2017-10-31/functions/f/concurrency",
            Some(json!({"ReservedConcurrentExecutions": 7})),
        )
        .await
        .ok(200);
        api.call(
            "POST",
            "/2015-03-31/functions/f/policy",
            Some(json!({
                "StatementId": "from-s3", "Action": "lambda:InvokeFunction",
                "Principal": "s3.amazonaws.com", "SourceAccount": "123456789012",
            })),
        )
        .await
        .ok(201);

        let (status, _, html) = api.page("GET", "/console/functions/f", None).await;
        assert_eq!(status, 200);
        assert!(html.contains("<td>team</td><td>core</td>"), "{html}");
        assert!(
            html.contains(r#"<dd id="reserved-concurrency">7</dd>"#),
            "{html}"
        );
        assert!(
            html.contains(r#"<dd id="unreserved-concurrency">993</dd>"#),
            "{html}"
        );
        assert!(html.contains("<td>from-s3</td>"), "{html}");
        assert!(html.contains("s3.amazonaws.com"), "{html}");
        assert!(html.contains("lambda:InvokeFunction"), "{html}");
        assert!(html.contains("AWS:SourceAccount"), "{html}");
    }
}

//! A layer version's permissions, as on AWS's console: the statements of its policy
//! (GetLayerVersionPolicy), "Add permissions" (AddLayerVersionPermission, the action fixed to
//! `lambda:GetLayerVersion`) and "Remove" (RemoveLayerVersionPermission). AWS's messages show
//! on the version's page.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use lamina_control::layers::AddLayerPermission;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

use super::layers::{Failed, version_page_with};
use super::page::csrf_field;
use super::session::Session;
use crate::AppState;

/// The only action a layer version's policy grants.
const ACTION: &str = "lambda:GetLayerVersion";

/// One statement of the policy, as the table shows it.
struct Statement {
    sid: String,
    principal: String,
    organization: Option<String>,
}

/// The statements of a policy document (GetLayerVersionPolicy's `Policy`).
fn statements(policy: &str) -> Vec<Statement> {
    let Ok(doc) = serde_json::from_str::<Value>(policy) else {
        return Vec::new();
    };
    let text = |v: &Value| v.as_str().map(str::to_owned);
    doc["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| Statement {
            sid: text(&s["Sid"]).unwrap_or_default(),
            // `*`, or `{"AWS": "arn:aws:iam::111122223333:root"}`.
            principal: text(&s["Principal"])
                .or_else(|| text(&s["Principal"]["AWS"]))
                .unwrap_or_default(),
            organization: text(&s["Condition"]["StringEquals"]["aws:PrincipalOrgID"]),
        })
        .collect()
}

fn base(name: &str, version: i64) -> String {
    format!("/console/layers/{name}/versions/{version}/permissions")
}

/// The "Permissions" section of a version's page.
pub(super) async fn section(
    state: &AppState,
    session: &Session,
    name: &str,
    version: i64,
    draft: Option<&AddForm>,
) -> Markup {
    let empty = AddForm::default();
    let draft = draft.unwrap_or(&empty);
    // GetLayerVersionPolicy answers 404 for an empty policy: no statements.
    let list = state
        .layers
        .get_policy(&session.scope, name, version)
        .await
        .map(|p| statements(&p.policy))
        .unwrap_or_default();
    let base = base(name, version);
    html! {
        section aria-labelledby="permissions-heading" {
            h2 #permissions-heading { "Permissions" }
            @if list.is_empty() {
                p.hint #layer-permissions-none { "Only this account can use this version." }
            } @else {
                div.table-wrap {
                    table #layer-permissions {
                        thead { tr {
                            th scope="col" { "Statement ID" } th scope="col" { "Principal" }
                            th scope="col" { "Organization ID" } th scope="col" { "Action" } th scope="col" { "Actions" }
                        } }
                        tbody {
                            @for s in &list {
                                tr {
                                    td { (s.sid) }
                                    td.arn { (s.principal) }
                                    td { (s.organization.as_deref().unwrap_or("-")) }
                                    td { (ACTION) }
                                    td.actions {
                                        form.inline method="post" action=(format!("{base}/remove")) {
                                            (csrf_field(session))
                                            input type="hidden" name="statement_id" value=(s.sid);
                                            button.secondary type="submit" aria-label=(format!("Remove statement {}", s.sid)) { "Remove" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h3 #add-permission-heading { "Add permissions" }
            form #add-permission method="post" action=(format!("{base}/add")) aria-labelledby="add-permission-heading" {
                (csrf_field(session))
                label for="permission-statement-id" { "Statement ID" }
                input #permission-statement-id type="text" name="statement_id" required maxlength="100" value=(draft.statement_id);
                label for="permission-principal" { "Principal" }
                input #permission-principal type="text" name="principal" required placeholder="111122223333 or *" value=(draft.principal);
                p.hint { "An account ID, or " code { "*" } " for every account (with an organization ID: every account of that organization)." }
                label for="permission-organization-id" { "Organization ID (optional)" }
                input #permission-organization-id type="text" name="organization_id" placeholder="o-a1b2c3d4e5" value=(draft.organization_id.as_deref().unwrap_or_default());
                label for="permission-action" { "Action" }
                input #permission-action type="text" value=(ACTION) readonly;
                div.actions { button type="submit" { "Add" } }
            }
        }
    }
}

/// The "Add permissions" form as posted, shown again when AWS refuses it.
#[derive(Deserialize, Default)]
pub(super) struct AddForm {
    #[serde(default)]
    csrf: String,
    statement_id: String,
    principal: String,
    organization_id: Option<String>,
}

/// `POST /console/layers/{name}/versions/{version}/permissions/add`.
pub(super) async fn add(
    State(state): State<Arc<AppState>>,
    session: Session,
    headers: HeaderMap,
    Path((name, version)): Path<(String, i64)>,
    Form(form): Form<AddForm>,
) -> Response {
    if !session.csrf_matches(&form.csrf) {
        return super::forbidden();
    }
    let cmd = AddLayerPermission {
        statement_id: form.statement_id.trim().to_owned(),
        action: ACTION.to_owned(),
        principal: form.principal.trim().to_owned(),
        organization_id: form
            .organization_id
            .as_deref()
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_owned),
        revision_id: None,
    };
    match state
        .layers
        .add_permission(&session.scope, &name, version, cmd)
        .await
    {
        Ok(_) => back(&name, version),
        Err(e) => {
            let failed = Failed {
                error: &e,
                draft: Some(&form),
            };
            version_page_with(&state, &session, &headers, &name, version, Some(failed)).await
        }
    }
}

#[derive(Deserialize)]
pub(super) struct RemoveForm {
    csrf: String,
    statement_id: String,
}

/// `POST /console/layers/{name}/versions/{version}/permissions/remove`.
pub(super) async fn remove(
    State(state): State<Arc<AppState>>,
    session: Session,
    headers: HeaderMap,
    Path((name, version)): Path<(String, i64)>,
    Form(form): Form<RemoveForm>,
) -> Response {
    if !session.csrf_matches(&form.csrf) {
        return super::forbidden();
    }
    match state
        .layers
        .remove_permission(&session.scope, &name, version, &form.statement_id, None)
        .await
    {
        Ok(()) => back(&name, version),
        Err(e) => {
            let failed = Failed {
                error: &e,
                draft: None,
            };
            version_page_with(&state, &session, &headers, &name, version, Some(failed)).await
        }
    }
}

/// Back to the version's page, at its permissions.
fn back(name: &str, version: i64) -> Response {
    Redirect::to(&format!(
        "/console/layers/{name}/versions/{version}#permissions-heading"
    ))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_read_principals_and_organizations() {
        let policy = r#"{"Version":"2012-10-17","Id":"default","Statement":[
            {"Sid":"all","Effect":"Allow","Principal":"*","Action":"lambda:GetLayerVersion","Resource":"r",
             "Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abcdefghij"}}},
            {"Sid":"one","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"lambda:GetLayerVersion","Resource":"r"}]}"#;
        let list = statements(policy);
        assert_eq!(list.len(), 2);
        assert_eq!(
            (list[0].sid.as_str(), list[0].principal.as_str()),
            ("all", "*")
        );
        assert_eq!(list[0].organization.as_deref(), Some("o-abcdefghij"));
        assert_eq!(list[1].principal, "arn:aws:iam::111122223333:root");
        assert_eq!(list[1].organization, None);
        assert!(statements("not json").is_empty());
    }
}

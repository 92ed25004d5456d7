//! Resource-based policy documents as AWS renders them (JSON strings inside the JSON
//! response), shared by layer version policies and function policies: the statement and
//! policy shapes, how a `Principal` is written, who a principal grants, the statement id rule
//! and AWS's refusal of an action no policy allows.

use lamina_types::validation::{Constraint, Violations};
use lamina_types::{AccountId, LambdaError};
use serde::Serialize;
use serde_json::{Value, json};

/// `Version` of every policy document AWS writes.
const POLICY_LANGUAGE_VERSION: &str = "2012-10-17";

const STATEMENT_ID_PATTERN: &str = "([a-zA-Z0-9-_]+)";
const MAX_STATEMENT_ID_LEN: usize = 100;

/// One statement of a policy document; it always allows (AddPermission-style operations
/// write no `Deny`).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct StatementDocument<'a> {
    pub(crate) sid: &'a str,
    pub(crate) effect: &'static str,
    pub(crate) principal: Value,
    pub(crate) action: &'a str,
    pub(crate) resource: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) condition: Option<Value>,
}

impl<'a> StatementDocument<'a> {
    /// An `Allow` statement of `action` on `resource` for `principal` (a rendered one).
    pub(crate) fn allow(
        sid: &'a str,
        principal: Value,
        action: &'a str,
        resource: &'a str,
    ) -> Self {
        Self {
            sid,
            effect: "Allow",
            principal,
            action,
            resource,
            condition: None,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyDocument<'a> {
    version: &'static str,
    id: &'static str,
    statement: Vec<StatementDocument<'a>>,
}

/// One statement as the `Statement` string of an add-permission operation.
pub(crate) fn render_statement(statement: &StatementDocument<'_>) -> String {
    serde_json::to_string(statement).unwrap_or_default()
}

/// The whole policy as the `Policy` string of a get-policy operation.
pub(crate) fn render_policy(statements: Vec<StatementDocument<'_>>) -> String {
    let doc = PolicyDocument {
        version: POLICY_LANGUAGE_VERSION,
        id: "default",
        statement: statements,
    };
    serde_json::to_string(&doc).unwrap_or_default()
}

/// `Principal` as AWS writes an account grant: `*` stays `*`, an ARN goes under `AWS`, and a
/// bare account id becomes its root ARN.
pub(crate) fn account_principal(principal: &str) -> Value {
    if principal == "*" {
        json!("*")
    } else if principal.starts_with("arn:") {
        json!({ "AWS": principal })
    } else {
        json!({ "AWS": format!("arn:aws:iam::{principal}:root") })
    }
}

/// Whether `principal` (as given to an add-permission operation) names `account`: `*`, the
/// account id, or the account's root ARN. Lamina has no IAM users or roles: every key acts as
/// its account's root.
pub(crate) fn principal_grants(principal: &str, account: &AccountId) -> bool {
    principal == "*"
        || principal == account.as_str()
        || principal
            .strip_suffix(":root")
            .and_then(|p| p.strip_prefix("arn:"))
            .and_then(|p| p.rsplit(':').next())
            .is_some_and(|a| a == account.as_str())
}

/// Checks a `StatementId` against the model: 1 to 100 of `[a-zA-Z0-9-_]`.
pub(crate) fn check_statement_id(violations: &mut Violations, statement_id: &str) {
    if statement_id.chars().count() > MAX_STATEMENT_ID_LEN {
        violations.add(
            "statementId",
            statement_id,
            Constraint::MaxLength(MAX_STATEMENT_ID_LEN),
        );
    } else if !is_statement_id(statement_id) {
        violations.add(
            "statementId",
            statement_id,
            Constraint::Pattern(STATEMENT_ID_PATTERN),
        );
    }
}

fn is_statement_id(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Twelve digits.
pub(crate) fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// AWS's 409 for a `StatementId` a policy holds already.
pub(crate) fn statement_id_taken(sid: &str) -> LambdaError {
    LambdaError::ResourceConflict(format!(
        "The statement id ({sid}) provided already exists. Please provide a new statement id, \
         or remove the existing statement."
    ))
}

/// AWS's 404 for removing a statement a policy does not hold.
pub(crate) fn statement_not_found(sid: &str) -> LambdaError {
    LambdaError::ResourceNotFound(format!("Statement {sid} is not found in resource policy."))
}

/// AWS's 400 for a policy that would outgrow `limit` bytes at `size`.
pub(crate) fn policy_too_long(size: usize, limit: usize) -> LambdaError {
    LambdaError::PolicyLengthExceeded(format!(
        "The final policy size ({size}) is bigger than the limit ({limit})."
    ))
}

/// AWS's refusal of `lambda:<action>` on `resource` to an account without a grant. Lamina has
/// no IAM users: every key acts as its account's root.
pub(crate) fn access_denied(caller: &AccountId, action: &str, resource: &str) -> LambdaError {
    LambdaError::AccessDenied(format!(
        "User: arn:aws:iam::{caller}:root is not authorized to perform: lambda:{action} on \
         resource: {resource} because no resource-based policy allows the lambda:{action} action"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals_that_grant_an_account_and_those_that_do_not() {
        let b = AccountId::parse("222233334444").unwrap();
        assert!(principal_grants("222233334444", &b));
        assert!(principal_grants("*", &b));
        assert!(principal_grants("arn:aws:iam::222233334444:root", &b));
        assert!(!principal_grants("999988887777", &b));
        assert!(!principal_grants("arn:aws:iam::999988887777:root", &b));
        assert!(!principal_grants("s3.amazonaws.com", &b));
        assert!(!principal_grants("222233334444:root", &b));
    }

    #[test]
    fn account_principals_are_written_as_aws_writes_them() {
        assert_eq!(account_principal("*"), json!("*"));
        assert_eq!(
            account_principal("210987654321"),
            json!({"AWS": "arn:aws:iam::210987654321:root"})
        );
        assert_eq!(
            account_principal("arn:aws:iam::210987654321:root"),
            json!({"AWS": "arn:aws:iam::210987654321:root"})
        );
    }

    #[test]
    fn a_policy_document_has_version_id_and_statements_in_order() {
        let a = StatementDocument::allow("a", json!("*"), "lambda:InvokeFunction", "arn:f");
        let b = StatementDocument::allow("b", json!("*"), "lambda:InvokeFunction", "arn:f");
        let text = render_policy(vec![a, b]);
        assert!(
            text.starts_with(r#"{"Version":"2012-10-17","Id":"default","Statement":[{"Sid":"a","#),
            "{text}"
        );
        assert!(text.contains(r#"{"Sid":"b","Effect":"Allow","Principal":"*""#));
    }

    #[test]
    fn statement_ids_at_their_boundaries() {
        let mut v = Violations::new();
        check_statement_id(&mut v, &"s".repeat(100));
        check_statement_id(&mut v, "a-b_C9");
        assert!(v.is_empty());
        check_statement_id(&mut v, &"s".repeat(101));
        check_statement_id(&mut v, "");
        check_statement_id(&mut v, "bad id");
        assert!(
            v.into_result()
                .unwrap_err()
                .message()
                .starts_with("3 validation errors")
        );
    }
}

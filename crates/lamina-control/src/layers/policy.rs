//! Layer version permission policies: the statement and policy documents as AWS renders
//! them (JSON strings inside the JSON response), and the validation of new statements.

use lamina_types::layer::{LayerPolicy, LayerStatement};
use lamina_types::validation::{Constraint, Violations};
use serde_json::json;

use crate::policy::{self, StatementDocument, account_principal, check_statement_id, is_account};

/// The only action a layer policy may grant.
pub const LAYER_ACTION: &str = "lambda:GetLayerVersion";

const PRINCIPAL_PATTERN: &str = "\\d{12}|\\*|arn:(aws[a-zA-Z-]*):iam::\\d{12}:root";
const ORGANIZATION_ID_PATTERN: &str = "o-[a-z0-9]{10,32}";
const MAX_ORGANIZATION_ID_LEN: usize = 34;
const MAX_ACTION_LEN: usize = 22;

fn document<'a>(statement: &'a LayerStatement, resource: &'a str) -> StatementDocument<'a> {
    let mut doc = StatementDocument::allow(
        &statement.sid,
        account_principal(&statement.principal),
        LAYER_ACTION,
        resource,
    );
    doc.condition = statement
        .organization_id
        .as_ref()
        .map(|org| json!({ "StringEquals": { "aws:PrincipalOrgID": org } }));
    doc
}

/// One statement as the `Statement` string of AddLayerVersionPermission.
pub fn render_statement(statement: &LayerStatement, layer_version_arn: &str) -> String {
    policy::render_statement(&document(statement, layer_version_arn))
}

/// The whole policy as the `Policy` string of GetLayerVersionPolicy.
pub fn render_policy(policy: &LayerPolicy, layer_version_arn: &str) -> String {
    policy::render_policy(
        policy
            .statements
            .iter()
            .map(|s| document(s, layer_version_arn))
            .collect(),
    )
}

/// Checks the members of AddLayerVersionPermission against the model.
pub fn check_statement(
    violations: &mut Violations,
    statement_id: &str,
    action: &str,
    principal: &str,
    organization_id: Option<&str>,
) {
    check_statement_id(violations, statement_id);
    if action.chars().count() > MAX_ACTION_LEN {
        violations.add("action", action, Constraint::MaxLength(MAX_ACTION_LEN));
    } else if action != LAYER_ACTION {
        violations.add("action", action, Constraint::Pattern(LAYER_ACTION));
    }
    if !is_principal(principal) {
        violations.add(
            "principal",
            principal,
            Constraint::Pattern(PRINCIPAL_PATTERN),
        );
    }
    if let Some(org) = organization_id {
        if org.chars().count() > MAX_ORGANIZATION_ID_LEN {
            violations.add(
                "organizationId",
                org,
                Constraint::MaxLength(MAX_ORGANIZATION_ID_LEN),
            );
        } else if !is_organization_id(org) {
            violations.add(
                "organizationId",
                org,
                Constraint::Pattern(ORGANIZATION_ID_PATTERN),
            );
        }
    }
}

fn is_principal(s: &str) -> bool {
    if s == "*" || is_account(s) {
        return true;
    }
    let Some(rest) = s.strip_prefix("arn:") else {
        return false;
    };
    let parts: Vec<&str> = rest.split(':').collect();
    matches!(parts.as_slice(), [partition, "iam", "", account, "root"]
        if partition.starts_with("aws")
            && partition[3..].bytes().all(|b| b.is_ascii_alphabetic() || b == b'-')
            && is_account(account))
}

fn is_organization_id(s: &str) -> bool {
    s.strip_prefix("o-").is_some_and(|id| {
        (10..=32).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:lambda:us-west-2:123456789012:layer:l:1";

    fn statement(principal: &str, org: Option<&str>) -> LayerStatement {
        LayerStatement {
            sid: "s1".into(),
            principal: principal.into(),
            organization_id: org.map(str::to_owned),
        }
    }

    #[test]
    fn renders_principals_as_aws_does() {
        assert_eq!(
            render_statement(&statement("*", None), ARN),
            r#"{"Sid":"s1","Effect":"Allow","Principal":"*","Action":"lambda:GetLayerVersion","Resource":"arn:aws:lambda:us-west-2:123456789012:layer:l:1"}"#
        );
        assert!(
            render_statement(&statement("210987654321", None), ARN)
                .contains(r#""Principal":{"AWS":"arn:aws:iam::210987654321:root"}"#)
        );
        assert!(
            render_statement(&statement("*", Some("o-abcdefghij")), ARN).ends_with(
                r#""Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abcdefghij"}}}"#
            )
        );
        let policy = LayerPolicy {
            revision_id: "r".into(),
            statements: vec![statement("*", None)],
        };
        assert!(
            render_policy(&policy, ARN)
                .starts_with(r#"{"Version":"2012-10-17","Id":"default","Statement":[{"Sid":"s1""#)
        );
    }

    #[test]
    fn checks_members() {
        let mut v = Violations::new();
        check_statement(
            &mut v,
            "ok-1",
            LAYER_ACTION,
            "arn:aws:iam::123456789012:root",
            Some("o-abcdefghij"),
        );
        assert!(v.is_empty());
        check_statement(
            &mut v,
            "bad id",
            "lambda:InvokeFunction",
            "someone",
            Some("x"),
        );
        let message = v.into_result().unwrap_err().message().to_owned();
        assert!(
            message.starts_with("4 validation errors detected"),
            "{message}"
        );
        assert!(message.contains("at 'action' failed to satisfy constraint: Member must satisfy regular expression pattern: lambda:GetLayerVersion"));
    }
}

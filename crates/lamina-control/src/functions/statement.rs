//! The statements of function policies: the members of AddPermission checked against the
//! model, rendered into AWS's policy document (`crate::policy`), and who a statement lets
//! invoke.

use lamina_types::AccountId;
use lamina_types::LambdaError;
use lamina_types::function_policy::FunctionStatement;
use lamina_types::validation::{Constraint, Violations};
use serde_json::{Map, Value, json};

use crate::policy::{StatementDocument, account_principal, check_statement_id, is_account};

const ACTION_PATTERN: &str = "(lambda:[*]|lambda:[a-zA-Z]+|[*])";
const MAX_ACTION_LEN: usize = 10_000;
const PRINCIPAL_PATTERN: &str = "[^\\s]+";
const MAX_PRINCIPAL_LEN: usize = 2_048;
const SOURCE_ACCOUNT_PATTERN: &str = "\\d{12}";
const ORG_ID_PATTERN: &str = "o-[a-z0-9]{10,32}";
const EVENT_SOURCE_TOKEN_PATTERN: &str = "[a-zA-Z0-9._\\-]+";
const MAX_EVENT_SOURCE_TOKEN_LEN: usize = 256;
const SOURCE_ARN_PATTERN: &str =
    "arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:([a-z]{2}(-gov)?-[a-z]+-\\d{1})?:(\\d{12})?:(.*)";

/// The actions that let a caller run the function synchronously or as an event.
const INVOKE_ACTIONS: [&str; 3] = ["lambda:InvokeFunction", "lambda:*", "*"];

/// The actions that let a principal call a function's URL.
const URL_INVOKE_ACTIONS: [&str; 3] = ["lambda:InvokeFunctionUrl", "lambda:*", "*"];

/// Checks the members of AddPermission against the model.
pub(super) fn check(v: &mut Violations, s: &FunctionStatement) {
    check_statement_id(v, &s.sid);
    if s.action.chars().count() > MAX_ACTION_LEN {
        v.add("action", &s.action, Constraint::MaxLength(MAX_ACTION_LEN));
    } else if !is_action(&s.action) {
        v.add("action", &s.action, Constraint::Pattern(ACTION_PATTERN));
    }
    if s.principal.chars().count() > MAX_PRINCIPAL_LEN {
        v.add(
            "principal",
            &s.principal,
            Constraint::MaxLength(MAX_PRINCIPAL_LEN),
        );
    } else if s.principal.is_empty() || s.principal.chars().any(char::is_whitespace) {
        v.add(
            "principal",
            &s.principal,
            Constraint::Pattern(PRINCIPAL_PATTERN),
        );
    }
    if let Some(arn) = &s.source_arn
        && !is_arn(arn)
    {
        v.add("sourceArn", arn, Constraint::Pattern(SOURCE_ARN_PATTERN));
    }
    if let Some(account) = &s.source_account
        && !is_account(account)
    {
        let c = if account.len() > 12 {
            Constraint::MaxLength(12)
        } else {
            Constraint::Pattern(SOURCE_ACCOUNT_PATTERN)
        };
        v.add("sourceAccount", account, c);
    }
    if let Some(org) = &s.principal_org_id {
        let c = match org.chars().count() {
            n if n < 12 => Some(Constraint::MinLength(12)),
            n if n > 34 => Some(Constraint::MaxLength(34)),
            _ if !is_org_id(org) => Some(Constraint::Pattern(ORG_ID_PATTERN)),
            _ => None,
        };
        if let Some(c) = c {
            v.add("principalOrgID", org, c);
        }
    }
    if let Some(token) = &s.event_source_token {
        if token.chars().count() > MAX_EVENT_SOURCE_TOKEN_LEN {
            v.add(
                "eventSourceToken",
                token,
                Constraint::MaxLength(MAX_EVENT_SOURCE_TOKEN_LEN),
            );
        } else if token.is_empty()
            || !token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            v.add(
                "eventSourceToken",
                token,
                Constraint::Pattern(EVENT_SOURCE_TOKEN_PATTERN),
            );
        }
    }
    if let Some(t) = &s.function_url_auth_type
        && t != "NONE"
        && t != "AWS_IAM"
    {
        v.add(
            "functionUrlAuthType",
            t,
            Constraint::Enum(vec!["NONE", "AWS_IAM"]),
        );
    }
}

/// The service's rule on `Principal` the model cannot say: `*`, an account, an ARN or a
/// service name (`s3.amazonaws.com`). Guessed wording: AWS's text for other principals was
/// not found.
pub(super) fn check_principal(principal: &str) -> Result<(), LambdaError> {
    let valid = principal == "*"
        || is_account(principal)
        || principal.starts_with("arn:")
        || is_service(principal);
    if valid {
        Ok(())
    } else {
        Err(LambdaError::InvalidParameterValue(
            "The provided principal was invalid. Please check the principal and try again."
                .to_owned(),
        ))
    }
}

/// The statement as AWS writes it into the policy of `resource` (the function's ARN,
/// qualified by the policy's qualifier).
pub(super) fn document<'a>(s: &'a FunctionStatement, resource: &'a str) -> StatementDocument<'a> {
    let principal = if is_service(&s.principal) {
        json!({ "Service": s.principal })
    } else {
        account_principal(&s.principal)
    };
    let mut doc = StatementDocument::allow(&s.sid, principal, &s.action, resource);
    let mut condition = Map::new();
    let mut add = |operator: &str, key: &str, value: &Option<String>| {
        if let Some(value) = value {
            let entry = condition
                .entry(operator)
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(keys) = entry {
                keys.insert(key.to_owned(), json!(value));
            }
        }
    };
    add("StringEquals", "AWS:SourceAccount", &s.source_account);
    add("StringEquals", "aws:PrincipalOrgID", &s.principal_org_id);
    add(
        "StringEquals",
        "lambda:EventSourceToken",
        &s.event_source_token,
    );
    add(
        "StringEquals",
        "lambda:FunctionUrlAuthType",
        &s.function_url_auth_type,
    );
    add("ArnLike", "AWS:SourceArn", &s.source_arn);
    let via_url = s.invoked_via_function_url.then(|| "true".to_owned());
    add("Bool", "lambda:InvokedViaFunctionUrl", &via_url);
    doc.condition = (!condition.is_empty()).then_some(Value::Object(condition));
    doc
}

/// Whether `s` lets `account` invoke the function directly (Invoke, synchronously or as an
/// event). Guessed, as IAM evaluates a condition on a key the request lacks: a direct call
/// carries no source ARN, source account, event source token or URL auth type, and Lamina
/// has no organizations, so a statement with any condition grants no direct invoke (nor does
/// one limited to invocations through a function URL).
pub(super) fn grants_invoke(s: &FunctionStatement, account: &AccountId) -> bool {
    INVOKE_ACTIONS.contains(&s.action.as_str())
        && crate::policy::principal_grants(&s.principal, account)
        && s.source_arn.is_none()
        && s.source_account.is_none()
        && s.principal_org_id.is_none()
        && s.event_source_token.is_none()
        && s.function_url_auth_type.is_none()
        && !s.invoked_via_function_url
}

/// Whether `s` lets `account` call the function's URL, signed (`AuthType` `AWS_IAM`): AWS's
/// `lambda:InvokeFunctionUrl`, with no condition but `lambda:FunctionUrlAuthType` `AWS_IAM`
/// (what `add-permission --function-url-auth-type AWS_IAM` writes). Guessed as for
/// [`grants_invoke`]: a URL request carries no source ARN, source account or event source
/// token, so a statement conditioned on them grants nothing.
pub(super) fn grants_url_invoke(s: &FunctionStatement, account: &AccountId) -> bool {
    URL_INVOKE_ACTIONS.contains(&s.action.as_str())
        && crate::policy::principal_grants(&s.principal, account)
        && s.source_arn.is_none()
        && s.source_account.is_none()
        && s.principal_org_id.is_none()
        && s.event_source_token.is_none()
        && s.function_url_auth_type
            .as_deref()
            .is_none_or(|t| t == "AWS_IAM")
}

fn is_action(s: &str) -> bool {
    s == "*"
        || s.strip_prefix("lambda:").is_some_and(|rest| {
            rest == "*" || (!rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphabetic()))
        })
}

/// A service principal: a host name such as `s3.amazonaws.com`.
fn is_service(s: &str) -> bool {
    !s.starts_with("arn:")
        && s.contains('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

fn is_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    matches!(parts.as_slice(), ["arn", partition, service, _, account, _]
        if partition.starts_with("aws")
            && !service.is_empty()
            && (account.is_empty() || is_account(account)))
}

fn is_org_id(s: &str) -> bool {
    s.strip_prefix("o-").is_some_and(|id| {
        id.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::render_statement;

    const ARN: &str = "arn:aws:lambda:us-west-2:123456789012:function:f";

    fn statement(principal: &str) -> FunctionStatement {
        FunctionStatement {
            sid: "s1".into(),
            action: "lambda:InvokeFunction".into(),
            principal: principal.into(),
            source_arn: None,
            source_account: None,
            principal_org_id: None,
            event_source_token: None,
            function_url_auth_type: None,
            invoked_via_function_url: false,
        }
    }

    #[test]
    fn renders_service_and_account_principals_with_conditions() {
        let mut s = statement("s3.amazonaws.com");
        s.source_arn = Some("arn:aws:s3:::bucket".into());
        s.source_account = Some("123456789012".into());
        let text = render_statement(&document(&s, ARN));
        assert_eq!(
            text,
            r#"{"Sid":"s1","Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:us-west-2:123456789012:function:f","Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::bucket"},"StringEquals":{"AWS:SourceAccount":"123456789012"}}}"#
        );
        let text = render_statement(&document(&statement("222233334444"), ARN));
        assert!(text.contains(r#""Principal":{"AWS":"arn:aws:iam::222233334444:root"}"#));
    }

    #[test]
    fn only_unconditional_invoke_grants_to_the_account_let_it_invoke() {
        let b = AccountId::parse("222233334444").unwrap();
        assert!(grants_invoke(&statement("222233334444"), &b));
        assert!(grants_invoke(&statement("*"), &b));
        assert!(grants_invoke(
            &statement("arn:aws:iam::222233334444:root"),
            &b
        ));
        assert!(!grants_invoke(&statement("999988887777"), &b));
        assert!(!grants_invoke(&statement("s3.amazonaws.com"), &b));
        let mut get = statement("*");
        get.action = "lambda:GetFunction".into();
        assert!(!grants_invoke(&get, &b));
        let mut all = statement("*");
        all.action = "lambda:*".into();
        assert!(grants_invoke(&all, &b));
        let mut conditioned = statement("*");
        conditioned.source_account = Some("222233334444".into());
        assert!(!grants_invoke(&conditioned, &b));
        let mut via_url = statement("*");
        via_url.invoked_via_function_url = true;
        assert!(!grants_invoke(&via_url, &b));
        assert!(
            render_statement(&document(&via_url, ARN))
                .ends_with(r#""Condition":{"Bool":{"lambda:InvokedViaFunctionUrl":"true"}}}"#)
        );
    }

    #[test]
    fn checks_members_against_the_model() {
        let mut v = Violations::new();
        check(&mut v, &statement("*"));
        assert!(v.is_empty());
        let mut bad = statement("a b");
        bad.sid = "bad id".into();
        bad.action = "s3:GetObject".into();
        bad.source_account = Some("12".into());
        bad.principal_org_id = Some("o-abc".into());
        bad.function_url_auth_type = Some("OPEN".into());
        check(&mut v, &bad);
        let message = v.into_result().unwrap_err().message().to_owned();
        assert!(
            message.starts_with("6 validation errors detected"),
            "{message}"
        );
        assert!(message.contains(
            "Value 's3:GetObject' at 'action' failed to satisfy constraint: Member must \
             satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])"
        ));
    }

    #[test]
    fn principals_the_service_accepts() {
        for ok in [
            "*",
            "123456789012",
            "arn:aws:iam::123456789012:root",
            "s3.amazonaws.com",
        ] {
            assert!(check_principal(ok).is_ok(), "{ok}");
        }
        let e = check_principal("someone").unwrap_err();
        assert_eq!(e.type_name(), "InvalidParameterValueException");
    }
}

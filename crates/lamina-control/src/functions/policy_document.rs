//! PutResourcePolicy's `Policy`: a whole policy document read back into the statements
//! AddPermission writes, so both operations keep one policy per function, version or alias.
//!
//! Lamina's statements are AddPermission's, so a document is accepted only as far as
//! AddPermission could have written it: `Allow` statements, each with a `Sid`, one principal
//! (`*`, `{"AWS": ...}` or `{"Service": ...}`), one action, the resource itself, and only the
//! conditions AddPermission sets. Anything else is refused with a message saying what Lamina
//! does not support. Guessed: AWS's own messages for invalid documents were not found; these
//! are Lamina's.

use lamina_types::LambdaError;
use lamina_types::function_policy::FunctionStatement;
use serde_json::{Map, Value};

/// Reads `document` (the policy of `resource`) into statements.
pub(super) fn statements(
    document: &str,
    resource: &str,
) -> Result<Vec<FunctionStatement>, LambdaError> {
    let doc: Value = serde_json::from_str(document)
        .map_err(|e| invalid(format!("the policy is not JSON ({e})")))?;
    let statements = match doc.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => return Err(invalid("the policy has no Statement".to_owned())),
    };
    let mut read: Vec<FunctionStatement> = Vec::with_capacity(statements.len());
    for s in statements {
        let statement = statement(s, resource)?;
        if read.iter().any(|r| r.sid == statement.sid) {
            return Err(invalid(format!("the Sid {} appears twice", statement.sid)));
        }
        read.push(statement);
    }
    Ok(read)
}

fn statement(s: &Value, resource: &str) -> Result<FunctionStatement, LambdaError> {
    let sid = single_string(s, "Sid")?.ok_or_else(|| unsupported("a statement without a Sid"))?;
    match single_string(s, "Effect")? {
        Some("Allow") => {}
        _ => return Err(unsupported("a statement whose Effect is not Allow")),
    }
    let action = single_string(s, "Action")?
        .ok_or_else(|| invalid(format!("statement {sid} has no Action")))?;
    match single_string(s, "Resource")? {
        Some(r) if r == resource => {}
        _ => {
            return Err(invalid(format!(
                "the Resource of statement {sid} must be {resource}"
            )));
        }
    }
    let mut statement = FunctionStatement {
        sid: sid.to_owned(),
        action: action.to_owned(),
        principal: principal(s.get("Principal"), sid)?,
        source_arn: None,
        source_account: None,
        principal_org_id: None,
        event_source_token: None,
        function_url_auth_type: None,
        invoked_via_function_url: false,
    };
    if let Some(condition) = s.get("Condition") {
        conditions(&mut statement, condition)?;
    }
    Ok(statement)
}

/// `*`, `{"AWS": "<account or ARN>"}` or `{"Service": "<host>"}`, as AddPermission's
/// `Principal` would be given.
fn principal(value: Option<&Value>, sid: &str) -> Result<String, LambdaError> {
    let Some(value) = value else {
        return Err(invalid(format!("statement {sid} has no Principal")));
    };
    if value.as_str() == Some("*") {
        return Ok("*".to_owned());
    }
    let Some(map) = value.as_object().filter(|m| m.len() == 1) else {
        return Err(unsupported(
            "a Principal other than *, one AWS or one Service principal",
        ));
    };
    let (kind, who) = map
        .iter()
        .next()
        .ok_or_else(|| unsupported("an empty Principal"))?;
    let who = one_string(who).ok_or_else(|| unsupported("a Principal with several values"))?;
    match kind.as_str() {
        "AWS" | "Service" => Ok(who.to_owned()),
        _ => Err(unsupported(
            "a Principal other than *, one AWS or one Service principal",
        )),
    }
}

/// The conditions AddPermission writes (`document` in `statement.rs`), and no other.
fn conditions(statement: &mut FunctionStatement, value: &Value) -> Result<(), LambdaError> {
    let operators = value
        .as_object()
        .ok_or_else(|| invalid("a Condition is not an object".to_owned()))?;
    for (operator, keys) in operators {
        let keys: &Map<String, Value> = keys
            .as_object()
            .ok_or_else(|| invalid(format!("the {operator} condition is not an object")))?;
        for (key, value) in keys {
            let value = one_string(value)
                .ok_or_else(|| unsupported("a condition with several values"))?
                .to_owned();
            let slot = match (operator.as_str(), key.as_str()) {
                ("StringEquals", "AWS:SourceAccount") => &mut statement.source_account,
                ("StringEquals", "aws:PrincipalOrgID") => &mut statement.principal_org_id,
                ("StringEquals", "lambda:EventSourceToken") => &mut statement.event_source_token,
                ("StringEquals", "lambda:FunctionUrlAuthType") => {
                    &mut statement.function_url_auth_type
                }
                ("ArnLike", "AWS:SourceArn") => &mut statement.source_arn,
                ("Bool", "lambda:InvokedViaFunctionUrl") if value == "true" => {
                    statement.invoked_via_function_url = true;
                    continue;
                }
                _ => {
                    return Err(LambdaError::InvalidParameterValue(format!(
                        "Lamina does not support the condition {operator} {key} in a resource \
                         policy; it supports those AddPermission writes."
                    )));
                }
            };
            *slot = Some(value);
        }
    }
    Ok(())
}

/// A member that is a string, or a list of exactly one string; `None` when absent.
fn single_string<'a>(s: &'a Value, member: &str) -> Result<Option<&'a str>, LambdaError> {
    match s.get(member) {
        None => Ok(None),
        Some(v) => one_string(v)
            .map(Some)
            .ok_or_else(|| unsupported("a statement member with several values")),
    }
}

fn one_string(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        Value::Array(list) if list.len() == 1 => list[0].as_str(),
        _ => None,
    }
}

fn invalid(reason: String) -> LambdaError {
    LambdaError::InvalidParameterValue(format!("The policy is not valid: {reason}."))
}

fn unsupported(what: &str) -> LambdaError {
    LambdaError::InvalidParameterValue(format!(
        "Lamina does not support {what} in a resource policy; it supports the statements \
         AddPermission writes."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::statement::document;
    use crate::policy::render_policy;

    const ARN: &str = "arn:aws:lambda:us-west-2:123456789012:function:f";

    #[test]
    fn what_addpermission_writes_reads_back_the_same() {
        let written = FunctionStatement {
            sid: "s3".into(),
            action: "lambda:InvokeFunction".into(),
            principal: "s3.amazonaws.com".into(),
            source_arn: Some("arn:aws:s3:::b".into()),
            source_account: Some("123456789012".into()),
            principal_org_id: None,
            event_source_token: None,
            function_url_auth_type: Some("NONE".into()),
            invoked_via_function_url: true,
        };
        let account = FunctionStatement {
            sid: "b".into(),
            principal: "arn:aws:iam::222233334444:root".into(),
            source_arn: None,
            source_account: None,
            function_url_auth_type: None,
            invoked_via_function_url: false,
            ..written.clone()
        };
        let text = render_policy(vec![document(&written, ARN), document(&account, ARN)]);
        assert_eq!(statements(&text, ARN).unwrap(), vec![written, account]);
    }

    #[test]
    fn what_lamina_cannot_keep_is_refused_clearly() {
        let cases = [
            (
                r#"{"Statement":[{"Sid":"a","Effect":"Deny","Principal":"*","Action":"lambda:*","Resource":"ARN"}]}"#,
                "Effect is not Allow",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"lambda:*","Resource":"ARN"}]}"#,
                "without a Sid",
            ),
            (
                r#"{"Statement":[{"Sid":"a","Effect":"Allow","Principal":"*","Action":"lambda:*","Resource":"other"}]}"#,
                "must be arn:",
            ),
            (
                r#"{"Statement":[{"Sid":"a","Effect":"Allow","Principal":{"AWS":["1","2"]},"Action":"lambda:*","Resource":"ARN"}]}"#,
                "several values",
            ),
            (
                r#"{"Statement":[{"Sid":"a","Effect":"Allow","Principal":"*","Action":"lambda:*","Resource":"ARN","Condition":{"IpAddress":{"aws:SourceIp":"1.2.3.4"}}}]}"#,
                "IpAddress aws:SourceIp",
            ),
            ("not json", "not JSON"),
            (r#"{"Version":"2012-10-17"}"#, "no Statement"),
        ];
        for (doc, says) in cases {
            let e = statements(&doc.replace("\"ARN\"", &format!("\"{ARN}\"")), ARN).unwrap_err();
            assert_eq!(e.type_name(), "InvalidParameterValueException");
            assert!(e.message().contains(says), "{}: {}", says, e.message());
        }
    }
}

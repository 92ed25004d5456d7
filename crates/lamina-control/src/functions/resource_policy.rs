//! PutResourcePolicy, GetResourcePolicy and DeleteResourcePolicy on a function, version or
//! alias ARN: the newer, whole-document face of the policy AddPermission and RemovePermission
//! change statement by statement (the same policy and revision). The model's other kind of
//! resource, a managed `runtime/...`, does not exist in Lamina.

use lamina_types::function_arn::NameShape;
use lamina_types::limits::MAX_FUNCTION_POLICY_BYTES;
use lamina_types::validation::{Constraint, Violations};
use lamina_types::{LambdaError, Scope};

use super::permissions::{FunctionPolicyView, render};
use super::{FunctionService, Located, policy_document};
use crate::policy::policy_too_long;

const POLICY_RESOURCE_ARN_PATTERN: &str = "arn:(aws[a-zA-Z-]*)?:lambda:(eusc-)?[a-z]{2}((-gov)|\
(-iso([a-z]?)))?-[a-z]+-\\d{1}:\\d{12}:(function:[a-zA-Z0-9-_]+(:(\\$LATEST(\\.PUBLISHED)?|\
[a-zA-Z0-9-_])+)?|runtime/[a-zA-Z0-9-_./]+)";
const MAX_POLICY_RESOURCE_ARN_LEN: usize = 512;
const REVISION_ID_PATTERN: &str = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

impl FunctionService {
    /// GetResourcePolicy: the policy GetPolicy answers for the same function and qualifier.
    pub async fn get_resource_policy(
        &self,
        scope: &Scope,
        resource_arn: &str,
    ) -> Result<FunctionPolicyView, LambdaError> {
        let mut v = Violations::new();
        check_resource_arn(&mut v, resource_arn);
        v.into_result()?;
        self.get_policy(scope, function_of(resource_arn)?, None)
            .await
    }

    /// PutResourcePolicy: replaces the whole policy (statements AddPermission added included)
    /// with `policy`'s statements.
    pub async fn put_resource_policy(
        &self,
        scope: &Scope,
        resource_arn: &str,
        policy: Option<&str>,
        revision_id: Option<&str>,
    ) -> Result<FunctionPolicyView, LambdaError> {
        let mut v = Violations::new();
        check_resource_arn(&mut v, resource_arn);
        match policy {
            None => v.add_null("policy"),
            Some("") => v.add("policy", "", Constraint::MinLength(1)),
            Some(p) if p.chars().count() > MAX_FUNCTION_POLICY_BYTES => v.add(
                "policy",
                p,
                Constraint::MaxLength(MAX_FUNCTION_POLICY_BYTES),
            ),
            Some(_) => {}
        }
        check_revision_id(&mut v, revision_id);
        v.into_result()?;
        let located = self.resource_target(scope, resource_arn)?;
        let resource = self.policy_resource(scope, &located).await?;
        let statements = policy_document::statements(policy.unwrap_or_default(), &resource)?;
        let mut v = Violations::new();
        for s in &statements {
            super::statement::check(&mut v, s);
        }
        v.into_result()?;
        for s in &statements {
            super::statement::check_principal(&s.principal)?;
        }
        let stored = self
            .change_policy(scope, &located, revision_id, |current| {
                current.statements = statements.clone();
                let size = render(current, &resource).len();
                if size > MAX_FUNCTION_POLICY_BYTES {
                    return Err(policy_too_long(size, MAX_FUNCTION_POLICY_BYTES));
                }
                Ok(())
            })
            .await?;
        Ok(FunctionPolicyView {
            policy: render(&stored, &resource),
            revision_id: stored.revision_id,
        })
    }

    /// DeleteResourcePolicy: removes every statement; 404 when there is none.
    pub async fn delete_resource_policy(
        &self,
        scope: &Scope,
        resource_arn: &str,
        revision_id: Option<&str>,
    ) -> Result<(), LambdaError> {
        let mut v = Violations::new();
        check_resource_arn(&mut v, resource_arn);
        check_revision_id(&mut v, revision_id);
        v.into_result()?;
        let located = self.resource_target(scope, resource_arn)?;
        self.policy_resource(scope, &located).await?;
        self.change_policy(scope, &located, revision_id, |current| {
            if current.statements.is_empty() {
                return Err(LambdaError::not_found());
            }
            current.statements.clear();
            Ok(())
        })
        .await?;
        Ok(())
    }

    fn resource_target(&self, scope: &Scope, resource_arn: &str) -> Result<Located, LambdaError> {
        self.locate(
            scope,
            function_of(resource_arn)?,
            NameShape::Namespaced,
            None,
        )
    }
}

/// `ResourceArn` against the model: a full ARN of at most 512 characters.
fn check_resource_arn(v: &mut Violations, arn: &str) {
    if arn.chars().count() > MAX_POLICY_RESOURCE_ARN_LEN {
        v.add(
            "resourceArn",
            arn,
            Constraint::MaxLength(MAX_POLICY_RESOURCE_ARN_LEN),
        );
        return;
    }
    let kind = arn.split(':').nth(5).unwrap_or_default();
    let full = arn.starts_with("arn:")
        && arn.split(':').nth(2) == Some("lambda")
        && (kind == "function" || kind.starts_with("runtime/"));
    if !full {
        v.add(
            "resourceArn",
            arn,
            Constraint::Pattern(POLICY_RESOURCE_ARN_PATTERN),
        );
    }
}

/// `RevisionId`: a UUID when given.
fn check_revision_id(v: &mut Violations, revision_id: Option<&str>) {
    let Some(r) = revision_id else { return };
    let uuid = r.len() == 36
        && r.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_digit() || ('a'..='f').contains(&c),
        });
    if !uuid {
        v.add("revisionId", r, Constraint::Pattern(REVISION_ID_PATTERN));
    }
}

/// The function ARN a resource ARN names; a managed runtime's is refused (Lamina has none).
fn function_of(resource_arn: &str) -> Result<&str, LambdaError> {
    if resource_arn
        .split(':')
        .nth(5)
        .is_some_and(|k| k.starts_with("runtime/"))
    {
        return Err(LambdaError::ResourceNotFound(format!(
            "Lamina has no managed runtime resources: {resource_arn} does not exist. Resource \
             policies apply to its functions, versions and aliases."
        )));
    }
    Ok(resource_arn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_arns_and_revision_ids_against_the_model() {
        let mut v = Violations::new();
        check_resource_arn(&mut v, "arn:aws:lambda:us-west-2:123456789012:function:f");
        check_resource_arn(
            &mut v,
            "arn:aws:lambda:us-west-2:123456789012:function:f:live",
        );
        check_revision_id(&mut v, Some("0123abcd-0000-4000-8000-0123456789ab"));
        check_revision_id(&mut v, None);
        assert!(v.is_empty());
        check_resource_arn(&mut v, "f");
        check_resource_arn(&mut v, "arn:aws:lambda:us-west-2:123456789012:layer:l:1");
        check_revision_id(&mut v, Some("stale"));
        let message = v.into_result().unwrap_err().message().to_owned();
        assert!(message.starts_with("3 validation errors"), "{message}");
        let e =
            function_of("arn:aws:lambda:us-west-2:123456789012:runtime/python3.12").unwrap_err();
        assert_eq!(e.type_name(), "ResourceNotFoundException");
    }
}

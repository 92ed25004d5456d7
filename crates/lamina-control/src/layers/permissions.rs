//! The permission policy of a layer version: AddLayerVersionPermission,
//! GetLayerVersionPolicy and RemoveLayerVersionPermission. Every change is a
//! compare-and-swap on the policy's revision, so concurrent changes never lose a statement.

use lamina_types::arn::layer_version_arn;
use lamina_types::layer::{LayerPolicy, LayerStatement};
use lamina_types::limits::MAX_LAYER_POLICY_BYTES;
use lamina_types::validation::Violations;
use lamina_types::{LambdaError, LayerName, Scope};

use super::access::owned_name;
use super::policy::{check_statement, render_policy, render_statement};
use super::validate::{check_layer_name, check_version_number, parse_layer_name};
use super::{AddLayerPermission, AddedPermission, LayerService, RenderedPolicy};
use crate::internal_errors::{storage_error, validated_but_missing};

/// How many times a policy change is retried when another change wins the race.
const POLICY_CAS_ATTEMPTS: usize = 8;

const STALE_REVISION: &str = "The Revision Id provided does not match the latest Revision Id. \
     Call the GetLayerPolicy API to retrieve the latest Revision Id";

impl LayerService {
    /// AddLayerVersionPermission.
    pub async fn add_permission(
        &self,
        scope: &Scope,
        layer_name: &str,
        version: i64,
        cmd: AddLayerPermission,
    ) -> Result<AddedPermission, LambdaError> {
        let mut violations = Violations::new();
        let name = check_layer_name(&mut violations, layer_name);
        check_statement(
            &mut violations,
            &cmd.statement_id,
            &cmd.action,
            &cmd.principal,
            cmd.organization_id.as_deref(),
        );
        violations.into_result()?;
        let layer = name.ok_or_else(validated_but_missing)?;
        let name = owned_name(scope, layer, "AddLayerVersionPermission", Some(version))?;
        check_version_number(version)?;
        let arn = layer_version_arn(scope, &name, version);
        let statement = LayerStatement {
            sid: cmd.statement_id,
            principal: cmd.principal,
            organization_id: cmd.organization_id,
        };
        let policy = self
            .change_policy(
                scope,
                &name,
                version,
                cmd.revision_id.as_deref(),
                |policy| add_statement(policy, &statement, &arn),
            )
            .await?;
        Ok(AddedPermission {
            statement: render_statement(&statement, &arn),
            revision_id: policy.revision_id,
        })
    }

    /// GetLayerVersionPolicy: 404 both for a missing version and for an empty policy.
    pub async fn get_policy(
        &self,
        scope: &Scope,
        layer_name: &str,
        version: i64,
    ) -> Result<RenderedPolicy, LambdaError> {
        let layer = parse_layer_name(layer_name)?;
        let name = owned_name(scope, layer, "GetLayerVersionPolicy", Some(version))?;
        check_version_number(version)?;
        let arn = layer_version_arn(scope, &name, version);
        let policy = self.current_policy(scope, &name, version, &arn).await?;
        if policy.statements.is_empty() {
            return Err(LambdaError::ResourceNotFound(
                "No policy is associated with the given resource.".to_owned(),
            ));
        }
        Ok(RenderedPolicy {
            policy: render_policy(&policy, &arn),
            revision_id: policy.revision_id,
        })
    }

    /// RemoveLayerVersionPermission.
    pub async fn remove_permission(
        &self,
        scope: &Scope,
        layer_name: &str,
        version: i64,
        statement_id: &str,
        revision_id: Option<&str>,
    ) -> Result<(), LambdaError> {
        let layer = parse_layer_name(layer_name)?;
        let name = owned_name(scope, layer, "RemoveLayerVersionPermission", Some(version))?;
        check_version_number(version)?;
        self.change_policy(scope, &name, version, revision_id, |policy| {
            remove_statement(policy, statement_id)
        })
        .await?;
        Ok(())
    }

    async fn current_policy(
        &self,
        scope: &Scope,
        name: &LayerName,
        version: i64,
        arn: &str,
    ) -> Result<LayerPolicy, LambdaError> {
        self.metadata
            .layer_policy(scope, name, version)
            .await
            .map_err(storage_error)?
            .ok_or_else(|| {
                LambdaError::ResourceNotFound(format!("Layer version {arn} does not exist."))
            })
    }

    /// Applies `change` to the current policy and stores it under a new revision, retrying
    /// when a concurrent change wins; a stale `expected_revision` fails with 412.
    async fn change_policy(
        &self,
        scope: &Scope,
        name: &LayerName,
        version: i64,
        expected_revision: Option<&str>,
        mut change: impl FnMut(&mut LayerPolicy) -> Result<(), LambdaError>,
    ) -> Result<LayerPolicy, LambdaError> {
        let arn = layer_version_arn(scope, name, version);
        for _ in 0..POLICY_CAS_ATTEMPTS {
            let current = self.current_policy(scope, name, version, &arn).await?;
            if expected_revision.is_some_and(|r| r != current.revision_id) {
                return Err(LambdaError::PreconditionFailed(STALE_REVISION.to_owned()));
            }
            let mut next = current.clone();
            change(&mut next)?;
            next.revision_id = uuid::Uuid::new_v4().to_string();
            let stored = self
                .metadata
                .replace_layer_policy(scope, name, version, &current.revision_id, &next)
                .await
                .map_err(storage_error)?;
            if stored {
                return Ok(next);
            }
        }
        Err(LambdaError::rate_exceeded(None))
    }
}

/// Adds `statement` unless its id is taken or the policy would outgrow AWS's limit.
fn add_statement(
    policy: &mut LayerPolicy,
    statement: &LayerStatement,
    arn: &str,
) -> Result<(), LambdaError> {
    if policy.statements.iter().any(|s| s.sid == statement.sid) {
        return Err(LambdaError::ResourceConflict(format!(
            "The statement id ({}) provided already exists. Please provide a new statement id, \
             or remove the existing statement.",
            statement.sid
        )));
    }
    policy.statements.push(statement.clone());
    let size = render_policy(policy, arn).len();
    if size > MAX_LAYER_POLICY_BYTES {
        return Err(LambdaError::PolicyLengthExceeded(format!(
            "The final policy size ({size}) is bigger than the limit ({MAX_LAYER_POLICY_BYTES})."
        )));
    }
    Ok(())
}

/// Removes the statement `statement_id`, which must be there.
fn remove_statement(policy: &mut LayerPolicy, statement_id: &str) -> Result<(), LambdaError> {
    let before = policy.statements.len();
    policy.statements.retain(|s| s.sid != statement_id);
    if policy.statements.len() == before {
        return Err(LambdaError::ResourceNotFound(format!(
            "Statement {statement_id} is not found in resource policy."
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::policy::LAYER_ACTION;
    use crate::layers::test_support::Fixture;

    fn grant(sid: &str, revision_id: Option<String>) -> AddLayerPermission {
        AddLayerPermission {
            statement_id: sid.to_owned(),
            action: LAYER_ACTION.to_owned(),
            principal: "*".to_owned(),
            organization_id: None,
            revision_id,
        }
    }

    #[tokio::test]
    async fn statements_are_added_read_and_removed_under_revisions() {
        let f = Fixture::new().await;
        f.publish("deps").await;
        let e = f.layers.get_policy(&f.scope, "deps", 1).await.unwrap_err();
        assert_eq!(
            e.message(),
            "No policy is associated with the given resource."
        );
        let added = f
            .layers
            .add_permission(&f.scope, "deps", 1, grant("s1", None))
            .await
            .unwrap();
        assert!(
            added
                .statement
                .starts_with(r#"{"Sid":"s1","Effect":"Allow""#)
        );
        let policy = f.layers.get_policy(&f.scope, "deps", 1).await.unwrap();
        assert_eq!(policy.revision_id, added.revision_id);
        assert!(policy.policy.contains(r#""Sid":"s1""#), "{}", policy.policy);

        let stale = f
            .layers
            .add_permission(&f.scope, "deps", 1, grant("s2", Some("stale".into())))
            .await
            .unwrap_err();
        assert_eq!((stale.status(), stale.message()), (412, STALE_REVISION));
        let taken = f
            .layers
            .add_permission(&f.scope, "deps", 1, grant("s1", None))
            .await
            .unwrap_err();
        assert_eq!(taken.type_name(), "ResourceConflictException");

        let e = f
            .layers
            .remove_permission(&f.scope, "deps", 1, "s1", Some("stale"))
            .await
            .unwrap_err();
        assert_eq!(e.status(), 412);
        f.layers
            .remove_permission(&f.scope, "deps", 1, "s1", Some(&added.revision_id))
            .await
            .unwrap();
        let e = f
            .layers
            .remove_permission(&f.scope, "deps", 1, "s1", None)
            .await
            .unwrap_err();
        assert_eq!(e.message(), "Statement s1 is not found in resource policy.");
    }

    #[tokio::test]
    async fn a_missing_version_has_no_policy_to_change() {
        let f = Fixture::new().await;
        let e = f
            .layers
            .add_permission(&f.scope, "deps", 3, grant("s1", None))
            .await
            .unwrap_err();
        assert_eq!(
            e.message(),
            "Layer version arn:aws:lambda:us-west-2:123456789012:layer:deps:3 does not exist."
        );
        let mut bad = grant("bad id", None);
        bad.action = "lambda:InvokeFunction".to_owned();
        let e = f
            .layers
            .add_permission(&f.scope, "deps", 1, bad)
            .await
            .unwrap_err();
        assert!(
            e.message().starts_with("2 validation errors detected"),
            "{}",
            e.message()
        );
    }

    #[test]
    fn a_policy_stops_growing_at_its_size_limit() {
        let arn = "arn:aws:lambda:us-west-2:123456789012:layer:deps:1";
        let mut policy = LayerPolicy {
            revision_id: "r".into(),
            statements: Vec::new(),
        };
        let statement = |n: usize| LayerStatement {
            sid: format!("statement-{n:0>90}"),
            principal: "*".into(),
            organization_id: None,
        };
        let mut n = 0;
        let e = loop {
            match add_statement(&mut policy, &statement(n), arn) {
                Ok(()) => n += 1,
                Err(e) => break e,
            }
        };
        assert_eq!(e.type_name(), "PolicyLengthExceededException");
        assert!(render_policy(&policy, arn).len() > MAX_LAYER_POLICY_BYTES);
        assert!(n > 0);
    }
}

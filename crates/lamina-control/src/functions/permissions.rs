//! AddPermission, RemovePermission and GetPolicy: the resource-based policy of a function, a
//! version or an alias (each qualifier has its own), and the check of a cross-account Invoke
//! against it. Every change is a compare-and-swap on the policy's revision, so concurrent
//! changes never lose a statement.
//!
//! Guessed: AWS's `RevisionId` here is the function's own revision; Lamina gives each policy
//! its own revision (as layer version policies have), which GetPolicy returns and the
//! `RevisionId` members of AddPermission and RemovePermission are checked against. Also
//! guessed: `$LATEST` is a qualifier like any other, with its own policy (AWS names it a
//! resource of its own, `...:function:f:$LATEST`), so an unqualified Invoke is judged by the
//! unqualified function's policy only.

use lamina_types::function_arn::{NameShape, function_arn, qualified_function_arn};
use lamina_types::function_policy::{FunctionPolicy, FunctionStatement};
use lamina_types::limits::MAX_FUNCTION_POLICY_BYTES;
use lamina_types::validation::Violations;
use lamina_types::{AccountId, LambdaError, Scope};

use super::{FunctionService, Located, statement, storage_error};
use crate::policy::{
    access_denied, policy_too_long, render_policy, render_statement, statement_id_taken,
    statement_not_found,
};

/// How many times a policy change is retried when another change wins the race.
const POLICY_CAS_ATTEMPTS: usize = 8;

const STALE_REVISION: &str = "The Revision Id provided does not match the latest Revision Id. \
     Call the GetPolicy API to retrieve the latest Revision Id";

/// AddPermission, as parsed from the request.
#[derive(Debug, Clone)]
pub struct AddPermission {
    /// `FunctionName` (path).
    pub function_name: String,
    /// `Qualifier` (query).
    pub qualifier: Option<String>,
    /// The statement's members; a missing required member is `None`.
    pub statement_id: Option<String>,
    /// `Action`.
    pub action: Option<String>,
    /// `Principal`.
    pub principal: Option<String>,
    /// `SourceArn`.
    pub source_arn: Option<String>,
    /// `SourceAccount`.
    pub source_account: Option<String>,
    /// `PrincipalOrgID`.
    pub principal_org_id: Option<String>,
    /// `EventSourceToken`.
    pub event_source_token: Option<String>,
    /// `FunctionUrlAuthType`.
    pub function_url_auth_type: Option<String>,
    /// `InvokedViaFunctionUrl`.
    pub invoked_via_function_url: Option<bool>,
    /// `RevisionId`: the policy's revision the change is based on.
    pub revision_id: Option<String>,
}

/// A policy as GetPolicy answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionPolicyView {
    /// `Policy`: the JSON document, as a string.
    pub policy: String,
    /// `RevisionId`.
    pub revision_id: String,
}

impl FunctionService {
    /// AddPermission: answers the new statement as JSON text.
    pub async fn add_permission(
        &self,
        scope: &Scope,
        cmd: AddPermission,
    ) -> Result<String, LambdaError> {
        let located = self.locate(
            scope,
            &cmd.function_name,
            NameShape::Namespaced,
            cmd.qualifier.as_deref(),
        )?;
        let mut v = Violations::new();
        let required = |v: &mut Violations, field: &str, value: Option<String>| {
            if value.is_none() {
                v.add_null(field);
            }
            value.unwrap_or_default()
        };
        let new = FunctionStatement {
            sid: required(&mut v, "statementId", cmd.statement_id),
            action: required(&mut v, "action", cmd.action),
            principal: required(&mut v, "principal", cmd.principal),
            source_arn: cmd.source_arn,
            source_account: cmd.source_account,
            principal_org_id: cmd.principal_org_id,
            event_source_token: cmd.event_source_token,
            function_url_auth_type: cmd.function_url_auth_type,
            invoked_via_function_url: cmd.invoked_via_function_url.unwrap_or(false),
        };
        if v.is_empty() {
            statement::check(&mut v, &new);
        }
        v.into_result()?;
        statement::check_principal(&new.principal)?;
        let resource = self.policy_resource(scope, &located).await?;
        self.change_policy(scope, &located, cmd.revision_id.as_deref(), |policy| {
            if policy.statements.iter().any(|s| s.sid == new.sid) {
                return Err(statement_id_taken(&new.sid));
            }
            policy.statements.push(new.clone());
            let size = render(policy, &resource).len();
            if size > MAX_FUNCTION_POLICY_BYTES {
                return Err(policy_too_long(size, MAX_FUNCTION_POLICY_BYTES));
            }
            Ok(())
        })
        .await?;
        Ok(render_statement(&statement::document(&new, &resource)))
    }

    /// RemovePermission.
    pub async fn remove_permission(
        &self,
        scope: &Scope,
        function_name: &str,
        statement_id: &str,
        qualifier: Option<&str>,
        revision_id: Option<&str>,
    ) -> Result<(), LambdaError> {
        let located = self.locate(scope, function_name, NameShape::Namespaced, qualifier)?;
        self.policy_resource(scope, &located).await?;
        self.change_policy(scope, &located, revision_id, |policy| {
            let before = policy.statements.len();
            policy.statements.retain(|s| s.sid != statement_id);
            if policy.statements.len() == before {
                return Err(statement_not_found(statement_id));
            }
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// GetPolicy: 404 both for a missing function and for an empty policy.
    pub async fn get_policy(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: Option<&str>,
    ) -> Result<FunctionPolicyView, LambdaError> {
        let located = self.locate(scope, function_name, NameShape::Namespaced, qualifier)?;
        let resource = self.policy_resource(scope, &located).await?;
        let policy = self.stored_policy(scope, &located).await?;
        if policy.statements.is_empty() {
            return Err(LambdaError::not_found());
        }
        Ok(FunctionPolicyView {
            policy: render(&policy, &resource),
            revision_id: policy.revision_id,
        })
    }

    /// Whether `caller` (another account than the function's `owner`) may invoke function
    /// `name` as `qualifier`: only a statement of that qualifier's own policy can let it. A
    /// function that does not exist is refused the same way, so a caller without a grant
    /// cannot tell the two apart (as for layers).
    pub(super) async fn authorize_invoke(
        &self,
        owner: &Scope,
        name: &str,
        qualifier: Option<&str>,
        caller: &AccountId,
    ) -> Result<(), LambdaError> {
        self.authorize(
            owner,
            name,
            qualifier,
            caller,
            "InvokeFunction",
            statement::grants_invoke,
        )
        .await
    }

    /// Whether `caller` (another account than the function's `owner`) may call the URL of
    /// function `name` (`qualifier`: the URL's alias, if any) with a signed request, as
    /// [`statement::grants_url_invoke`] reads the qualifier's own policy.
    pub async fn authorize_url_invoke(
        &self,
        owner: &Scope,
        name: &str,
        qualifier: Option<&str>,
        caller: &AccountId,
    ) -> Result<(), LambdaError> {
        self.authorize(
            owner,
            name,
            qualifier,
            caller,
            "InvokeFunctionUrl",
            statement::grants_url_invoke,
        )
        .await
    }

    /// Whether a statement of the policy of `name` as `qualifier` `grants` `caller` the
    /// `action`; AWS's AccessDeniedException naming it if none does.
    async fn authorize(
        &self,
        owner: &Scope,
        name: &str,
        qualifier: Option<&str>,
        caller: &AccountId,
        action: &str,
        grants: fn(&FunctionStatement, &AccountId) -> bool,
    ) -> Result<(), LambdaError> {
        let policy = self
            .store
            .function_policy(owner, name, qualifier.unwrap_or_default())
            .await
            .map_err(storage_error)?;
        if policy.statements.iter().any(|s| grants(s, caller)) {
            return Ok(());
        }
        let resource = match qualifier {
            Some(q) => qualified_function_arn(owner, name, q),
            None => function_arn(owner, name),
        };
        Err(access_denied(caller, action, &resource))
    }

    /// The ARN a policy's statements name, once the function (and its version or alias)
    /// is known to exist.
    pub(super) async fn policy_resource(
        &self,
        scope: &Scope,
        located: &Located,
    ) -> Result<String, LambdaError> {
        let qualifier = located.qualifier.as_deref();
        self.find_version(scope, &located.name, qualifier).await?;
        Ok(match qualifier {
            Some(q) => qualified_function_arn(scope, &located.name, q),
            None => function_arn(scope, &located.name),
        })
    }

    async fn stored_policy(
        &self,
        scope: &Scope,
        located: &Located,
    ) -> Result<FunctionPolicy, LambdaError> {
        self.store
            .function_policy(
                scope,
                &located.name,
                located.qualifier.as_deref().unwrap_or_default(),
            )
            .await
            .map_err(storage_error)
    }

    /// Applies `change` to the current policy and stores it under a new revision, retrying
    /// when a concurrent change wins; a stale `expected_revision` fails with 412.
    pub(super) async fn change_policy(
        &self,
        scope: &Scope,
        located: &Located,
        expected_revision: Option<&str>,
        mut change: impl FnMut(&mut FunctionPolicy) -> Result<(), LambdaError>,
    ) -> Result<FunctionPolicy, LambdaError> {
        let qualifier = located.qualifier.as_deref().unwrap_or_default();
        for _ in 0..POLICY_CAS_ATTEMPTS {
            let current = self.stored_policy(scope, located).await?;
            if expected_revision.is_some_and(|r| r != current.revision_id) {
                return Err(LambdaError::PreconditionFailed(STALE_REVISION.to_owned()));
            }
            let mut next = current.clone();
            change(&mut next)?;
            next.revision_id = uuid::Uuid::new_v4().to_string();
            let stored = self
                .store
                .replace_function_policy(
                    scope,
                    &located.name,
                    qualifier,
                    &current.revision_id,
                    &next,
                )
                .await;
            // The function was deleted meanwhile (the policy's foreign key refused it).
            let stored = match stored {
                Ok(stored) => stored,
                Err(_) if self.lookup(scope, &located.name, None).await?.is_none() => {
                    return Err(self.not_found(scope, &located.name, None));
                }
                Err(e) => return Err(storage_error(e)),
            };
            if stored {
                tracing::info!(
                    function = %located.name,
                    qualifier,
                    statements = next.statements.len(),
                    "function policy changed"
                );
                return Ok(next);
            }
        }
        Err(LambdaError::rate_exceeded(None))
    }
}

/// The policy document of `resource`.
pub(super) fn render(policy: &FunctionPolicy, resource: &str) -> String {
    render_policy(
        policy
            .statements
            .iter()
            .map(|s| statement::document(s, resource))
            .collect(),
    )
}

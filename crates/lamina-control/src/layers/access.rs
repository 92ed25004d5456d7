//! Who may use a layer version: its own account always; another account only while the
//! version's policy grants it (`Principal` that account, its root ARN, or `*`), as
//! AddLayerVersionPermission describes. Lamina has no organizations, so a statement limited to
//! an `OrganizationId` grants no one. Every other layer operation is the owner's alone.

use lamina_store::MetadataStore;
use lamina_types::arn::{LayerRef, layer_arn, layer_version_arn};
use lamina_types::layer::{LayerPolicy, LayerVersionRecord};
use lamina_types::{AccountId, LambdaError, LayerName, LayerVersionArn, Scope};

use crate::internal_errors::storage_error;
pub(crate) use crate::policy::access_denied;
use crate::policy::principal_grants;

/// What a caller finds when it asks for a layer version by ARN.
#[derive(Debug)]
pub(crate) enum Access {
    /// The version exists and the caller may use it.
    Usable(Box<LayerVersionRecord>),
    /// The caller's own layer version does not exist.
    Missing,
    /// Another account's version that no statement grants to the caller (or that does not
    /// exist: a caller without access cannot tell the two apart, as on AWS).
    Denied,
}

/// Looks `arn` up for `caller`: directly in the caller's own account, through the version's
/// policy in any other.
pub(crate) async fn layer_version_for(
    store: &dyn MetadataStore,
    caller: &Scope,
    arn: &LayerVersionArn,
) -> Result<Access, LambdaError> {
    let owner = arn.scope();
    if owner.account == caller.account {
        let found = store
            .layer_version(&owner, &arn.name, arn.version)
            .await
            .map_err(storage_error)?;
        return Ok(found.map_or(Access::Missing, |r| Access::Usable(Box::new(r))));
    }
    let policy = store
        .layer_policy(&owner, &arn.name, arn.version)
        .await
        .map_err(storage_error)?;
    if !policy.is_some_and(|p| grants(&p, &caller.account)) {
        return Ok(Access::Denied);
    }
    let found = store
        .layer_version(&owner, &arn.name, arn.version)
        .await
        .map_err(storage_error)?;
    // Deleted between the two reads: as gone for the grantee as for anyone else.
    Ok(found.map_or(Access::Denied, |r| Access::Usable(Box::new(r))))
}

/// The layer an owner-only operation (`lambda:<action>`) acts on, in the caller's scope. A layer
/// ARN of another account is refused as AWS refuses it: no policy can grant these actions.
pub(crate) fn owned_name(
    caller: &Scope,
    layer: LayerRef,
    action: &str,
    version: Option<i64>,
) -> Result<LayerName, LambdaError> {
    match layer.account {
        Some(account) if account != caller.account => {
            let owner = Scope::new(account, layer.region.unwrap_or(caller.region.clone()));
            let resource = match version {
                Some(v) => layer_version_arn(&owner, &layer.name, v),
                None => layer_arn(&owner, &layer.name),
            };
            Err(access_denied(&caller.account, action, &resource))
        }
        _ => Ok(layer.name),
    }
}

/// Whether a statement of `policy` lets `account` use the version.
pub(crate) fn grants(policy: &LayerPolicy, account: &AccountId) -> bool {
    policy
        .statements
        .iter()
        .any(|s| s.organization_id.is_none() && principal_grants(&s.principal, account))
}

#[cfg(test)]
mod tests {
    use lamina_types::layer::LayerStatement;

    use super::*;

    fn policy(principal: &str, organization_id: Option<&str>) -> LayerPolicy {
        LayerPolicy {
            revision_id: "r".into(),
            statements: vec![LayerStatement {
                sid: "s".into(),
                principal: principal.into(),
                organization_id: organization_id.map(str::to_owned),
            }],
        }
    }

    #[test]
    fn principals_that_grant_and_those_that_do_not() {
        let b = AccountId::parse("222233334444").unwrap();
        assert!(grants(&policy("222233334444", None), &b));
        assert!(grants(&policy("*", None), &b));
        assert!(grants(&policy("arn:aws:iam::222233334444:root", None), &b));
        assert!(!grants(&policy("999988887777", None), &b));
        assert!(!grants(&policy("arn:aws:iam::999988887777:root", None), &b));
        assert!(!grants(&policy("*", Some("o-abcdefghij")), &b));
        assert!(!grants(&LayerPolicy::default(), &b));
    }
}

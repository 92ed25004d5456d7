//! One layer version: GetLayerVersion, GetLayerVersionByArn and DeleteLayerVersion.

use lamina_types::arn::LayerVersionArnError;
use lamina_types::layer::LayerVersionRecord;
use lamina_types::{LambdaError, LayerVersionArn, Scope};

use super::LayerService;
use super::access::{Access, access_denied, layer_version_for, owned_name};
use super::validate::{check_version_number, parse_layer_name};
use crate::internal_errors::storage_error;

impl LayerService {
    /// GetLayerVersion: `layer_name` may be the ARN of another account's layer, readable when
    /// that version's policy grants it to the caller.
    pub async fn get(
        &self,
        scope: &Scope,
        layer_name: &str,
        version: i64,
    ) -> Result<LayerVersionRecord, LambdaError> {
        let layer = parse_layer_name(layer_name)?;
        check_version_number(version)?;
        let arn = LayerVersionArn {
            region: layer.region.unwrap_or_else(|| scope.region.clone()),
            account: layer.account.unwrap_or_else(|| scope.account.clone()),
            name: layer.name,
            version,
        };
        self.usable(scope, &arn).await
    }

    /// GetLayerVersionByArn, under the same rules as [`LayerService::get`].
    pub async fn get_by_arn(
        &self,
        scope: &Scope,
        arn: &str,
    ) -> Result<LayerVersionRecord, LambdaError> {
        let arn = match LayerVersionArn::parse(arn, "arn") {
            Ok(arn) => arn,
            Err(LayerVersionArnError::Invalid(e)) => return Err(e),
            Err(LayerVersionArnError::Unknown) => return Err(LambdaError::not_found()),
        };
        self.usable(scope, &arn).await
    }

    async fn usable(
        &self,
        scope: &Scope,
        arn: &LayerVersionArn,
    ) -> Result<LayerVersionRecord, LambdaError> {
        match layer_version_for(self.metadata.as_ref(), scope, arn).await? {
            Access::Usable(record) => Ok(*record),
            Access::Missing => Err(LambdaError::not_found()),
            Access::Denied => Err(access_denied(
                &scope.account,
                "GetLayerVersion",
                &arn.to_string(),
            )),
        }
    }

    /// DeleteLayerVersion: idempotent; the version's files stay for functions using it.
    pub async fn delete(
        &self,
        scope: &Scope,
        layer_name: &str,
        version: i64,
    ) -> Result<(), LambdaError> {
        let layer = parse_layer_name(layer_name)?;
        let name = owned_name(scope, layer, "DeleteLayerVersion", Some(version))?;
        check_version_number(version)?;
        self.metadata
            .delete_layer_version(scope, &name, version)
            .await
            .map_err(storage_error)
    }
}

#[cfg(test)]
mod tests {
    use lamina_types::{AccountId, Scope};

    use crate::layers::AddLayerPermission;
    use crate::layers::test_support::Fixture;

    fn grant(sid: &str, principal: &str) -> AddLayerPermission {
        AddLayerPermission {
            statement_id: sid.into(),
            action: "lambda:GetLayerVersion".into(),
            principal: principal.into(),
            organization_id: None,
            revision_id: None,
        }
    }

    /// Account B reads A's version only while a statement grants it, and can never change it.
    #[tokio::test]
    async fn another_account_uses_a_version_only_while_granted() {
        let f = Fixture::new().await;
        let arn = f.layers.version_arn(&f.publish("deps").await);
        let b = Scope::new(
            AccountId::parse("222233334444").unwrap(),
            f.scope.region.clone(),
        );
        let denied = f.layers.get_by_arn(&b, &arn).await.unwrap_err();
        assert_eq!(denied.status(), 403);
        assert_eq!(
            denied.message(),
            format!(
                "User: arn:aws:iam::222233334444:root is not authorized to perform: \
                 lambda:GetLayerVersion on resource: {arn} because no resource-based policy \
                 allows the lambda:GetLayerVersion action"
            )
        );
        // B's own namespace has no "deps"; listing is per account.
        assert_eq!(f.layers.get(&b, "deps", 1).await.unwrap_err().status(), 404);

        f.layers
            .add_permission(&f.scope, "deps", 1, grant("b", "222233334444"))
            .await
            .unwrap();
        assert_eq!(f.layers.get_by_arn(&b, &arn).await.unwrap().version, 1);
        let layer_arn = arn.trim_end_matches(":1");
        assert_eq!(f.layers.get(&b, layer_arn, 1).await.unwrap().version, 1);
        let e = f.layers.delete(&b, layer_arn, 1).await.unwrap_err();
        assert_eq!(e.type_name(), "AccessDeniedException");
        assert!(
            e.message().contains("lambda:DeleteLayerVersion"),
            "{}",
            e.message()
        );
        let e = f
            .layers
            .add_permission(&b, layer_arn, 1, grant("me", "*"))
            .await
            .unwrap_err();
        assert_eq!(e.type_name(), "AccessDeniedException");
        assert!(f.layers.get(&f.scope, "deps", 1).await.is_ok());

        f.layers
            .remove_permission(&f.scope, "deps", 1, "b", None)
            .await
            .unwrap();
        assert_eq!(
            f.layers.get_by_arn(&b, &arn).await.unwrap_err().status(),
            403
        );
        f.layers
            .add_permission(&f.scope, "deps", 1, grant("all", "*"))
            .await
            .unwrap();
        assert_eq!(f.layers.get_by_arn(&b, &arn).await.unwrap().version, 1);
        // A version that does not exist is denied, not missing, to an outsider.
        let e = f.layers.get(&b, layer_arn, 7).await.unwrap_err();
        assert_eq!(e.status(), 403);
    }

    #[tokio::test]
    async fn a_version_is_found_by_name_arn_or_not_at_all() {
        let f = Fixture::new().await;
        let published = f.publish("deps").await;
        let by_name = f.layers.get(&f.scope, "deps", 1).await.unwrap();
        assert_eq!(by_name.code_sha256, published.code_sha256);
        let arn = f.layers.version_arn(&published);
        assert_eq!(arn, "arn:aws:lambda:us-west-2:123456789012:layer:deps:1");
        assert_eq!(
            f.layers.get_by_arn(&f.scope, &arn).await.unwrap().version,
            1
        );
        let layer_arn = "arn:aws:lambda:us-west-2:123456789012:layer:deps";
        assert_eq!(
            f.layers.get(&f.scope, layer_arn, 1).await.unwrap().version,
            1
        );

        let missing = f.layers.get(&f.scope, "deps", 2).await.unwrap_err();
        assert_eq!(missing.type_name(), "ResourceNotFoundException");
        let foreign = "arn:aws:lambda:us-west-2:210987654321:layer:deps:1";
        let e = f.layers.get_by_arn(&f.scope, foreign).await.unwrap_err();
        assert_eq!(e.type_name(), "AccessDeniedException");
        let e = f.layers.get_by_arn(&f.scope, "deps:1").await.unwrap_err();
        assert_eq!(e.type_name(), "ValidationException");
        let e = f.layers.get(&f.scope, "deps", 0).await.unwrap_err();
        assert_eq!(e.type_name(), "InvalidParameterValueException");
    }

    #[tokio::test]
    async fn delete_is_idempotent_and_never_reuses_a_number() {
        let f = Fixture::new().await;
        f.publish("deps").await;
        f.layers.delete(&f.scope, "deps", 1).await.unwrap();
        f.layers.delete(&f.scope, "deps", 1).await.unwrap();
        f.layers.delete(&f.scope, "never", 9).await.unwrap();
        let e = f.layers.get(&f.scope, "deps", 1).await.unwrap_err();
        assert_eq!(e.status(), 404);
        assert_eq!(f.publish("deps").await.version, 2);
        let e = f.layers.delete(&f.scope, "deps", 0).await.unwrap_err();
        assert_eq!(e.type_name(), "InvalidParameterValueException");
    }
}

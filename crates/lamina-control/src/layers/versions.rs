//! One layer version: GetLayerVersion, GetLayerVersionByArn and DeleteLayerVersion.

use lamina_types::arn::LayerVersionArnError;
use lamina_types::layer::LayerVersionRecord;
use lamina_types::{LambdaError, LayerVersionArn, Region};

use super::LayerService;
use super::validate::{check_version_number, parse_layer_name};
use crate::internal_errors::storage_error;

impl LayerService {
    /// GetLayerVersion.
    pub async fn get(
        &self,
        region: &Region,
        layer_name: &str,
        version: i64,
    ) -> Result<LayerVersionRecord, LambdaError> {
        let name = parse_layer_name(layer_name)?;
        check_version_number(version)?;
        self.metadata
            .layer_version(region, &name, version)
            .await
            .map_err(storage_error)?
            .ok_or_else(LambdaError::not_found)
    }

    /// GetLayerVersionByArn: a version of another account is as missing as an unknown one.
    pub async fn get_by_arn(&self, arn: &str) -> Result<LayerVersionRecord, LambdaError> {
        let arn = match LayerVersionArn::parse(arn, "arn") {
            Ok(arn) => arn,
            Err(LayerVersionArnError::Invalid(e)) => return Err(e),
            Err(LayerVersionArnError::Unknown) => return Err(LambdaError::not_found()),
        };
        if arn.account != self.account {
            return Err(LambdaError::not_found());
        }
        self.metadata
            .layer_version(&arn.region, &arn.name, arn.version)
            .await
            .map_err(storage_error)?
            .ok_or_else(LambdaError::not_found)
    }

    /// DeleteLayerVersion: idempotent; the version's files stay for functions using it.
    pub async fn delete(
        &self,
        region: &Region,
        layer_name: &str,
        version: i64,
    ) -> Result<(), LambdaError> {
        let name = parse_layer_name(layer_name)?;
        check_version_number(version)?;
        self.metadata
            .delete_layer_version(region, &name, version)
            .await
            .map_err(storage_error)
    }
}

#[cfg(test)]
mod tests {
    use crate::layers::test_support::Fixture;

    #[tokio::test]
    async fn a_version_is_found_by_name_arn_or_not_at_all() {
        let f = Fixture::new().await;
        let published = f.publish("deps").await;
        let by_name = f.layers.get(&f.region, "deps", 1).await.unwrap();
        assert_eq!(by_name.code_sha256, published.code_sha256);
        let arn = f.layers.version_arn(&published);
        assert_eq!(arn, "arn:aws:lambda:us-west-2:123456789012:layer:deps:1");
        assert_eq!(f.layers.get_by_arn(&arn).await.unwrap().version, 1);
        let layer_arn = "arn:aws:lambda:us-west-2:123456789012:layer:deps";
        assert_eq!(
            f.layers.get(&f.region, layer_arn, 1).await.unwrap().version,
            1
        );

        let missing = f.layers.get(&f.region, "deps", 2).await.unwrap_err();
        assert_eq!(missing.type_name(), "ResourceNotFoundException");
        let foreign = "arn:aws:lambda:us-west-2:210987654321:layer:deps:1";
        let e = f.layers.get_by_arn(foreign).await.unwrap_err();
        assert_eq!(e.type_name(), "ResourceNotFoundException");
        let e = f.layers.get_by_arn("deps:1").await.unwrap_err();
        assert_eq!(e.type_name(), "ValidationException");
        let e = f.layers.get(&f.region, "deps", 0).await.unwrap_err();
        assert_eq!(e.type_name(), "InvalidParameterValueException");
    }

    #[tokio::test]
    async fn delete_is_idempotent_and_never_reuses_a_number() {
        let f = Fixture::new().await;
        f.publish("deps").await;
        f.layers.delete(&f.region, "deps", 1).await.unwrap();
        f.layers.delete(&f.region, "deps", 1).await.unwrap();
        f.layers.delete(&f.region, "never", 9).await.unwrap();
        let e = f.layers.get(&f.region, "deps", 1).await.unwrap_err();
        assert_eq!(e.status(), 404);
        assert_eq!(f.publish("deps").await.version, 2);
        let e = f.layers.delete(&f.region, "deps", 0).await.unwrap_err();
        assert_eq!(e.type_name(), "InvalidParameterValueException");
    }
}

//! The layer listings: ListLayers (each layer's newest matching version, by name) and
//! ListLayerVersions (newest first), paged with opaque markers.

use lamina_types::layer::LayerVersionRecord;
use lamina_types::validation::Violations;
use lamina_types::{LambdaError, LayerName, Scope};

use super::access::owned_name;
use super::validate::{check_layer_name, check_list_query};
use super::{LayerService, ListQuery};
use crate::internal_errors::{storage_error, validated_but_missing};
use crate::paging::{self, Page, invalid_marker, marker};

impl LayerService {
    /// ListLayerVersions: newest first. An unknown layer lists as empty.
    pub async fn list_versions(
        &self,
        scope: &Scope,
        layer_name: &str,
        query: &ListQuery,
    ) -> Result<Page<LayerVersionRecord>, LambdaError> {
        let mut violations = Violations::new();
        let name = check_layer_name(&mut violations, layer_name);
        let (filter, limit) = check_list_query(&mut violations, query);
        violations.into_result()?;
        let layer = name.ok_or_else(validated_but_missing)?;
        let name = owned_name(scope, layer, "ListLayerVersions", None)?;
        let below = query
            .marker
            .as_deref()
            .map(|m| marker::decode_version("versions", m))
            .transpose()?;
        let items = self
            .metadata
            .layer_versions(scope, &name, &filter, below, limit + 1)
            .await
            .map_err(storage_error)?;
        Ok(paging::page(items, limit, |last| {
            marker::encode("versions", &last.version.to_string())
        }))
    }

    /// ListLayers: each layer with its highest version matching the filters, by name.
    pub async fn list_layers(
        &self,
        scope: &Scope,
        query: &ListQuery,
    ) -> Result<Page<LayerVersionRecord>, LambdaError> {
        let mut violations = Violations::new();
        let (filter, limit) = check_list_query(&mut violations, query);
        violations.into_result()?;
        let after = query
            .marker
            .as_deref()
            .map(|m| {
                LayerName::parse(&marker::decode("layers", m)?).ok_or_else(|| invalid_marker(m))
            })
            .transpose()?;
        let items = self
            .metadata
            .latest_layer_versions(scope, &filter, after.as_ref(), limit + 1)
            .await
            .map_err(storage_error)?;
        Ok(paging::page(items, limit, |last| {
            marker::encode("layers", last.name.as_str())
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::test_support::{Fixture, publish_cmd};

    fn page_of(max_items: &str, marker: Option<String>) -> ListQuery {
        ListQuery {
            max_items: Some(max_items.to_owned()),
            marker,
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn versions_page_newest_first() {
        let f = Fixture::new().await;
        for _ in 0..3 {
            f.publish("deps").await;
        }
        let first = f
            .layers
            .list_versions(&f.scope, "deps", &page_of("2", None))
            .await
            .unwrap();
        let numbers: Vec<i64> = first.items.iter().map(|r| r.version).collect();
        assert_eq!(numbers, vec![3, 2]);
        let second = f
            .layers
            .list_versions(&f.scope, "deps", &page_of("2", first.next_marker))
            .await
            .unwrap();
        let numbers: Vec<i64> = second.items.iter().map(|r| r.version).collect();
        assert_eq!((numbers, second.next_marker), (vec![1], None));
        let unknown = f
            .layers
            .list_versions(&f.scope, "never", &ListQuery::default())
            .await
            .unwrap();
        assert!(unknown.items.is_empty());
    }

    #[tokio::test]
    async fn layers_page_by_name_with_their_newest_matching_version() {
        let f = Fixture::new().await;
        f.publish("b").await;
        f.publish("a").await;
        let mut arm = publish_cmd("a");
        arm.compatible_architectures = Some(vec!["arm64".to_owned()]);
        f.layers.publish(&f.scope, arm).await.unwrap();
        let first = f
            .layers
            .list_layers(&f.scope, &page_of("1", None))
            .await
            .unwrap();
        assert_eq!(first.items[0].name.as_str(), "a");
        assert_eq!(first.items[0].version, 2);
        let second = f
            .layers
            .list_layers(&f.scope, &page_of("1", first.next_marker))
            .await
            .unwrap();
        assert_eq!(second.items[0].name.as_str(), "b");
        assert_eq!(second.next_marker, None);
        let x86 = ListQuery {
            compatible_architecture: Some("x86_64".to_owned()),
            ..Default::default()
        };
        let filtered = f.layers.list_layers(&f.scope, &x86).await.unwrap();
        let found: Vec<(String, i64)> = filtered
            .items
            .iter()
            .map(|r| (r.name.to_string(), r.version))
            .collect();
        assert_eq!(found, vec![("a".to_owned(), 1), ("b".to_owned(), 1)]);
    }

    #[tokio::test]
    async fn a_marker_of_another_listing_is_refused() {
        let f = Fixture::new().await;
        let foreign = marker::encode("versions", "1");
        let e = f
            .layers
            .list_layers(&f.scope, &page_of("1", Some(foreign.clone())))
            .await
            .unwrap_err();
        assert_eq!(e.message(), format!("Invalid marker: {foreign}"));
        let layers_marker = marker::encode("layers", "a");
        let e = f
            .layers
            .list_versions(&f.scope, "a", &page_of("1", Some(layers_marker)))
            .await
            .unwrap_err();
        assert_eq!(e.type_name(), "InvalidParameterValueException");
    }
}

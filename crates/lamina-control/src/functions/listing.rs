//! The function listings: ListFunctions (`$LATEST` of each function, or every version) and
//! ListVersionsByFunction, paged with opaque markers.

use lamina_types::function_arn::{NameShape, version_label};
use lamina_types::limits::{MAX_FUNCTION_LIST_ITEMS, MAX_FUNCTION_PAGE_ITEMS};
use lamina_types::validation::{Constraint, Violations};
use lamina_types::{LambdaError, Region, Scope};

use super::{
    FunctionService, FunctionView, ListFunctionsQuery, PageQuery, storage_error, validate,
};
use crate::paging::{self, Page, invalid_marker, marker, next_marker};

impl FunctionService {
    /// ListFunctions: `$LATEST` of each function by name, or every version with
    /// `FunctionVersion=ALL`; at most 50 per page.
    pub async fn list(
        &self,
        scope: &Scope,
        query: &ListFunctionsQuery,
    ) -> Result<Page<FunctionView>, LambdaError> {
        let mut v = Violations::new();
        validate::one_of(
            &mut v,
            "functionVersion",
            query.function_version.as_deref(),
            &["ALL"],
        );
        if let Some(m) = query.master_region.as_deref()
            && m != "ALL"
            && Region::parse(m).is_none()
        {
            v.add(
                "masterRegion",
                m,
                Constraint::Pattern("ALL|(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}"),
            );
        }
        let limit = page_limit(&mut v, query.max_items.as_deref());
        v.into_result()?;
        let all = query.function_version.is_some();
        let listing = if all { "functions-all" } else { "functions" };
        let after = query
            .marker
            .as_deref()
            .map(|m| marker::decode(listing, m))
            .transpose()?;
        let mut items = if all {
            let position = after.as_deref().map(split_position).transpose()?;
            self.store
                .all_versions(
                    scope,
                    position.as_ref().map(|(n, v)| (n.as_str(), *v)),
                    limit + 1,
                )
                .await
        } else {
            self.store
                .latest_versions(scope, after.as_deref(), limit + 1)
                .await
        }
        .map_err(storage_error)?;
        let next_marker = next_marker(&mut items, limit, |r| {
            let position = if all {
                format!("{}:{}", r.name, r.version)
            } else {
                r.name.clone()
            };
            marker::encode(listing, &position)
        });
        let items = items
            .into_iter()
            .map(|r| {
                let label = version_label(r.version);
                self.view(r, all.then_some(label.as_str()))
            })
            .collect();
        Ok(Page { items, next_marker })
    }

    /// ListVersionsByFunction: `$LATEST` first, then published versions ascending.
    pub async fn list_versions(
        &self,
        scope: &Scope,
        function_name: &str,
        query: &PageQuery,
    ) -> Result<Page<FunctionView>, LambdaError> {
        let mut v = Violations::new();
        let fref = validate::function_name(&mut v, function_name, NameShape::Namespaced);
        let limit = page_limit(&mut v, query.max_items.as_deref());
        v.into_result()?;
        let name = self.unqualified(scope, fref)?;
        let after = query
            .marker
            .as_deref()
            .map(|m| marker::decode_version("versions", m))
            .transpose()?;
        let mut items = self
            .store
            .function_versions(scope, &name, after, limit + 1)
            .await
            .map_err(storage_error)?;
        if items.is_empty() {
            self.require_function(scope, &name).await?;
        }
        let next_marker = next_marker(&mut items, limit, |r| {
            marker::encode("versions", &r.version.to_string())
        });
        let items = items
            .into_iter()
            .map(|r| {
                let label = version_label(r.version);
                self.view(r, Some(&label))
            })
            .collect();
        Ok(Page { items, next_marker })
    }
}

/// `name:version` of the ALL listing's marker.
fn split_position(position: &str) -> Result<(String, i64), LambdaError> {
    position
        .rsplit_once(':')
        .and_then(|(n, v)| Some((n.to_owned(), v.parse::<i64>().ok()?)))
        .ok_or_else(|| invalid_marker(position))
}

/// `MaxItems` of the function listings: 1 to 10,000, and never more than 50 per page.
pub(super) fn page_limit(v: &mut Violations, raw: Option<&str>) -> u32 {
    paging::max_items(v, raw, MAX_FUNCTION_LIST_ITEMS, MAX_FUNCTION_PAGE_ITEMS)
}

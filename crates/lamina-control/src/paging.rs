//! Paging shared by every listing of both halves: the `MaxItems` check, the opaque `Marker`
//! (in [`marker`]) and cutting a page fetched with one extra item.

pub(crate) mod marker;

use lamina_types::LambdaError;
use lamina_types::validation::{Constraint, Violations};

/// One page of a listing.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Marker for the next page, when there is one.
    pub next_marker: Option<String>,
}

/// `MaxItems` as a page size: absent means `page_cap`; accepted from 1 to `max_accepted`
/// (the model's range) and never more than `page_cap` per page. A value outside the model's
/// range is recorded in `violations` (and `page_cap` returned, which the caller then never
/// uses, since the violation fails the request).
pub(crate) fn max_items(
    violations: &mut Violations,
    raw: Option<&str>,
    max_accepted: u32,
    page_cap: u32,
) -> u32 {
    let Some(raw) = raw else {
        return page_cap;
    };
    match raw.parse::<i64>() {
        Ok(n) if n < 1 => violations.add("maxItems", raw, Constraint::MinValue(1)),
        Ok(n) if n > i64::from(max_accepted) => violations.add(
            "maxItems",
            raw,
            Constraint::MaxValue(i64::from(max_accepted)),
        ),
        Ok(n) => return u32::try_from(n).unwrap_or(page_cap).min(page_cap),
        Err(_) => violations.add("maxItems", raw, Constraint::Pattern("[0-9]+")),
    }
    page_cap
}

/// Cuts `items` (fetched with one extra) to `limit` and gives the marker of the next page,
/// made from the last item kept.
pub(crate) fn next_marker<T>(
    items: &mut Vec<T>,
    limit: u32,
    marker_of: impl Fn(&T) -> String,
) -> Option<String> {
    let limit = limit as usize;
    let more = items.len() > limit;
    items.truncate(limit);
    if more {
        items.last().map(marker_of)
    } else {
        None
    }
}

/// The page of `items` (fetched with one extra) cut to `limit`.
pub(crate) fn page<T>(mut items: Vec<T>, limit: u32, marker_of: impl Fn(&T) -> String) -> Page<T> {
    let next_marker = next_marker(&mut items, limit, marker_of);
    Page { items, next_marker }
}

/// 400 for a marker this server did not make (or made for another listing).
pub(crate) fn invalid_marker(m: &str) -> LambdaError {
    LambdaError::InvalidParameterValue(format!("Invalid marker: {m}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(raw: Option<&str>, max_accepted: u32, cap: u32) -> Result<u32, String> {
        let mut v = Violations::new();
        let n = max_items(&mut v, raw, max_accepted, cap);
        v.into_result()
            .map(|()| n)
            .map_err(|e| e.message().to_owned())
    }

    #[test]
    fn max_items_is_checked_against_the_model_and_capped_per_page() {
        assert_eq!(limit(None, 50, 50), Ok(50));
        assert_eq!(limit(Some("1"), 50, 50), Ok(1));
        assert_eq!(limit(Some("50"), 50, 50), Ok(50));
        assert_eq!(limit(Some("10000"), 10_000, 50), Ok(50));
        let too_many = limit(Some("51"), 50, 50).unwrap_err();
        assert!(
            too_many.contains("Member must have value less than or equal to 50"),
            "{too_many}"
        );
        let zero = limit(Some("0"), 50, 50).unwrap_err();
        assert!(
            zero.contains("Member must have value greater than or equal to 1"),
            "{zero}"
        );
        let text = limit(Some("ten"), 50, 50).unwrap_err();
        assert!(
            text.contains("regular expression pattern: [0-9]+"),
            "{text}"
        );
    }

    #[test]
    fn a_page_has_a_marker_only_when_more_items_follow() {
        let full = page(vec![1, 2, 3], 2, |n| n.to_string());
        assert_eq!(full.items, vec![1, 2]);
        assert_eq!(full.next_marker.as_deref(), Some("2"));
        let last = page(vec![1, 2], 2, |n| n.to_string());
        assert_eq!(last.items, vec![1, 2]);
        assert_eq!(last.next_marker, None);
    }
}

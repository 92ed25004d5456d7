//! A JSON object of strings read member by member, so the request's order survives parsing
//! (serde_json's maps sort their keys unless its `preserve_order` feature is on, and that
//! feature would change every map in the workspace).

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

/// The members of a JSON object of strings, in the order they were sent, repeats included.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct OrderedStrings(pub(super) Vec<(String, String)>);

impl<'de> Deserialize<'de> for OrderedStrings {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(OrderedStringsVisitor)
    }
}

struct OrderedStringsVisitor;

impl<'de> Visitor<'de> for OrderedStringsVisitor {
    type Value = OrderedStrings;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of strings to strings")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // No `size_hint` preallocation: the hint comes from the client.
        let mut pairs = Vec::new();
        while let Some(pair) = map.next_entry::<String, String>()? {
            pairs.push(pair);
        }
        Ok(OrderedStrings(pairs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<OrderedStrings, serde_json::Error> {
        serde_json::from_str(json)
    }

    fn pairs(list: &[(&str, &str)]) -> OrderedStrings {
        OrderedStrings(
            list.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn members_keep_the_order_they_were_sent_in() {
        assert_eq!(
            parse(r#"{"Z":"1","A":"2","M":"3"}"#).ok(),
            Some(pairs(&[("Z", "1"), ("A", "2"), ("M", "3")]))
        );
        assert_eq!(
            parse(r#"{"B":"1","A":"2","B":"3"}"#).ok(),
            Some(pairs(&[("B", "1"), ("A", "2"), ("B", "3")]))
        );
        assert_eq!(parse("{}").ok(), Some(pairs(&[])));
    }

    #[test]
    fn only_an_object_of_strings_is_accepted() {
        assert!(parse(r#"{"A":1}"#).is_err());
        assert!(parse(r#"["A","B"]"#).is_err());
        assert!(parse(r#""A""#).is_err());
    }
}

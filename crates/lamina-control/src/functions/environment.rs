//! `Environment.Variables` as a request sent them: in the request's order, because AWS's
//! messages about them (the 4 KB "String measured", reserved keys, bad names) quote them in
//! that order. Storage keeps a sorted map; only validation needs the order.

use std::collections::{BTreeMap, HashMap};

use serde::ser::{Serialize, Serializer};

/// Name/value pairs in the order the request listed them. A name sent twice keeps its first
/// place and its last value, as an insertion-ordered map reading the JSON object would.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvironmentVariables {
    pairs: Vec<(String, String)>,
}

impl EnvironmentVariables {
    /// The variables in request order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The names in request order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.pairs.iter().map(|(k, _)| k.as_str())
    }

    /// The variables as stored: a sorted map.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.pairs.iter().cloned().collect()
    }
}

impl FromIterator<(String, String)> for EnvironmentVariables {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        let mut pairs: Vec<(String, String)> = Vec::new();
        // Name to position in `pairs`: a request may carry many variables, so no linear search.
        let mut position: HashMap<String, usize> = HashMap::new();
        for (name, value) in iter {
            match position.get(&name) {
                Some(&i) => pairs[i].1 = value,
                None => {
                    position.insert(name.clone(), pairs.len());
                    pairs.push((name, value));
                }
            }
        }
        Self { pairs }
    }
}

/// A JSON object with the members in request order: what AWS measures against 4 KB.
impl Serialize for EnvironmentVariables {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

/// Variables from `(name, value)` pairs, in order (for tests).
#[cfg(test)]
pub(super) fn vars(pairs: &[(&str, &str)]) -> EnvironmentVariables {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_request_order() {
        let env = vars(&[("Z", "1"), ("A", "2"), ("M", "3")]);
        assert_eq!(env.names().collect::<Vec<_>>(), ["Z", "A", "M"]);
        assert_eq!(
            serde_json::to_string(&env).ok().as_deref(),
            Some(r#"{"Z":"1","A":"2","M":"3"}"#)
        );
    }

    #[test]
    fn a_repeated_name_keeps_its_first_place_and_last_value() {
        let env = vars(&[("B", "1"), ("A", "2"), ("B", "3")]);
        assert_eq!(env.iter().collect::<Vec<_>>(), [("B", "3"), ("A", "2")]);
    }

    #[test]
    fn stored_as_a_sorted_map() {
        let env = vars(&[("Z", "1"), ("A", "2")]);
        assert_eq!(
            env.to_map(),
            BTreeMap::from([
                ("A".to_owned(), "2".to_owned()),
                ("Z".to_owned(), "1".to_owned())
            ])
        );
    }

    #[test]
    fn measured_text_escapes_as_json() {
        let env = vars(&[("Q", "a\"b\\c\n")]);
        assert_eq!(
            serde_json::to_string(&env).ok().as_deref(),
            Some(r#"{"Q":"a\"b\\c\n"}"#)
        );
    }
}

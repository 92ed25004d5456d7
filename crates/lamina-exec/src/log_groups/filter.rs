//! CloudWatch Logs' `filterPattern` for unstructured events: terms that must all appear
//! (`ERROR timeout`), quoted phrases (`"Task timed out"`), terms that must not (`-DEBUG`), and
//! terms of which one is enough when every term is so marked (`?ERROR ?WARN`). Matching is
//! case-sensitive, as AWS's is. JSON (`{ $.level = ... }`) and space-delimited (`[a, b]`)
//! patterns are not served.

use super::LogsError;

/// A parsed filter pattern.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FilterPattern {
    /// Each must appear.
    all: Vec<String>,
    /// At least one must appear (when any).
    any: Vec<String>,
    /// None may appear.
    none: Vec<String>,
}

impl FilterPattern {
    /// Parses `pattern`; an empty (or blank) one matches every event.
    pub fn parse(pattern: &str) -> Result<Self, LogsError> {
        let trimmed = pattern.trim();
        if trimmed.starts_with('{') || trimmed.starts_with('[') {
            return Err(LogsError::InvalidParameter(
                "Lamina serves only term filter patterns (terms, \"quoted phrases\", ?term, \
                 -term); JSON and space-delimited patterns are not supported."
                    .to_owned(),
            ));
        }
        let mut parsed = Self::default();
        let mut rest = trimmed;
        while !rest.is_empty() {
            let (mark, after) = match rest.as_bytes()[0] {
                b'?' => (Some('?'), &rest[1..]),
                b'-' if rest.len() > 1 => (Some('-'), &rest[1..]),
                _ => (None, rest),
            };
            let (term, remaining) = if let Some(quoted) = after.strip_prefix('"') {
                let end = quoted.find('"').ok_or_else(|| {
                    LogsError::InvalidParameter(format!(
                        "Invalid filter pattern: unterminated quote in {pattern:?}."
                    ))
                })?;
                (&quoted[..end], &quoted[end + 1..])
            } else {
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                (&after[..end], &after[end..])
            };
            if !term.is_empty() {
                let list = match mark {
                    Some('?') => &mut parsed.any,
                    Some(_) => &mut parsed.none,
                    None => &mut parsed.all,
                };
                list.push(term.to_owned());
            }
            rest = remaining.trim_start();
        }
        Ok(parsed)
    }

    /// Whether `message` matches.
    pub fn matches(&self, message: &str) -> bool {
        self.all.iter().all(|t| message.contains(t.as_str()))
            && (self.any.is_empty() || self.any.iter().any(|t| message.contains(t.as_str())))
            && !self.none.iter().any(|t| message.contains(t.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, message: &str) -> bool {
        FilterPattern::parse(pattern).unwrap().matches(message)
    }

    #[test]
    fn an_empty_pattern_matches_everything() {
        assert!(matches("", "anything"));
        assert!(matches("   ", ""));
    }

    #[test]
    fn terms_must_all_appear_case_sensitively() {
        assert!(matches("ERROR", "an ERROR here"));
        assert!(!matches("ERROR", "an error here"));
        assert!(matches("ERROR disk", "ERROR: disk full"));
        assert!(!matches("ERROR disk", "ERROR: memory"));
    }

    #[test]
    fn quoted_phrases_match_whole() {
        assert!(matches(
            "\"Task timed out\"",
            "x Task timed out after 1.00 seconds"
        ));
        assert!(!matches("\"Task timed out\"", "Task out timed"));
        assert!(matches(
            "START \"Version: $LATEST\"",
            "START RequestId: r Version: $LATEST"
        ));
        assert!(FilterPattern::parse("\"open").is_err());
    }

    #[test]
    fn optional_and_excluded_terms() {
        assert!(matches("?ERROR ?WARN", "WARN low"));
        assert!(!matches("?ERROR ?WARN", "INFO ok"));
        assert!(matches("REPORT -Init", "REPORT Duration: 1 ms"));
        assert!(!matches("REPORT -Init", "REPORT Init Duration: 1 ms"));
        assert!(matches("-", "a - b"));
    }

    #[test]
    fn json_and_delimited_patterns_are_refused() {
        assert!(FilterPattern::parse("{ $.level = \"ERROR\" }").is_err());
        assert!(FilterPattern::parse("[ip, user]").is_err());
    }
}

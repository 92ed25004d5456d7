//! A Lamina node's identity: which `lamina serve` process of a cluster holds a queued event,
//! counts an invocation in flight or wrote a log line.

use std::fmt;

/// A node's id: `node-` and 16 lowercase hex digits, kept in its data directory so a
/// restarted node is the same node (and takes back at once what it held before).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(String);

impl NodeId {
    const PREFIX: &'static str = "node-";
    const HEX_DIGITS: usize = 16;

    /// A node id from its text, `None` unless it is `node-` and 16 lowercase hex digits.
    pub fn parse(text: &str) -> Option<Self> {
        let hex = text.strip_prefix(Self::PREFIX)?;
        let valid = hex.len() == Self::HEX_DIGITS
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid.then(|| Self(text.to_owned()))
    }

    /// The id made of 64 random bits.
    pub fn from_random(bits: u64) -> Self {
        Self(format!("{}{bits:016x}", Self::PREFIX))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_random_id_parses_back() {
        let id = NodeId::from_random(0x00ab_cdef_0123_4567);
        assert_eq!(id.as_str(), "node-00abcdef01234567");
        assert_eq!(NodeId::parse(id.as_str()), Some(id));
    }

    #[test]
    fn other_text_is_not_an_id() {
        for bad in [
            "",
            "node-",
            "node-00ABCDEF01234567",
            "node-00abcdef0123456",
            "host-00abcdef01234567",
            "node-00abcdef012345678",
        ] {
            assert_eq!(NodeId::parse(bad), None, "{bad}");
        }
    }
}

//! A Lamina node's identity: which `lamina serve` process of a cluster holds a queued event,
//! counts an invocation in flight or wrote a log line.

use std::fmt;

/// How often a node records that it is alive, in milliseconds.
pub const HEARTBEAT_INTERVAL_MS: u64 = 2_000;
/// How long after its last heartbeat a node still counts as live, in milliseconds: several
/// missed heartbeats, so one slow write does not take a node out of the cluster.
pub const LIVE_FOR_MS: i64 = 10_000;
/// How long after its last heartbeat a node is removed from the registry, in milliseconds (a
/// day): a node gone that long was retired, and the registry must not grow forever.
pub const FORGOTTEN_AFTER_MS: i64 = 86_400_000;

/// Whether a node whose last heartbeat was at `heartbeat_ms` is live at `now_ms`.
pub fn is_live(heartbeat_ms: i64, now_ms: i64) -> bool {
    now_ms.saturating_sub(heartbeat_ms) < LIVE_FOR_MS
}

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
    fn a_node_is_live_until_its_heartbeat_is_too_old() {
        let now = 1_000_000;
        assert!(is_live(now, now));
        assert!(is_live(now - LIVE_FOR_MS + 1, now));
        assert!(!is_live(now - LIVE_FOR_MS, now));
        // A clock a little behind another node's is not "dead".
        assert!(is_live(now + 500, now));
    }

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

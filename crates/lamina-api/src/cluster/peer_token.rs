//! The token nodes of one cluster present to each other's internal endpoints
//! (`/_lamina/node/...`): HMAC-SHA256 of a fixed label under the server secret, which every
//! node of a cluster reads from the shared database, so every node derives the same token and
//! nothing else can.

use subtle::ConstantTimeEq;

use crate::ContentSigner;

/// The header that carries the token.
pub const PEER_TOKEN_HEADER: &str = "x-lamina-node-token";

/// What the key derivation is for; changing it changes every token.
const PURPOSE: &str = "node-to-node calls v1";

/// The cluster's node-to-node token, as hex.
#[derive(Clone)]
pub struct PeerToken(String);

impl PeerToken {
    /// The token derived from the server secret `signer` holds.
    pub fn derive(signer: &ContentSigner) -> Self {
        Self(hex::encode(signer.derive_key(PURPOSE)))
    }

    /// The header value to send.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `presented` is the token, compared in constant time.
    pub fn verify(&self, presented: Option<&str>) -> bool {
        presented.is_some_and(|p| bool::from(p.as_bytes().ct_eq(self.0.as_bytes())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_with_one_secret_share_one_token() {
        let a = PeerToken::derive(&ContentSigner::new(b"cluster secret".to_vec(), 60));
        let b = PeerToken::derive(&ContentSigner::new(b"cluster secret".to_vec(), 600));
        let other = PeerToken::derive(&ContentSigner::new(b"another secret".to_vec(), 60));
        assert!(b.verify(Some(a.as_str())));
        assert!(!other.verify(Some(a.as_str())));
        assert!(!a.verify(None));
        assert!(!a.verify(Some("")));
        assert_eq!(a.as_str().len(), 64);
    }
}

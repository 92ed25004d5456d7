//! SigV4 signing keys, derived once per key and scope and then reused.
//!
//! A signing key is `HMAC("AWS4" + secret, date) -> region -> service -> "aws4_request"`:
//! four HMACs that are the same for every request a key signs on one day in one region. The
//! cache maps (access key id, date, region, service) to the key and the secret it was derived
//! from; a hit counts only when that secret is the one the key file holds now, so a key whose
//! secret changed is derived afresh. Revocation needs nothing here: the verifier looks the key
//! up (and refuses a revoked one) before it asks for a signing key.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Most cached signing keys. Each client key needs one a day per region, so this is far
/// above real use; when it is reached (a flood of scopes), the cache starts again empty
/// rather than growing.
pub const MAX_CACHED_SIGNING_KEYS: usize = 4096;

type HmacSha256 = Hmac<Sha256>;

/// A derived signing key (an HMAC-SHA256 output).
pub type SigningKey = [u8; 32];

#[derive(Clone, PartialEq, Eq, Hash)]
struct Scope {
    access_key_id: String,
    date: String,
    region: String,
    service: String,
}

struct Derived {
    secret: String,
    key: SigningKey,
}

/// The cache; shared by every request the server verifies. Its `Debug` shows only its size.
#[derive(Default)]
pub struct SigningKeys {
    keys: Mutex<HashMap<Scope, Derived>>,
}

impl fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeys")
            .field("cached", &self.len())
            .finish()
    }
}

impl SigningKeys {
    /// The signing key of `secret` (the current secret of `access_key_id`) for the scope
    /// `date/region/service`, derived now unless cached.
    pub fn get(
        &self,
        access_key_id: &str,
        secret: &str,
        date: &str,
        region: &str,
        service: &str,
    ) -> SigningKey {
        let scope = Scope {
            access_key_id: access_key_id.to_owned(),
            date: date.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
        };
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(derived) = keys.get(&scope)
            && bool::from(derived.secret.as_bytes().ct_eq(secret.as_bytes()))
        {
            return derived.key;
        }
        let key = derive(secret, date, region, service);
        if keys.len() >= MAX_CACHED_SIGNING_KEYS && !keys.contains_key(&scope) {
            keys.clear();
        }
        keys.insert(
            scope,
            Derived {
                secret: secret.to_owned(),
                key,
            },
        );
        key
    }

    /// How many signing keys are cached.
    pub fn len(&self) -> usize {
        self.keys.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An HMAC-SHA256 keyed with `key`.
pub(super) fn hmac_of(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length, so this cannot fail; a fresh zero-key MAC keeps the
    // function total without an `expect`.
    HmacSha256::new_from_slice(key).unwrap_or_else(|_| HmacSha256::new(&Default::default()))
}

fn hmac(key: &[u8], data: &str) -> SigningKey {
    let mut mac = hmac_of(key);
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().into()
}

/// `HMAC("AWS4" + secret, date) -> region -> service -> "aws4_request"`.
fn derive(secret: &str, date: &str, region: &str, service: &str) -> SigningKey {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date);
    let k_region = hmac(&k_date, region);
    let k_service = hmac(&k_region, service);
    hmac(&k_service, "aws4_request")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_aws_documented_signing_key() {
        // AWS's worked example (General Reference, "Examples of how to derive a signing
        // key for Signature Version 4").
        let key = derive(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20120215",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex::encode(key),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    #[test]
    fn a_key_is_derived_once_per_scope_and_again_when_its_secret_changes() {
        let cache = SigningKeys::default();
        let first = cache.get("AK", "s1", "20261125", "us-west-2", "lambda");
        assert_eq!(
            cache.get("AK", "s1", "20261125", "us-west-2", "lambda"),
            first
        );
        assert_eq!(cache.len(), 1);
        // Another day or region is another scope.
        assert_ne!(
            cache.get("AK", "s1", "20261126", "us-west-2", "lambda"),
            first
        );
        assert_ne!(
            cache.get("AK", "s1", "20261125", "eu-west-1", "lambda"),
            first
        );
        assert_eq!(cache.len(), 3);
        // The same id with a new secret (a root key replaced through the environment) is
        // never given the old secret's key.
        let replaced = cache.get("AK", "s2", "20261125", "us-west-2", "lambda");
        assert_eq!(replaced, derive("s2", "20261125", "us-west-2", "lambda"));
        assert_ne!(replaced, first);
        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = SigningKeys::default();
        for i in 0..MAX_CACHED_SIGNING_KEYS + 10 {
            cache.get(&format!("AK{i}"), "s", "20261125", "us-west-2", "lambda");
            assert!(cache.len() <= MAX_CACHED_SIGNING_KEYS);
        }
        assert!(!cache.is_empty());
        assert_eq!(
            format!("{:?}", SigningKeys::default()),
            "SigningKeys { cached: 0 }"
        );
    }
}

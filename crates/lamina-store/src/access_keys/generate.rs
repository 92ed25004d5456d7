//! New key pairs and account ids, from the operating system's random source.

use super::AccessKeyRecord;
use super::error::AccessKeysError;
use super::secrets_key::SecretsKeyError;

/// Characters of generated access key ids (as AWS's: upper-case letters and digits 2-7).
pub(super) const KEY_ID_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Characters of generated secrets (as AWS's 40-character secrets).
const SECRET_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Prefix of the access key ids Lamina generates (AWS's long-term keys start with `AKIA`).
pub(super) const KEY_ID_PREFIX: &str = "LKIA";

/// Number of 12-digit account ids.
const ACCOUNT_IDS: u64 = 1_000_000_000_000;

/// A new key of `account_id`, its id unused in `keys`.
pub(super) fn new_record(
    keys: &[AccessKeyRecord],
    account_id: &str,
    root: bool,
    server_managed: bool,
    created: &str,
) -> AccessKeyRecord {
    let (access_key_id, secret_access_key) = loop {
        let (id, secret) = generate_key_pair();
        if !keys.iter().any(|k| k.access_key_id == id) {
            break (id, secret);
        }
    };
    AccessKeyRecord {
        access_key_id,
        secret_access_key,
        account_id: account_id.to_owned(),
        created: created.to_owned(),
        root,
        server_managed,
    }
}

/// A uniformly random 12-digit account id (leading zeros allowed, as on AWS).
pub(crate) fn random_account_id() -> Result<String, AccessKeysError> {
    // Rejection sampling: the largest multiple of 10^12 below 2^64 keeps every id equally
    // likely.
    let bound = u64::MAX - u64::MAX % ACCOUNT_IDS;
    loop {
        let n = getrandom::u64().map_err(SecretsKeyError::Random)?;
        if n < bound {
            return Ok(format!("{:012}", n % ACCOUNT_IDS));
        }
    }
}

/// A new random key pair: a 20-character id starting with `LKIA` and a 40-character secret,
/// from the operating system's random source (through the random bits of UUID v4s).
pub fn generate_key_pair() -> (String, String) {
    let random = |n: usize| -> Vec<u8> {
        let mut bytes = Vec::with_capacity(n + 16);
        while bytes.len() < n {
            // The low 62 bits of a v4 UUID are random (its version and variant bits are
            // higher up): take 7 bytes of them.
            let u = uuid::Uuid::new_v4().as_u128();
            bytes.extend_from_slice(&u.to_le_bytes()[..7]);
        }
        bytes.truncate(n);
        bytes
    };
    let id: String = random(16)
        .iter()
        .map(|b| char::from(KEY_ID_ALPHABET[usize::from(b & 31)]))
        .collect();
    let secret: String = random(40)
        .iter()
        .map(|b| char::from(SECRET_ALPHABET[usize::from(b & 63)]))
        .collect();
    (format!("{KEY_ID_PREFIX}{id}"), secret)
}

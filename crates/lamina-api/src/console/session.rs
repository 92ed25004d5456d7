//! Who is signed in to the console: a session cookie (HttpOnly, SameSite=Strict, 12 hours)
//! naming the access key and its account, signed with a key derived from the server secret,
//! and the CSRF token every form that changes something must carry back.
//!
//! The key is looked up again on every request, so revoking it signs its sessions out. Under
//! `--auth none` there is no sign-in: every page acts as the server's default account.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use hmac::{Hmac, Mac};
use lamina_types::{AccountId, Scope};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::auth::AuthMode;

/// The session cookie's name.
pub(super) const COOKIE: &str = "lamina_session";

/// How long a sign-in lasts.
const SESSION_SECS: u64 = 12 * 3600;

/// The signed-in caller of a console page.
pub(crate) struct Session {
    /// The account and region every action runs in (the console uses the server's default
    /// region).
    pub(crate) scope: Scope,
    /// The access key signed in with; `None` under `--auth none`.
    pub(crate) access_key_id: Option<String>,
    /// The token a form must send back as `csrf`.
    pub(crate) csrf: String,
}

impl Session {
    /// Whether `token` is this session's CSRF token (compared in constant time).
    pub(crate) fn csrf_matches(&self, token: &str) -> bool {
        bool::from(self.csrf.as_bytes().ct_eq(token.as_bytes()))
    }
}

/// Signs and checks session cookies.
pub(crate) struct Sessions {
    key: Vec<u8>,
}

impl Sessions {
    /// Sessions signed with `key`.
    pub(crate) fn new(key: Vec<u8>) -> Self {
        Self { key }
    }

    /// The server's sessions: signed with a key derived from the server secret, so they
    /// survive restarts.
    pub(crate) fn for_server(state: &AppState) -> Self {
        Self::new(state.content.derive_key("console session"))
    }

    fn mac(&self, parts: &[&str]) -> Hmac<Sha256> {
        // HMAC takes keys of any length, so this cannot fail.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key)
            .unwrap_or_else(|_| Hmac::<Sha256>::new(&Default::default()));
        for p in parts {
            mac.update(p.as_bytes());
            mac.update(b"\n");
        }
        mac
    }

    fn csrf_of(&self, nonce: &str) -> String {
        hex::encode(self.mac(&["csrf", nonce]).finalize().into_bytes())
    }

    /// The `Set-Cookie` value of a new session of `access_key_id`.
    pub(crate) fn issue(&self, access_key_id: &str, account: &AccountId) -> String {
        let expires = (now_secs() + SESSION_SECS).to_string();
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let fields = [access_key_id, account.as_str(), &expires, &nonce];
        let mac = hex::encode(self.mac(&fields).finalize().into_bytes());
        format!(
            "{COOKIE}={}.{mac}; Path=/; HttpOnly; SameSite=Strict; Max-Age={SESSION_SECS}",
            fields.join(".")
        )
    }

    /// The cookie fields of a genuine, unexpired session: (key, account, nonce).
    fn open<'c>(&self, cookie: &'c str) -> Option<(&'c str, &'c str, &'c str)> {
        let parts: Vec<&str> = cookie.split('.').collect();
        let [key, account, expires, nonce, mac] = parts.as_slice() else {
            return None;
        };
        let mac = hex::decode(mac).ok()?;
        self.mac(&[key, account, expires, nonce])
            .verify_slice(&mac)
            .ok()?;
        (expires.parse::<u64>().ok()? > now_secs()).then_some((*key, *account, *nonce))
    }
}

/// The `Set-Cookie` value that ends a session.
pub(crate) fn cleared_cookie() -> String {
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn cookie_value<'h>(parts: &'h Parts, name: &str) -> Option<&'h str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// A page that needs a signed-in caller sends anyone else to the sign-in page.
pub(crate) struct SignInFirst;

impl IntoResponse for SignInFirst {
    fn into_response(self) -> Response {
        Redirect::to("/console/sign-in").into_response()
    }
}

impl FromRequestParts<Arc<AppState>> for Session {
    type Rejection = SignInFirst;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let sessions = &Sessions::for_server(state);
        let keys = match &state.auth {
            AuthMode::None => {
                return Ok(Session {
                    scope: Scope::new(state.default_account.clone(), state.default_region.clone()),
                    access_key_id: None,
                    csrf: sessions.csrf_of("auth-none"),
                });
            }
            AuthMode::SigV4(keys) => keys,
        };
        let cookie = cookie_value(parts, COOKIE).ok_or(SignInFirst)?;
        let (key, account, nonce) = sessions.open(cookie).ok_or(SignInFirst)?;
        // Revoked keys (and keys moved to another account) end their sessions at once.
        let credential = keys.store().lookup(key).ok_or(SignInFirst)?;
        if credential.account.as_str() != account {
            return Err(SignInFirst);
        }
        Ok(Session {
            scope: Scope::new(credential.account, state.default_region.clone()),
            access_key_id: Some(key.to_owned()),
            csrf: sessions.csrf_of(nonce),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_cookies_open_and_forged_ones_do_not() {
        let sessions = Sessions::new(b"k".to_vec());
        let account = AccountId::parse("123456789012").unwrap();
        let set = sessions.issue("LKIAEXAMPLE", &account);
        let value = set
            .strip_prefix("lamina_session=")
            .and_then(|s| s.split(';').next())
            .unwrap();
        let (key, acct, nonce) = sessions.open(value).unwrap();
        assert_eq!((key, acct), ("LKIAEXAMPLE", "123456789012"));
        assert_eq!(sessions.csrf_of(nonce).len(), 64);
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"));
        let forged = value.replacen("123456789012", "222233334444", 1);
        assert!(sessions.open(&forged).is_none());
        assert!(Sessions::new(b"other".to_vec()).open(value).is_none());
        assert!(sessions.open("a.b.c").is_none());
    }
}

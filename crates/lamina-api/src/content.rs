//! `Content.Location` and `Code.Location` URLs: a download route on this server, signed with
//! the server secret for the account that asked (its id is part of what is signed) and valid
//! for a limited time, standing in for S3 presigned URLs; or, with `--content-urls s3` and
//! an S3 blob store, the store's own presigned GET URLs, as AWS gives.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use lamina_store::{BlobError, BlobStore};
use lamina_types::layer::Digest;
use lamina_types::{AccountId, LambdaError};
use sha2::Sha256;

use crate::{ApiError, AppState};

type HmacSha256 = Hmac<Sha256>;

/// Signs and checks download URLs for stored ZIPs.
pub struct ContentSigner {
    secret: Vec<u8>,
    ttl_secs: u64,
    /// The blob store whose presigned URLs are handed out instead of this server's route.
    presigner: Option<Arc<dyn BlobStore>>,
}

impl ContentSigner {
    /// A signer with the server's persistent secret; URLs live `ttl_secs` seconds.
    pub fn new(secret: Vec<u8>, ttl_secs: u64) -> Self {
        Self {
            secret,
            ttl_secs,
            presigner: None,
        }
    }

    /// URLs are the presigned GET URLs of `blobs` (an S3 store), for `ttl_secs` each: clients
    /// then download from the store, which must be reachable from them. Where the store gives
    /// no URL, or fails to, this server's route stands in.
    #[must_use]
    pub fn presigned_by(mut self, blobs: Arc<dyn BlobStore>) -> Self {
        self.presigner = Some(blobs);
        self
    }

    /// A key for another of the server's signatures (`purpose` names it), derived from the
    /// server secret so that it survives restarts and never equals the URL-signing key.
    pub(crate) fn derive_key(&self, purpose: &str) -> Vec<u8> {
        let mut mac = HmacSha256::new_from_slice(&self.secret)
            .unwrap_or_else(|_| HmacSha256::new(&Default::default()));
        mac.update(b"lamina derived key\n");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    fn mac(&self, digest: &str, account: &str, expires: u64) -> HmacSha256 {
        // HMAC takes keys of any length, so this cannot fail; an empty key is still a key.
        let mut mac = HmacSha256::new_from_slice(&self.secret)
            .unwrap_or_else(|_| HmacSha256::new(&Default::default()));
        mac.update(digest.as_bytes());
        mac.update(b":");
        mac.update(account.as_bytes());
        mac.update(b":");
        mac.update(expires.to_string().as_bytes());
        mac
    }

    /// A URL through which `account` downloads the blob `digest` until `now + ttl`: the blob
    /// store's presigned URL when so configured, else the route on `host`.
    pub async fn url(&self, host: &str, digest: &Digest, account: &AccountId) -> String {
        if let Some(blobs) = &self.presigner {
            match blobs
                .presigned_get(digest, Duration::from_secs(self.ttl_secs))
                .await
            {
                Ok(Some(url)) => return url,
                Ok(None) => {}
                Err(e) => tracing::warn!(
                    error = %e,
                    layer_digest = %digest.to_hex(),
                    "the blob store gave no presigned URL; the server's own route stands in"
                ),
            }
        }
        self.route_url(host, digest, account)
    }

    /// A URL of this server's download route on `host`.
    fn route_url(&self, host: &str, digest: &Digest, account: &AccountId) -> String {
        let hex = digest.to_hex();
        let expires = now_secs() + self.ttl_secs;
        let signature = hex::encode(
            self.mac(&hex, account.as_str(), expires)
                .finalize()
                .into_bytes(),
        );
        format!(
            "http://{host}/_lamina/content/sha256/{hex}?account={account}&expires={expires}\
             &signature={signature}"
        )
    }

    /// Whether a URL's parameters are genuine and still valid.
    fn verify(&self, hex: &str, account: &str, expires: &str, signature: &str) -> bool {
        let (Ok(expires), Ok(signature)) = (expires.parse::<u64>(), hex::decode(signature)) else {
            return false;
        };
        expires >= now_secs()
            && self
                .mac(hex, account, expires)
                .verify_slice(&signature)
                .is_ok()
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `GET /_lamina/content/sha256/{hex}?expires=..&signature=..`: the ZIP bytes, or 403.
pub async fn download(
    State(state): State<Arc<AppState>>,
    Path(hex): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let denied = || {
        ApiError(LambdaError::AccessDenied(
            "The download URL is invalid or has expired. Get a new one with GetLayerVersion."
                .to_owned(),
        ))
    };
    let field = |k: &str| query.get(k).map(String::as_str).unwrap_or_default();
    if !state
        .content
        .verify(&hex, field("account"), field("expires"), field("signature"))
    {
        return Err(denied());
    }
    let digest = Digest::from_hex(&hex).ok_or_else(denied)?;
    let blob = state
        .layers
        .artifacts()
        .blobs()
        .open(&digest)
        .await
        .map_err(|e| match e {
            BlobError::NotFound(_) => ApiError(LambdaError::ResourceNotFound(
                "The resource you requested does not exist.".into(),
            )),
            e => ApiError(LambdaError::Service(format!(
                "reading stored content failed: {e}"
            ))),
        })?;
    let length = blob.size;
    let mut response = Body::from_stream(blob.stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_urls_verify_and_forgeries_do_not() {
        let signer = ContentSigner::new(b"secret".to_vec(), 600);
        let digest = Digest([3; 32]);
        let account = AccountId::parse("123456789012").unwrap();
        let url = signer.route_url("127.0.0.1:8900", &digest, &account);
        let query = url.split_once('?').unwrap().1;
        let params: HashMap<_, _> = query.split('&').filter_map(|p| p.split_once('=')).collect();
        let hex = digest.to_hex();
        let (a, e, s) = (params["account"], params["expires"], params["signature"]);
        assert_eq!(a, "123456789012");
        assert!(signer.verify(&hex, a, e, s));
        let later = (e.parse::<u64>().unwrap() + 1).to_string();
        assert!(!signer.verify(&hex, a, &later, s));
        assert!(!signer.verify(&Digest([4; 32]).to_hex(), a, e, s));
        assert!(!signer.verify(&hex, "222233334444", e, s));
        let other = ContentSigner::new(b"other".to_vec(), 600);
        assert!(!other.verify(&hex, a, e, s));
        assert!(!signer.verify(&hex, a, "1", s));
    }
}

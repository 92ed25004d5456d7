//! Downloads of the `Content.Location` and `Code.Location` URLs the API hands out.

use anyhow::{Context as _, bail};

/// Largest ZIP a download accepts: a layer or function ZIP is at most 250 MB unzipped, so
/// its ZIP is smaller still.
pub const MAX_DOWNLOAD_BYTES: u64 = 256 * 1024 * 1024;

/// Fetches `url` completely: a URL signed by a Lamina server (plain HTTP), or an S3
/// presigned URL from AWS itself (HTTPS, checked against the Mozilla root certificates).
pub(crate) async fn download(url: &str) -> anyhow::Result<Vec<u8>> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        bail!("cannot download {url}: not an http:// or https:// URL");
    }
    let owned = url.to_owned();
    tokio::task::spawn_blocking(move || fetch(&owned))
        .await
        .context("the download task failed")?
        .with_context(|| format!("downloading {}", without_query(url)))
}

fn fetch(url: &str) -> anyhow::Result<Vec<u8>> {
    let response = ureq::get(url).call()?;
    let bytes = response
        .into_body()
        .with_config()
        .limit(MAX_DOWNLOAD_BYTES)
        .read_to_vec()?;
    Ok(bytes)
}

/// The URL without its signature, for messages.
fn without_query(url: &str) -> &str {
    url.split_once('?').map_or(url, |(path, _)| path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_hide_the_signature() {
        assert_eq!(
            without_query("http://h/_lamina/content/sha256/ab?expires=1&signature=s"),
            "http://h/_lamina/content/sha256/ab"
        );
    }
}

//! The key file as it is on disk, and its atomic replacement.
//!
//! Version 2 (this one) keeps each secret sealed (`sealedSecret`, see [`super::secrets_key`]);
//! files of version 1 (no `version` field) kept it in plain text (`secretAccessKey`). Both are
//! read; only version 2 is written, so the first write after an upgrade seals every secret.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The version this code writes.
pub(super) const CURRENT_VERSION: u32 = 2;

/// The whole file. No `Debug`: a version-1 file holds secrets in plain text.
#[derive(Default, Serialize, Deserialize)]
pub(super) struct StoredDocument {
    /// 2 for sealed secrets; absent (0) in version-1 files.
    #[serde(default)]
    pub version: u32,
    /// The keys, in creation order (the root key first).
    pub keys: Vec<StoredKey>,
}

/// One key as stored.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct StoredKey {
    pub access_key_id: String,
    pub account_id: String,
    pub created: String,
    #[serde(default)]
    pub root: bool,
    /// Whether the server re-creates this key when it is missing; absent in version-1 files,
    /// whose only root keys were the server's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_managed: Option<bool>,
    /// The secret, sealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_secret: Option<String>,
    /// The secret in plain text: version-1 files only, never written.
    #[serde(default, skip_serializing)]
    pub secret_access_key: Option<String>,
}

/// Replaces `path` with `text` whole: written to `<path>.tmp` with `mode`, synced, renamed
/// over `path`, and the directory synced, so that a crash leaves the old file or the new one.
/// The caller holds the key file's lock, so the temporary name is its alone.
pub(super) fn replace_file(
    path: &Path,
    text: &[u8],
    mode: u32,
) -> Result<(), (&'static str, io::Error)> {
    let temporary = path.with_extension("json.tmp");
    // Left by a writer that crashed: ours to replace, under the lock.
    let _ = fs::remove_file(&temporary);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&temporary)
        .map_err(|e| ("creating", e))?;
    // The mode given at creation is filtered by the umask; set it outright.
    file.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(|e| ("restricting", e))?;
    file.write_all(text)
        .and_then(|()| file.sync_all())
        .map_err(|e| ("writing", e))?;
    fs::rename(&temporary, path).map_err(|e| ("replacing", e))?;
    sync_dir(path.parent().unwrap_or(Path::new("."))).map_err(|e| ("syncing the directory of", e))
}

/// Makes the names in `dir` durable (a rename or link is not until its directory is synced).
pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

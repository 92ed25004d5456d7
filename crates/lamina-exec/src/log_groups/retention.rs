//! Retention policies of log groups (PutRetentionPolicy), enforced: events older than the
//! retention are never read, and files holding only such events are removed (a function's
//! current file is emptied, as the total cap empties it, since its sink holds it open).
//!
//! The policies are stored in the database, shared by a cluster's nodes; before, they were
//! `<logs>/retention.json` (`{account: {group: days}}`), which `lamina serve` imports once.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::LogsError;

/// The values `retentionInDays` may take, as AWS's model lists them.
pub const RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

/// Every account's policies.
pub type Policies = BTreeMap<String, BTreeMap<String, u32>>;

/// The file of the policies.
fn policy_path(logs_dir: &Path) -> PathBuf {
    logs_dir.join("retention.json")
}

/// The policies of the legacy file (none when it is missing or unreadable).
pub fn legacy_policies(logs_dir: &Path) -> Policies {
    fs::read(policy_path(logs_dir))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// Renames the legacy file once its policies are in the database (kept, not removed, so a
/// downgrade can take it back by hand).
pub fn retire_legacy_policies(logs_dir: &Path) -> std::io::Result<()> {
    let path = policy_path(logs_dir);
    if !path.exists() {
        return Ok(());
    }
    fs::rename(&path, logs_dir.join("retention.json.imported"))
}

/// Checks `days` against AWS's list.
pub fn validate_days(days: i64) -> Result<u32, LogsError> {
    u32::try_from(days)
        .ok()
        .filter(|d| RETENTION_DAYS.contains(d))
        .ok_or_else(|| {
            LogsError::InvalidParameter(format!(
                "1 validation error detected: Value '{days}' at 'retentionInDays' failed to \
                 satisfy constraint: Member must satisfy enum value set: {RETENTION_DAYS:?}"
            ))
        })
}

/// The oldest timestamp kept at `now_ms` under a retention of `days`.
pub fn cutoff(days: u32, now_ms: i64) -> i64 {
    now_ms.saturating_sub(i64::from(days).saturating_mul(DAY_MS))
}

/// Removes the files (of `files`) last written before `cutoff_ms`: all their events are
/// expired. A current file (`*.log`) is emptied instead, since its sink holds it open in
/// append mode. Returns the bytes freed.
pub fn expire_files(files: &[PathBuf], cutoff_ms: i64) -> u64 {
    let Some(cutoff) = u64::try_from(cutoff_ms)
        .ok()
        .map(|ms| SystemTime::UNIX_EPOCH + Duration::from_millis(ms))
    else {
        return 0;
    };
    let mut freed = 0;
    for path in files {
        let Ok(meta) = fs::metadata(path) else {
            continue;
        };
        if meta.modified().is_ok_and(|m| m >= cutoff) || meta.len() == 0 {
            continue;
        }
        let current = path.extension().is_some_and(|e| e == "log");
        let done = if current {
            OpenOptions::new()
                .write(true)
                .open(path)
                .and_then(|f| f.set_len(0))
        } else {
            fs::remove_file(path)
        };
        match done {
            Ok(()) => freed += meta.len(),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "could not expire a function log");
            }
        }
    }
    freed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_awss_values_are_accepted() {
        assert_eq!(validate_days(7).unwrap(), 7);
        assert_eq!(validate_days(3653).unwrap(), 3653);
        for bad in [0, 2, -1, 3654, i64::MAX] {
            assert!(validate_days(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_legacy_file_is_read_then_retired() {
        let dir = tempfile::tempdir().unwrap();
        assert!(legacy_policies(dir.path()).is_empty());
        retire_legacy_policies(dir.path()).unwrap();
        fs::write(
            dir.path().join("retention.json"),
            r#"{"123456789012": {"/aws/lambda/f": 7}}"#,
        )
        .unwrap();
        let mut p = Policies::new();
        p.entry("123456789012".into())
            .or_default()
            .insert("/aws/lambda/f".into(), 7);
        assert_eq!(legacy_policies(dir.path()), p);
        retire_legacy_policies(dir.path()).unwrap();
        assert!(legacy_policies(dir.path()).is_empty());
        assert!(dir.path().join("retention.json.imported").exists());
    }

    #[test]
    fn files_older_than_the_cutoff_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (current, rotated, fresh) = (
            dir.path().join("a.f.log"),
            dir.path().join("a.f.log.1"),
            dir.path().join("a.g.log"),
        );
        for p in [&current, &rotated, &fresh] {
            fs::write(p, "x\n").unwrap();
        }
        let old = SystemTime::now() - Duration::from_secs(3 * 86_400);
        for p in [&current, &rotated] {
            fs::File::options()
                .write(true)
                .open(p)
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
        let now = lamina_types::timestamp::now_millis();
        let freed = expire_files(
            &[rotated.clone(), current.clone(), fresh.clone()],
            cutoff(1, now),
        );
        assert_eq!(freed, 4);
        assert!(!rotated.exists());
        assert_eq!(fs::metadata(&current).unwrap().len(), 0);
        assert_eq!(fs::metadata(&fresh).unwrap().len(), 2);
    }
}

//! Log retention policies from before they were in the database: `<logs>/retention.json`,
//! moved into the database at the first start of a version that keeps them there.

use std::path::Path;

use anyhow::Context;
use lamina_store::LogRetentionStore;

/// Moves the retention policies of `<logs>/retention.json` (kept there before they were in the
/// database) into the database, once; a policy already in the database wins.
pub(crate) async fn import(logs_dir: &Path, store: &dyn LogRetentionStore) -> anyhow::Result<()> {
    let legacy = lamina_exec::log_groups::legacy_policies(logs_dir);
    if legacy.is_empty() {
        return Ok(());
    }
    for (account, groups) in &legacy {
        let present = store.retention_policies(account).await?;
        for (group, days) in groups {
            if !present.contains_key(group) {
                store.put_retention_policy(account, group, *days).await?;
            }
        }
    }
    lamina_exec::log_groups::retire_legacy_policies(logs_dir)
        .context("renaming the imported retention.json")?;
    tracing::info!("log retention policies moved from retention.json into the database");
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use lamina_store::SqliteStore;
    use lamina_types::AccountId;

    use super::*;

    #[tokio::test]
    async fn the_file_moves_into_the_database_once_without_overwriting() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        std::fs::create_dir(&logs).unwrap();
        let account = AccountId::parse("123456789012").unwrap();
        let store = SqliteStore::open(&dir.path().join("lamina.db"), &account)
            .await
            .unwrap();
        // Nothing to import: nothing happens.
        import(&logs, &store).await.unwrap();
        store
            .put_retention_policy("123456789012", "/aws/lambda/g", 30)
            .await
            .unwrap();
        std::fs::write(
            logs.join("retention.json"),
            r#"{"123456789012": {"/aws/lambda/f": 7, "/aws/lambda/g": 1}}"#,
        )
        .unwrap();
        import(&logs, &store).await.unwrap();
        let expected: BTreeMap<String, u32> =
            [("/aws/lambda/f".into(), 7), ("/aws/lambda/g".into(), 30)].into();
        assert_eq!(
            store.retention_policies("123456789012").await.unwrap(),
            expected
        );
        assert!(!logs.join("retention.json").exists());
        assert!(logs.join("retention.json.imported").exists());
    }
}

//! Log groups' retention policies (CloudWatch Logs' PutRetentionPolicy): in the database, so
//! every node of a cluster applies the same policy to the logs it holds.

use std::collections::BTreeMap;

use crate::metadata::StoreError;

/// Retention policies by account and log group name.
#[async_trait::async_trait]
pub trait LogRetentionStore: Send + Sync {
    /// The policies of `account`: each group's retention in days (groups without a policy are
    /// absent).
    async fn retention_policies(&self, account: &str) -> Result<BTreeMap<String, u32>, StoreError>;

    /// Sets the retention of group `group` of `account` to `days` (checked by the caller
    /// against AWS's list).
    async fn put_retention_policy(
        &self,
        account: &str,
        group: &str,
        days: u32,
    ) -> Result<(), StoreError>;

    /// Removes the policy of group `group` of `account`; removing none succeeds.
    async fn delete_retention_policy(&self, account: &str, group: &str) -> Result<(), StoreError>;
}

/// A stored number of days read back, or why the row is corrupt.
pub(crate) fn stored_days(days: i64) -> Result<u32, StoreError> {
    u32::try_from(days).map_err(|_| StoreError::Corrupt {
        table: "log_retention",
        reason: format!("{days} is not a number of days"),
    })
}

#[cfg(test)]
mod tests;

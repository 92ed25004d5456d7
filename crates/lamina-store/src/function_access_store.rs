//! The function access half of the metadata contract: tags, reserved concurrency and
//! resource policies. Each change is one atomic method, so another
//! backend can give the same guarantees; policies go with their function, version or alias.

use std::collections::BTreeMap;

use lamina_types::Scope;
use lamina_types::function_policy::FunctionPolicy;

use crate::metadata::StoreError;

/// What setting a function's reserved concurrency found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReserveOutcome {
    /// Recorded.
    Set,
    /// The function does not exist.
    Missing,
    /// The account's reservations would add up to more than allowed; nothing was written.
    OverLimit,
}

/// Tags, reserved concurrency and resource policies of functions; implemented by the same
/// stores as [`crate::FunctionStore`], which requires it.
#[async_trait::async_trait]
pub trait FunctionAccessStore: Send + Sync {
    /// Replaces a function's tags if they are still `expected`; `false` otherwise (changed
    /// meanwhile, or the function is gone), writing nothing.
    async fn replace_tags(
        &self,
        scope: &Scope,
        name: &str,
        expected: &BTreeMap<String, String>,
        tags: &BTreeMap<String, String>,
    ) -> Result<bool, StoreError>;

    /// Sets (`Some`) or removes (`None`) a function's reserved concurrency, unless the sum of
    /// every reservation of the account, this one included, would exceed `max_total`.
    async fn set_reserved_concurrency(
        &self,
        scope: &Scope,
        name: &str,
        reserved: Option<u32>,
        max_total: u32,
    ) -> Result<ReserveOutcome, StoreError>;

    /// The sum of the reserved concurrency of every function of an account in a region.
    async fn reserved_concurrency_total(&self, scope: &Scope) -> Result<u64, StoreError>;

    /// The policy of a function (`qualifier` empty), version or alias; the empty policy when
    /// none was ever written. Whether the function, version or alias exists is not checked.
    async fn function_policy(
        &self,
        scope: &Scope,
        name: &str,
        qualifier: &str,
    ) -> Result<FunctionPolicy, StoreError>;

    /// Replaces a policy if its revision is still `expected_revision` (empty: none written
    /// yet); `false` otherwise, writing nothing. Fails with a foreign key error when the
    /// function is gone.
    async fn replace_function_policy(
        &self,
        scope: &Scope,
        name: &str,
        qualifier: &str,
        expected_revision: &str,
        policy: &FunctionPolicy,
    ) -> Result<bool, StoreError>;
}

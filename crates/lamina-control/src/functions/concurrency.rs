//! PutFunctionConcurrency, GetFunctionConcurrency and DeleteFunctionConcurrency: a function's
//! reserved concurrency, carved out of its account's limit, which must keep at least
//! [`MIN_UNRESERVED_CONCURRENT_EXECUTIONS`] unreserved. The executor enforces it from the
//! spec each invocation is resolved into (`resolve.rs`).

use lamina_store::ReserveOutcome;
use lamina_types::function_arn::NameShape;
use lamina_types::limits::{ACCOUNT_CONCURRENT_EXECUTIONS, MIN_UNRESERVED_CONCURRENT_EXECUTIONS};
use lamina_types::validation::{Constraint, Violations};
use lamina_types::{ConcurrencyLimit, LambdaError, Scope};

use super::{FunctionService, storage_error, validate};

/// The most an account may reserve in all.
const MAX_RESERVED_TOTAL: u32 =
    ACCOUNT_CONCURRENT_EXECUTIONS - MIN_UNRESERVED_CONCURRENT_EXECUTIONS;

impl FunctionService {
    /// PutFunctionConcurrency: reserves `reserved` concurrent executions for the function.
    pub async fn put_concurrency(
        &self,
        scope: &Scope,
        function_name: &str,
        reserved: Option<i64>,
    ) -> Result<u32, LambdaError> {
        let mut v = Violations::new();
        let fref = validate::function_name(&mut v, function_name, NameShape::Plain);
        match reserved {
            None => v.add_null("reservedConcurrentExecutions"),
            Some(n) if n < 0 => v.add(
                "reservedConcurrentExecutions",
                &n.to_string(),
                Constraint::MinValue(0),
            ),
            Some(_) => {}
        }
        v.into_result()?;
        let name = self.unqualified(scope, fref)?;
        // Anything above the account's limit can never fit: refused as any other excess.
        let reserved = reserved
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n <= MAX_RESERVED_TOTAL)
            .ok_or_else(below_minimum)?;
        let provisioned = self.provisioned_total(scope, &name, None).await?;
        if u64::from(reserved) < provisioned {
            // Guessed wording: AWS refuses a reservation below the function's provisioned
            // concurrency, but its text for it was not found.
            return Err(LambdaError::InvalidParameterValue(format!(
                "Specified ReservedConcurrentExecutions for function is less than the \
                 function's provisioned concurrency [{provisioned}]."
            )));
        }
        self.set_reserved(scope, &name, Some(reserved)).await?;
        Ok(reserved)
    }

    /// GetFunctionConcurrency: the function's reserved concurrency, if any.
    pub async fn get_concurrency(
        &self,
        scope: &Scope,
        function_name: &str,
    ) -> Result<Option<u32>, LambdaError> {
        let mut v = Violations::new();
        let fref = validate::function_name(&mut v, function_name, NameShape::Plain);
        v.into_result()?;
        let name = self.unqualified(scope, fref)?;
        let function = self
            .store
            .function(scope, &name)
            .await
            .map_err(storage_error)?
            .ok_or_else(|| self.not_found(scope, &name, None))?;
        Ok(function.reserved_concurrency)
    }

    /// DeleteFunctionConcurrency: the function goes back to the account's unreserved pool.
    pub async fn delete_concurrency(
        &self,
        scope: &Scope,
        function_name: &str,
    ) -> Result<(), LambdaError> {
        let mut v = Violations::new();
        let fref = validate::function_name(&mut v, function_name, NameShape::Plain);
        v.into_result()?;
        let name = self.unqualified(scope, fref)?;
        self.set_reserved(scope, &name, None).await
    }

    /// Refuses provisioned concurrency of `requested` on `qualifier` that would take the
    /// function's provisioned total (its other qualifiers' included) above its reservation.
    pub(super) async fn check_provisioned_within_reserved(
        &self,
        scope: &Scope,
        name: &str,
        qualifier: &str,
        requested: u32,
    ) -> Result<(), LambdaError> {
        let reserved = self
            .store
            .function(scope, name)
            .await
            .map_err(storage_error)?
            .and_then(|f| f.reserved_concurrency);
        let Some(reserved) = reserved else {
            return Ok(());
        };
        let others = self.provisioned_total(scope, name, Some(qualifier)).await?;
        if others + u64::from(requested) > u64::from(reserved) {
            // AWS's text (LocalStack's, recorded against AWS).
            return Err(LambdaError::InvalidParameterValue(
                "Requested Provisioned Concurrency should not be greater than the \
                 reservedConcurrentExecution for function"
                    .to_owned(),
            ));
        }
        Ok(())
    }

    /// The provisioned concurrency requested on every qualifier of a function but `except`.
    async fn provisioned_total(
        &self,
        scope: &Scope,
        name: &str,
        except: Option<&str>,
    ) -> Result<u64, LambdaError> {
        let configs = self
            .store
            .provisioned_concurrency_configs(scope, name, None, u32::MAX)
            .await
            .map_err(storage_error)?;
        Ok(configs
            .iter()
            .filter(|c| Some(c.qualifier.as_str()) != except)
            .map(|c| u64::from(c.requested))
            .sum())
    }

    /// `UnreservedConcurrentExecutions` of the account.
    pub(super) async fn unreserved_pool(&self, scope: &Scope) -> Result<u32, LambdaError> {
        let reserved = self
            .store
            .reserved_concurrency_total(scope)
            .await
            .map_err(storage_error)?;
        Ok(unreserved_of(reserved))
    }

    /// What an invocation of a function reserving `reserved` is admitted under.
    pub(super) async fn concurrency_limit(
        &self,
        scope: &Scope,
        reserved: Option<u32>,
    ) -> Result<ConcurrencyLimit, LambdaError> {
        Ok(match reserved {
            Some(n) => ConcurrencyLimit::Reserved(n),
            None => ConcurrencyLimit::Unreserved {
                pool: self.unreserved_pool(scope).await?,
            },
        })
    }

    async fn set_reserved(
        &self,
        scope: &Scope,
        name: &str,
        reserved: Option<u32>,
    ) -> Result<(), LambdaError> {
        let outcome = self
            .store
            .set_reserved_concurrency(scope, name, reserved, MAX_RESERVED_TOTAL)
            .await;
        // The account's unreserved pool changed: every function of it resolves anew.
        self.resolved.invalidate_scope(scope);
        match outcome.map_err(storage_error)? {
            ReserveOutcome::Set => {
                tracing::info!(function = %name, reserved = ?reserved, "reserved concurrency set");
                Ok(())
            }
            ReserveOutcome::Missing => Err(self.not_found(scope, name, None)),
            ReserveOutcome::OverLimit => Err(below_minimum()),
        }
    }
}

/// The account's limit less `reserved`, never below zero.
fn unreserved_of(reserved: u64) -> u32 {
    let left = u64::from(ACCOUNT_CONCURRENT_EXECUTIONS).saturating_sub(reserved);
    u32::try_from(left).unwrap_or(0)
}

/// AWS's refusal of a reservation that leaves the account less than its unreserved minimum.
fn below_minimum() -> LambdaError {
    LambdaError::InvalidParameterValue(format!(
        "Specified ReservedConcurrentExecutions for function decreases account's \
         UnreservedConcurrentExecution below its minimum value of \
         [{MIN_UNRESERVED_CONCURRENT_EXECUTIONS}]."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unreserved_pool_is_what_reservations_leave() {
        assert_eq!(unreserved_of(0), 1000);
        assert_eq!(unreserved_of(900), 100);
        assert_eq!(unreserved_of(5000), 0);
        assert_eq!(MAX_RESERVED_TOTAL, 900);
    }
}

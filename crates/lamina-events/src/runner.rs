//! Running one attempt of a queued event: resolve the function as it is now (it may have
//! changed or gone since the event was accepted), then run it in the executor; and reading
//! the asynchronous invocation configuration the event's qualifier has now.

use std::sync::Arc;

use bytes::Bytes;
use lamina_control::FunctionService;
use lamina_control::functions::AsyncInvokeSettings;
use lamina_exec::{Executor, InvokeRequest};
use lamina_store::{NewEvent, QueuedEvent};
use lamina_types::LambdaError;
use tokio::sync::Notify;

use crate::retry::{Attempt, Response};

/// What the queue runs events with. The real one is [`LaminaRunner`]; tests use fakes.
#[async_trait::async_trait]
pub trait EventRunner: Send + Sync + 'static {
    /// Runs one attempt of `event`, with the event's own request id.
    async fn run(&self, event: QueuedEvent) -> Attempt;

    /// The configuration of the qualifier `event` was invoked with (AWS's defaults when it
    /// has none, or when it cannot be read).
    async fn settings(&self, event: &NewEvent) -> AsyncInvokeSettings;

    /// Appends a line to a function's log (`log` from `lamina_exec::logs::log_name`), for
    /// events discarded without running.
    fn note(&self, log: &str, line: &str);

    /// Notified (`notify_waiters`) whenever capacity frees up, so throttled events retry then.
    fn capacity_freed(&self) -> Arc<Notify>;
}

/// Resolves with the control plane and runs with the executor.
pub struct LaminaRunner {
    functions: Arc<FunctionService>,
    executor: Executor,
}

impl LaminaRunner {
    /// A runner over the server's function service and executor.
    pub fn new(functions: Arc<FunctionService>, executor: Executor) -> Self {
        Self {
            functions,
            executor,
        }
    }
}

#[async_trait::async_trait]
impl EventRunner for LaminaRunner {
    async fn run(&self, queued: QueuedEvent) -> Attempt {
        let event = queued.event;
        let resolved = match self
            .functions
            .resolve(
                &event.scope,
                &event.function_name,
                event.qualifier.as_deref(),
            )
            .await
        {
            Ok(resolved) => resolved,
            Err(e) => return classify(e),
        };
        let executed_version = resolved.executed_version.clone();
        let request = InvokeRequest {
            request_id: event.request_id,
            payload: Bytes::from(event.payload),
            invoked_function_arn: resolved.invoked_function_arn,
            client_context: event.client_context,
            tail_log: false,
        };
        match self.executor.invoke(Arc::new(resolved.spec), request).await {
            Ok(result) => {
                let response = Response {
                    payload: result.payload,
                    executed_version,
                };
                if result.function_error {
                    Attempt::FunctionError(response)
                } else {
                    Attempt::Succeeded(response)
                }
            }
            Err(e) => classify(e),
        }
    }

    async fn settings(&self, event: &NewEvent) -> AsyncInvokeSettings {
        self.functions
            .async_invoke_settings(
                &event.scope,
                &event.function_name,
                event.qualifier.as_deref(),
            )
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e.message(), "reading the asynchronous invocation configuration failed; AWS's defaults apply");
                AsyncInvokeSettings::default()
            })
    }

    fn note(&self, log: &str, line: &str) {
        self.executor.function_log(log, line);
    }

    fn capacity_freed(&self) -> Arc<Notify> {
        self.executor.releases()
    }
}

/// How an error from resolving or invoking bears on the event: a throttle waits for room,
/// a missing function ends it, a conflict (the function is not ready: 409) or Lamina's own
/// failure is retried, any other client error can never succeed.
fn classify(error: LambdaError) -> Attempt {
    match error {
        LambdaError::TooManyRequests { .. } => Attempt::Throttled,
        LambdaError::ResourceNotFound(m) => Attempt::FunctionGone(m),
        LambdaError::ResourceConflict(m) | LambdaError::Service(m) => Attempt::Failed(m),
        other => Attempt::Rejected(format!("{}: {}", other.type_name(), other.message())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_what_the_retry_rules_need() {
        assert_eq!(
            classify(LambdaError::rate_exceeded(Some(
                "ReservedFunctionConcurrentInvocationLimitExceeded"
            ))),
            Attempt::Throttled
        );
        assert_eq!(
            classify(LambdaError::ResourceNotFound(
                "Function not found: x".into()
            )),
            Attempt::FunctionGone("Function not found: x".into())
        );
        assert_eq!(
            classify(LambdaError::ResourceConflict("pending".into())),
            Attempt::Failed("pending".into())
        );
        assert_eq!(
            classify(LambdaError::Service("disk".into())),
            Attempt::Failed("disk".into())
        );
        assert_eq!(
            classify(LambdaError::InvalidParameterValue("no".into())),
            Attempt::Rejected("InvalidParameterValueException: no".into())
        );
    }
}

//! The operations of AWS's Lambda model that Lamina deliberately does not serve, each named
//! in its answer with the reason, so a deploy tool's user learns which operation failed and
//! why rather than reading a bare "Unknown operation.".

use axum::http::Method;

/// Why a family of operations is not served.
const EVENT_SOURCES: &str = "event source mappings read from queues and streams (Amazon SQS, \
     Kinesis, DynamoDB Streams, Kafka, Amazon MQ), and Lamina has none; invoke functions \
     directly or with InvocationType Event instead";
const CODE_SIGNING: &str = "code signing configurations need AWS Signer, and Lamina has no \
     signer; Lamina's functions never have one (GetFunctionCodeSigningConfig answers so)";
const CAPACITY_PROVIDERS: &str = "capacity providers run functions on Amazon EC2 instances \
     (Lambda Managed Instances), and Lamina runs them on its own machine";
const DURABLE_EXECUTIONS: &str = "durable executions (checkpointed, resumable workflows) are \
     not implemented by Lamina";

/// One unsupported operation: its method, its path as the model writes it (`{x}` is one
/// path segment), its name and why it is not served.
struct Unsupported {
    method: Method,
    path: &'static str,
    operation: &'static str,
    reason: &'static str,
}

const fn op(
    method: Method,
    path: &'static str,
    operation: &'static str,
    reason: &'static str,
) -> Unsupported {
    Unsupported {
        method,
        path,
        operation,
        reason,
    }
}

/// Every operation of botocore's Lambda model that Lamina does not serve.
const UNSUPPORTED: &[Unsupported] = &[
    op(
        Method::POST,
        "/2015-03-31/event-source-mappings",
        "CreateEventSourceMapping",
        EVENT_SOURCES,
    ),
    op(
        Method::GET,
        "/2015-03-31/event-source-mappings",
        "ListEventSourceMappings",
        EVENT_SOURCES,
    ),
    op(
        Method::GET,
        "/2015-03-31/event-source-mappings/{UUID}",
        "GetEventSourceMapping",
        EVENT_SOURCES,
    ),
    op(
        Method::PUT,
        "/2015-03-31/event-source-mappings/{UUID}",
        "UpdateEventSourceMapping",
        EVENT_SOURCES,
    ),
    op(
        Method::DELETE,
        "/2015-03-31/event-source-mappings/{UUID}",
        "DeleteEventSourceMapping",
        EVENT_SOURCES,
    ),
    op(
        Method::POST,
        "/2020-04-22/code-signing-configs",
        "CreateCodeSigningConfig",
        CODE_SIGNING,
    ),
    op(
        Method::GET,
        "/2020-04-22/code-signing-configs",
        "ListCodeSigningConfigs",
        CODE_SIGNING,
    ),
    op(
        Method::GET,
        "/2020-04-22/code-signing-configs/{Arn}",
        "GetCodeSigningConfig",
        CODE_SIGNING,
    ),
    op(
        Method::PUT,
        "/2020-04-22/code-signing-configs/{Arn}",
        "UpdateCodeSigningConfig",
        CODE_SIGNING,
    ),
    op(
        Method::DELETE,
        "/2020-04-22/code-signing-configs/{Arn}",
        "DeleteCodeSigningConfig",
        CODE_SIGNING,
    ),
    op(
        Method::GET,
        "/2020-04-22/code-signing-configs/{Arn}/functions",
        "ListFunctionsByCodeSigningConfig",
        CODE_SIGNING,
    ),
    op(
        Method::PUT,
        "/2020-06-30/functions/{FunctionName}/code-signing-config",
        "PutFunctionCodeSigningConfig",
        CODE_SIGNING,
    ),
    op(
        Method::POST,
        "/2025-11-30/capacity-providers",
        "CreateCapacityProvider",
        CAPACITY_PROVIDERS,
    ),
    op(
        Method::GET,
        "/2025-11-30/capacity-providers",
        "ListCapacityProviders",
        CAPACITY_PROVIDERS,
    ),
    op(
        Method::GET,
        "/2025-11-30/capacity-providers/{Name}",
        "GetCapacityProvider",
        CAPACITY_PROVIDERS,
    ),
    op(
        Method::PUT,
        "/2025-11-30/capacity-providers/{Name}",
        "UpdateCapacityProvider",
        CAPACITY_PROVIDERS,
    ),
    op(
        Method::DELETE,
        "/2025-11-30/capacity-providers/{Name}",
        "DeleteCapacityProvider",
        CAPACITY_PROVIDERS,
    ),
    op(
        Method::GET,
        "/2025-11-30/capacity-providers/{Name}/function-versions",
        "ListFunctionVersionsByCapacityProvider",
        CAPACITY_PROVIDERS,
    ),
    op(
        Method::GET,
        "/2025-11-30/functions/{FunctionName}/function-scaling-config",
        "GetFunctionScalingConfig",
        CAPACITY_PROVIDERS,
    ),
    op(
        Method::PUT,
        "/2025-11-30/functions/{FunctionName}/function-scaling-config",
        "PutFunctionScalingConfig",
        CAPACITY_PROVIDERS,
    ),
    op(
        Method::GET,
        "/2025-12-01/functions/{FunctionName}/durable-executions",
        "ListDurableExecutionsByFunction",
        DURABLE_EXECUTIONS,
    ),
    op(
        Method::GET,
        "/2025-12-01/durable-executions/{Arn}",
        "GetDurableExecution",
        DURABLE_EXECUTIONS,
    ),
    op(
        Method::DELETE,
        "/2025-12-01/durable-executions/{Arn}",
        "DeleteDurableExecution",
        DURABLE_EXECUTIONS,
    ),
    op(
        Method::GET,
        "/2025-12-01/durable-executions/{Arn}/history",
        "GetDurableExecutionHistory",
        DURABLE_EXECUTIONS,
    ),
    op(
        Method::GET,
        "/2025-12-01/durable-executions/{Arn}/state",
        "GetDurableExecutionState",
        DURABLE_EXECUTIONS,
    ),
    op(
        Method::POST,
        "/2025-12-01/durable-executions/{Arn}/checkpoint",
        "CheckpointDurableExecution",
        DURABLE_EXECUTIONS,
    ),
    op(
        Method::POST,
        "/2025-12-01/durable-executions/{Arn}/pause",
        "PauseDurableExecution",
        DURABLE_EXECUTIONS,
    ),
    op(
        Method::POST,
        "/2025-12-01/durable-executions/{Arn}/resume",
        "ResumeDurableExecution",
        DURABLE_EXECUTIONS,
    ),
    op(
        Method::POST,
        "/2025-12-01/durable-executions/{Arn}/stop",
        "StopDurableExecution",
        DURABLE_EXECUTIONS,
    ),
    op(
        Method::POST,
        "/2025-12-01/durable-execution-callbacks/{CallbackId}/succeed",
        "SendDurableExecutionCallbackSuccess",
        DURABLE_EXECUTIONS,
    ),
    op(
        Method::POST,
        "/2025-12-01/durable-execution-callbacks/{CallbackId}/fail",
        "SendDurableExecutionCallbackFailure",
        DURABLE_EXECUTIONS,
    ),
    op(
        Method::POST,
        "/2025-12-01/durable-execution-callbacks/{CallbackId}/heartbeat",
        "SendDurableExecutionCallbackHeartbeat",
        DURABLE_EXECUTIONS,
    ),
];

/// Whether `path` fits `template`: the same number of segments, each equal or a `{...}`
/// placeholder for one non-empty segment.
fn fits(template: &str, path: &str) -> bool {
    let mut given = path.trim_end_matches('/').split('/');
    let mut wanted = template.split('/');
    loop {
        match (wanted.next(), given.next()) {
            (None, None) => return true,
            (Some(w), Some(g)) if w.starts_with('{') => {
                if g.is_empty() {
                    return false;
                }
            }
            (Some(w), Some(g)) if w == g => {}
            _ => return false,
        }
    }
}

/// What Lamina answers for an unsupported operation at `method` and `path`, if one is there.
pub(super) fn explain(method: &Method, path: &str) -> Option<String> {
    UNSUPPORTED
        .iter()
        .find(|u| u.method == *method && fits(u.path, path))
        .map(|u| format!("Lamina does not support {}: {}.", u.operation, u.reason))
}

/// How many operations of the model are listed here (the README's table counts them).
#[cfg(test)]
pub(super) fn count() -> usize {
    UNSUPPORTED.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_operation_is_found_by_its_method_and_path() {
        let found = explain(&Method::GET, "/2015-03-31/event-source-mappings/1234-abcd");
        assert_eq!(
            found
                .as_deref()
                .map(|m| m.starts_with("Lamina does not support GetEventSourceMapping: ")),
            Some(true)
        );
        assert!(
            explain(
                &Method::POST,
                "/2025-12-01/durable-executions/arn%3Aaws%3Alambda%3Ax/stop"
            )
            .is_some_and(|m| m.contains("StopDurableExecution"))
        );
        assert!(
            explain(&Method::PUT, "/2020-06-30/functions/f/code-signing-config")
                .is_some_and(|m| m.contains("PutFunctionCodeSigningConfig"))
        );
        // The served methods of a path, and paths of no operation, are not listed.
        assert_eq!(
            explain(&Method::GET, "/2020-06-30/functions/f/code-signing-config"),
            None
        );
        assert_eq!(
            explain(&Method::GET, "/2015-03-31/event-source-mappings/a/b"),
            None
        );
        assert_eq!(
            explain(&Method::GET, "/2015-03-31/event-source-mapping"),
            None
        );
        assert_eq!(count(), 32);
    }

    #[test]
    fn each_operation_is_listed_once() {
        let mut names: Vec<&str> = UNSUPPORTED.iter().map(|u| u.operation).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), UNSUPPORTED.len());
    }
}

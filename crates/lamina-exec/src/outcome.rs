//! What the caller and the log get for how one hand-over of an event ended.

use std::time::Duration;

use bytes::Bytes;

use crate::environment::Outcome;
use crate::function_error::{Exit, FunctionError};
use crate::runtime_api::Reply;

/// How one invocation ended, as the caller and the log see it.
#[derive(Debug)]
pub(crate) struct Settled {
    /// The function's response, or an error document.
    pub payload: Bytes,
    /// Whether the payload is an error (`X-Amz-Function-Error: Unhandled`).
    pub function_error: bool,
    /// Whether the environment may serve another invocation (false after a reset).
    pub keep: bool,
    /// REPORT's `Status` and `Error Type`, on failures.
    pub report_status: Option<(&'static str, String)>,
    /// Set when the invocation timed out: the `Task timed out` line is logged before END.
    pub timed_out: Option<Duration>,
}

impl Settled {
    /// A failure Lamina reports in the function's place.
    pub fn failed(error: &FunctionError, request_id: &str) -> Self {
        Self {
            payload: error.payload(request_id),
            function_error: true,
            keep: !error.resets(),
            report_status: Some((error.report_status(), error.error_type().to_owned())),
            timed_out: match error {
                FunctionError::Timedout(timeout) => Some(*timeout),
                _ => None,
            },
        }
    }
}

/// Turns the runtime's answer (or its absence) into what AWS returns for it. `out_of_memory`
/// says whether the environment's cgroup saw the out-of-memory killer.
pub(crate) fn settle(
    outcome: Outcome,
    request_id: &str,
    timeout: Duration,
    out_of_memory: bool,
) -> Settled {
    let error = match outcome {
        Outcome::Reply(Reply::Response(body)) => {
            return Settled {
                payload: body,
                function_error: false,
                keep: true,
                report_status: None,
                timed_out: None,
            };
        }
        // The runtime's own error document. After an init error the runtime exits by
        // itself; the next invoke initialises a new one.
        Outcome::Reply(Reply::Error {
            body,
            init,
            error_type,
        }) => {
            return Settled {
                payload: body,
                function_error: true,
                keep: !init,
                report_status: Some(("error", error_type.unwrap_or_else(|| "Unhandled".into()))),
                timed_out: None,
            };
        }
        Outcome::Reply(Reply::TooLarge) => FunctionError::ResponseSizeTooLarge,
        // AWS names an exit the out-of-memory killer caused, with the same message.
        Outcome::Exited(status) if out_of_memory => FunctionError::OutOfMemory(Exit::of(status)),
        Outcome::Exited(status) => FunctionError::ExitError(Exit::of(status)),
        Outcome::TimedOut => FunctionError::Timedout(timeout),
    };
    Settled::failed(&error, request_id)
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;

    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(3);

    fn error_type(settled: &Settled) -> Option<&str> {
        settled.report_status.as_ref().map(|(_, t)| t.as_str())
    }

    #[test]
    fn a_response_keeps_the_environment() {
        let settled = settle(
            Outcome::Reply(Reply::Response("1".into())),
            "r",
            TIMEOUT,
            false,
        );
        assert_eq!(
            (
                settled.payload.as_ref(),
                settled.function_error,
                settled.keep
            ),
            (&b"1"[..], false, true)
        );
        assert_eq!(settled.report_status, None);
    }

    #[test]
    fn a_runtime_error_passes_through_and_an_init_error_resets() {
        let reply = |init| {
            Outcome::Reply(Reply::Error {
                error_type: None,
                body: "{\"errorType\":\"Exception\"}".into(),
                init,
            })
        };
        let handled = settle(reply(false), "r", TIMEOUT, false);
        assert_eq!(handled.payload.as_ref(), b"{\"errorType\":\"Exception\"}");
        assert!(handled.function_error && handled.keep);
        assert_eq!(error_type(&handled), Some("Unhandled"));
        assert!(!settle(reply(true), "r", TIMEOUT, false).keep);
    }

    #[test]
    fn an_exit_is_an_exit_error_unless_memory_ran_out() {
        let exited = || Outcome::Exited(Some(ExitStatus::from_raw(9)));
        let plain = settle(exited(), "r", TIMEOUT, false);
        assert_eq!(error_type(&plain), Some("Runtime.ExitError"));
        assert!(!plain.keep);
        let oom = settle(exited(), "r", TIMEOUT, true);
        assert_eq!(error_type(&oom), Some("Runtime.OutOfMemory"));
    }

    #[test]
    fn a_timeout_resets_and_asks_for_the_timed_out_line() {
        let settled = settle(Outcome::TimedOut, "r", TIMEOUT, false);
        assert_eq!(
            settled.report_status,
            Some(("timeout", "Sandbox.Timedout".to_owned()))
        );
        assert_eq!(settled.timed_out, Some(TIMEOUT));
        assert!(!settled.keep);
    }

    #[test]
    fn an_oversized_response_keeps_the_environment() {
        let settled = settle(Outcome::Reply(Reply::TooLarge), "r", TIMEOUT, false);
        assert!(settled.function_error && settled.keep);
        assert_eq!(error_type(&settled), Some("Function.ResponseSizeTooLarge"));
    }
}

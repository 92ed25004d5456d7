//! The errors Lamina reports in a function's place, as AWS words them: the payload a caller
//! gets with `X-Amz-Function-Error: Unhandled` and the `Status`/`Error Type` of REPORT.
//! Errors a runtime reports itself (`/invocation/{id}/error`) are the runtime's own documents
//! and pass through untouched.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::Duration;

use bytes::Bytes;

/// A failure of the invocation that the runtime could not report.
#[derive(Debug, Clone, PartialEq)]
pub enum FunctionError {
    /// `Runtime.ExitError`: the runtime process ended before it answered.
    ExitError(Exit),
    /// `Runtime.OutOfMemory`: as [`Self::ExitError`], when the out-of-memory killer ended it.
    OutOfMemory(Exit),
    /// `Sandbox.Timedout`: the function's `Timeout` passed.
    Timedout(Duration),
    /// `Runtime.InvalidEntrypoint`: the runtime cannot be started (no `bootstrap`, or one that
    /// may not be run); the text says why.
    InvalidEntrypoint(String),
    /// `Function.ResponseSizeTooLarge`: the response was over 6 MB.
    ResponseSizeTooLarge,
}

/// How a runtime process ended, as AWS describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Exit status 0.
    Clean,
    /// A non-zero exit status.
    Code(i32),
    /// Killed by a signal (SIGKILL also when the status could not be read).
    Signal(i32),
}

impl Exit {
    /// How `status` (none: the process could not be waited for, it was killed) ended.
    pub fn of(status: Option<ExitStatus>) -> Self {
        match status {
            Some(s) if s.success() => Self::Clean,
            Some(s) => match (s.code(), s.signal()) {
                (Some(code), _) => Self::Code(code),
                (None, Some(signal)) => Self::Signal(signal),
                (None, None) => Self::Signal(libc_sigkill()),
            },
            None => Self::Signal(libc_sigkill()),
        }
    }

    fn reason(&self) -> String {
        match self {
            Self::Clean => "Runtime exited without providing a reason".to_owned(),
            Self::Code(code) => format!("Runtime exited with error: exit status {code}"),
            Self::Signal(9) => "Runtime exited with error: signal: killed".to_owned(),
            Self::Signal(signal) => format!("Runtime exited with error: signal: {signal}"),
        }
    }
}

/// SIGKILL, without a libc dependency for one number.
const fn libc_sigkill() -> i32 {
    9
}

impl FunctionError {
    /// The `errorType`, as AWS names it.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::ExitError(_) => "Runtime.ExitError",
            Self::OutOfMemory(_) => "Runtime.OutOfMemory",
            Self::Timedout(_) => "Sandbox.Timedout",
            Self::InvalidEntrypoint(_) => "Runtime.InvalidEntrypoint",
            Self::ResponseSizeTooLarge => "Function.ResponseSizeTooLarge",
        }
    }

    /// The `errorMessage` for the invocation `request_id`.
    pub fn message(&self, request_id: &str) -> String {
        match self {
            Self::ExitError(exit) | Self::OutOfMemory(exit) => {
                format!("RequestId: {request_id} Error: {}", exit.reason())
            }
            Self::Timedout(timeout) => format!(
                "RequestId: {request_id} Error: Task timed out after {:.2} seconds",
                timeout.as_secs_f64()
            ),
            Self::InvalidEntrypoint(why) => format!("RequestId: {request_id} Error: {why}"),
            Self::ResponseSizeTooLarge => {
                "Response payload size exceeded maximum allowed payload size (6291556 bytes)."
                    .to_owned()
            }
        }
    }

    /// The error document the caller gets.
    pub fn payload(&self, request_id: &str) -> Bytes {
        let body = serde_json::json!({
            "errorType": self.error_type(),
            "errorMessage": self.message(request_id),
        });
        Bytes::from(body.to_string())
    }

    /// REPORT's `Status`.
    pub fn report_status(&self) -> &'static str {
        match self {
            Self::Timedout(_) => "timeout",
            _ => "error",
        }
    }

    /// Whether the environment is reset after it: every failure but an oversized response
    /// leaves no runtime to reuse.
    pub fn resets(&self) -> bool {
        !matches!(self, Self::ResponseSizeTooLarge)
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt;

    use super::*;

    fn parsed(error: &FunctionError) -> serde_json::Value {
        serde_json::from_slice(&error.payload("id-1")).unwrap()
    }

    #[test]
    fn exits_are_worded_as_aws_words_them() {
        let cases = [
            (
                Some(ExitStatus::from_raw(0)),
                "Runtime exited without providing a reason",
            ),
            (
                Some(ExitStatus::from_raw(127 << 8)),
                "Runtime exited with error: exit status 127",
            ),
            (
                Some(ExitStatus::from_raw(9)),
                "Runtime exited with error: signal: killed",
            ),
            (
                Some(ExitStatus::from_raw(11)),
                "Runtime exited with error: signal: 11",
            ),
            (None, "Runtime exited with error: signal: killed"),
        ];
        for (status, reason) in cases {
            let error = FunctionError::ExitError(Exit::of(status));
            assert_eq!(
                parsed(&error),
                serde_json::json!({
                    "errorType": "Runtime.ExitError",
                    "errorMessage": format!("RequestId: id-1 Error: {reason}"),
                }),
                "{status:?}"
            );
        }
    }

    #[test]
    fn out_of_memory_keeps_the_exit_message() {
        let error = FunctionError::OutOfMemory(Exit::Signal(9));
        assert_eq!(parsed(&error)["errorType"], "Runtime.OutOfMemory");
        assert_eq!(
            parsed(&error)["errorMessage"],
            "RequestId: id-1 Error: Runtime exited with error: signal: killed"
        );
        assert_eq!(error.report_status(), "error");
    }

    #[test]
    fn a_timeout_has_two_decimals_and_its_own_status() {
        let error = FunctionError::Timedout(Duration::from_secs(3));
        assert_eq!(
            error.message("id-1"),
            "RequestId: id-1 Error: Task timed out after 3.00 seconds"
        );
        assert_eq!(
            (error.error_type(), error.report_status()),
            ("Sandbox.Timedout", "timeout")
        );
        assert!(error.resets());
    }

    #[test]
    fn an_oversized_response_keeps_the_environment() {
        let error = FunctionError::ResponseSizeTooLarge;
        assert_eq!(
            parsed(&error)["errorMessage"],
            "Response payload size exceeded maximum allowed payload size (6291556 bytes)."
        );
        assert!(!error.resets());
    }

    #[test]
    fn an_invalid_entrypoint_says_why() {
        let error = FunctionError::InvalidEntrypoint(
            "Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]".into(),
        );
        assert_eq!(
            parsed(&error),
            serde_json::json!({
                "errorType": "Runtime.InvalidEntrypoint",
                "errorMessage": "RequestId: id-1 Error: Couldn't find valid bootstrap(s): \
                                 [/var/task/bootstrap /opt/bootstrap]",
            })
        );
    }
}

//! How a failed command is reported: AWS CLI wording for API errors, and exit codes.

use std::fmt;
use std::process::ExitCode;

use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};

/// Exit code of a command whose API call failed (the AWS CLI's code for service errors).
pub const EXIT_API_ERROR: u8 = 255;

/// Exit code of any other failure (bad arguments, unreadable files, ...).
pub const EXIT_FAILURE: u8 = 1;

/// A failed API call, worded as the AWS CLI words it.
#[derive(Debug)]
pub enum ApiError {
    /// The service answered with an error.
    Service {
        /// The API operation, e.g. `GetFunction`.
        operation: &'static str,
        /// The AWS error type, e.g. `ResourceNotFoundException`.
        code: String,
        /// The service's message.
        message: String,
    },
    /// No connection: the endpoint could not be reached, or the connection broke or timed out.
    Unreachable {
        /// The endpoint URL tried.
        endpoint: String,
        /// What the HTTP client said.
        detail: String,
    },
    /// The request could not be built or the response not understood.
    Other {
        /// The API operation.
        operation: &'static str,
        /// The SDK's description of the failure.
        detail: String,
    },
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Service {
                operation,
                code,
                message,
            } => write!(
                f,
                "An error occurred ({code}) when calling the {operation} operation: {message}"
            ),
            Self::Unreachable { endpoint, detail } => {
                write!(
                    f,
                    "Could not connect to the endpoint URL: \"{endpoint}\" ({detail})"
                )
            }
            Self::Other { operation, detail } => {
                write!(f, "The {operation} operation failed: {detail}")
            }
        }
    }
}

impl std::error::Error for ApiError {}

/// Turns the SDK's error of `operation` into an [`ApiError`].
pub(crate) fn api_error<E, R>(
    operation: &'static str,
    endpoint: &str,
    error: SdkError<E, R>,
) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug + 'static,
{
    match &error {
        SdkError::ServiceError(service) => {
            let err = service.err();
            ApiError::Service {
                operation,
                code: err.code().unwrap_or("Unknown").to_owned(),
                message: err.message().unwrap_or("").to_owned(),
            }
        }
        // Connection failures only: a failed credential lookup is a dispatch failure too.
        SdkError::DispatchFailure(failure) if failure.is_io() || failure.is_timeout() => {
            ApiError::Unreachable {
                endpoint: endpoint.to_owned(),
                detail: source_chain(&error),
            }
        }
        _ => ApiError::Other {
            operation,
            detail: source_chain(&error),
        },
    }
}

/// The innermost useful messages of an error's source chain, e.g. "Connection refused".
fn source_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut messages = Vec::new();
    let mut next = error.source();
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !messages.contains(&text) {
            messages.push(text);
        }
        next = e.source();
    }
    if messages.is_empty() {
        error.to_string()
    } else {
        messages.join(": ")
    }
}

/// Shorthand for mapping an SDK result, given the operation name and the endpoint.
pub(crate) trait SdkResultExt<T> {
    /// Maps the error to an [`ApiError`] inside an `anyhow::Error`.
    fn api(self, operation: &'static str, endpoint: &str) -> anyhow::Result<T>;
}

impl<T, E, R> SdkResultExt<T> for Result<T, SdkError<E, R>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug + 'static,
{
    fn api(self, operation: &'static str, endpoint: &str) -> anyhow::Result<T> {
        self.map_err(|e| api_error(operation, endpoint, e).into())
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|e| {
        let io = e.downcast_ref::<std::io::Error>().map(std::io::Error::kind);
        let json = e
            .downcast_ref::<serde_json::Error>()
            .and_then(serde_json::Error::io_error_kind);
        io.or(json) == Some(std::io::ErrorKind::BrokenPipe)
    })
}

/// Prints a command's failure on stderr and gives its exit code: [`EXIT_API_ERROR`] for API
/// errors, [`EXIT_FAILURE`] otherwise.
pub fn report(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        // `lamina layer list | head`: a closed stdout is the reader's choice, not a failure.
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => match error.downcast_ref::<ApiError>() {
            Some(api) => {
                eprintln!("\n{api}");
                ExitCode::from(EXIT_API_ERROR)
            }
            None => {
                eprintln!("lamina: error: {error:#}");
                ExitCode::from(EXIT_FAILURE)
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_stdout_is_not_a_failure() {
        let io = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        assert!(is_broken_pipe(&anyhow::Error::from(io)));
        let json = serde_json::Error::io(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert!(is_broken_pipe(&anyhow::Error::from(json)));
        assert!(!is_broken_pipe(&anyhow::anyhow!("other")));
    }

    #[test]
    fn service_errors_read_like_the_aws_cli() {
        let e = ApiError::Service {
            operation: "GetFunction",
            code: "ResourceNotFoundException".into(),
            message: "Function not found".into(),
        };
        assert_eq!(
            e.to_string(),
            "An error occurred (ResourceNotFoundException) when calling the GetFunction \
             operation: Function not found"
        );
        let wrapped = anyhow::Error::from(e).context("while checking");
        assert_eq!(report(Err(wrapped)), ExitCode::from(EXIT_API_ERROR));
    }
}

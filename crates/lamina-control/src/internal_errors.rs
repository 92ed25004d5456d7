//! Failures that are the server's, not the caller's, shared by both halves of the control
//! plane: both answer AWS's 500 `ServiceException`.

use lamina_types::LambdaError;

/// A metadata or artifact store failed; logged once here, where it becomes a 500.
pub(crate) fn storage_error(e: impl std::fmt::Display) -> LambdaError {
    tracing::error!(error = %e, "storage failure");
    LambdaError::Service(format!("storage failure: {e}"))
}

/// Validation reported no violation yet a checked value is missing: a bug in the operation
/// that calls it, answered as a 500 rather than a panic.
pub(crate) fn validated_but_missing() -> LambdaError {
    LambdaError::Service("internal error: a validated member is missing".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_are_service_exceptions() {
        let e = storage_error("disk full");
        assert_eq!((e.status(), e.type_name()), (500, "ServiceException"));
        assert_eq!(e.message(), "storage failure: disk full");
        assert_eq!(validated_but_missing().status(), 500);
    }
}

//! The AWS Lambda error types, one variant each, with the status, type name and message key
//! AWS uses for them. The HTTP layer turns a [`LambdaError`] into a response in one place.

/// A failure as a Lambda client sees it. Each variant is exactly one AWS error type; the
/// payload is the message text, already worded as AWS words it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LambdaError {
    /// 404: the function, layer, version, alias or statement does not exist.
    #[error("{0}")]
    ResourceNotFound(String),
    /// 404: the function version or alias has no provisioned concurrency configuration.
    #[error("{0}")]
    ProvisionedConcurrencyConfigNotFound(String),
    /// 400: a parameter is well-formed but not acceptable.
    #[error("{0}")]
    InvalidParameterValue(String),
    /// 400: a parameter breaks the API model (pattern, length, enum, range).
    #[error("{0}")]
    Validation(String),
    /// 409: the resource exists already, or is being changed.
    #[error("{0}")]
    ResourceConflict(String),
    /// 412: the `RevisionId` given is not the current one.
    #[error("{0}")]
    PreconditionFailed(String),
    /// 400: a resource policy would exceed its size limit.
    #[error("{0}")]
    PolicyLengthExceeded(String),
    /// 400: the account's code storage is full.
    #[error("{0}")]
    CodeStorageExceeded(String),
    /// 413: the request body (or the ZIP in it) is over the limit.
    #[error("{0}")]
    RequestEntityTooLarge(String),
    /// 413: an invocation payload is over the limit.
    #[error("{0}")]
    RequestTooLarge(String),
    /// 400: an invocation payload is not valid JSON.
    #[error("{0}")]
    InvalidRequestContent(String),
    /// 429: a rate or concurrency limit was hit; `reason` is AWS's throttle reason.
    #[error("{message}")]
    TooManyRequests {
        /// The message ("Rate Exceeded.").
        message: String,
        /// `Reason`, e.g. `ReservedFunctionConcurrentInvocationLimitExceeded`.
        reason: Option<&'static str>,
    },
    /// 403: the `Authorization` header is malformed.
    #[error("{0}")]
    IncompleteSignature(String),
    /// 403: the signature or a presigned token does not verify.
    #[error("{0}")]
    AccessDenied(String),
    /// 403: the access key (or its session token) is not one this server knows.
    #[error("{0}")]
    UnrecognizedClient(String),
    /// 403: the SigV4 signature does not match, or its date is outside the allowed window.
    #[error("{0}")]
    InvalidSignature(String),
    /// 403: the request carries no credentials at all.
    #[error("{0}")]
    MissingAuthenticationToken(String),
    /// 404: no operation is routed at this method and path.
    #[error("{0}")]
    UnknownOperation(String),
    /// 400: a SnapStart `afterRestore` hook failed in a restored environment.
    #[error("{0}")]
    SnapStart(String),
    /// 409: a SnapStart version is still being initialised for its snapshot.
    #[error("{0}")]
    SnapStartNotReady(String),
    /// 500: Lamina itself failed; the message says what, never a client mistake.
    #[error("{0}")]
    Service(String),
}

/// Whether an error body spells its message key `Message` or `message`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKey {
    /// `{"Message": ...}`
    Upper,
    /// `{"message": ...}`
    Lower,
}

impl LambdaError {
    /// The HTTP status AWS answers with.
    pub fn status(&self) -> u16 {
        match self {
            Self::ResourceNotFound(_)
            | Self::ProvisionedConcurrencyConfigNotFound(_)
            | Self::UnknownOperation(_) => 404,
            Self::InvalidParameterValue(_)
            | Self::Validation(_)
            | Self::PolicyLengthExceeded(_)
            | Self::CodeStorageExceeded(_)
            | Self::InvalidRequestContent(_)
            | Self::SnapStart(_) => 400,
            Self::ResourceConflict(_) | Self::SnapStartNotReady(_) => 409,
            Self::PreconditionFailed(_) => 412,
            Self::RequestEntityTooLarge(_) | Self::RequestTooLarge(_) => 413,
            Self::TooManyRequests { .. } => 429,
            Self::IncompleteSignature(_)
            | Self::AccessDenied(_)
            | Self::UnrecognizedClient(_)
            | Self::InvalidSignature(_)
            | Self::MissingAuthenticationToken(_) => 403,
            Self::Service(_) => 500,
        }
    }

    /// The error type, as sent in `x-amzn-ErrorType`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::ResourceNotFound(_) => "ResourceNotFoundException",
            Self::ProvisionedConcurrencyConfigNotFound(_) => {
                "ProvisionedConcurrencyConfigNotFoundException"
            }
            Self::InvalidParameterValue(_) => "InvalidParameterValueException",
            Self::Validation(_) => "ValidationException",
            Self::ResourceConflict(_) => "ResourceConflictException",
            Self::PreconditionFailed(_) => "PreconditionFailedException",
            Self::PolicyLengthExceeded(_) => "PolicyLengthExceededException",
            Self::CodeStorageExceeded(_) => "CodeStorageExceededException",
            Self::RequestEntityTooLarge(_) => "RequestEntityTooLargeException",
            Self::RequestTooLarge(_) => "RequestTooLargeException",
            Self::InvalidRequestContent(_) => "InvalidRequestContentException",
            Self::TooManyRequests { .. } => "TooManyRequestsException",
            Self::IncompleteSignature(_) => "IncompleteSignatureException",
            Self::AccessDenied(_) => "AccessDeniedException",
            Self::UnrecognizedClient(_) => "UnrecognizedClientException",
            Self::InvalidSignature(_) => "InvalidSignatureException",
            Self::MissingAuthenticationToken(_) => "MissingAuthenticationTokenException",
            Self::UnknownOperation(_) => "UnknownOperationException",
            Self::SnapStart(_) => "SnapStartException",
            Self::SnapStartNotReady(_) => "SnapStartNotReadyException",
            Self::Service(_) => "ServiceException",
        }
    }

    /// Whether the body carries `"Type": "User"`: modeled client errors do, unmodeled ones
    /// (validation, size, auth) and service errors do not.
    pub fn is_modeled_user_error(&self) -> bool {
        !matches!(
            self,
            Self::Validation(_)
                | Self::RequestEntityTooLarge(_)
                | Self::IncompleteSignature(_)
                | Self::AccessDenied(_)
                | Self::UnrecognizedClient(_)
                | Self::InvalidSignature(_)
                | Self::MissingAuthenticationToken(_)
                | Self::UnknownOperation(_)
                | Self::Service(_)
        )
    }

    /// The spelling of the message key in the body.
    pub fn message_key(&self) -> MessageKey {
        match self {
            Self::ResourceNotFound(_)
            | Self::Service(_)
            | Self::SnapStart(_)
            | Self::SnapStartNotReady(_) => MessageKey::Upper,
            _ => MessageKey::Lower,
        }
    }

    /// The message text.
    pub fn message(&self) -> &str {
        match self {
            Self::ResourceNotFound(m)
            | Self::ProvisionedConcurrencyConfigNotFound(m)
            | Self::InvalidParameterValue(m)
            | Self::Validation(m)
            | Self::ResourceConflict(m)
            | Self::PreconditionFailed(m)
            | Self::PolicyLengthExceeded(m)
            | Self::CodeStorageExceeded(m)
            | Self::RequestEntityTooLarge(m)
            | Self::RequestTooLarge(m)
            | Self::InvalidRequestContent(m)
            | Self::IncompleteSignature(m)
            | Self::AccessDenied(m)
            | Self::UnrecognizedClient(m)
            | Self::InvalidSignature(m)
            | Self::MissingAuthenticationToken(m)
            | Self::UnknownOperation(m)
            | Self::SnapStart(m)
            | Self::SnapStartNotReady(m)
            | Self::Service(m) => m,
            Self::TooManyRequests { message, .. } => message,
        }
    }

    /// AWS's 429 "Rate Exceeded." with an optional throttle reason.
    pub fn rate_exceeded(reason: Option<&'static str>) -> Self {
        Self::TooManyRequests {
            message: "Rate Exceeded.".to_owned(),
            reason,
        }
    }

    /// The generic "does not exist" of Get operations.
    pub fn not_found() -> Self {
        Self::ResourceNotFound("The resource you requested does not exist.".to_owned())
    }

    /// The body AWS answers for a ZIP it cannot use.
    pub fn bad_zip() -> Self {
        Self::InvalidParameterValue(BAD_ZIP_MESSAGE.to_owned())
    }
}

/// AWS's text for a ZIP that cannot be unzipped.
pub const BAD_ZIP_MESSAGE: &str =
    "Could not unzip uploaded file. Please check your file, then try to upload again.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_uses_capital_message_and_is_modeled() {
        let e = LambdaError::not_found();
        assert_eq!(e.status(), 404);
        assert_eq!(e.message_key(), MessageKey::Upper);
        assert!(e.is_modeled_user_error());
    }

    #[test]
    fn validation_is_unmodeled_lowercase() {
        let e = LambdaError::Validation("x".into());
        assert_eq!(e.type_name(), "ValidationException");
        assert_eq!(e.message_key(), MessageKey::Lower);
        assert!(!e.is_modeled_user_error());
    }
}

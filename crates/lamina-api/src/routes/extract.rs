//! The extractors the handlers share: path members, refused with the model's validation
//! wording when they do not parse, and a JSON body read within its operation's limit (the
//! same [`body_limit`] table the authentication middleware reads signed bodies with, so a
//! body is refused alike whether requests are signed or not) and parsed.

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use lamina_types::LambdaError;
use serde::de::DeserializeOwned;

use super::wire::parse_json;
use crate::ApiError;
use crate::body::read_limited;
use crate::body_limit::body_limit;

/// The members of an operation's path (`{name}`, or a tuple for several).
pub(super) struct PathArgs<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathArgs<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(args)| Self(args))
            .map_err(|e| ApiError(LambdaError::Validation(e.body_text())))
    }
}

/// An operation's JSON body; an empty one is `T::default()`.
pub(super) struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, ApiError> {
        let limit = body_limit(request.method(), request.uri().path(), request.headers());
        let (parts, body) = request.into_parts();
        let bytes = read_limited(&parts.headers, body, limit.bytes, limit.operation)
            .await
            .map_err(|e| ApiError(limit.refusal(e)))?;
        parse_json(&bytes).map(Self)
    }
}

//! The one place a [`LambdaError`] becomes an HTTP response.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lamina_types::LambdaError;
use lamina_types::error::MessageKey;
use serde_json::{Map, Value};

/// A [`LambdaError`] on its way to the client.
#[derive(Debug)]
pub struct ApiError(pub LambdaError);

impl From<LambdaError> for ApiError {
    fn from(e: LambdaError) -> Self {
        Self(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let mut body = Map::new();
        if e.is_modeled_user_error() {
            body.insert("Type".into(), Value::from("User"));
        }
        let key = match e.message_key() {
            MessageKey::Upper => "Message",
            MessageKey::Lower => "message",
        };
        body.insert(key.into(), Value::from(e.message()));
        if let LambdaError::TooManyRequests {
            reason: Some(reason),
            ..
        } = &e
        {
            body.insert("Reason".into(), Value::from(*reason));
        }
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(
                error_type = e.type_name(),
                message = e.message(),
                "request failed"
            );
        } else {
            tracing::debug!(
                error_type = e.type_name(),
                message = e.message(),
                "request refused"
            );
        }
        let mut response = (status, Value::Object(body).to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert("x-amzn-ErrorType", HeaderValue::from_static(e.type_name()));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(e: LambdaError) -> (u16, String, Value) {
        let r = ApiError(e).into_response();
        let status = r.status().as_u16();
        let kind = r.headers()["x-amzn-ErrorType"].to_str().unwrap().to_owned();
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
        (status, kind, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn shapes_match_aws() {
        let (s, k, b) = body_of(LambdaError::not_found()).await;
        assert_eq!((s, k.as_str()), (404, "ResourceNotFoundException"));
        let expected = r#"{"Type":"User","Message":"The resource you requested does not exist."}"#;
        assert_eq!(b, serde_json::from_str::<Value>(expected).unwrap());
        let (s, _, b) = body_of(LambdaError::Validation("v".into())).await;
        assert_eq!((s, b), (400, serde_json::json!({"message": "v"})));
        let (s, _, b) = body_of(LambdaError::PreconditionFailed("p".into())).await;
        assert_eq!(
            (s, b),
            (412, serde_json::json!({"Type": "User", "message": "p"}))
        );
    }
}

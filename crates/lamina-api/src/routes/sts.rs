//! STS on the Lambda endpoint (query protocol: `POST /` with a form body naming its `Action`):
//! GetCallerIdentity only, which deploy tools call to learn the account of their key. Other
//! actions answer STS's XML error naming them.

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lamina_types::LambdaError;

use crate::Caller;
use crate::request_context::RequestContext;

/// The XML namespace of STS's answers.
const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// Whether a request is addressed to STS: a `POST /` with a form body and no `X-Amz-Target`
/// (which CloudWatch Logs requests carry).
pub(crate) fn is_sts_request(method: &Method, path: &str, headers: &HeaderMap) -> bool {
    method == Method::POST
        && path == "/"
        && !headers.contains_key("x-amz-target")
        && headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"))
}

/// The authentication middleware's refusal of an STS request, in STS's XML: clients of the
/// query protocol cannot read Lambda's JSON errors. The codes are STS's own.
pub(crate) fn refused(e: &LambdaError, request_id: &str) -> Response {
    let code = match e {
        LambdaError::MissingAuthenticationToken(_) => "MissingAuthenticationToken",
        LambdaError::UnrecognizedClient(_) => "InvalidClientTokenId",
        LambdaError::InvalidSignature(_) => "SignatureDoesNotMatch",
        LambdaError::IncompleteSignature(_) => "IncompleteSignature",
        LambdaError::AccessDenied(_) => "AccessDenied",
        other => other.type_name(),
    };
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::FORBIDDEN);
    error(status, code, e.message(), request_id)
}

/// Answers the STS request whose form body is `body`.
pub fn serve(
    ctx: &RequestContext,
    caller: Option<&Caller>,
    request_id: &str,
    body: &[u8],
) -> Response {
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    let action = form
        .iter()
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v.as_str());
    match action {
        Some("GetCallerIdentity") => get_caller_identity(ctx, caller, request_id),
        Some(other) => error(
            StatusCode::BAD_REQUEST,
            "InvalidAction",
            &format!("Lamina does not serve the STS action {other}."),
            request_id,
        ),
        None => error(
            StatusCode::BAD_REQUEST,
            "MissingAction",
            "Missing Action parameter in the request.",
            request_id,
        ),
    }
}

/// GetCallerIdentity: the account of the key that signed the request.
fn get_caller_identity(
    ctx: &RequestContext,
    caller: Option<&Caller>,
    request_id: &str,
) -> Response {
    let account = ctx.scope.account.as_str();
    // Guessed: Lamina's keys belong to no IAM user; a signed request is shown as a user named
    // after its access key (its id as the `UserId`), and an unsigned one (`--auth none`) as
    // the account's root.
    let (arn, user_id) = match caller {
        Some(c) => (
            format!("arn:aws:iam::{account}:user/{}", c.access_key_id),
            c.access_key_id.clone(),
        ),
        None => (format!("arn:aws:iam::{account}:root"), account.to_owned()),
    };
    let body = format!(
        "<GetCallerIdentityResponse xmlns=\"{NAMESPACE}\">\n  <GetCallerIdentityResult>\n    \
         <Arn>{}</Arn>\n    <UserId>{}</UserId>\n    <Account>{}</Account>\n  \
         </GetCallerIdentityResult>\n  <ResponseMetadata>\n    <RequestId>{}</RequestId>\n  \
         </ResponseMetadata>\n</GetCallerIdentityResponse>\n",
        escape(&arn),
        escape(&user_id),
        escape(account),
        escape(request_id)
    );
    xml(StatusCode::OK, body)
}

/// STS's error document (a `Sender` fault).
fn error(status: StatusCode, code: &str, message: &str, request_id: &str) -> Response {
    let body = format!(
        "<ErrorResponse xmlns=\"{NAMESPACE}\">\n  <Error>\n    <Type>Sender</Type>\n    \
         <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{}</RequestId>\n\
         </ErrorResponse>\n",
        escape(code),
        escape(message),
        escape(request_id)
    );
    xml(status, body)
}

fn xml(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    response
}

/// `text` with XML's special characters escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
    }
}

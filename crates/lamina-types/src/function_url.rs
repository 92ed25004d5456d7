//! Function URLs: a function's (or an alias's) own HTTP endpoint, as
//! `CreateFunctionUrlConfig` records it. The configuration is plain data here; the control
//! plane validates it and the API serves it.

use serde::{Deserialize, Serialize};

use crate::Scope;

/// Characters of a URL id: AWS's are 32 lowercase letters and digits.
pub const URL_ID_CHARS: usize = 32;

/// `AuthType`: who may call the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlAuthType {
    /// Anyone: requests are not signed.
    None,
    /// Requests are signed with SigV4 (service `lambda`) by a key allowed to invoke.
    AwsIam,
}

impl UrlAuthType {
    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "NONE",
            Self::AwsIam => "AWS_IAM",
        }
    }

    /// The value of the API's spelling.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "NONE" => Some(Self::None),
            "AWS_IAM" => Some(Self::AwsIam),
            _ => None,
        }
    }
}

/// `InvokeMode`: whether the response is sent whole or as the function writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlInvokeMode {
    /// The function's response is sent once complete (at most 6 MB).
    Buffered,
    /// The function's response is streamed as it writes it.
    ResponseStream,
}

impl UrlInvokeMode {
    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Buffered => "BUFFERED",
            Self::ResponseStream => "RESPONSE_STREAM",
        }
    }

    /// The value of the API's spelling.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "BUFFERED" => Some(Self::Buffered),
            "RESPONSE_STREAM" => Some(Self::ResponseStream),
            _ => None,
        }
    }
}

/// `Cors`, stored and answered as the API names its members. Absent members stay absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UrlCors {
    /// `AllowCredentials`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_credentials: Option<bool>,
    /// `AllowHeaders`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_headers: Option<Vec<String>>,
    /// `AllowMethods`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_methods: Option<Vec<String>>,
    /// `AllowOrigins`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_origins: Option<Vec<String>>,
    /// `ExposeHeaders`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expose_headers: Option<Vec<String>>,
    /// `MaxAge`, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age: Option<i64>,
}

/// One function URL configuration, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionUrlRecord {
    /// The owner's account and region.
    pub scope: Scope,
    /// The function's plain name.
    pub function_name: String,
    /// An alias name, or `None` for the unqualified function (`$LATEST`).
    pub qualifier: Option<String>,
    /// The URL's id: its host name's first label, and its path prefix.
    pub url_id: String,
    /// `AuthType`.
    pub auth_type: UrlAuthType,
    /// `InvokeMode`.
    pub invoke_mode: UrlInvokeMode,
    /// `Cors`, when configured.
    pub cors: Option<UrlCors>,
    /// `CreationTime`, milliseconds since the Unix epoch.
    pub created_millis: i64,
    /// `LastModifiedTime`, milliseconds since the Unix epoch.
    pub last_modified_millis: i64,
}

/// Whether `raw` has the shape of a URL id (so a request naming anything else is not looked
/// up at all).
pub fn is_url_id(raw: &str) -> bool {
    raw.len() == URL_ID_CHARS
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_their_api_spelling() {
        for t in [UrlAuthType::None, UrlAuthType::AwsIam] {
            assert_eq!(UrlAuthType::parse(t.as_str()), Some(t));
        }
        for m in [UrlInvokeMode::Buffered, UrlInvokeMode::ResponseStream] {
            assert_eq!(UrlInvokeMode::parse(m.as_str()), Some(m));
        }
        assert_eq!(UrlAuthType::parse("none"), None);
    }

    #[test]
    fn url_ids_are_32_lowercase_alphanumerics() {
        assert!(is_url_id("abcdefghijklmnopqrstuvwxyz012345"));
        assert!(!is_url_id("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"));
        assert!(!is_url_id("short"));
    }
}

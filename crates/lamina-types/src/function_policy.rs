//! A function's resource-based policy (AddPermission, RemovePermission, GetPolicy): one per
//! function, version or alias, as stored. Rendering it as AWS's JSON document is the control
//! plane's.

use serde::{Deserialize, Serialize};

/// One statement of AddPermission, with the members it was added with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionStatement {
    /// `StatementId`.
    pub sid: String,
    /// `Action`, e.g. `lambda:InvokeFunction`, `lambda:*` or `*`.
    pub action: String,
    /// `Principal`: `*`, an account id, an IAM ARN or a service (`s3.amazonaws.com`).
    pub principal: String,
    /// `SourceArn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_arn: Option<String>,
    /// `SourceAccount`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_account: Option<String>,
    /// `PrincipalOrgID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_org_id: Option<String>,
    /// `EventSourceToken`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_source_token: Option<String>,
    /// `FunctionUrlAuthType`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_url_auth_type: Option<String>,
    /// `InvokedViaFunctionUrl`: the grant holds only for invocations through a function URL.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub invoked_via_function_url: bool,
}

/// The policy of one function, version or alias: statements in insertion order and the
/// revision that changes on every add and remove (empty before the first).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FunctionPolicy {
    /// Current revision, a UUID; empty while no statement was ever added.
    pub revision_id: String,
    /// Statements in insertion order.
    pub statements: Vec<FunctionStatement>,
}

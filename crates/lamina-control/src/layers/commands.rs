//! The layer operations' typed commands (as parsed from requests, not yet validated) and
//! the answers that are not a layer version record.

/// `PublishLayerVersion`, as parsed from the request, not yet validated.
#[derive(Debug, Clone, Default)]
pub struct PublishLayerVersion {
    /// `LayerName` from the path: a name or a layer ARN.
    pub layer_name: String,
    /// `Description`.
    pub description: Option<String>,
    /// `CompatibleRuntimes` (`None` when the member was absent).
    pub compatible_runtimes: Option<Vec<String>>,
    /// `CompatibleArchitectures` (`None` when the member was absent).
    pub compatible_architectures: Option<Vec<String>>,
    /// `LicenseInfo`.
    pub license_info: Option<String>,
    /// `Content` (`None` when the member was absent).
    pub content: Option<LayerContent>,
}

/// `Content` of PublishLayerVersion.
#[derive(Debug, Clone, Default)]
pub struct LayerContent {
    /// `ZipFile`: the base64 text exactly as it arrived.
    pub zip_file_base64: Option<bytes::Bytes>,
    /// `S3Bucket`.
    pub s3_bucket: Option<String>,
    /// `S3Key`.
    pub s3_key: Option<String>,
    /// `S3ObjectVersion`.
    pub s3_object_version: Option<String>,
}

/// The list filters and page of ListLayers and ListLayerVersions, as parsed.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// `CompatibleRuntime`.
    pub compatible_runtime: Option<String>,
    /// `CompatibleArchitecture`.
    pub compatible_architecture: Option<String>,
    /// `Marker`.
    pub marker: Option<String>,
    /// `MaxItems`, still text: the model types it but the wire is a query string.
    pub max_items: Option<String>,
}

/// `AddLayerVersionPermission`, as parsed.
#[derive(Debug, Clone, Default)]
pub struct AddLayerPermission {
    /// `StatementId`.
    pub statement_id: String,
    /// `Action`.
    pub action: String,
    /// `Principal`.
    pub principal: String,
    /// `OrganizationId`.
    pub organization_id: Option<String>,
    /// `RevisionId` precondition.
    pub revision_id: Option<String>,
}

/// What AddLayerVersionPermission answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddedPermission {
    /// The statement as a JSON string.
    pub statement: String,
    /// The policy's new revision.
    pub revision_id: String,
}

/// What GetLayerVersionPolicy answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedPolicy {
    /// The policy document as a JSON string.
    pub policy: String,
    /// The policy's revision.
    pub revision_id: String,
}

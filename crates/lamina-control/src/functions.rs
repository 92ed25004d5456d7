//! The function operations: create, read, update and delete functions (publishing versions
//! in `functions/publish.rs`, listings in `functions/listing.rs`, aliases in
//! `functions/aliases.rs`, invocation lookup in `functions/resolve.rs`).
//!
//! AWS's asynchronous state model (`functions/settle.rs`): a function is created `Pending`
//! and updated `InProgress`, then settles to `Active`/`Successful` (or `Failed`) once it is
//! ready to run; while it settles, updates and PublishVersion are refused with 409 and
//! invocations run the previous code and configuration.

mod aliases;
mod attach;
mod commands;
mod config;
mod environment;
mod listing;
mod publish;
mod resolve;
mod settle;
mod validate;

use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use lamina_store::{DeleteVersionOutcome, FunctionStore, LocalArtifacts};
use lamina_types::function_arn::{
    FUNCTION_NAME_PATTERN, FunctionRef, LATEST, NameShape, Qualifier, check_qualifier,
    function_arn, qualified_function_arn, version_label,
};
use lamina_types::function_config::{FunctionVersionRecord, LATEST_VERSION};
use lamina_types::function_state::{FunctionStatus, State, UpdateStatus};
use lamina_types::limits::{
    ACCOUNT_CONCURRENT_EXECUTIONS, ACCOUNT_TOTAL_CODE_BYTES, MAX_FUNCTION_NAME_CHARS,
    MAX_UNZIPPED_BYTES, MAX_ZIPPED_BYTES,
};
use lamina_types::validation::{self, Constraint, Violations};
use lamina_types::{AccountId, LambdaError, Region, timestamp};

pub use self::commands::{
    AccountSettings, AliasView, ConfigInput, CreateAlias, CreateFunction, FunctionCode,
    FunctionDetails, FunctionView, ListFunctionsQuery, LoggingInput, PageQuery, PublishVersion,
    ResolvedFunction, UpdateAlias, UpdateFunctionCode, UpdateFunctionConfiguration,
};
pub use self::environment::EnvironmentVariables;
pub use self::settle::{Preparer, SETTLE_WAIT};
use crate::ingest::{Ingested, Ingestor};
pub(crate) use crate::internal_errors::{storage_error, validated_but_missing};

/// How many times a change of `$LATEST` or an alias is retried when another change wins.
const CAS_ATTEMPTS: usize = 8;

const STALE_REVISION: &str = "The Revision Id provided does not match the latest Revision Id. \
     Call the GetFunction/GetAlias API to retrieve the latest Revision Id";

const NO_S3_STORE: &str = "S3Bucket and S3Key are not supported: this Lamina server has no S3 \
     store configured. Send the ZIP inline as ZipFile (for example with --zip-file \
     fileb://function.zip).";

const NO_IMAGES: &str = "PackageType Image and ImageUri are not supported: Lamina runs Zip \
     functions only. Send the code as a ZIP in ZipFile.";

const ONLY_LATEST: &str = "Current operation does not support versions other than $LATEST. \
     Please set version to $LATEST or do not set a version in your request.";

/// The function operations over one store and one artifact directory.
pub struct FunctionService {
    store: Arc<dyn FunctionStore>,
    ingestor: Ingestor,
    account: AccountId,
    preparer: Arc<dyn Preparer>,
    settling: Arc<settle::Settling>,
}

impl FunctionService {
    /// A service that records functions for `account` and makes them ready to run with
    /// `preparer`.
    pub fn new(
        store: Arc<dyn FunctionStore>,
        artifacts: LocalArtifacts,
        account: AccountId,
        preparer: Arc<dyn Preparer>,
    ) -> Self {
        let metadata: Arc<dyn lamina_store::MetadataStore> = store.clone();
        Self {
            ingestor: Ingestor::new(metadata, artifacts),
            store,
            account,
            preparer,
            settling: Arc::default(),
        }
    }

    /// The account every ARN is in.
    pub fn account(&self) -> &AccountId {
        &self.account
    }

    /// CreateFunction: validates, attaches layers, ingests the ZIP once, records `$LATEST`
    /// (and version 1 with `Publish`). Nothing is recorded unless every check passes.
    pub async fn create(
        &self,
        region: &Region,
        cmd: CreateFunction,
    ) -> Result<FunctionView, LambdaError> {
        let mut v = Violations::new();
        let fref = match &cmd.function_name {
            None => {
                v.add_null("functionName");
                None
            }
            Some(raw) => validate::function_name(&mut v, raw, NameShape::Plain),
        };
        if cmd.code.is_none() {
            v.add_null("code");
        }
        let entries = validate::config_members(&mut v, &cmd.config, true);
        validate::architectures(&mut v, cmd.architectures.as_deref());
        validate::one_of(
            &mut v,
            "packageType",
            cmd.package_type.as_deref(),
            &["Zip", "Image"],
        );
        validate::tags(&mut v, cmd.tags.as_ref());
        v.into_result()?;
        let (Some(fref), Some(code)) = (fref, cmd.code) else {
            return Err(validated_but_missing());
        };
        if fref.qualifier.is_some() {
            let raw = cmd.function_name.unwrap_or_default();
            return Err(validation::single(
                "functionName",
                &raw,
                Constraint::Pattern(FUNCTION_NAME_PATTERN),
            ));
        }
        let name = self.check_location(region, fref)?.name;
        if name.chars().count() > MAX_FUNCTION_NAME_CHARS {
            return Err(LambdaError::InvalidParameterValue(format!(
                "1 validation error detected: Value '{name}' at 'functionName' failed to satisfy \
                 constraint: Member must have length less than or equal to \
                 {MAX_FUNCTION_NAME_CHARS}"
            )));
        }
        if cmd.package_type.as_deref() == Some("Image") || code.image_uri.is_some() {
            return Err(LambdaError::InvalidParameterValue(NO_IMAGES.to_owned()));
        }
        let (Some(runtime), Some(_)) = (&cmd.config.runtime, &cmd.config.handler) else {
            return Err(LambdaError::InvalidParameterValue(
                "Runtime and Handler are mandatory parameters for functions created with \
                 deployment packages."
                    .to_owned(),
            ));
        };
        validate::runtime(runtime)?;
        validate::tag_rules(cmd.tags.as_ref())?;
        let zip = zip_source(code)?;
        if let Some(env) = &cmd.config.environment {
            validate::environment(env)?;
        }
        let layers = match &entries {
            Some(entries) => {
                attach::attach_layers(self.store.as_ref(), &self.account, region, entries).await?
            }
            None => Vec::new(),
        };
        if self
            .store
            .function(region, &name)
            .await
            .map_err(storage_error)?
            .is_some()
        {
            return Err(already_exists(&name));
        }
        let ingested = self.ingestor.ingest(zip, "Code.ZipFile").await?;
        attach::check_total_size(ingested.unzipped_size, &layers)?;
        let function_config = config::new_config(&name, &cmd.config, cmd.architectures, layers);
        let record = FunctionVersionRecord {
            region: region.clone(),
            name: name.clone(),
            version: LATEST_VERSION,
            revision_id: new_revision(),
            last_modified_millis: timestamp::now_millis(),
            code_sha256: ingested.digest,
            code_size: ingested.size,
            unzipped_size: ingested.unzipped_size,
            content_hash: config::content_hash(&function_config, &ingested.digest),
            config: function_config,
            status: FunctionStatus::creating(),
            previous: None,
        };
        let tags = cmd.tags.unwrap_or_default();
        if !self
            .store
            .create_function(&record, &tags)
            .await
            .map_err(storage_error)?
        {
            return Err(already_exists(&name));
        }
        tracing::info!(
            function = %name,
            code_digest = %record.code_sha256.to_hex(),
            layers = record.config.layers.len(),
            "function created"
        );
        if cmd.publish {
            let published = self.publish_from(region, &name, &record, None).await?;
            self.start_settling(region, &name, vec![LATEST_VERSION, published.version]);
            // AWS answers a create-and-publish with the unqualified ARN and `Version: "1"`.
            return Ok(self.view(published, None));
        }
        self.start_settling(region, &name, vec![LATEST_VERSION]);
        Ok(self.view(record, None))
    }

    /// GetFunction: the configuration of `$LATEST`, a version or an alias's version, with
    /// the function's tags.
    pub async fn get(
        &self,
        region: &Region,
        function_name: &str,
        qualifier: Option<&str>,
    ) -> Result<FunctionDetails, LambdaError> {
        let configuration = self
            .get_configuration(region, function_name, qualifier)
            .await?;
        let function = self
            .store
            .function(region, &configuration.record.name)
            .await
            .map_err(storage_error)?
            .ok_or_else(|| self.not_found(region, &configuration.record.name, None))?;
        Ok(FunctionDetails {
            configuration,
            tags: function.tags,
            reserved_concurrency: function.reserved_concurrency,
        })
    }

    /// GetFunctionConfiguration.
    pub async fn get_configuration(
        &self,
        region: &Region,
        function_name: &str,
        qualifier: Option<&str>,
    ) -> Result<FunctionView, LambdaError> {
        let located = self.locate(region, function_name, NameShape::Namespaced, qualifier)?;
        self.settled(region, &located.name).await;
        let record = self
            .find_version(region, &located.name, located.qualifier.as_deref())
            .await?;
        Ok(self.view(record, located.qualifier.as_deref()))
    }

    /// UpdateFunctionConfiguration: replaces the members sent; `Layers` replaces the list.
    pub async fn update_configuration(
        &self,
        region: &Region,
        cmd: UpdateFunctionConfiguration,
    ) -> Result<FunctionView, LambdaError> {
        let mut v = Violations::new();
        let fref = validate::function_name(&mut v, &cmd.function_name, NameShape::Plain);
        let entries = validate::config_members(&mut v, &cmd.config, false);
        v.into_result()?;
        let name = self.unqualified(region, fref)?;
        if let Some(runtime) = &cmd.config.runtime {
            validate::runtime(runtime)?;
        }
        if let Some(env) = &cmd.config.environment {
            validate::environment(env)?;
        }
        let layers = match &entries {
            Some(entries) => Some(
                attach::attach_layers(self.store.as_ref(), &self.account, region, entries).await?,
            ),
            None => None,
        };
        let record = self
            .modify_latest(region, &name, cmd.revision_id.as_deref(), |latest| {
                let mut next = latest.clone();
                config::apply_update(&name, &mut next.config, &cmd.config, layers.clone());
                attach::check_total_size(next.unzipped_size, &next.config.layers)?;
                Ok(next)
            })
            .await?;
        self.start_settling(region, &name, vec![LATEST_VERSION]);
        Ok(self.view(record, None))
    }

    /// UpdateFunctionCode: new ZIP (and architecture) for `$LATEST`; with `Publish`, also a
    /// new version; with `DryRun`, only the checks.
    pub async fn update_code(
        &self,
        region: &Region,
        cmd: UpdateFunctionCode,
    ) -> Result<FunctionView, LambdaError> {
        let mut v = Violations::new();
        let fref = validate::function_name(&mut v, &cmd.function_name, NameShape::Plain);
        validate::architectures(&mut v, cmd.architectures.as_deref());
        v.into_result()?;
        let name = self.unqualified(region, fref)?;
        if cmd.code.image_uri.is_some() {
            return Err(LambdaError::InvalidParameterValue(NO_IMAGES.to_owned()));
        }
        let zip = zip_source(cmd.code)?;
        self.settled(region, &name).await;
        let latest = self.latest(region, &name).await?;
        check_revision(cmd.revision_id.as_deref(), &latest.revision_id)?;
        self.check_changeable(&latest)?;
        let ingested = self.ingestor.ingest(zip, "ZipFile").await?;
        let change = |latest: &FunctionVersionRecord| {
            let mut next = latest.clone();
            set_code(&mut next, &ingested);
            if let Some(arch) = &cmd.architectures {
                next.config.architectures = arch.clone();
            }
            attach::check_total_size(next.unzipped_size, &next.config.layers)?;
            Ok(next)
        };
        if cmd.dry_run {
            let mut preview = change(&latest)?;
            preview.content_hash = config::content_hash(&preview.config, &preview.code_sha256);
            return Ok(self.view(preview, None));
        }
        let record = self
            .modify_latest(region, &name, cmd.revision_id.as_deref(), change)
            .await?;
        tracing::info!(function = %name, code_digest = %record.code_sha256.to_hex(), "code updated");
        if cmd.publish {
            let published = self.publish_from(region, &name, &record, None).await?;
            self.start_settling(region, &name, vec![LATEST_VERSION, published.version]);
            let label = version_label(published.version);
            return Ok(self.view(published, Some(&label)));
        }
        self.start_settling(region, &name, vec![LATEST_VERSION]);
        Ok(self.view(record, None))
    }

    /// DeleteFunction: the whole function, or one published version with `Qualifier`.
    pub async fn delete(
        &self,
        region: &Region,
        function_name: &str,
        qualifier: Option<&str>,
    ) -> Result<(), LambdaError> {
        let located = self.locate(region, function_name, NameShape::Namespaced, qualifier)?;
        let name = located.name;
        let Some(qualifier) = located.qualifier else {
            if !self
                .store
                .delete_function(region, &name)
                .await
                .map_err(storage_error)?
            {
                return Err(self.not_found(region, &name, None));
            }
            tracing::info!(function = %name, "function deleted");
            return Ok(());
        };
        match Qualifier::classify(&qualifier) {
            Qualifier::Latest => Err(LambdaError::InvalidParameterValue(
                "$LATEST version cannot be deleted without deleting the function.".to_owned(),
            )),
            Qualifier::Alias(alias) => Err(LambdaError::InvalidParameterValue(format!(
                "Deletion of aliases is not supported by DeleteFunction. Use DeleteAlias to \
                 delete the alias {alias}."
            ))),
            Qualifier::Version(n) => {
                match self
                    .store
                    .delete_function_version(region, &name, n)
                    .await
                    .map_err(storage_error)?
                {
                    DeleteVersionOutcome::Deleted => Ok(()),
                    DeleteVersionOutcome::Missing => Err(self.not_found(region, &name, None)),
                    DeleteVersionOutcome::Referenced(aliases) => {
                        Err(LambdaError::ResourceConflict(format!(
                            "Unable to delete version because the following aliases reference \
                             it: {}",
                            validation::render_list(&aliases)
                        )))
                    }
                }
            }
        }
    }

    /// GetAccountSettings.
    pub async fn account_settings(&self, region: &Region) -> Result<AccountSettings, LambdaError> {
        let usage = self
            .store
            .account_usage(region)
            .await
            .map_err(storage_error)?;
        Ok(AccountSettings {
            total_code_size_limit: ACCOUNT_TOTAL_CODE_BYTES,
            code_size_unzipped: MAX_UNZIPPED_BYTES,
            code_size_zipped: MAX_ZIPPED_BYTES,
            concurrent_executions: ACCOUNT_CONCURRENT_EXECUTIONS,
            unreserved_concurrent_executions: ACCOUNT_CONCURRENT_EXECUTIONS,
            total_code_size: usage.total_code_bytes,
            function_count: usage.function_count,
        })
    }

    // ---- shared steps ----

    /// The view an operation answers: `arn_qualifier` qualifies `FunctionArn`.
    fn view(&self, record: FunctionVersionRecord, arn_qualifier: Option<&str>) -> FunctionView {
        let function_arn = match arn_qualifier {
            Some(q) => qualified_function_arn(&record.region, &self.account, &record.name, q),
            None => function_arn(&record.region, &self.account, &record.name),
        };
        let optimization = if record.version != LATEST_VERSION
            && record.config.snap_start_apply_on == "PublishedVersions"
        {
            "On"
        } else {
            "Off"
        };
        FunctionView {
            function_arn,
            version: version_label(record.version),
            runtime_version_arn: record
                .config
                .runtime
                .as_deref()
                .map(|r| config::runtime_version_arn(&record.region, r)),
            snap_start_optimization_status: optimization,
            record,
        }
    }

    /// Fails with "Function not found" unless `$LATEST` of `name` exists.
    async fn require_function(&self, region: &Region, name: &str) -> Result<(), LambdaError> {
        match self
            .store
            .function(region, name)
            .await
            .map_err(storage_error)?
        {
            Some(_) => Ok(()),
            None => Err(self.not_found(region, name, None)),
        }
    }

    /// "Function not found: <arn>", qualified when a qualifier is given.
    fn not_found(&self, region: &Region, name: &str, qualifier: Option<&str>) -> LambdaError {
        let arn = match qualifier {
            Some(q) => qualified_function_arn(region, &self.account, name, q),
            None => function_arn(region, &self.account, name),
        };
        LambdaError::ResourceNotFound(format!("Function not found: {arn}"))
    }

    /// Checks an ARN's region and account against the request's.
    fn check_location(&self, region: &Region, r: FunctionRef) -> Result<Located, LambdaError> {
        if let Some(arn_region) = &r.region
            && arn_region != region
        {
            return Err(LambdaError::ResourceNotFound(format!(
                "Functions from '{arn_region}' are not reachable in this region ('{region}')"
            )));
        }
        if let Some(account) = &r.account
            && account != &self.account
        {
            let arn = function_arn(region, account, &r.name);
            return Err(LambdaError::ResourceNotFound(format!(
                "Function not found: {arn}"
            )));
        }
        Ok(Located {
            name: r.name,
            qualifier: r.qualifier,
        })
    }

    /// Parses a function name and the `Qualifier` parameter of a Get/Delete-style operation.
    fn locate(
        &self,
        region: &Region,
        raw: &str,
        shape: NameShape,
        qualifier: Option<&str>,
    ) -> Result<Located, LambdaError> {
        let mut v = Violations::new();
        let fref = validate::function_name(&mut v, raw, shape);
        if let Some(q) = qualifier
            && let Err(c) = check_qualifier(q)
        {
            v.add("qualifier", q, c);
        }
        v.into_result()?;
        let mut located = self.check_location(region, fref.ok_or_else(validated_but_missing)?)?;
        match (&located.qualifier, qualifier) {
            (Some(derived), Some(given)) if derived != given => {
                return Err(LambdaError::InvalidParameterValue(
                    "The derived qualifier from the function name does not match the specified \
                     qualifier."
                        .to_owned(),
                ));
            }
            (None, Some(given)) => located.qualifier = Some(given.to_owned()),
            _ => {}
        }
        Ok(located)
    }

    /// The name of a function an operation on `$LATEST` names (a `$LATEST` qualifier is
    /// tolerated, any other is refused).
    fn unqualified(
        &self,
        region: &Region,
        fref: Option<FunctionRef>,
    ) -> Result<String, LambdaError> {
        let located = self.check_location(region, fref.ok_or_else(validated_but_missing)?)?;
        match located.qualifier.as_deref() {
            None | Some(LATEST) => Ok(located.name),
            Some(_) => Err(LambdaError::InvalidParameterValue(ONLY_LATEST.to_owned())),
        }
    }

    /// The version a qualifier names, or "Function not found".
    async fn find_version(
        &self,
        region: &Region,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<FunctionVersionRecord, LambdaError> {
        self.lookup(region, name, qualifier)
            .await?
            .ok_or_else(|| self.not_found(region, name, qualifier))
    }

    /// The version a qualifier names: by primary key, or through the alias in one join.
    async fn lookup(
        &self,
        region: &Region,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<Option<FunctionVersionRecord>, LambdaError> {
        let found = match qualifier.map(Qualifier::classify) {
            None | Some(Qualifier::Latest) => {
                self.store
                    .function_version(region, name, LATEST_VERSION)
                    .await
            }
            Some(Qualifier::Version(n)) if n > 0 => {
                self.store.function_version(region, name, n).await
            }
            Some(Qualifier::Version(_)) => Ok(None),
            Some(Qualifier::Alias(alias)) => self
                .store
                .alias_target(region, name, &alias)
                .await
                .map(|target| target.and_then(|(_, record)| record)),
        };
        found.map_err(storage_error)
    }

    async fn latest(
        &self,
        region: &Region,
        name: &str,
    ) -> Result<FunctionVersionRecord, LambdaError> {
        self.store
            .function_version(region, name, LATEST_VERSION)
            .await
            .map_err(storage_error)?
            .ok_or_else(|| self.not_found(region, name, None))
    }

    /// Applies `change` to `$LATEST` and stores it under a new revision, retrying when a
    /// concurrent change wins; a stale `expected_revision` fails with 412.
    async fn modify_latest(
        &self,
        region: &Region,
        name: &str,
        expected_revision: Option<&str>,
        change: impl Fn(&FunctionVersionRecord) -> Result<FunctionVersionRecord, LambdaError>,
    ) -> Result<FunctionVersionRecord, LambdaError> {
        self.settled(region, name).await;
        for _ in 0..CAS_ATTEMPTS {
            let latest = self.latest(region, name).await?;
            check_revision(expected_revision, &latest.revision_id)?;
            self.check_changeable(&latest)?;
            let mut next = change(&latest)?;
            next.revision_id = new_revision();
            next.last_modified_millis = timestamp::now_millis();
            next.content_hash = config::content_hash(&next.config, &next.code_sha256);
            // Invocations keep running what the update replaces until it has settled.
            next.status = latest.status.updating();
            next.previous = Some(Box::new(latest.deployment()));
            if self
                .store
                .replace_version(&latest.revision_id, &next)
                .await
                .map_err(storage_error)?
            {
                return Ok(next);
            }
        }
        Err(LambdaError::rate_exceeded(None))
    }
}

impl FunctionService {
    /// Refuses a change of a function that is being created or updated, as AWS does.
    fn check_changeable(&self, latest: &FunctionVersionRecord) -> Result<(), LambdaError> {
        let arn = function_arn(&latest.region, &self.account, &latest.name);
        match latest.status.state {
            State::Pending => Err(not_in_state(&arn, &latest.status)),
            _ if latest.status.last_update == Some(UpdateStatus::InProgress) => {
                Err(LambdaError::ResourceConflict(format!(
                    "The operation cannot be performed at this time. An update is in progress \
                     for resource: {arn}"
                )))
            }
            _ => Ok(()),
        }
    }
}

/// 409 for an operation the function's `State` does not allow (AWS's newer wording).
fn not_in_state(arn: &str, status: &FunctionStatus) -> LambdaError {
    let code = status.state_reason.as_ref().map_or("", |r| r.code.as_str());
    LambdaError::ResourceConflict(format!(
        "The operation cannot be performed at this time. The resource {arn} is currently in \
         the following state: '{}'. StateReasonCode: '{code}'",
        status.state.as_str()
    ))
}

/// A function named in a request, in the request's region and account.
struct Located {
    name: String,
    qualifier: Option<String>,
}

fn set_code(record: &mut FunctionVersionRecord, ingested: &Ingested) {
    record.code_sha256 = ingested.digest;
    record.code_size = ingested.size;
    record.unzipped_size = ingested.unzipped_size;
}

/// `CodeSha256`: standard base64 of the ZIP's SHA-256.
pub(crate) fn base64_sha256(record: &FunctionVersionRecord) -> String {
    base64::engine::general_purpose::STANDARD.encode(record.code_sha256.0)
}

/// The ZIP of a `Code` or UpdateFunctionCode request: `ZipFile` only.
fn zip_source(code: FunctionCode) -> Result<Bytes, LambdaError> {
    let s3 = code.s3_bucket.is_some() || code.s3_key.is_some() || code.s3_object_version.is_some();
    match (code.zip_file_base64, s3) {
        (Some(zip), false) => Ok(zip),
        (Some(_), true) => Err(LambdaError::InvalidParameterValue(
            "Please provide either ZipFile or S3Bucket and S3Key, not both.".to_owned(),
        )),
        (None, true) => Err(LambdaError::InvalidParameterValue(NO_S3_STORE.to_owned())),
        (None, false) => Err(LambdaError::InvalidParameterValue(
            "Please provide a source for the function code: ZipFile.".to_owned(),
        )),
    }
}

fn check_revision(expected: Option<&str>, current: &str) -> Result<(), LambdaError> {
    match expected {
        Some(e) if e != current => Err(LambdaError::PreconditionFailed(STALE_REVISION.to_owned())),
        _ => Ok(()),
    }
}

fn already_exists(name: &str) -> LambdaError {
    LambdaError::ResourceConflict(format!("Function already exist: {name}"))
}

fn new_revision() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod state_tests;
#[cfg(test)]
mod tests;

//! UpdateFunctionConfiguration and UpdateFunctionCode: a compare-and-swap of `$LATEST`
//! under a new revision, refused while the function settles, then settled again.

use lamina_types::function_arn::{NameShape, function_arn, version_label};
use lamina_types::function_config::{FunctionVersionRecord, LATEST_VERSION};
use lamina_types::function_state::{State, UpdateStatus};
use lamina_types::validation::Violations;
use lamina_types::{LambdaError, Scope, timestamp};

use super::create::{NO_IMAGES, zip_source};
use super::{
    CAS_ATTEMPTS, FunctionService, FunctionView, UpdateFunctionCode, UpdateFunctionConfiguration,
    attach, check_revision, config, new_revision, not_in_state, storage_error, validate,
};
use crate::ingest::Ingested;

impl FunctionService {
    /// UpdateFunctionConfiguration: replaces the members sent; `Layers` replaces the list.
    pub async fn update_configuration(
        &self,
        scope: &Scope,
        cmd: UpdateFunctionConfiguration,
    ) -> Result<FunctionView, LambdaError> {
        let mut v = Violations::new();
        let fref = validate::function_name(&mut v, &cmd.function_name, NameShape::Plain);
        let entries = validate::config_members(&mut v, &cmd.config, false);
        v.into_result()?;
        super::destinations::check_dead_letter(
            scope,
            cmd.config.extra.get("DeadLetterConfig").map(String::as_str),
        )?;
        let name = self.unqualified(scope, fref)?;
        if let Some(runtime) = &cmd.config.runtime {
            validate::runtime(runtime)?;
        }
        if let Some(env) = &cmd.config.environment {
            validate::environment(env)?;
        }
        let layers = match &entries {
            Some(entries) => {
                Some(attach::attach_layers(self.store.as_ref(), scope, entries).await?)
            }
            None => None,
        };
        let record = self
            .modify_latest(scope, &name, cmd.revision_id.as_deref(), |latest| {
                let mut next = latest.clone();
                config::apply_update(&name, &mut next.config, &cmd.config, layers.clone());
                validate::snap_start(&next.config)?;
                attach::check_total_size(next.unzipped_size, &next.config.layers)?;
                Ok(next)
            })
            .await?;
        self.start_settling(scope, &name, vec![LATEST_VERSION]);
        Ok(self.view(record, None))
    }

    /// UpdateFunctionCode: new ZIP (and architecture) for `$LATEST`; with `Publish`, also a
    /// new version; with `DryRun`, only the checks.
    pub async fn update_code(
        &self,
        scope: &Scope,
        cmd: UpdateFunctionCode,
    ) -> Result<FunctionView, LambdaError> {
        let mut v = Violations::new();
        let fref = validate::function_name(&mut v, &cmd.function_name, NameShape::Plain);
        validate::architectures(&mut v, cmd.architectures.as_deref());
        v.into_result()?;
        let name = self.unqualified(scope, fref)?;
        if cmd.code.image_uri.is_some() {
            return Err(LambdaError::InvalidParameterValue(NO_IMAGES.to_owned()));
        }
        let (zip, member) = zip_source(cmd.code, "ZipFile")?;
        self.settled(scope, &name).await;
        let latest = self.latest(scope, &name).await?;
        check_revision(cmd.revision_id.as_deref(), &latest.revision_id)?;
        self.check_changeable(&latest)?;
        let ingested = self.ingestor.ingest_from(zip, member).await?;
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
            .modify_latest(scope, &name, cmd.revision_id.as_deref(), change)
            .await?;
        tracing::info!(function = %name, code_digest = %record.code_sha256.to_hex(), "code updated");
        if cmd.publish {
            let published = self.publish_from(scope, &name, &record, None).await?;
            self.start_settling(scope, &name, vec![LATEST_VERSION, published.version]);
            let label = version_label(published.version);
            return Ok(self.view(published, Some(&label)));
        }
        self.start_settling(scope, &name, vec![LATEST_VERSION]);
        Ok(self.view(record, None))
    }

    /// Applies `change` to `$LATEST` and stores it under a new revision, retrying when a
    /// concurrent change wins; a stale `expected_revision` fails with 412.
    async fn modify_latest(
        &self,
        scope: &Scope,
        name: &str,
        expected_revision: Option<&str>,
        change: impl Fn(&FunctionVersionRecord) -> Result<FunctionVersionRecord, LambdaError>,
    ) -> Result<FunctionVersionRecord, LambdaError> {
        self.settled(scope, name).await;
        for _ in 0..CAS_ATTEMPTS {
            let latest = self.latest(scope, name).await?;
            check_revision(expected_revision, &latest.revision_id)?;
            self.check_changeable(&latest)?;
            let mut next = change(&latest)?;
            next.revision_id = new_revision();
            next.last_modified_millis = timestamp::now_millis();
            next.content_hash = config::content_hash(&next.config, &next.code_sha256);
            // Invocations keep running what the update replaces until it has settled.
            next.status = latest.status.updating();
            next.previous = Some(Box::new(latest.deployment()));
            let replaced = self.store.replace_version(&latest.revision_id, &next).await;
            self.resolved.invalidate(scope, name);
            if replaced.map_err(storage_error)? {
                return Ok(next);
            }
        }
        Err(LambdaError::rate_exceeded(None))
    }

    /// Refuses a change of a function that is being created or updated, as AWS does.
    pub(super) fn check_changeable(
        &self,
        latest: &FunctionVersionRecord,
    ) -> Result<(), LambdaError> {
        let arn = function_arn(&latest.scope, &latest.name);
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

fn set_code(record: &mut FunctionVersionRecord, ingested: &Ingested) {
    record.code_sha256 = ingested.digest;
    record.code_size = ingested.size;
    record.unzipped_size = ingested.unzipped_size;
}

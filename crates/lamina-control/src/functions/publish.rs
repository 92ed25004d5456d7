//! PublishVersion, and the publish step of CreateFunction and UpdateFunctionCode with
//! `Publish`: a version is a snapshot of `$LATEST`, taken only if `$LATEST` did not move.

use lamina_store::{PublishLatest, PublishOutcome};
use lamina_types::function_arn::{NameShape, function_arn, version_label};
use lamina_types::function_config::FunctionVersionRecord;
use lamina_types::function_state::{FunctionStatus, State};
use lamina_types::limits::MAX_DESCRIPTION_CHARS;
use lamina_types::validation::Violations;
use lamina_types::{LambdaError, Scope};

use super::{
    CAS_ATTEMPTS, FunctionService, FunctionView, PublishVersion, STALE_REVISION, base64_sha256,
    check_revision, new_revision, not_in_state, storage_error, validate,
};

impl FunctionService {
    /// PublishVersion: snapshots `$LATEST`, or returns the last version when nothing changed.
    pub async fn publish_version(
        &self,
        scope: &Scope,
        cmd: PublishVersion,
    ) -> Result<FunctionView, LambdaError> {
        let mut v = Violations::new();
        let fref = validate::function_name(&mut v, &cmd.function_name, NameShape::Plain);
        validate::max_chars(
            &mut v,
            "description",
            cmd.description.as_deref(),
            MAX_DESCRIPTION_CHARS,
        );
        v.into_result()?;
        let name = self.unqualified(scope, fref)?;
        self.settled(scope, &name).await;
        for _ in 0..CAS_ATTEMPTS {
            let latest = self.latest(scope, &name).await?;
            check_revision(cmd.revision_id.as_deref(), &latest.revision_id)?;
            self.check_changeable(&latest)?;
            if latest.status.state == State::Failed {
                let arn = function_arn(scope, &name);
                return Err(not_in_state(&arn, &latest.status));
            }
            let current = base64_sha256(&latest);
            if let Some(given) = &cmd.code_sha256
                && *given != current
            {
                return Err(LambdaError::InvalidParameterValue(format!(
                    "CodeSHA256 ({given}) is different from current CodeSHA256 in $LATEST \
                     ({current}). Please try again with the CodeSHA256 in $LATEST."
                )));
            }
            match self
                .publish_once(scope, &name, &latest, cmd.description.clone())
                .await?
            {
                Some(record) => {
                    let label = version_label(record.version);
                    return Ok(self.view(record, Some(&label)));
                }
                None if cmd.revision_id.is_some() => {
                    return Err(LambdaError::PreconditionFailed(STALE_REVISION.to_owned()));
                }
                None => continue,
            }
        }
        Err(LambdaError::rate_exceeded(None))
    }

    /// Publishes from a `$LATEST` just written by this request.
    pub(super) async fn publish_from(
        &self,
        scope: &Scope,
        name: &str,
        latest: &FunctionVersionRecord,
        description: Option<String>,
    ) -> Result<FunctionVersionRecord, LambdaError> {
        self.publish_once(scope, name, latest, description)
            .await?
            .ok_or_else(|| {
                LambdaError::ResourceConflict(format!(
                    "The function {name} was changed while its version was being published. \
                     Call PublishVersion to publish it."
                ))
            })
    }

    /// One publish attempt; `None` when `$LATEST` moved since `latest` was read.
    async fn publish_once(
        &self,
        scope: &Scope,
        name: &str,
        latest: &FunctionVersionRecord,
        description: Option<String>,
    ) -> Result<Option<FunctionVersionRecord>, LambdaError> {
        let outcome = self
            .store
            .publish_latest(&PublishLatest {
                scope: scope.clone(),
                name: name.to_owned(),
                expected_latest_revision: latest.revision_id.clone(),
                version_revision_id: new_revision(),
                latest_revision_id: new_revision(),
                description,
            })
            .await;
        self.resolved.invalidate(scope, name);
        let outcome = outcome.map_err(storage_error)?;
        match outcome {
            PublishOutcome::Published(r) => {
                tracing::info!(function = %name, version = r.version, "version published");
                self.pending_snapshot(scope, name, r).await.map(Some)
            }
            PublishOutcome::Unchanged(r) => Ok(Some(r)),
            PublishOutcome::Stale => Ok(None),
            PublishOutcome::Missing => Err(self.not_found(scope, name, None)),
        }
    }

    /// SnapStart: a version published with `SnapStart.ApplyOn` `PublishedVersions` stays
    /// `Pending` until its snapshot is made (its Init runs once, in the background, when the
    /// server's [`super::Preparer`] settles it), as on AWS. A version published while
    /// `$LATEST` itself settles is settled with it already.
    async fn pending_snapshot(
        &self,
        scope: &Scope,
        name: &str,
        record: FunctionVersionRecord,
    ) -> Result<FunctionVersionRecord, LambdaError> {
        if !record.snap_start() || record.status.is_settling() {
            return Ok(record);
        }
        let mut pending = record.clone();
        pending.status = FunctionStatus::creating();
        pending.revision_id = new_revision();
        let replaced = self
            .store
            .replace_version(&record.revision_id, &pending)
            .await;
        self.resolved.invalidate(scope, name);
        let replaced = replaced.map_err(storage_error)?;
        if !replaced {
            return Ok(record);
        }
        self.start_settling(scope, name, vec![pending.version]);
        Ok(pending)
    }
}

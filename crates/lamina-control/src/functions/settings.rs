//! The settings kept beside a function: Get/PutFunctionRecursionConfig (one per function),
//! Get/PutRuntimeManagementConfig (one per version), and Get/DeleteFunctionCodeSigningConfig,
//! which Lamina answers as for a function without one, since it has no code signing.

use lamina_types::function_arn::{NameShape, Qualifier, function_arn, qualified_function_arn};
use lamina_types::function_config::LATEST_VERSION;
use lamina_types::function_settings::{RecursiveLoop, RuntimeManagement, UpdateRuntimeOn};
use lamina_types::validation::{Constraint, Violations};
use lamina_types::{LambdaError, Scope};

use super::{FunctionService, storage_error, validate, validated_but_missing};

/// The model's bounds and pattern of `RuntimeVersionArn`.
const RUNTIME_VERSION_ARN_MIN: usize = 26;
const RUNTIME_VERSION_ARN_MAX: usize = 2048;
const RUNTIME_VERSION_ARN_PATTERN: &str = "((arn:(aws[a-zA-Z-]*):lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}::runtime:.+)|(arn:(aws[a-zA-Z-]*):lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:\\d{12}:runtime/[A-Za-z0-9_.-]{1,128}/version/[A-Za-z0-9_.-]{1,128}))";

/// Guessed texts (AWS's reference gives none): `Manual` without a runtime version, and a
/// runtime version with another mode.
const MANUAL_NEEDS_ARN: &str =
    "RuntimeVersionArn must be specified when UpdateRuntimeOn is Manual.";
const ARN_ONLY_WHEN_MANUAL: &str =
    "RuntimeVersionArn can only be specified when UpdateRuntimeOn is Manual.";

/// A version's runtime management configuration, as the API answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeManagementView {
    /// `FunctionArn`: qualified when the request named a qualifier.
    pub function_arn: String,
    /// `UpdateRuntimeOn` and `RuntimeVersionArn`.
    pub config: RuntimeManagement,
}

/// Whether `arn` has the shape of the model's `RuntimeVersionArn` pattern: an AWS runtime
/// (`arn:aws:lambda:<region>::runtime:<id>`) or an account's
/// (`arn:aws:lambda:<region>:<account>:runtime/<name>/version/<version>`).
fn is_runtime_version_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [arn_word, partition, service, region, account, resource] = parts[..] else {
        return false;
    };
    let word = |s: &str, max: usize| {
        (1..=max).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    };
    let region_ok = region.len() >= 4
        && region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let head_ok =
        arn_word == "arn" && partition.starts_with("aws") && service == "lambda" && region_ok;
    if !head_ok {
        return false;
    }
    if account.is_empty() {
        return resource
            .strip_prefix("runtime:")
            .is_some_and(|id| !id.is_empty());
    }
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let segments: Vec<&str> = resource.split('/').collect();
    matches!(segments[..], ["runtime", name, "version", version] if word(name, 128) && word(version, 128))
}

impl FunctionService {
    /// The function a recursion operation names: an unqualified name or ARN.
    fn recursion_target(&self, scope: &Scope, raw: &str) -> Result<String, LambdaError> {
        let mut v = Violations::new();
        let fref = validate::function_name(&mut v, raw, NameShape::Plain);
        v.into_result()?;
        self.unqualified(scope, fref)
    }

    /// GetFunctionRecursionConfig: `Terminate` unless set otherwise.
    pub async fn recursion_config(
        &self,
        scope: &Scope,
        function_name: &str,
    ) -> Result<RecursiveLoop, LambdaError> {
        let name = self.recursion_target(scope, function_name)?;
        self.store
            .recursive_loop(scope, &name)
            .await
            .map_err(storage_error)?
            .ok_or_else(|| self.not_found(scope, &name, None))
    }

    /// PutFunctionRecursionConfig.
    pub async fn put_recursion_config(
        &self,
        scope: &Scope,
        function_name: &str,
        recursive_loop: Option<&str>,
    ) -> Result<RecursiveLoop, LambdaError> {
        let mut v = Violations::new();
        let fref = validate::function_name(&mut v, function_name, NameShape::Plain);
        match recursive_loop {
            None => v.add_null("recursiveLoop"),
            Some(s) => validate::one_of(&mut v, "recursiveLoop", Some(s), &RecursiveLoop::NAMES),
        }
        v.into_result()?;
        let setting = recursive_loop
            .and_then(RecursiveLoop::parse)
            .ok_or_else(validated_but_missing)?;
        let name = self.unqualified(scope, fref)?;
        if !self
            .store
            .put_recursive_loop(scope, &name, setting)
            .await
            .map_err(storage_error)?
        {
            return Err(self.not_found(scope, &name, None));
        }
        Ok(setting)
    }

    /// The function, version number and answered ARN a runtime management operation names:
    /// `$LATEST` (the default) or a published version.
    fn runtime_management_target(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: Option<&str>,
        v: &mut Violations,
    ) -> Result<Option<(String, i64, String)>, LambdaError> {
        let fref = validate::function_name(v, function_name, NameShape::Namespaced);
        if let Some(q) = qualifier
            && let Err(c) = lamina_types::function_arn::check_qualifier(q)
        {
            v.add("qualifier", q, c);
        }
        if fref.is_none() || !v.is_empty() {
            return Ok(None);
        }
        let located = self.locate(scope, function_name, NameShape::Namespaced, qualifier)?;
        let version = match located.qualifier.as_deref().map(Qualifier::classify) {
            None | Some(Qualifier::Latest) => LATEST_VERSION,
            Some(Qualifier::Version(n)) if n > 0 => n,
            // Guess: an alias (or version 0) names no version of its own here, as in AWS's
            // reference ("$LATEST or a published version number").
            Some(_) => {
                return Err(self.not_found(scope, &located.name, located.qualifier.as_deref()));
            }
        };
        // Guess: the answer's ARN is qualified exactly when the request named a qualifier.
        let arn = match located.qualifier.as_deref() {
            Some(q) => qualified_function_arn(scope, &located.name, q),
            None => function_arn(scope, &located.name),
        };
        Ok(Some((located.name, version, arn)))
    }

    /// GetRuntimeManagementConfig.
    pub async fn runtime_management_config(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: Option<&str>,
    ) -> Result<RuntimeManagementView, LambdaError> {
        let mut v = Violations::new();
        let target = self.runtime_management_target(scope, function_name, qualifier, &mut v)?;
        v.into_result()?;
        let (name, version, function_arn) = target.ok_or_else(validated_but_missing)?;
        let config = self
            .store
            .runtime_management(scope, &name, version)
            .await
            .map_err(storage_error)?
            .ok_or_else(|| self.not_found(scope, &name, qualifier))?;
        Ok(RuntimeManagementView {
            function_arn,
            config,
        })
    }

    /// PutRuntimeManagementConfig: `Manual` needs a runtime version, the other modes take
    /// none.
    pub async fn put_runtime_management_config(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: Option<&str>,
        update_runtime_on: Option<&str>,
        runtime_version_arn: Option<&str>,
    ) -> Result<RuntimeManagementView, LambdaError> {
        let mut v = Violations::new();
        let target = self.runtime_management_target(scope, function_name, qualifier, &mut v)?;
        match update_runtime_on {
            None => v.add_null("updateRuntimeOn"),
            Some(s) => {
                validate::one_of(&mut v, "updateRuntimeOn", Some(s), &UpdateRuntimeOn::NAMES)
            }
        }
        if let Some(arn) = runtime_version_arn {
            if arn.len() > RUNTIME_VERSION_ARN_MAX {
                v.add(
                    "runtimeVersionArn",
                    arn,
                    Constraint::MaxLength(RUNTIME_VERSION_ARN_MAX),
                );
            } else if arn.len() < RUNTIME_VERSION_ARN_MIN {
                v.add(
                    "runtimeVersionArn",
                    arn,
                    Constraint::MinLength(RUNTIME_VERSION_ARN_MIN),
                );
            } else if !is_runtime_version_arn(arn) {
                v.add(
                    "runtimeVersionArn",
                    arn,
                    Constraint::Pattern(RUNTIME_VERSION_ARN_PATTERN),
                );
            }
        }
        v.into_result()?;
        let (name, version, function_arn) = target.ok_or_else(validated_but_missing)?;
        let mode = update_runtime_on
            .and_then(UpdateRuntimeOn::parse)
            .ok_or_else(validated_but_missing)?;
        match (mode, runtime_version_arn) {
            (UpdateRuntimeOn::Manual, None) => {
                return Err(LambdaError::InvalidParameterValue(
                    MANUAL_NEEDS_ARN.to_owned(),
                ));
            }
            (UpdateRuntimeOn::Auto | UpdateRuntimeOn::FunctionUpdate, Some(_)) => {
                return Err(LambdaError::InvalidParameterValue(
                    ARN_ONLY_WHEN_MANUAL.to_owned(),
                ));
            }
            _ => {}
        }
        let config = RuntimeManagement {
            update_runtime_on: mode,
            runtime_version_arn: runtime_version_arn.map(str::to_owned),
        };
        if !self
            .store
            .put_runtime_management(scope, &name, version, &config)
            .await
            .map_err(storage_error)?
        {
            return Err(self.not_found(scope, &name, qualifier));
        }
        Ok(RuntimeManagementView {
            function_arn,
            config,
        })
    }

    /// GetFunctionCodeSigningConfig and DeleteFunctionCodeSigningConfig: the function must
    /// exist; it never has a code signing configuration (Lamina has no signer), so there is
    /// nothing to show or remove. Returns the function's plain name.
    pub async fn code_signing_target(
        &self,
        scope: &Scope,
        function_name: &str,
    ) -> Result<String, LambdaError> {
        let located = self.locate(scope, function_name, NameShape::Namespaced, None)?;
        self.require_function(scope, &located.name).await?;
        Ok(located.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_version_arns_of_both_shapes() {
        assert!(is_runtime_version_arn(
            "arn:aws:lambda:us-east-1::runtime:0c1a3d7e5f"
        ));
        assert!(is_runtime_version_arn(
            "arn:aws:lambda:eu-west-1:123456789012:runtime/python3.12/version/1.2"
        ));
        assert!(!is_runtime_version_arn(
            "arn:aws:lambda:us-east-1::runtime:"
        ));
        assert!(!is_runtime_version_arn("arn:aws:s3:us-east-1::runtime:abc"));
        assert!(!is_runtime_version_arn(
            "arn:aws:lambda:us-east-1:12345:runtime/python3.12/version/1"
        ));
        assert!(!is_runtime_version_arn(
            "arn:aws:lambda:us-east-1:123456789012:runtime/python3.12"
        ));
        assert!(!is_runtime_version_arn("not an arn at all, clearly"));
    }
}

//! The five alias operations. An alias points at `$LATEST` or a version and may route a
//! share of traffic to one more version (stored and returned; see `resolve.rs`).

use std::collections::BTreeMap;

use lamina_store::AliasInsert;
use lamina_types::function_arn::{
    NameShape, check_alias_name, check_alias_version, qualified_function_arn,
};
use lamina_types::function_config::AliasRecord;
use lamina_types::limits::{
    MAX_ALIAS_ADDITIONAL_VERSIONS, MAX_DESCRIPTION_CHARS, MAX_VERSION_CHARS,
};
use lamina_types::validation::{Constraint, Violations};
use lamina_types::{LambdaError, Scope};

use super::commands::{AliasView, CreateAlias, PageQuery, UpdateAlias};
use super::listing::page_limit;
use super::{
    CAS_ATTEMPTS, FunctionService, STALE_REVISION, check_revision, new_revision, storage_error,
    validate, validated_but_missing,
};
use crate::paging::{Page, marker, next_marker};

type Weights = BTreeMap<String, f64>;

/// A weight as Java prints a double in AWS's messages: `0.5`, `2.0`.
fn java_double(w: f64) -> String {
    if w.fract() == 0.0 && w.abs() < 1e15 {
        format!("{w:.1}")
    } else {
        w.to_string()
    }
}

/// Model checks of `RoutingConfig.AdditionalVersionWeights`: keys are version numbers,
/// weights within 0.0 to 1.0.
fn check_weights(v: &mut Violations, weights: Option<&Weights>) {
    const FIELD: &str = "routingConfig.additionalVersionWeights";
    let Some(weights) = weights else { return };
    for (key, weight) in weights {
        let shown = format!("{{{key}={}}}", java_double(*weight));
        if !(0.0..=1.0).contains(weight) {
            v.add(
                FIELD,
                &shown,
                Constraint::MapValues(vec![
                    Constraint::MaxDecimal("1.0"),
                    Constraint::MinDecimal("0.0"),
                ]),
            );
        }
        if key.is_empty()
            || key.len() > MAX_VERSION_CHARS
            || !key.bytes().all(|b| b.is_ascii_digit())
        {
            v.add(
                FIELD,
                &shown,
                Constraint::MapKeys(vec![
                    Constraint::MaxLength(MAX_VERSION_CHARS),
                    Constraint::MinLength(1),
                    Constraint::Pattern("[0-9]+"),
                    Constraint::NotNull,
                ]),
            );
        }
    }
}

fn check_name(v: &mut Violations, name: &str) {
    if let Err(c) = check_alias_name(name) {
        v.add("name", name, c);
    }
}

fn check_version(v: &mut Violations, version: &str) {
    if let Err(c) = check_alias_version(version) {
        v.add("functionVersion", version, c);
    }
}

/// Version numbers of a `FunctionVersion`; `$LATEST` is 0, anything else cannot exist.
fn version_number(version: &str) -> Option<i64> {
    if version == "$LATEST" {
        Some(0)
    } else {
        version.parse::<i64>().ok().filter(|n| *n > 0)
    }
}

impl FunctionService {
    fn alias_view(&self, record: AliasRecord) -> AliasView {
        AliasView {
            alias_arn: qualified_function_arn(&record.scope, &record.function_name, &record.name),
            record,
        }
    }

    /// Checks that the function exists and that `version` and the routed versions do, with
    /// AWS's rules on routing.
    async fn check_targets(
        &self,
        scope: &Scope,
        function: &str,
        version: &str,
        weights: Option<&Weights>,
    ) -> Result<(), LambdaError> {
        let exists = |n: Option<i64>| async move {
            match n {
                Some(n) => self
                    .store
                    .function_version(scope, function, n)
                    .await
                    .map(|r| r.is_some())
                    .map_err(storage_error),
                None => Ok(false),
            }
        };
        if self
            .store
            .function(scope, function)
            .await
            .map_err(storage_error)?
            .is_none()
        {
            return Err(self.not_found(scope, function, None));
        }
        if !exists(version_number(version)).await? {
            return Err(self.not_found(scope, function, Some(version)));
        }
        let Some(weights) = weights else {
            return Ok(());
        };
        if weights.len() > MAX_ALIAS_ADDITIONAL_VERSIONS {
            return Err(LambdaError::InvalidParameterValue(format!(
                "Number of items in AdditionalVersionWeights cannot be greater than \
                 {MAX_ALIAS_ADDITIONAL_VERSIONS}"
            )));
        }
        for key in weights.keys() {
            if key == version {
                return Err(LambdaError::InvalidParameterValue(format!(
                    "Invalid function version {version}. Function version {version} is already \
                     included in routing configuration."
                )));
            }
            if version == "$LATEST" {
                return Err(LambdaError::InvalidParameterValue(
                    "$LATEST is not supported for an alias pointing to more than 1 version"
                        .to_owned(),
                ));
            }
            if !exists(version_number(key)).await? {
                return Err(self.not_found(scope, function, Some(key)));
            }
        }
        Ok(())
    }

    /// CreateAlias.
    pub async fn create_alias(
        &self,
        scope: &Scope,
        cmd: CreateAlias,
    ) -> Result<AliasView, LambdaError> {
        let mut v = Violations::new();
        let fref = validate::function_name(&mut v, &cmd.function_name, NameShape::Plain);
        match &cmd.name {
            Some(n) => check_name(&mut v, n),
            None => v.add_null("name"),
        }
        match &cmd.function_version {
            Some(fv) => check_version(&mut v, fv),
            None => v.add_null("functionVersion"),
        }
        validate::max_chars(
            &mut v,
            "description",
            cmd.description.as_deref(),
            MAX_DESCRIPTION_CHARS,
        );
        let weights = cmd.routing.flatten().filter(|w| !w.is_empty());
        check_weights(&mut v, weights.as_ref());
        v.into_result()?;
        let (Some(name), Some(version)) = (cmd.name, cmd.function_version) else {
            return Err(validated_but_missing());
        };
        let function = self.unqualified(scope, fref)?;
        self.check_targets(scope, &function, &version, weights.as_ref())
            .await?;
        let record = AliasRecord {
            scope: scope.clone(),
            function_name: function.clone(),
            name,
            function_version: version,
            description: cmd.description.unwrap_or_default(),
            additional_version_weights: weights,
            revision_id: new_revision(),
        };
        let inserted = self.store.insert_alias(&record).await;
        self.resolved.invalidate(scope, &function);
        match inserted.map_err(storage_error)? {
            AliasInsert::Inserted => Ok(self.alias_view(record)),
            AliasInsert::Exists => Err(LambdaError::ResourceConflict(format!(
                "Alias already exists: {}",
                self.alias_view(record).alias_arn
            ))),
            AliasInsert::Missing => Err(self.not_found(scope, &function, None)),
        }
    }

    /// GetAlias.
    pub async fn get_alias(
        &self,
        scope: &Scope,
        function_name: &str,
        name: &str,
    ) -> Result<AliasView, LambdaError> {
        let function = self.alias_function(scope, function_name, name).await?;
        self.store
            .alias(scope, &function, name)
            .await
            .map_err(storage_error)?
            .map(|r| self.alias_view(r))
            .ok_or_else(|| {
                let arn = qualified_function_arn(scope, &function, name);
                LambdaError::ResourceNotFound(format!("Cannot find alias arn: {arn}"))
            })
    }

    /// ListAliases: by name, those pointing at `function_version` when given.
    pub async fn list_aliases(
        &self,
        scope: &Scope,
        function_name: &str,
        function_version: Option<&str>,
        query: &PageQuery,
    ) -> Result<Page<AliasView>, LambdaError> {
        let mut v = Violations::new();
        let fref = validate::function_name(&mut v, function_name, NameShape::Plain);
        if let Some(fv) = function_version {
            check_version(&mut v, fv);
        }
        let limit = page_limit(&mut v, query.max_items.as_deref());
        v.into_result()?;
        let function = self.unqualified(scope, fref)?;
        self.require_function(scope, &function).await?;
        let after = query
            .marker
            .as_deref()
            .map(|m| marker::decode("aliases", m))
            .transpose()?;
        let mut items = self
            .store
            .aliases(
                scope,
                &function,
                function_version,
                after.as_deref(),
                limit + 1,
            )
            .await
            .map_err(storage_error)?;
        let next_marker = next_marker(&mut items, limit, |a| marker::encode("aliases", &a.name));
        Ok(Page {
            items: items.into_iter().map(|a| self.alias_view(a)).collect(),
            next_marker,
        })
    }

    /// UpdateAlias: changes the members sent; an empty `RoutingConfig` removes routing.
    pub async fn update_alias(
        &self,
        scope: &Scope,
        cmd: UpdateAlias,
    ) -> Result<AliasView, LambdaError> {
        let mut v = Violations::new();
        let fref = validate::function_name(&mut v, &cmd.function_name, NameShape::Plain);
        check_name(&mut v, &cmd.name);
        if let Some(fv) = &cmd.function_version {
            check_version(&mut v, fv);
        }
        validate::max_chars(
            &mut v,
            "description",
            cmd.description.as_deref(),
            MAX_DESCRIPTION_CHARS,
        );
        let new_weights = cmd.routing.clone().map(|w| w.filter(|w| !w.is_empty()));
        check_weights(&mut v, new_weights.clone().flatten().as_ref());
        v.into_result()?;
        let function = self.unqualified(scope, fref)?;
        for _ in 0..CAS_ATTEMPTS {
            let current = self
                .store
                .alias(scope, &function, &cmd.name)
                .await
                .map_err(storage_error)?;
            let Some(current) = current else {
                self.require_function(scope, &function).await?;
                let arn = qualified_function_arn(scope, &function, &cmd.name);
                return Err(LambdaError::ResourceNotFound(format!(
                    "Alias not found: {arn}"
                )));
            };
            check_revision(cmd.revision_id.as_deref(), &current.revision_id)?;
            let mut next = current.clone();
            if let Some(fv) = &cmd.function_version {
                next.function_version = fv.clone();
            }
            if let Some(d) = &cmd.description {
                next.description = d.clone();
            }
            if let Some(w) = &new_weights {
                next.additional_version_weights = w.clone();
            }
            next.revision_id = new_revision();
            self.check_targets(
                scope,
                &function,
                &next.function_version,
                next.additional_version_weights.as_ref(),
            )
            .await?;
            let replaced = self.store.replace_alias(&current.revision_id, &next).await;
            self.resolved.invalidate(scope, &function);
            if replaced.map_err(storage_error)? {
                return Ok(self.alias_view(next));
            }
            if cmd.revision_id.is_some() {
                return Err(LambdaError::PreconditionFailed(STALE_REVISION.to_owned()));
            }
        }
        Err(LambdaError::rate_exceeded(None))
    }

    /// DeleteAlias: deleting an alias that does not exist is not an error.
    pub async fn delete_alias(
        &self,
        scope: &Scope,
        function_name: &str,
        name: &str,
    ) -> Result<(), LambdaError> {
        let function = self.alias_function(scope, function_name, name).await?;
        let deleted = self.store.delete_alias(scope, &function, name).await;
        self.resolved.invalidate(scope, &function);
        deleted.map_err(storage_error)?;
        Ok(())
    }

    /// Validates the path of Get/DeleteAlias and checks the function exists.
    async fn alias_function(
        &self,
        scope: &Scope,
        function_name: &str,
        name: &str,
    ) -> Result<String, LambdaError> {
        let mut v = Violations::new();
        let fref = validate::function_name(&mut v, function_name, NameShape::Plain);
        check_name(&mut v, name);
        v.into_result()?;
        let function = self.unqualified(scope, fref)?;
        self.require_function(scope, &function).await?;
        Ok(function)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_checked_as_the_model_says() {
        let mut v = Violations::new();
        check_weights(&mut v, Some(&BTreeMap::from([("2".to_owned(), 1.5)])));
        assert_eq!(
            v.into_result().unwrap_err().message(),
            "1 validation error detected: Value '{2=1.5}' at \
             'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value \
             must satisfy constraint: [Member must have value less than or equal to 1.0, Member \
             must have value greater than or equal to 0.0, Member must not be null]"
        );
        let mut v = Violations::new();
        check_weights(&mut v, Some(&BTreeMap::from([("x".to_owned(), 0.5)])));
        assert!(v.into_result().unwrap_err().message().contains("Map keys must satisfy constraint: [Member must have length less than or equal to 1024, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [0-9]+, Member must not be null]"));
        let mut v = Violations::new();
        check_weights(&mut v, Some(&BTreeMap::from([("3".to_owned(), 1.0)])));
        assert!(v.is_empty());
        assert_eq!(java_double(2.0), "2.0");
        assert_eq!(version_number("$LATEST"), Some(0));
        assert_eq!(version_number("0"), None);
    }
}

//! TagResource, UntagResource and ListTags on functions: the resource is a full, unqualified
//! function ARN in the caller's account and region; the limits are CreateFunction's, applied
//! to the tags the function would have after the change. Every change is a compare-and-swap
//! on the tags read, so concurrent changes never lose a tag.

use std::collections::BTreeMap;

use lamina_types::function_arn::{FunctionRef, NameShape};
use lamina_types::limits::MAX_TAG_KEY_CHARS;
use lamina_types::validation::{Constraint, Violations, render_list};
use lamina_types::{LambdaError, Scope};

use super::{CAS_ATTEMPTS, FunctionService, storage_error, validate};

/// `TaggableResource` of the model. Lamina has only the function kind of it.
const TAGGABLE_RESOURCE_PATTERN: &str = "arn:(aws[a-zA-Z-]*):lambda:(eusc-)?[a-z]{2}((-gov)|\
(-iso([a-z]?)))?-[a-z]+-\\d{1}:\\d{12}:(function:[a-zA-Z0-9-_]+(:(\\$LATEST|[a-zA-Z0-9-_]+))?|\
code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-\
[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|(capacity-provider|network-connector):\
[a-zA-Z0-9-_]{1,64})";

const MAX_TAGGABLE_RESOURCE_CHARS: usize = 10_000;

/// AWS's answer to a qualified function ARN (LocalStack's recorded wording of it).
const QUALIFIED_RESOURCE: &str =
    "Tags on function aliases and versions are not supported. Please specify a function ARN.";

impl FunctionService {
    /// TagResource: adds `tags` to the function, replacing the values of keys it has.
    pub async fn tag_resource(
        &self,
        scope: &Scope,
        resource: &str,
        tags: Option<BTreeMap<String, String>>,
    ) -> Result<(), LambdaError> {
        let mut v = Violations::new();
        let fref = taggable_function(&mut v, resource);
        match &tags {
            Some(_) => validate::tags(&mut v, tags.as_ref()),
            None => v.add_null("tags"),
        }
        v.into_result()?;
        let name = self.tagged_function(scope, fref)?;
        let tags = tags.unwrap_or_default();
        validate::tag_rules(Some(&tags))?;
        self.change_tags(scope, &name, |current| {
            current.extend(tags.clone());
            validate::tag_rules(Some(current))
        })
        .await
    }

    /// UntagResource: removes the keys `tag_keys` (those the function lacks are ignored).
    pub async fn untag_resource(
        &self,
        scope: &Scope,
        resource: &str,
        tag_keys: Option<Vec<String>>,
    ) -> Result<(), LambdaError> {
        let mut v = Violations::new();
        let fref = taggable_function(&mut v, resource);
        match &tag_keys {
            Some(keys) => {
                for key in keys {
                    if key.is_empty() || key.chars().count() > MAX_TAG_KEY_CHARS {
                        v.add(
                            "tagKeys",
                            &render_list(keys),
                            Constraint::ListMember(vec![
                                Constraint::MaxLength(MAX_TAG_KEY_CHARS),
                                Constraint::MinLength(1),
                            ]),
                        );
                        break;
                    }
                }
            }
            None => v.add_null("tagKeys"),
        }
        v.into_result()?;
        let name = self.tagged_function(scope, fref)?;
        let keys = tag_keys.unwrap_or_default();
        self.change_tags(scope, &name, |current| {
            current.retain(|k, _| !keys.contains(k));
            Ok(())
        })
        .await
    }

    /// ListTags: the function's tags.
    pub async fn list_tags(
        &self,
        scope: &Scope,
        resource: &str,
    ) -> Result<BTreeMap<String, String>, LambdaError> {
        let mut v = Violations::new();
        let fref = taggable_function(&mut v, resource);
        v.into_result()?;
        let name = self.tagged_function(scope, fref)?;
        let function = self
            .store
            .function(scope, &name)
            .await
            .map_err(storage_error)?
            .ok_or_else(|| self.not_found(scope, &name, None))?;
        Ok(function.tags)
    }

    /// The name of the function a valid taggable ARN names, in the caller's account and
    /// region; a qualified ARN is refused.
    fn tagged_function(
        &self,
        scope: &Scope,
        fref: Option<FunctionRef>,
    ) -> Result<String, LambdaError> {
        let fref = fref.ok_or_else(super::validated_but_missing)?;
        if fref.qualifier.is_some() {
            return Err(LambdaError::InvalidParameterValue(
                QUALIFIED_RESOURCE.to_owned(),
            ));
        }
        Ok(self.check_location(scope, fref)?.name)
    }

    /// Applies `change` to the function's tags and stores them, retrying when a concurrent
    /// change wins.
    async fn change_tags(
        &self,
        scope: &Scope,
        name: &str,
        mut change: impl FnMut(&mut BTreeMap<String, String>) -> Result<(), LambdaError>,
    ) -> Result<(), LambdaError> {
        for _ in 0..CAS_ATTEMPTS {
            let current = self
                .store
                .function(scope, name)
                .await
                .map_err(storage_error)?
                .ok_or_else(|| self.not_found(scope, name, None))?
                .tags;
            let mut next = current.clone();
            change(&mut next)?;
            if self
                .store
                .replace_tags(scope, name, &current, &next)
                .await
                .map_err(storage_error)?
            {
                tracing::info!(function = %name, tags = next.len(), "function tags changed");
                return Ok(());
            }
        }
        Err(LambdaError::rate_exceeded(None))
    }
}

/// Parses `Resource` as a full function ARN (the only taggable kind Lamina has); anything
/// else breaks the model's pattern. Guessed: AWS's check of a layer ARN is this pattern's
/// ValidationException (LocalStack, recorded against AWS, answers so).
fn taggable_function(v: &mut Violations, resource: &str) -> Option<FunctionRef> {
    if resource.chars().count() > MAX_TAGGABLE_RESOURCE_CHARS {
        v.add(
            "resource",
            resource,
            Constraint::MaxLength(MAX_TAGGABLE_RESOURCE_CHARS),
        );
        return None;
    }
    let full = resource.starts_with("arn:") && resource.split(':').nth(5) == Some("function");
    let parsed = FunctionRef::parse(resource, NameShape::Plain)
        .ok()
        .filter(|r| full && r.region.is_some() && r.account.is_some());
    if parsed.is_none() {
        v.add(
            "resource",
            resource,
            Constraint::Pattern(TAGGABLE_RESOURCE_PATTERN),
        );
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(resource: &str) -> Result<FunctionRef, String> {
        let mut v = Violations::new();
        let r = taggable_function(&mut v, resource);
        v.into_result().map_err(|e| e.message().to_owned())?;
        Ok(r.unwrap())
    }

    #[test]
    fn only_full_function_arns_are_taggable() {
        let r = parsed("arn:aws:lambda:us-west-2:123456789012:function:f").unwrap();
        assert_eq!((r.name.as_str(), r.qualifier), ("f", None));
        let r = parsed("arn:aws:lambda:us-west-2:123456789012:function:f:live").unwrap();
        assert_eq!(r.qualifier.as_deref(), Some("live"));
        for bad in [
            "f",
            "123456789012:function:f",
            "arn:aws:lambda:us-west-2:123456789012:layer:l:1",
            "arn:aws:lambda:us-west-2:123456789012:function:f:1:2",
        ] {
            let e = parsed(bad).unwrap_err();
            assert!(
                e.starts_with(&format!(
                    "1 validation error detected: Value '{bad}' at 'resource' failed to satisfy \
                     constraint: Member must satisfy regular expression pattern: arn:"
                )),
                "{e}"
            );
        }
    }
}

//! Function URLs: `CreateFunctionUrlConfig` and its Get, Update, Delete and List, and finding
//! the function a request to a URL runs.
//!
//! The rules are AWS's: a URL belongs to the unqualified function (it runs `$LATEST`) or to
//! one alias, never to a published version; there is one per function or alias; it lives in
//! the caller's account and goes when its function or alias is deleted.

use lamina_types::function_arn::{
    LATEST, NameShape, Qualifier, function_arn, qualified_function_arn,
};
use lamina_types::function_url::{FunctionUrlRecord, UrlAuthType, UrlCors, UrlInvokeMode};
use lamina_types::timestamp::now_millis;
use lamina_types::validation::{Constraint, Violations};
use lamina_types::{LambdaError, Scope};

use super::commands::ResolvedFunction;
use super::{FunctionService, storage_error, validate};
use crate::paging::{Page, marker, next_marker};

/// `FunctionUrlQualifier`: an alias name (a version number is refused by the lookahead).
const QUALIFIER_PATTERN: &str = "((?!^\\d+$)^[0-9a-zA-Z-_]+$)";

/// AWS's answer when the function or alias has no URL.
const NO_URL: &str = "The resource you requested does not exist.";

/// `MaxItems` of ListFunctionUrlConfigs: 1 to 50 (the model's range).
const MAX_LIST_ITEMS: u32 = 50;

/// Most `AllowOrigins`, `AllowHeaders` and `ExposeHeaders` entries (the model's).
const MAX_CORS_LIST: usize = 100;
/// Most `AllowMethods` entries (the model's).
const MAX_CORS_METHODS: usize = 6;
/// Longest `MaxAge`, in seconds (the model's).
const MAX_CORS_AGE: i64 = 86_400;

/// What Create and Update were sent; absent members are `None` (Update keeps them).
#[derive(Debug, Clone, Default)]
pub struct UrlConfigInput {
    /// `AuthType`, as sent.
    pub auth_type: Option<String>,
    /// `InvokeMode`, as sent.
    pub invoke_mode: Option<String>,
    /// `Cors`.
    pub cors: Option<UrlCors>,
}

/// One configuration as the API answers it (the API makes `FunctionUrl` from its id, since
/// that depends on how the client reaches the server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionUrlView {
    /// `FunctionArn`: qualified by the alias, if any.
    pub function_arn: String,
    /// The stored configuration.
    pub record: FunctionUrlRecord,
}

fn view(record: FunctionUrlRecord) -> FunctionUrlView {
    let function_arn = match &record.qualifier {
        Some(q) => qualified_function_arn(&record.scope, &record.function_name, q),
        None => function_arn(&record.scope, &record.function_name),
    };
    FunctionUrlView {
        function_arn,
        record,
    }
}

/// A new URL id: 32 lowercase hex digits of a random UUID (122 random bits), the shape of
/// AWS's ids.
fn new_url_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Checks `Cors` against the model's limits.
fn check_cors(v: &mut Violations, cors: &UrlCors) {
    let lists = [
        ("cors.allowOrigins", &cors.allow_origins, MAX_CORS_LIST, 253),
        (
            "cors.allowHeaders",
            &cors.allow_headers,
            MAX_CORS_LIST,
            1024,
        ),
        (
            "cors.exposeHeaders",
            &cors.expose_headers,
            MAX_CORS_LIST,
            1024,
        ),
        (
            "cors.allowMethods",
            &cors.allow_methods,
            MAX_CORS_METHODS,
            6,
        ),
    ];
    for (field, list, max_items, max_chars) in lists {
        let Some(list) = list else { continue };
        let rendered = lamina_types::validation::render_list(list);
        if list.len() > max_items {
            v.add(field, &rendered, Constraint::MaxLength(max_items));
        } else if list.iter().any(|item| item.chars().count() > max_chars) {
            v.add(
                field,
                &rendered,
                Constraint::ListMember(vec![Constraint::MaxLength(max_chars)]),
            );
        } else if field == "cors.allowOrigins" && list.iter().any(String::is_empty) {
            v.add(
                field,
                &rendered,
                Constraint::ListMember(vec![Constraint::MinLength(1)]),
            );
        }
    }
    match cors.max_age {
        Some(age) if age < 0 => v.add("cors.maxAge", &age.to_string(), Constraint::MinValue(0)),
        Some(age) if age > MAX_CORS_AGE => v.add(
            "cors.maxAge",
            &age.to_string(),
            Constraint::MaxValue(MAX_CORS_AGE),
        ),
        _ => {}
    }
}

fn check_auth_type(v: &mut Violations, raw: &str) -> Option<UrlAuthType> {
    let parsed = UrlAuthType::parse(raw);
    if parsed.is_none() {
        v.add("authType", raw, Constraint::Enum(vec!["NONE", "AWS_IAM"]));
    }
    parsed
}

fn check_invoke_mode(v: &mut Violations, raw: &str) -> Option<UrlInvokeMode> {
    let parsed = UrlInvokeMode::parse(raw);
    if parsed.is_none() {
        v.add(
            "invokeMode",
            raw,
            Constraint::Enum(vec!["BUFFERED", "RESPONSE_STREAM"]),
        );
    }
    parsed
}

impl FunctionService {
    /// The function and alias a URL operation names (`None`: the unqualified function). The
    /// `Qualifier` must be an alias; `$LATEST` is taken as no qualifier.
    fn url_target(
        &self,
        v: &mut Violations,
        scope: &Scope,
        function_name: &str,
        qualifier: Option<&str>,
    ) -> Result<Option<(String, Option<String>)>, LambdaError> {
        let fref = validate::function_name(v, function_name, NameShape::Namespaced);
        if let Some(q) = qualifier
            && q != LATEST
            && !matches!(Qualifier::classify(q), Qualifier::Alias(_))
        {
            v.add("qualifier", q, Constraint::Pattern(QUALIFIER_PATTERN));
        }
        let Some(fref) = fref else { return Ok(None) };
        let located = self.check_location(scope, fref)?;
        let derived = located.qualifier.is_some() && qualifier.is_none();
        let qualifier = match (located.qualifier.as_deref(), qualifier) {
            (Some(derived), Some(given)) if derived != given => {
                return Err(LambdaError::InvalidParameterValue(
                    "The derived qualifier from the function name does not match the specified \
                     qualifier."
                        .to_owned(),
                ));
            }
            (Some(q), _) | (None, Some(q)) => Some(q.to_owned()),
            (None, None) => None,
        };
        // A qualifier in the function's ARN must be an alias too.
        if derived
            && let Some(q) = &qualifier
            && q != LATEST
            && !matches!(Qualifier::classify(q), Qualifier::Alias(_))
        {
            v.add("qualifier", q, Constraint::Pattern(QUALIFIER_PATTERN));
        }
        // Guessed: AWS documents only aliases; `$LATEST` is the unqualified function's URL.
        let qualifier = qualifier.filter(|q| q != LATEST);
        Ok(Some((located.name, qualifier)))
    }

    /// The function (and alias) a URL operation names, checked to exist.
    async fn existing_url_target(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: Option<&str>,
        v: Violations,
    ) -> Result<(String, Option<String>), LambdaError> {
        let mut v = v;
        let target = self.url_target(&mut v, scope, function_name, qualifier)?;
        v.into_result()?;
        let (name, qualifier) = target.ok_or_else(super::validated_but_missing)?;
        self.require_function(scope, &name).await?;
        if let Some(alias) = &qualifier {
            let found = self
                .store
                .alias_target(scope, &name, alias)
                .await
                .map_err(storage_error)?;
            if found.is_none() {
                // Guessed: a missing alias answers as Invoke's lookup does.
                return Err(self.not_found(scope, &name, Some(alias)));
            }
        }
        Ok((name, qualifier))
    }

    /// CreateFunctionUrlConfig: a new URL for the function or alias (201).
    pub async fn create_function_url(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: Option<&str>,
        input: UrlConfigInput,
    ) -> Result<FunctionUrlView, LambdaError> {
        let mut v = Violations::new();
        let auth_type = match input.auth_type.as_deref() {
            None => {
                v.add_null("authType");
                None
            }
            Some(raw) => check_auth_type(&mut v, raw),
        };
        let invoke_mode = match input.invoke_mode.as_deref() {
            None => Some(UrlInvokeMode::Buffered),
            Some(raw) => check_invoke_mode(&mut v, raw),
        };
        if let Some(cors) = &input.cors {
            check_cors(&mut v, cors);
        }
        let (name, qualifier) = self
            .existing_url_target(scope, function_name, qualifier, v)
            .await?;
        let (Some(auth_type), Some(invoke_mode)) = (auth_type, invoke_mode) else {
            return Err(super::validated_but_missing());
        };
        let now = now_millis();
        let record = FunctionUrlRecord {
            scope: scope.clone(),
            function_name: name,
            qualifier,
            url_id: new_url_id(),
            auth_type,
            invoke_mode,
            cors: input.cors,
            created_millis: now,
            last_modified_millis: now,
        };
        let inserted = self
            .store
            .insert_function_url(&record)
            .await
            .map_err(storage_error)?;
        let created = view(record);
        if !inserted {
            // AWS's text, as clients quote it (two spaces included).
            return Err(LambdaError::ResourceConflict(format!(
                "Failed to create function url config for [functionArn = {}]. Error message:  \
                 FunctionUrlConfig exists for this Lambda function",
                created.function_arn
            )));
        }
        tracing::info!(function = %created.record.function_name, url_id = %created.record.url_id, "function URL created");
        Ok(created)
    }

    /// GetFunctionUrlConfig.
    pub async fn get_function_url(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: Option<&str>,
    ) -> Result<FunctionUrlView, LambdaError> {
        let (name, qualifier) = self
            .existing_url_target(scope, function_name, qualifier, Violations::new())
            .await?;
        let record = self
            .store
            .function_url(scope, &name, qualifier.as_deref())
            .await
            .map_err(storage_error)?
            .ok_or_else(|| LambdaError::ResourceNotFound(NO_URL.to_owned()))?;
        Ok(view(record))
    }

    /// UpdateFunctionUrlConfig: the members sent replace the stored ones.
    pub async fn update_function_url(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: Option<&str>,
        input: UrlConfigInput,
    ) -> Result<FunctionUrlView, LambdaError> {
        let mut v = Violations::new();
        let auth_type = input
            .auth_type
            .as_deref()
            .map(|raw| check_auth_type(&mut v, raw));
        let invoke_mode = input
            .invoke_mode
            .as_deref()
            .map(|raw| check_invoke_mode(&mut v, raw));
        if let Some(cors) = &input.cors {
            check_cors(&mut v, cors);
        }
        let (name, qualifier) = self
            .existing_url_target(scope, function_name, qualifier, v)
            .await?;
        let mut record = self
            .store
            .function_url(scope, &name, qualifier.as_deref())
            .await
            .map_err(storage_error)?
            .ok_or_else(|| LambdaError::ResourceNotFound(NO_URL.to_owned()))?;
        if let Some(Some(auth_type)) = auth_type {
            record.auth_type = auth_type;
        }
        if let Some(Some(invoke_mode)) = invoke_mode {
            record.invoke_mode = invoke_mode;
        }
        if input.cors.is_some() {
            record.cors = input.cors;
        }
        record.last_modified_millis = now_millis();
        let replaced = self
            .store
            .replace_function_url(&record)
            .await
            .map_err(storage_error)?;
        if !replaced {
            return Err(LambdaError::ResourceNotFound(NO_URL.to_owned()));
        }
        Ok(view(record))
    }

    /// DeleteFunctionUrlConfig (204); the URL stops answering at once.
    pub async fn delete_function_url(
        &self,
        scope: &Scope,
        function_name: &str,
        qualifier: Option<&str>,
    ) -> Result<(), LambdaError> {
        let (name, qualifier) = self
            .existing_url_target(scope, function_name, qualifier, Violations::new())
            .await?;
        let deleted = self
            .store
            .delete_function_url(scope, &name, qualifier.as_deref())
            .await
            .map_err(storage_error)?;
        if !deleted {
            return Err(LambdaError::ResourceNotFound(NO_URL.to_owned()));
        }
        Ok(())
    }

    /// ListFunctionUrlConfigs: the function's own URL first, then its aliases' by name.
    pub async fn list_function_urls(
        &self,
        scope: &Scope,
        function_name: &str,
        marker_in: Option<&str>,
        max_items: Option<&str>,
    ) -> Result<Page<FunctionUrlView>, LambdaError> {
        let mut v = Violations::new();
        let fref = validate::function_name(&mut v, function_name, NameShape::Namespaced);
        let limit = crate::paging::max_items(&mut v, max_items, MAX_LIST_ITEMS, MAX_LIST_ITEMS);
        v.into_result()?;
        let name = self.unqualified(scope, fref)?;
        self.require_function(scope, &name).await?;
        let after = marker_in.map(|m| marker::decode("urls", m)).transpose()?;
        let mut records = self
            .store
            .function_urls(scope, &name, after.as_deref(), limit + 1)
            .await
            .map_err(storage_error)?;
        let next_marker = next_marker(&mut records, limit, |r| {
            marker::encode("urls", r.qualifier.as_deref().unwrap_or(""))
        });
        Ok(Page {
            items: records.into_iter().map(view).collect(),
            next_marker,
        })
    }

    /// The URL with this id and what it runs now (its alias resolved), or `None` when no URL
    /// has it. A request to a URL is served in the owner's account, whoever sends it.
    pub async fn resolve_url(
        &self,
        url_id: &str,
    ) -> Result<Option<(FunctionUrlRecord, ResolvedFunction)>, LambdaError> {
        let Some(record) = self
            .store
            .function_url_by_id(url_id)
            .await
            .map_err(storage_error)?
        else {
            return Ok(None);
        };
        let resolved = self
            .resolve(
                &record.scope,
                &record.function_name,
                record.qualifier.as_deref(),
            )
            .await?;
        Ok(Some((record, resolved)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cors_limits_are_the_models() {
        let mut v = Violations::new();
        check_cors(
            &mut v,
            &UrlCors {
                allow_methods: Some(vec!["GET".into(); 7]),
                max_age: Some(86_401),
                ..UrlCors::default()
            },
        );
        let e = v.into_result().unwrap_err();
        assert_eq!(e.type_name(), "ValidationException");
        assert!(
            e.message().starts_with("2 validation errors"),
            "{}",
            e.message()
        );
        assert!(e.message().contains("cors.allowMethods"), "{}", e.message());
        assert!(e.message().contains("cors.maxAge"), "{}", e.message());
        let mut v = Violations::new();
        check_cors(
            &mut v,
            &UrlCors {
                allow_origins: Some(vec!["*".into()]),
                max_age: Some(0),
                ..UrlCors::default()
            },
        );
        assert!(v.into_result().is_ok());
    }

    #[test]
    fn auth_type_and_invoke_mode_are_enums() {
        let mut v = Violations::new();
        assert_eq!(
            check_auth_type(&mut v, "AWS_IAM"),
            Some(UrlAuthType::AwsIam)
        );
        assert_eq!(check_invoke_mode(&mut v, "x"), None);
        let e = v.into_result().unwrap_err();
        assert!(
            e.message()
                .contains("Member must satisfy enum value set: [BUFFERED, RESPONSE_STREAM]"),
            "{}",
            e.message()
        );
    }

    #[test]
    fn url_ids_have_aws_shape() {
        let id = new_url_id();
        assert!(lamina_types::function_url::is_url_id(&id), "{id}");
        assert_ne!(id, new_url_id());
    }
}

//! `lamina function ...`: create functions, replace their code, order their layers, and
//! check which layer wins where several provide the same file.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, FunctionCode, Runtime};
use serde_json::{Value, json};

use crate::api::{Api, layer_name_of};
use crate::error::SdkResultExt as _;
use crate::output::{compact, opt, print_fields, print_json, print_text};
use lamina_layers::inspect;

/// The execution role used when `--role` is not given; a Lamina server does not check it.
pub const DEFAULT_ROLE: &str = "arn:aws:iam::123456789012:role/lamina";

/// `lamina function` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum FunctionCommand {
    /// Create a function from a ZIP or a directory, with optional layers.
    Create(CreateArgs),
    /// Show a function's configuration, with its layers in order.
    Get {
        /// The function name or ARN.
        name: String,
    },
    /// Replace a function's code with a ZIP or a directory.
    UpdateCode {
        /// The function name or ARN.
        name: String,
        /// A ZIP file, or a directory to zip (its top level becomes /var/task).
        #[arg(long, value_name = "DIR|ZIP")]
        code: PathBuf,
    },
    /// Add a layer version to a function; later layers win where files overlap.
    AddLayer {
        /// The function name or ARN.
        name: String,
        /// The layer version ARN.
        arn: String,
        /// Where to insert it, counting from 0 [default: last].
        #[arg(long)]
        position: Option<usize>,
    },
    /// Remove a layer from a function, named by version ARN, layer ARN or layer name.
    RemoveLayer {
        /// The function name or ARN.
        name: String,
        /// The layer version ARN, or the layer ARN or name (any version).
        layer: String,
    },
    /// Show the files and modules that more than one layer (or the code) provides, and which
    /// copy the function sees.
    Check {
        /// The function name or ARN.
        name: String,
        /// A version or alias.
        #[arg(long)]
        qualifier: Option<String>,
    },
    /// Delete a function.
    Delete {
        /// The function name or ARN.
        name: String,
    },
}

/// Options of `lamina function create`.
#[derive(clap::Args, Debug)]
pub struct CreateArgs {
    /// The function name.
    pub name: String,
    /// The runtime, e.g. python3.12.
    #[arg(long)]
    pub runtime: String,
    /// The handler, e.g. app.handler.
    #[arg(long)]
    pub handler: String,
    /// A ZIP file, or a directory to zip (its top level becomes /var/task).
    #[arg(long, value_name = "DIR|ZIP")]
    pub code: PathBuf,
    /// A layer version ARN; repeat in mount order (later layers win).
    #[arg(long = "layer", value_name = "ARN")]
    pub layers: Vec<String>,
    /// The execution role ARN.
    #[arg(long, default_value = DEFAULT_ROLE)]
    pub role: String,
    /// Memory in MB.
    #[arg(long)]
    pub memory_size: Option<i32>,
    /// Timeout in seconds.
    #[arg(long)]
    pub timeout: Option<i32>,
    /// An environment variable as KEY=VALUE; repeat for more.
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    pub env: Vec<(String, String)>,
    /// A description of the function.
    #[arg(long)]
    pub description: Option<String>,
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got {s:?}")),
    }
}

/// Runs a `function` subcommand.
pub(crate) async fn run(api: &Api, command: &FunctionCommand) -> anyhow::Result<ExitCode> {
    match command {
        FunctionCommand::Create(args) => create(api, args).await?,
        FunctionCommand::Get { name } => get(api, name).await?,
        FunctionCommand::UpdateCode { name, code } => update_code(api, name, code).await?,
        FunctionCommand::AddLayer {
            name,
            arn,
            position,
        } => add_layer(api, name, arn, *position).await?,
        FunctionCommand::RemoveLayer { name, layer } => remove_layer(api, name, layer).await?,
        FunctionCommand::Check { name, qualifier } => {
            check(api, name, qualifier.as_deref()).await?
        }
        FunctionCommand::Delete { name } => delete(api, name).await?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints a function configuration; every response that carries one has the same accessors
/// but its own Rust type.
macro_rules! print_configuration {
    ($api:expr, $c:expr) => {{
        let c = $c;
        let layers: Vec<&str> = c.layers().iter().filter_map(|l| l.arn()).collect();
        if $api.json() {
            print_json(&compact(json!({
                "FunctionName": opt(c.function_name()),
                "FunctionArn": opt(c.function_arn()),
                "Runtime": opt(c.runtime().map(Runtime::as_str)),
                "Role": opt(c.role()),
                "Handler": opt(c.handler()),
                "CodeSize": c.code_size(),
                "CodeSha256": opt(c.code_sha256()),
                "Description": opt(c.description()),
                "Timeout": c.timeout(),
                "MemorySize": c.memory_size(),
                "LastModified": opt(c.last_modified()),
                "Version": opt(c.version()),
                "State": opt(c.state().map(|s| s.as_str())),
                "StateReason": opt(c.state_reason()),
                "LastUpdateStatus": opt(c.last_update_status().map(|s| s.as_str())),
                "LastUpdateStatusReason": opt(c.last_update_status_reason()),
                "RevisionId": opt(c.revision_id()),
                "Environment": c.environment().and_then(|e| e.variables()).map(|v| json!(v)),
                "Layers": c.layers().iter().map(|l| compact(json!({
                    "Arn": opt(l.arn()),
                    "CodeSize": l.code_size(),
                }))).collect::<Vec<Value>>(),
            })))
        } else {
            let mut fields = vec![
                ("FunctionName", c.function_name().unwrap_or_default().to_owned()),
                ("FunctionArn", c.function_arn().unwrap_or_default().to_owned()),
                ("Runtime", c.runtime().map(Runtime::as_str).unwrap_or_default().to_owned()),
                ("Handler", c.handler().unwrap_or_default().to_owned()),
                ("CodeSize", c.code_size().to_string()),
                ("CodeSha256", c.code_sha256().unwrap_or_default().to_owned()),
                ("MemorySize", c.memory_size().map(|m| m.to_string()).unwrap_or_default()),
                ("Timeout", c.timeout().map(|t| t.to_string()).unwrap_or_default()),
                ("State", c.state().map(|s| s.as_str().to_owned()).unwrap_or_default()),
            ];
            if let Some(status) = c.last_update_status() {
                fields.push(("LastUpdateStatus", status.as_str().to_owned()));
            }
            for reason in [c.state_reason(), c.last_update_status_reason()].into_iter().flatten() {
                fields.push(("Reason", reason.to_owned()));
            }
            fields.extend(layers.iter().map(|arn| ("Layer", arn.to_string())));
            print_fields(&fields)
        }
    }};
}

async fn create(api: &Api, args: &CreateArgs) -> anyhow::Result<()> {
    let zip = crate::zipdir::load_code(&args.code)?;
    let environment = (!args.env.is_empty()).then(|| {
        Environment::builder()
            .set_variables(Some(args.env.iter().cloned().collect::<HashMap<_, _>>()))
            .build()
    });
    let out = api
        .client
        .create_function()
        .function_name(&args.name)
        .runtime(Runtime::from(args.runtime.as_str()))
        .handler(&args.handler)
        .role(&args.role)
        .code(FunctionCode::builder().zip_file(Blob::new(zip)).build())
        .set_layers((!args.layers.is_empty()).then(|| args.layers.clone()))
        .set_memory_size(args.memory_size)
        .set_timeout(args.timeout)
        .set_environment(environment)
        .set_description(args.description.clone())
        .send()
        .await
        .api("CreateFunction", &api.endpoint)?;
    print_settled(api, out.function_name().unwrap_or(&args.name)).await
}

/// How often a change is polled until it has settled, and for how long at most.
const SETTLE_POLL: std::time::Duration = std::time::Duration::from_millis(100);
const SETTLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

/// Waits until a created or updated function has settled (as `aws lambda wait
/// function-active-v2` / `function-updated-v2` do), prints it, and fails if it failed.
async fn print_settled(api: &Api, name: &str) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    loop {
        let out = configuration(api, name).await?;
        let state = out.state().map(|s| s.as_str()).unwrap_or_default();
        let update = out.last_update_status().map(|s| s.as_str());
        let settling = state == "Pending" || update == Some("InProgress");
        if settling && started.elapsed() < SETTLE_TIMEOUT {
            tokio::time::sleep(SETTLE_POLL).await;
            continue;
        }
        print_configuration!(api, &out)?;
        let reason = out.last_update_status_reason().or(out.state_reason());
        match (state, update) {
            ("Failed", _) | (_, Some("Failed")) => {
                bail!("{name} failed: {}", reason.unwrap_or("no reason given"))
            }
            _ if settling => bail!("{name} is still {state}: {}", reason.unwrap_or_default()),
            _ => return Ok(()),
        }
    }
}

async fn get(api: &Api, name: &str) -> anyhow::Result<()> {
    let out = configuration(api, name).await?;
    print_configuration!(api, &out)
}

async fn configuration(
    api: &Api,
    name: &str,
) -> anyhow::Result<
    aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput,
> {
    api.client
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
        .api("GetFunctionConfiguration", &api.endpoint)
}

async fn update_code(api: &Api, name: &str, code: &std::path::Path) -> anyhow::Result<()> {
    let zip = crate::zipdir::load_code(code)?;
    let out = api
        .client
        .update_function_code()
        .function_name(name)
        .zip_file(Blob::new(zip))
        .send()
        .await
        .api("UpdateFunctionCode", &api.endpoint)?;
    print_settled(api, out.function_name().unwrap_or(name)).await
}

/// The function's layer ARNs in order and its revision, for an optimistic update.
async fn current_layers(api: &Api, name: &str) -> anyhow::Result<(Vec<String>, Option<String>)> {
    let out = configuration(api, name).await?;
    let layers = out
        .layers()
        .iter()
        .filter_map(|l| l.arn().map(str::to_owned))
        .collect();
    Ok((layers, out.revision_id().map(str::to_owned)))
}

/// Sets the function's layers, failing with `PreconditionFailedException` if the function
/// changed since `revision` was read.
async fn set_layers(
    api: &Api,
    name: &str,
    layers: Vec<String>,
    revision: Option<String>,
) -> anyhow::Result<()> {
    let out = api
        .client
        .update_function_configuration()
        .function_name(name)
        .set_layers(Some(layers))
        .set_revision_id(revision)
        .send()
        .await
        .api("UpdateFunctionConfiguration", &api.endpoint)?;
    print_settled(api, out.function_name().unwrap_or(name)).await
}

/// `layers` with `arn` inserted at `position` (the end if `None`).
fn insert_layer(
    mut layers: Vec<String>,
    arn: &str,
    position: Option<usize>,
) -> anyhow::Result<Vec<String>> {
    let position = position.unwrap_or(layers.len());
    if position > layers.len() {
        bail!(
            "--position {position} is past the end: the function has {} layer(s)",
            layers.len()
        );
    }
    layers.insert(position, arn.to_owned());
    Ok(layers)
}

/// `layers` without the ones `which` names: an exact version ARN, else every version of a
/// layer named by ARN without version or by plain name.
fn without_layer(layers: &[String], which: &str) -> anyhow::Result<Vec<String>> {
    let matches = |arn: &String| {
        if which.starts_with("arn:") {
            arn == which || arn.rsplit_once(':').is_some_and(|(base, _)| base == which)
        } else {
            layer_name_of(arn) == which
        }
    };
    if !layers.iter().any(matches) {
        bail!(
            "the function has no layer {which:?}; its layers are: {}",
            if layers.is_empty() {
                "(none)".to_owned()
            } else {
                layers.join(", ")
            }
        );
    }
    Ok(layers.iter().filter(|a| !matches(a)).cloned().collect())
}

async fn add_layer(
    api: &Api,
    name: &str,
    arn: &str,
    position: Option<usize>,
) -> anyhow::Result<()> {
    let (layers, revision) = current_layers(api, name).await?;
    let layers = insert_layer(layers, arn, position)?;
    set_layers(api, name, layers, revision).await
}

async fn remove_layer(api: &Api, name: &str, which: &str) -> anyhow::Result<()> {
    let (layers, revision) = current_layers(api, name).await?;
    let layers = without_layer(&layers, which)?;
    set_layers(api, name, layers, revision).await
}

/// Labels for layer version ARNs: `NAME:VERSION`, or the whole ARN where two layers of
/// different accounts or regions share a name.
fn layer_labels(arns: &[String]) -> Vec<String> {
    let short: Vec<String> = arns
        .iter()
        .map(|arn| {
            let version = arn.rsplit_once(':').map_or("", |(_, v)| v);
            format!("{}:{version}", layer_name_of(arn))
        })
        .collect();
    short
        .iter()
        .zip(arns)
        .map(|(label, arn)| {
            if short.iter().filter(|l| *l == label).count() > 1 {
                arn.clone()
            } else {
                label.clone()
            }
        })
        .collect()
}

/// The label of the function's own code in `function check`.
pub const CODE_LABEL: &str = "function code";

async fn check(api: &Api, name: &str, qualifier: Option<&str>) -> anyhow::Result<()> {
    let out = api
        .client
        .get_function()
        .function_name(name)
        .set_qualifier(qualifier.map(str::to_owned))
        .send()
        .await
        .api("GetFunction", &api.endpoint)?;
    let config = out
        .configuration()
        .context("the response has no Configuration")?;
    let runtime = config
        .runtime()
        .map(Runtime::as_str)
        .context("the function has no runtime (a container image?); nothing to check")?;
    let code_location = out
        .code()
        .and_then(|c| c.location())
        .context("the response has no Code.Location")?;
    let arns: Vec<String> = config
        .layers()
        .iter()
        .filter_map(|l| l.arn().map(str::to_owned))
        .collect();
    // Layers in the function's order (each mounted over the earlier ones), then the code.
    let mut sources = Vec::with_capacity(arns.len() + 1);
    for (arn, label) in arns.iter().zip(layer_labels(&arns)) {
        let layer = api
            .client
            .get_layer_version_by_arn()
            .arn(arn)
            .send()
            .await
            .api("GetLayerVersionByArn", &api.endpoint)?;
        let location = layer
            .content()
            .and_then(|c| c.location())
            .with_context(|| format!("the response for {arn} has no Content.Location"))?;
        sources.push(inspect::Source {
            label,
            zip: crate::content::download(location).await?,
            mount: inspect::Mount::Opt,
        });
    }
    sources.push(inspect::Source {
        label: CODE_LABEL.to_owned(),
        zip: crate::content::download(code_location).await?,
        mount: inspect::Mount::Task,
    });
    let conflicts = inspect::conflicts(runtime, &sources)
        .with_context(|| format!("analysing the layers of {name}"))?;
    if api.json() {
        print_json(&json!({
            "FunctionName": opt(config.function_name()),
            "Runtime": runtime,
            "Sources": sources.iter().map(|s| s.label.as_str()).collect::<Vec<_>>(),
            "Conflicts": serde_json::to_value(&conflicts)?,
        }))
    } else {
        print_text(&crate::local::check::render(&conflicts))
    }
}

async fn delete(api: &Api, name: &str) -> anyhow::Result<()> {
    api.client
        .delete_function()
        .function_name(name)
        .send()
        .await
        .api("DeleteFunction", &api.endpoint)?;
    if api.json() {
        return Ok(());
    }
    print_text(&format!("deleted {name}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arn(name: &str, version: u32) -> String {
        format!("arn:aws:lambda:us-east-1:123456789012:layer:{name}:{version}")
    }

    #[test]
    fn layers_are_inserted_at_a_position_or_last() {
        let layers = insert_layer(vec![arn("a", 1)], &arn("b", 1), None).unwrap();
        let layers = insert_layer(layers, &arn("c", 1), Some(0)).unwrap();
        assert_eq!(layers, [arn("c", 1), arn("a", 1), arn("b", 1)]);
        assert!(insert_layer(layers, &arn("d", 1), Some(4)).is_err());
    }

    #[test]
    fn layers_are_removed_by_version_arn_layer_arn_or_name() {
        let layers = vec![arn("a", 1), arn("b", 2)];
        assert_eq!(without_layer(&layers, &arn("a", 1)).unwrap(), [arn("b", 2)]);
        let layer_arn = "arn:aws:lambda:us-east-1:123456789012:layer:b";
        assert_eq!(without_layer(&layers, layer_arn).unwrap(), [arn("a", 1)]);
        assert_eq!(without_layer(&layers, "a").unwrap(), [arn("b", 2)]);
        assert!(without_layer(&layers, &arn("a", 2)).is_err());
        assert!(without_layer(&layers, "c").is_err());
    }

    #[test]
    fn labels_are_short_unless_names_collide() {
        let other = "arn:aws:lambda:eu-west-1:210987654321:layer:a:1".to_owned();
        assert_eq!(layer_labels(&[arn("a", 1), arn("b", 2)]), ["a:1", "b:2"]);
        assert_eq!(
            layer_labels(&[arn("a", 1), other.clone()]),
            [arn("a", 1), other]
        );
    }

    #[test]
    fn env_pairs_need_a_key() {
        assert_eq!(parse_env("A=b=c").unwrap(), ("A".into(), "b=c".into()));
        assert!(parse_env("=x").is_err());
        assert!(parse_env("novalue").is_err());
    }
}

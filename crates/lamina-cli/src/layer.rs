//! `lamina layer ...`: publish, list, show, download and delete layer versions.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Architecture, LayerVersionContentInput, LayerVersionsListItem, Runtime,
};
use base64::Engine as _;
use serde_json::{Value, json};
use sha2::Digest as _;

use crate::api::{Api, LayerVersionRef};
use crate::error::SdkResultExt as _;
use crate::local;
use crate::output::{Table, compact, opt, print_fields, print_json, print_text};

/// `lamina layer` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum LayerCommand {
    /// Build a layer ZIP from packages (local; needs no server).
    Build(local::build::BuildArgs),
    /// Show what a layer ZIP provides (local; needs no server).
    Inspect(local::inspect::InspectArgs),
    /// Publish a ZIP (or a directory, zipped) as a new layer version; prints its ARN.
    Publish(PublishArgs),
    /// List the layers, each with its latest version.
    List,
    /// List the versions of one layer, newest first.
    Versions {
        /// The layer name or layer ARN.
        name: String,
    },
    /// Show one layer version.
    Get {
        /// NAME:VERSION or a layer version ARN.
        layer: LayerVersionRef,
    },
    /// Download a layer version's ZIP, checking its CodeSha256.
    Download {
        /// NAME:VERSION or a layer version ARN.
        layer: LayerVersionRef,
        /// Where to write the ZIP.
        #[arg(short = 'o', long = "out", value_name = "FILE")]
        out: PathBuf,
    },
    /// Delete a layer version (functions that use it keep their copy).
    Delete {
        /// NAME:VERSION or a layer version ARN.
        layer: LayerVersionRef,
    },
}

/// Options of `lamina layer publish`.
#[derive(clap::Args, Debug)]
pub struct PublishArgs {
    /// The layer name.
    pub name: String,
    /// The layer's ZIP file, or a directory to zip (its top level becomes /opt).
    pub zip: PathBuf,
    /// Runtimes the layer is meant for, e.g. python3.12 (several after one flag, or repeated).
    #[arg(long, num_args = 1.., value_name = "RUNTIME")]
    pub compatible_runtimes: Vec<String>,
    /// Instruction set architectures the layer is meant for: x86_64, arm64.
    #[arg(long, num_args = 1.., value_name = "ARCH")]
    pub compatible_architectures: Vec<String>,
    /// A description of this version.
    #[arg(long)]
    pub description: Option<String>,
    /// The layer's software license (an SPDX identifier or a URL).
    #[arg(long)]
    pub license_info: Option<String>,
}

/// Runs a remote `layer` subcommand (not `build` or `inspect`).
pub(crate) async fn run(api: &Api, command: &LayerCommand) -> anyhow::Result<ExitCode> {
    match command {
        LayerCommand::Build(_) | LayerCommand::Inspect(_) => {
            bail!("local layer commands are not run through the API")
        }
        LayerCommand::Publish(args) => publish(api, args).await,
        LayerCommand::List => list(api).await,
        LayerCommand::Versions { name } => versions(api, name).await,
        LayerCommand::Get { layer } => get(api, layer).await,
        LayerCommand::Download { layer, out } => download(api, layer, out).await,
        LayerCommand::Delete { layer } => delete(api, layer).await,
    }?;
    Ok(ExitCode::SUCCESS)
}

/// The JSON of a layer version response: `PublishLayerVersion` and `GetLayerVersion*` share
/// their shape but not their Rust type.
macro_rules! layer_version_json {
    ($out:expr) => {{
        let out = $out;
        compact(json!({
            "LayerArn": opt(out.layer_arn()),
            "LayerVersionArn": opt(out.layer_version_arn()),
            "Version": out.version(),
            "Description": opt(out.description()),
            "CreatedDate": opt(out.created_date()),
            "CompatibleRuntimes": out.compatible_runtimes().iter().map(Runtime::as_str).collect::<Vec<_>>(),
            "CompatibleArchitectures": out.compatible_architectures().iter().map(Architecture::as_str).collect::<Vec<_>>(),
            "LicenseInfo": opt(out.license_info()),
            "Content": out.content().map(|c| json!({
                "Location": opt(c.location()),
                "CodeSha256": opt(c.code_sha256()),
                "CodeSize": c.code_size(),
            })),
        }))
    }};
}

async fn publish(api: &Api, args: &PublishArgs) -> anyhow::Result<()> {
    let zip = crate::zipdir::load_code(&args.zip)?;
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_message(format!(
        "uploading {} ({:.1} MB)",
        args.zip.display(),
        zip.len() as f64 / 1e6
    ));
    spinner.enable_steady_tick(Duration::from_millis(100));
    let result = api
        .client
        .publish_layer_version()
        .layer_name(&args.name)
        .set_description(args.description.clone())
        .set_license_info(args.license_info.clone())
        .set_compatible_runtimes(non_empty(&args.compatible_runtimes, |r| {
            Runtime::from(r.as_str())
        }))
        .set_compatible_architectures(non_empty(&args.compatible_architectures, |a| {
            Architecture::from(a.as_str())
        }))
        .content(
            LayerVersionContentInput::builder()
                .zip_file(Blob::new(zip))
                .build(),
        )
        .send()
        .await;
    spinner.finish_and_clear();
    let out = result.api("PublishLayerVersion", &api.endpoint)?;
    if api.json() {
        print_json(&layer_version_json!(&out))
    } else {
        print_text(&format!(
            "{}\n",
            out.layer_version_arn().unwrap_or_default()
        ))
    }
}

fn non_empty<T>(values: &[String], convert: impl Fn(&String) -> T) -> Option<Vec<T>> {
    (!values.is_empty()).then(|| values.iter().map(convert).collect())
}

fn runtimes(runtimes: &[Runtime]) -> String {
    runtimes
        .iter()
        .map(Runtime::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

async fn list(api: &Api) -> anyhow::Result<()> {
    let layers = api
        .client
        .list_layers()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .api("ListLayers", &api.endpoint)?;
    if api.json() {
        let items: Vec<Value> = layers
            .iter()
            .map(|l| {
                compact(json!({
                    "LayerName": opt(l.layer_name()),
                    "LayerArn": opt(l.layer_arn()),
                    "LatestMatchingVersion": l.latest_matching_version().map(version_item_json),
                }))
            })
            .collect();
        return print_json(&json!({ "Layers": items }));
    }
    let mut table = Table::new(&["NAME", "LATEST", "RUNTIMES", "DESCRIPTION", "ARN"]);
    for layer in &layers {
        let latest = layer.latest_matching_version();
        table.row(vec![
            layer.layer_name().unwrap_or_default().to_owned(),
            latest.map(|v| v.version().to_string()).unwrap_or_default(),
            latest
                .map(|v| runtimes(v.compatible_runtimes()))
                .unwrap_or_default(),
            latest
                .and_then(|v| v.description())
                .unwrap_or_default()
                .to_owned(),
            latest
                .and_then(|v| v.layer_version_arn())
                .unwrap_or_default()
                .to_owned(),
        ]);
    }
    table.print()
}

/// One entry of `ListLayerVersions` (also `ListLayers`' `LatestMatchingVersion`).
fn version_item_json(v: &LayerVersionsListItem) -> Value {
    compact(json!({
        "LayerVersionArn": opt(v.layer_version_arn()),
        "Version": v.version(),
        "Description": opt(v.description()),
        "CreatedDate": opt(v.created_date()),
        "CompatibleRuntimes": v.compatible_runtimes().iter().map(Runtime::as_str).collect::<Vec<_>>(),
        "CompatibleArchitectures": v.compatible_architectures().iter().map(Architecture::as_str).collect::<Vec<_>>(),
        "LicenseInfo": opt(v.license_info()),
    }))
}

async fn versions(api: &Api, name: &str) -> anyhow::Result<()> {
    let versions = api
        .client
        .list_layer_versions()
        .layer_name(name)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .api("ListLayerVersions", &api.endpoint)?;
    if api.json() {
        let items: Vec<Value> = versions.iter().map(version_item_json).collect();
        return print_json(&json!({ "LayerVersions": items }));
    }
    let mut table = Table::new(&["VERSION", "CREATED", "RUNTIMES", "DESCRIPTION", "ARN"]);
    for v in &versions {
        table.row(vec![
            v.version().to_string(),
            v.created_date().unwrap_or_default().to_owned(),
            runtimes(v.compatible_runtimes()),
            v.description().unwrap_or_default().to_owned(),
            v.layer_version_arn().unwrap_or_default().to_owned(),
        ]);
    }
    table.print()
}

/// GetLayerVersion of `layer`.
async fn fetch_version(
    api: &Api,
    layer: &LayerVersionRef,
) -> anyhow::Result<aws_sdk_lambda::operation::get_layer_version::GetLayerVersionOutput> {
    api.client
        .get_layer_version()
        .layer_name(&layer.name)
        .version_number(layer.version)
        .send()
        .await
        .api("GetLayerVersion", &api.endpoint)
}

async fn get(api: &Api, layer: &LayerVersionRef) -> anyhow::Result<()> {
    let out = fetch_version(api, layer).await?;
    if api.json() {
        return print_json(&layer_version_json!(&out));
    }
    let content = out.content();
    print_fields(&[
        (
            "LayerVersionArn",
            out.layer_version_arn().unwrap_or_default().to_owned(),
        ),
        ("Version", out.version().to_string()),
        (
            "Description",
            out.description().unwrap_or_default().to_owned(),
        ),
        (
            "CreatedDate",
            out.created_date().unwrap_or_default().to_owned(),
        ),
        ("CompatibleRuntimes", runtimes(out.compatible_runtimes())),
        (
            "CompatibleArchitectures",
            out.compatible_architectures()
                .iter()
                .map(Architecture::as_str)
                .collect::<Vec<_>>()
                .join(","),
        ),
        (
            "LicenseInfo",
            out.license_info().unwrap_or_default().to_owned(),
        ),
        (
            "CodeSize",
            content
                .map(|c| c.code_size().to_string())
                .unwrap_or_default(),
        ),
        (
            "CodeSha256",
            content
                .and_then(|c| c.code_sha256())
                .unwrap_or_default()
                .to_owned(),
        ),
    ])
}

async fn download(api: &Api, layer: &LayerVersionRef, out_path: &PathBuf) -> anyhow::Result<()> {
    let out = fetch_version(api, layer).await?;
    let content = out.content().context("the response has no Content")?;
    let location = content
        .location()
        .context("the response has no Content.Location")?;
    let bytes = crate::content::download(location).await?;
    if let Some(expected) = content.code_sha256() {
        let actual = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&bytes));
        if actual != expected {
            bail!("the download's SHA-256 is {actual}, but the layer's CodeSha256 is {expected}");
        }
    }
    std::fs::write(out_path, &bytes).with_context(|| format!("writing {}", out_path.display()))?;
    let arn = out.layer_version_arn().unwrap_or_default();
    if api.json() {
        print_json(&json!({
            "LayerVersionArn": arn,
            "File": out_path.display().to_string(),
            "Bytes": bytes.len(),
        }))
    } else {
        print_text(&format!(
            "{arn} -> {} ({} bytes)\n",
            out_path.display(),
            bytes.len()
        ))
    }
}

async fn delete(api: &Api, layer: &LayerVersionRef) -> anyhow::Result<()> {
    api.client
        .delete_layer_version()
        .layer_name(&layer.name)
        .version_number(layer.version)
        .send()
        .await
        .api("DeleteLayerVersion", &api.endpoint)?;
    if api.json() {
        return Ok(());
    }
    print_text(&format!("deleted {}:{}\n", layer.name, layer.version))
}

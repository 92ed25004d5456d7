//! What AWS's console does not show, from the analysis `lamina layer inspect` and
//! `lamina function check` already do (crate `lamina-layers`): on a layer version's page, what
//! `/opt` will hold and what is likely wrong with it; on a function's page, which files and
//! modules several of its sources provide and which one the function sees.
//!
//! The analysis reads the stored ZIPs (blobs), which stay as long as a function or a version
//! uses them, on a blocking thread.

use futures_util::StreamExt as _;
use lamina_control::functions::FunctionView;
use lamina_layers::inspect::{
    Conflict, InspectError, Inspection, Mount, Severity, Source, conflicts, inspect,
};
use lamina_store::BlobError;
use lamina_types::LayerVersionArn;
use lamina_types::layer::{Digest, LayerVersionRecord};
use lamina_types::limits::MAX_UNZIPPED_BYTES;
use lamina_types::runtime::Architecture;
use maud::{Markup, html};

use crate::AppState;

/// Why a stored ZIP could not be analysed.
#[derive(Debug, thiserror::Error)]
enum InsightError {
    #[error("cannot read the stored archive of {label}: {source}")]
    Read { label: String, source: BlobError },
    #[error("the stored archive of {label} is larger than Lambda's 250 MB limit")]
    TooLarge { label: String },
    #[error(transparent)]
    Inspect(#[from] InspectError),
    #[error("the analysis stopped unexpectedly")]
    Stopped,
}

/// The bytes of the stored ZIP of `digest`, read whole from the blob store (never more than
/// Lambda's limit).
async fn read_blob(
    state: &AppState,
    digest: &Digest,
    label: &str,
) -> Result<Vec<u8>, InsightError> {
    let read_error = |source| InsightError::Read {
        label: label.to_owned(),
        source,
    };
    let too_large = || InsightError::TooLarge {
        label: label.to_owned(),
    };
    let blob = state
        .layers
        .artifacts()
        .blobs()
        .open(digest)
        .await
        .map_err(read_error)?;
    if blob.size > MAX_UNZIPPED_BYTES {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(blob.size).unwrap_or_default());
    let mut stream = blob.stream;
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk.map_err(read_error)?);
        if bytes.len() as u64 > MAX_UNZIPPED_BYTES {
            return Err(too_large());
        }
    }
    Ok(bytes)
}

/// Runs `work` on a blocking thread.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, InsightError> + Send + 'static,
) -> Result<T, InsightError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or(Err(InsightError::Stopped))
}

/// A size in bytes as people read it.
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["bytes", "KB", "MB", "GB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The runtime and architecture a version is analysed for: the first Python runtime and the
/// first architecture it declares (else inferred from the ZIP, and x86_64, AWS's default).
fn target_of(record: &LayerVersionRecord) -> (Option<String>, Architecture) {
    let runtime = record
        .compatible_runtimes
        .iter()
        .flatten()
        .find(|r| r.starts_with("python") || r.starts_with("nodejs"))
        .cloned();
    let arch = record
        .compatible_architectures
        .iter()
        .flatten()
        .find_map(|a| Architecture::parse(a))
        .unwrap_or_default();
    (runtime, arch)
}

/// The section "What /opt will hold" of a layer version's page.
pub(super) async fn opt_section(state: &AppState, record: &LayerVersionRecord) -> Markup {
    let (runtime, arch) = target_of(record);
    let result = match read_blob(state, &record.code_sha256, "this version").await {
        Ok(zip) => blocking(move || Ok(inspect(&zip, runtime.as_deref(), arch)?)).await,
        Err(e) => Err(e),
    };
    html! {
        section aria-labelledby="opt-heading" {
            h2 #opt-heading { "What /opt will hold" }
            @match &result {
                Ok(report) => (inspection(report)),
                Err(e) => p.hint { "This version could not be analysed: " (e) "." },
            }
        }
    }
}

fn inspection(report: &Inspection) -> Markup {
    let lists = [
        ("Tools on PATH (/opt/bin)", "opt-tools", &report.tools),
        ("Libraries (/opt/lib)", "opt-libraries", &report.libraries),
        (
            "Extensions (/opt/extensions)",
            "opt-extensions",
            &report.extensions,
        ),
    ];
    html! {
        p.hint #opt-target {
            "As a " (report.runtime) " function on " (report.arch) " sees it"
            @if report.runtime_inferred { " (runtime inferred from the files)" } "."
        }
        @if report.runtime.starts_with("python") {
            h3 { "Python modules" }
            @if report.modules.is_empty() {
                p.hint { "No importable module." }
            } @else {
                div.table-wrap {
                    table #opt-modules {
                        thead { tr { th scope="col" { "Module" } th scope="col" { "Kind" } th scope="col" { "Path" } } }
                        tbody {
                            @for m in &report.modules {
                                tr { td { (m.name) } td { (m.kind.describe()) } td.arn { (m.path) } }
                            }
                        }
                    }
                }
            }
        }
        @if report.runtime.starts_with("nodejs") {
            h3 { "Node.js packages" }
            @if report.node_packages.is_empty() {
                p.hint { "No package on NODE_PATH." }
            } @else {
                div.table-wrap {
                    table #opt-node-packages {
                        thead { tr { th scope="col" { "Package" } th scope="col" { "Version" } th scope="col" { "Path" } } }
                        tbody {
                            @for p in &report.node_packages {
                                tr { td { (p.name) } td { (p.version.as_deref().unwrap_or("?")) } td.arn { (p.path) } }
                            }
                        }
                    }
                }
            }
        }
        @for (title, id, items) in lists {
            @if !items.is_empty() {
                h3 { (title) }
                ul id=(id) { @for item in items.iter() { li.arn { (item) } } }
            }
        }
        @if let Some(bootstrap) = &report.bootstrap {
            h3 { "Custom runtime" }
            p #opt-bootstrap .arn { (bootstrap) }
        }
        p #opt-size {
            (report.files) @if report.files == 1 { " file, " } @else { " files, " } (human_size(report.zipped_bytes)) " zipped, "
            (human_size(report.unzipped_bytes)) " unzipped ("
            (format!("{:.1}", report.share_of_unzipped_limit * 100.0)) "% of the 250 MB limit for a function and its layers)"
        }
        h3 #findings-heading { "Findings" }
        @if report.findings.is_empty() {
            p.hint #layer-findings-none { "No findings." }
        } @else {
            ul #layer-findings aria-labelledby="findings-heading" {
                @for f in &report.findings {
                    @let level = severity_label(f.severity);
                    li class=(format!("finding {}", level.to_lowercase())) data-severity=(level.to_lowercase()) {
                        strong { (level) } ": " (f.message)
                    }
                }
            }
        }
    }
}

fn severity_label(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "Error",
        Severity::Warning => "Warning",
    }
}

/// The stored ZIPs of a function's code and layers, in merge order.
async fn read_sources(
    state: &AppState,
    wanted: Vec<(String, Digest, Mount)>,
) -> Result<Vec<Source>, InsightError> {
    let mut sources = Vec::with_capacity(wanted.len());
    for (label, digest, mount) in wanted {
        let zip = read_blob(state, &digest, &label).await?;
        sources.push(Source { label, zip, mount });
    }
    Ok(sources)
}

/// How the function page names a source: `Function code`, or `name:version` of a layer.
fn layer_label(arn: &str) -> String {
    LayerVersionArn::parse(arn, "arn")
        .map(|a| format!("{}:{}", a.name, a.version))
        .unwrap_or_else(|_| arn.to_owned())
}

/// The section "Files provided more than once" of a function's page: its code and its layers
/// (in merge order, later on top), compared as `lamina function check` does.
pub(super) async fn overlaps_section(state: &AppState, view: &FunctionView) -> Markup {
    let config = &view.record.config;
    let runtime = config.runtime.clone().unwrap_or_default();
    let mut wanted = vec![(
        String::from("Function code"),
        view.record.code_sha256,
        Mount::Task,
    )];
    for layer in &config.layers {
        wanted.push((layer_label(&layer.arn), layer.digest, Mount::Opt));
    }
    let python = runtime.starts_with("python");
    let result = if python && !config.layers.is_empty() {
        read_sources(state, wanted).await
    } else {
        Ok(Vec::new())
    };
    let result = match result {
        Ok(sources) if !sources.is_empty() => {
            blocking(move || Ok(conflicts(&runtime, &sources)?)).await
        }
        Ok(_) => Ok(Vec::new()),
        Err(e) => Err(e),
    };
    html! {
        section aria-labelledby="overlaps-heading" {
            h2 #overlaps-heading { "Files provided more than once" }
            p.hint { "Layers are merged in order: a later layer's files win over an earlier one's, and Python imports from the function's code first." }
            @if !python {
                p.hint { "Only Python runtimes are analysed." }
            } @else {
                @match &result {
                    Ok(found) if found.is_empty() => p.hint #function-overlaps-none { "No file or module is provided more than once." },
                    Ok(found) => (overlaps_table(found)),
                    Err(e) => p.hint { "This function could not be analysed: " (e) "." },
                }
            }
        }
    }
}

fn overlaps_table(found: &[Conflict]) -> Markup {
    html! {
        div.table-wrap {
            table #function-overlaps {
                thead { tr { th scope="col" { "What" } th scope="col" { "Provided by" } th scope="col" { "Wins" } } }
                tbody {
                    @for c in found {
                        tr {
                            td { (c.what) }
                            td { ul {
                                @for (label, path) in c.providers.iter().zip(&c.paths) {
                                    li { (label) " " span.arn { (path) } }
                                }
                            } }
                            td.winner { (c.winner) " " span.arn { (c.winner_path) } }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_read_them() {
        assert_eq!(human_size(12), "12 bytes");
        assert_eq!(human_size(1536), "1.5 KB");
        assert_eq!(human_size(262_144_000), "250.0 MB");
    }

    #[test]
    fn layers_are_named_by_name_and_version() {
        let arn = "arn:aws:lambda:us-east-1:123456789012:layer:deps:3";
        assert_eq!(layer_label(arn), "deps:3");
        assert_eq!(layer_label("not an arn"), "not an arn");
    }
}

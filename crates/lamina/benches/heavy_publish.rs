//! Publishing a heavy layer (numpy + pandas from PyPI wheels, zipped with Info-ZIP `zip`),
//! byte-compilation included, against `unzip` plus `python3.12 -m compileall` of the same
//! files.
//!
//! Run with `cargo bench -p lamina --bench heavy_publish` (needs `zip` and `unzip` on `PATH`).
//! Each run, taking turns: (a) `unzip -q` then `python3.12 -m compileall -q -j 0` of the
//! extracted tree, as processes; (b) the whole PublishLayerVersion path from the base64 text in
//! memory (decode and hash, store the blob, validate and extract, record the version), then
//! the layer's byte-compilation for python3.12 (in the background on a server: publishing
//! answers before it; here it is waited for), each on a fresh data directory. Medians.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use lamina_control::LayerService;
use lamina_control::layers::{LayerContent, PublishLayerVersion};
use lamina_exec::interpreters::Interpreters;
use lamina_exec::launch::Isolation;
use lamina_exec::network::FunctionNetwork;
use lamina_exec::{ExecConfig, Executor};
use lamina_store::{LocalArtifacts, SqliteStore};
use lamina_types::{AccountId, Region, Runtime, Scope};

mod heavy;
use heavy::{PACKAGES, install_layer, is_root, run, tree_size};

const RUNS: usize = 5;

fn main() -> Result<()> {
    ensure!(
        is_root(),
        "run as root: bytecode is compiled with namespace isolation only"
    );
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = Interpreters::discover()
        .resolve("python3.12")
        .filter(|r| !r.substituted)
        .context("no python3.12 on this machine")?
        .interpreter;
    let python_path = python.prefix.join(&python.executable);
    let dir = tempfile::tempdir()?;
    let layer = dir.path().join("layer");
    install_layer(&repo, &layer.join("python"))?;
    let (files, bytes) = tree_size(&layer)?;
    let zip = dir.path().join("layer.zip");
    run(
        Path::new("zip"),
        &["-r", "-q", "-X", &zip.to_string_lossy(), "python"],
        Some(&layer),
    )?;
    let zip_bytes = std::fs::metadata(&zip)?.len();
    println!(
        "layer: {} ({files} files, {:.1} MB unzipped, {:.1} MB zipped)",
        PACKAGES.join(" "),
        bytes as f64 / 1e6,
        zip_bytes as f64 / 1e6
    );
    let encoded = Bytes::from(STANDARD.encode(std::fs::read(&zip)?));

    let runtime = tokio::runtime::Runtime::new()?;
    let python312 = Runtime::parse("python3.12").context("python3.12")?;
    let mut times: [Vec<Duration>; 3] = Default::default();
    for run_no in 0..RUNS {
        let out = dir.path().join(format!("unzip-{run_no}"));
        let start = Instant::now();
        let status = Command::new("unzip")
            .args(["-q"])
            .arg(&zip)
            .arg("-d")
            .arg(&out)
            .status()?;
        ensure!(status.success(), "unzip failed");
        let status = Command::new(&python_path)
            .args(["-m", "compileall", "-q", "-j", "0"])
            .arg(&out)
            .status()?;
        ensure!(status.success(), "compileall failed");
        times[0].push(start.elapsed());

        let data = dir.path().join(format!("data-{run_no}"));
        let (service, artifacts, executor) = runtime.block_on(fresh_server(&data))?;
        let start = Instant::now();
        let digest = runtime.block_on(publish(&service, &encoded))?;
        let published = start.elapsed();
        let tree = artifacts.extracted(&digest);
        runtime.block_on(async { executor.compile_bytecode(python312, &tree).done().await });
        times[1].push(published);
        times[2].push(start.elapsed());
        ensure!(
            artifacts.bytecode_path(&digest).join("python3.12").is_dir(),
            "no bytecode after the publish"
        );
        runtime.block_on(executor.shut_down());
    }
    let [baseline, published, compiled] = times.map(|mut t| {
        t.sort();
        t[t.len() / 2]
    });
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "baseline  unzip + python3.12 -m compileall -j 0            p50 {:>8.0} ms",
        ms(baseline)
    );
    println!(
        "lamina    PublishLayerVersion (answers here)               p50 {:>8.0} ms   ratio {:.2}",
        ms(published),
        published.as_secs_f64() / baseline.as_secs_f64()
    );
    println!(
        "lamina    PublishLayerVersion + its byte-compilation       p50 {:>8.0} ms   ratio {:.2}",
        ms(compiled),
        compiled.as_secs_f64() / baseline.as_secs_f64()
    );
    Ok(())
}

/// A layer service and an executor on a fresh data directory (the executor only compiles).
async fn fresh_server(data: &Path) -> Result<(LayerService, LocalArtifacts, Executor)> {
    std::fs::create_dir_all(data)?;
    let account = AccountId::parse("123456789012").context("account")?;
    let metadata = Arc::new(SqliteStore::open(&data.join("lamina.db"), &account).await?);
    let artifacts = LocalArtifacts::open(data)?;
    let executor = Executor::start(ExecConfig {
        envs_dir: data.join("envs"),
        views_dir: data.join("views"),
        runtime_dir: data.join("runtime"),
        logs_dir: data.join("logs"),
        log_limits: Default::default(),
        isolation: Isolation::Namespaces,
        network: FunctionNetwork::Host,
        interpreters: Interpreters::discover(),
        runtime_sdks: lamina_exec::runtime_sdks::RuntimeSdks::off(),
        jail_program: env!("CARGO_BIN_EXE_lamina").into(),
        max_environments_per_function: 1,
        idle_timeout: Duration::from_secs(60),
        standby_environments: 0,
        descriptor_reserve: 0,
        seccomp: true,
        bytecode_scratch: Some(artifacts.scratch_root().to_owned()),
    })
    .await?;
    Ok((
        LayerService::new(metadata, artifacts.clone()),
        artifacts,
        executor,
    ))
}

/// One PublishLayerVersion; returns the layer's digest.
async fn publish(service: &LayerService, encoded: &Bytes) -> Result<lamina_types::layer::Digest> {
    let scope = Scope::new(
        AccountId::parse("123456789012").context("account")?,
        Region::parse("us-west-2").context("region")?,
    );
    let command = PublishLayerVersion {
        layer_name: "heavy".to_owned(),
        compatible_runtimes: Some(vec!["python3.12".to_owned()]),
        content: Some(LayerContent {
            zip_file_base64: Some(encoded.clone()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let record = service
        .publish(&scope, command)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(record.code_sha256)
}

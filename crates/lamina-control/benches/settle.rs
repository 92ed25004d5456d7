//! How long a new function stays `Pending`, against one fsynced SQLite write.
//!
//! Run with `cargo bench -p lamina-control --bench settle`; needs `zip` on `PATH`. It creates
//! RUNS small functions through the control plane (a preparer that finds everything ready,
//! as a Python function on a machine with its interpreter does) and times (a) CreateFunction
//! itself and (b) from CreateFunction's answer until the store shows the function `Active`,
//! polled directly every 50 microseconds (no read barrier). The baseline, measured in the same
//! run on the same database, is one `replace_version` of an unchanged record: the single
//! fsynced write settling costs at least. It prints medians and the ratio settle/baseline.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use lamina_control::FunctionService;
use lamina_control::functions::{ConfigInput, CreateFunction, FunctionCode, Preparer};
use lamina_store::{FunctionStore, LocalArtifacts, SqliteStore};
use lamina_types::function_config::{FunctionVersionRecord, LATEST_VERSION};
use lamina_types::function_state::{NotReady, State};
use lamina_types::{AccountId, Region, Scope};

/// Functions created (and baseline writes made); medians are reported.
const RUNS: usize = 40;

/// Every function is ready to run.
struct Ready;

#[async_trait::async_trait]
impl Preparer for Ready {
    async fn prepare(&self, _: &FunctionVersionRecord) -> Result<(), NotReady> {
        Ok(())
    }
}

fn main() -> Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    let scratch = tempfile::tempdir()?;
    let zip = function_zip(scratch.path())?;
    let (create, settle, baseline) = runtime.block_on(measure(scratch.path(), zip))?;
    println!(
        "{:>16} {:>16} {:>20} {:>6}",
        "create ms", "Pending ms", "fsynced write ms", "ratio"
    );
    println!(
        "{:>16.3} {:>16.3} {:>20.3} {:>6.2}",
        ms(create),
        ms(settle),
        ms(baseline),
        settle.as_secs_f64() / baseline.as_secs_f64()
    );
    Ok(())
}

async fn measure(dir: &Path, zip: Bytes) -> Result<(Duration, Duration, Duration)> {
    let account = AccountId::parse("123456789012").context("account")?;
    let store = Arc::new(SqliteStore::open(&dir.join("lamina.db"), &account).await?);
    let artifacts = LocalArtifacts::open(dir)?;
    let functions: Arc<dyn FunctionStore> = store.clone();
    let service = FunctionService::new(functions, artifacts, Arc::new(Ready));
    let region = Scope::new(account, Region::parse("us-west-2").context("region")?);
    let (mut creates, mut settles, mut writes) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..RUNS {
        let name = format!("bench-{run}");
        let start = Instant::now();
        let created = service.create(&region, create_command(&name, &zip)).await?;
        let answered = Instant::now();
        ensure!(created.record.status.state == State::Pending, "not Pending");
        let active = loop {
            let record = store
                .function_version(&region, &name, LATEST_VERSION)
                .await?
                .context("function gone")?;
            if record.status.state == State::Active {
                break record;
            }
            tokio::time::sleep(Duration::from_micros(50)).await;
        };
        let settled = Instant::now();
        creates.push(answered - start);
        settles.push(settled - answered);
        let start = Instant::now();
        ensure!(
            store.replace_version(&active.revision_id, &active).await?,
            "baseline write lost"
        );
        writes.push(start.elapsed());
    }
    Ok((median(creates), median(settles), median(writes)))
}

fn create_command(name: &str, zip: &Bytes) -> CreateFunction {
    CreateFunction {
        function_name: Some(name.to_owned()),
        code: Some(FunctionCode {
            zip_file_base64: Some(zip.clone()),
            ..Default::default()
        }),
        config: ConfigInput {
            role: Some("arn:aws:iam::123456789012:role/r".into()),
            runtime: Some("python3.12".into()),
            handler: Some("app.handler".into()),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// A one-file function ZIP made by Info-ZIP, as base64 text (as the HTTP layer hands it over).
fn function_zip(dir: &Path) -> Result<Bytes> {
    let src = dir.join("src");
    std::fs::create_dir_all(&src)?;
    std::fs::write(
        src.join("app.py"),
        "def handler(event, context):\n    return event\n",
    )?;
    let zip = dir.join("function.zip");
    let status = Command::new("zip")
        .args(["-q", "-r"])
        .arg(&zip)
        .arg(".")
        .current_dir(&src)
        .status()
        .context("running zip")?;
    ensure!(status.success(), "zip failed");
    Ok(Bytes::from(STANDARD.encode(std::fs::read(&zip)?)))
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

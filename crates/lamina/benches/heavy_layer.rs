//! Cold start of a function whose layer is heavy (numpy + pandas, from PyPI wheels), with and
//! without the bytecode compiled at publish, against the same imports in plain `python3.12`.
//!
//! Run with `cargo bench -p lamina --bench heavy_layer` (as root: bytecode is mounted with
//! namespace isolation only). The wheels are downloaded once into `target/bench-wheels` with
//! the e2e venv's pip (`target/e2e-venv`, made by `scripts/prepare-tests`; `LAMINA_BENCH_PIP`
//! names another pip) for CPython 3.12 on manylinux2014 x86_64, and installed with
//! `--no-compile` as `lamina layer build` does. It prints, medians of runs taking turns:
//! - the byte-compilation of the layer (what publishing adds, in the background) against
//!   `python3.12 -m compileall` of the same files;
//! - `python3.12 -c "import numpy, pandas"` with `.pyc` present next to the sources (a
//!   writable copy, compiled by compileall) and with none (`-B`, the layer as extracted);
//! - the Lamina cold start (invoke to response on a new environment) of a python3.12 function
//!   importing both at init, with the layer's bytecode and without it, and each one's ratio to
//!   plain python with `.pyc` (goal: 1.1 with bytecode);
//! - SnapStart: the cold start of a version restored from its snapshot (restore and invoke),
//!   of that function and of a trivial one, against the same function's cold start with an
//!   Init and against `python3.12 -c pass` (goals: 30 ms and 5 ms for the restores).
//!
//! Environments get a private network each, as `lamina serve` gives them by default (SnapStart
//! copies need one).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use bytes::Bytes;
use lamina_exec::interpreters::Interpreters;
use lamina_exec::launch::Isolation;
use lamina_exec::network::FunctionNetwork;
use lamina_exec::{ExecConfig, Executor, InvokeRequest};
use lamina_store::LocalArtifacts;
use lamina_types::layer::Digest;
use lamina_types::{Architecture, ExtractedTree, FunctionSpec, Runtime};

mod heavy;
use heavy::{PACKAGES, install_layer, is_root, run, tree_size};

/// Runs of each measurement, taking turns.
const RUNS: usize = 7;
const IMPORTS: &str = "import numpy, pandas";
const HANDLER: &str = "import numpy, pandas\n\n\
    def handler(event, context):\n    return {'numpy': numpy.__version__, 'pandas': pandas.__version__}\n";
const TRIVIAL: &str = "def handler(event, context):\n    return 1\n";
/// Idle environments end this soon, so each SnapStart run restores a new one.
const IDLE: Duration = Duration::from_millis(100);
/// Longer than the reaper needs to end an environment idle for [`IDLE`].
const REAPED: Duration = Duration::from_millis(400);

fn main() -> Result<()> {
    ensure!(
        is_root(),
        "run as root: bytecode is mounted with namespace isolation only"
    );
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let interpreters = Interpreters::discover();
    let python = interpreters
        .resolve("python3.12")
        .filter(|r| !r.substituted)
        .context("no python3.12 on this machine")?
        .interpreter;
    let python_path = python.prefix.join(&python.executable);
    println!("interpreter: {}", python_path.display());

    let dir = tempfile::tempdir()?;
    let artifacts = LocalArtifacts::open(dir.path())?;
    let (code, layer, trivial) = (Digest([0x11; 32]), Digest([0x22; 32]), Digest([0x33; 32]));
    for (digest, source) in [(&code, HANDLER), (&trivial, TRIVIAL)] {
        let dir = artifacts.tree_path(digest);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("app.py"), source)?;
    }
    let layer_dir = artifacts.tree_path(&layer);
    install_layer(&repo, &layer_dir.join("python"))?;
    let (files, bytes) = tree_size(&layer_dir)?;
    println!(
        "layer: {} ({} files, {:.1} MB unzipped)",
        PACKAGES.join(" "),
        files,
        bytes as f64 / 1e6
    );

    // Plain python3.12: a writable copy compiled by compileall, and the layer as extracted.
    let with_pyc = dir.path().join("plain");
    copy_tree(&layer_dir, &with_pyc)?;
    let start = Instant::now();
    let with_pyc_arg = with_pyc.to_string_lossy().into_owned();
    run(
        &python_path,
        &["-m", "compileall", "-q", "-j", "0", &with_pyc_arg],
        None,
    )?;
    let compileall = start.elapsed();

    let runtime = tokio::runtime::Runtime::new()?;
    let executor = runtime.block_on(Executor::start(ExecConfig {
        envs_dir: dir.path().join("envs"),
        views_dir: dir.path().join("views"),
        runtime_dir: dir.path().join("runtime"),
        logs_dir: dir.path().join("logs"),
        log_limits: Default::default(),
        isolation: Isolation::Namespaces,
        network: FunctionNetwork::Isolated,
        interpreters: Interpreters::discover(),
        runtime_sdks: lamina_exec::runtime_sdks::RuntimeSdks::off(),
        jail_program: env!("CARGO_BIN_EXE_lamina").into(),
        max_environments_per_function: 4,
        idle_timeout: IDLE,
        standby_environments: 2,
        descriptor_reserve: 0,
        seccomp: true,
        bytecode_scratch: Some(artifacts.scratch_root().to_owned()),
    }))?;
    lamina_exec::runtime_files::install(&dir.path().join("runtime"), &interpreters)?;
    let python312 = Runtime::parse("python3.12").context("python3.12")?;
    let start = Instant::now();
    for tree in [
        artifacts.extracted(&layer),
        artifacts.extracted(&code),
        artifacts.extracted(&trivial),
    ] {
        runtime.block_on(async { executor.compile_bytecode(python312, &tree).done().await });
    }
    let compiled = start.elapsed();
    let sidecar = artifacts.bytecode_path(&layer).join("python3.12");
    ensure!(sidecar.is_dir(), "no bytecode at {}", sidecar.display());
    let (pyc, _) = tree_size(&sidecar)?;
    println!(
        "bytecode: {pyc} .pyc compiled in {:.2} s (in the background: publishing answers before); \
         python3.12 -m compileall -j 0 of the same tree {:.2} s",
        compiled.as_secs_f64(),
        compileall.as_secs_f64()
    );

    let plain = |path: &Path, no_pyc: bool| -> Result<()> {
        let mut args = vec!["-c", IMPORTS];
        if no_pyc {
            args.insert(0, "-B");
        }
        let status = Command::new(&python_path)
            .args(&args)
            .env_clear()
            .env("PYTHONPATH", path.join("python"))
            .current_dir(path)
            .status()?;
        ensure!(status.success(), "{IMPORTS} failed");
        Ok(())
    };
    let spec = |code: &Digest, layers: &[Digest], bytecode: bool, salt: usize, snap: bool| {
        let tree = |digest: &Digest| ExtractedTree {
            bytecode: bytecode.then(|| artifacts.bytecode_path(digest)),
            ..artifacts.extracted(digest)
        };
        Arc::new(FunctionSpec {
            function_name: "heavy".into(),
            function_arn: "arn:aws:lambda:us-east-1:123456789012:function:heavy".into(),
            version: if snap { "1" } else { "$LATEST" }.into(),
            region: "us-east-1".into(),
            runtime: python312,
            handler: "app.handler".into(),
            code: tree(code),
            layers: layers.iter().map(tree).collect(),
            memory_mb: 1024,
            timeout_secs: 60,
            ephemeral_storage_mb: 512,
            environment: BTreeMap::from([("BENCH_SALT".to_owned(), salt.to_string())]),
            architecture: Architecture::X86_64,
            log_group: "/aws/lambda/heavy".into(),
            json_log_level: None,
            snap_start: snap,
            concurrency: Default::default(),
        })
    };
    let invoke = |spec: Arc<FunctionSpec>| -> Result<()> {
        let result = runtime.block_on(executor.invoke(spec, request()))?;
        ensure!(
            !result.function_error,
            "{}",
            String::from_utf8_lossy(&result.payload)
        );
        Ok(())
    };
    let mut salt = 0usize;
    let mut cold = |bytecode: bool| -> Result<()> {
        salt += 1;
        invoke(spec(&code, &[layer], bytecode, salt, false))
    };
    // One of each first: the page cache holds the files from then on, for every mode alike.
    plain(&with_pyc, false)?;
    plain(&layer_dir, true)?;
    cold(true)?;
    cold(false)?;
    let mut times: [Vec<Duration>; 4] = Default::default();
    for _ in 0..RUNS {
        times[0].push(timed(|| plain(&with_pyc, false))?);
        times[1].push(timed(|| plain(&layer_dir, true))?);
        times[2].push(timed(|| cold(true))?);
        times[3].push(timed(|| cold(false))?);
    }
    let [with_pyc, no_pyc, with_bytecode, without_bytecode] = times.map(|t| median(&t));
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "plain     python3.12 -c \"{IMPORTS}\", .pyc present  p50 {:>8.1} ms",
        ms(with_pyc)
    );
    println!(
        "plain     python3.12 -B -c \"{IMPORTS}\", no .pyc    p50 {:>8.1} ms",
        ms(no_pyc)
    );
    for (label, cold) in [
        ("with bytecode   ", with_bytecode),
        ("without bytecode", without_bytecode),
    ] {
        println!(
            "cold start numpy+pandas layer {label}       p50 {:>8.1} ms   ratio to plain with .pyc {:.2} (goal 1.10)",
            ms(cold),
            cold.as_secs_f64() / with_pyc.as_secs_f64()
        );
    }
    println!(
        "bytecode makes the cold start {:.1}x faster ({:.0} ms less)",
        without_bytecode.as_secs_f64() / with_bytecode.as_secs_f64(),
        ms(without_bytecode) - ms(with_bytecode)
    );
    snap_start(
        &runtime,
        &executor,
        &python_path,
        &spec,
        &invoke,
        (code, layer, trivial),
    )?;
    runtime.block_on(executor.shut_down());
    Ok(())
}

/// Makes a spec: code, layers, with bytecode, a salt (a new spec, so a new environment) and
/// SnapStart on.
type SpecOf<'a> = &'a dyn Fn(&Digest, &[Digest], bool, usize, bool) -> Arc<FunctionSpec>;

/// The SnapStart figures: each restore is timed from the invoke to its response on a new
/// environment (restore and invoke), taking turns with the same function's cold start with
/// an Init and with `python3.12 -c pass`.
fn snap_start(
    runtime: &tokio::runtime::Runtime,
    executor: &Executor,
    python: &Path,
    spec: SpecOf<'_>,
    invoke: &dyn Fn(Arc<FunctionSpec>) -> Result<()>,
    (code, layer, trivial): (Digest, Digest, Digest),
) -> Result<()> {
    let heavy = spec(&code, &[layer], true, 0, true);
    let light = spec(&trivial, &[], true, 0, true);
    for snap in [&heavy, &light] {
        let start = Instant::now();
        runtime
            .block_on(executor.snapshot(snap))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        println!(
            "snapshot of {} made in {:.1} ms (at publish: its Init, once)",
            if Arc::ptr_eq(snap, &heavy) {
                "numpy+pandas"
            } else {
                "trivial"
            },
            start.elapsed().as_secs_f64() * 1e3
        );
    }
    let pass = || -> Result<()> {
        let status = Command::new(python)
            .args(["-c", "pass"])
            .env_clear()
            .status()?;
        ensure!(status.success(), "python3.12 -c pass failed");
        Ok(())
    };
    let restored = |snap: &Arc<FunctionSpec>| -> Result<Duration> {
        // The last environment is idle: the reaper ends it, and this invoke restores anew.
        std::thread::sleep(REAPED);
        timed(|| invoke(Arc::clone(snap)))
    };
    let mut times: [Vec<Duration>; 5] = Default::default();
    for salt in (1_000..).take(RUNS) {
        times[0].push(timed(pass)?);
        times[1].push(timed(|| invoke(spec(&trivial, &[], true, salt, false)))?);
        times[2].push(restored(&light)?);
        times[3].push(timed(|| invoke(spec(&code, &[layer], true, salt, false)))?);
        times[4].push(restored(&heavy)?);
    }
    let [
        pass,
        trivial_cold,
        trivial_restore,
        heavy_cold,
        heavy_restore,
    ] = times.map(|t| median(&t));
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "plain     python3.12 -c pass                         p50 {:>8.1} ms",
        ms(pass)
    );
    println!(
        "trivial   cold start with Init                      p50 {:>8.1} ms   ratio to -c pass {:.2}",
        ms(trivial_cold),
        trivial_cold.as_secs_f64() / pass.as_secs_f64()
    );
    println!(
        "trivial   SnapStart restore + invoke                p50 {:>8.1} ms   ratio to -c pass {:.2} (goal 5 ms)",
        ms(trivial_restore),
        trivial_restore.as_secs_f64() / pass.as_secs_f64()
    );
    println!(
        "numpy+pandas cold start with Init (bytecode)        p50 {:>8.1} ms",
        ms(heavy_cold)
    );
    println!(
        "numpy+pandas SnapStart restore + invoke             p50 {:>8.1} ms   {:.1}x faster than its Init (goal 30 ms)",
        ms(heavy_restore),
        heavy_cold.as_secs_f64() / heavy_restore.as_secs_f64()
    );
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    let status = Command::new("cp").arg("-a").arg(from).arg(to).status()?;
    ensure!(status.success(), "cp -a failed");
    Ok(())
}

fn timed(f: impl FnOnce() -> Result<()>) -> Result<Duration> {
    let start = Instant::now();
    f()?;
    Ok(start.elapsed())
}

fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

fn request() -> InvokeRequest {
    InvokeRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        payload: Bytes::from_static(b"{}"),
        invoked_function_arn: "arn:aws:lambda:us-east-1:123456789012:function:heavy".into(),
        client_context: None,
        tail_log: false,
    }
}

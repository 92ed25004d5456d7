//! Invocation cost against the machine's own floors, measured in the same run.
//!
//! Run with `cargo bench -p lamina --bench invoke`. It drives the executor directly (the
//! HTTP API adds one loopback round trip, printed as a baseline) and prints:
//! (a) cold start, from invoke to response on a new environment, for a no-op Python handler
//!     with 0 layers, 1 layer and 5 layers (one of them 200 MB), with namespace isolation
//!     (when running as root), with it but without the seccomp filter, and without
//!     isolation, and with namespace isolation and a private network per environment
//!     (`private-net`); what isolation, the seccomp filter and the private network add;
//! (b) warm invoke latency p50/p99 and throughput at concurrency 1 and 8, in every mode;
//! (c) baselines: `true`, `unshare` of the same namespaces (mount, PID with its own /proc,
//!     IPC, UTS) around `true`, `python3 -c pass`, our bootstrap's start to its first `next`
//!     (cold start minus this is Lamina's own cost), and one HTTP round trip on loopback;
//! (d) the seccomp filter alone: compiling it, installing it, and `python3 -c pass` under it
//!     and without it, taking turns (cold starts are too noisy to show a fraction of a ms);
//! (e) with namespace isolation, what an idle external extension (registered for INVOKE, it
//!     calls `next` again at once) adds to a warm invoke: invokes of a function with it and of
//!     one without, taking turns, each waiting for the invoke's end (the extension's `next`,
//!     END and REPORT: `LogType: Tail`), as the caller of the next invoke does.
//! (f) cold start of a no-op Node.js handler (nodejs20.x, the machine's node) in every mode,
//!     against `node -e 0` (with an empty environment, as functions start) and the Node
//!     bootstrap's start to its first `next`, taking turns run by run (goal: cold start within
//!     1.3x of `node -e 0`).
//! (g) warm invokes through the HTTP API of a real `lamina serve`, against a trivial loopback
//!     HTTP server with the same client (see `support/warm_http.rs`); `LAMINA_BENCH_ONLY=warm-http`
//!     runs it alone.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bytes::Bytes;
use lamina_exec::interpreters::Interpreters;
use lamina_exec::launch::Isolation;
use lamina_exec::network::FunctionNetwork;
use lamina_exec::{ExecConfig, Executor, InvokeRequest};
use lamina_store::LocalArtifacts;
use lamina_types::layer::Digest;
use lamina_types::{Architecture, ExtractedTree, FunctionSpec, Runtime};

#[path = "support/warm_http.rs"]
mod warm_http;

const COLD_RUNS: usize = 20;
const WARM_INVOKES: usize = 2000;
/// Invokes of each function in (e).
const EXTENSION_INVOKES: usize = 2000;
/// The idle extension of (e): registers for INVOKE, then calls `next` at once, each time, on
/// one kept-alive connection (raw HTTP: the least Python between two calls).
const IDLE_EXTENSION: &str = r#"#!/usr/bin/python3
import os, socket
host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].rsplit(":", 1)
conn = socket.create_connection((host, int(port)))
conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
def call(request):
    conn.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    end = data.index(b"\r\n\r\n") + 4
    head = data[:end].decode().lower()
    length = int(head.split("content-length:")[1].split("\r\n")[0]) if "content-length:" in head else 0
    while len(data) < end + length:
        data += conn.recv(65536)
    return head
body = b'{"events":["INVOKE"]}'
head = call(b"POST /2020-01-01/extension/register HTTP/1.1\r\nHost: x\r\nLambda-Extension-Name: idle-ext\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
ext_id = head.split("lambda-extension-identifier:")[1].split("\r\n")[0].strip()
poll = ("GET /2020-01-01/extension/event/next HTTP/1.1\r\nHost: x\r\nLambda-Extension-Identifier: %s\r\n\r\n" % ext_id).encode()
while True:
    call(poll)
"#;
/// The label of namespace isolation without the seccomp filter (its cost's baseline).
const NO_SECCOMP: &str = "no-seccomp";
/// The label of namespace isolation with a private network per environment.
const PRIVATE_NET: &str = "private-net";

fn main() -> Result<()> {
    // LAMINA_BENCH_ONLY=warm-http runs (g) alone.
    if std::env::var("LAMINA_BENCH_ONLY").is_ok_and(|v| v == "warm-http") {
        return warm_http::run(Path::new(env!("CARGO_BIN_EXE_lamina")));
    }
    let runtime = tokio::runtime::Runtime::new()?;
    let dir = tempfile::tempdir()?;
    let artifacts = LocalArtifacts::open(dir.path())?;
    let code = Digest([1; 32]);
    write_tree(
        &artifacts.tree_path(&code),
        &[(
            "app.py",
            b"def handler(event, context):\n    return event\n".to_vec(),
        )],
    )?;
    let layers: Vec<Digest> = (2u8..7).map(|i| Digest([i; 32])).collect();
    for (i, layer) in layers.iter().enumerate() {
        let mut files = vec![(
            format!("python/mod{i}.py"),
            format!("X = {i}\n").into_bytes(),
        )];
        if i == 0 {
            files.push(("lib/big.bin".to_owned(), vec![7u8; 200 << 20]));
        }
        let files: Vec<(&str, Vec<u8>)> =
            files.iter().map(|(p, b)| (p.as_str(), b.clone())).collect();
        write_tree(&artifacts.tree_path(layer), &files)?;
    }
    let node_code = Digest([9; 32]);
    write_tree(
        &artifacts.tree_path(&node_code),
        &[(
            "index.js",
            b"exports.handler = async (event) => event;\n".to_vec(),
        )],
    )?;
    let interpreters = Interpreters::discover();
    let python = interpreters
        .resolve("python3.11")
        .context("no python3 interpreter")?;
    let python_path = python
        .interpreter
        .prefix
        .join(&python.interpreter.executable);
    lamina_exec::runtime_files::install(&dir.path().join("runtime"), &interpreters)?;
    // Every mode when root (LAMINA_BENCH_ISOLATION=none keeps to `none`), else `none` only:
    // (label, isolation, seccomp filter, network).
    let forced_none = std::env::var("LAMINA_BENCH_ISOLATION").is_ok_and(|v| v == "none");
    let mut modes = vec![("none", Isolation::None, false, FunctionNetwork::Host)];
    if rustix_is_root() && !forced_none {
        modes.insert(
            0,
            (
                PRIVATE_NET,
                Isolation::Namespaces,
                true,
                FunctionNetwork::Isolated,
            ),
        );
        modes.insert(
            0,
            (
                NO_SECCOMP,
                Isolation::Namespaces,
                false,
                FunctionNetwork::Host,
            ),
        );
        modes.insert(
            0,
            (
                "namespaces",
                Isolation::Namespaces,
                true,
                FunctionNetwork::Host,
            ),
        );
    }
    let mut executors = Vec::new();
    for (label, isolation, seccomp, network) in &modes {
        let config = ExecConfig {
            envs_dir: dir.path().join(format!("envs-{label}")),
            views_dir: dir.path().join("views"),
            runtime_dir: dir.path().join("runtime"),
            logs_dir: dir.path().join("logs"),
            log_limits: Default::default(),
            isolation: *isolation,
            network: *network,
            interpreters: Interpreters::discover(),
            runtime_sdks: lamina_exec::runtime_sdks::RuntimeSdks::off(),
            jail_program: env!("CARGO_BIN_EXE_lamina").into(),
            max_environments_per_function: 16,
            idle_timeout: Duration::from_secs(600),
            standby_environments: 2,
            descriptor_reserve: 0,
            seccomp: *seccomp,
            bytecode_scratch: None,
        };
        let executor = runtime.block_on(Executor::start(config))?;
        let (cgroups, _) = executor.cgroup_info();
        println!(
            "executor: {label}: isolation {}, seccomp {}, network {} (cgroups {cgroups})",
            isolation.as_str(),
            if *seccomp { "on" } else { "off" },
            network.as_str()
        );
        executors.push((*label, executor));
    }
    println!("interpreter: {}", python_path.display());

    // (c) baselines
    let true_start = median(&time_n(30, || run(Path::new("true"), &[])))?;
    let unshare_start = median(&time_n(30, || {
        run(
            Path::new("unshare"),
            &[
                "--mount",
                "--pid",
                "--ipc",
                "--uts",
                "--fork",
                "--mount-proc",
                "true",
            ],
        )
    }))
    .ok();
    let python_start = median(&time_n(30, || run(&python_path, &["-c", "pass"])))?;
    let bootstrap_start = median(&time_n(30, || {
        bootstrap_to_first_next(
            &python_path,
            &dir.path().join("runtime/bootstrap.py"),
            &artifacts_code_dir(dir.path(), &code),
            "app.handler",
            &[("LAMINA_OPT_ROOT", "/nonexistent")],
        )
    }))?;
    let http_rtt = loopback_round_trip()?;
    let filter = seccomp_costs(&python_path)?;
    println!(
        "baseline  true                        {:>8.2} ms",
        ms(true_start)
    );
    match unshare_start {
        Some(t) => println!(
            "baseline  unshare -m -p -i -u true    {:>8.2} ms   (namespaces add {:.2} ms)",
            ms(t),
            ms(t.saturating_sub(true_start))
        ),
        None => println!("baseline  unshare -m -p -i -u true    not possible here (needs root)"),
    }
    println!(
        "baseline  python3 -c pass             {:>8.2} ms",
        ms(python_start)
    );
    println!(
        "baseline  bootstrap start to next     {:>8.2} ms",
        ms(bootstrap_start)
    );
    println!(
        "baseline  HTTP round trip, loopback   {:>8.3} ms",
        ms(http_rtt)
    );
    println!(
        "seccomp   compile {:.3} ms, install {:.3} ms; python3 -c pass {:.2} ms under it, {:.2} ms without (adds {:.2} ms)",
        ms(filter.compile),
        ms(filter.install),
        ms(filter.python_filtered),
        ms(filter.python_unfiltered),
        ms(filter.python_filtered) - ms(filter.python_unfiltered)
    );

    // (a) cold starts: a distinct spec per run forces a new environment.
    let layer_sets = [
        ("0 layers", Vec::new()),
        ("1 layer", layers[1..2].to_vec()),
        ("5 layers (one 200 MB)", layers.clone()),
    ];
    let mut salt = 0;
    let mut cold = BTreeMap::new();
    for (label, layer_set) in &layer_sets {
        // The namespace modes take turns, run by run, so a drift of the machine weighs on the
        // filter's comparison alike; `none` runs after them, as its merged /opt views of big
        // layers would otherwise weigh on their runs.
        let (isolated, plain): (Vec<usize>, Vec<usize>) =
            (0..executors.len()).partition(|i| executors[*i].0 != "none");
        let mut times: Vec<Vec<Duration>> = vec![Vec::new(); executors.len()];
        for group in [isolated, plain] {
            for _ in 0..COLD_RUNS {
                for &i in &group {
                    salt += 1;
                    let spec = spec(&artifacts, code, layer_set, salt);
                    let start = Instant::now();
                    let result = runtime.block_on(executors[i].1.invoke(spec, request()))?;
                    anyhow::ensure!(
                        !result.function_error,
                        "{}",
                        String::from_utf8_lossy(&result.payload)
                    );
                    times[i].push(start.elapsed());
                }
            }
        }
        for ((mode, _), times) in executors.iter().zip(&times) {
            let p50 = median(times)?;
            cold.insert((*label, *mode), p50);
            println!(
                "cold start {label:<22} {mode:<11} p50 {:>7.2} ms   ratio to bootstrap start {:.2}",
                ms(p50),
                p50.as_secs_f64() / bootstrap_start.as_secs_f64()
            );
        }
        if let (Some(ns), Some(none)) = (
            cold.get(&(*label, "namespaces")),
            cold.get(&(*label, "none")),
        ) {
            println!(
                "           {label:<22} isolation adds {:>6.2} ms",
                ms(*ns) - ms(*none)
            );
        }
        if let (Some(with), Some(without)) = (
            cold.get(&(*label, "namespaces")),
            cold.get(&(*label, NO_SECCOMP)),
        ) {
            println!(
                "           {label:<22} seccomp adds   {:>6.2} ms",
                ms(*with) - ms(*without)
            );
        }
        if let (Some(private), Some(host)) = (
            cold.get(&(*label, PRIVATE_NET)),
            cold.get(&(*label, "namespaces")),
        ) {
            println!(
                "           {label:<22} private network adds {:>6.2} ms",
                ms(*private) - ms(*host)
            );
        }
    }

    // Whether the cold starts above found a standby sandbox ready: one that did not paid for
    // the sandbox on its critical path, so modes compare fairly only at equal counts.
    for (mode, executor) in &executors {
        let (taken, missed) = executor.standby_uses();
        println!("standbys   {mode:<11} ready for {taken} cold starts, missing for {missed}");
    }

    // (f) Node.js cold starts against `node -e 0`, taking turns run by run.
    match interpreters.resolve("nodejs20.x") {
        None => println!("node      no node found: the Node.js cold start is not measured"),
        Some(node) => {
            let node_path = node.interpreter.prefix.join(&node.interpreter.executable);
            println!(
                "node      {} (v{})",
                node_path.display(),
                node.interpreter.version
            );
            let node_task = artifacts.tree_path(&node_code);
            let node_bootstrap = dir.path().join("runtime/index.cjs");
            let (mut bare, mut to_next) = (Vec::new(), Vec::new());
            let mut times: Vec<Vec<Duration>> = vec![Vec::new(); executors.len()];
            for _ in 0..COLD_RUNS {
                // With an empty environment, as the bootstrap below and a function's node
                // start: the caller's NODE_OPTIONS or NODE_EXTRA_CA_CERTS (which alone costs
                // some 35 ms here, loading the system's certificates) would weigh on it only.
                let t = Instant::now();
                let status = std::process::Command::new(&node_path)
                    .args(["-e", "0"])
                    .env_clear()
                    .status()?;
                anyhow::ensure!(status.success(), "node -e 0 failed");
                bare.push(t.elapsed());
                let t = Instant::now();
                bootstrap_to_first_next(
                    &node_path,
                    &node_bootstrap,
                    &node_task,
                    "index.handler",
                    &[],
                )?;
                to_next.push(t.elapsed());
                for (i, (_, executor)) in executors.iter().enumerate() {
                    salt += 1;
                    let spec = spec_for(
                        &artifacts,
                        node_code,
                        &[],
                        salt,
                        "nodejs20.x",
                        "index.handler",
                    );
                    let start = Instant::now();
                    let result = runtime.block_on(executor.invoke(spec, request()))?;
                    anyhow::ensure!(
                        !result.function_error,
                        "{}",
                        String::from_utf8_lossy(&result.payload)
                    );
                    times[i].push(start.elapsed());
                }
            }
            let (bare, to_next) = (median(&bare)?, median(&to_next)?);
            println!("baseline  node -e 0                   {:>8.2} ms", ms(bare));
            println!(
                "baseline  node bootstrap start to next {:>7.2} ms",
                ms(to_next)
            );
            for ((mode, _), times) in executors.iter().zip(&times) {
                let p50 = median(times)?;
                println!(
                    "cold start nodejs20.x no-op      {mode:<11} p50 {:>7.2} ms   ratio to node -e 0 {:.2} (goal 1.30)   to bootstrap start {:.2}",
                    ms(p50),
                    p50.as_secs_f64() / bare.as_secs_f64(),
                    p50.as_secs_f64() / to_next.as_secs_f64()
                );
            }
            for (mode, executor) in &executors {
                let (taken, missed) = executor.standby_uses();
                println!(
                    "standbys   {mode:<11} ready for {taken} cold starts, missing for {missed} (so far)"
                );
            }
        }
    }

    // (b) warm latency and throughput
    for (mode, executor) in &executors {
        for concurrency in [1usize, 8] {
            salt += 1;
            let spec = spec(&artifacts, code, &[], salt);
            let executor = executor.clone();
            let (mut latencies, elapsed) = runtime.block_on(async move {
                let start = Instant::now();
                let tasks: Vec<_> = (0..concurrency)
                    .map(|_| {
                        let (executor, spec) = (executor.clone(), spec.clone());
                        tokio::spawn(async move {
                            let mut times = Vec::with_capacity(WARM_INVOKES / concurrency);
                            for _ in 0..WARM_INVOKES / concurrency {
                                let t = Instant::now();
                                let _ = executor.invoke(spec.clone(), request()).await;
                                times.push(t.elapsed());
                            }
                            times
                        })
                    })
                    .collect();
                let mut all = Vec::new();
                for task in tasks {
                    all.extend(task.await.unwrap_or_default());
                }
                (all, start.elapsed())
            });
            latencies.sort();
            // The first invoke of each environment is a cold start; leave those out.
            let warm = &latencies[..latencies.len().saturating_sub(concurrency)];
            let p = |q: f64| warm[((warm.len() as f64 * q) as usize).min(warm.len() - 1)];
            println!(
                "warm  {mode:<11} concurrency {concurrency}   p50 {:>7.3} ms   p99 {:>7.3} ms   {:>7.0} invokes/s",
                ms(p(0.5)),
                ms(p(0.99)),
                latencies.len() as f64 / elapsed.as_secs_f64()
            );
        }
    }
    // (e) an idle external extension
    if let Some((_, executor)) = executors.iter().find(|(mode, _)| *mode == "namespaces") {
        let layer = Digest([9; 32]);
        let tree = artifacts.tree_path(&layer);
        write_tree(
            &tree,
            &[("extensions/idle-ext", IDLE_EXTENSION.as_bytes().to_vec())],
        )?;
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(
                tree.join("extensions/idle-ext"),
                fs::Permissions::from_mode(0o755),
            )?;
        }
        let plain = spec(&artifacts, code, &[], salt + 1);
        let extended = spec(&artifacts, code, &[layer], salt + 2);
        let mut times = [Vec::new(), Vec::new()];
        for round in 0..=EXTENSION_INVOKES {
            for (i, spec) in [&plain, &extended].into_iter().enumerate() {
                let start = Instant::now();
                let result = runtime.block_on(executor.invoke(spec.clone(), tail_request()))?;
                anyhow::ensure!(
                    !result.function_error,
                    "{}",
                    String::from_utf8_lossy(&result.payload)
                );
                // The first round is each function's cold start.
                if round > 0 {
                    times[i].push(start.elapsed());
                }
            }
        }
        for t in &mut times {
            t.sort();
        }
        let p = |t: &[Duration], q: f64| t[((t.len() as f64 * q) as usize).min(t.len() - 1)];
        for (label, t) in [
            ("without", &times[0]),
            ("with an idle extension", &times[1]),
        ] {
            println!(
                "extension warm, to the invoke's end   {label:<23} p50 {:>7.3} ms   p99 {:>7.3} ms",
                ms(p(t, 0.5)),
                ms(p(t, 0.99))
            );
        }
        println!(
            "extension an idle extension adds {:.3} ms to a warm invoke (p50; goal under 0.1 ms)",
            ms(p(&times[1], 0.5)) - ms(p(&times[0], 0.5))
        );
    }
    for (_, executor) in &executors {
        runtime.block_on(executor.shut_down());
    }
    warm_http::run(Path::new(env!("CARGO_BIN_EXE_lamina")))
}

/// An invoke that waits for the invoke's end (its log tail comes with END and REPORT).
fn tail_request() -> InvokeRequest {
    InvokeRequest {
        tail_log: true,
        ..request()
    }
}

fn spec(
    artifacts: &LocalArtifacts,
    code: Digest,
    layers: &[Digest],
    salt: usize,
) -> Arc<FunctionSpec> {
    spec_for(artifacts, code, layers, salt, "python3.11", "app.handler")
}

fn spec_for(
    artifacts: &LocalArtifacts,
    code: Digest,
    layers: &[Digest],
    salt: usize,
    runtime: &str,
    handler: &str,
) -> Arc<FunctionSpec> {
    let tree = |digest: Digest| ExtractedTree {
        path: artifacts.tree_path(&digest),
        digest,
        bytecode: None,
    };
    Arc::new(FunctionSpec {
        function_name: "bench".into(),
        function_arn: "arn:aws:lambda:us-east-1:123456789012:function:bench".into(),
        version: "$LATEST".into(),
        region: "us-east-1".into(),
        runtime: Runtime::parse(runtime).expect("a model runtime"),
        handler: handler.into(),
        code: tree(code),
        layers: layers.iter().copied().map(tree).collect(),
        memory_mb: 128,
        timeout_secs: 30,
        ephemeral_storage_mb: 512,
        environment: BTreeMap::from([("BENCH_SALT".to_owned(), salt.to_string())]),
        architecture: Architecture::X86_64,
        log_group: "/aws/lambda/bench".into(),
        json_log_level: None,
        snap_start: false,
        concurrency: Default::default(),
    })
}

fn request() -> InvokeRequest {
    InvokeRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        payload: Bytes::from_static(br#"{"n": 1}"#),
        invoked_function_arn: "arn:aws:lambda:us-east-1:123456789012:function:bench".into(),
        client_context: None,
        tail_log: false,
    }
}

fn artifacts_code_dir(data: &Path, code: &Digest) -> std::path::PathBuf {
    let hex = code.to_hex();
    data.join("trees/sha256").join(&hex[..2]).join(hex)
}

fn write_tree(root: &Path, files: &[(&str, Vec<u8>)]) -> Result<()> {
    for (path, bytes) in files {
        let path = root.join(path);
        fs::create_dir_all(path.parent().context("parent")?)?;
        fs::write(path, bytes)?;
    }
    Ok(())
}

fn rustix_is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

fn run(program: &Path, args: &[&str]) -> Result<()> {
    let status = std::process::Command::new(program).args(args).status()?;
    anyhow::ensure!(status.success(), "{program:?} failed");
    Ok(())
}

/// Starts a bootstrap (`interpreter bootstrap`, with the handler `handler` and `extra_env`)
/// against a one-shot listener; returns once its first GET arrives.
fn bootstrap_to_first_next(
    interpreter: &Path,
    bootstrap: &Path,
    task: &Path,
    handler: &str,
    extra_env: &[(&str, &str)],
) -> Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    let mut child = std::process::Command::new(interpreter)
        .arg(bootstrap)
        .current_dir(task)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .env("_HANDLER", handler)
        .env("LAMBDA_TASK_ROOT", task)
        .envs(extra_env.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let (mut stream, _) = listener.accept()?;
    let mut buf = [0u8; 1024];
    let _ = stream.read(&mut buf)?;
    child.kill()?;
    child.wait()?;
    Ok(())
}

/// Median of 1,000 request/response exchanges of 100 bytes on one loopback connection.
fn loopback_round_trip() -> Result<Duration> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    let server = std::thread::spawn(move || -> std::io::Result<()> {
        let (mut s, _) = listener.accept()?;
        s.set_nodelay(true)?;
        let mut buf = [0u8; 100];
        while s.read_exact(&mut buf).is_ok() {
            s.write_all(&buf)?;
        }
        Ok(())
    });
    let mut client = TcpStream::connect(address)?;
    client.set_nodelay(true)?;
    let mut times = Vec::new();
    let mut buf = [0u8; 100];
    for _ in 0..1000 {
        let t = Instant::now();
        client.write_all(&buf)?;
        client.read_exact(&mut buf)?;
        times.push(t.elapsed());
    }
    drop(client);
    let _ = server.join();
    median(&times)
}

fn time_n(n: usize, mut f: impl FnMut() -> Result<()>) -> Vec<Duration> {
    (0..n)
        .filter_map(|_| {
            let t = Instant::now();
            f().ok().map(|()| t.elapsed())
        })
        .collect()
}

/// Medians of what the jail's seccomp filter costs (see `seccomp_costs`).
struct FilterCosts {
    compile: Duration,
    install: Duration,
    python_filtered: Duration,
    python_unfiltered: Duration,
}

/// Compiles the filter and installs it on a thread of its own (a filter is per thread, and
/// the processes that thread starts inherit it); then `python3 -c pass` runs alternately
/// from that thread and from this unfiltered one, so load on the machine weighs on both.
fn seccomp_costs(python: &Path) -> Result<FilterCosts> {
    use lamina_jail::seccomp::SeccompFilters;
    use std::sync::mpsc;
    const RUNS: usize = 60;
    let compile = median(&time_n(RUNS, || {
        SeccompFilters::compile()?;
        Ok(())
    }))?;
    let (go, runs) = mpsc::channel::<()>();
    let (done, times) = mpsc::channel::<Result<Duration>>();
    let program = python.to_owned();
    let filtered = std::thread::spawn(move || -> Result<Duration> {
        let filters = SeccompFilters::compile()?;
        let start = Instant::now();
        filters.install()?;
        let install = start.elapsed();
        while runs.recv().is_ok() {
            let start = Instant::now();
            let ran = run(&program, &["-c", "pass"]).map(|()| start.elapsed());
            if done.send(ran).is_err() {
                break;
            }
        }
        Ok(install)
    });
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        go.send(()).context("the filtered thread is gone")?;
        with.push(times.recv().context("the filtered thread is gone")??);
        let start = Instant::now();
        run(python, &["-c", "pass"])?;
        without.push(start.elapsed());
    }
    drop(go);
    let install = filtered
        .join()
        .map_err(|_| anyhow::anyhow!("the filtered thread panicked"))??;
    Ok(FilterCosts {
        compile,
        install,
        python_filtered: median(&with)?,
        python_unfiltered: median(&without)?,
    })
}

fn median(times: &[Duration]) -> Result<Duration> {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted.get(sorted.len() / 2).copied().context("no samples")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

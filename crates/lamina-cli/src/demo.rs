//! `lamina demo`: the seed's whole flow, each step timed. It builds a `requests` layer,
//! publishes it, creates the seed's function, attaches the layer and invokes the function,
//! which fetches a local stand-in for api.github.com (so the demo needs no internet beyond
//! pip's index). It uses a running server when `--endpoint-url` answers, else starts one on
//! a temporary data directory and stops it at the end. The stand-in listens on this
//! machine's loopback, which a function on a private network (`--function-network
//! isolated`, the default where it works) cannot reach: the demo's own server gives its
//! functions the host's network, and a running server whose functions have private networks
//! is passed over for one of the demo's own.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, LayerVersionContentInput, Runtime};
use lamina_layers::build::{BuildSpec, Layout, build_layer, pip, resolve_python};
use lamina_types::runtime::Architecture;

use crate::error::SdkResultExt as _;
use crate::function::DEFAULT_ROLE;
use crate::global::GlobalArgs;

/// Options of `lamina demo`.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Python interpreter with pip, to build the layer [default: $LAMINA_PYTHON, else
    /// python3]. Its version picks the function's runtime.
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
}

/// The JSON the stand-in for api.github.com answers (the start of GitHub's own).
const GITHUB_ROOT: &str = r#"{"current_user_url":"https://api.github.com/user","emojis_url":"https://api.github.com/emojis","events_url":"https://api.github.com/events"}"#;

/// The seed's function, fetching `{url}` instead of https://api.github.com.
const SEED_HANDLER: &str = r#"import requests

def lambda_handler(event, context):
    response = requests.get("{url}")
    return {
        'statusCode': 200,
        'body': response.json()
    }
"#;

/// Runs the demo, printing each step with its time.
pub fn run(global: &GlobalArgs, args: &DemoArgs) -> anyhow::Result<ExitCode> {
    let work = tempfile::Builder::new().prefix("lamina-demo-").tempdir()?;
    let started = Instant::now();
    let mut steps = Steps::default();

    let mut passed_over = None;
    let (server, endpoint) = steps.run("server", || {
        let health = health(&global.endpoint_url);
        let isolated = health
            .as_ref()
            .is_some_and(|h| h["functionNetwork"] == "isolated");
        if health.is_some() && !isolated {
            Ok((None, global.endpoint_url.clone()))
        } else {
            if isolated {
                passed_over = Some(global.endpoint_url.clone());
            }
            let server = LocalServer::start(&work.path().join("data"))?;
            let endpoint = server.url.clone();
            Ok((Some(server), endpoint))
        }
    })?;
    if let Some(running) = passed_over {
        println!(
            "      the server at {running} gives functions private networks, which cannot reach \
             the demo's stand-in on this machine's loopback"
        );
    }
    match &server {
        Some(_) => println!(
            "      started lamina serve at {endpoint} (temporary data dir, the host's network)"
        ),
        None => println!("      using the server at {endpoint}"),
    }
    let github = steps.run("stand-in for api.github.com", FakeGitHub::start)?;
    println!("      {}", github.url);

    let python = resolve_python(args.python.as_deref());
    let interpreter = pip::probe(&python).context("probing the Python for the layer build")?;
    let runtime = format!("python{}", interpreter.version);
    let layer_zip = work.path().join("layer.zip");
    let summary = steps.run("lamina layer build requests", || {
        let spec = BuildSpec {
            packages: vec!["requests".to_owned()],
            requirements: None,
            runtime: runtime.clone(),
            arch: Architecture::X86_64,
            layout: Layout::Python,
            python: python.clone(),
        };
        Ok(build_layer(&spec, &layer_zip, &mut |_| {})?)
    })?;
    println!(
        "      {} files, {} bytes zipped, CodeSha256 {}",
        summary.zip.files, summary.zipped_bytes, summary.code_sha256
    );

    let suffix = match server {
        Some(_) => String::new(),
        None => format!("-{}", &uuid_suffix()),
    };
    let (layer_name, function_name) = (
        format!("requests-layer{suffix}"),
        format!("my-function{suffix}"),
    );
    let code_dir = work.path().join("function");
    std::fs::create_dir(&code_dir)?;
    std::fs::write(
        code_dir.join("lambda_function.py"),
        SEED_HANDLER.replace("{url}", &format!("{}/", github.url)),
    )?;
    let code_zip = crate::zipdir::zip_dir(&code_dir)?;
    let layer_bytes = std::fs::read(&layer_zip)?;

    let demo_global = GlobalArgs {
        endpoint_url: endpoint.clone(),
        ..global.clone()
    };
    let response = crate::global::block_on(async {
        // The demo's own server knows only the key it was started with.
        let credentials = server.as_ref().map(|s| s.credentials.clone());
        let client = demo_global.client_with(credentials).await?;
        let layer = steps
            .run_async("lamina layer publish", async {
                client
                    .publish_layer_version()
                    .layer_name(&layer_name)
                    .content(
                        LayerVersionContentInput::builder()
                            .zip_file(Blob::new(layer_bytes))
                            .build(),
                    )
                    .compatible_runtimes(Runtime::from(runtime.as_str()))
                    .send()
                    .await
                    .api("PublishLayerVersion", &endpoint)
            })
            .await?;
        let layer_arn = layer.layer_version_arn().unwrap_or_default().to_owned();
        println!("      {layer_arn}");
        steps
            .run_async("lamina function create", async {
                client
                    .create_function()
                    .function_name(&function_name)
                    .runtime(Runtime::from(runtime.as_str()))
                    .handler("lambda_function.lambda_handler")
                    .role(DEFAULT_ROLE)
                    .code(
                        FunctionCode::builder()
                            .zip_file(Blob::new(code_zip))
                            .build(),
                    )
                    .send()
                    .await
                    .api("CreateFunction", &endpoint)
            })
            .await?;
        println!("      {function_name} ({runtime})");
        steps
            .run_async("lamina function add-layer", async {
                client
                    .update_function_configuration()
                    .function_name(&function_name)
                    .layers(&layer_arn)
                    .send()
                    .await
                    .api("UpdateFunctionConfiguration", &endpoint)
            })
            .await?;
        let invoked = steps
            .run_async("lamina invoke", async {
                client
                    .invoke()
                    .function_name(&function_name)
                    .send()
                    .await
                    .api("Invoke", &endpoint)
            })
            .await?;
        if invoked.function_error().is_some() {
            let payload = invoked.payload().map(|p| p.as_ref()).unwrap_or_default();
            bail!("the function failed: {}", String::from_utf8_lossy(payload));
        }
        Ok(invoked
            .payload()
            .map(|p| String::from_utf8_lossy(p.as_ref()).into_owned())
            .unwrap_or_default())
    })?;
    println!("      {response}");
    println!(
        "done in {:.2} s: the function imported requests from the layer at /opt/python",
        started.elapsed().as_secs_f64()
    );
    // A server the demo started stops when `server` drops, here or on any error above.
    drop(server);
    Ok(ExitCode::SUCCESS)
}

/// Numbers and times the steps.
#[derive(Default)]
struct Steps {
    done: usize,
}

impl Steps {
    fn start(&mut self, name: &str) -> Instant {
        self.done += 1;
        print!("[{}] {name} ... ", self.done);
        let _ = std::io::stdout().flush();
        Instant::now()
    }

    fn finish(at: Instant) {
        println!("{:.2} s", at.elapsed().as_secs_f64());
    }

    fn run<T>(
        &mut self,
        name: &str,
        step: impl FnOnce() -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let at = self.start(name);
        let result = step();
        Self::finish(at);
        result.with_context(|| format!("step {name:?} failed"))
    }

    async fn run_async<T>(
        &mut self,
        name: &str,
        step: impl std::future::Future<Output = anyhow::Result<T>>,
    ) -> anyhow::Result<T> {
        let at = self.start(name);
        let result = step.await;
        Self::finish(at);
        result.with_context(|| format!("step {name:?} failed"))
    }
}

fn uuid_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("{:08x}", nanos ^ std::process::id())
}

/// What the Lamina server at `endpoint` says of itself (`/_lamina/health`), if one answers
/// (`null` when its answer is not JSON).
fn health(endpoint: &str) -> Option<serde_json::Value> {
    let url = format!("{}/_lamina/health", endpoint.trim_end_matches('/'));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(2)))
        .build()
        .into();
    let mut response = agent.get(&url).call().ok()?;
    let text = response.body_mut().read_to_string().unwrap_or_default();
    Some(serde_json::from_str(&text).unwrap_or_default())
}

/// A `lamina serve` of this binary on a free port and a temporary data directory.
struct LocalServer {
    child: Child,
    url: String,
    /// The root key it was started with.
    credentials: aws_sdk_lambda::config::Credentials,
}

impl LocalServer {
    fn start(data_dir: &Path) -> anyhow::Result<Self> {
        let program = std::env::current_exe().context("locating the lamina executable")?;
        let log = data_dir.with_extension("log");
        std::fs::create_dir_all(data_dir)?;
        let (key, secret) = lamina_store::access_keys::generate_key_pair();
        let child = std::process::Command::new(program)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            // The stand-in for api.github.com is on this machine's loopback, out of a
            // private network's reach (see the module's doc).
            .args(["--function-network", "host"])
            // The seed's function does not import boto3: a throwaway data dir would install it
            // again at every run, unless a shared SDK directory is named.
            .args(
                std::env::var_os("LAMINA_RUNTIME_SDKS_DIR")
                    .is_none()
                    .then_some(["--runtime-sdks", "off"])
                    .into_iter()
                    .flatten(),
            )
            .env("LAMINA_ROOT_ACCESS_KEY_ID", &key)
            .env("LAMINA_ROOT_SECRET_ACCESS_KEY", &secret)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .context("starting lamina serve")?;
        let mut server = Self {
            child,
            url: String::new(),
            credentials: aws_sdk_lambda::config::Credentials::new(
                key,
                secret,
                None,
                None,
                "lamina-demo",
            ),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let address = text
                .lines()
                .find_map(|l| l.strip_prefix("lamina serve: http://"))
                .and_then(|rest| rest.split_whitespace().next());
            if let Some(address) = address {
                server.url = format!("http://{address}");
                if health(&server.url).is_some() {
                    return Ok(server);
                }
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                bail!("lamina serve exited ({status}):\n{text}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!(
            "lamina serve did not answer within 60 s; see {}",
            log.display()
        )
    }
}

impl Drop for LocalServer {
    /// SIGTERM, so the server ends its sandboxes, then wait.
    fn drop(&mut self) {
        if let Some(pid) = rustix::process::Pid::from_raw(self.child.id().cast_signed()) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let _ = self.child.wait();
    }
}

/// Answers every request with [`GITHUB_ROOT`], from a thread, until the process ends.
struct FakeGitHub {
    url: String,
}

impl FakeGitHub {
    fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let url = format!("http://{}", listener.local_addr()?);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(&stream);
                // The request line and headers, up to the blank line.
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let mut stream = reader.into_inner();
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{GITHUB_ROOT}",
                    GITHUB_ROOT.len()
                );
                let _ = stream.flush();
            }
        });
        Ok(Self { url })
    }
}

//! `lamina serve`: lock the data directory, clean what a crash left, serve the API.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use lamina_api::{AppState, AuthMode, ContentSigner};
use lamina_cli::DEFAULT_REGION;
use lamina_control::{FunctionService, LayerService};
use lamina_events::{EventQueue, LaminaRunner, QueueConfig, RetryPolicy};
use lamina_exec::interpreters::Interpreters;
use lamina_exec::launch::Isolation;
use lamina_exec::logs::LogLimits;
use lamina_exec::network::FunctionNetwork;
use lamina_exec::{ExecConfig, Executor};
use lamina_store::{AccessKeyFile, AccessKeyStore, EventStore, MetadataStore};
use lamina_types::limits::CONTENT_URL_TTL_SECS;
use lamina_types::node::LIVE_FOR_MS;
use lamina_types::{AccountId, NodeId, Region};

use crate::access_keys::KeyFileStore;
use crate::api_server::ClientTimeouts;
use crate::artifact_store::ArtifactsChoice;
use crate::prepare::{CompileLayers, ServerPreparer};
use crate::shared_key_cache::SharedKeyCache;
use crate::shutdown;
use tracing_subscriber::EnvFilter;

use crate::cluster_admissions::PgAdmissions;
use crate::data_dir::{DEFAULT_DATA_DIR, DataDir};
use crate::database::{Database, Stores};
use crate::function_network::{ChosenNetwork, NetworkChoice};

/// Options of `lamina serve`.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8900", env = "LAMINA_LISTEN")]
    listen: SocketAddr,
    /// Directory holding the database, ZIPs and extracted trees.
    #[arg(long, default_value = DEFAULT_DATA_DIR, env = "LAMINA_DATA_DIR")]
    data_dir: PathBuf,
    /// PostgreSQL for the metadata and the queued `Event` invocations
    /// (`postgres://user:password@host:port/database`), instead of SQLite in the data
    /// directory.
    #[arg(long, env = "LAMINA_DATABASE_URL", hide_env_values = true)]
    database: Option<String>,
    /// The URL the other nodes of a cluster reach this one at (`http://host:port`), to read
    /// its function logs; default `http://<listen address>`.
    #[arg(long, env = "LAMINA_ADVERTISE_URL")]
    advertise_url: Option<String>,
    /// Where ZIPs are stored: `local` (in the data directory) or `s3://bucket/prefix`, an
    /// S3-compatible store several nodes can share (credentials and region from the usual
    /// AWS variables). Extracted trees stay in the data directory either way.
    #[arg(long, default_value = "local", env = "LAMINA_ARTIFACTS")]
    artifacts: ArtifactsChoice,
    /// Most disk the extracted trees (and their bytecode) of this node may take, in MB: past
    /// it, the least recently used ones no environment uses are removed, and extracted again
    /// from their ZIP when next needed.
    #[arg(long, default_value_t = 10 * 1024)]
    tree_cache_mb: u64,
    /// The endpoint of an S3-compatible server for `--artifacts s3://...` (else
    /// AWS_ENDPOINT_URL_S3, else AWS). Plain `http://` only to a loopback address, or with
    /// AWS_ALLOW_HTTP=true.
    #[arg(long)]
    s3_endpoint: Option<String>,
    /// The default account: its root key, requests under `--auth none`, data from before
    /// accounts existed.
    #[arg(long, default_value = lamina_cli::DEFAULT_ACCOUNT_ID)]
    account_id: String,
    /// How API requests are authenticated: `sigv4` (AWS Signature Version 4 by a key of
    /// `<data>/access-keys.json`, whose secrets are encrypted under LAMINA_SECRETS_KEY, else
    /// `<data>/secrets.key`; the root key comes from LAMINA_ROOT_ACCESS_KEY_ID and
    /// LAMINA_ROOT_SECRET_ACCESS_KEY, else is generated at the first start and printed once),
    /// or `none` (any request is accepted, signed or not: only for throwaway local use).
    #[arg(long, value_enum, default_value_t = AuthChoice::Sigv4, env = "LAMINA_AUTH")]
    auth: AuthChoice,
    /// How long a `Content.Location` download URL stays valid, in seconds.
    #[arg(long, default_value_t = CONTENT_URL_TTL_SECS)]
    content_url_ttl_secs: u64,
    /// What `Content.Location` and `Code.Location` are: `lamina` (a signed download route of
    /// this server, which always works) or `s3` (presigned GET URLs of the S3 store, as AWS
    /// gives; needs `--artifacts s3://...` and a store endpoint the clients can reach).
    #[arg(long, value_enum, default_value_t = ContentUrls::Lamina)]
    content_urls: ContentUrls,
    /// How functions are isolated: `namespaces` (needs root and overlayfs), `none`, or
    /// `auto` (namespaces when possible, else none with a warning).
    #[arg(long, value_enum, default_value_t = IsolationChoice::Auto)]
    isolation: IsolationChoice,
    /// The network functions get: `isolated` (a network namespace per environment with
    /// only its own loopback, where its Runtime API is at 127.0.0.1:9001, and the outside
    /// through NAT; needs namespace isolation, `ip`, `nsenter` and `nft`), `host` (the
    /// host's network: functions reach every loopback service, the Lamina API included), or
    /// `auto` (isolated when the private network can be set up here, else host with a
    /// warning saying why).
    #[arg(long, value_enum, default_value_t = NetworkChoice::Auto)]
    function_network: NetworkChoice,
    /// Seconds an idle execution environment is kept warm.
    #[arg(long, default_value_t = 300)]
    idle_timeout_secs: u64,
    /// Most execution environments of one function version at once; beyond, invokes get 429.
    #[arg(long, default_value_t = 10)]
    max_environments_per_function: usize,
    /// Delay before the first retry of a failed asynchronous invoke, in seconds; the second
    /// retry waits twice as long (AWS: about one and two minutes).
    #[arg(long, default_value_t = 60.0)]
    async_retry_delay_secs: f64,
    /// Longest an asynchronous invoke is kept (and retried, throttled or failing) before it is
    /// discarded, in seconds (AWS's default: 6 hours).
    #[arg(long, default_value_t = lamina_events::DEFAULT_MAX_EVENT_AGE.as_secs())]
    max_event_age_secs: u64,
    /// Sandboxes kept ready in fresh cgroups, so cold starts skip the cgroup join (which
    /// can take 6-15 ms on cgroup v1). Used with namespace isolation and cgroups only.
    #[arg(long, default_value_t = 2)]
    standby_environments: usize,
    /// File descriptors kept free for the API's clients and the rest of the server: below
    /// that many, invokes that need a new environment get 429 (default: a quarter of the
    /// open-file limit, at most 4,096).
    #[arg(long)]
    fd_reserve: Option<u64>,
    /// At SIGTERM or SIGINT, how long in-flight invocations (synchronous and `Event`) get to
    /// finish, in seconds; those still running then are ended, and unfinished `Event`
    /// invocations stay queued for the next start.
    #[arg(long, default_value_t = 30)]
    shutdown_grace_secs: u64,
    /// Size at which a function's log file (`<data>/logs/<name>.log`) is rotated, in MB.
    #[arg(long, default_value_t = LogLimits::default().file_bytes >> 20)]
    function_log_file_mb: u64,
    /// Log files kept per function: the current one and the rotated ones (`<name>.log.1` is
    /// the newest of those); older output is dropped.
    #[arg(long, default_value_t = LogLimits::default().files)]
    function_log_files: u32,
    /// Most all function logs together may hold, in MB; beyond, the oldest files are removed.
    #[arg(long, default_value_t = LogLimits::default().total_bytes >> 20)]
    function_logs_total_mb: u64,
    /// Where the runtimes' AWS SDKs come from.
    #[command(flatten)]
    runtime_sdks: crate::runtime_sdks::SdkArgs,
    /// Test seam: preparations of created or updated functions wait until this file exists,
    /// so `Pending` and `InProgress` can be observed.
    #[arg(long, hide = true)]
    prepare_gate: Option<PathBuf>,
    /// How long a client connection may keep the server waiting.
    #[command(flatten)]
    client_timeouts: ClientTimeouts,
}

/// The `--auth` choices.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum AuthChoice {
    Sigv4,
    None,
}

/// The `--content-urls` choices.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ContentUrls {
    Lamina,
    S3,
}

/// The `--isolation` choices.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum IsolationChoice {
    Auto,
    Namespaces,
    None,
}

/// Namespaces need root (for mounts) and overlayfs (for `/opt`).
fn namespaces_possible() -> Result<(), String> {
    if !rustix::process::geteuid().is_root() {
        return Err("not running as root".into());
    }
    let filesystems = std::fs::read_to_string("/proc/filesystems").unwrap_or_default();
    if !filesystems
        .lines()
        .any(|l| l.trim_end().ends_with("overlay"))
    {
        return Err("the kernel has no overlayfs".into());
    }
    Ok(())
}

/// The isolation for `choice`, and why it is not namespaces when `auto` found them
/// impossible (`--function-network auto` says it too).
fn choose_isolation(choice: IsolationChoice) -> anyhow::Result<(Isolation, Option<String>)> {
    match (choice, namespaces_possible()) {
        (IsolationChoice::None, _) => Ok((Isolation::None, None)),
        (IsolationChoice::Namespaces | IsolationChoice::Auto, Ok(())) => {
            Ok((Isolation::Namespaces, None))
        }
        (IsolationChoice::Namespaces, Err(why)) => {
            bail!("--isolation namespaces is not possible here: {why}")
        }
        (IsolationChoice::Auto, Err(why)) => {
            tracing::warn!(
                reason = %why,
                "functions run WITHOUT isolation: no mount namespace, host paths are visible \
                 to function code; run as root on Linux with overlayfs for isolation"
            );
            Ok((Isolation::None, Some(why)))
        }
    }
}

/// Runs the server until SIGINT or SIGTERM.
/// `region` is the global `--region`: for the server, the region of unsigned requests (signed
/// ones use their credential scope); us-east-1 when not given.
pub fn run(args: ServeArgs, region: Option<&str>) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("LAMINA_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let Some(account) = AccountId::parse(&args.account_id) else {
        bail!("--account-id must be 12 digits, got {:?}", args.account_id);
    };
    if args.content_urls == ContentUrls::S3 && args.artifacts == ArtifactsChoice::Local {
        bail!("--content-urls s3 needs --artifacts s3://bucket/prefix: local ZIPs have no S3 URL");
    }
    let region = region.unwrap_or(DEFAULT_REGION);
    let Some(region) = Region::parse(region) else {
        bail!("--region is not an AWS region name: {region:?}");
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(serve(args, account, region))
}

async fn serve(args: ServeArgs, account: AccountId, region: Region) -> anyhow::Result<()> {
    // First, before anything touches the data dir: one server per data dir, and only
    // absolute paths from here on (the jail resolves paths from another working directory).
    let data_dir = DataDir::lock(&args.data_dir, args.listen)?;
    // Bound before the data dir is opened: a port in use stops the start before anything
    // (crash clean-up, the artifact sweep, standbys) touches the data dir or the host.
    let listener = listen(args.listen).with_context(|| format!("listening on {}", args.listen))?;
    // After the port: a start that cannot serve leaves the data dir as it found it.
    let node = data_dir.node_id()?;
    let local = listener.local_addr()?;
    let advertised = crate::node_registry::advertise_url(args.advertise_url.as_deref(), local)?;
    // Environments and clients hold descriptors in this process: one noisy function must not
    // exhaust a shell's default limit.
    let (before, after) = crate::fd_limit::raise_open_files();
    tracing::info!(?before, ?after, "open-file limit");
    let args = ServeArgs {
        data_dir: data_dir.path().to_owned(),
        ..args
    };
    if args.database.is_some() {
        lamina_store::PgStore::require_shared_secrets_key()
            .context("the nodes sharing a PostgreSQL database share their access keys")?;
    }
    let database = Database::open(args.database.as_deref(), &args.data_dir, &account).await?;
    let metadata = match &database {
        Database::Sqlite(store) => store as &dyn MetadataStore,
        Database::Postgres(store) => store as &dyn MetadataStore,
    };
    let artifacts =
        crate::artifact_store::open(&args.data_dir, &args.artifacts, args.s3_endpoint.clone())
            .await?
            .with_tree_bound(args.tree_cache_mb.saturating_mul(1 << 20));
    let referenced: HashSet<_> = metadata.referenced_digests().await?.into_iter().collect();
    let swept = artifacts
        .sweep(&referenced)
        .await
        .context("cleaning the artifact store")?;
    if swept != Default::default() {
        tracing::info!(?swept, "removed artifacts left by an earlier crash");
    }
    let measured = artifacts.clone();
    tokio::task::spawn_blocking(move || measured.load_tree_sizes())
        .await?
        .context("measuring the extracted trees")?;
    let candidate: Vec<u8> = [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()]
        .iter()
        .flat_map(|u| u.as_bytes().to_vec())
        .collect();
    let secret = metadata.server_secret(&candidate).await?;
    let (node_store, log_retention) = database.cluster_stores();
    crate::legacy_retention::import(&args.data_dir.join("logs"), log_retention.as_ref()).await?;
    let this_node =
        crate::node_registry::register(node_store.as_ref(), node.clone(), advertised).await?;
    // With SQLite the keys are the data directory's key file, as they always were; with
    // PostgreSQL they are a table every node shares, sealed under LAMINA_SECRETS_KEY, which
    // must then be set (and the same) on every node: see `PgStore::access_keys`.
    let key_file = AccessKeyFile::in_data_dir(&args.data_dir);
    let key_store: Arc<dyn AccessKeyStore> = match &database {
        Database::Sqlite(_) => Arc::new(key_file.clone()),
        Database::Postgres(store) => Arc::new(
            store
                .access_keys()
                .context("opening the access keys in PostgreSQL")?,
        ),
    };
    crate::access_keys::ensure_root_key(key_store.as_ref(), &account).await?;
    let auth = match (args.auth, &database) {
        (AuthChoice::Sigv4, Database::Sqlite(_)) => AuthMode::sigv4(Arc::new(
            KeyFileStore::open(key_file).context("reading the access keys")?,
        )),
        (AuthChoice::Sigv4, Database::Postgres(_)) => {
            AuthMode::sigv4(SharedKeyCache::start(key_store).await?)
        }
        (AuthChoice::None, _) => AuthMode::None,
    };
    let (isolation, no_namespaces) = choose_isolation(args.isolation)?;
    let runtime_dir = args.data_dir.join("runtime");
    let interpreters = Interpreters::discover();
    lamina_exec::runtime_files::install(&runtime_dir, &interpreters)
        .context("installing runtime files")?;
    let runtime_sdks = args.runtime_sdks.open(&args.data_dir)?;
    let config = ExecConfig {
        envs_dir: args.data_dir.join("envs"),
        views_dir: args.data_dir.join("views"),
        runtime_dir,
        logs_dir: args.data_dir.join("logs"),
        log_limits: LogLimits {
            file_bytes: args.function_log_file_mb.max(1).saturating_mul(1 << 20),
            files: args.function_log_files.max(1),
            total_bytes: args.function_logs_total_mb.max(1).saturating_mul(1 << 20),
        },
        isolation,
        // `start_on` takes it from the networks chosen below.
        network: FunctionNetwork::Host,
        interpreters,
        runtime_sdks,
        jail_program: std::env::current_exe().context("locating the lamina executable")?,
        max_environments_per_function: args.max_environments_per_function.max(1),
        idle_timeout: std::time::Duration::from_secs(args.idle_timeout_secs),
        standby_environments: args.standby_environments,
        descriptor_reserve: args
            .fd_reserve
            .unwrap_or_else(|| after.map_or(0, lamina_exec::descriptors::default_reserve)),
        seccomp: true,
        // Python trees are byte-compiled in the background, staged in the swept scratch.
        bytecode_scratch: Some(artifacts.scratch_root().to_owned()),
    };
    // Last before the executor, which owns the private networks from then on (and removes
    // them if it fails to start): nothing in between can fail and leave them on the host.
    let ChosenNetwork {
        networks,
        host_because,
    } = crate::function_network::choose_for(
        args.function_network,
        isolation,
        no_namespaces.as_deref(),
        &args.data_dir,
    )
    .await?;
    let executor = Executor::start_on(config, networks)
        .await
        .context("starting the executor")?;
    executor.set_tree_source(Arc::new(crate::tree_eviction::FetchTrees(
        artifacts.clone(),
    )));
    tokio::spawn(crate::tree_eviction::run(
        artifacts.clone(),
        executor.clone(),
    ));
    prepare_runtime_sdks(&database, &executor).await;
    let Stores {
        metadata,
        functions: function_store,
        events: event_store,
        postgres,
    } = database.into_stores();
    let cluster_store = postgres;
    if let Some(postgres) = &cluster_store {
        // A shared database means other nodes may run the same functions: the concurrency
        // limits are counted for the cluster.
        let admissions = PgAdmissions::start(Arc::clone(postgres), node.clone())
            .await
            .context("starting the cluster's concurrency count")?;
        executor.count_in_cluster(Arc::new(admissions));
    }
    let provisioning = crate::provisioning::Provisioning::new(executor.clone());
    let preparer = Arc::new(ServerPreparer {
        executor: executor.clone(),
        artifacts: artifacts.clone(),
        gate: args.prepare_gate.clone(),
    });
    let functions = Arc::new(
        FunctionService::new(Arc::clone(&function_store), artifacts.clone(), preparer)
            .with_provisioner(provisioning.clone()),
    );
    if let Some(postgres) = &cluster_store {
        crate::cluster_writes::start(Arc::clone(postgres), node.clone(), &functions).await?;
    }
    let events = start_events(&args, event_store, &functions, &executor, &node).await?;
    let mut content = ContentSigner::new(secret, args.content_url_ttl_secs);
    if args.content_urls == ContentUrls::S3 {
        content = content.presigned_by(Arc::clone(artifacts.blobs()));
    }
    let cluster = lamina_api::Cluster {
        node: this_node.clone(),
        nodes: Arc::clone(&node_store),
        log_retention,
        artifacts: artifacts.blobs().clone(),
        peer_token: lamina_api::cluster::PeerToken::derive(&content),
    };
    let state = Arc::new(AppState {
        layers: LayerService::new(metadata, artifacts)
            .with_published_hook(Arc::new(CompileLayers(executor.clone()))),
        functions,
        executor,
        events: events.clone(),
        content,
        default_region: region.clone(),
        default_account: account.clone(),
        auth,
        host_network_because: host_because.clone(),
        cluster,
    });
    let unfinished = state.functions.settle_unfinished().await?;
    if cluster_store.is_some() {
        tokio::spawn(settle_orphans(Arc::clone(&state.functions)));
    }
    // Configurations an earlier run left are provisioned again from here on.
    provisioning.start(Arc::clone(&state.functions), function_store);
    if unfinished > 0 {
        tracing::info!(
            versions = unfinished,
            "settling functions an earlier run left pending"
        );
    }
    let auth_mode = args.auth;
    if let Err(e) = data_dir.record_listen(local) {
        tracing::warn!(error = %e, "could not record the listen address in the lock file");
    }
    eprintln!(
        "lamina serve: http://{local}  data dir {}  account {account}  default region {region}  \
         node {node} ({})",
        args.data_dir.display(),
        this_node.url
    );
    if matches!(auth_mode, AuthChoice::None) {
        eprintln!(
            "lamina serve: WARNING: --auth none: requests are NOT authenticated; anyone who \
             can reach {local} can create, run and delete functions. Use only for throwaway \
             local experiments."
        );
        tracing::warn!(listen = %local, "authentication is off (--auth none)");
    }
    match isolation {
        Isolation::Namespaces => {
            let limits = match state.executor.cgroup_info() {
                (version, Some(path)) => format!("cgroup {version} limits under {path}"),
                _ => "NO cgroups: memory and process limits are not enforced".to_owned(),
            };
            eprintln!(
                "lamina serve: isolation: namespaces (mount, PID, IPC and UTS namespaces, \
                 minimal read-only root, unprivileged uid per environment, {limits})"
            )
        }
        Isolation::None => eprintln!(
            "lamina serve: isolation: NONE - functions run as plain processes that can see \
             the host; use root on Linux with overlayfs for isolation"
        ),
    }
    match host_because {
        None => eprintln!(
            "lamina serve: function network: isolated (a network namespace per environment: \
             its own loopback with the Runtime API at 127.0.0.1:9001, the outside through \
             NAT; {})",
            state.executor.network_description().unwrap_or_default()
        ),
        Some(because) => {
            eprintln!(
                "lamina serve: WARNING: function network: HOST ({because}) - functions share \
                 this machine's network and can reach every loopback service, the Lamina API \
                 on {local} included; a private network per environment (--function-network \
                 isolated) needs root, overlayfs, `ip`, `nsenter` and `nft`"
            );
            tracing::warn!(reason = %because, "functions share the host's network");
        }
    }
    let executor = state.executor.clone();
    let heartbeat = crate::node_registry::keep_alive(Arc::clone(&node_store), this_node.clone());
    events.run();
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let server = crate::api_server::serve(
        listener,
        lamina_api::router(state),
        args.client_timeouts.clone(),
        async {
            let _ = stopped.await;
        },
    );
    let grace = std::time::Duration::from_secs(args.shutdown_grace_secs);
    let served = shutdown::serve_until_signal(
        async {
            server.await;
            Ok(())
        },
        stop,
        grace,
        &events,
    )
    .await;
    // Also after a failure: what still runs is killed and nothing is left on the host.
    executor.shut_down().await;
    crate::node_registry::leave(heartbeat, node_store.as_ref(), &this_node).await;
    served.context("serving")
}

/// Installs, in the background, the AWS SDKs of the runtimes this server's functions use and
/// that its SDK directory lacks (after an upgrade that changed a pin, or a new directory), so
/// no invoke waits for them. New runtimes are prepared when their first function is created.
async fn prepare_runtime_sdks(store: &Database, executor: &Executor) {
    let runtimes = match store.runtimes_in_use().await {
        Ok(runtimes) => runtimes,
        Err(e) => {
            tracing::warn!(error = %e, "could not list the runtimes in use");
            return;
        }
    };
    let executor = executor.clone();
    tokio::spawn(async move {
        for name in runtimes {
            let Some(runtime) = lamina_types::Runtime::parse(&name) else {
                continue;
            };
            // Failures are logged by the install; the function's next create, update or
            // invoke tries again.
            let _ = executor.prepare_runtime_sdk(runtime).await;
        }
    });
}

/// How often a node of several looks for function versions whose settling a dead node left
/// unfinished.
const ORPHAN_SETTLE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Settles, now and then, what dead nodes left `Pending` or `InProgress`.
async fn settle_orphans(functions: Arc<FunctionService>) {
    let mut ticks = tokio::time::interval(ORPHAN_SETTLE_EVERY);
    // The first tick is now, and the start has just settled everything.
    ticks.tick().await;
    loop {
        ticks.tick().await;
        if let Err(e) = functions.settle_unfinished().await {
            tracing::debug!(error = %e.message(), "looking for unfinished settlings failed");
        }
    }
}

/// How often a node looks for the queued events of nodes that stopped: a killed node's
/// events run elsewhere within this much after it is no longer live.
const EVENT_CLAIM_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Opens the queue of `Event` invocations, with those this node held when it last stopped.
async fn start_events(
    args: &ServeArgs,
    store: Arc<dyn EventStore>,
    functions: &Arc<FunctionService>,
    executor: &Executor,
    node: &NodeId,
) -> anyhow::Result<EventQueue> {
    let first_retry = std::time::Duration::try_from_secs_f64(args.async_retry_delay_secs)
        .context("--async-retry-delay-secs must be a number of seconds, 0 or more")?;
    let mut retry = RetryPolicy::aws(first_retry);
    retry.max_event_age = std::time::Duration::from_secs(args.max_event_age_secs);
    let runner = Arc::new(LaminaRunner::new(Arc::clone(functions), executor.clone()));
    let config = QueueConfig {
        retry,
        max_running_per_function: executor.max_environments_per_function(),
        node: node.clone(),
        claim_every: EVENT_CLAIM_EVERY,
        node_live_for: std::time::Duration::from_millis(LIVE_FOR_MS.unsigned_abs()),
    };
    EventQueue::open(store, runner, config)
        .await
        .context("reading the queued Event invocations")
}

/// Most connections waiting in the kernel for the API to accept them. The usual 128 makes a
/// burst of new clients (a load test, a deploy tool's parallel calls) wait a second for the
/// SYN to be sent again.
const LISTEN_BACKLOG: u32 = 1024;

fn listen(address: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = match address {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(LISTEN_BACKLOG)
}

//! `lamina serve`: open the data directory, clean what a crash left, serve the API.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use axum::serve::ListenerExt;
use lamina_api::{AppState, ContentSigner};
use lamina_control::{FunctionService, LayerService};
use lamina_store::{FunctionStore, LocalArtifacts, MetadataStore, SqliteStore};
use lamina_types::limits::CONTENT_URL_TTL_SECS;
use lamina_types::{AccountId, Region};
use tracing_subscriber::EnvFilter;

/// Options of `lamina serve`.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8900", env = "LAMINA_LISTEN")]
    listen: SocketAddr,
    /// Directory holding the database, ZIPs and extracted trees.
    #[arg(long, default_value = "./.lamina", env = "LAMINA_DATA_DIR")]
    data_dir: PathBuf,
    /// Account id used in every ARN.
    #[arg(long, default_value = "123456789012")]
    account_id: String,
    /// Region of unsigned requests (signed ones use their credential scope).
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// How long a `Content.Location` download URL stays valid, in seconds.
    #[arg(long, default_value_t = CONTENT_URL_TTL_SECS)]
    content_url_ttl_secs: u64,
}

/// Runs the server until SIGINT or SIGTERM.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
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
    let Some(region) = Region::parse(&args.region) else {
        bail!("--region is not an AWS region name: {:?}", args.region);
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(serve(args, account, region))
}

async fn serve(args: ServeArgs, account: AccountId, region: Region) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating data dir {}", args.data_dir.display()))?;
    let metadata = SqliteStore::open(&args.data_dir.join("lamina.db"))
        .await
        .context("opening the metadata database")?;
    let artifacts = LocalArtifacts::open(&args.data_dir).context("opening the artifact store")?;
    let referenced: HashSet<_> = metadata.referenced_digests().await?.into_iter().collect();
    let swept = artifacts
        .sweep(&referenced)
        .context("cleaning the artifact store")?;
    if swept != Default::default() {
        tracing::info!(?swept, "removed artifacts left by an earlier crash");
    }
    let candidate: Vec<u8> = [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()]
        .iter()
        .flat_map(|u| u.as_bytes().to_vec())
        .collect();
    let secret = metadata.server_secret(&candidate).await?;
    let store = Arc::new(metadata);
    let metadata: Arc<dyn MetadataStore> = store.clone();
    let function_store: Arc<dyn FunctionStore> = store;
    let state = Arc::new(AppState {
        layers: LayerService::new(metadata, artifacts.clone(), account.clone()),
        functions: FunctionService::new(function_store, artifacts, account.clone()),
        content: ContentSigner::new(secret, args.content_url_ttl_secs),
        default_region: region.clone(),
    });
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let local = listener.local_addr()?;
    eprintln!(
        "lamina serve: http://{local}  data dir {}  account {account}  default region {region}",
        args.data_dir.display()
    );
    eprintln!("lamina serve: functions are not served yet; isolation: none");
    let listener = listener.tap_io(|tcp| {
        // Small JSON responses must not wait on Nagle's algorithm.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "could not set TCP_NODELAY");
        }
    });
    axum::serve(listener, lamina_api::router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving")?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

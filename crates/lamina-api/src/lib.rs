//! The AWS Lambda REST API over HTTP: routing, request parsing into control-plane commands,
//! AWS-shaped responses and errors, SigV4 authentication, and content downloads.
//!
//! No business rule lives here: every decision is the control plane's.

pub mod auth;
mod body;
mod body_limit;
pub mod cluster;
mod console;
pub mod content;
mod error;
mod eventstream;
mod function_urls;
mod request_context;
mod routes;
pub mod sigv4;
mod streamed_invoke;

use std::sync::Arc;

use axum::Router;
use lamina_control::{FunctionService, LayerService};
use lamina_types::{AccountId, Region};

pub use auth::AuthMode;
pub use cluster::Cluster;
pub use content::ContentSigner;
pub use error::ApiError;
pub use sigv4::{Caller, Credential, CredentialStore};

/// What every handler shares.
pub struct AppState {
    /// The layer operations.
    pub layers: LayerService,
    /// The function, version, alias and account operations, and resolution for Invoke.
    pub functions: Arc<FunctionService>,
    /// Runs functions.
    pub executor: lamina_exec::Executor,
    /// The durable queue of `Event` invocations.
    pub events: lamina_events::EventQueue,
    /// Signs and checks `Content.Location` URLs.
    pub content: ContentSigner,
    /// Region of unsigned requests.
    pub default_region: Region,
    /// Account of requests without a verified key (`--auth none`): the server's own.
    pub default_account: AccountId,
    /// How requests are authenticated.
    pub auth: AuthMode,
    /// Why functions share the host's network, when they do: `--function-network host`, or
    /// what `auto` found missing (health shows it).
    pub host_network_because: Option<String>,
    /// This node's cluster: its registry, shared settings and peers (a single node's is a
    /// cluster of one).
    pub cluster: Cluster,
}

/// The whole HTTP surface of `lamina serve`.
pub fn router(state: Arc<AppState>) -> Router {
    routes::router(state)
}

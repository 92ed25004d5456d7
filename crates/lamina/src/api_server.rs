//! The API's HTTP/1 server: axum's router on hyper connections that a slow or stuck client
//! cannot hold forever.
//!
//! `axum::serve` has no timeouts, and hyper's own header timeout also covers the idle time
//! before a request; so each connection here gets a watchdog that closes it when the client
//! keeps the server waiting too long:
//! - an idle keep-alive connection (or a new one that sends nothing), after the idle timeout;
//! - headers begun but not finished, after the header timeout from their first byte;
//! - a request body the handler is waiting for, after the body timeout without progress or
//!   below the minimum rate ([`timed_body::TimedBody`]);
//! - a response the client does not take, after the body timeout without progress.
//!
//! A request being handled has no deadline here: an invoke may rightly take 15 minutes.
//! Graceful shutdown is axum's, except that a connection without a request in flight (idle,
//! or with headers half sent) is closed at once: stop accepting, let each request in flight
//! finish, then return once every connection is closed.

mod activity;
pub mod client_timeouts;
mod progress_io;
mod timed_body;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;
use tower::ServiceExt;

use activity::{Activity, InFlight};
pub use client_timeouts::ClientTimeouts;
use progress_io::ProgressIo;
use timed_body::{TimedBody, TrackedBody};

/// How long accepting pauses after an error such as running out of file descriptors, so the
/// loop does not spin while connections close.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_secs(1);

/// Serves `router` on `listener` until `shutdown` resolves, then waits for every open
/// connection to finish its request and close.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    timeouts: ClientTimeouts,
    shutdown: impl Future<Output = ()>,
) {
    // Connections hold a receiver of each channel: `stop` tells them to finish, and
    // `open.closed()` resolves once the last one has gone.
    let (stop_tx, stop_rx) = watch::channel(false);
    let (open_tx, open_rx) = watch::channel(());
    let timeouts = Arc::new(timeouts);
    let mut shutdown = pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        match accepted {
            Ok((tcp, peer)) => {
                let connection = serve_connection(
                    tcp,
                    peer,
                    router.clone(),
                    Arc::clone(&timeouts),
                    stop_rx.clone(),
                );
                let open = open_rx.clone();
                tokio::spawn(async move {
                    connection.await;
                    drop(open);
                });
            }
            Err(e) if is_connection_error(&e) => {}
            Err(e) => {
                tracing::error!(error = %e, "accepting a connection failed");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
            }
        }
    }
    drop(listener);
    drop(open_rx);
    let _ = stop_tx.send(true);
    open_tx.closed().await;
}

/// Errors of one connection that says nothing about the listener.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Serves one client until it closes, its watchdog expires, or shutdown lets it finish.
async fn serve_connection(
    tcp: TcpStream,
    peer: SocketAddr,
    router: Router,
    timeouts: Arc<ClientTimeouts>,
    mut stop: watch::Receiver<bool>,
) {
    // Small JSON responses must not wait on Nagle's algorithm.
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::warn!(error = %e, "could not set TCP_NODELAY");
    }
    let activity = Arc::new(Activity::new(Instant::now()));
    let io = TokioIo::new(ProgressIo::new(tcp, Arc::clone(&activity)));
    let service = {
        let activity = Arc::clone(&activity);
        let timeouts = Arc::clone(&timeouts);
        hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let in_flight = InFlight::start(Arc::clone(&activity));
            let mut request = request.map(|body| Body::new(TimedBody::new(body, &timeouts)));
            // The client's address: a function URL's event carries it (`sourceIp`).
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
            let router = router.clone();
            async move {
                let response = router.oneshot(request).await?;
                Ok::<_, std::convert::Infallible>(
                    response.map(|body| Body::new(TrackedBody::new(body, in_flight))),
                )
            }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    // The watchdog times headers itself; hyper's timer would also count idle time.
    builder.header_read_timeout(None);
    let mut connection = pin!(builder.serve_connection(io, service));
    let mut stopping = false;
    loop {
        let deadline = activity.deadline(&timeouts);
        let expires = async {
            match deadline {
                Some((at, _)) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "client connection ended with an error");
                }
                return;
            }
            () = expires => {
                // A change may have moved the deadline since; only a passed one closes.
                if let Some((at, why)) = activity.deadline(&timeouts)
                    && at <= Instant::now()
                {
                    tracing::debug!(%peer, reason = ?why, "closing a slow client connection");
                    return;
                }
            }
            () = activity.changed() => {}
            _ = stop.changed(), if !stopping => {
                // Headers begun are not a request yet: only one in flight is finished.
                if !activity.has_request_in_flight() {
                    return;
                }
                stopping = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}

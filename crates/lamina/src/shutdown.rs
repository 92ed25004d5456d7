//! How `lamina serve` stops: on SIGINT or SIGTERM it stops accepting, gives in-flight
//! invocations (synchronous calls and running `Event` invocations alike) one grace period to
//! finish, then leaves the rest to the executor's shutdown, which kills them and removes every
//! environment's cgroup, mount and scratch directory.

use std::future::{Future, IntoFuture};
use std::time::Duration;

use lamina_events::EventQueue;

/// Serves with `server` until SIGINT or SIGTERM, then tells it to stop (through `stop`, its
/// graceful-shutdown trigger) and waits up to `grace` for its in-flight requests while the
/// `Event` queue stops within the same `grace` (what it cuts short stays queued). Requests
/// still in flight then are dropped: their invocations run on in the executor, which ends
/// them at its own shutdown.
pub async fn serve_until_signal<S>(
    server: S,
    stop: tokio::sync::oneshot::Sender<()>,
    grace: Duration,
    events: &EventQueue,
) -> std::io::Result<()>
where
    S: IntoFuture<Output = std::io::Result<()>>,
{
    let server = server.into_future();
    tokio::pin!(server);
    let ended_early = tokio::select! {
        served = &mut server => Some(served),
        () = signal() => None,
    };
    if let Some(served) = ended_early {
        events.shut_down(grace).await;
        return served;
    }
    tracing::info!(
        grace_secs = grace.as_secs_f64(),
        "shutting down: in-flight invocations get the grace period to finish"
    );
    let _ = stop.send(());
    let (served, ()) = tokio::join!(finish_within(grace, &mut server), events.shut_down(grace));
    served
}

/// Waits up to `grace` for `server`'s in-flight requests.
async fn finish_within(
    grace: Duration,
    server: impl Future<Output = std::io::Result<()>>,
) -> std::io::Result<()> {
    match tokio::time::timeout(grace, server).await {
        Ok(served) => served,
        Err(_) => {
            tracing::warn!("requests still in flight after the grace period are ended");
            Ok(())
        }
    }
}

/// SIGINT or SIGTERM.
async fn signal() {
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

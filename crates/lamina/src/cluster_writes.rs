//! Keeps the nodes' resolve caches right when several share a PostgreSQL store: each write of
//! a function here is told to the others (`NOTIFY`), and each write told by another makes this
//! node forget what it resolved of that function. When the listening connection is cut,
//! notices may have been missed: everything resolved is forgotten.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use lamina_control::FunctionService;
use lamina_control::functions::WriteFeed;
use lamina_store::PgStore;
use lamina_store::postgres::{FunctionWritten, Heard, WriteListener};
use lamina_types::{AccountId, NodeId, Region, Scope};
use tokio::sync::mpsc;

/// Starts telling and hearing writes. Fails when the feed cannot be listened to.
pub(crate) async fn start(
    store: Arc<PgStore>,
    node: NodeId,
    functions: &Arc<FunctionService>,
) -> anyhow::Result<()> {
    let listener = store
        .listen_to_function_writes()
        .await
        .context("listening to the other nodes' function writes")?;
    let (sender, told) = mpsc::unbounded_channel();
    functions.feed_writes_to(Arc::new(Feed {
        node: node.clone(),
        sender,
    }));
    tokio::spawn(tell(Arc::clone(&store), told));
    tokio::spawn(hear(listener, node, Arc::clone(functions)));
    Ok(())
}

/// Queues each write for [`tell`]: the write paths call it without waiting.
struct Feed {
    node: NodeId,
    sender: mpsc::UnboundedSender<FunctionWritten>,
}

impl WriteFeed for Feed {
    fn written(&self, scope: &Scope, function: Option<&str>) {
        let _ = self.sender.send(FunctionWritten {
            node: self.node.clone(),
            account: scope.account.as_str().to_owned(),
            region: scope.region.as_str().to_owned(),
            function: function.map(str::to_owned),
        });
    }
}

/// Tells the other nodes of each write, in order.
async fn tell(store: Arc<PgStore>, mut told: mpsc::UnboundedReceiver<FunctionWritten>) {
    while let Some(written) = told.recv().await {
        if let Err(e) = store.notify_function_written(&written).await {
            // The write itself went to the same database a moment ago; the other nodes'
            // caches stay stale for this function until its next write or their reconnect.
            tracing::warn!(error = %e, function = ?written.function, "telling the other nodes of a function write failed");
        }
    }
}

/// Forgets what another node wrote.
async fn hear(mut listener: WriteListener, node: NodeId, functions: Arc<FunctionService>) {
    loop {
        match listener.next().await {
            Ok(Heard::Written(written)) if written.node != node => {
                match (
                    AccountId::parse(&written.account),
                    Region::parse(&written.region),
                ) {
                    (Some(account), Some(region)) => functions
                        .forget_resolved(&Scope::new(account, region), written.function.as_deref()),
                    _ => functions.forget_all_resolved(),
                }
            }
            Ok(Heard::Written(_) | Heard::Other) => {}
            Ok(Heard::Cut) => {
                tracing::warn!(
                    "the other nodes' function writes were not heard for a while: forgetting \
                     every resolved function"
                );
                functions.forget_all_resolved();
            }
            Err(e) => {
                tracing::debug!(error = %e, "listening to the other nodes' function writes failed; trying again");
                functions.forget_all_resolved();
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

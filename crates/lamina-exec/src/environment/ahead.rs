//! Init run ahead of any invoke, for provisioned concurrency: the runtime starts, runs its
//! Init and waits in `next` for an event that comes later. Its first invoke is then a warm
//! one, and its REPORT has no `Init Duration`, as on AWS.

use std::time::Instant;

use super::{Environment, INIT_TIMEOUT};

impl Environment {
    /// Waits until the runtime has finished its Init (it asks for its first event) and every
    /// extension is ready, within [`INIT_TIMEOUT`]. The error says why Init failed (an init
    /// error's type, the runtime's exit, an extension's failure, the timeout).
    pub async fn initialize_ahead(&mut self) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + INIT_TIMEOUT;
        let mut init = self.link.init_watch();
        let ran = tokio::select! {
            changed = init.wait_for(Option::is_some) => match changed {
                Ok(state) => state.clone().unwrap_or(Ok(())),
                Err(_) => Err("the Runtime API of the environment ended".to_owned()),
            },
            status = self.process.wait() => Err(match status {
                Ok(status) => format!("the runtime exited during Init ({status})"),
                Err(e) => format!("the runtime could not be waited for: {e}"),
            }),
            () = tokio::time::sleep_until(deadline) => {
                Err(format!("Init did not finish within {} s", INIT_TIMEOUT.as_secs()))
            }
        };
        ran.map_err(|why| format!("Init failed: {why}"))?;
        if self.has_extensions() {
            match tokio::time::timeout_at(deadline, self.link.extensions().wait_ready()).await {
                Ok(Ok(())) => {}
                Ok(Err(failure)) => {
                    return Err(format!(
                        "Init failed: {}: {}",
                        failure.error_type, failure.detail
                    ));
                }
                Err(_) => return Err("the extensions did not finish their Init in time".into()),
            }
        }
        self.log_extensions_ready();
        self.initialized = Some(Instant::now());
        Ok(())
    }
}

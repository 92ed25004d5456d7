//! The extensions' own output: the jail makes their standard output and error a FIFO of the
//! environment's scratch directory (see `JailPlan::extension_output`), read here as the
//! runtime's pipe is (same log, same invocation tail), so their lines reach Telemetry API
//! subscribers as `extension` records rather than `function` ones.

use std::path::Path;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

use crate::logs::{InvocationLog, LogSink};
use crate::output::{self, Flush};
use crate::runtime_api::telemetry::Tap;

/// The reader of an environment's extension FIFO.
pub(crate) struct ExtensionOutput {
    flush: mpsc::Sender<Flush>,
    reader: tokio::task::JoinHandle<()>,
}

impl ExtensionOutput {
    /// Makes the FIFO at `path` (replacing what a previous environment of the same scratch
    /// left) and starts reading it. It is opened for reading and writing, so it never reads
    /// as ended while no extension has it open, and the jail's open for writing never
    /// waits.
    pub(crate) fn start(
        path: &Path,
        tail: Arc<Mutex<InvocationLog>>,
        sink: LogSink,
        tap: Tap,
    ) -> std::io::Result<Self> {
        let _ = std::fs::remove_file(path);
        rustix::fs::mknodat(
            rustix::fs::CWD,
            path,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )?;
        let pipe = tokio::net::unix::pipe::OpenOptions::new()
            .read_write(true)
            .open_receiver(path)?;
        let (flush, requests) = mpsc::channel(1);
        let reader = tokio::spawn(output::read_output(pipe, tail, requests, sink, Some(tap)));
        Ok(Self { flush, reader })
    }

    /// Logs what the extensions wrote so far; with `last`, stops reading after it.
    pub(crate) async fn flush(&self, last: bool) {
        let (done, answered) = oneshot::channel();
        if self.flush.send(Flush { done, last }).await.is_ok() {
            let _ = answered.await;
        }
    }
}

impl Drop for ExtensionOutput {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

//! Delivery to one subscriber: records are batched (by `maxItems`, `maxBytes`, `timeoutMs`)
//! and each batch is POSTed as a JSON array to the extension's listener inside the
//! environment. A failed batch is retried a few times with a growing pause, then dropped
//! with a warning in the server's log (and a `platform.logsDropped` record in the next
//! batch); nothing here ever holds up an invocation. While the environment is frozen nothing
//! is sent (its listener could not answer): a batch due then goes once it is thawed.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use super::event::{Body, Event};
use super::subscription::{Api, Buffering, Destination};

/// Tries per batch before it is dropped.
pub const ATTEMPTS: u32 = 5;
/// The pause after the first failed try; doubled after each further one.
const FIRST_PAUSE: Duration = Duration::from_millis(50);
/// Longest one try may take (connecting, sending, reading the status line).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// Most bytes of records queued for a subscriber beyond its batch, in units of its
/// `maxBytes`: a subscriber that falls behind loses records instead of filling memory.
const QUEUE_BATCHES: usize = 4;

/// How Lamina reaches listeners inside an environment: through its own network namespace
/// (a socket made there, on a short-lived thread), or the host's loopback.
#[derive(Clone, Default)]
pub struct Connector {
    namespace: Option<Arc<OwnedFd>>,
}

impl Connector {
    /// Connects in the network namespace `namespace` opens, or on the host's loopback.
    pub fn new(namespace: Option<OwnedFd>) -> Self {
        Self {
            namespace: namespace.map(Arc::new),
        }
    }

    /// A connection to `port` on the environment's loopback, blocking (call it off the
    /// async workers).
    fn connect(&self, port: u16) -> std::io::Result<TcpStream> {
        let address = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port));
        let Some(namespace) = &self.namespace else {
            return TcpStream::connect_timeout(&address, ATTEMPT_TIMEOUT);
        };
        // A socket belongs to the network namespace of the thread that made it: a thread of
        // its own joins the environment's, makes the connection and ends.
        let namespace = Arc::clone(namespace);
        std::thread::Builder::new()
            .name("lamina-telemetry".into())
            .spawn(move || {
                rustix::thread::move_into_link_name_space(
                    namespace.as_fd(),
                    Some(rustix::thread::LinkNameSpaceType::Network),
                )?;
                TcpStream::connect_timeout(&address, ATTEMPT_TIMEOUT)
            })?
            .join()
            .map_err(|_| std::io::Error::other("the telemetry connection thread panicked"))?
    }
}

/// POSTs `body` (a JSON array) to `destination`; `Ok` on a 2xx answer. Blocking.
fn post(connector: &Connector, destination: &Destination, body: &[u8]) -> Result<(), String> {
    let mut stream = connector
        .connect(destination.port)
        .map_err(|e| format!("connecting to {} failed: {e}", destination.uri))?;
    let _ = stream.set_read_timeout(Some(ATTEMPT_TIMEOUT));
    let _ = stream.set_write_timeout(Some(ATTEMPT_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let head = format!(
        "{} {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        destination.method,
        destination.path,
        destination.authority,
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body))
        .map_err(|e| format!("sending to {} failed: {e}", destination.uri))?;
    // The status line is all that is read: `HTTP/1.1 200 OK`.
    let mut answer = Vec::with_capacity(256);
    let mut buf = [0u8; 256];
    while !answer.contains(&b'\n') && answer.len() < 4096 {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(format!(
                    "reading the answer of {} failed: {e}",
                    destination.uri
                ));
            }
        }
    }
    let status = std::str::from_utf8(&answer)
        .ok()
        .and_then(|text| text.split_whitespace().nth(1))
        .and_then(|code| code.parse::<u16>().ok());
    match status {
        Some(code) if (200..300).contains(&code) => Ok(()),
        Some(code) => Err(format!("{} answered {code}", destination.uri)),
        None => Err(format!("{} gave no HTTP answer", destination.uri)),
    }
}

/// What a subscriber's task is sent.
pub enum Message {
    /// A record, rendered for this subscriber.
    Record(Vec<u8>),
    /// Send what is batched now; answered after the first try (later tries go on in the
    /// background, so a broken listener holds nobody up for long).
    Flush(oneshot::Sender<()>),
}

/// The sending side of one subscriber.
pub struct Sender {
    messages: mpsc::UnboundedSender<Message>,
    /// Bytes queued and not yet taken into a batch.
    queued: Arc<AtomicUsize>,
    /// Most bytes that may be queued.
    limit: usize,
    /// Records refused because the queue was full, and their bytes, not yet reported.
    dropped: Arc<std::sync::Mutex<(u64, u64)>>,
}

impl Sender {
    /// Queues a record; refused (and counted as dropped) when the subscriber is too far
    /// behind.
    pub fn record(&self, record: Vec<u8>) {
        let bytes = record.len();
        if self.queued.load(Ordering::Relaxed) + bytes > self.limit {
            let mut dropped = self
                .dropped
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            dropped.0 += 1;
            dropped.1 += bytes as u64;
            return;
        }
        self.queued.fetch_add(bytes, Ordering::Relaxed);
        if self.messages.send(Message::Record(record)).is_err() {
            self.queued.fetch_sub(bytes, Ordering::Relaxed);
        }
    }

    /// Asks for what is batched to be sent; the answer comes after the first try.
    pub fn flush(&self) -> oneshot::Receiver<()> {
        let (done, answered) = oneshot::channel();
        let _ = self.messages.send(Message::Flush(done));
        answered
    }
}

/// Everything a subscriber's task needs.
pub struct Delivery {
    /// The extension's name, for the server log.
    pub name: String,
    /// The batching.
    pub buffering: Buffering,
    /// The listener.
    pub destination: Destination,
    /// How to reach it.
    pub connector: Connector,
    /// Whether the environment is frozen.
    pub frozen: watch::Receiver<bool>,
    /// The API and schema `platform.logsDropped` is rendered for, when the subscriber gets
    /// platform events.
    pub dropped_as: Option<(Api, String)>,
}

/// Starts a subscriber's task; it ends when the returned [`Sender`] is dropped, after
/// sending what it still holds.
pub fn start(delivery: Delivery) -> Sender {
    let (messages, inbox) = mpsc::unbounded_channel();
    let queued = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(std::sync::Mutex::new((0, 0)));
    let sender = Sender {
        messages,
        queued: Arc::clone(&queued),
        limit: delivery.buffering.max_bytes * QUEUE_BATCHES,
        dropped: Arc::clone(&dropped),
    };
    tokio::spawn(run(delivery, inbox, queued, dropped));
    sender
}

/// Records gathered for one POST.
#[derive(Default)]
pub struct Batch {
    records: Vec<Vec<u8>>,
    bytes: usize,
}

impl Batch {
    /// Adds a record.
    pub fn push(&mut self, record: Vec<u8>) {
        self.bytes += record.len();
        self.records.push(record);
    }

    /// Whether it is due by size.
    pub fn full(&self, buffering: &Buffering) -> bool {
        self.records.len() >= buffering.max_items || self.bytes >= buffering.max_bytes
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The records as one JSON array, emptying the batch.
    pub fn take_body(&mut self) -> (Vec<u8>, usize) {
        let mut body = Vec::with_capacity(self.bytes + self.records.len() + 2);
        body.push(b'[');
        for (i, record) in self.records.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(record);
        }
        body.push(b']');
        let count = self.records.len();
        self.records.clear();
        self.bytes = 0;
        (body, count)
    }
}

async fn run(
    mut delivery: Delivery,
    mut inbox: mpsc::UnboundedReceiver<Message>,
    queued: Arc<AtomicUsize>,
    dropped: Arc<std::sync::Mutex<(u64, u64)>>,
) {
    let mut batch = Batch::default();
    let mut due: Option<tokio::time::Instant> = None;
    loop {
        let message = tokio::select! {
            message = inbox.recv() => message,
            () = sleep_until(due) => {
                send(&mut delivery, &mut batch, &dropped, None).await;
                due = None;
                continue;
            }
        };
        match message {
            Some(Message::Record(record)) => {
                queued.fetch_sub(record.len(), Ordering::Relaxed);
                if batch.is_empty() {
                    due = Some(tokio::time::Instant::now() + delivery.buffering.timeout);
                }
                batch.push(record);
                if batch.full(&delivery.buffering) {
                    send(&mut delivery, &mut batch, &dropped, None).await;
                    due = None;
                }
            }
            Some(Message::Flush(done)) => {
                send(&mut delivery, &mut batch, &dropped, Some(done)).await;
                due = None;
            }
            None => {
                // The environment ended: what is left goes now, if the listener still is.
                send(&mut delivery, &mut batch, &dropped, None).await;
                return;
            }
        }
    }
}

async fn sleep_until(due: Option<tokio::time::Instant>) {
    match due {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Sends the batch (with a `platform.logsDropped` record first when records were dropped),
/// retrying; gives it up after [`ATTEMPTS`] tries. `flushed` is answered after the first.
async fn send(
    delivery: &mut Delivery,
    batch: &mut Batch,
    dropped: &std::sync::Mutex<(u64, u64)>,
    mut flushed: Option<oneshot::Sender<()>>,
) {
    let lost = std::mem::take(
        &mut *dropped
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    if lost.0 > 0 {
        let event = Event::now(Body::LogsDropped {
            records: lost.0,
            bytes: lost.1,
        });
        let record =
            (delivery.dropped_as.as_ref()).and_then(|(api, schema)| event.render(*api, schema));
        if let Some(record) = record {
            let mut with_notice = Batch::default();
            with_notice.push(record);
            for record in batch.records.drain(..) {
                with_notice.push(record);
            }
            *batch = with_notice;
        }
    }
    if batch.is_empty() {
        if let Some(flushed) = flushed {
            let _ = flushed.send(());
        }
        return;
    }
    let (body, count) = batch.take_body();
    let body = Arc::new(body);
    let mut pause = FIRST_PAUSE;
    let mut last_error = String::new();
    for attempt in 1..=ATTEMPTS {
        // Nothing is sent to a frozen environment; the batch waits for the thaw.
        if delivery.frozen.wait_for(|frozen| !frozen).await.is_err() {
            break;
        }
        let connector = delivery.connector.clone();
        let destination = delivery.destination.clone();
        let sending = Arc::clone(&body);
        let result = tokio::task::spawn_blocking(move || post(&connector, &destination, &sending))
            .await
            .unwrap_or_else(|e| Err(format!("the delivery task failed: {e}")));
        if let Some(flushed) = flushed.take() {
            let _ = flushed.send(());
        }
        match result {
            Ok(()) => return,
            Err(e) => last_error = e,
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(pause).await;
            pause *= 2;
        }
    }
    tracing::warn!(
        extension = %delivery.name,
        records = count,
        error = %last_error,
        "telemetry batch dropped after {ATTEMPTS} tries"
    );
    let mut dropped = dropped
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    dropped.0 += count as u64;
    dropped.1 += body.len() as u64;
}

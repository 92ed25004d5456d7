//! The reader of a runtime's merged stdout and stderr. Output goes to the function log as it
//! comes (cut into log events) and only the current invocation's last 4 KB is kept, so an
//! environment costs the server a bounded amount of memory whatever its function prints.

use std::io::ErrorKind;
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::net::unix::pipe::Receiver;
use tokio::sync::{mpsc, oneshot};

use crate::event_splitter::EventSplitter;
use crate::logs::{InvocationLog, LogSink, now_stamp, push_line};
use crate::runtime_api::telemetry::Tap;

/// Bytes read from the pipe at once.
const READ_CHUNK_BYTES: usize = 64 * 1024;
/// Log lines gathered before they are written to the file: the bounded buffer towards it.
const BATCH_BYTES: usize = 256 * 1024;
/// What a flush reads when the pipe cannot say how much it holds: Linux's largest pipe an
/// unprivileged process may ask for (`/proc/sys/fs/pipe-max-size`).
const FALLBACK_PIPE_BYTES: usize = 1 << 20;
/// The line logged when a runtime still writes as its environment ends.
pub const DROPPED_MARKER: &str = "[lamina] the runtime was still writing when its environment \
                                  ended; the rest of its output is dropped";

/// A request to the reader: log everything the runtime wrote before it, then answer.
pub struct Flush {
    /// Answered when done.
    pub done: oneshot::Sender<()>,
    /// The environment is ending: after this flush, output is no longer read (the runtime
    /// gets a broken pipe) and what it still writes is dropped, with [`DROPPED_MARKER`].
    pub last: bool,
}

/// How a drain of the pipe ended.
#[derive(Debug, PartialEq, Eq)]
enum Drained {
    /// The bytes asked for were read.
    Done,
    /// The pipe had less, and nothing more to read for now.
    Empty,
    /// Every writer closed the pipe.
    Closed,
}

/// Reads `pipe` until every writer closes it, or until a last flush. Output goes to `sink`
/// as log events and to `tail`. A flush is answered once the bytes the pipe held when it
/// came are read (at most one pipe's worth), so a runtime that never stops writing cannot
/// hold it up, and output without newlines is cut into events as it comes.
pub async fn read_output(
    pipe: Receiver,
    tail: Arc<Mutex<InvocationLog>>,
    mut flushes: mpsc::Receiver<Flush>,
    sink: LogSink,
    tap: Option<Tap>,
) {
    let mut buf = vec![0u8; READ_CHUNK_BYTES];
    let mut log = OutputLog {
        events: EventSplitter::default(),
        batch: Vec::new(),
        tail,
        sink,
        tap,
    };
    loop {
        tokio::select! {
            // Flushes first: a pipe that is always readable must not starve them.
            biased;
            flush = flushes.recv() => {
                // No sender: the environment is gone.
                let Some(flush) = flush else { break };
                let pending = unread(&pipe).unwrap_or(FALLBACK_PIPE_BYTES);
                let drained = flush_output(&pipe, &mut buf, &mut log, pending, flush.last);
                let _ = flush.done.send(());
                if flush.last {
                    return;
                }
                if drained == Drained::Closed {
                    break;
                }
            }
            ready = pipe.readable() => {
                // One chunk at a time, so a flush never waits behind a long burst. Read
                // through tokio, which learns of an empty pipe and waits for the next write.
                let budget = buf.len();
                let read = |buf: &mut [u8]| pipe.try_read(buf);
                if ready.is_err() || drain(read, &mut buf, &mut log, budget) == Drained::Closed {
                    break;
                }
            }
        }
    }
    log.end_line();
    tracing::debug!(output_bytes = log.events.scanned(), "runtime output closed");
}

/// Logs the `pending` bytes the pipe held when a flush was asked for, then the unfinished
/// line. On a `last` flush, output written since is dropped and marked.
fn flush_output(
    pipe: &Receiver,
    buf: &mut [u8],
    log: &mut OutputLog,
    pending: usize,
    last: bool,
) -> Drained {
    // Read the fd itself: tokio's `try_read` answers "would block" until its reactor has seen
    // the pipe become readable, which may not have happened yet.
    let read = |buf: &mut [u8]| rustix::io::read(pipe.as_fd(), buf).map_err(std::io::Error::from);
    let drained = drain(read, buf, log, pending);
    log.end_line();
    if last && drained == Drained::Done && unread(pipe).is_none_or(|n| n > 0) {
        log.marker(DROPPED_MARKER);
    }
    drained
}

/// Reads up to `budget` bytes with `read`, fewer when the pipe runs empty or closes.
fn drain(
    mut read: impl FnMut(&mut [u8]) -> std::io::Result<usize>,
    buf: &mut [u8],
    log: &mut OutputLog,
    budget: usize,
) -> Drained {
    let mut left = budget;
    while left > 0 {
        let want = left.min(buf.len());
        match read(&mut buf[..want]) {
            Ok(0) => return Drained::Closed,
            Ok(n) => {
                log.take(&buf[..n]);
                left -= n;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Drained::Empty,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return Drained::Closed,
        }
    }
    Drained::Done
}

/// The bytes the pipe holds unread.
fn unread(pipe: &Receiver) -> Option<usize> {
    rustix::io::ioctl_fionread(pipe.as_fd())
        .ok()
        .and_then(|n| usize::try_from(n).ok())
}

/// Where the output read goes.
struct OutputLog {
    events: EventSplitter,
    /// Log lines not yet written, at most [`BATCH_BYTES`] plus one event.
    batch: Vec<u8>,
    tail: Arc<Mutex<InvocationLog>>,
    sink: LogSink,
    /// The telemetry each line also goes to.
    tap: Option<Tap>,
}

impl OutputLog {
    /// Takes a chunk of output: its complete lines are logged (stamped with the time they
    /// were read) and it is added to the tail.
    fn take(&mut self, chunk: &[u8]) {
        self.tail
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_raw(chunk);
        let stamp = now_stamp();
        let Self {
            events,
            batch,
            sink,
            tap,
            ..
        } = self;
        events.feed(chunk, |event| {
            push_line(batch, &stamp, sink.stream(), event);
            if let Some(tap) = tap {
                tap.line(event);
            }
            if batch.len() >= BATCH_BYTES {
                sink.write(batch);
                batch.clear();
            }
        });
        self.write_batch();
    }

    /// Logs the unfinished line, if any, as a line of its own.
    fn end_line(&mut self) {
        let Self {
            events,
            batch,
            tap,
            sink,
            ..
        } = self;
        let stamp = now_stamp();
        events.finish(|event| {
            push_line(batch, &stamp, sink.stream(), event);
            if let Some(tap) = tap {
                tap.line(event);
            }
        });
        self.write_batch();
    }

    /// Logs a line of Lamina's own, also in the tail.
    fn marker(&mut self, line: &str) {
        self.sink.line(line);
        self.tail
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(line);
    }

    fn write_batch(&mut self) {
        self.sink.write(&self.batch);
        self.batch.clear();
        // A burst of short lines can grow the batch far past its usual size; give it back.
        if self.batch.capacity() > 2 * BATCH_BYTES {
            self.batch = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::os::fd::OwnedFd;
    use std::path::Path;
    use std::time::Duration;

    use base64::Engine;

    use super::*;
    use crate::event_splitter::MAX_EVENT_BYTES;
    use crate::logs::{LogLimits, LogStore, TAIL_BYTES, log_path};

    struct Reader {
        flushes: mpsc::Sender<Flush>,
        tail: Arc<Mutex<InvocationLog>>,
        task: tokio::task::JoinHandle<()>,
    }

    fn pipe_and_sink(dir: &Path) -> (Receiver, std::io::PipeWriter, LogSink) {
        let (reader, writer) = std::io::pipe().unwrap();
        let pipe = Receiver::from_owned_fd(OwnedFd::from(reader)).unwrap();
        let sink = LogStore::open(dir, LogLimits::default()).unwrap().sink("f");
        (pipe, writer, sink)
    }

    fn start(dir: &Path) -> (Reader, std::io::PipeWriter) {
        let (pipe, writer, sink) = pipe_and_sink(dir);
        let tail = Arc::new(Mutex::new(InvocationLog::default()));
        let (flushes, requests) = mpsc::channel(1);
        let task = tokio::spawn(read_output(pipe, Arc::clone(&tail), requests, sink, None));
        let reader = Reader {
            flushes,
            tail,
            task,
        };
        (reader, writer)
    }

    async fn flush(reader: &Reader, last: bool) {
        let (done, answered) = oneshot::channel();
        reader.flushes.send(Flush { done, last }).await.unwrap();
        tokio::time::timeout(Duration::from_secs(30), answered)
            .await
            .expect("the flush is answered")
            .unwrap();
    }

    fn logged(dir: &Path) -> Vec<String> {
        std::fs::read_to_string(log_path(dir, "f"))
            .unwrap_or_default()
            .lines()
            .map(|l| crate::logs::parse_line(l).text.to_owned())
            .collect()
    }

    #[tokio::test]
    async fn a_flush_logs_what_was_written_before_it_with_the_unfinished_line() {
        let dir = tempfile::tempdir().unwrap();
        let (reader, mut writer) = start(dir.path());
        writer.write_all(b"one\ntwo\nunfinished").unwrap();

        flush(&reader, false).await;

        assert_eq!(logged(dir.path()), ["one", "two", "unfinished"]);
        writer.write_all(b" more\n").unwrap();
        flush(&reader, false).await;
        assert_eq!(logged(dir.path())[3], " more");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn flushes_are_answered_while_the_runtime_never_stops_writing() {
        let dir = tempfile::tempdir().unwrap();
        let (reader, mut writer) = start(dir.path());
        // Writes without a newline until the pipe breaks; says when 1 MB is written.
        let (one_mb, written) = std::sync::mpsc::channel();
        let writing = std::thread::spawn(move || {
            let chunk = vec![b'x'; 16 * 1024];
            for _ in 0..64 {
                writer.write_all(&chunk).unwrap();
            }
            one_mb.send(()).unwrap();
            while writer.write_all(&chunk).is_ok() {}
        });
        tokio::task::spawn_blocking(move || written.recv().unwrap())
            .await
            .unwrap();

        flush(&reader, false).await;
        flush(&reader, true).await;

        tokio::time::timeout(Duration::from_secs(30), reader.task)
            .await
            .expect("the reader ends after a last flush")
            .unwrap();
        // The reader closed the pipe: the writer broke off.
        tokio::task::spawn_blocking(move || writing.join().unwrap())
            .await
            .unwrap();
        // At least 1 MB less the pipe's 64 KB was read: 3 full events or more.
        let lines = logged(dir.path());
        let output: Vec<&String> = lines.iter().filter(|l| *l != DROPPED_MARKER).collect();
        assert!(output.iter().all(|l| l.len() <= MAX_EVENT_BYTES));
        assert!(output.iter().filter(|l| l.len() == MAX_EVENT_BYTES).count() >= 3);
        assert!(output.iter().flat_map(|l| l.bytes()).all(|b| b == b'x'));
    }

    #[tokio::test]
    async fn a_last_flush_logs_what_came_before_it_and_marks_what_it_drops() {
        let dir = tempfile::tempdir().unwrap();
        let (pipe, mut writer, sink) = pipe_and_sink(dir.path());
        let tail = Arc::new(Mutex::new(InvocationLog::default()));
        let mut log = OutputLog {
            events: EventSplitter::default(),
            batch: Vec::new(),
            tail: Arc::clone(&tail),
            sink,
            tap: None,
        };
        let mut buf = vec![0u8; READ_CHUNK_BYTES];
        // "before" was in the pipe when the flush came, "after" arrived since.
        writer.write_all(b"before\nafter\n").unwrap();

        let drained = flush_output(&pipe, &mut buf, &mut log, 7, true);

        assert_eq!(drained, Drained::Done);
        assert_eq!(logged(dir.path()), ["before", DROPPED_MARKER]);
        let tail = base64::engine::general_purpose::STANDARD
            .decode(tail.lock().unwrap().tail_base64())
            .unwrap();
        assert_eq!(tail, format!("before\n{DROPPED_MARKER}\n").as_bytes());
    }

    #[tokio::test]
    async fn a_last_flush_of_an_emptied_pipe_drops_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (reader, mut writer) = start(dir.path());
        writer.write_all(b"all of it\n").unwrap();

        flush(&reader, true).await;

        assert_eq!(logged(dir.path()), ["all of it"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_tail_holds_the_last_4k_of_much_output() {
        let dir = tempfile::tempdir().unwrap();
        let (reader, mut writer) = start(dir.path());
        let writer = tokio::task::spawn_blocking(move || {
            for i in 0..20_000 {
                writeln!(writer, "line {i:05}").unwrap();
            }
            writer
        })
        .await
        .unwrap();

        flush(&reader, false).await;

        let tail = base64::engine::general_purpose::STANDARD
            .decode(reader.tail.lock().unwrap().tail_base64())
            .unwrap();
        assert_eq!(tail.len(), TAIL_BYTES);
        assert!(tail.ends_with(b"line 19999\n"));
        assert_eq!(logged(dir.path()).len(), 20_000);
        drop(writer);
    }
}

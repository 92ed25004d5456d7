//! The function log files on disk: each function's file is rotated at a size cap, and all of
//! them together are kept under a total, so neither one function nor many fill the server's
//! disk with logs.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, TryLockError};
use std::time::SystemTime;

use lamina_types::timestamp;

use crate::logs::{LogLimits, log_path, push_line, rotated_log_path};

/// The function logs of one server (`<data>/logs`) and the bytes they hold together.
pub struct LogStore {
    dir: PathBuf,
    limits: LogLimits,
    /// Bytes in all log files: scanned at start and at each pruning, counted in between.
    total: AtomicU64,
    /// Counts prunings, so a sink knows when its file may have been emptied or removed.
    prunings: AtomicU64,
    /// Held while pruning; a writer that finds it held leaves the pruning to its holder.
    pruning: Mutex<()>,
}

impl LogStore {
    /// The store over `dir` (created), counting the bytes its files already hold; pruned at
    /// once when they exceed the total.
    pub fn open(dir: &Path, limits: LogLimits) -> std::io::Result<Arc<Self>> {
        fs::create_dir_all(dir)?;
        let store = Arc::new(Self {
            dir: dir.to_owned(),
            limits: LogLimits {
                files: limits.files.max(1),
                ..limits
            },
            total: AtomicU64::new(0),
            prunings: AtomicU64::new(0),
            pruning: Mutex::new(()),
        });
        store.charge(scan(dir).iter().map(|f| f.bytes).sum());
        Ok(store)
    }

    /// The log of `function_name`; its file is opened at the first write.
    /// Its lines belong to no log stream until [`LogSink::with_stream`] names one, and are
    /// text until [`LogSink::with_json`].
    pub fn sink(self: &Arc<Self>, function_name: &str) -> LogSink {
        LogSink {
            inner: Arc::new(Sink {
                store: Arc::clone(self),
                function_name: function_name.to_owned(),
                log: Mutex::default(),
            }),
            stream: Arc::from(""),
            json: None,
        }
    }

    /// The directory of the logs.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Counts bytes removed outside the sinks (by a retention policy).
    pub fn forget(&self, bytes: u64) {
        self.credit(bytes);
    }

    /// Counts bytes written; prunes when the logs hold more than their total.
    fn charge(&self, bytes: u64) {
        let total = self
            .total
            .fetch_add(bytes, Ordering::Relaxed)
            .saturating_add(bytes);
        if total > self.limits.total_bytes {
            self.prune();
        }
    }

    /// Counts bytes removed by a rotation.
    fn credit(&self, bytes: u64) {
        let _ = self
            .total
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| {
                Some(t.saturating_sub(bytes))
            });
    }

    /// Removes the oldest log files (empties, for a function's current file) until the logs
    /// hold three quarters of their total, so pruning is rare however busy the functions.
    fn prune(&self) {
        let _pruning = match self.pruning.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(guard)) => guard.into_inner(),
            Err(TryLockError::WouldBlock) => return,
        };
        let mut files = scan(&self.dir);
        files.sort_by_key(|f| f.modified);
        let mut total: u64 = files.iter().map(|f| f.bytes).sum();
        let target = self.limits.total_bytes / 4 * 3;
        for file in files {
            if total <= target {
                break;
            }
            // A current file stays: its sink holds it open (in append mode, so after the
            // truncation its next line lands at the start).
            let freed = if file.current {
                OpenOptions::new()
                    .write(true)
                    .open(&file.path)
                    .and_then(|f| f.set_len(0))
            } else {
                fs::remove_file(&file.path)
            };
            match freed {
                Ok(()) => total = total.saturating_sub(file.bytes),
                Err(e) => tracing::warn!(path = %file.path.display(), error = %e,
                    "could not free a function log"),
            }
        }
        self.total.store(total, Ordering::Relaxed);
        self.prunings.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            kept_bytes = total,
            limit_bytes = self.limits.total_bytes,
            "function logs reached their total; the oldest were removed"
        );
    }
}

/// One log file found in the logs directory.
struct FoundLog {
    path: PathBuf,
    bytes: u64,
    modified: SystemTime,
    /// A function's current file (`<name>.log`), rather than a rotated one.
    current: bool,
}

/// The function log files in `dir`: `<name>.log` and `<name>.log.<n>`.
fn scan(dir: &Path) -> Vec<FoundLog> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name();
            let name = name.to_str()?;
            let current = name.ends_with(".log");
            let rotated = name
                .rsplit_once(".log.")
                .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            let meta = entry.metadata().ok().filter(|m| m.is_file())?;
            (current || rotated).then(|| FoundLog {
                path: entry.path(),
                bytes: meta.len(),
                modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                current,
            })
        })
        .collect()
}

/// Where a function's log lines go: its current file, rotated when full, each line marked with
/// the log stream of the environment that wrote it. Cheap to clone.
#[derive(Clone)]
pub struct LogSink {
    inner: Arc<Sink>,
    /// The log stream its lines belong to (empty: none, for Lamina's own notes).
    stream: Arc<str>,
    /// The function's `LogFormat` is `JSON`: the platform lines are written as AWS's JSON
    /// records, those below its `SystemLogLevel` left out.
    json: Option<crate::log_format::PlatformLevel>,
}

struct Sink {
    store: Arc<LogStore>,
    function_name: String,
    log: Mutex<OpenLog>,
}

/// A function's current log file, as its sink holds it.
#[derive(Default)]
struct OpenLog {
    file: Option<File>,
    /// Its size.
    bytes: u64,
    /// The store's pruning count when it was opened.
    prunings: u64,
}

impl LogSink {
    /// The same log, its lines marked as written by the environment of log stream `stream`.
    pub fn with_stream(&self, stream: &str) -> Self {
        Self {
            stream: Arc::from(stream),
            ..self.clone()
        }
    }

    /// The same log, its platform lines as AWS's JSON records at `json`'s level, when given.
    pub fn with_json(&self, json: Option<crate::log_format::PlatformLevel>) -> Self {
        Self {
            json,
            ..self.clone()
        }
    }

    /// The log stream its lines belong to (empty for none).
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// Appends one line of the platform (START, END, REPORT, Lamina's notes), prefixed with
    /// its UTC timestamp.
    pub fn line(&self, text: &str) {
        self.lines(&[text]);
    }

    /// Appends platform lines with one timestamp, in one write. With the JSON format, the
    /// ones AWS writes as records (START, END, REPORT) become those records, or are left out
    /// below the function's `SystemLogLevel`.
    pub fn lines(&self, texts: &[&str]) {
        let millis = timestamp::now_millis();
        let stamp = timestamp::format_millis(millis);
        let mut out = Vec::with_capacity(texts.iter().map(|t| stamp.len() + t.len() + 80).sum());
        for text in texts {
            let text = text.trim_end_matches('\n');
            let record = self.json.and_then(|level| {
                crate::log_format::platform_record(text, millis).map(|r| (level, r))
            });
            let text = match &record {
                Some((level, _)) if !level.writes_info() => continue,
                Some((_, record)) => record.as_str(),
                None => text,
            };
            push_line(&mut out, &stamp, &self.stream, text.as_bytes());
        }
        self.write(&out);
    }

    /// Appends log lines formatted by [`push_line`] in one write. The file is rotated first
    /// when they would take it past its cap (so it passes the cap only by a single write
    /// larger than the cap). Write errors lose the lines: logging never fails an invoke.
    pub fn write(&self, lines: &[u8]) {
        if lines.is_empty() {
            return;
        }
        let store = &self.inner.store;
        let path = log_path(&store.dir, &self.inner.function_name);
        let mut log = self
            .inner
            .log
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let prunings = store.prunings.load(Ordering::Relaxed);
        if log.prunings != prunings {
            // Pruning may have emptied the file: learn its size again.
            log.file = None;
        }
        if log.file.is_none() {
            log.open(&path, prunings);
        }
        let size = lines.len() as u64;
        if log.bytes > 0 && log.bytes.saturating_add(size) > store.limits.file_bytes {
            self.rotate(&mut log);
            log.open(&path, prunings);
        }
        let Some(file) = log.file.as_mut() else {
            return;
        };
        if file.write_all(lines).is_ok() {
            log.bytes += size;
            drop(log);
            store.charge(size);
        }
    }

    /// Shifts the rotated files up by one (dropping the oldest) and the current file to
    /// `.log.1`; with one file per function, the current file is dropped.
    fn rotate(&self, log: &mut OpenLog) {
        let (store, name) = (&self.inner.store, self.inner.function_name.as_str());
        let files = store.limits.files;
        log.file = None;
        let current = log_path(&store.dir, name);
        if files <= 1 {
            // Emptied in place rather than removed, so the log never goes missing.
            if let Ok(meta) = fs::metadata(&current)
                && fs::File::create(&current).is_ok()
            {
                store.credit(meta.len());
            }
            return;
        }
        // Each file moves up one place by a rename over the next, the oldest first. A rename
        // replaces its target atomically, so a reader listing the files (`lamina logs`)
        // always finds the log under some name: the oldest is never removed on its own.
        let oldest = rotated_log_path(&store.dir, name, files - 1);
        let oldest_bytes = fs::metadata(&oldest).map_or(0, |m| m.len());
        let moves = (1..files - 1)
            .rev()
            .map(|n| {
                (
                    rotated_log_path(&store.dir, name, n),
                    rotated_log_path(&store.dir, name, n + 1),
                )
            })
            .chain([(current, rotated_log_path(&store.dir, name, 1))]);
        for (i, (from, to)) in moves.enumerate() {
            match fs::rename(&from, &to) {
                // The first move replaced the oldest file.
                Ok(()) if i == 0 => store.credit(oldest_bytes),
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(function = name, error = %e, "could not rotate the function log");
                }
            }
        }
    }
}

impl OpenLog {
    fn open(&mut self, path: &Path, prunings: u64) {
        if let Some(parent) = path.parent() {
            let _ = fs::create_dir_all(parent);
        }
        self.file = OpenOptions::new().create(true).append(true).open(path).ok();
        self.bytes = self
            .file
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .map_or(0, |m| m.len());
        self.prunings = prunings;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::log_files;

    fn limits(file_bytes: u64, files: u32, total_bytes: u64) -> LogLimits {
        LogLimits {
            file_bytes,
            files,
            total_bytes,
        }
    }

    fn texts_of(dir: &Path, name: &str) -> Vec<String> {
        log_files(dir, name)
            .iter()
            .flat_map(|path| {
                let text = fs::read_to_string(path).unwrap();
                text.lines()
                    .map(|l| crate::logs::parse_line(l).text.to_owned())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn sink_appends_stamped_lines() {
        let dir = tempfile::tempdir().unwrap();
        let sink = LogStore::open(dir.path(), LogLimits::default())
            .unwrap()
            .sink("f");
        sink.line("START RequestId: x");
        sink.lines(&["hello\n", "END"]);
        let text = fs::read_to_string(log_path(dir.path(), "f")).unwrap();
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].ends_with("+0000\t\tSTART RequestId: x"));
        assert!(lines[1].ends_with("\thello"));
    }

    #[test]
    fn a_full_log_rotates_and_keeps_its_newest_files() {
        let dir = tempfile::tempdir().unwrap();
        let sink = LogStore::open(dir.path(), limits(1000, 3, 1 << 20))
            .unwrap()
            .sink("f");
        for i in 0..500 {
            sink.line(&format!("line {i:03}"));
        }
        let files = log_files(dir.path(), "f");
        assert_eq!(files.len(), 3);
        assert!(!rotated_log_path(dir.path(), "f", 3).exists());
        assert!(files.iter().all(|f| fs::metadata(f).unwrap().len() <= 1000));
        let texts = texts_of(dir.path(), "f");
        let expected: Vec<String> = (500 - texts.len()..500)
            .map(|i| format!("line {i:03}"))
            .collect();
        assert_eq!(texts, expected);
        assert!(texts.len() > 2 * 1000 / 40, "{} lines kept", texts.len());
    }

    #[test]
    fn a_reader_always_finds_the_log_while_it_rotates() {
        let dir = tempfile::tempdir().unwrap();
        let sink = LogStore::open(dir.path(), limits(64, 2, 1 << 20))
            .unwrap()
            .sink("f");
        sink.line("first");
        let done = std::sync::atomic::AtomicBool::new(false);
        let empty_listings = std::thread::scope(|scope| {
            let reader = scope.spawn(|| {
                let mut empty = 0;
                while !done.load(Ordering::Relaxed) {
                    empty += usize::from(log_files(dir.path(), "f").is_empty());
                }
                empty
            });
            // Each line is over half the file size: every other line rotates.
            for i in 0..1500 {
                sink.line(&format!("line {i:04} {}", "x".repeat(24)));
            }
            done.store(true, Ordering::Relaxed);
            reader.join().unwrap()
        });
        assert_eq!(empty_listings, 0);
    }

    #[test]
    fn with_one_file_the_log_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let sink = LogStore::open(dir.path(), limits(1000, 1, 1 << 20))
            .unwrap()
            .sink("f");
        for i in 0..100 {
            sink.line(&format!("line {i:03}"));
        }
        assert_eq!(log_files(dir.path(), "f"), [log_path(dir.path(), "f")]);
        let texts = texts_of(dir.path(), "f");
        assert_eq!(texts.last().unwrap(), "line 099");
        assert!(fs::metadata(log_path(dir.path(), "f")).unwrap().len() <= 1000);
    }

    #[test]
    fn all_logs_together_stay_under_their_total() {
        let dir = tempfile::tempdir().unwrap();
        let store = LogStore::open(dir.path(), limits(10_000, 2, 4000)).unwrap();
        let sinks: Vec<LogSink> = (0..20).map(|i| store.sink(&format!("f{i}"))).collect();
        for round in 0..10 {
            for sink in &sinks {
                sink.line(&format!("round {round} {}", "x".repeat(20)));
                let held: u64 = scan(dir.path()).iter().map(|f| f.bytes).sum();
                assert!(held <= 4000, "{held} bytes held");
            }
        }
        // An emptied current file keeps taking lines.
        assert_eq!(
            texts_of(dir.path(), "f19").last().unwrap(),
            &format!("round 9 {}", "x".repeat(20))
        );
    }

    #[test]
    fn logs_already_on_disk_count_towards_the_total() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(rotated_log_path(dir.path(), "old", 1), vec![b'x'; 3000]).unwrap();
        fs::write(dir.path().join("notes.txt"), vec![b'x'; 3000]).unwrap();
        let _store = LogStore::open(dir.path(), limits(10_000, 2, 2000)).unwrap();
        assert!(!rotated_log_path(dir.path(), "old", 1).exists());
        assert!(dir.path().join("notes.txt").exists());
    }
}

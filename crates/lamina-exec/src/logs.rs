//! Function logs: one file per function (rotated at a size cap, see [`LogLimits`]) in the text
//! form CloudWatch shows, plus the per-invocation tail that `LogType: Tail` returns.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use lamina_types::timestamp;

pub use crate::log_store::{LogSink, LogStore};

/// How much of an invocation's log `X-Amz-Log-Result` carries.
pub const TAIL_BYTES: usize = 4096;

/// Bounds on the function logs on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLimits {
    /// Size at which a function's log file is rotated, in bytes.
    pub file_bytes: u64,
    /// Files kept per function: the current one and `files - 1` rotated ones (at least 1;
    /// with 1 the file starts over when full).
    pub files: u32,
    /// Most bytes all function logs together may hold; beyond, the oldest files are removed
    /// (or emptied, for a function's current file) until they hold three quarters of it.
    pub total_bytes: u64,
}

impl Default for LogLimits {
    /// 10 MB per file, 2 files per function, 512 MB in all: a small disk stays safe.
    fn default() -> Self {
        Self {
            file_bytes: 10 << 20,
            files: 2,
            total_bytes: 512 << 20,
        }
    }
}

/// The name of a function's log: the account and the function name, so two accounts' functions
/// of the same name never share one. Neither holds a `.` of its own.
pub fn log_name(account: &str, function_name: &str) -> String {
    format!("{account}.{function_name}")
}

/// The current log file of a function (`name` from [`log_name`]).
pub fn log_path(logs_dir: &Path, function_name: &str) -> PathBuf {
    logs_dir.join(format!("{function_name}.log"))
}

/// The `n`th rotated log file of a function (1 is the newest). Function names cannot hold a
/// `.`, so these never clash with another function's log.
pub fn rotated_log_path(logs_dir: &Path, function_name: &str, n: u32) -> PathBuf {
    logs_dir.join(format!("{function_name}.log.{n}"))
}

/// The log files of a function that exist, oldest first: the rotated ones, then the
/// current one.
pub fn log_files(logs_dir: &Path, function_name: &str) -> Vec<PathBuf> {
    // The current file is looked for first: a rotation renames it over `.log.1`, so
    // whenever a rotation happens during the listing, one of the two looks finds the log;
    // except the first rotation, which makes `.log.1` only after it was looked for: then the
    // log is listed again (a rotation only happens after many writes, so this ends).
    let current = log_path(logs_dir, function_name);
    loop {
        let had_current = current.is_file();
        let mut files: Vec<PathBuf> = (1..)
            .map(|n| rotated_log_path(logs_dir, function_name, n))
            .take_while(|path| path.is_file())
            .collect();
        files.reverse();
        if had_current && current.is_file() {
            files.push(current);
            return files;
        }
        if !files.is_empty() || !had_current {
            return files;
        }
    }
}

/// The timestamp of a log line written now (UTC, milliseconds).
pub fn now_stamp() -> String {
    timestamp::format_millis(timestamp::now_millis())
}

/// Appends one log line as the file holds it: the UTC timestamp, a tab, the log stream (empty
/// for Lamina's notes outside any environment), a tab, the text, a newline. Invalid UTF-8 in
/// `text` is replaced.
pub fn push_line(out: &mut Vec<u8>, stamp: &str, stream: &str, text: &[u8]) {
    out.extend_from_slice(stamp.as_bytes());
    out.push(b'\t');
    out.extend_from_slice(stream.as_bytes());
    out.push(b'\t');
    match String::from_utf8_lossy(text) {
        std::borrow::Cow::Borrowed(valid) => out.extend_from_slice(valid.as_bytes()),
        std::borrow::Cow::Owned(fixed) => out.extend_from_slice(fixed.as_bytes()),
    }
    out.push(b'\n');
}

/// One line of a log file, as [`push_line`] wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLine<'a> {
    /// The UTC timestamp (`2018-11-14T23:03:52.894+0000`).
    pub stamp: &'a str,
    /// The log stream (empty for none).
    pub stream: &'a str,
    /// The text.
    pub text: &'a str,
}

/// Splits a log file's line (without its newline). A line of the older form without a stream
/// (`stamp`, tab, text: files written before streams were kept) has an empty stream; so has a
/// line without any tab, whose whole is its text.
pub fn parse_line(line: &str) -> LogLine<'_> {
    let Some((stamp, rest)) = line.split_once('\t') else {
        return LogLine {
            stamp: "",
            stream: "",
            text: line,
        };
    };
    match rest.split_once('\t') {
        Some((stream, text)) if stream.is_empty() || is_stream_name(stream) => LogLine {
            stamp,
            stream,
            text,
        },
        _ => LogLine {
            stamp,
            stream: "",
            text: rest,
        },
    }
}

/// Log file text as people read it: each line its timestamp, a tab and its text (the stream
/// left out). A line cut at either end of `text` is passed through as it parses.
pub fn without_streams(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for piece in text.split_inclusive('\n') {
        let (line, newline) = match piece.strip_suffix('\n') {
            Some(line) => (line, "\n"),
            None => (piece, ""),
        };
        let parsed = parse_line(line);
        if parsed.stamp.is_empty() {
            out.push_str(line);
        } else {
            out.push_str(parsed.stamp);
            out.push('\t');
            out.push_str(parsed.text);
        }
        out.push_str(newline);
    }
    out
}

/// Whether `name` is a log stream name as Lamina makes them ([`stream_name`]).
pub fn is_stream_name(name: &str) -> bool {
    let b = name.as_bytes();
    let Some(close) = name.rfind(']') else {
        return false;
    };
    let id = &name[close + 1..];
    b.len() > 12
        && b[..10].iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'/',
            _ => c.is_ascii_digit(),
        })
        && b[10] == b'/'
        && b[11] == b'['
        && id.len() == 32
        && id.bytes().all(|c| c.is_ascii_hexdigit())
}

/// The log stream of a new environment of `version` (`$LATEST` or a number) started at
/// `millis`, named as AWS names them: `2026/11/29/[$LATEST]` and 32 random hex digits.
pub fn stream_name(version: &str, millis: i64) -> String {
    let day = timestamp::format_millis(millis);
    format!(
        "{}/[{version}]{}",
        day.get(..10).unwrap_or("1970-01-01").replace('-', "/"),
        uuid::Uuid::new_v4().simple()
    )
}

/// The last [`TAIL_BYTES`] of one invocation's log, kept for `LogType: Tail`: whatever the
/// function prints, no more is held.
#[derive(Default)]
pub struct InvocationLog {
    tail: VecDeque<u8>,
}

impl InvocationLog {
    /// Adds a line (a newline is appended).
    pub fn push(&mut self, line: &str) {
        self.push_raw(line.as_bytes());
        self.push_raw(b"\n");
    }

    /// Adds raw output as the runtime wrote it.
    pub fn push_raw(&mut self, bytes: &[u8]) {
        let kept = &bytes[bytes.len().saturating_sub(TAIL_BYTES)..];
        let excess = (self.tail.len() + kept.len()).saturating_sub(TAIL_BYTES);
        self.tail.drain(..excess);
        self.tail.extend(kept);
    }

    /// The last `count` lines of the tail, as text.
    pub fn last_lines(&self, count: usize) -> String {
        let (front, back) = self.tail.as_slices();
        let text = String::from_utf8_lossy(&[front, back].concat()).into_owned();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(count)..].join("\n")
    }

    /// Base64 of the last [`TAIL_BYTES`] bytes.
    pub fn tail_base64(&self) -> String {
        use base64::Engine;
        let (front, back) = self.tail.as_slices();
        base64::engine::general_purpose::STANDARD.encode([front, back].concat())
    }
}

/// How a cold start's environment came to be, and how long it took.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Startup {
    /// The runtime ran its Init: `Init Duration`.
    Init(f64),
    /// Restored from a SnapStart snapshot: `Restore Duration` (with the after-restore hooks).
    Restore(f64),
}

/// The `REPORT` line.
pub fn report_line(
    request_id: &str,
    duration_ms: f64,
    memory_mb: u32,
    max_memory_mb: u64,
    startup: Option<Startup>,
    status: Option<(&str, &str)>,
) -> String {
    let billed = duration_ms.ceil().max(1.0) as u64;
    let mut line = format!(
        "REPORT RequestId: {request_id}\tDuration: {duration_ms:.2} ms\tBilled Duration: {billed} ms\t\
         Memory Size: {memory_mb} MB\tMax Memory Used: {max_memory_mb} MB\t"
    );
    match startup {
        Some(Startup::Init(init)) => line.push_str(&format!("Init Duration: {init:.2} ms\t")),
        Some(Startup::Restore(restore)) => {
            let billed = restore.ceil().max(1.0) as u64;
            line.push_str(&format!(
                "Restore Duration: {restore:.2} ms\tBilled Restore Duration: {billed} ms\t"
            ));
        }
        None => {}
    }
    if let Some((status, error_type)) = status {
        line.push_str(&format!("Status: {status}\tError Type: {error_type}"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_rounds_billing_up() {
        let line = report_line("id", 3.01, 128, 36, Some(Startup::Init(110.1)), None);
        assert_eq!(
            line,
            "REPORT RequestId: id\tDuration: 3.01 ms\tBilled Duration: 4 ms\tMemory Size: 128 MB\t\
             Max Memory Used: 36 MB\tInit Duration: 110.10 ms\t"
        );
        assert!(
            report_line(
                "id",
                0.2,
                128,
                1,
                None,
                Some(("timeout", "Sandbox.Timedout"))
            )
            .contains("Billed Duration: 1 ms")
        );
    }

    #[test]
    fn tail_keeps_the_last_4k() {
        use base64::Engine;
        let mut log = InvocationLog::default();
        log.push_raw(&vec![b'a'; 5000]);
        log.push("END");
        let tail = base64::engine::general_purpose::STANDARD
            .decode(log.tail_base64())
            .unwrap();
        assert_eq!(tail.len(), TAIL_BYTES);
        assert!(tail.ends_with(b"END\n"));
    }

    #[test]
    fn the_tail_stays_the_last_4k_whatever_is_pushed() {
        use base64::Engine;
        let mut log = InvocationLog::default();
        let mut all = Vec::new();
        for i in 0..10_000u32 {
            let piece = format!("{i} ").repeat(usize::try_from(i % 7).unwrap());
            log.push_raw(piece.as_bytes());
            all.extend_from_slice(piece.as_bytes());
        }
        log.push_raw(&vec![b'b'; 3 * TAIL_BYTES]);
        all.extend(vec![b'b'; 3 * TAIL_BYTES]);
        log.push("END");
        all.extend_from_slice(b"END\n");
        assert!(log.tail.capacity() <= 2 * TAIL_BYTES);
        let tail = base64::engine::general_purpose::STANDARD
            .decode(log.tail_base64())
            .unwrap();
        assert_eq!(tail, all[all.len() - TAIL_BYTES..]);
    }

    #[test]
    fn log_files_are_listed_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        assert!(log_files(dir.path(), "f").is_empty());
        for path in [
            log_path(dir.path(), "f"),
            rotated_log_path(dir.path(), "f", 1),
            rotated_log_path(dir.path(), "f", 2),
            log_path(dir.path(), "other"),
        ] {
            std::fs::write(path, "x").unwrap();
        }
        assert_eq!(
            log_files(dir.path(), "f"),
            [
                rotated_log_path(dir.path(), "f", 2),
                rotated_log_path(dir.path(), "f", 1),
                log_path(dir.path(), "f"),
            ]
        );
    }

    #[test]
    fn streams_are_named_as_aws_names_them() {
        let name = stream_name("$LATEST", 1_542_236_632_894);
        assert!(name.starts_with("2018/11/14/[$LATEST]"), "{name}");
        assert_eq!(name.len(), "2018/11/14/[$LATEST]".len() + 32);
        assert!(is_stream_name(&name));
        assert!(is_stream_name(&stream_name("12", 0)));
        assert!(!is_stream_name("2018/11/14/[$LATEST]abc"));
        assert!(!is_stream_name("hello world"));
        assert!(!is_stream_name(
            "2018-11-14/[$LATEST]0123456789abcdef0123456789abcdef"
        ));
    }

    #[test]
    fn lines_of_both_forms_are_parsed() {
        let stream = "2018/11/14/[3]0123456789abcdef0123456789abcdef";
        let line = format!("2018-11-14T23:03:52.894+0000\t{stream}\tsay\thi");
        assert_eq!(
            parse_line(&line),
            LogLine {
                stamp: "2018-11-14T23:03:52.894+0000",
                stream,
                text: "say\thi"
            }
        );
        let old = parse_line("2018-11-14T23:03:52.894+0000\tsay\thi");
        assert_eq!((old.stream, old.text), ("", "say\thi"));
        let note = parse_line("2018-11-14T23:03:52.894+0000\t\t[lamina] note");
        assert_eq!((note.stream, note.text), ("", "[lamina] note"));
        assert_eq!(parse_line("bare").text, "bare");
        assert_eq!(
            without_streams(&format!("{line}\nt\t\tnote\npartial")),
            "2018-11-14T23:03:52.894+0000\tsay\thi\nt\tnote\npartial"
        );
    }

    #[test]
    fn lines_are_stamped_and_invalid_text_is_replaced() {
        let mut out = Vec::new();
        push_line(&mut out, "2018-11-14T23:03:52.894+0000", "s", b"hello");
        push_line(&mut out, "2018-11-14T23:03:52.894+0000", "", b"bad \xff");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "2018-11-14T23:03:52.894+0000\ts\thello\n2018-11-14T23:03:52.894+0000\t\tbad \u{fffd}\n"
        );
    }
}

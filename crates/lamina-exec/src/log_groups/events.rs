//! The events of a log group, read from its functions' log files: each line an event with its
//! timestamp and log stream, in the order they were written.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use lamina_types::timestamp;

use crate::logs::{log_files, log_name, parse_line};

/// The log stream of lines written outside any environment (Lamina's notes about Event
/// invocations, and lines of files written before Lamina kept streams). Guessed: AWS has no
/// such lines; they are kept under a name no environment's stream can have.
pub const NOTES_STREAM: &str = "[lamina]notes";

/// One log event (serialised as nodes of a cluster pass it to each other).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEvent {
    /// Its log stream.
    pub stream: String,
    /// When it was written, in milliseconds since the epoch.
    pub timestamp: i64,
    /// When Lamina stored it: the same instant, since lines are stored as they are read
    /// (Guessed: on AWS it comes a little later).
    pub ingestion_time: i64,
    /// The text.
    pub message: String,
}

/// The log files of each function of `functions` (of `account`), oldest first.
pub fn files_of(logs_dir: &Path, account: &str, functions: &[String]) -> Vec<Vec<PathBuf>> {
    functions
        .iter()
        .map(|f| log_files(logs_dir, &log_name(account, f)))
        .collect()
}

/// The events of `files` (each function's files, oldest first) from `since_ms` on, by
/// timestamp (the order of writing within a function).
pub fn read_events(files: &[Vec<PathBuf>], since_ms: i64) -> Vec<LogEvent> {
    let mut events = Vec::new();
    for function_files in files {
        for path in function_files {
            read_file(path, since_ms, &mut events);
        }
    }
    // Stable: events of one millisecond keep their order of writing.
    events.sort_by_key(|e| e.timestamp);
    events
}

/// Appends the events of one file. A line without a readable timestamp (never written by
/// Lamina) is skipped.
fn read_file(path: &Path, since_ms: i64, out: &mut Vec<LogEvent>) {
    let Ok(file) = std::fs::File::open(path) else {
        return;
    };
    for line in BufReader::new(file).split(b'\n').map_while(Result::ok) {
        let line = String::from_utf8_lossy(&line);
        let parsed = parse_line(&line);
        let Some(at) = timestamp::parse_millis(parsed.stamp) else {
            continue;
        };
        if at < since_ms {
            continue;
        }
        out.push(LogEvent {
            stream: match parsed.stream {
                "" => NOTES_STREAM.to_owned(),
                stream => stream.to_owned(),
            },
            timestamp: at,
            ingestion_time: at,
            message: parsed.text.to_owned(),
        });
    }
}

/// The timestamp of the first line of `path`, if it has one.
pub fn first_timestamp(path: &Path) -> Option<i64> {
    let file = std::fs::File::open(path).ok()?;
    let mut line = Vec::new();
    BufReader::new(file).read_until(b'\n', &mut line).ok()?;
    let line = String::from_utf8_lossy(&line);
    timestamp::parse_millis(parse_line(line.trim_end_matches('\n')).stamp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::push_line;

    #[test]
    fn events_of_several_functions_are_merged_by_time() {
        let dir = tempfile::tempdir().unwrap();
        let s = "2026/11/30/[$LATEST]0123456789abcdef0123456789abcdef";
        let mut a = Vec::new();
        push_line(&mut a, "2026-11-30T10:00:00.000+0000", s, b"a1");
        push_line(&mut a, "2026-11-30T10:00:02.000+0000", s, b"a2");
        a.extend_from_slice(b"garbage without a stamp\n");
        let mut b = Vec::new();
        push_line(&mut b, "2026-11-30T10:00:01.000+0000", "", b"b1");
        std::fs::write(dir.path().join("111122223333.a.log"), a).unwrap();
        std::fs::write(dir.path().join("111122223333.b.log"), b).unwrap();
        let files = files_of(dir.path(), "111122223333", &["a".into(), "b".into()]);
        let events = read_events(&files, 0);
        let messages: Vec<&str> = events.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(messages, ["a1", "b1", "a2"]);
        assert_eq!(events[1].stream, NOTES_STREAM);
        assert_eq!(events[0].stream, s);
        let since = timestamp::parse_millis("2026-11-30T10:00:01.000+0000").unwrap();
        assert_eq!(read_events(&files, since).len(), 2);
        assert_eq!(
            first_timestamp(&dir.path().join("111122223333.a.log")),
            timestamp::parse_millis("2026-11-30T10:00:00.000+0000")
        );
    }
}

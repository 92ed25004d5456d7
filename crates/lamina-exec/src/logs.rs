//! Function logs: one append-only file per function, in the text form CloudWatch shows, plus
//! the per-invocation capture that `LogType: Tail` returns.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use lamina_types::timestamp;

/// How much of an invocation's log `X-Amz-Log-Result` carries.
pub const TAIL_BYTES: usize = 4096;

/// Where a function's log lines go.
#[derive(Clone)]
pub struct LogSink {
    file: Arc<Mutex<Option<File>>>,
    path: PathBuf,
}

impl LogSink {
    /// The log of `function_name` under `logs_dir` (created on first write).
    pub fn new(logs_dir: &Path, function_name: &str) -> Self {
        Self {
            file: Arc::new(Mutex::new(None)),
            path: log_path(logs_dir, function_name),
        }
    }

    /// Appends one line, prefixed with its UTC timestamp and a tab.
    pub fn line(&self, text: &str) {
        let mut slot = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            if let Some(parent) = self.path.parent() {
                let _ = fs::create_dir_all(parent);
            }
            *slot = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .ok();
        }
        if let Some(file) = slot.as_mut() {
            let stamp = timestamp::format_millis(timestamp::now_millis());
            let _ = writeln!(file, "{stamp}\t{}", text.trim_end_matches('\n'));
        }
    }
}

/// The log file of a function.
pub fn log_path(logs_dir: &Path, function_name: &str) -> PathBuf {
    logs_dir.join(format!("{function_name}.log"))
}

/// The log text of one invocation, kept for `LogType: Tail`.
#[derive(Default)]
pub struct InvocationLog {
    text: Vec<u8>,
}

impl InvocationLog {
    /// Adds a line (a newline is appended).
    pub fn push(&mut self, line: &str) {
        self.text.extend_from_slice(line.as_bytes());
        self.text.push(b'\n');
    }

    /// Adds raw output as the runtime wrote it.
    pub fn push_raw(&mut self, bytes: &[u8]) {
        self.text.extend_from_slice(bytes);
    }

    /// Base64 of the last [`TAIL_BYTES`] bytes.
    pub fn tail_base64(&self) -> String {
        use base64::Engine;
        let start = self.text.len().saturating_sub(TAIL_BYTES);
        base64::engine::general_purpose::STANDARD.encode(&self.text[start..])
    }
}

/// The `REPORT` line.
pub fn report_line(
    request_id: &str,
    duration_ms: f64,
    memory_mb: u32,
    max_memory_mb: u64,
    init_ms: Option<f64>,
    status: Option<(&str, &str)>,
) -> String {
    let billed = duration_ms.ceil().max(1.0) as u64;
    let mut line = format!(
        "REPORT RequestId: {request_id}\tDuration: {duration_ms:.2} ms\tBilled Duration: {billed} ms\t\
         Memory Size: {memory_mb} MB\tMax Memory Used: {max_memory_mb} MB\t"
    );
    if let Some(init) = init_ms {
        line.push_str(&format!("Init Duration: {init:.2} ms\t"));
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
        let line = report_line("id", 3.01, 128, 36, Some(110.1), None);
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
    fn sink_appends_stamped_lines() {
        let dir = tempfile::tempdir().unwrap();
        let sink = LogSink::new(dir.path(), "f");
        sink.line("START RequestId: x");
        sink.line("hello\n");
        let text = std::fs::read_to_string(log_path(dir.path(), "f")).unwrap();
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[1].ends_with("\thello"));
    }
}

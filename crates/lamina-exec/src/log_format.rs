//! `LoggingConfig.LogFormat` `JSON`: the platform's START, END and REPORT lines as the JSON
//! records AWS writes to CloudWatch Logs instead (`{"time", "type": "platform.start", "record"}`).
//!
//! The text lines are made in several places (an invocation, a runtime that failed to start, a
//! timeout); converting them where they are written makes every one follow the function's
//! format. The function's own output is left as the runtime wrote it: with
//! `AWS_LAMBDA_LOG_FORMAT=JSON` the runtime itself writes its logging calls as JSON
//! (`{"timestamp", "level", "message", "requestId"}`), as AWS's runtimes do.

use serde_json::{Map, Value, json};

/// A function's `SystemLogLevel`: which of the platform's records are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlatformLevel {
    /// `DEBUG`.
    Debug,
    /// `INFO` (the default).
    Info,
    /// `WARN`: no INFO records.
    Warn,
}

impl PlatformLevel {
    /// The level named `name` (as the API validated it); `INFO` for anything else.
    pub fn of(name: &str) -> Self {
        match name {
            "DEBUG" => Self::Debug,
            "WARN" => Self::Warn,
            _ => Self::Info,
        }
    }

    /// Whether INFO records are written: `platform.start`, `platform.runtimeDone` and
    /// `platform.report` are all INFO in AWS's system log schema.
    pub fn writes_info(self) -> bool {
        self != Self::Warn
    }
}

/// The JSON record of a platform line written at `millis`, or `None` for a line AWS has no
/// record for (Lamina's own notes, `EXTENSION` lines), which stays text.
pub fn platform_record(text: &str, millis: i64) -> Option<String> {
    let (kind, record) = if let Some(rest) = text.strip_prefix("START RequestId: ") {
        let (request_id, version) = rest.split_once(" Version: ")?;
        (
            "platform.start",
            json!({ "requestId": request_id, "version": version }),
        )
    } else if let Some(request_id) = text.strip_prefix("END RequestId: ") {
        // Guessed: AWS's JSON log has no END record; its `platform.runtimeDone` marks the
        // same moment, and only the status is known here (the REPORT carries it too).
        (
            "platform.runtimeDone",
            json!({ "requestId": request_id.trim(), "status": "success" }),
        )
    } else if let Some(rest) = text.strip_prefix("REPORT RequestId: ") {
        report_record(rest)?
    } else {
        return None;
    };
    let doc = json!({ "time": rfc3339_millis(millis), "type": kind, "record": record });
    Some(doc.to_string())
}

/// `platform.report` from the tab-separated fields of a REPORT line after `RequestId: `.
fn report_record(rest: &str) -> Option<(&'static str, Value)> {
    let mut fields = rest.split('\t');
    let request_id = fields.next()?.trim();
    let mut metrics = Map::new();
    let mut status = "success";
    let mut error_type = None;
    for field in fields {
        let Some((name, value)) = field.split_once(": ") else {
            continue;
        };
        let number = |unit: &str| {
            value
                .strip_suffix(unit)
                .and_then(|n| n.trim().parse::<f64>().ok())
                .map(Value::from)
        };
        let (key, value) = match name {
            "Duration" => ("durationMs", number(" ms")),
            "Billed Duration" => ("billedDurationMs", number(" ms")),
            "Memory Size" => ("memorySizeMB", number(" MB")),
            "Max Memory Used" => ("maxMemoryUsedMB", number(" MB")),
            "Init Duration" => ("initDurationMs", number(" ms")),
            "Restore Duration" => ("restoreDurationMs", number(" ms")),
            "Billed Restore Duration" => ("billedRestoreDurationMs", number(" ms")),
            "Status" => {
                status = value;
                continue;
            }
            "Error Type" => {
                error_type = Some(value);
                continue;
            }
            _ => continue,
        };
        if let Some(value) = value {
            metrics.insert(key.to_owned(), integral(value));
        }
    }
    let mut record = json!({ "requestId": request_id, "metrics": metrics, "status": status });
    if let Some(error_type) = error_type {
        record["errorType"] = json!(error_type);
    }
    Some(("platform.report", record))
}

/// Whole numbers (billed durations, memory sizes) as integers, as AWS writes them.
fn integral(value: Value) -> Value {
    match value.as_f64() {
        Some(n) if n.fract() == 0.0 && n.abs() < 9e15 => json!(n as i64),
        _ => value,
    }
}

/// `2018-11-14T23:03:52.894Z`: the `time` of AWS's records.
fn rfc3339_millis(millis: i64) -> String {
    let stamp = lamina_types::timestamp::format_millis(millis);
    format!("{}Z", stamp.trim_end_matches("+0000"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Value {
        serde_json::from_str(&platform_record(text, 1_542_236_632_894).unwrap()).unwrap()
    }

    #[test]
    fn start_and_end_become_records() {
        assert_eq!(
            parsed("START RequestId: r1 Version: $LATEST"),
            json!({"time": "2018-11-14T23:03:52.894Z", "type": "platform.start",
                   "record": {"requestId": "r1", "version": "$LATEST"}})
        );
        assert_eq!(parsed("END RequestId: r1")["type"], "platform.runtimeDone");
    }

    #[test]
    fn report_carries_its_metrics() {
        let line = crate::logs::report_line(
            "r1",
            3.01,
            128,
            36,
            Some(crate::logs::Startup::Init(110.1)),
            Some(("timeout", "Sandbox.Timedout")),
        );
        let doc = parsed(&line);
        assert_eq!(doc["type"], "platform.report");
        assert_eq!(
            doc["record"],
            json!({"requestId": "r1", "status": "timeout", "errorType": "Sandbox.Timedout",
                   "metrics": {"durationMs": 3.01, "billedDurationMs": 4, "memorySizeMB": 128,
                               "maxMemoryUsedMB": 36, "initDurationMs": 110.1}})
        );
    }

    #[test]
    fn a_warn_system_level_leaves_the_info_records_out() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            crate::logs::LogStore::open(dir.path(), crate::logs::LogLimits::default()).unwrap();
        let sink = store.sink("f").with_json(Some(PlatformLevel::of("WARN")));
        sink.lines(&[
            "START RequestId: r Version: $LATEST",
            "[lamina] a note",
            "END RequestId: r",
        ]);
        let text = std::fs::read_to_string(crate::logs::log_path(dir.path(), "f")).unwrap();
        let texts: Vec<&str> = text
            .lines()
            .map(|l| crate::logs::parse_line(l).text)
            .collect();
        assert_eq!(texts, ["[lamina] a note"]);
        assert!(PlatformLevel::of("DEBUG").writes_info());
        assert!(PlatformLevel::of("INFO").writes_info());
    }

    #[test]
    fn other_lines_stay_text() {
        assert_eq!(platform_record("[lamina] a note", 0), None);
        assert_eq!(platform_record("EXTENSION\tName: x", 0), None);
        assert_eq!(platform_record("START RequestId: no-version", 0), None);
    }
}

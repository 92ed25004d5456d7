//! What the console's Monitor charts: each function's recent invocations (when, how long,
//! cold or warm, error or not), kept in memory per function log (an account's function), the
//! newest [`MAX_SAMPLES`] only. Nothing here is durable: after a restart the charts start
//! again, while the function's log keeps everything.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

/// Invocations kept per function.
pub const MAX_SAMPLES: usize = 10_000;

/// One finished invocation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// When it ended, milliseconds since the Unix epoch.
    pub at_millis: i64,
    /// The handler's duration (REPORT's `Duration`).
    pub duration_ms: f64,
    /// `Init Duration` when it was a cold start.
    pub init_ms: Option<f64>,
    /// Whether it ended in an error (the function's, a timeout, a crash).
    pub error: bool,
}

/// The samples of every function.
#[derive(Default)]
pub struct Metrics {
    by_log: Mutex<HashMap<String, VecDeque<Sample>>>,
}

impl Metrics {
    /// Records `sample` for the function whose log is `log`.
    pub fn record(&self, log: &str, sample: Sample) {
        let mut all = self.by_log.lock().unwrap_or_else(PoisonError::into_inner);
        let samples = all.entry(log.to_owned()).or_default();
        if samples.len() == MAX_SAMPLES {
            samples.pop_front();
        }
        samples.push_back(sample);
    }

    /// The samples of `log`'s function since `since_millis`, oldest first.
    pub fn since(&self, log: &str, since_millis: i64) -> Vec<Sample> {
        let all = self.by_log.lock().unwrap_or_else(PoisonError::into_inner);
        all.get(log)
            .map(|s| {
                s.iter()
                    .filter(|x| x.at_millis >= since_millis)
                    .copied()
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at_millis: i64) -> Sample {
        Sample {
            at_millis,
            duration_ms: 1.0,
            init_ms: None,
            error: false,
        }
    }

    #[test]
    fn keeps_the_newest_per_function() {
        let m = Metrics::default();
        for i in 0..(MAX_SAMPLES as i64 + 5) {
            m.record("a.f", sample(i));
        }
        m.record("a.g", sample(7));
        let f = m.since("a.f", 0);
        assert_eq!(f.len(), MAX_SAMPLES);
        assert_eq!(f[0].at_millis, 5);
        assert_eq!(m.since("a.f", MAX_SAMPLES as i64 + 3).len(), 2);
        assert_eq!(m.since("a.g", 0), vec![sample(7)]);
        assert!(m.since("b.f", 0).is_empty());
    }
}

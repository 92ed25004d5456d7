//! One invocation from START to REPORT: an environment is leased, the event handed over, the
//! outcome settled, and the log and the caller told, as AWS tells them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lamina_types::timestamp::{format_millis, now_millis};
use lamina_types::{FunctionSpec, LambdaError};

use crate::concurrency::Admission;
use crate::environment::{Outcome, ShutdownReason};
use crate::function_error::FunctionError;
use crate::lease::Lease;
use crate::logs::{LogSink, Startup, log_name, report_line};
use crate::metrics::Sample;
use crate::outcome::{Settled, settle};
use crate::runtime_api::ResponseSink;
use crate::spawn::StartError;
use crate::{Executor, InvokeRequest, InvokeResult, shutting_down};

impl Executor {
    /// The body of [`Executor::invoke`], in its own task.
    pub(crate) async fn run(
        &self,
        spec: Arc<FunctionSpec>,
        request: InvokeRequest,
        stream: Option<ResponseSink>,
    ) -> Result<InvokeResult, LambdaError> {
        if self.inner.stopping.is_cancelled() {
            return Err(shutting_down());
        }
        // Held until the invocation ends, whatever way it ends: with its `Ending` once the
        // runtime answered, so it counts until the extensions' post-invoke work is done too.
        let version_cap =
            u32::try_from(self.inner.config.max_environments_per_function).unwrap_or(u32::MAX);
        let admission = self
            .inner
            .admissions
            .admit(&spec)?
            .in_cluster(self.inner.cluster.get(), &spec, version_cap)
            .await?;
        let (env, cold) = match self.acquire(&spec).await {
            Ok(acquired) => acquired,
            Err(StartError::Lamina(e)) => return Err(e),
            Err(StartError::Function(error)) => {
                return Ok(self.failed_to_start(&spec, &request, &error));
            }
        };
        let mut lease = Lease::new(self, &spec, env);
        let Some(env) = lease.env() else {
            return Err(LambdaError::Service("the environment was lost".to_owned()));
        };
        let request_id = request.request_id;
        let sink = env.log().clone();
        let start_line = format!("START RequestId: {request_id} Version: {}", spec.version);
        sink.line(&start_line);
        env.note(&start_line);
        let timeout = Duration::from_secs(u64::from(spec.timeout_secs));
        let invoked_at = Instant::now();
        let invoked = env.invoke(
            &request_id,
            request.payload,
            &request.invoked_function_arn,
            request.client_context,
            timeout,
            stream,
        );
        let outcome = tokio::select! {
            outcome = invoked => Some(outcome),
            () = self.inner.stopping.cancelled() => None,
        };
        let Some(outcome) = outcome else {
            sink.line(&format!(
                "{} {request_id} [lamina] the invocation was ended: the server is shutting down",
                format_millis(now_millis())
            ));
            lease.end(Some(ShutdownReason::Spindown)).await;
            return Err(shutting_down());
        };
        // Only an exit can be the out-of-memory killer's: a warm invoke reads no cgroup file
        // for it.
        let out_of_memory = matches!(outcome, Outcome::Exited(_)) && env.out_of_memory();
        let settled = settle(outcome, &request_id, timeout, out_of_memory);
        let mut ending = Ending {
            lease,
            spec,
            sink,
            request_id,
            settled,
            invoked_at,
            cold,
            timeout,
            _admission: admission,
        };
        // The caller gets the response as soon as the runtime answers; extensions still
        // busy with the invoke finish it in the background (the environment is frozen, and
        // END and REPORT logged, only once they called `next` again, as on AWS). A caller
        // that asked for the log tail waits for it.
        if ending.settled.keep && ending.has_extensions() && !request.tail_log {
            let result = InvokeResult {
                payload: ending.settled.payload.clone(),
                function_error: ending.settled.function_error,
                log_result: None,
            };
            let executor = self.clone();
            self.inner.tasks.spawn(async move {
                executor.end_invocation(ending).await;
            });
            return Ok(result);
        }
        let payload = ending.settled.payload.clone();
        let function_error = ending.settled.function_error;
        let after_restore_failed = ending
            .settled
            .report_status
            .as_ref()
            .is_some_and(|(_, error_type)| error_type == crate::snapshot::AFTER_RESTORE_ERROR);
        let log = self.end_invocation(ending).await;
        if after_restore_failed {
            // As AWS answers it (the text is a guess, after the API model's description).
            return Err(LambdaError::SnapStart(
                "The afterRestore() runtime hook encountered an error. For more information, \
                 check the function's log."
                    .to_owned(),
            ));
        }
        Ok(InvokeResult {
            payload,
            function_error,
            log_result: request.tail_log.then(|| log.tail_base64()),
        })
    }

    /// Ends an invocation the runtime answered: waits for the extensions' post-invoke work
    /// (within the timeout), logs END and REPORT, and hands the environment back. Returns the
    /// invocation's log.
    async fn end_invocation(&self, mut ending: Ending) -> crate::logs::InvocationLog {
        let Some(env) = ending.lease.env() else {
            return crate::logs::InvocationLog::default();
        };
        let request_id = ending.request_id.as_str();
        let settled = &mut ending.settled;
        let cold = ending.cold;
        let handler_start = match env.initialized {
            Some(at) if cold => at.max(ending.invoked_at),
            _ => ending.invoked_at,
        };
        if settled.keep && env.has_extensions() {
            let until = tokio::time::Instant::from_std(handler_start + ending.timeout);
            if !env.extensions_done(until).await {
                // An extension failed or did not finish within the timeout: AWS resets.
                settled.keep = false;
                ending.sink.line(&format!(
                    "{} {request_id} [lamina] an extension did not finish the invocation in time; the environment is reset",
                    format_millis(now_millis())
                ));
            }
        }
        let spec = &ending.spec;
        let finished = Instant::now();
        let duration_ms = finished.duration_since(handler_start).as_secs_f64() * 1e3;
        let init_ms = cold.then(|| {
            env.initialized
                .unwrap_or(finished)
                .duration_since(env.started)
                .as_secs_f64()
                * 1e3
        });
        let startup = init_ms.map(|ms| match env.restored {
            true => Startup::Restore(ms),
            false => Startup::Init(ms),
        });
        let max_memory = env.max_memory_mb();
        // An environment that is reset is not read after this: output it still writes
        // would land after its END. With extensions it is, until their SHUTDOWN is over.
        let mut log = env.take_log(!settled.keep && !env.has_extensions()).await;
        env.telemetry().report_outcome(
            request_id,
            settled.report_status.as_ref(),
            crate::runtime_api::telemetry::ReportMetrics {
                duration_ms,
                memory_size_mb: spec.memory_mb,
                max_memory_used_mb: max_memory,
                init_duration_ms: init_ms.filter(|_| !env.restored),
            },
        );
        let closing = closing_lines(request_id, settled, |status| {
            report_line(
                request_id,
                duration_ms,
                spec.memory_mb,
                max_memory,
                startup,
                status,
            )
        });
        ending
            .sink
            .lines(&closing.iter().map(String::as_str).collect::<Vec<_>>());
        for line in &closing {
            log.push(line);
        }
        self.record(spec, duration_ms, init_ms, settled);
        // Subscribers get the invoke's records while the environment still runs.
        env.telemetry()
            .flush(crate::environment::TELEMETRY_FLUSH_WAIT)
            .await;
        let reset = match (settled.keep, settled.timed_out) {
            (true, _) => None,
            (false, Some(_)) => Some(ShutdownReason::Timeout),
            (false, None) => Some(ShutdownReason::Failure),
        };
        ending.lease.end(reset).await;
        log
    }

    /// Counts a finished invocation for the console's Monitor.
    fn record(
        &self,
        spec: &FunctionSpec,
        duration_ms: f64,
        init_ms: Option<f64>,
        settled: &Settled,
    ) {
        let sample = Sample {
            at_millis: now_millis(),
            duration_ms,
            init_ms,
            error: settled.function_error,
        };
        self.inner
            .metrics
            .record(&log_name(spec.account(), &spec.function_name), sample);
    }

    /// An invocation whose runtime could not start: the function's error, logged between
    /// START and REPORT as AWS logs it.
    fn failed_to_start(
        &self,
        spec: &FunctionSpec,
        request: &InvokeRequest,
        error: &FunctionError,
    ) -> InvokeResult {
        let request_id = &request.request_id;
        let settled = Settled::failed(error, request_id);
        let mut lines = vec![
            format!("START RequestId: {request_id} Version: {}", spec.version),
            error.message(request_id),
            error.error_type().to_owned(),
        ];
        lines.extend(closing_lines(request_id, &settled, |status| {
            report_line(request_id, 0.0, spec.memory_mb, 0, None, status)
        }));
        // No environment ran it: its lines go to a stream of their own, as a new
        // environment's would.
        let sink: LogSink = self
            .function_sink(spec)
            .with_stream(&crate::spawn::log_stream_name(spec));
        sink.lines(&lines.iter().map(String::as_str).collect::<Vec<_>>());
        self.record(spec, 0.0, None, &settled);
        let mut log = crate::logs::InvocationLog::default();
        for line in &lines {
            log.push(line);
        }
        InvokeResult {
            payload: settled.payload,
            function_error: true,
            log_result: request.tail_log.then(|| log.tail_base64()),
        }
    }
}

/// An invocation the runtime answered, still to be ended.
struct Ending {
    lease: Lease,
    spec: Arc<FunctionSpec>,
    sink: LogSink,
    request_id: String,
    settled: Settled,
    invoked_at: Instant,
    cold: bool,
    timeout: Duration,
    /// The invocation's place in its concurrency limit: the environment stays busy until the
    /// extensions finished their post-invoke work, as AWS counts it. Last, so it is freed
    /// after the environment went back.
    _admission: Admission,
}

impl Ending {
    fn has_extensions(&mut self) -> bool {
        self.lease.env().is_some_and(|env| env.has_extensions())
    }
}

/// The lines that close an invocation: `Task timed out` after a timeout, END and REPORT
/// (made by `report` with its `Status` and `Error Type`).
fn closing_lines(
    request_id: &str,
    settled: &Settled,
    report: impl FnOnce(Option<(&str, &str)>) -> String,
) -> Vec<String> {
    let mut lines = Vec::with_capacity(3);
    if let Some(timeout) = settled.timed_out {
        lines.push(format!(
            "{} {request_id} Task timed out after {:.2} seconds",
            format_millis(now_millis()),
            timeout.as_secs_f64()
        ));
    }
    lines.push(format!("END RequestId: {request_id}"));
    let status = settled
        .report_status
        .as_ref()
        .map(|(status, error_type)| (*status, error_type.as_str()));
    lines.push(report(status));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_is_logged_before_end_and_reported() {
        let settled = Settled::failed(&FunctionError::Timedout(Duration::from_secs(3)), "r-1");
        let lines = closing_lines("r-1", &settled, |status| format!("REPORT {status:?}"));
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(
            lines[0].ends_with(" r-1 Task timed out after 3.00 seconds"),
            "{lines:?}"
        );
        assert_eq!(lines[1], "END RequestId: r-1");
        assert_eq!(lines[2], "REPORT Some((\"timeout\", \"Sandbox.Timedout\"))");
    }

    #[test]
    fn a_success_closes_with_end_and_a_plain_report() {
        let settled = Settled {
            payload: "1".into(),
            function_error: false,
            keep: true,
            report_status: None,
            timed_out: None,
        };
        let lines = closing_lines("r-2", &settled, |status| format!("REPORT {status:?}"));
        assert_eq!(lines, ["END RequestId: r-2", "REPORT None"]);
    }
}

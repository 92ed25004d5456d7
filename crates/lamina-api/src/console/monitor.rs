//! A function's Monitor: invocations, errors, duration (p50/p99) and cold starts of the last
//! hour, a bar per minute, from the executor's in-memory samples; and the function's recent
//! log, which the page keeps following while it is open.

use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use lamina_exec::logs::{log_name, log_path, without_streams};
use lamina_exec::metrics::Sample;
use lamina_types::timestamp::now_millis;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::json;

use super::page::{alert, ok, page, respond, status_of};
use super::session::Session;
use crate::AppState;

/// Minutes charted.
const MINUTES: usize = 60;
/// Log bytes shown when the page opens.
const LOG_TAIL_BYTES: u64 = 64 * 1024;

/// One minute's figures.
#[derive(Default, Clone, Copy)]
struct Minute {
    invocations: u32,
    errors: u32,
    cold_starts: u32,
    p50_ms: f64,
    p99_ms: f64,
}

/// `samples` in [`MINUTES`] one-minute buckets ending at `now_millis`, oldest first.
fn by_minute(samples: &[Sample], now_millis: i64) -> Vec<Minute> {
    let start = now_millis - (MINUTES as i64) * 60_000;
    let mut durations: Vec<Vec<f64>> = vec![Vec::new(); MINUTES];
    let mut minutes = vec![Minute::default(); MINUTES];
    for s in samples
        .iter()
        .filter(|s| s.at_millis >= start && s.at_millis <= now_millis)
    {
        let i = (((s.at_millis - start) / 60_000) as usize).min(MINUTES - 1);
        minutes[i].invocations += 1;
        minutes[i].errors += u32::from(s.error);
        minutes[i].cold_starts += u32::from(s.init_ms.is_some());
        durations[i].push(s.duration_ms);
    }
    for (m, mut d) in minutes.iter_mut().zip(durations) {
        d.sort_by(f64::total_cmp);
        m.p50_ms = percentile(&d, 0.50);
        m.p99_ms = percentile(&d, 0.99);
    }
    minutes
}

/// The nearest-rank percentile of sorted `values` (0 when empty).
fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let rank = ((p * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

/// A bar chart of `values`, one bar per minute, labelled for screen readers.
fn chart(title: &str, values: &[f64], bad: bool) -> Markup {
    let max = values.iter().copied().fold(0.0_f64, f64::max).max(1.0);
    let total: f64 = values.iter().sum();
    let width = 10.0;
    html! {
        figure {
            figcaption { (title) }
            svg.chart viewBox=(format!("0 0 {} 100", values.len() as f64 * width)) preserveAspectRatio="none"
                role="img" aria-label=(format!("{title}: {total:.0} in the last {MINUTES} minutes, at most {max:.1} in a minute")) {
                @for (i, v) in values.iter().enumerate() {
                    @let h = v / max * 100.0;
                    rect class=[bad.then_some("bad")] x=(i as f64 * width + 1.0) y=(100.0 - h) width=(width - 2.0) height=(h) {}
                }
            }
        }
    }
}

/// `GET /console/functions/{name}/monitor`.
pub(super) async fn show(
    State(state): State<Arc<AppState>>,
    session: Session,
    Path(name): Path<String>,
) -> Response {
    let title = format!("{name}: Monitor");
    if let Err(e) = state
        .functions
        .get_configuration(&session.scope, &name, None)
        .await
    {
        let status = status_of(&e);
        return respond(status, page(Some(&session), &title, alert(e.message())));
    }
    let now = now_millis();
    let account = session.scope.account.as_str();
    let samples = state
        .executor
        .invocations_since(account, &name, now - (MINUTES as i64) * 60_000);
    let minutes = by_minute(&samples, now);
    let mut all: Vec<f64> = samples.iter().map(|s| s.duration_ms).collect();
    all.sort_by(f64::total_cmp);
    let series = |f: fn(&Minute) -> f64| minutes.iter().map(f).collect::<Vec<f64>>();
    let path = log_path(state.executor.logs_dir(), &log_name(account, &name));
    let (log, offset) = read_from(&path, None).await;
    ok(page(
        Some(&session),
        &title,
        html! {
            p { a href=(format!("/console/functions/{name}")) { "Back to " (name) } }
            section aria-labelledby="metrics-heading" {
                h2 #metrics-heading { "Metrics (last " (MINUTES) " minutes)" }
                dl.facts #monitor-summary {
                    dt { "Invocations" } dd #monitor-invocations { (samples.len()) }
                    dt { "Errors" } dd #monitor-errors { (samples.iter().filter(|s| s.error).count()) }
                    dt { "Cold starts" } dd #monitor-cold-starts { (samples.iter().filter(|s| s.init_ms.is_some()).count()) }
                    dt { "Duration p50" } dd { (format!("{:.2} ms", percentile(&all, 0.50))) }
                    dt { "Duration p99" } dd { (format!("{:.2} ms", percentile(&all, 0.99))) }
                }
                div.charts {
                    (chart("Invocations", &series(|m| f64::from(m.invocations)), false))
                    (chart("Errors", &series(|m| f64::from(m.errors)), true))
                    (chart("Duration p50 (ms)", &series(|m| m.p50_ms), false))
                    (chart("Duration p99 (ms)", &series(|m| m.p99_ms), false))
                    (chart("Cold starts", &series(|m| f64::from(m.cold_starts)), false))
                }
                p.hint { "Counted in memory since the server started; the log below keeps everything." }
            }
            section aria-labelledby="log-heading" {
                h2 #log-heading { "Recent log" }
                pre #monitor-log aria-live="polite" data-follow=(format!("/console/functions/{name}/log")) data-offset=(offset) { (log) }
            }
        },
    ))
}

#[derive(Deserialize)]
pub(super) struct From {
    from: Option<u64>,
}

/// `GET /console/functions/{name}/log?from=N`: the log from byte `N` of its current file (from
/// the start again when the file was rotated or emptied meanwhile), and where to go on.
pub(super) async fn follow(
    State(state): State<Arc<AppState>>,
    session: Session,
    Path(name): Path<String>,
    Query(q): Query<From>,
) -> Response {
    if let Err(e) = state
        .functions
        .get_configuration(&session.scope, &name, None)
        .await
    {
        let status = status_of(&e);
        return (status, Json(json!({ "message": e.message() }))).into_response();
    }
    let path = log_path(
        state.executor.logs_dir(),
        &log_name(session.scope.account.as_str(), &name),
    );
    let (text, next) = read_from(&path, Some(q.from.unwrap_or(0))).await;
    Json(json!({ "text": text, "next": next })).into_response()
}

/// The text of `path` from `from` (the last [`LOG_TAIL_BYTES`] when `None`), at most
/// [`LOG_TAIL_BYTES`], and the offset after it. A missing file reads as empty.
async fn read_from(path: &std::path::Path, from: Option<u64>) -> (String, u64) {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        let Ok(mut file) = std::fs::File::open(&path) else {
            return (String::new(), 0);
        };
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let start = match from {
            Some(n) if n <= len => n,
            Some(_) => 0,
            None => len.saturating_sub(LOG_TAIL_BYTES),
        };
        let mut bytes = Vec::new();
        if file.seek(SeekFrom::Start(start)).is_err()
            || file.take(LOG_TAIL_BYTES).read_to_end(&mut bytes).is_err()
        {
            return (String::new(), start);
        }
        let next = start + bytes.len() as u64;
        // The file's lines also name their log stream, which the console does not show.
        (without_streams(&String::from_utf8_lossy(&bytes)), next)
    })
    .await
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes_ago: i64, duration_ms: f64, cold: bool, error: bool) -> Sample {
        Sample {
            at_millis: 10_000_000 - minutes_ago * 60_000 - 1,
            duration_ms,
            init_ms: cold.then_some(100.0),
            error,
        }
    }

    #[test]
    fn samples_fall_into_their_minute() {
        let samples = [
            at(0, 2.0, true, false),
            at(0, 4.0, false, true),
            at(5, 1.0, false, false),
            at(90, 9.0, false, false),
        ];
        let m = by_minute(&samples, 10_000_000);
        let last = m[MINUTES - 1];
        assert_eq!((last.invocations, last.errors, last.cold_starts), (2, 1, 1));
        assert_eq!((last.p50_ms, last.p99_ms), (2.0, 4.0));
        assert_eq!(m[MINUTES - 6].invocations, 1);
        assert_eq!(
            m.iter().map(|x| x.invocations).sum::<u32>(),
            3,
            "90 minutes ago is out"
        );
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }
}

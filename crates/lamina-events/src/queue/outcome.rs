//! The end of an event: a discarded event is recorded in its function's log, and its
//! outcome is sent on to the destinations of its qualifier's configuration (and, on failure,
//! to its version's dead-letter target) as new `Event` invocations, queued before the event
//! is removed, so a crash in between delivers again rather than never.

use super::{Ended, Returned, Shared, Waiting, enqueue, remove};
use crate::delivery::{self, Condition, Outcome};
use crate::retry::Discard;

/// Records in the function's log and the server's why an event never ran successfully,
/// sends its failure on, and removes it.
pub(super) async fn discard(
    shared: &Shared,
    event: &Waiting,
    why: Discard,
    ended: Ended<'_>,
) -> Returned {
    let header = &event.header;
    let reason = match &why {
        Discard::RetriesExhausted { attempts } => {
            format!("all {attempts} attempts ended in a function error")
        }
        Discard::Expired => format!(
            "it did not run successfully within the maximum event age of {} seconds",
            ended.policy.max_event_age.as_secs()
        ),
        Discard::FunctionGone(what) => format!("the function no longer exists ({what})"),
        Discard::Rejected(what) => format!("it was refused ({what})"),
    };
    let line = format!(
        "[lamina] Event invocation {} discarded: {reason}",
        header.request_id
    );
    let log = lamina_exec::logs::log_name(header.scope.account.as_str(), &header.function_name);
    shared.runner.note(&log, &line);
    tracing::warn!(reason = %reason, "Event invocation discarded");
    // Guessed: a gone function has no configuration left, and a refused event never reached
    // the function, so neither is sent on.
    match why {
        Discard::RetriesExhausted { .. } => send(shared, &ended, Condition::RetriesExhausted).await,
        Discard::Expired => send(shared, &ended, Condition::EventAgeExceeded).await,
        Discard::FunctionGone(_) | Discard::Rejected(_) => {}
    }
    remove(shared, event).await;
    Returned::Gone
}

/// Queues what the event's end sends on: its record to `OnSuccess` or `OnFailure`, and on
/// failure the original event to the dead-letter target (AWS sends both when both are set).
pub(super) async fn send(shared: &Shared, ended: &Ended<'_>, condition: Condition) {
    let Some(queued) = ended.queued else { return };
    let settings = ended.settings;
    let outcome = Outcome {
        condition,
        invoke_count: ended.invoke_count,
        response: ended.response,
    };
    let now = shared.clock.now_millis();
    let record = || delivery::invocation_record(&queued.event, &outcome, now);
    let mut deliveries = Vec::new();
    if condition == Condition::Success {
        if let Some(arn) = &settings.on_success {
            deliveries.push(("OnSuccess destination", arn, record()));
        }
    } else {
        if let Some(arn) = &settings.on_failure {
            deliveries.push(("OnFailure destination", arn, record()));
        }
        if let Some(arn) = &settings.dead_letter {
            deliveries.push(("dead-letter target", arn, queued.event.payload.clone()));
        }
    }
    for (what, arn, payload) in deliveries {
        let delivered = match delivery::event_for(&queued.event, arn, payload, now) {
            Ok(event) => enqueue(shared.store.as_ref(), &shared.node, &shared.accepted, event)
                .await
                .map_err(|e| format!("storage failure: {e}")),
            Err(why) => Err(why),
        };
        match delivered {
            Ok(()) => tracing::info!(target_arn = %arn, "{what} queued"),
            Err(why) => {
                let event = &queued.event;
                let line = format!(
                    "[lamina] Event invocation {}: the record for the {what} {arn} was not \
                     delivered: {why}",
                    event.request_id
                );
                let log =
                    lamina_exec::logs::log_name(event.scope.account.as_str(), &event.function_name);
                shared.runner.note(&log, &line);
                tracing::warn!(target_arn = %arn, reason = %why, "{what} not delivered");
            }
        }
    }
}

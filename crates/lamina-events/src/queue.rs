//! The queue itself: [`EventQueue::accept`] writes an event durably (the API answers 202
//! after it), a dispatcher task ([`EventQueue::run`]) runs queued events as the [`Schedule`]
//! allows and applies the retry rules, and [`EventQueue::shut_down`] stops it, leaving what
//! did not run queued.
//!
//! An event's row is removed only once its run has completed (or it is discarded): a crash
//! at any point leaves it queued, to run again at the next start (at least once), and
//! nothing runs it twice when nothing crashes mid-invoke (exactly once).
//!
//! Several nodes may share the store. Each event is held by one node, which alone runs it:
//! the node that accepted it, or one that claimed it after its holder stopped beating (see
//! [`EventStore`]). A claimer task looks for such orphans every [`QueueConfig::claim_every`];
//! a node shutting down lets go of what it holds, so the others take it at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use lamina_control::ResolvedFunction;
use lamina_control::functions::AsyncInvokeSettings;
use lamina_store::{EventHeader, EventStore, NewEvent, QueuedEvent, StoreError};
use lamina_types::{LambdaError, NodeId, Scope};
use tokio::sync::{mpsc, watch};
use tokio::task::{JoinError, JoinHandle, JoinSet};
use tokio::time::Instant;
use tracing::Instrument;

use crate::delivery::Condition;
use crate::retry::{Attempt, Decision, Discard, History, RetryPolicy, decide, millis};
use crate::runner::EventRunner;
use crate::schedule::{Returned, Schedule, Waiting};

/// Queued events read per query when the queue starts, and claimed per look for orphans.
const LOAD_PAGE: u32 = 1000;
/// Orphaned events one node claims at once: a node back from the dead does not take the whole
/// backlog of the cluster's lost events from nodes that come looking a moment later.
const CLAIM_PAGE: u32 = 100;

/// An `Event` invocation the API accepted, its function resolved.
#[derive(Debug, Clone)]
pub struct EventInvocation {
    /// The request id of the Invoke call (its 202's `x-amzn-RequestId`).
    pub request_id: String,
    /// The caller's account and region: the function's scope.
    pub scope: Scope,
    /// The function as resolved when the event was accepted; the dispatcher resolves it
    /// again (by name and qualifier) when it runs.
    pub function: ResolvedFunction,
    /// The event.
    pub payload: Bytes,
    /// `X-Amz-Client-Context`, decoded (JSON text).
    pub client_context: Option<String>,
}

/// How the queue runs events.
#[derive(Debug, Clone)]
pub struct QueueConfig {
    /// Retries, backoff and the maximum event age.
    pub retry: RetryPolicy,
    /// Most events of one function running at once (the executor's per-function cap, so
    /// events do not throttle themselves).
    pub max_running_per_function: usize,
    /// This node: the holder of the events it accepts and claims.
    pub node: NodeId,
    /// How often to look for orphaned events.
    pub claim_every: Duration,
    /// How recent a node's heartbeat must be for it to still hold its events.
    pub node_live_for: Duration,
}

/// The durable queue of `Event` invocations. Cheap to clone.
#[derive(Clone)]
pub struct EventQueue {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn EventStore>,
    node: NodeId,
    clock: Clock,
    /// Newly accepted events, to the dispatcher.
    accepted: mpsc::UnboundedSender<Waiting>,
    /// `Some(grace)` asks the dispatcher and the claimer to stop.
    stop: watch::Sender<Option<Duration>>,
    dispatcher: Mutex<Dispatcher>,
}

/// The dispatcher before [`EventQueue::run`] (what it will own), then its task.
enum Dispatcher {
    Ready(Box<Parts>),
    Running {
        dispatcher: JoinHandle<()>,
        claimer: JoinHandle<()>,
    },
    Stopped,
}

/// What the dispatcher task owns.
struct Parts {
    shared: Arc<Shared>,
    schedule: Schedule,
    accepted: mpsc::UnboundedReceiver<Waiting>,
    stop: watch::Receiver<Option<Duration>>,
    claims: Claims,
}

/// What the claimer needs: where it sends what it claims, and when.
struct Claims {
    every: Duration,
    live_for: Duration,
}

/// What the dispatcher and the runs it starts share.
struct Shared {
    store: Arc<dyn EventStore>,
    node: NodeId,
    runner: Arc<dyn EventRunner>,
    retry: RetryPolicy,
    clock: Clock,
    /// Events queued by a run (deliveries to destinations), to the dispatcher.
    accepted: mpsc::UnboundedSender<Waiting>,
}

impl EventQueue {
    /// Reads the events this node held when it last stopped (it crashed). Events are accepted
    /// from now on, and run once [`EventQueue::run`] is called, which also starts claiming
    /// orphaned ones (those of a node that shut down or died).
    pub async fn open(
        store: Arc<dyn EventStore>,
        runner: Arc<dyn EventRunner>,
        config: QueueConfig,
    ) -> Result<Self, StoreError> {
        let clock = Clock::start();
        let mut schedule = Schedule::new(
            config.max_running_per_function,
            config.retry.throttle_backoff,
        );
        let (mut after, mut resumed) = (None, 0usize);
        loop {
            let page = store.held_events(&config.node, after, LOAD_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            resumed += page.len();
            page.into_iter()
                .for_each(|header| schedule.insert(Waiting::new(header)));
        }
        if resumed > 0 {
            tracing::info!(events = resumed, "resuming queued Event invocations");
        }
        let (accepted, accepted_rx) = mpsc::unbounded_channel();
        let (stop, stop_rx) = watch::channel(None);
        let shared = Arc::new(Shared {
            store: Arc::clone(&store),
            node: config.node.clone(),
            runner,
            retry: config.retry,
            clock,
            accepted: accepted.clone(),
        });
        let parts = Parts {
            shared,
            schedule,
            accepted: accepted_rx,
            stop: stop_rx,
            claims: Claims {
                every: config.claim_every,
                live_for: config.node_live_for,
            },
        };
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                node: config.node,
                clock,
                accepted,
                stop,
                dispatcher: Mutex::new(Dispatcher::Ready(Box::new(parts))),
            }),
        })
    }

    /// Starts the dispatcher, which runs the queued events and every event accepted from
    /// now on (once the server is sure to serve, so a server that fails to start runs none).
    /// Calling it again does nothing.
    pub fn run(&self) {
        let mut dispatcher = self
            .inner
            .dispatcher
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *dispatcher = match std::mem::replace(&mut *dispatcher, Dispatcher::Stopped) {
            Dispatcher::Ready(parts) => {
                let claimer = tokio::spawn(claim(
                    Arc::clone(&parts.shared),
                    parts.claims.every,
                    parts.claims.live_for,
                    parts.stop.clone(),
                ));
                Dispatcher::Running {
                    dispatcher: tokio::spawn(dispatch(*parts)),
                    claimer,
                }
            }
            other => other,
        };
    }

    /// Queues an `Event` invocation durably; once this returns, the event runs at least once
    /// (unless it expires or its function is deleted) whatever happens to this process.
    pub async fn accept(&self, invocation: EventInvocation) -> Result<(), LambdaError> {
        let EventInvocation {
            request_id,
            scope,
            function,
            payload,
            client_context,
        } = invocation;
        let event = NewEvent {
            request_id,
            scope,
            qualifier: invoked_qualifier(&function),
            function_name: function.spec.function_name,
            invoked_function_arn: function.invoked_function_arn,
            payload: payload.to_vec(),
            client_context,
            enqueued_millis: self.inner.clock.now_millis(),
        };
        enqueue(
            self.inner.store.as_ref(),
            &self.inner.node,
            &self.inner.accepted,
            event,
        )
        .await
        .map_err(|e| LambdaError::Service(format!("storage failure: {e}")))
    }

    /// Stops taking events, gives the running ones `grace` to finish and leaves every other
    /// event queued (a run cut short stays queued too), let go for other nodes to claim (or
    /// this one at its next start).
    pub async fn shut_down(&self, grace: Duration) {
        self.inner.stop.send_replace(Some(grace));
        let dispatcher = std::mem::replace(
            &mut *self
                .inner
                .dispatcher
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
            Dispatcher::Stopped,
        );
        let Dispatcher::Running {
            dispatcher,
            claimer,
        } = dispatcher
        else {
            return;
        };
        for (task, joined) in [("dispatcher", dispatcher.await), ("claimer", claimer.await)] {
            if let Err(e) = joined {
                tracing::error!(error = %e, task, "an Event queue task failed");
            }
        }
        match self.inner.store.release_events(&self.inner.node).await {
            Ok(0) => {}
            Ok(released) => tracing::info!(
                events = released,
                "queued Event invocations let go for other nodes or the next start"
            ),
            // They stay held, and this node takes them back when it starts again, or other
            // nodes once its heartbeat is old.
            Err(e) => {
                tracing::warn!(error = %e, "letting go of the queued Event invocations failed")
            }
        }
    }
}

/// Stores `event` durably, then hands it to the dispatcher (once the dispatcher has stopped,
/// the event waits in the store for the next start).
async fn enqueue(
    store: &dyn EventStore,
    node: &NodeId,
    accepted: &mpsc::UnboundedSender<Waiting>,
    event: NewEvent,
) -> Result<(), StoreError> {
    let id = store.enqueue_event(&event, node).await?;
    let header = EventHeader {
        id,
        request_id: event.request_id,
        scope: event.scope,
        function_name: event.function_name,
        enqueued_millis: event.enqueued_millis,
        function_error_attempts: 0,
        next_attempt_millis: event.enqueued_millis,
    };
    let _ = accepted.send(Waiting::new(header));
    Ok(())
}

/// The qualifier the function was invoked with: the tail of the invoked ARN past the
/// function's unqualified ARN (an alias, a version or `$LATEST`), `None` when unqualified.
fn invoked_qualifier(function: &ResolvedFunction) -> Option<String> {
    function
        .invoked_function_arn
        .strip_prefix(function.spec.function_arn.as_str())?
        .strip_prefix(':')
        .map(str::to_owned)
}

/// Starts what may run, collects what finished, and sleeps until the next of: an accepted
/// event, a finished run, a released environment, a due event, or the order to stop.
async fn dispatch(parts: Parts) {
    let Parts {
        shared,
        mut schedule,
        mut accepted,
        mut stop,
        claims: _,
    } = parts;
    let capacity_freed = shared.runner.capacity_freed();
    let mut running = JoinSet::new();
    let mut started: HashMap<tokio::task::Id, Waiting> = HashMap::new();
    let grace = loop {
        // Registered before looking at the schedule, so a release meanwhile is not missed.
        let freed = capacity_freed.notified();
        tokio::pin!(freed);
        freed.as_mut().enable();
        if let Some(grace) = *stop.borrow_and_update() {
            break grace;
        }
        for event in schedule.take_ready(shared.clock.now_millis()) {
            let run = run_one(Arc::clone(&shared), event.clone());
            started.insert(running.spawn(run).id(), event);
        }
        let wake = schedule.next_wake().map(|at| shared.clock.instant_at(at));
        tokio::select! {
            changed = stop.changed() => {
                if changed.is_err() {
                    // The queue was dropped without `shut_down`: stop at once.
                    break Duration::ZERO;
                }
            }
            Some(event) = accepted.recv() => {
                schedule.insert(event);
                while let Ok(event) = accepted.try_recv() {
                    schedule.insert(event);
                }
            }
            Some(joined) = running.join_next_with_id() => {
                finish(&shared, &mut schedule, &mut started, joined);
                while let Some(joined) = running.try_join_next_with_id() {
                    finish(&shared, &mut schedule, &mut started, joined);
                }
            }
            () = &mut freed => schedule.unpause(),
            () = sleep_until(wake) => {}
        }
    };
    drain(running, grace).await;
}

/// Puts a finished run's event back in the schedule (or forgets it).
fn finish(
    shared: &Shared,
    schedule: &mut Schedule,
    started: &mut HashMap<tokio::task::Id, Waiting>,
    joined: Result<(tokio::task::Id, Returned), JoinError>,
) {
    let now = shared.clock.now_millis();
    let (id, returned) = match joined {
        Ok((id, returned)) => (id, Some(returned)),
        Err(e) => (e.id(), None),
    };
    let Some(event) = started.remove(&id) else {
        return;
    };
    let returned = returned.unwrap_or_else(|| {
        // A panic in a run: treated as Lamina's failure, so the event is retried later.
        tracing::error!(request_id = %event.header.request_id, "an Event invocation's run panicked");
        let mut again = event.clone();
        again.failures = again.failures.saturating_add(1);
        again.header.next_attempt_millis =
            now.saturating_add(millis(shared.retry.failure_backoff.delay(again.failures)));
        Returned::Requeued(again)
    });
    schedule.finish(&event, returned, now);
}

/// Waits up to `grace` for the running events, then cuts the others short (they stay
/// queued).
async fn drain(mut running: JoinSet<Returned>, grace: Duration) {
    let deadline = Instant::now() + grace;
    loop {
        tokio::select! {
            joined = running.join_next() => {
                if joined.is_none() {
                    return;
                }
            }
            () = tokio::time::sleep_until(deadline) => break,
        }
    }
    tracing::warn!(
        running = running.len(),
        "Event invocations still running at shutdown stay queued for the next start"
    );
    running.abort_all();
    while running.join_next().await.is_some() {}
}

/// Claims orphaned events every `every` (first at once), handing them to the dispatcher,
/// until the queue stops. A failed look is only logged: the store may be back at the next.
async fn claim(
    shared: Arc<Shared>,
    every: Duration,
    live_for: Duration,
    mut stop: watch::Receiver<Option<Duration>>,
) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            changed = stop.changed() => {
                if changed.is_err() || stop.borrow().is_some() {
                    return;
                }
                continue;
            }
            _ = ticks.tick() => {}
        }
        let live_since = lamina_types::timestamp::now_millis().saturating_sub(millis(live_for));
        match shared
            .store
            .claim_orphaned_events(&shared.node, live_since, CLAIM_PAGE)
            .await
        {
            Ok(claimed) => {
                if std::mem::take(&mut failing) {
                    tracing::info!("looking for orphaned Event invocations works again");
                }
                if !claimed.is_empty() {
                    tracing::info!(events = claimed.len(), "claimed orphaned Event invocations");
                }
                for header in claimed {
                    let _ = shared.accepted.send(Waiting::new(header));
                }
            }
            // Once at warning level: an unreachable database would log this every second.
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(error = %e, "looking for orphaned Event invocations failed");
            }
            Err(e) => {
                tracing::debug!(error = %e, "looking for orphaned Event invocations failed again")
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// One attempt of one event, from the store's row to the decision on what follows.
async fn run_one(shared: Arc<Shared>, event: Waiting) -> Returned {
    let span = tracing::info_span!(
        "event",
        request_id = %event.header.request_id,
        function = %event.header.function_name,
    );
    attempt(&shared, event).instrument(span).await
}

async fn attempt(shared: &Shared, event: Waiting) -> Returned {
    let header = &event.header;
    let (attempt, settings, queued) = match shared.store.queued_event(header.id, &shared.node).await
    {
        Ok(Some(queued)) => {
            // Asked at every attempt, so a configuration changed meanwhile applies.
            let settings = shared.runner.settings(&queued.event).await;
            let policy = shared.retry.applying(&settings);
            if policy.expired(header.enqueued_millis, shared.clock.now_millis()) {
                let ended = Ended {
                    queued: Some(&queued),
                    settings: &settings,
                    policy: &policy,
                    invoke_count: header.function_error_attempts,
                    response: event.last_response.as_ref(),
                };
                return outcome::discard(shared, &event, Discard::Expired, ended).await;
            }
            let attempt = shared.runner.run(queued.clone()).await;
            (attempt, settings, Some(queued))
        }
        // Removed meanwhile, or claimed by another node that thought this one dead: nothing
        // left to run here.
        Ok(None) => return Returned::Gone,
        Err(e) => (
            Attempt::Failed(format!("reading the queued event failed: {e}")),
            AsyncInvokeSettings::default(),
            None,
        ),
    };
    let policy = shared.retry.applying(&settings);
    let history = History {
        enqueued_millis: header.enqueued_millis,
        function_error_attempts: header.function_error_attempts,
        failures: event.failures,
    };
    let ran = attempt.response().is_some();
    let ended = Ended {
        queued: queued.as_ref(),
        settings: &settings,
        policy: &policy,
        invoke_count: header
            .function_error_attempts
            .saturating_add(u32::from(ran)),
        response: attempt.response().or(event.last_response.as_ref()),
    };
    match decide(&attempt, history, &policy, shared.clock.now_millis()) {
        Decision::Done => {
            outcome::send(shared, &ended, Condition::Success).await;
            remove(shared, &event).await;
            Returned::Gone
        }
        Decision::RetryFunctionError {
            function_error_attempts,
            at_millis,
        } => {
            if let Err(e) = shared
                .store
                .retry_event_later(header.id, &shared.node, function_error_attempts, at_millis)
                .await
            {
                // The run is counted here all the same; after a restart it may run once more.
                tracing::error!(error = %e, "recording an Event invocation's retry failed");
            }
            let mut again = event.clone();
            again.header.function_error_attempts = function_error_attempts;
            again.header.next_attempt_millis = at_millis;
            again.failures = 0;
            // Kept for the record should the event expire before its next run.
            again.last_response = attempt.response().cloned();
            Returned::Requeued(again)
        }
        Decision::RetryFailure {
            failures,
            at_millis,
        } => {
            // Once per event at warning level: a function that stays unready (409) would
            // otherwise log every event every minute for hours.
            if let Attempt::Failed(why) = &attempt {
                if failures == 1 {
                    tracing::warn!(error = %why, "an Event invocation failed; retrying until it expires");
                } else {
                    tracing::debug!(error = %why, failures, "an Event invocation failed again");
                }
            }
            let mut again = event.clone();
            again.failures = failures;
            again.header.next_attempt_millis = at_millis;
            Returned::Requeued(again)
        }
        Decision::WaitForCapacity => Returned::Throttled(event.clone()),
        Decision::Discard(why) => outcome::discard(shared, &event, why, ended).await,
    }
}

async fn remove(shared: &Shared, event: &Waiting) {
    match shared
        .store
        .delete_event(event.header.id, &shared.node)
        .await
    {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            request_id = %event.header.request_id,
            "a finished Event invocation was gone or held by another node (this one's \
             heartbeat had stopped): it may run again there"
        ),
        Err(e) => tracing::error!(
            error = %e,
            "removing a finished Event invocation failed; it runs again at the next start"
        ),
    }
}

/// How an attempt left an event, for what its end sends on.
#[derive(Clone, Copy)]
struct Ended<'a> {
    /// The event in full; `None` when reading it failed.
    queued: Option<&'a QueuedEvent>,
    /// Its qualifier's configuration.
    settings: &'a AsyncInvokeSettings,
    /// The retry rules narrowed by it.
    policy: &'a RetryPolicy,
    /// Attempts that ran the function so far.
    invoke_count: u32,
    /// The function's last answer.
    response: Option<&'a crate::retry::Response>,
}

/// Milliseconds since the Unix epoch for stored times, advanced by tokio's monotonic clock
/// (so a wall-clock step cannot stall or rush the queue, and tests can pause time).
#[derive(Debug, Clone, Copy)]
struct Clock {
    base_millis: i64,
    base: Instant,
}

impl Clock {
    /// The longest the dispatcher sleeps at once; it looks at the schedule again then.
    const MAX_SLEEP: Duration = Duration::from_secs(3600);

    fn start() -> Self {
        Self {
            base_millis: lamina_types::timestamp::now_millis(),
            base: Instant::now(),
        }
    }

    fn now_millis(&self) -> i64 {
        self.base_millis.saturating_add(millis(self.base.elapsed()))
    }

    /// The instant at `at_millis` (now for a past time, at most an hour ahead).
    fn instant_at(&self, at_millis: i64) -> Instant {
        let now = Instant::now();
        let ahead = u64::try_from(at_millis.saturating_sub(self.now_millis())).unwrap_or(0);
        now + Duration::from_millis(ahead).min(Self::MAX_SLEEP)
    }
}

mod outcome;
#[cfg(test)]
mod tests;

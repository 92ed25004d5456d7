//! The dispatcher against an in-memory store and a scripted runner, in tokio's paused time:
//! sleeps and backoffs pass instantly, in order.

use std::collections::BTreeMap;
use std::sync::Mutex;

use lamina_control::functions::AsyncInvokeSettings;
use lamina_store::QueuedEvent;
use lamina_types::{AccountId, FunctionSpec, NodeId, Region};
use tokio::sync::Notify;

use super::*;
use crate::retry::{Backoff, Response};

const ARN: &str = "arn:aws:lambda:us-west-2:123456789012:function";

/// The node every test queue runs as.
fn this_node() -> NodeId {
    NodeId::from_random(1)
}

/// A node that holds events in some tests: live or not, as `MemoryStore::live` says.
fn other_node() -> NodeId {
    NodeId::from_random(2)
}

#[derive(Default)]
struct MemoryStore {
    rows: Mutex<BTreeMap<i64, (QueuedEvent, Option<NodeId>)>>,
    last_id: Mutex<i64>,
    /// The nodes whose heartbeat is recent.
    live: Mutex<Vec<NodeId>>,
}

impl MemoryStore {
    fn rows(&self) -> Vec<QueuedEvent> {
        self.rows
            .lock()
            .unwrap()
            .values()
            .map(|(row, _)| row.clone())
            .collect()
    }

    fn holders(&self) -> Vec<Option<NodeId>> {
        self.rows
            .lock()
            .unwrap()
            .values()
            .map(|(_, holder)| holder.clone())
            .collect()
    }

    fn request_ids(&self) -> Vec<String> {
        self.rows()
            .into_iter()
            .map(|r| r.event.request_id)
            .collect()
    }

    fn held_by(&self, id: i64, holder: &NodeId) -> bool {
        self.rows
            .lock()
            .unwrap()
            .get(&id)
            .is_some_and(|(_, h)| h.as_ref() == Some(holder))
    }
}

fn header_of(r: &QueuedEvent) -> EventHeader {
    EventHeader {
        id: r.id,
        request_id: r.event.request_id.clone(),
        scope: r.event.scope.clone(),
        function_name: r.event.function_name.clone(),
        enqueued_millis: r.event.enqueued_millis,
        function_error_attempts: r.function_error_attempts,
        next_attempt_millis: r.next_attempt_millis,
    }
}

#[async_trait::async_trait]
impl EventStore for MemoryStore {
    async fn enqueue_event(&self, event: &NewEvent, holder: &NodeId) -> Result<i64, StoreError> {
        let mut last = self.last_id.lock().unwrap();
        *last += 1;
        let row = QueuedEvent {
            id: *last,
            event: event.clone(),
            function_error_attempts: 0,
            next_attempt_millis: event.enqueued_millis,
        };
        self.rows
            .lock()
            .unwrap()
            .insert(*last, (row, Some(holder.clone())));
        Ok(*last)
    }

    async fn held_events(
        &self,
        holder: &NodeId,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<EventHeader>, StoreError> {
        Ok(self
            .rows
            .lock()
            .unwrap()
            .range(after.map_or(i64::MIN, |a| a + 1)..)
            .filter(|(_, (_, h))| h.as_ref() == Some(holder))
            .take(limit as usize)
            .map(|(_, (r, _))| header_of(r))
            .collect())
    }

    async fn claim_orphaned_events(
        &self,
        holder: &NodeId,
        _live_since_millis: i64,
        limit: u32,
    ) -> Result<Vec<EventHeader>, StoreError> {
        let live = self.live.lock().unwrap().clone();
        let mut rows = self.rows.lock().unwrap();
        let mut claimed = Vec::new();
        for (row, h) in rows.values_mut() {
            let orphaned = match h {
                None => true,
                Some(h) => h != holder && !live.contains(h),
            };
            if orphaned && claimed.len() < limit as usize {
                *h = Some(holder.clone());
                claimed.push(header_of(row));
            }
        }
        Ok(claimed)
    }

    async fn release_events(&self, holder: &NodeId) -> Result<u64, StoreError> {
        let mut released = 0;
        for (_, h) in self.rows.lock().unwrap().values_mut() {
            if h.as_ref() == Some(holder) {
                *h = None;
                released += 1;
            }
        }
        Ok(released)
    }

    async fn queued_event(
        &self,
        id: i64,
        holder: &NodeId,
    ) -> Result<Option<QueuedEvent>, StoreError> {
        Ok(self
            .held_by(id, holder)
            .then(|| self.rows.lock().unwrap().get(&id).map(|(r, _)| r.clone()))
            .flatten())
    }

    async fn retry_event_later(
        &self,
        id: i64,
        holder: &NodeId,
        function_error_attempts: u32,
        next_attempt_millis: i64,
    ) -> Result<bool, StoreError> {
        if !self.held_by(id, holder) {
            return Ok(false);
        }
        Ok(match self.rows.lock().unwrap().get_mut(&id) {
            Some((row, _)) => {
                row.function_error_attempts = function_error_attempts;
                row.next_attempt_millis = next_attempt_millis;
                true
            }
            None => false,
        })
    }

    async fn delete_event(&self, id: i64, holder: &NodeId) -> Result<bool, StoreError> {
        if !self.held_by(id, holder) {
            return Ok(false);
        }
        Ok(self.rows.lock().unwrap().remove(&id).is_some())
    }
}

/// One run as the runner saw it.
#[derive(Debug, Clone)]
struct Run {
    request_id: String,
    function: String,
    qualifier: Option<String>,
    payload: Vec<u8>,
    started: Instant,
}

fn succeeded() -> Attempt {
    Attempt::Succeeded(Response {
        payload: Bytes::from_static(br#"{"answer":42}"#),
        executed_version: "$LATEST".into(),
    })
}

fn function_error() -> Attempt {
    Attempt::FunctionError(Response {
        payload: Bytes::from_static(br#"{"errorMessage":"boom"}"#),
        executed_version: "$LATEST".into(),
    })
}

type Script = dyn Fn(&QueuedEvent, usize) -> Attempt + Send + Sync;

/// Runs by `script(event, n)` (n: this event's run number, from 1), each taking `run_time`.
struct ScriptedRunner {
    script: Box<Script>,
    run_time: Duration,
    runs: Mutex<Vec<Run>>,
    running: Mutex<HashMap<String, usize>>,
    most_running: Mutex<HashMap<String, usize>>,
    notes: Mutex<Vec<(String, String)>>,
    freed: Arc<Notify>,
    /// The configuration of each function's events, by function name.
    settings: Mutex<HashMap<String, AsyncInvokeSettings>>,
}

impl ScriptedRunner {
    fn new(
        run_time: Duration,
        script: impl Fn(&QueuedEvent, usize) -> Attempt + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(Self {
            script: Box::new(script),
            run_time,
            runs: Mutex::default(),
            running: Mutex::default(),
            most_running: Mutex::default(),
            notes: Mutex::default(),
            freed: Arc::new(Notify::new()),
            settings: Mutex::default(),
        })
    }

    fn runs(&self) -> Vec<Run> {
        self.runs.lock().unwrap().clone()
    }

    fn runs_of(&self, request_id: &str) -> Vec<Run> {
        self.runs()
            .into_iter()
            .filter(|r| r.request_id == request_id)
            .collect()
    }

    fn notes(&self) -> Vec<(String, String)> {
        self.notes.lock().unwrap().clone()
    }

    fn most_running(&self, function: &str) -> usize {
        self.most_running
            .lock()
            .unwrap()
            .get(function)
            .copied()
            .unwrap_or(0)
    }
}

#[async_trait::async_trait]
impl EventRunner for ScriptedRunner {
    async fn run(&self, event: QueuedEvent) -> Attempt {
        let function = event.event.function_name.clone();
        let n = {
            let mut runs = self.runs.lock().unwrap();
            runs.push(Run {
                request_id: event.event.request_id.clone(),
                function: function.clone(),
                qualifier: event.event.qualifier.clone(),
                payload: event.event.payload.clone(),
                started: Instant::now(),
            });
            runs.iter()
                .filter(|r| r.request_id == event.event.request_id)
                .count()
        };
        {
            let mut running = self.running.lock().unwrap();
            let now = running.entry(function.clone()).or_default();
            *now += 1;
            let mut most = self.most_running.lock().unwrap();
            let most = most.entry(function.clone()).or_default();
            *most = (*most).max(*now);
        }
        tokio::time::sleep(self.run_time).await;
        *self.running.lock().unwrap().get_mut(&function).unwrap() -= 1;
        (self.script)(&event, n)
    }

    async fn settings(&self, event: &NewEvent) -> AsyncInvokeSettings {
        self.settings
            .lock()
            .unwrap()
            .get(&event.function_name)
            .cloned()
            .unwrap_or_default()
    }

    fn note(&self, log: &str, line: &str) {
        self.notes
            .lock()
            .unwrap()
            .push((log.to_owned(), line.to_owned()));
    }

    fn capacity_freed(&self) -> Arc<Notify> {
        Arc::clone(&self.freed)
    }
}

fn config() -> QueueConfig {
    QueueConfig {
        retry: policy(),
        max_running_per_function: 1,
        node: this_node(),
        claim_every: Duration::from_secs(1),
        node_live_for: Duration::from_secs(10),
    }
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        function_error_delays: vec![Duration::from_secs(60), Duration::from_secs(120)],
        max_event_age: Duration::from_secs(6 * 3600),
        failure_backoff: Backoff {
            first: Duration::from_secs(1),
            max: Duration::from_secs(60),
        },
        throttle_backoff: Backoff {
            first: Duration::from_millis(50),
            max: Duration::from_secs(5),
        },
    }
}

async fn start(
    store: &Arc<MemoryStore>,
    runner: &Arc<ScriptedRunner>,
    cap: usize,
    retry: RetryPolicy,
) -> EventQueue {
    let store: Arc<dyn EventStore> = store.clone();
    let runner: Arc<dyn EventRunner> = runner.clone();
    let config = QueueConfig {
        retry,
        max_running_per_function: cap,
        ..config()
    };
    let queue = EventQueue::open(store, runner, config).await.unwrap();
    queue.run();
    queue
}

fn invocation(function: &str, qualifier: Option<&str>, request_id: &str) -> EventInvocation {
    let unqualified = format!("{ARN}:{function}");
    let invoked = match qualifier {
        Some(q) => format!("{unqualified}:{q}"),
        None => unqualified.clone(),
    };
    EventInvocation {
        request_id: request_id.into(),
        scope: Scope::new(
            AccountId::parse("123456789012").unwrap(),
            Region::parse("us-west-2").unwrap(),
        ),
        function: ResolvedFunction {
            owner: Scope::new(
                AccountId::parse("123456789012").unwrap(),
                Region::parse("us-west-2").unwrap(),
            ),
            spec: FunctionSpec {
                function_name: function.into(),
                function_arn: unqualified,
                version: "$LATEST".into(),
                region: "us-west-2".into(),
                runtime: lamina_types::Runtime::parse("python3.12").unwrap(),
                handler: "app.handler".into(),
                code: lamina_types::ExtractedTree {
                    digest: lamina_types::layer::Digest([1; 32]),
                    path: "/code".into(),
                    bytecode: None,
                },
                layers: Vec::new(),
                memory_mb: 128,
                timeout_secs: 3,
                ephemeral_storage_mb: 512,
                environment: BTreeMap::new(),
                architecture: lamina_types::Architecture::X86_64,
                log_group: format!("/aws/lambda/{function}"),
                json_log_level: None,
                snap_start: false,
                concurrency: Default::default(),
            },
            executed_version: "$LATEST".into(),
            invoked_function_arn: invoked,
        },
        payload: Bytes::from_static(b"{}"),
        client_context: None,
    }
}

async fn accept(queue: &EventQueue, function: &str, request_id: &str) {
    queue
        .accept(invocation(function, None, request_id))
        .await
        .unwrap();
}

/// Waits (in paused time, so instantly) until `done` holds; fails after a virtual hour.
async fn until(what: &str, done: impl Fn() -> bool) {
    let waited = tokio::time::timeout(Duration::from_secs(3600), async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "timed out waiting until {what}");
}

#[tokio::test(start_paused = true)]
async fn an_accepted_event_is_stored_runs_once_and_is_removed() {
    let store = Arc::new(MemoryStore::default());
    let runner = ScriptedRunner::new(Duration::from_millis(5), |_, _| succeeded());
    let queue = start(&store, &runner, 2, policy()).await;

    queue
        .accept(invocation("f", Some("live"), "req-1"))
        .await
        .unwrap();
    let stored = store.rows();

    assert_eq!(stored.len(), 1, "written before accept returns");
    assert_eq!(stored[0].event.qualifier.as_deref(), Some("live"));
    assert_eq!(
        stored[0].event.invoked_function_arn,
        format!("{ARN}:f:live")
    );
    until("the event is removed", || store.rows().is_empty()).await;
    tokio::time::sleep(Duration::from_secs(600)).await;
    let runs = runner.runs();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].request_id.as_str(), runs[0].qualifier.as_deref()),
        ("req-1", Some("live"))
    );
    queue.shut_down(Duration::from_secs(1)).await;
}

#[tokio::test(start_paused = true)]
async fn an_unqualified_invocation_is_stored_without_a_qualifier() {
    let store = Arc::new(MemoryStore::default());
    let runner = ScriptedRunner::new(Duration::from_secs(3600), |_, _| succeeded());
    let queue = start(&store, &runner, 1, policy()).await;

    accept(&queue, "f", "req-1").await;

    assert_eq!(store.rows()[0].event.qualifier, None);
    queue.shut_down(Duration::ZERO).await;
}

#[tokio::test(start_paused = true)]
async fn function_errors_are_retried_twice_with_the_configured_delays() {
    let store = Arc::new(MemoryStore::default());
    let runner = ScriptedRunner::new(Duration::ZERO, |_, _| function_error());
    let queue = start(&store, &runner, 1, policy()).await;

    accept(&queue, "f", "req-1").await;
    until("the event is discarded", || store.rows().is_empty()).await;
    tokio::time::sleep(Duration::from_secs(600)).await;

    let runs = runner.runs_of("req-1");
    assert_eq!(runs.len(), 3);
    let gaps: Vec<u64> = runs
        .windows(2)
        .map(|w| (w[1].started - w[0].started).as_secs())
        .collect();
    assert_eq!(gaps, [60, 120]);
    assert_eq!(
        runner.notes(),
        [(
            "123456789012.f".to_owned(),
            "[lamina] Event invocation req-1 discarded: all 3 attempts ended in a function error"
                .to_owned()
        )]
    );
    queue.shut_down(Duration::ZERO).await;
}

#[tokio::test(start_paused = true)]
async fn throttles_and_lamina_failures_consume_no_retries() {
    let store = Arc::new(MemoryStore::default());
    // Each event: 5 throttles, 3 Lamina failures (a 409 while the function settles), a
    // function error, then success: all of it within the two retries AWS allows.
    let runner = ScriptedRunner::new(Duration::from_millis(1), |_, n| match n {
        1..=5 => Attempt::Throttled,
        6..=8 => Attempt::Failed("The function is being created.".into()),
        9 => function_error(),
        _ => succeeded(),
    });
    let queue = start(&store, &runner, 3, policy()).await;

    for n in 0..20 {
        accept(&queue, "f", &format!("req-{n}")).await;
    }
    until("every event ran", || store.rows().is_empty()).await;

    for n in 0..20 {
        assert_eq!(runner.runs_of(&format!("req-{n}")).len(), 10, "req-{n}");
    }
    assert_eq!(runner.notes(), []);
    queue.shut_down(Duration::ZERO).await;
}

#[tokio::test(start_paused = true)]
async fn a_released_environment_ends_a_throttle_pause_at_once() {
    let store = Arc::new(MemoryStore::default());
    let runner = ScriptedRunner::new(Duration::ZERO, |_, n| match n {
        1 => Attempt::Throttled,
        _ => succeeded(),
    });
    let mut retry = policy();
    retry.throttle_backoff.first = Duration::from_secs(3600);
    retry.throttle_backoff.max = Duration::from_secs(3600);
    let queue = start(&store, &runner, 1, retry).await;

    accept(&queue, "f", "req-1").await;
    until("the first attempt", || runner.runs().len() == 1).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(runner.runs().len(), 1, "paused after the throttle");
    runner.freed.notify_waiters();
    until("the event ran", || store.rows().is_empty()).await;

    let runs = runner.runs();
    assert!(runs[1].started - runs[0].started < Duration::from_secs(60));
    queue.shut_down(Duration::ZERO).await;
}

#[tokio::test(start_paused = true)]
async fn one_function_runs_at_most_cap_events_and_never_starves_another() {
    let store = Arc::new(MemoryStore::default());
    let runner = ScriptedRunner::new(Duration::from_secs(1), |_, _| succeeded());
    let queue = start(&store, &runner, 2, policy()).await;

    for n in 0..20 {
        accept(&queue, "busy", &format!("busy-{n}")).await;
    }
    accept(&queue, "quiet", "quiet-1").await;
    until("every event ran", || store.rows().is_empty()).await;

    assert_eq!(runner.most_running("busy"), 2);
    let runs = runner.runs();
    let quiet = runs.iter().find(|r| r.function == "quiet").unwrap();
    let last_busy = runs.iter().rfind(|r| r.function == "busy").unwrap();
    assert!(quiet.started < last_busy.started, "quiet waited for busy");
    let order: Vec<&str> = runs
        .iter()
        .filter(|r| r.function == "busy")
        .map(|r| r.request_id.as_str())
        .collect();
    let expected: Vec<String> = (0..20).map(|n| format!("busy-{n}")).collect();
    assert_eq!(order, expected, "first accepted, first run");
    queue.shut_down(Duration::ZERO).await;
}

#[tokio::test(start_paused = true)]
async fn nothing_runs_before_run_is_called() {
    let store = Arc::new(MemoryStore::default());
    let runner = ScriptedRunner::new(Duration::ZERO, |_, _| succeeded());
    let config = QueueConfig {
        max_running_per_function: 1,
        ..config()
    };
    let queue = EventQueue::open(store.clone(), runner.clone(), config)
        .await
        .unwrap();

    accept(&queue, "f", "req-1").await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(runner.runs().is_empty());
    queue.run();
    queue.run();
    until("the event ran", || store.rows().is_empty()).await;

    assert_eq!(runner.runs().len(), 1);
    queue.shut_down(Duration::ZERO).await;
}

/// Queues `n` events held by `holder` (`None`: let go by a node that shut down).
async fn queued_by(store: &MemoryStore, holder: Option<&NodeId>, prefix: &str, n: usize) {
    for k in 0..n {
        let event = invocation("f", None, &format!("{prefix}-{k}"));
        let new = NewEvent {
            request_id: event.request_id,
            scope: event.scope,
            function_name: "f".into(),
            qualifier: None,
            invoked_function_arn: event.function.invoked_function_arn,
            payload: b"{}".to_vec(),
            client_context: None,
            enqueued_millis: lamina_types::timestamp::now_millis(),
        };
        let id = store
            .enqueue_event(&new, holder.unwrap_or(&other_node()))
            .await
            .unwrap();
        if holder.is_none() {
            store.rows.lock().unwrap().get_mut(&id).unwrap().1 = None;
        }
    }
}

#[tokio::test(start_paused = true)]
async fn events_this_node_held_when_it_crashed_run_at_start() {
    let store = Arc::new(MemoryStore::default());
    queued_by(&store, Some(&this_node()), "req", 2500).await;
    let runner = ScriptedRunner::new(Duration::ZERO, |_, _| succeeded());

    let queue = start(&store, &runner, 10, policy()).await;
    until("every event ran", || store.rows().is_empty()).await;

    assert_eq!(runner.runs().len(), 2500);
    queue.shut_down(Duration::ZERO).await;
}

#[tokio::test(start_paused = true)]
async fn events_let_go_or_held_by_a_dead_node_are_claimed_page_by_page_and_run() {
    let store = Arc::new(MemoryStore::default());
    queued_by(&store, None, "let-go", 150).await;
    queued_by(&store, Some(&other_node()), "dead", 150).await;
    let runner = ScriptedRunner::new(Duration::ZERO, |_, _| succeeded());

    let queue = start(&store, &runner, 10, policy()).await;
    until("every event ran", || store.rows().is_empty()).await;

    assert_eq!(runner.runs().len(), 300);
    queue.shut_down(Duration::ZERO).await;
}

#[tokio::test(start_paused = true)]
async fn events_of_a_live_node_are_left_to_it() {
    let store = Arc::new(MemoryStore::default());
    store.live.lock().unwrap().push(other_node());
    queued_by(&store, Some(&other_node()), "theirs", 3).await;
    let runner = ScriptedRunner::new(Duration::ZERO, |_, _| succeeded());

    let queue = start(&store, &runner, 10, policy()).await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(runner.runs().is_empty());

    // Its heartbeat stops: its events are orphans now.
    store.live.lock().unwrap().clear();
    until("every event ran", || store.rows().is_empty()).await;
    assert_eq!(runner.runs().len(), 3);
    queue.shut_down(Duration::ZERO).await;
}

#[tokio::test(start_paused = true)]
async fn an_event_claimed_away_meanwhile_is_not_run_here() {
    let store = Arc::new(MemoryStore::default());
    let runner = ScriptedRunner::new(Duration::ZERO, |_, _| succeeded());
    let queue = EventQueue::open(store.clone(), runner.clone(), config())
        .await
        .unwrap();
    accept(&queue, "f", "req-1").await;
    // Another node took it while this one's heartbeat had stopped.
    for (_, holder) in store.rows.lock().unwrap().values_mut() {
        *holder = Some(other_node());
    }
    store.live.lock().unwrap().push(other_node());

    queue.run();
    tokio::time::sleep(Duration::from_secs(60)).await;

    assert!(runner.runs().is_empty());
    assert_eq!(store.holders(), vec![Some(other_node())]);
    queue.shut_down(Duration::ZERO).await;
}

#[tokio::test(start_paused = true)]
async fn shutting_down_lets_go_of_the_events_left() {
    let store = Arc::new(MemoryStore::default());
    let runner = ScriptedRunner::new(Duration::ZERO, |_, _| function_error());
    let queue = start(&store, &runner, 10, policy()).await;
    accept(&queue, "f", "req-1").await;
    until("the first attempt ran", || runner.runs().len() == 1).await;

    queue.shut_down(Duration::ZERO).await;

    assert_eq!(store.holders(), vec![None]);
}

#[tokio::test(start_paused = true)]
async fn shutdown_finishes_runs_within_the_grace_and_leaves_the_rest_queued() {
    let store = Arc::new(MemoryStore::default());
    let runner = ScriptedRunner::new(Duration::from_secs(2), |_, _| succeeded());
    let queue = start(&store, &runner, 1, policy()).await;
    for n in 0..3 {
        accept(&queue, "f", &format!("req-{n}")).await;
    }
    until("the first run started", || runner.runs().len() == 1).await;

    queue.shut_down(Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_secs(60)).await;

    assert_eq!(runner.runs().len(), 1, "nothing starts after shutdown");
    assert_eq!(store.request_ids(), ["req-1", "req-2"]);
    // Accepted after shutdown: stored, run at the next start.
    accept(&queue, "f", "req-3").await;
    assert_eq!(store.request_ids(), ["req-1", "req-2", "req-3"]);
}

#[tokio::test(start_paused = true)]
async fn a_run_cut_short_by_shutdown_stays_queued() {
    let store = Arc::new(MemoryStore::default());
    let runner = ScriptedRunner::new(Duration::from_secs(60), |_, _| succeeded());
    let queue = start(&store, &runner, 1, policy()).await;
    accept(&queue, "f", "req-0").await;
    until("the run started", || runner.runs().len() == 1).await;

    queue.shut_down(Duration::from_secs(1)).await;

    assert_eq!(store.request_ids(), ["req-0"]);
}

#[tokio::test(start_paused = true)]
async fn an_event_of_a_deleted_function_is_discarded_with_a_log_line() {
    let store = Arc::new(MemoryStore::default());
    let runner = ScriptedRunner::new(Duration::ZERO, |_, _| {
        Attempt::FunctionGone("Function not found: arn".into())
    });
    let queue = start(&store, &runner, 1, policy()).await;

    accept(&queue, "f", "req-1").await;
    until("the event is discarded", || store.rows().is_empty()).await;

    assert_eq!(runner.runs().len(), 1);
    assert_eq!(
        runner.notes(),
        [(
            "123456789012.f".to_owned(),
            "[lamina] Event invocation req-1 discarded: the function no longer exists \
             (Function not found: arn)"
                .to_owned()
        )]
    );
    queue.shut_down(Duration::ZERO).await;
}

#[tokio::test(start_paused = true)]
async fn an_event_throttled_past_its_maximum_age_is_discarded() {
    let store = Arc::new(MemoryStore::default());
    let runner = ScriptedRunner::new(Duration::ZERO, |_, _| Attempt::Throttled);
    let mut retry = policy();
    retry.max_event_age = Duration::from_secs(60);
    let queue = start(&store, &runner, 1, retry).await;

    accept(&queue, "f", "req-1").await;
    until("the event is discarded", || store.rows().is_empty()).await;

    assert!(runner.runs().len() > 10, "throttles were retried");
    assert_eq!(
        runner.notes(),
        [(
            "123456789012.f".to_owned(),
            "[lamina] Event invocation req-1 discarded: it did not run successfully within the \
             maximum event age of 60 seconds"
                .to_owned()
        )]
    );
    queue.shut_down(Duration::ZERO).await;
}

const DESTINATION: &str = "arn:aws:lambda:us-west-2:123456789012:function:d";

impl ScriptedRunner {
    fn configure(&self, function: &str, settings: AsyncInvokeSettings) {
        self.settings
            .lock()
            .unwrap()
            .insert(function.to_owned(), settings);
    }

    /// The payloads function `function` ran with, as JSON.
    fn received(&self, function: &str) -> Vec<serde_json::Value> {
        self.runs()
            .iter()
            .filter(|r| r.function == function)
            .map(|r| serde_json::from_slice(&r.payload).unwrap())
            .collect()
    }
}

/// Runs `script` for function `f` (the destination `d` always succeeds) with `settings`.
async fn with_settings(
    settings: AsyncInvokeSettings,
    script: impl Fn(usize) -> Attempt + Send + Sync + 'static,
) -> (Arc<MemoryStore>, Arc<ScriptedRunner>, EventQueue) {
    let store = Arc::new(MemoryStore::default());
    let runner = ScriptedRunner::new(Duration::from_millis(1), move |e, n| {
        if e.event.function_name == "d" {
            succeeded()
        } else {
            script(n)
        }
    });
    runner.configure("f", settings);
    let queue = start(&store, &runner, 1, policy()).await;
    (store, runner, queue)
}

#[tokio::test(start_paused = true)]
async fn maximum_retry_attempts_bounds_the_runs_and_the_failure_goes_on_failure() {
    for (retries, runs) in [(0, 1), (1, 2), (2, 3)] {
        let settings = AsyncInvokeSettings {
            maximum_retry_attempts: Some(retries),
            on_failure: Some(DESTINATION.into()),
            ..AsyncInvokeSettings::default()
        };
        let (store, runner, queue) = with_settings(settings, |_| function_error()).await;

        accept(&queue, "f", "req-1").await;
        until("the record is delivered", || {
            runner.received("d").len() == 1
        })
        .await;
        until("the queue is empty", || store.rows().is_empty()).await;
        tokio::time::sleep(Duration::from_secs(600)).await;

        assert_eq!(runner.runs_of("req-1").len(), runs, "{retries} retries");
        let record = &runner.received("d")[0];
        assert_eq!(
            record["requestContext"],
            serde_json::json!({
                "requestId": "req-1",
                "functionArn": format!("{ARN}:f:$LATEST"),
                "condition": "RetriesExhausted",
                "approximateInvokeCount": runs,
            })
        );
        assert_eq!(record["requestPayload"], serde_json::json!({}));
        assert_eq!(
            record["responseContext"]["functionError"],
            serde_json::json!("Unhandled")
        );
        assert_eq!(
            record["responsePayload"],
            serde_json::json!({ "errorMessage": "boom" })
        );
        queue.shut_down(Duration::ZERO).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_success_goes_on_success_with_the_response_and_only_there() {
    let settings = AsyncInvokeSettings {
        on_success: Some(format!("{DESTINATION}:live")),
        on_failure: Some("arn:aws:lambda:us-west-2:123456789012:function:never".into()),
        dead_letter: Some("arn:aws:lambda:us-west-2:123456789012:function:never".into()),
        ..AsyncInvokeSettings::default()
    };
    let (store, runner, queue) = with_settings(settings, |n| match n {
        1 => function_error(),
        _ => succeeded(),
    })
    .await;

    accept(&queue, "f", "req-1").await;
    until("the record is delivered", || {
        runner.received("d").len() == 1
    })
    .await;
    until("the queue is empty", || store.rows().is_empty()).await;

    let runs = runner.runs();
    let delivery = runs.iter().find(|r| r.function == "d").unwrap();
    assert_eq!(delivery.qualifier.as_deref(), Some("live"));
    assert_ne!(delivery.request_id, "req-1", "a request of its own");
    let record = &runner.received("d")[0];
    assert_eq!(
        record["requestContext"]["condition"],
        serde_json::json!("Success")
    );
    assert_eq!(
        record["requestContext"]["approximateInvokeCount"],
        serde_json::json!(2)
    );
    assert_eq!(
        record["responsePayload"],
        serde_json::json!({ "answer": 42 })
    );
    assert!(runs.iter().all(|r| r.function != "never"));
    queue.shut_down(Duration::ZERO).await;
}

#[tokio::test(start_paused = true)]
async fn an_event_past_its_configured_age_goes_on_failure_as_event_age_exceeded() {
    let settings = AsyncInvokeSettings {
        maximum_event_age: Some(Duration::from_secs(60)),
        on_failure: Some(DESTINATION.into()),
        ..AsyncInvokeSettings::default()
    };
    let (_store, runner, queue) = with_settings(settings, |_| Attempt::Throttled).await;

    accept(&queue, "f", "req-1").await;
    until("the record is delivered", || {
        runner.received("d").len() == 1
    })
    .await;

    let record = &runner.received("d")[0];
    assert_eq!(
        record["requestContext"]["condition"],
        serde_json::json!("EventAgeExceeded")
    );
    assert_eq!(
        record["requestContext"]["approximateInvokeCount"],
        serde_json::json!(0)
    );
    assert!(record.get("responsePayload").is_none(), "{record}");
    assert!(
        runner.notes()[0]
            .1
            .contains("maximum event age of 60 seconds"),
        "{:?}",
        runner.notes()
    );
    queue.shut_down(Duration::ZERO).await;
}

#[tokio::test(start_paused = true)]
async fn a_dead_letter_target_receives_the_original_event() {
    let settings = AsyncInvokeSettings {
        maximum_retry_attempts: Some(0),
        dead_letter: Some(DESTINATION.into()),
        ..AsyncInvokeSettings::default()
    };
    let (_store, runner, queue) = with_settings(settings, |_| function_error()).await;

    queue
        .accept(EventInvocation {
            payload: Bytes::from_static(br#"{"order":7}"#),
            ..invocation("f", None, "req-1")
        })
        .await
        .unwrap();
    until("the event is delivered", || runner.received("d").len() == 1).await;

    assert_eq!(runner.received("d"), [serde_json::json!({ "order": 7 })]);
    queue.shut_down(Duration::ZERO).await;
}

#[tokio::test(start_paused = true)]
async fn a_destination_lamina_cannot_deliver_to_is_noted_in_the_log() {
    let settings = AsyncInvokeSettings {
        maximum_retry_attempts: Some(0),
        on_failure: Some("arn:aws:sqs:us-west-2:123456789012:q".into()),
        ..AsyncInvokeSettings::default()
    };
    let (store, runner, queue) = with_settings(settings, |_| function_error()).await;

    accept(&queue, "f", "req-1").await;
    until("the event is discarded", || store.rows().is_empty()).await;

    let notes: Vec<String> = runner.notes().into_iter().map(|(_, l)| l).collect();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(
        notes[1].contains(
            "OnFailure destination arn:aws:sqs:us-west-2:123456789012:q was not delivered"
        ),
        "{notes:?}"
    );
    queue.shut_down(Duration::ZERO).await;
}

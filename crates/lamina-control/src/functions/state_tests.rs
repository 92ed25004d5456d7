//! The state model over a real store, with a preparer the test opens and fails at will.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use lamina_types::LambdaError;
use lamina_types::function_state::{NotReady, Reason, ReasonCode, State, UpdateStatus};
use tokio::sync::Semaphore;

use super::tests::{Fixture, create_cmd, fixture_with};
use super::*;

/// Finishes a preparation per permit the test adds; fails runtimes named `java21`.
struct Gate {
    permits: Semaphore,
    closed: AtomicBool,
}

impl Gate {
    fn new(open: bool) -> Arc<Self> {
        Arc::new(Self {
            permits: Semaphore::new(0),
            closed: AtomicBool::new(!open),
        })
    }

    fn open(&self) {
        self.closed.store(false, Ordering::SeqCst);
        self.permits.add_permits(100);
    }
}

#[async_trait::async_trait]
impl Preparer for Gate {
    async fn prepare(&self, record: &FunctionVersionRecord) -> Result<(), NotReady> {
        if self.closed.load(Ordering::SeqCst)
            && let Ok(permit) = self.permits.acquire().await
        {
            permit.forget();
        }
        match record.config.runtime.as_deref() {
            Some("java21") => Err(NotReady(Reason {
                code: ReasonCode::InvalidRuntime,
                text: "java21 does not run here".into(),
            })),
            _ => Ok(()),
        }
    }
}

async fn latest_record(f: &Fixture, name: &str) -> FunctionVersionRecord {
    f.functions.latest(&f.scope, name).await.unwrap()
}

/// Polls the store (not through the read barrier) until the function settles.
async fn until_settled(f: &Fixture, name: &str) -> FunctionVersionRecord {
    for _ in 0..500 {
        let record = latest_record(f, name).await;
        if !record.status.is_settling() {
            return record;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{name} never settled");
}

fn memory_update(name: &str, memory: i64) -> UpdateFunctionConfiguration {
    UpdateFunctionConfiguration {
        function_name: name.into(),
        revision_id: None,
        config: ConfigInput {
            memory_size: Some(memory),
            ..Default::default()
        },
    }
}

fn conflict_message(e: LambdaError) -> String {
    match e {
        LambdaError::ResourceConflict(m) => m,
        other => panic!("expected 409, got {other:?}"),
    }
}

#[tokio::test]
async fn create_answers_pending_then_settles_active_with_a_new_revision() {
    let gate = Gate::new(false);
    let f = fixture_with(gate.clone()).await;
    let created = f
        .functions
        .create(&f.scope, create_cmd("f", vec![]))
        .await
        .unwrap();
    let status = &created.record.status;
    assert_eq!(status.state, State::Pending);
    assert_eq!(
        status.state_reason.as_ref().map(|r| r.code),
        Some(ReasonCode::Creating)
    );
    assert_eq!(status.last_update, None);
    // Pending: no invoke, no update, no publish.
    let arn = "arn:aws:lambda:us-west-2:123456789012:function:f";
    let pending = format!(
        "The operation cannot be performed at this time. The resource {arn} is currently in \
         the following state: 'Pending'. StateReasonCode: 'Creating'"
    );
    let e = f.functions.resolve(&f.scope, "f", None).await.unwrap_err();
    assert_eq!(conflict_message(e), pending);
    let e = f
        .functions
        .update_configuration(&f.scope, memory_update("f", 256))
        .await
        .unwrap_err();
    assert_eq!(conflict_message(e), pending);
    gate.open();
    let settled = until_settled(&f, "f").await;
    assert_eq!(settled.status.state, State::Active);
    assert_eq!(settled.status.last_update, Some(UpdateStatus::Successful));
    assert_ne!(settled.revision_id, created.record.revision_id);
    assert!(f.functions.resolve(&f.scope, "f", None).await.is_ok());
}

#[tokio::test]
async fn reads_wait_for_a_quick_settling() {
    let f = fixture_with(Gate::new(true)).await;
    f.functions
        .create(&f.scope, create_cmd("f", vec![]))
        .await
        .unwrap();
    // No polling: the read barrier makes the first read see the settled function.
    let got = f
        .functions
        .get_configuration(&f.scope, "f", None)
        .await
        .unwrap();
    assert_eq!(got.record.status.state, State::Active);
    assert!(f.functions.resolve(&f.scope, "f", None).await.is_ok());
}

#[tokio::test]
async fn an_update_in_progress_refuses_changes_and_runs_the_previous_configuration() {
    let gate = Gate::new(true);
    let f = fixture_with(gate.clone()).await;
    f.functions
        .create(&f.scope, create_cmd("f", vec![]))
        .await
        .unwrap();
    let before = until_settled(&f, "f").await;
    gate.closed.store(true, Ordering::SeqCst);
    let updated = f
        .functions
        .update_configuration(&f.scope, memory_update("f", 512))
        .await
        .unwrap();
    let status = &updated.record.status;
    assert_eq!(status.state, State::Active);
    assert_eq!(status.last_update, Some(UpdateStatus::InProgress));
    assert_eq!(
        status.last_update_reason.as_ref().map(|r| r.text.as_str()),
        Some("The function is being created.")
    );
    assert_eq!(updated.record.config.memory_mb, 512);
    let in_progress = "The operation cannot be performed at this time. An update is in \
                       progress for resource: arn:aws:lambda:us-west-2:123456789012:function:f";
    let e = f
        .functions
        .update_configuration(&f.scope, memory_update("f", 1024))
        .await
        .unwrap_err();
    assert_eq!(conflict_message(e), in_progress);
    let e = f
        .functions
        .publish_version(
            &f.scope,
            PublishVersion {
                function_name: "f".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(conflict_message(e), in_progress);
    let running = f.functions.resolve(&f.scope, "f", None).await.unwrap();
    assert_eq!(running.spec.memory_mb, before.config.memory_mb);
    gate.open();
    let settled = until_settled(&f, "f").await;
    assert_eq!(settled.status.last_update, Some(UpdateStatus::Successful));
    assert_eq!(settled.config.memory_mb, 512);
    assert!(settled.previous.is_none());
    assert_ne!(settled.revision_id, updated.record.revision_id);
    let running = f.functions.resolve(&f.scope, "f", None).await.unwrap();
    assert_eq!(running.spec.memory_mb, 512);
}

#[tokio::test]
async fn a_runtime_that_cannot_run_fails_the_function_and_an_update_can_mend_it() {
    let f = fixture_with(Gate::new(true)).await;
    let mut cmd = create_cmd("f", vec![]);
    cmd.config.runtime = Some("java21".into());
    f.functions.create(&f.scope, cmd).await.unwrap();
    let failed = until_settled(&f, "f").await;
    assert_eq!(failed.status.state, State::Failed);
    assert_eq!(
        failed.status.state_reason.as_ref().map(|r| r.code),
        Some(ReasonCode::InvalidRuntime)
    );
    assert_eq!(failed.status.last_update, Some(UpdateStatus::Failed));
    let e = f.functions.resolve(&f.scope, "f", None).await.unwrap_err();
    assert!(conflict_message(e).contains("'Failed'. StateReasonCode: 'InvalidRuntime'"));
    let mut mend = memory_update("f", 128);
    mend.config.runtime = Some("python3.12".into());
    f.functions
        .update_configuration(&f.scope, mend)
        .await
        .unwrap();
    let mended = until_settled(&f, "f").await;
    assert_eq!(mended.status, FunctionStatus::active());
    assert!(f.functions.resolve(&f.scope, "f", None).await.is_ok());
}

#[tokio::test]
async fn a_failed_update_keeps_the_previous_code_and_configuration() {
    let f = fixture_with(Gate::new(true)).await;
    f.functions
        .create(&f.scope, create_cmd("f", vec![]))
        .await
        .unwrap();
    until_settled(&f, "f").await;
    let mut broken = memory_update("f", 512);
    broken.config.runtime = Some("java21".into());
    f.functions
        .update_configuration(&f.scope, broken)
        .await
        .unwrap();
    let after = until_settled(&f, "f").await;
    assert_eq!(after.status.state, State::Active);
    assert_eq!(after.status.last_update, Some(UpdateStatus::Failed));
    assert_eq!(after.config.runtime.as_deref(), Some("python3.12"));
    assert_eq!(after.config.memory_mb, 256);
    let running = f.functions.resolve(&f.scope, "f", None).await.unwrap();
    assert_eq!(running.spec.runtime.as_str(), "python3.12");
}

#[tokio::test]
async fn create_and_publish_settles_both_versions_and_a_restart_settles_what_was_left() {
    let gate = Gate::new(false);
    let f = fixture_with(gate.clone()).await;
    let mut cmd = create_cmd("f", vec![]);
    cmd.publish = true;
    let created = f.functions.create(&f.scope, cmd).await.unwrap();
    assert_eq!(created.version, "1");
    assert_eq!(created.record.status.state, State::Pending);
    // As a restarted server would: settle whatever is still Pending or InProgress.
    assert_eq!(f.functions.settle_unfinished().await.unwrap(), 2);
    gate.open();
    until_settled(&f, "f").await;
    for _ in 0..500 {
        let v1 = f.functions.lookup(&f.scope, "f", Some("1")).await.unwrap();
        if v1.is_some_and(|v| v.status == FunctionStatus::active()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("version 1 never settled");
}

/// Invokes keep what they resolved until a write: each write below is seen by the very next
/// resolve, the cache having been filled just before it.
#[tokio::test]
async fn every_write_is_seen_by_the_next_resolve() {
    let f = fixture_with(Gate::new(true)).await;
    f.functions
        .create(&f.scope, create_cmd("f", vec![]))
        .await
        .unwrap();
    until_settled(&f, "f").await;
    let memory = |r: ResolvedFunction| r.spec.memory_mb;
    let resolve = |q: Option<&'static str>| f.functions.resolve(&f.scope, "f", q);
    assert_eq!(memory(resolve(None).await.unwrap()), 256);
    let publish = || {
        f.functions.publish_version(
            &f.scope,
            PublishVersion {
                function_name: "f".into(),
                ..Default::default()
            },
        )
    };
    publish().await.unwrap();
    f.functions
        .update_configuration(&f.scope, memory_update("f", 512))
        .await
        .unwrap();
    until_settled(&f, "f").await;
    assert_eq!(memory(resolve(None).await.unwrap()), 512);
    publish().await.unwrap();
    assert_eq!(memory(resolve(Some("2")).await.unwrap()), 512);
    f.functions
        .create_alias(
            &f.scope,
            CreateAlias {
                function_name: "f".into(),
                name: Some("live".into()),
                function_version: Some("1".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(memory(resolve(Some("live")).await.unwrap()), 256);
    f.functions
        .update_alias(
            &f.scope,
            UpdateAlias {
                function_name: "f".into(),
                name: "live".into(),
                function_version: Some("2".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(memory(resolve(Some("live")).await.unwrap()), 512);
    f.functions
        .delete_alias(&f.scope, "f", "live")
        .await
        .unwrap();
    assert!(resolve(Some("live")).await.is_err());
    f.functions.delete(&f.scope, "f", Some("2")).await.unwrap();
    assert!(resolve(Some("2")).await.is_err());
    assert!(resolve(Some("1")).await.is_ok());
    f.functions.delete(&f.scope, "f", None).await.unwrap();
    assert!(resolve(None).await.is_err());
    assert!(resolve(Some("1")).await.is_err());
}

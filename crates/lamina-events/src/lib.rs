//! The durable queue of `Event` invocations: accept, run, retry, expire.
//!
//! An accepted event is written to the [`lamina_store::EventStore`] before the API answers
//! 202, so it survives a shutdown, a crash and a restart. A dispatcher runs queued events
//! through an [`EventRunner`] (the control plane resolves the function as it is at run time,
//! the executor runs it), at most the per-function environment cap of one function at once,
//! and applies AWS's asynchronous retry rules ([`retry`]), narrowed by the invoked qualifier's
//! `PutFunctionEventInvokeConfig`: function errors consume the retries (two unless configured),
//! throttles and Lamina's own failures are retried with backoff until the event's maximum age.
//! Events that expire or exhaust their retries are logged and removed. An event's outcome goes
//! on to its `OnSuccess`/`OnFailure` destination (AWS's invocation record) and, on failure, to
//! its dead-letter target, each a Lamina function invoked through this same queue.
//!
//! Knows nothing of HTTP; never runs a function or queries the store for one itself.

mod delivery;
pub mod queue;
pub mod retry;
pub mod runner;
mod schedule;

pub use queue::{EventInvocation, EventQueue, QueueConfig};
pub use retry::{Attempt, Backoff, DEFAULT_MAX_EVENT_AGE, Response, RetryPolicy};
pub use runner::{EventRunner, LaminaRunner};

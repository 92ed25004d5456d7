//! What happens to an event after one attempt: AWS's asynchronous retry rules as pure
//! functions of the attempt, the event's history and the time.
//!
//! Only function errors consume the retries (AWS: two, one then two minutes apart). Throttles
//! and Lamina's own failures are retried with backoff until the event's maximum age (AWS's
//! default: six hours), however often they happen. A qualifier's asynchronous invocation
//! configuration (`MaximumRetryAttempts`, `MaximumEventAgeInSeconds`) narrows both
//! ([`RetryPolicy::applying`]).

use std::time::Duration;

use bytes::Bytes;
use lamina_control::functions::AsyncInvokeSettings;

/// AWS's default `MaximumEventAgeInSeconds`: six hours.
pub const DEFAULT_MAX_EVENT_AGE: Duration = Duration::from_secs(6 * 60 * 60);

/// How one attempt to run an event ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The function returned a response.
    Succeeded(Response),
    /// The function ran and failed (its error, a crash, a timeout); the response is its error
    /// document.
    FunctionError(Response),
    /// The function was at its concurrency cap (429 `TooManyRequests`).
    Throttled,
    /// Lamina failed (a storage or environment failure, or a function not ready yet: 409).
    Failed(String),
    /// The function (or its qualifier) no longer exists.
    FunctionGone(String),
    /// The invocation can never succeed as queued (a client error other than the above).
    Rejected(String),
}

/// What the function answered in an attempt that ran it: what destinations are sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The response, or the error document.
    pub payload: Bytes,
    /// The version that ran (`$LATEST` or a number).
    pub executed_version: String,
}

impl Attempt {
    /// The function's answer, when the attempt ran it.
    pub fn response(&self) -> Option<&Response> {
        match self {
            Self::Succeeded(r) | Self::FunctionError(r) => Some(r),
            _ => None,
        }
    }
}

/// Exponential backoff: `first`, doubling on each consecutive occurrence, at most `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay.
    pub first: Duration,
    /// The longest delay.
    pub max: Duration,
}

impl Backoff {
    /// The delay after the `n`-th consecutive occurrence (`n` from 1).
    pub fn delay(&self, n: u32) -> Duration {
        let doublings = n.saturating_sub(1).min(31);
        self.first
            .checked_mul(1 << doublings)
            .unwrap_or(self.max)
            .min(self.max)
    }
}

/// The rules for retrying `Event` invocations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delays before each retry after a function error; their number is the number of
    /// retries (AWS: 2, about 1 and 2 minutes).
    pub function_error_delays: Vec<Duration>,
    /// An event not run successfully within this time of its acceptance is discarded.
    pub max_event_age: Duration,
    /// Delays after Lamina's own failures.
    pub failure_backoff: Backoff,
    /// How long a throttled function's events wait, unless an environment is released first.
    pub throttle_backoff: Backoff,
}

impl RetryPolicy {
    /// AWS's rules with `first_retry_delay` before the first function-error retry and twice
    /// that before the second.
    pub fn aws(first_retry_delay: Duration) -> Self {
        Self {
            function_error_delays: vec![first_retry_delay, first_retry_delay * 2],
            max_event_age: DEFAULT_MAX_EVENT_AGE,
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

    /// This policy narrowed by a qualifier's configuration: at most `MaximumRetryAttempts`
    /// function-error retries (the delays keep their order) and its `MaximumEventAgeInSeconds`.
    pub fn applying(&self, settings: &AsyncInvokeSettings) -> Self {
        let mut policy = self.clone();
        if let Some(retries) = settings.maximum_retry_attempts {
            let retries = usize::try_from(retries).unwrap_or(usize::MAX);
            policy.function_error_delays.truncate(retries);
        }
        if let Some(age) = settings.maximum_event_age {
            policy.max_event_age = age;
        }
        policy
    }

    /// Whether an event accepted at `enqueued_millis` is past its maximum age at `now_millis`.
    pub fn expired(&self, enqueued_millis: i64, now_millis: i64) -> bool {
        now_millis.saturating_sub(enqueued_millis) >= millis(self.max_event_age)
    }
}

/// What an event has been through so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct History {
    /// When it was accepted, milliseconds since the Unix epoch.
    pub enqueued_millis: i64,
    /// Attempts that ended in a function error.
    pub function_error_attempts: u32,
    /// Consecutive attempts that ended in a Lamina failure.
    pub failures: u32,
}

/// Why an event is discarded without having run successfully.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Discard {
    /// Every attempt allowed ended in a function error.
    RetriesExhausted {
        /// How many attempts ran.
        attempts: u32,
    },
    /// The event reached its maximum age before it could run successfully.
    Expired,
    /// The function is gone; the message says what was not found.
    FunctionGone(String),
    /// The invocation was refused for good; the message says why.
    Rejected(String),
}

/// What to do with an event after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// It ran: remove it.
    Done,
    /// Run it again at `at_millis`, recording `function_error_attempts` durably.
    RetryFunctionError {
        /// Function-error attempts so far.
        function_error_attempts: u32,
        /// When to run it again.
        at_millis: i64,
    },
    /// Run it again at `at_millis` after Lamina's `failures`-th consecutive failure.
    RetryFailure {
        /// Consecutive Lamina failures so far.
        failures: u32,
        /// When to run it again.
        at_millis: i64,
    },
    /// Run it again when its function has room (its place in the queue is kept).
    WaitForCapacity,
    /// Remove it and record why.
    Discard(Discard),
}

/// The decision after `attempt` ended at `now_millis`.
pub fn decide(
    attempt: &Attempt,
    history: History,
    policy: &RetryPolicy,
    now_millis: i64,
) -> Decision {
    let expired = policy.expired(history.enqueued_millis, now_millis);
    match attempt {
        Attempt::Succeeded(_) => Decision::Done,
        Attempt::FunctionError(_) => {
            let attempts = history.function_error_attempts.saturating_add(1);
            let delay = usize::try_from(attempts - 1)
                .ok()
                .and_then(|i| policy.function_error_delays.get(i));
            match delay {
                None => Decision::Discard(Discard::RetriesExhausted { attempts }),
                Some(_) if expired => Decision::Discard(Discard::Expired),
                Some(delay) => Decision::RetryFunctionError {
                    function_error_attempts: attempts,
                    at_millis: now_millis.saturating_add(millis(*delay)),
                },
            }
        }
        Attempt::Throttled | Attempt::Failed(_) if expired => Decision::Discard(Discard::Expired),
        Attempt::Throttled => Decision::WaitForCapacity,
        Attempt::Failed(_) => {
            let failures = history.failures.saturating_add(1);
            Decision::RetryFailure {
                failures,
                at_millis: now_millis
                    .saturating_add(millis(policy.failure_backoff.delay(failures))),
            }
        }
        Attempt::FunctionGone(why) => Decision::Discard(Discard::FunctionGone(why.clone())),
        Attempt::Rejected(why) => Decision::Discard(Discard::Rejected(why.clone())),
    }
}

/// A duration in whole milliseconds, saturating.
pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE_MS: i64 = 60_000;

    fn policy() -> RetryPolicy {
        RetryPolicy::aws(Duration::from_secs(60))
    }

    fn failed() -> Attempt {
        Attempt::FunctionError(Response {
            payload: Bytes::from_static(b"{}"),
            executed_version: "$LATEST".into(),
        })
    }

    fn history(function_error_attempts: u32, failures: u32) -> History {
        History {
            enqueued_millis: 1_000,
            function_error_attempts,
            failures,
        }
    }

    #[test]
    fn function_errors_are_retried_twice_one_then_two_minutes_later() {
        let first = decide(&failed(), history(0, 0), &policy(), 2_000);
        let second = decide(&failed(), history(1, 0), &policy(), 2_000);
        let third = decide(&failed(), history(2, 0), &policy(), 2_000);

        assert_eq!(
            first,
            Decision::RetryFunctionError {
                function_error_attempts: 1,
                at_millis: 2_000 + MINUTE_MS
            }
        );
        assert_eq!(
            second,
            Decision::RetryFunctionError {
                function_error_attempts: 2,
                at_millis: 2_000 + 2 * MINUTE_MS
            }
        );
        assert_eq!(
            third,
            Decision::Discard(Discard::RetriesExhausted { attempts: 3 })
        );
    }

    #[test]
    fn throttles_never_consume_the_retries() {
        // However many throttles came before, an event with no function error keeps both
        // retries, and a throttle keeps its place in the queue.
        for failures in [0, 1, 1_000] {
            let h = history(0, failures);
            assert_eq!(
                decide(&Attempt::Throttled, h, &policy(), 2_000),
                Decision::WaitForCapacity
            );
            assert!(matches!(
                decide(&failed(), h, &policy(), 2_000),
                Decision::RetryFunctionError {
                    function_error_attempts: 1,
                    ..
                }
            ));
        }
    }

    #[test]
    fn lamina_failures_back_off_doubling_up_to_a_minute_and_keep_the_retries() {
        let at = |failures| match decide(
            &Attempt::Failed("disk".into()),
            history(1, failures),
            &policy(),
            2_000,
        ) {
            Decision::RetryFailure {
                failures: n,
                at_millis,
            } => (n, at_millis - 2_000),
            other => panic!("expected a retry, got {other:?}"),
        };

        assert_eq!(at(0), (1, 1_000));
        assert_eq!(at(1), (2, 2_000));
        assert_eq!(at(2), (3, 4_000));
        assert_eq!(at(10), (11, 60_000));
        assert_eq!(at(u32::MAX), (u32::MAX, 60_000));
    }

    #[test]
    fn throttles_and_failures_are_retried_until_the_maximum_age_only() {
        let age = 6 * 60 * MINUTE_MS;
        let just_before = 1_000 + age - 1;
        let at_age = 1_000 + age;

        assert_eq!(
            decide(&Attempt::Throttled, history(0, 0), &policy(), just_before),
            Decision::WaitForCapacity
        );
        for attempt in [Attempt::Throttled, Attempt::Failed("x".into()), failed()] {
            assert_eq!(
                decide(&attempt, history(0, 0), &policy(), at_age),
                Decision::Discard(Discard::Expired),
                "{attempt:?}"
            );
        }
        assert!(!policy().expired(1_000, just_before));
        assert!(policy().expired(1_000, at_age));
    }

    #[test]
    fn success_is_done_even_past_the_maximum_age() {
        assert_eq!(
            decide(
                &Attempt::Succeeded(Response {
                    payload: Bytes::new(),
                    executed_version: "1".into()
                }),
                history(2, 5),
                &policy(),
                i64::MAX
            ),
            Decision::Done
        );
    }

    #[test]
    fn a_gone_function_or_a_rejected_event_is_discarded_at_once() {
        assert_eq!(
            decide(
                &Attempt::FunctionGone("Function not found".into()),
                history(0, 0),
                &policy(),
                2_000
            ),
            Decision::Discard(Discard::FunctionGone("Function not found".into()))
        );
        assert_eq!(
            decide(
                &Attempt::Rejected("bad".into()),
                history(0, 0),
                &policy(),
                2_000
            ),
            Decision::Discard(Discard::Rejected("bad".into()))
        );
    }

    #[test]
    fn no_configured_retries_means_one_attempt() {
        let policy = RetryPolicy {
            function_error_delays: Vec::new(),
            ..policy()
        };

        assert_eq!(
            decide(&failed(), history(0, 0), &policy, 2_000),
            Decision::Discard(Discard::RetriesExhausted { attempts: 1 })
        );
    }

    #[test]
    fn backoff_doubles_and_saturates() {
        let b = Backoff {
            first: Duration::from_millis(50),
            max: Duration::from_secs(5),
        };

        assert_eq!(b.delay(1), Duration::from_millis(50));
        assert_eq!(b.delay(2), Duration::from_millis(100));
        assert_eq!(b.delay(7), Duration::from_millis(3_200));
        assert_eq!(b.delay(8), Duration::from_secs(5));
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(5));
        assert_eq!(b.delay(0), Duration::from_millis(50));
    }

    #[test]
    fn a_configuration_narrows_the_retries_and_the_age() {
        let none = policy().applying(&AsyncInvokeSettings {
            maximum_retry_attempts: Some(0),
            maximum_event_age: Some(Duration::from_secs(60)),
            ..AsyncInvokeSettings::default()
        });
        let one = policy().applying(&AsyncInvokeSettings {
            maximum_retry_attempts: Some(1),
            ..AsyncInvokeSettings::default()
        });
        let unset = policy().applying(&AsyncInvokeSettings::default());

        assert_eq!(
            decide(&failed(), history(0, 0), &none, 2_000),
            Decision::Discard(Discard::RetriesExhausted { attempts: 1 })
        );
        assert!(none.expired(1_000, 1_000 + MINUTE_MS));
        assert!(!none.expired(1_000, 1_000 + MINUTE_MS - 1));
        assert_eq!(
            decide(&failed(), history(0, 0), &one, 2_000),
            Decision::RetryFunctionError {
                function_error_attempts: 1,
                at_millis: 2_000 + MINUTE_MS
            }
        );
        assert_eq!(
            decide(&failed(), history(1, 0), &one, 2_000),
            Decision::Discard(Discard::RetriesExhausted { attempts: 2 })
        );
        assert_eq!(unset, policy());
    }
}

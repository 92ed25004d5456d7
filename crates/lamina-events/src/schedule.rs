//! Which queued events run next: one lane per function, first due first within a lane, at
//! most `cap` running per lane, so one busy function never starves the others. A throttled
//! lane pauses (with backoff) until an environment is released.
//!
//! Pure bookkeeping over times in milliseconds: no I/O, no clock.

use std::collections::{BTreeMap, HashMap, HashSet};

use lamina_store::EventHeader;
use lamina_types::Scope;

use crate::retry::{Backoff, Response, millis};

/// A queued event as the scheduler holds it: its header (without the payload) and what
/// only this process knows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Waiting {
    /// The stored header; `next_attempt_millis` is when it is due.
    pub header: EventHeader,
    /// Consecutive Lamina failures (not stored: a restart starts afresh).
    pub failures: u32,
    /// The function's answer in the last attempt that ran it, for the record sent to an
    /// `OnFailure` destination should the event expire (not stored: records after a restart
    /// have none).
    pub last_response: Option<Response>,
}

impl Waiting {
    pub fn new(header: EventHeader) -> Self {
        Self {
            header,
            failures: 0,
            last_response: None,
        }
    }

    fn lane(&self) -> LaneKey {
        (self.header.scope.clone(), self.header.function_name.clone())
    }

    fn order(&self) -> (i64, i64) {
        (self.header.next_attempt_millis, self.header.id)
    }
}

/// A function: its scope and name (every qualifier shares the lane).
type LaneKey = (Scope, String);

#[derive(Default)]
struct Lane {
    /// By (due time, id): first due first, then first accepted.
    waiting: BTreeMap<(i64, i64), Waiting>,
    running: usize,
    /// Set after a throttle: nothing starts before this time unless [`Schedule::unpause`].
    paused_until: Option<i64>,
    /// Consecutive throttles, for the pause's backoff.
    throttles: u32,
}

/// How a started event came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Returned {
    /// It left the queue (ran, or was discarded).
    Gone,
    /// It waits again, due at its (possibly new) `next_attempt_millis`.
    Requeued(Waiting),
    /// Its function was at capacity: it waits again in its place, and its lane pauses.
    Throttled(Waiting),
}

/// The queue as this process schedules it.
pub(crate) struct Schedule {
    lanes: HashMap<LaneKey, Lane>,
    /// Ids waiting or running, so an event is never queued twice.
    known: HashSet<i64>,
    cap: usize,
    throttle_backoff: Backoff,
}

impl Schedule {
    /// At most `cap` (at least 1) events of one function run at once.
    pub fn new(cap: usize, throttle_backoff: Backoff) -> Self {
        Self {
            lanes: HashMap::new(),
            known: HashSet::new(),
            cap: cap.max(1),
            throttle_backoff,
        }
    }

    /// Queues an event; one already known (waiting or running) is ignored.
    pub fn insert(&mut self, event: Waiting) {
        if self.known.insert(event.header.id) {
            self.lanes
                .entry(event.lane())
                .or_default()
                .waiting
                .insert(event.order(), event);
        }
    }

    /// Takes every event that may start at `now`: due, in a lane with room and not paused.
    pub fn take_ready(&mut self, now: i64) -> Vec<Waiting> {
        let mut ready = Vec::new();
        for lane in self.lanes.values_mut() {
            if lane.paused_until.is_some_and(|until| until > now) {
                continue;
            }
            lane.paused_until = None;
            while lane.running < self.cap {
                match lane.waiting.first_entry() {
                    Some(first) if first.key().0 <= now => {
                        ready.push(first.remove());
                        lane.running += 1;
                    }
                    _ => break,
                }
            }
        }
        ready
    }

    /// Records that a started event came back at `now`.
    pub fn finish(&mut self, started: &Waiting, returned: Returned, now: i64) {
        let key = started.lane();
        let lane = self.lanes.entry(key.clone()).or_default();
        lane.running = lane.running.saturating_sub(1);
        match returned {
            Returned::Gone => {
                self.known.remove(&started.header.id);
                lane.throttles = 0;
            }
            Returned::Requeued(event) => {
                lane.throttles = 0;
                lane.waiting.insert(event.order(), event);
            }
            Returned::Throttled(event) => {
                lane.throttles = lane.throttles.saturating_add(1);
                let pause = millis(self.throttle_backoff.delay(lane.throttles));
                lane.paused_until = Some(now.saturating_add(pause));
                lane.waiting.insert(event.order(), event);
            }
        }
        if lane.running == 0 && lane.waiting.is_empty() {
            self.lanes.remove(&key);
        }
    }

    /// Ends every throttle pause (an environment was released somewhere).
    pub fn unpause(&mut self) {
        for lane in self.lanes.values_mut() {
            lane.paused_until = None;
        }
    }

    /// The earliest time an event may become ready, if one waits in a lane with room.
    pub fn next_wake(&self) -> Option<i64> {
        self.lanes
            .values()
            .filter(|lane| lane.running < self.cap)
            .filter_map(|lane| {
                let (due, _) = lane.waiting.first_key_value()?.0;
                Some(lane.paused_until.map_or(*due, |until| until.max(*due)))
            })
            .min()
    }

    /// Events waiting or running.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.known.len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use lamina_types::{AccountId, Region};

    use super::*;

    fn event(id: i64, function: &str, due: i64) -> Waiting {
        Waiting::new(EventHeader {
            id,
            request_id: format!("req-{id}"),
            scope: Scope::new(
                AccountId::parse("123456789012").unwrap(),
                Region::parse("us-west-2").unwrap(),
            ),
            function_name: function.into(),
            enqueued_millis: due,
            function_error_attempts: 0,
            next_attempt_millis: due,
        })
    }

    fn schedule(cap: usize) -> Schedule {
        Schedule::new(
            cap,
            Backoff {
                first: Duration::from_millis(50),
                max: Duration::from_secs(5),
            },
        )
    }

    fn ids(events: &[Waiting]) -> Vec<i64> {
        let mut ids: Vec<i64> = events.iter().map(|e| e.header.id).collect();
        ids.sort_unstable();
        ids
    }

    #[test]
    fn a_lane_runs_first_accepted_first_up_to_its_cap() {
        let mut s = schedule(2);
        for id in [3, 1, 2] {
            s.insert(event(id, "f", 0));
        }

        let first = s.take_ready(0);
        assert_eq!(ids(&first), [1, 2]);
        assert!(s.take_ready(0).is_empty(), "the lane is full");

        s.finish(&first[0], Returned::Gone, 1);
        assert_eq!(ids(&s.take_ready(1)), [3]);
    }

    #[test]
    fn a_busy_function_does_not_starve_another() {
        let mut s = schedule(1);
        for id in 1..=100 {
            s.insert(event(id, "busy", 0));
        }
        s.insert(event(101, "quiet", 0));

        assert_eq!(ids(&s.take_ready(0)), [1, 101]);
    }

    #[test]
    fn events_wait_until_due_and_next_wake_says_when() {
        let mut s = schedule(1);
        s.insert(event(1, "f", 500));
        s.insert(event(2, "g", 300));

        assert!(s.take_ready(299).is_empty());
        assert_eq!(s.next_wake(), Some(300));
        assert_eq!(ids(&s.take_ready(300)), [2]);
        assert_eq!(s.next_wake(), Some(500));
    }

    #[test]
    fn a_full_lane_does_not_wake_the_dispatcher() {
        let mut s = schedule(1);
        s.insert(event(1, "f", 0));
        s.insert(event(2, "f", 0));
        s.take_ready(0);

        assert_eq!(s.next_wake(), None);
    }

    #[test]
    fn a_requeued_event_runs_at_its_new_time_behind_due_ones() {
        let mut s = schedule(1);
        s.insert(event(1, "f", 0));
        s.insert(event(2, "f", 0));
        let started = s.take_ready(0).remove(0);
        let mut later = started.clone();
        later.header.next_attempt_millis = 1_000;

        s.finish(&started, Returned::Requeued(later), 10);

        assert_eq!(ids(&s.take_ready(10)), [2]);
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn a_throttle_pauses_the_lane_in_place_until_released_or_backed_off() {
        let mut s = schedule(1);
        s.insert(event(1, "f", 0));
        s.insert(event(2, "f", 0));
        let started = s.take_ready(0).remove(0);

        s.finish(&started, Returned::Throttled(started.clone()), 100);
        assert!(s.take_ready(100).is_empty(), "paused");
        assert_eq!(s.next_wake(), Some(150));

        s.unpause();
        assert_eq!(
            ids(&s.take_ready(100)),
            [1],
            "the throttled event keeps its place"
        );
    }

    #[test]
    fn consecutive_throttles_back_off_longer() {
        let mut s = schedule(1);
        s.insert(event(1, "f", 0));
        let mut now = 0;
        let mut pauses = Vec::new();
        for _ in 0..3 {
            let started = s.take_ready(now).remove(0);
            s.finish(&started, Returned::Throttled(started.clone()), now);
            let wake = s.next_wake().unwrap();
            pauses.push(wake - now);
            now = wake;
        }

        assert_eq!(pauses, [50, 100, 200]);
    }

    #[test]
    fn an_event_is_queued_once_and_forgotten_when_gone() {
        let mut s = schedule(4);
        s.insert(event(1, "f", 0));
        s.insert(event(1, "f", 0));
        let started = s.take_ready(0);
        s.insert(event(1, "f", 0));

        assert_eq!(started.len(), 1);
        assert!(
            s.take_ready(0).is_empty(),
            "a running event is not queued again"
        );
        s.finish(&started[0], Returned::Gone, 1);
        assert_eq!(s.len(), 0);
        assert_eq!(s.next_wake(), None);
    }
}

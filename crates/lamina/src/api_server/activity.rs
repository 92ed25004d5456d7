//! What one client connection is doing, and so when the server stops waiting for it.
//!
//! hyper parses the requests and cannot tell idle from half-sent headers; the socket wrapper
//! (`progress_io`) reports bytes read and writes blocked, the service reports when a request
//! starts and when its response is done, and the connection's watchdog asks [`Activity::deadline`].

use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;
use tokio::time::Instant;

use super::client_timeouts::ClientTimeouts;

/// Why a connection was closed by its watchdog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// Kept alive, or just opened, and nothing sent.
    Idle,
    /// A request's headers started but did not finish in time.
    Header,
    /// The client took nothing of a response for the body timeout.
    ResponseStalled,
}

/// The shared record of one connection.
#[derive(Debug)]
pub struct Activity {
    state: Mutex<State>,
    /// Woken when a deadline may have moved earlier, so the watchdog recomputes it.
    changed: Notify,
}

#[derive(Debug)]
struct State {
    /// Requests handed to the router whose responses are not done.
    in_flight: usize,
    /// When the connection last had no request in flight (its accept, or the last response).
    idle_since: Instant,
    /// The first byte of the next request's headers, read while idle.
    header_started: Option<Instant>,
    /// Since when the socket has refused more response bytes.
    write_blocked_since: Option<Instant>,
}

impl Activity {
    /// A connection accepted at `now`, with nothing read yet.
    pub fn new(now: Instant) -> Self {
        Self {
            state: Mutex::new(State {
                in_flight: 0,
                idle_since: now,
                header_started: None,
                write_blocked_since: None,
            }),
            changed: Notify::new(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state is plain data, valid after any panic.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Bytes arrived from the client.
    pub fn bytes_read(&self, now: Instant) {
        let mut s = self.state();
        if s.in_flight == 0 && s.header_started.is_none() {
            s.header_started = Some(now);
            drop(s);
            self.changed.notify_one();
        }
    }

    /// The socket took no more response bytes.
    pub fn write_blocked(&self, now: Instant) {
        let mut s = self.state();
        if s.write_blocked_since.is_none() {
            s.write_blocked_since = Some(now);
            drop(s);
            self.changed.notify_one();
        }
    }

    /// The socket took response bytes.
    pub fn write_progressed(&self) {
        self.state().write_blocked_since = None;
    }

    /// hyper parsed a request's headers and hands it to the router.
    pub fn request_started(&self) {
        let mut s = self.state();
        s.in_flight += 1;
        s.header_started = None;
    }

    /// A request's response was sent (or abandoned).
    pub fn request_finished(&self, now: Instant) {
        let mut s = self.state();
        s.in_flight = s.in_flight.saturating_sub(1);
        if s.in_flight == 0 {
            s.idle_since = now;
            s.header_started = None;
        }
        drop(s);
        self.changed.notify_one();
    }

    /// Whether a request is being handled or its response sent.
    pub fn has_request_in_flight(&self) -> bool {
        self.state().in_flight > 0
    }

    /// When the server stops waiting for this client, and why; `None` while it owes the
    /// client nothing (a request is being handled, however long it takes).
    pub fn deadline(&self, timeouts: &ClientTimeouts) -> Option<(Instant, Expiry)> {
        let s = self.state();
        let waiting_for_request = (s.in_flight == 0).then(|| match s.header_started {
            None => (s.idle_since + timeouts.idle, Expiry::Idle),
            Some(first_byte) => (first_byte + timeouts.header, Expiry::Header),
        });
        let stalled = s
            .write_blocked_since
            .map(|since| (since + timeouts.body, Expiry::ResponseStalled));
        match (waiting_for_request, stalled) {
            (Some(a), Some(b)) => Some(if b.0 < a.0 { b } else { a }),
            (a, b) => a.or(b),
        }
    }

    /// Resolves when a deadline may have moved earlier.
    pub async fn changed(&self) {
        self.changed.notified().await;
    }
}

/// A request in flight: finished when dropped, which happens once its response body is done
/// or the request is abandoned.
#[derive(Debug)]
pub struct InFlight(std::sync::Arc<Activity>);

impl InFlight {
    /// Records a request as started.
    pub fn start(activity: std::sync::Arc<Activity>) -> Self {
        activity.request_started();
        Self(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_finished(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn timeouts() -> ClientTimeouts {
        ClientTimeouts {
            header: Duration::from_secs(10),
            body: Duration::from_secs(20),
            body_min_rate: 0,
            idle: Duration::from_secs(30),
        }
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_silent_connection_expires_as_idle() {
        let t0 = Instant::now();
        let a = Activity::new(t0);
        assert_eq!(a.deadline(&timeouts()), Some((t0 + secs(30), Expiry::Idle)));
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_byte_starts_the_header_clock() {
        let t0 = Instant::now();
        let a = Activity::new(t0);
        a.bytes_read(t0 + secs(5));
        // Later bytes of the same headers do not extend it.
        a.bytes_read(t0 + secs(9));
        assert_eq!(
            a.deadline(&timeouts()),
            Some((t0 + secs(15), Expiry::Header))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_in_flight_has_no_deadline_however_long() {
        let t0 = Instant::now();
        let a = std::sync::Arc::new(Activity::new(t0));
        a.bytes_read(t0);
        assert!(!a.has_request_in_flight());
        let request = InFlight::start(a.clone());
        assert!(a.has_request_in_flight());
        // Body bytes are not headers of a next request.
        a.bytes_read(t0 + secs(1));
        assert_eq!(a.deadline(&timeouts()), None);
        tokio::time::advance(secs(900)).await;
        assert_eq!(a.deadline(&timeouts()), None);
        drop(request);
        let now = Instant::now();
        assert_eq!(
            a.deadline(&timeouts()),
            Some((now + secs(30), Expiry::Idle))
        );
        a.bytes_read(now + secs(2));
        assert_eq!(
            a.deadline(&timeouts()),
            Some((now + secs(12), Expiry::Header))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_blocked_response_expires_unless_it_progresses() {
        let t0 = Instant::now();
        let a = std::sync::Arc::new(Activity::new(t0));
        let _request = InFlight::start(a.clone());
        a.write_blocked(t0 + secs(1));
        a.write_blocked(t0 + secs(5));
        assert_eq!(
            a.deadline(&timeouts()),
            Some((t0 + secs(21), Expiry::ResponseStalled))
        );
        a.write_progressed();
        assert_eq!(a.deadline(&timeouts()), None);
    }

    #[tokio::test(start_paused = true)]
    async fn changes_that_move_a_deadline_earlier_wake_the_watchdog() {
        let t0 = Instant::now();
        let a = std::sync::Arc::new(Activity::new(t0));
        let request = InFlight::start(a.clone());
        drop(request);
        // The permit is kept, so a change before the wait is not lost.
        tokio::time::timeout(secs(1), a.changed()).await.unwrap();
        a.bytes_read(t0);
        tokio::time::timeout(secs(1), a.changed()).await.unwrap();
        a.write_blocked(t0);
        tokio::time::timeout(secs(1), a.changed()).await.unwrap();
    }
}

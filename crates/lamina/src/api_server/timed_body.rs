//! Request and response bodies as the connection's timeouts see them.
//!
//! A request body only costs the server while a handler waits for it, so its clock runs only
//! then: it fails when the client sends nothing for the body timeout, or (past that first
//! period) falls below the minimum average rate. A slow link that keeps sending is served.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use super::activity::InFlight;
use super::client_timeouts::ClientTimeouts;

/// Why a request body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyReadError {
    /// The connection failed or the body broke its framing.
    #[error(transparent)]
    Client(Box<dyn std::error::Error + Send + Sync>),
    /// Nothing arrived for the body timeout.
    #[error("the client sent nothing of the body for {0:?}")]
    Stalled(Duration),
    /// The body arrived slower than the minimum rate.
    #[error("the client sent the body slower than {0} bytes per second")]
    TooSlow(u64),
}

/// A request body that fails when its client stalls or trickles.
pub struct TimedBody<B> {
    inner: B,
    stall_timeout: Duration,
    min_rate: u64,
    /// When the handler first asked for the body.
    started: Option<Instant>,
    /// Since when the handler has been waiting for the next frame.
    waiting_since: Option<Instant>,
    received: u64,
    timer: Option<Pin<Box<Sleep>>>,
}

impl<B> TimedBody<B> {
    /// Wraps `inner` with the body limits of `timeouts`.
    pub fn new(inner: B, timeouts: &ClientTimeouts) -> Self {
        Self {
            inner,
            stall_timeout: timeouts.body,
            min_rate: timeouts.body_min_rate,
            started: None,
            waiting_since: None,
            received: 0,
            timer: None,
        }
    }

    /// The moment the client has been too slow, waiting since `waiting_since`, and why.
    fn deadline(&self, started: Instant, waiting_since: Instant) -> (Instant, BodyReadError) {
        let stalled = waiting_since + self.stall_timeout;
        if self.min_rate == 0 {
            return (stalled, BodyReadError::Stalled(self.stall_timeout));
        }
        // Received bytes buy time at the minimum rate, after a first period of grace.
        let earned = Duration::from_secs_f64(self.received as f64 / self.min_rate as f64);
        let too_slow = started + self.stall_timeout + earned;
        if too_slow < stalled {
            (too_slow, BodyReadError::TooSlow(self.min_rate))
        } else {
            (stalled, BodyReadError::Stalled(self.stall_timeout))
        }
    }
}

impl<B> Body for TimedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = BodyReadError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyReadError>>> {
        let this = self.get_mut();
        let now = Instant::now();
        let started = *this.started.get_or_insert(now);
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.waiting_since = None;
                if let Some(data) = frame.data_ref() {
                    this.received += data.len() as u64;
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(BodyReadError::Client(e.into())))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                let waiting_since = *this.waiting_since.get_or_insert(now);
                let (deadline, why) = this.deadline(started, waiting_since);
                if now >= deadline {
                    return Poll::Ready(Some(Err(why)));
                }
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if timer.deadline() != deadline {
                    timer.as_mut().reset(deadline);
                }
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(why))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that keeps its request in flight until it is done.
pub struct TrackedBody<B> {
    inner: B,
    request: Option<InFlight>,
}

impl<B> TrackedBody<B> {
    /// Wraps `inner`; `request` finishes when the body ends or is dropped.
    pub fn new(inner: B, request: InFlight) -> Self {
        Self {
            inner,
            request: Some(request),
        }
    }
}

impl<B: Body + Unpin> Body for TrackedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) {
            this.request = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Arc;

    use http_body_util::BodyExt;

    use super::super::activity::Activity;
    use super::*;

    /// Frames at set times: `(after, bytes)`; `None` bytes means "never again".
    struct Scripted {
        steps: VecDeque<(Duration, Option<usize>)>,
        timer: Option<Pin<Box<Sleep>>>,
    }

    impl Scripted {
        fn new(steps: &[(u64, Option<usize>)]) -> Self {
            Self {
                steps: steps
                    .iter()
                    .map(|(ms, n)| (Duration::from_millis(*ms), *n))
                    .collect(),
                timer: None,
            }
        }
    }

    impl Body for Scripted {
        type Data = Bytes;
        type Error = std::io::Error;

        fn poll_frame(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
            let this = self.get_mut();
            let Some(&(after, n)) = this.steps.front() else {
                return Poll::Ready(None);
            };
            let Some(n) = n else {
                return Poll::Pending;
            };
            let timer = this
                .timer
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(after)));
            match timer.as_mut().poll(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(()) => {
                    this.timer = None;
                    this.steps.pop_front();
                    Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b'x'; n])))))
                }
            }
        }
    }

    fn timeouts(body_secs: u64, min_rate: u64) -> ClientTimeouts {
        ClientTimeouts {
            body: Duration::from_secs(body_secs),
            body_min_rate: min_rate,
            ..ClientTimeouts::default()
        }
    }

    async fn read_all(body: TimedBody<Scripted>) -> Result<usize, BodyReadError> {
        Ok(body.collect().await?.to_bytes().len())
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_body_that_keeps_coming_is_read_whole() {
        // 100 frames of 2 KB, each 9 s apart: 222 bytes per second, no pause of 10 s.
        let steps: Vec<_> = (0..100).map(|_| (9_000, Some(2048))).collect();
        let body = TimedBody::new(Scripted::new(&steps), &timeouts(10, 100));
        assert_eq!(read_all(body).await.unwrap(), 100 * 2048);
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_stops_fails_after_the_body_timeout() {
        let body = TimedBody::new(
            Scripted::new(&[(1_000, Some(10)), (0, None)]),
            &timeouts(10, 0),
        );
        let t0 = Instant::now();
        let err = read_all(body).await.unwrap_err();
        assert!(matches!(err, BodyReadError::Stalled(_)), "{err}");
        assert_eq!(Instant::now() - t0, Duration::from_secs(11));
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickle_below_the_minimum_rate_fails() {
        // A byte every 5 s never stalls for 10 s, but earns only 1/100 s a byte.
        let steps: Vec<_> = (0..1000).map(|_| (5_000, Some(1))).collect();
        let body = TimedBody::new(Scripted::new(&steps), &timeouts(10, 100));
        let t0 = Instant::now();
        let err = read_all(body).await.unwrap_err();
        assert!(matches!(err, BodyReadError::TooSlow(100)), "{err}");
        assert!(Instant::now() - t0 < Duration::from_secs(11));
    }

    #[tokio::test(start_paused = true)]
    async fn time_the_handler_spends_elsewhere_is_not_charged_to_the_client() {
        let mut body = TimedBody::new(
            Scripted::new(&[(0, Some(1)), (0, Some(1))]),
            &timeouts(10, 0),
        );
        body.frame().await.unwrap().unwrap();
        tokio::time::advance(Duration::from_secs(60)).await;
        body.frame().await.unwrap().unwrap();
        assert!(body.frame().await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_response_keeps_its_request_in_flight_until_it_ends() {
        let activity = Arc::new(Activity::new(Instant::now()));
        let timeouts = ClientTimeouts::default();
        let request = InFlight::start(activity.clone());
        let mut body = TrackedBody::new(http_body_util::Full::new(Bytes::from("hi")), request);
        assert_eq!(activity.deadline(&timeouts), None);
        body.frame().await.unwrap().unwrap();
        assert_eq!(activity.deadline(&timeouts), None);
        assert!(body.frame().await.is_none());
        assert!(activity.deadline(&timeouts).is_some());
    }
}

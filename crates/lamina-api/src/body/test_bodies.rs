//! Request bodies for the tests of how much of a body is read before a refusal.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use http_body::Frame;

/// An endless body of `chunk`-byte frames that counts the bytes read from it.
struct Endless {
    chunk: usize,
    read: Arc<AtomicU64>,
}

impl http_body::Body for Endless {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.read.fetch_add(self.chunk as u64, Ordering::SeqCst);
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b'a'; self.chunk])))))
    }
}

/// An endless body of `chunk`-byte frames, and the count of bytes read from it so far.
pub(crate) fn endless(chunk: usize) -> (Body, Arc<AtomicU64>) {
    let read = Arc::new(AtomicU64::new(0));
    let body = Body::new(Endless {
        chunk,
        read: Arc::clone(&read),
    });
    (body, read)
}

//! A client socket that reports its progress to the connection's [`Activity`].

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

use super::activity::Activity;

/// Passes everything through to `io`, noting bytes read, writes refused and writes taken.
pub struct ProgressIo<T> {
    io: T,
    activity: Arc<Activity>,
}

impl<T> ProgressIo<T> {
    /// Wraps `io`, reporting to `activity`.
    pub fn new(io: T, activity: Arc<Activity>) -> Self {
        Self { io, activity }
    }

    fn note_write<R>(&self, result: &Poll<io::Result<R>>) {
        match result {
            Poll::Pending => self.activity.write_blocked(Instant::now()),
            Poll::Ready(Ok(_)) => self.activity.write_progressed(),
            Poll::Ready(Err(_)) => {}
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ProgressIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.io).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.bytes_read(Instant::now());
        }
        result
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ProgressIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.io).poll_write(cx, buf);
        this.note_write(&result);
        result
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.note_write(&result);
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.io).poll_flush(cx);
        this.note_write(&result);
        result
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::super::activity::Expiry;
    use super::super::client_timeouts::ClientTimeouts;
    use super::*;

    #[tokio::test]
    async fn reads_start_the_header_clock_and_a_full_socket_blocks_writes() {
        let (server, mut client) = tokio::io::duplex(16);
        let activity = Arc::new(Activity::new(Instant::now()));
        let mut io = ProgressIo::new(server, activity.clone());
        let timeouts = ClientTimeouts::default();
        assert_eq!(activity.deadline(&timeouts).unwrap().1, Expiry::Idle);

        client.write_all(b"GET").await.unwrap();
        let mut buf = [0u8; 3];
        io.read_exact(&mut buf).await.unwrap();
        assert_eq!(activity.deadline(&timeouts).unwrap().1, Expiry::Header);

        // The client reads nothing: once its 16-byte pipe is full, the write waits.
        let _request = super::super::activity::InFlight::start(activity.clone());
        let write = tokio::time::timeout(Duration::from_millis(50), io.write_all(&[0; 64])).await;
        assert!(write.is_err());
        assert_eq!(
            activity.deadline(&timeouts).unwrap().1,
            Expiry::ResponseStalled
        );
        let mut sink = [0u8; 16];
        client.read_exact(&mut sink).await.unwrap();
        io.write_all(&[0; 1]).await.unwrap();
        assert_eq!(activity.deadline(&timeouts), None);
    }
}

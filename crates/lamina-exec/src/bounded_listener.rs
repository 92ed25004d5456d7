//! A listener that holds at most a fixed number of connections open at once (with
//! `TCP_NODELAY` set on each).
//!
//! Each environment's Runtime API listener lives in the server process, so every connection
//! a function opens to it is a descriptor of the server's. A runtime needs one or two; a
//! hostile function could open thousands (its processes may hold about a million descriptors
//! between them). Beyond the bound, new connections wait in the kernel's accept backlog, where
//! they cost the server nothing, until one of the open ones closes; an environment that blocks
//! itself that way runs into its own timeout and is reset.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A TCP listener with at most `bound` connections open.
pub struct BoundedListener {
    inner: TcpListener,
    open: Arc<Semaphore>,
}

impl BoundedListener {
    /// Wraps `inner`; `bound` is at least 1.
    pub fn new(inner: TcpListener, bound: usize) -> Self {
        Self {
            inner,
            open: Arc::new(Semaphore::new(bound.max(1))),
        }
    }
}

/// A connection, holding its place among the bound until it is dropped.
pub struct BoundedStream {
    stream: TcpStream,
    _place: OwnedSemaphorePermit,
}

/// The peer of a connection, as handlers see it (`ConnectInfo<Peer>`).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

impl Listener for BoundedListener {
    type Io = BoundedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // The semaphore is never closed, so acquiring only waits.
        let place = loop {
            if let Ok(place) = Arc::clone(&self.open).acquire_owned().await {
                break place;
            }
        };
        let (stream, addr) = Listener::accept(&mut self.inner).await;
        // Runtime API answers are small: they must not wait on Nagle's algorithm.
        let _ = stream.set_nodelay(true);
        (
            BoundedStream {
                stream,
                _place: place,
            },
            addr,
        )
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

impl Connected<IncomingStream<'_, BoundedListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, BoundedListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

impl AsyncRead for BoundedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for BoundedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_connection_past_the_bound_waits_until_one_closes() {
        let inner = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = inner.local_addr().unwrap();
        let mut listener = BoundedListener::new(inner, 2);
        let _c1 = TcpStream::connect(addr).await.unwrap();
        let _c2 = TcpStream::connect(addr).await.unwrap();
        let _c3 = TcpStream::connect(addr).await.unwrap();
        let (first, _) = listener.accept().await;
        let (second, _) = listener.accept().await;
        let third = tokio::time::timeout(std::time::Duration::from_millis(200), listener.accept());
        assert!(
            third.await.is_err(),
            "a third connection was accepted past the bound"
        );
        drop(first);
        let third = tokio::time::timeout(std::time::Duration::from_secs(10), listener.accept());
        assert!(
            third.await.is_ok(),
            "the third connection never got the freed place"
        );
        drop(second);
    }
}

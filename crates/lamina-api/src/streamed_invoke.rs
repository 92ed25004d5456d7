//! An invocation whose response may be streamed (InvokeWithResponseStream, function URLs in
//! `RESPONSE_STREAM` mode): it runs in a task of its own, and the caller learns either that
//! the runtime began streaming (and reads the parts as they come) or, when the runtime
//! answered whole or the invocation failed first, how it ended.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Bytes;
use lamina_exec::runtime_api::StreamPart;
use lamina_exec::{Executor, InvokeRequest, InvokeResult};
use lamina_types::{FunctionSpec, LambdaError};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Parts a slow client may leave unread before the function's writes wait for it.
const PARTS_IN_FLIGHT: usize = 16;

/// How a streamable invocation began.
pub(crate) enum Begun {
    /// The runtime streams: its content type, the parts still to come, and the end.
    Streaming {
        /// The `Content-Type` the function gave its stream.
        content_type: String,
        /// The chunks, until the stream ends.
        parts: mpsc::Receiver<StreamPart>,
        /// The invocation's end (its payload is empty; an error is the function's).
        done: JoinHandle<Result<InvokeResult, LambdaError>>,
    },
    /// The invocation ended without streaming: a buffered response, a function error, or
    /// Lamina's refusal (throttling, a function not ready).
    Finished(Result<InvokeResult, LambdaError>),
}

/// Starts `request` on `spec` and waits until it streams or ends.
pub(crate) async fn begin(
    executor: &Executor,
    spec: Arc<FunctionSpec>,
    request: InvokeRequest,
) -> Begun {
    let (sink, mut parts) = mpsc::channel(PARTS_IN_FLIGHT);
    let executor = executor.clone();
    let done = tokio::spawn(async move { executor.invoke_streaming(spec, request, sink).await });
    match parts.recv().await {
        Some(StreamPart::ContentType(content_type)) => Begun::Streaming {
            content_type,
            parts,
            done,
        },
        // The executor always names the content type first; bytes without it are still
        // the response.
        Some(StreamPart::Chunk(_)) => Begun::Streaming {
            content_type: "application/octet-stream".to_owned(),
            parts,
            done,
        },
        None => Begun::Finished(finished(done).await),
    }
}

/// The result of the invocation task.
pub(crate) async fn finished(
    done: JoinHandle<Result<InvokeResult, LambdaError>>,
) -> Result<InvokeResult, LambdaError> {
    match done.await {
        Ok(result) => result,
        Err(e) => {
            tracing::error!(error = %e, "a streamed invocation failed in Lamina");
            Err(LambdaError::Service(
                "the invocation failed in Lamina".to_owned(),
            ))
        }
    }
}

/// A response body fed by a channel: each message is sent as one chunk as it arrives, and
/// the body ends when the sender is dropped.
pub(crate) struct ChannelBody(pub mpsc::Receiver<Bytes>);

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|bytes| Ok(http_body::Frame::data(bytes))))
    }
}

/// A channel and the body that sends what it is given.
pub(crate) fn channel_body() -> (mpsc::Sender<Bytes>, axum::body::Body) {
    let (tx, rx) = mpsc::channel(PARTS_IN_FLIGHT);
    (tx, axum::body::Body::new(ChannelBody(rx)))
}

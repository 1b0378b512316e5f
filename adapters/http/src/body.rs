//! [`Body`]: an event stream (or a complete answer) as an `http_body::Body`.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_lite::Stream;
use http_body::{Frame, SizeHint};
use pin_project_lite::pin_project;

/// Bytes gathered from the stream into one frame, when that much is ready.
const BATCH: usize = 16 * 1024;

pin_project! {
    /// A response body: the bytes of an event stream as they come (any
    /// `Stream` of [`Bytes`], e.g. an `sse-futures` body), or a complete
    /// answer. Data frames only, no trailers; it never fails (a stream that
    /// ends, e.g. because its subscriber lagged behind, ends the body).
    /// Whatever the stream has ready when polled goes out as one frame (up
    /// to 16 KiB), so a burst of small events is a few large HTTP/2 DATA
    /// frames or HTTP/1.1 chunks, not one per event.
    ///
    /// It is what [`respond`](crate::respond) and [`response`](crate::response)
    /// return, and what hyper 1 sends and axum 0.8 accepts as a handler's
    /// return value (`http::Response<Body<_>>` is `IntoResponse`).
    pub struct Body<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Stream { #[pin] stream: B, done: bool },
        Full { bytes: Option<Bytes> },
    }
}

impl<B> Body<B> {
    /// A body streaming `stream`'s bytes until it ends.
    pub fn stream(stream: B) -> Self {
        Body {
            kind: Kind::Stream {
                stream,
                done: false,
            },
        }
    }

    /// A complete body of these bytes.
    pub fn full(bytes: Bytes) -> Self {
        let bytes = (!bytes.is_empty()).then_some(bytes);
        Body {
            kind: Kind::Full { bytes },
        }
    }

    /// No body (a `HEAD` answer, a 204).
    pub fn empty() -> Self {
        Body {
            kind: Kind::Full { bytes: None },
        }
    }

    /// The stream, when this body streams one: e.g. a
    /// [`HubBody`](sse_futures::server::HubBody), to reach its
    /// subscription.
    pub fn as_stream_mut(self: Pin<&mut Self>) -> Option<Pin<&mut B>> {
        match self.project().kind.project() {
            KindProj::Stream { stream, .. } => Some(stream),
            KindProj::Full { .. } => None,
        }
    }
}

impl<B: Stream<Item = Bytes>> http_body::Body for Body<B> {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.project().kind.project() {
            KindProj::Stream { mut stream, done } => {
                if *done {
                    return Poll::Ready(None);
                }
                let Some(first) = ready!(stream.as_mut().poll_next(cx)) else {
                    *done = true;
                    return Poll::Ready(None);
                };
                // What is ready now goes out as one frame (up to a batch):
                // one HTTP/1.1 chunk, one HTTP/2 DATA frame, instead of one
                // per event, which HTTP/2 peers count against a burst.
                let mut batch: Option<BytesMut> = None;
                while batch.as_ref().map_or(first.len(), BytesMut::len) < BATCH {
                    match stream.as_mut().poll_next(cx) {
                        Poll::Ready(Some(more)) => batch
                            .get_or_insert_with(|| BytesMut::from(&first[..]))
                            .extend_from_slice(&more),
                        Poll::Ready(None) => {
                            *done = true;
                            break;
                        }
                        Poll::Pending => break,
                    }
                }
                let data = batch.map_or(first, BytesMut::freeze);
                Poll::Ready(Some(Ok(Frame::data(data))))
            }
            KindProj::Full { bytes } => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.kind, Kind::Full { bytes: None })
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Stream { .. } => SizeHint::default(),
            Kind::Full { bytes } => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
        }
    }
}

impl<B> std::fmt::Debug for Body<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            Kind::Stream { .. } => f.write_str("Body::Stream"),
            Kind::Full { bytes } => f
                .debug_struct("Body::Full")
                .field("len", &bytes.as_ref().map_or(0, Bytes::len))
                .finish(),
        }
    }
}

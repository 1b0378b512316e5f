//! Response bodies: [`EventBody`] streams any `Stream` of [`Event`]s through
//! a core [`server::Stream`](sse_core::server::Stream); [`BodyReader`] turns
//! any body into an `AsyncRead`.

use std::io;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes};
use futures_lite::{AsyncBufRead, AsyncRead, Stream};
use pin_project_lite::pin_project;
use sse_core::encode::Message;
use sse_core::server::{self, CloseReason, Config, ResponseHead};

use super::Deadline;
use crate::runtime::Timer;

/// A response body: the bytes of an event stream, and the head to send
/// before them. Implemented by [`HubBody`](super::HubBody) and [`EventBody`].
pub trait Body: Stream<Item = Bytes> {
    /// The response status and headers.
    fn response_head(&self) -> &ResponseHead;
}

/// An event to send, owning its text: what an [`EventBody`]'s source yields.
/// The borrowed form the encoder takes is [`Event::message`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Event {
    /// `Some` writes an `id` line; `Some("")` clears the client's last event ID.
    pub id: Option<String>,
    /// The event type; `None` is `message`.
    pub event: Option<String>,
    /// The data; line breaks split it into several `data:` lines.
    pub data: String,
    /// A `retry:` hint in milliseconds, written before the event.
    pub retry: Option<u64>,
}

impl Event {
    /// A `message` event with this data.
    pub fn new(data: impl Into<String>) -> Self {
        Event {
            data: data.into(),
            ..Event::default()
        }
    }

    /// Sets the ID.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets the event type.
    pub fn event(mut self, event: impl Into<String>) -> Self {
        self.event = Some(event.into());
        self
    }

    /// Sets the `retry:` hint (milliseconds).
    pub fn retry(mut self, ms: u64) -> Self {
        self.retry = Some(ms);
        self
    }

    /// `value` as one line of JSON data.
    #[cfg(feature = "json")]
    pub fn json<T: serde::Serialize + ?Sized>(
        value: &T,
    ) -> Result<Self, sse_core::json::JsonError> {
        Ok(Event::new(sse_core::json::to_data(value)?))
    }

    /// The borrowed form for the core's encoder.
    pub fn message(&self) -> Message<'_> {
        Message {
            id: self.id.as_deref(),
            event: self.event.as_deref(),
            data: &self.data,
            retry: self.retry,
        }
    }
}

impl From<String> for Event {
    fn from(data: String) -> Self {
        Event::new(data)
    }
}

impl From<&str> for Event {
    fn from(data: &str) -> Self {
        Event::new(data)
    }
}

pin_project! {
    /// A response body streaming the events of `source` through a core
    /// [`server::Stream`]: the preamble (`retry:` hint, padding) first, then
    /// each event as the source yields it, keep-alive comments while it is
    /// idle (on `timer`), and the end of the body when the source ends.
    ///
    /// The source is polled only when everything before is handed out, so a
    /// slow reader slows the source instead of growing a queue. An event the
    /// encoder refuses (an ID with a line break) is logged and skipped.
    pub struct EventBody<S, T> {
        #[pin]
        source: S,
        stream: server::Stream,
        timer: T,
        deadline: Deadline,
        source_done: bool,
    }
}

impl<S, T> EventBody<S, T>
where
    S: Stream,
    S::Item: Into<Event>,
    T: Timer,
{
    /// A body over `source`, opened now on `timer`'s clock.
    pub fn new(source: S, config: Config, timer: T) -> Self {
        EventBody {
            source,
            stream: server::Stream::new(timer.now(), config),
            timer,
            deadline: Deadline::default(),
            source_done: false,
        }
    }

    /// Why the body ended, once it has.
    pub fn closed(&self) -> Option<CloseReason> {
        self.stream.closed()
    }

    /// An `AsyncRead` + `AsyncBufRead` of the same bytes.
    pub fn into_reader(self) -> BodyReader<Self> {
        BodyReader::new(self)
    }
}

impl<S, T> Stream for EventBody<S, T>
where
    S: Stream,
    S::Item: Into<Event>,
    T: Timer,
{
    type Item = Bytes;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        let mut this = self.project();
        loop {
            // A deadline that passed fires first, at its own time.
            let now = match this
                .deadline
                .poll(cx, &*this.timer, this.stream.poll_timeout())
            {
                Poll::Ready(at) => {
                    this.stream.handle_timeout(at);
                    at
                }
                Poll::Pending => this.timer.now(),
            };
            if let Some(bytes) = this.stream.poll_transmit(now) {
                return Poll::Ready(Some(bytes));
            }
            if this.stream.closed().is_some() {
                return Poll::Ready(None);
            }
            if !*this.source_done {
                match this.source.as_mut().poll_next(cx) {
                    Poll::Ready(Some(item)) => {
                        let event: Event = item.into();
                        if let Err(e) = this.stream.send(&event.message()) {
                            log::error!("event not sent: {e}");
                        }
                        continue;
                    }
                    Poll::Ready(None) => {
                        *this.source_done = true;
                        this.stream.close();
                        continue;
                    }
                    Poll::Pending => {}
                }
            }
            if this
                .deadline
                .poll(cx, &*this.timer, this.stream.poll_timeout())
                .is_ready()
            {
                *this.deadline = Default::default();
                continue;
            }
            return Poll::Pending;
        }
    }
}

impl<S, T> Body for EventBody<S, T>
where
    S: Stream,
    S::Item: Into<Event>,
    T: Timer,
{
    fn response_head(&self) -> &ResponseHead {
        self.stream.response_head()
    }
}

#[cfg(feature = "json")]
pin_project! {
    /// Any `Stream` of `serde::Serialize` values as a stream of [`Event`]s
    /// with one line of JSON data each, for an [`EventBody`]. A value that
    /// cannot be serialized (a map with non-string keys) is logged and
    /// skipped.
    pub struct JsonEvents<S> {
        #[pin]
        source: S,
        event: Option<String>,
    }
}

#[cfg(feature = "json")]
impl<S> JsonEvents<S> {
    /// `message` events for each value of `source`.
    pub fn new(source: S) -> Self {
        JsonEvents {
            source,
            event: None,
        }
    }

    /// Gives every event this type.
    pub fn event(mut self, event: impl Into<String>) -> Self {
        self.event = Some(event.into());
        self
    }
}

#[cfg(feature = "json")]
impl<S> Stream for JsonEvents<S>
where
    S: Stream,
    S::Item: serde::Serialize,
{
    type Item = Event;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        let mut this = self.project();
        loop {
            let Some(value) = ready!(this.source.as_mut().poll_next(cx)) else {
                return Poll::Ready(None);
            };
            match Event::json(&value) {
                Ok(mut event) => {
                    event.event.clone_from(this.event);
                    return Poll::Ready(Some(event));
                }
                Err(e) => log::error!("event not sent: {e}"),
            }
        }
    }
}

/// Any body (a `Stream` of [`Bytes`]) as an `AsyncRead` and `AsyncBufRead`,
/// for servers that take a reader (e.g. `http_types::Body::from_reader`).
///
/// It is `Sync` whenever the body is `Send` (the body sits in a mutex that
/// is never locked, only reached through `&mut`), since some servers ask
/// for that.
pub struct BodyReader<S> {
    body: Mutex<Pin<Box<S>>>,
    chunk: Bytes,
}

impl<S: Stream<Item = Bytes>> BodyReader<S> {
    /// A reader of `body`'s bytes; it reaches end of file when the body ends.
    pub fn new(body: S) -> Self {
        BodyReader {
            body: Mutex::new(Box::pin(body)),
            chunk: Bytes::new(),
        }
    }
}

impl<S: Stream<Item = Bytes>> AsyncBufRead for BodyReader<S> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        while this.chunk.is_empty() {
            let body = this.body.get_mut().unwrap_or_else(PoisonError::into_inner);
            match ready!(body.as_mut().poll_next(cx)) {
                Some(bytes) => this.chunk = bytes,
                None => break,
            }
        }
        Poll::Ready(Ok(&this.chunk))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let this = self.get_mut();
        this.chunk.advance(amt.min(this.chunk.len()));
    }
}

impl<S: Stream<Item = Bytes>> AsyncRead for BodyReader<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let available = ready!(self.as_mut().poll_fill_buf(cx))?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Poll::Ready(Ok(n))
    }
}

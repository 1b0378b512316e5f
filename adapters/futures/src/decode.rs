//! Byte streams → events.
//!
//! [`EventStream`] wraps any `Stream<Item = Result<B, E>>` of byte chunks
//! (`B: AsRef<[u8]>`, e.g. `bytes::Bytes` from an HTTP client) and
//! [`EventReader`] wraps any [`AsyncRead`]; both yield
//! `Result<Event, DecodeError<E>>` and end when the input ends. The unfinished
//! event at the end of the input is discarded, as the specification requires.
//! Limit errors from the parser are yielded and decoding carries on; a
//! transport error is yielded and ends the stream.
//!
//! ```
//! use futures_lite::{future::block_on, stream, StreamExt};
//! use sse_futures::EventStream;
//!
//! let chunks = stream::iter([Ok::<_, std::io::Error>(&b"data: hel"[..]), Ok(b"lo\n\n")]);
//! let events: Vec<_> = block_on(EventStream::new(chunks).collect());
//! assert_eq!(events[0].as_ref().unwrap().data(), "hello");
//! ```

use core::fmt;
use core::pin::Pin;
use core::task::{ready, Context, Poll};
use std::io;

use futures_lite::{AsyncRead, Stream};
use sse_core::parse::{Limits, ParseError, Parser};
use sse_core::Event;

/// Why an [`EventStream`] or [`EventReader`] yielded an error.
#[derive(Debug)]
#[non_exhaustive]
pub enum DecodeError<E> {
    /// The input broke a parser limit; the event was dropped and decoding
    /// continues with the next one.
    Parse(ParseError),
    /// The underlying stream or reader failed; the stream ends after this.
    Transport(E),
}

impl<E: fmt::Display> fmt::Display for DecodeError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Parse(e) => write!(f, "invalid event stream: {e}"),
            DecodeError::Transport(e) => write!(f, "reading the event stream failed: {e}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for DecodeError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DecodeError::Parse(e) => Some(e),
            DecodeError::Transport(e) => Some(e),
        }
    }
}

/// Where an input is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Reading,
    /// End of input signalled to the parser; draining its last events.
    Draining,
    Done,
}

/// The one step both decoders share: hand back a parsed event if there is
/// one, say whether the input has ended, or ask for more input.
fn next_event<E>(
    parser: &mut Parser,
    state: &mut State,
) -> Option<Option<Result<Event, DecodeError<E>>>> {
    if let Some(result) = parser.poll_event() {
        return Some(Some(result.map_err(DecodeError::Parse)));
    }
    match *state {
        State::Reading => None,
        State::Draining | State::Done => {
            *state = State::Done;
            Some(None)
        }
    }
}

pin_project_lite::pin_project! {
    /// Events parsed from a stream of byte chunks.
    #[derive(Debug)]
    pub struct EventStream<S> {
        #[pin]
        inner: S,
        parser: Parser,
        state: State,
    }
}

impl<S> EventStream<S> {
    /// Decodes `inner` with the default parser limits.
    pub fn new(inner: S) -> Self {
        EventStream::with_parser(inner, Parser::new())
    }

    /// Decodes `inner` with the given limits.
    pub fn with_limits(inner: S, limits: Limits) -> Self {
        EventStream::with_parser(inner, Parser::with_limits(limits))
    }

    /// Decodes `inner` with a parser set up by the caller, e.g. one whose
    /// last event ID was restored with [`Parser::set_last_event_id`].
    pub fn with_parser(inner: S, parser: Parser) -> Self {
        EventStream {
            inner,
            parser,
            state: State::Reading,
        }
    }

    /// The parser: its last event ID and reconnection time.
    pub fn parser(&self) -> &Parser {
        &self.parser
    }
}

impl<S, B, E> Stream for EventStream<S>
where
    S: Stream<Item = Result<B, E>>,
    B: AsRef<[u8]>,
{
    type Item = Result<Event, DecodeError<E>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        loop {
            if let Some(item) = next_event(this.parser, this.state) {
                return Poll::Ready(item);
            }
            match ready!(this.inner.as_mut().poll_next(cx)) {
                Some(Ok(chunk)) => this.parser.handle_bytes(chunk.as_ref()),
                Some(Err(e)) => {
                    *this.state = State::Done;
                    return Poll::Ready(Some(Err(DecodeError::Transport(e))));
                }
                None => {
                    this.parser.handle_eof();
                    *this.state = State::Draining;
                }
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// Events parsed from an [`AsyncRead`], read through a reused buffer.
    #[derive(Debug)]
    pub struct EventReader<R> {
        #[pin]
        inner: R,
        parser: Parser,
        state: State,
        buf: Box<[u8]>,
    }
}

impl<R> EventReader<R> {
    /// Size of the read buffer.
    pub const BUFFER_SIZE: usize = 16 * 1024;

    /// Decodes `inner` with the default parser limits.
    pub fn new(inner: R) -> Self {
        EventReader::with_parser(inner, Parser::new())
    }

    /// Decodes `inner` with a parser set up by the caller.
    pub fn with_parser(inner: R, parser: Parser) -> Self {
        EventReader {
            inner,
            parser,
            state: State::Reading,
            buf: vec![0; Self::BUFFER_SIZE].into_boxed_slice(),
        }
    }

    /// The parser: its last event ID and reconnection time.
    pub fn parser(&self) -> &Parser {
        &self.parser
    }
}

impl<R: AsyncRead> Stream for EventReader<R> {
    type Item = Result<Event, DecodeError<io::Error>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        loop {
            if let Some(item) = next_event(this.parser, this.state) {
                return Poll::Ready(item);
            }
            match ready!(this.inner.as_mut().poll_read(cx, this.buf)) {
                Ok(0) => {
                    this.parser.handle_eof();
                    *this.state = State::Draining;
                }
                Ok(n) => this.parser.handle_bytes(&this.buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    *this.state = State::Done;
                    return Poll::Ready(Some(Err(DecodeError::Transport(e))));
                }
            }
        }
    }
}

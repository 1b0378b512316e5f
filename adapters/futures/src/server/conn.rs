//! One raw HTTP/1.1 connection serving an event stream.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use futures_lite::{future, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use sse_core::endpoint::{bad_request, Route, LINGER};
use sse_core::http1::{HeadError, HeadStatus, RequestHead, RequestParser};
use sse_core::replay::{ReplayLog, EARLIEST};
use sse_core::server::CloseReason;

use super::{Sender, Service, Subscription, WRITE_BATCH};
use crate::runtime::{BoxFuture, Timer};

/// How long a client may take to send its request head (and, in
/// [`serve_with`](super::serve_with), to finish a TLS handshake): the
/// core's [`HEAD_TIMEOUT`](sse_core::endpoint::HEAD_TIMEOUT).
pub const HEAD_TIMEOUT: Duration = sse_core::endpoint::HEAD_TIMEOUT;

/// Answers requests for paths other than the stream's: a complete response
/// (e.g. from [`sse_core::endpoint::respond`], for an HTML page), or `None`
/// for the endpoint's 404.
pub type Fallback = dyn Fn(&RequestHead) -> Option<Bytes> + Send + Sync;

/// Called when a stream opens, with its request and a [`Sender`] to that
/// subscriber alone (keep it, e.g. by user, to send to them later).
pub type OnStream = dyn Fn(&RequestHead, Sender) + Send + Sync;

/// Called before a stream is subscribed: completes once the hub can serve
/// it (e.g. a mirror of a shared log caught up, so an ID handed out
/// elsewhere is found), or with the reason it cannot now; the client then
/// gets [`Endpoint::unavailable`](sse_core::endpoint::Endpoint::unavailable)
/// and retries.
pub type Admit = dyn Fn(&RequestHead) -> BoxFuture<Result<(), String>> + Send + Sync;

/// How a connection served by [`serve_connection`] ended well.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ended {
    /// A complete answer was written (404, 405, CORS preflight, `HEAD`, the
    /// fallback's page, an `admit` hook's refusal).
    Answered,
    /// The client closed the connection while streaming.
    ClientGone,
    /// The stream was closed: [`CloseReason::Lagged`] for a subscriber that
    /// fell behind, [`CloseReason::Finished`] after
    /// [`SharedHub::end_streams`](super::SharedHub::end_streams) or when the application closed it.
    Closed(CloseReason),
}

/// Why a connection served by [`serve_connection`] failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The request head did not arrive within [`HEAD_TIMEOUT`].
    HeadTimeout,
    /// The connection closed before a complete request head.
    NoRequest,
    /// The request head was malformed or too large, or announced a body
    /// that cannot be delimited (RFC 9112 §6.3); a 400 was sent.
    BadRequest(HeadError),
    /// Reading or writing the socket failed.
    Io(io::Error),
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectionError::HeadTimeout => f.write_str("no request head in time"),
            ConnectionError::NoRequest => f.write_str("closed before a request"),
            ConnectionError::BadRequest(e) => write!(f, "bad request: {e}"),
            ConnectionError::Io(e) => write!(f, "socket error: {e}"),
        }
    }
}

impl std::error::Error for ConnectionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConnectionError::BadRequest(e) => Some(e),
            ConnectionError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for ConnectionError {
    fn from(e: io::Error) -> Self {
        ConnectionError::Io(e)
    }
}

/// Serves one HTTP/1.1 connection of `service`: reads the request head (at
/// most the core's default [`HeadLimits`](sse_core::http1::HeadLimits),
/// within [`HEAD_TIMEOUT`]; a malformed head, or one whose body cannot be
/// delimited, gets a 400 and a close), lets its endpoint route it, and
/// either writes a complete answer (its fallback answers paths that are not
/// the stream's) or, once its `admit` hook agrees, subscribes to its hub
/// with the request's last event ID, hands a [`Sender`] to its `on_stream`
/// hook, and writes the stream head, then the subscription's bytes as they
/// come.
///
/// A stream ends when the client closes the connection (a read is kept
/// pending all along to notice), when the subscriber is closed (its socket
/// refused writes for its lag window and it fell out of the replay log,
/// even in the middle of an event; or
/// [`SharedHub::end_streams`](super::SharedHub::end_streams)), or when the
/// returned future is dropped: that is how [`serve`](super::serve) shuts
/// connections down. Only time the socket refused writes counts against a
/// subscriber: every refused write is reported to the hub, every write that
/// goes through clears it.
/// Any `AsyncRead + AsyncWrite` works: TCP, TLS, an in-memory pipe.
///
/// After a complete answer the connection is closed with `close()` and
/// kept for up to a second while the client reads it (closing with unread
/// input could reset the connection and lose the answer). Where `close()`
/// only flushes (async-io's `Async<TcpStream>`), a client that reads until
/// the end of the connection sees it end when that second is over.
pub async fn serve_connection<Io, L>(
    mut io: Io,
    service: &Service<L>,
    timer: &impl Timer,
) -> Result<Ended, ConnectionError>
where
    Io: AsyncRead + AsyncWrite + Unpin,
    L: ReplayLog,
{
    let deadline = timer.now() + HEAD_TIMEOUT;
    let timeout = async {
        timer.sleep_until(deadline).await;
        Err(ConnectionError::HeadTimeout)
    };
    let head = match future::or(read_head(&mut io), timeout).await {
        Ok(head) => head,
        Err(ConnectionError::BadRequest(e)) => {
            answer_and_close(&mut io, &bad_request(&e), timer).await?;
            return Err(ConnectionError::BadRequest(e));
        }
        Err(e) => return Err(e),
    };
    log::debug!("{} {}", head.method(), head.target());
    let endpoint = &service.endpoint;
    let (last_event_id, head_only) = match endpoint.route(&head) {
        Route::Stream {
            last_event_id,
            head_only,
        } => (last_event_id, head_only),
        Route::Respond(answer) => {
            answer_and_close(&mut io, &answer, timer).await?;
            return Ok(Ended::Answered);
        }
        Route::Elsewhere => {
            let answer = service
                .fallback
                .as_ref()
                .and_then(|f| f(&head))
                .unwrap_or_else(|| endpoint.not_found());
            answer_and_close(&mut io, &answer, timer).await?;
            return Ok(Ended::Answered);
        }
    };
    if let Some(admit) = &service.admit {
        if let Err(reason) = admit(&head).await {
            log::warn!("stream not served now: {reason}");
            let answer = endpoint.unavailable(&service.config, &reason);
            answer_and_close(&mut io, &answer, timer).await?;
            return Ok(Ended::Answered);
        }
    }
    let last_event_id = match last_event_id {
        None if service.history => Some(EARLIEST.to_string()),
        id => id,
    };
    let config = service.config.clone();
    let mut sub = service
        .hub
        .subscribe(timer.now(), last_event_id.as_deref(), config);
    if let Some(on_stream) = &service.on_stream {
        on_stream(&head, sub.sender());
    }
    let mut out = BytesMut::new();
    endpoint.stream_head(sub.response_head(), &mut out);
    if head_only {
        answer_and_close(&mut io, &out, timer).await?;
        return Ok(Ended::Answered);
    }
    log::debug!("streaming after {last_event_id:?}");
    let mut flushed = true;
    let ended =
        poll_fn(|cx| poll_stream(cx, &mut io, &mut sub, &mut out, &mut flushed, timer)).await?;
    let _ = io.close().await;
    match ended {
        Ended::ClientGone => log::debug!("client went away"),
        ended => log::debug!("stream ended: {ended:?}"),
    }
    Ok(ended)
}

/// Reads until a complete request head.
async fn read_head<Io>(io: &mut Io) -> Result<RequestHead, ConnectionError>
where
    Io: AsyncRead + Unpin,
{
    let mut parser = RequestParser::new();
    // On the heap: an array here would be part of the connection's future
    // (and its memory) for as long as the stream lasts.
    let mut buf = vec![0u8; 4096];
    loop {
        let n = io.read(&mut buf).await?;
        if n == 0 {
            return Err(ConnectionError::NoRequest);
        }
        match parser.handle_bytes(&buf[..n]) {
            Ok(HeadStatus::Complete(head, _)) => return Ok(head),
            Ok(HeadStatus::Partial) => {}
            Err(e) => return Err(ConnectionError::BadRequest(e)),
        }
    }
}

/// Writes a complete answer, closes the write side, and lets the client
/// read it (until it closes, or for [`LINGER`]).
async fn answer_and_close<Io>(io: &mut Io, answer: &[u8], timer: &impl Timer) -> io::Result<()>
where
    Io: AsyncRead + AsyncWrite + Unpin,
{
    io.write_all(answer).await?;
    io.flush().await?;
    io.close().await?;
    let mut sink = [0u8; 512];
    let drain = async { while matches!(io.read(&mut sink).await, Ok(n) if n > 0) {} };
    future::or(drain, timer.sleep_until(timer.now() + LINGER)).await;
    Ok(())
}

/// One round of streaming: notice a gone client, finish writing a batch
/// the socket started taking, peek at the next batch and write it
/// (committing it once the socket takes any of it, dropping it when the
/// socket takes none: it is offered again, as things then stand, when the
/// socket is writable), flush when there is nothing more.
fn poll_stream<Io, L: ReplayLog>(
    cx: &mut Context<'_>,
    io: &mut Io,
    sub: &mut Subscription<L>,
    out: &mut BytesMut,
    flushed: &mut bool,
    timer: &impl Timer,
) -> Poll<Result<Ended, ConnectionError>>
where
    Io: AsyncRead + AsyncWrite + Unpin,
{
    let mut probe = [0u8; 256];
    loop {
        // The client sends nothing after its head: a read that ends means
        // it went away. Stray bytes are read and dropped.
        match Pin::new(&mut *io).poll_read(cx, &mut probe) {
            Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => return Poll::Ready(Ok(Ended::ClientGone)),
            Poll::Ready(Ok(_)) => continue,
            Poll::Pending => {}
        }
        let committed = !out.is_empty();
        let now = if committed {
            None
        } else {
            match sub.poll_ready(cx, timer) {
                Poll::Ready(Some(now)) => {
                    sub.peek(now, WRITE_BATCH, |b| out.extend_from_slice(b));
                    Some(now)
                }
                Poll::Ready(None) => {
                    let reason = sub.closed().unwrap_or(CloseReason::Finished);
                    return Poll::Ready(Ok(Ended::Closed(reason)));
                }
                Poll::Pending if !*flushed => match Pin::new(&mut *io).poll_flush(cx) {
                    Poll::Ready(Ok(())) => {
                        *flushed = true;
                        continue;
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
                    Poll::Pending => return Poll::Pending,
                },
                Poll::Pending => return Poll::Pending,
            }
        };
        if out.is_empty() {
            continue; // lagged: `poll_ready` says how it ended
        }
        match Pin::new(&mut *io).poll_write(cx, out) {
            Poll::Ready(Ok(0)) => {
                return Poll::Ready(Err(io::Error::from(io::ErrorKind::WriteZero).into()))
            }
            Poll::Ready(Ok(n)) => {
                // Taken: a batch just offered, or more of a committed one
                // (the client reads: it does not count as blocked).
                sub.handle_written(now.unwrap_or_else(|| timer.now()));
                out.advance(n);
                *flushed = false;
            }
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
            Poll::Pending => {
                if !committed {
                    out.clear();
                }
                // Not writable: only such time counts against the
                // subscriber. Meanwhile, a client that stopped reading is
                // dropped once it refused writes for its lag window and
                // fell out of the log (even in the middle of a batch).
                sub.handle_blocked(now.unwrap_or_else(|| timer.now()));
                return match sub.poll_stuck(cx, timer) {
                    Poll::Ready(reason) => Poll::Ready(Ok(Ended::Closed(reason))),
                    Poll::Pending => Poll::Pending,
                };
            }
        }
    }
}

//! `EventSource` on any runtime: the core's client machine driven over a
//! [`Connector`] and a [`Timer`].
//!
//! [`EventSource`] is a [`Stream`] of the core's [`Notification`]s — open,
//! message, error, closed — filtered by [`Config::want`] like the seed's
//! `WantErrors | WantOpenClose | WantMessages` flags. It makes no decision
//! itself: [`sse_core::client::Client`] says when to connect, what to send
//! and when to give up, [`Exchange`] turns the socket's bytes into the
//! machine's inputs, and this driver only moves bytes and time between them.
//!
//! Each round of [`Stream::poll_next`] hands out a queued notification;
//! otherwise it carries out the machine's actions (connect, disconnect),
//! finishes a pending connect, writes the request, reads the socket, and
//! only then polls the timer for the machine's next deadline. The stream
//! ends (`None`) when the ready state is [`ReadyState::Closed`] and nothing
//! is queued; [`EventSource::reopen`] starts it again.
//!
//! Cancel by dropping the `EventSource` (the connection closes with it) or,
//! from another task, with a [`CloseHandle`].
//!
//! ```no_run
//! # async fn demo<C: sse_futures::Connector, T: sse_futures::Timer>(connector: C, timer: T) {
//! use futures_lite::StreamExt;
//! use sse_core::client::{Config, Notification};
//! use sse_futures::EventSource;
//!
//! let mut events = EventSource::with_parts("https://example.com/feed", Config::default(), connector, timer)
//!     .expect("valid url");
//! while let Some(n) = events.next().await {
//!     match n {
//!         Notification::Message(m) => println!("{}: {}", m.event.event_type(), m.event.data()),
//!         Notification::Error { reconnecting, error } => eprintln!("{error} (reconnecting: {reconnecting})"),
//!         _ => {}
//!     }
//! }
//! # }
//! ```

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use bytes::BytesMut;
use futures_lite::{AsyncRead, AsyncWrite, Stream, StreamExt};
use sse_core::client::{
    Action, Client, Config, Exchange, MessageEvent, Notification, ReadyState, TransportError,
};
use sse_core::url::{Url, UrlError};
use sse_core::{Instant, Utf8Bytes};

use crate::runtime::{BoxFuture, ConnectError, Connector, Timer};

/// Bytes asked of the socket per read.
const READ_SIZE: usize = 16 * 1024;

/// An `EventSource` over a runtime's [`Connector`] and [`Timer`]. See the
/// [module docs](self).
pub struct EventSource<C: Connector, T: Timer> {
    client: Client,
    connector: C,
    timer: T,
    conn: Conn<C::Io>,
    deadline: Deadline,
    buf: Box<[u8]>,
    close: CloseSignal,
}

/// The connection, as far as it has got.
enum Conn<Io> {
    None,
    Connecting {
        future: BoxFuture<Result<Io, ConnectError>>,
        request: BytesMut,
        exchange: Exchange,
    },
    Open {
        io: Io,
        /// Request bytes not yet written.
        request: BytesMut,
        exchange: Exchange,
        /// The read side is over (end of file, error, or response done).
        done: bool,
    },
}

/// The close flag a [`CloseHandle`] sets and the task it wakes: what every
/// `EventSource` driver (this one, `sse-reqwest`'s) shares with its handles.
#[derive(Default)]
pub struct CloseSignal(Arc<Shared>);

#[derive(Default)]
struct Shared {
    close: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl CloseSignal {
    /// A handle that raises this signal.
    pub fn handle(&self) -> CloseHandle {
        CloseHandle(Arc::clone(&self.0))
    }

    /// Whether a handle asked to close since the last call; lowers the flag.
    pub fn take(&self) -> bool {
        self.0.close.swap(false, Ordering::AcqRel)
    }

    /// Forgets a pending close (on `reopen`).
    pub fn clear(&self) {
        self.0.close.store(false, Ordering::Release);
    }

    /// Wakes the task that last parked, if any.
    pub fn wake(&self) {
        if let Ok(Some(waker)) = self.0.waker.lock().map(|mut w| w.take()) {
            waker.wake();
        }
    }

    /// Registers `waker` for handles to wake, just before a driver returns
    /// `Pending` (not per message). `true` if a close was asked meanwhile:
    /// the driver must look again instead of returning.
    pub fn park(&self, waker: &Waker) -> bool {
        if let Ok(mut w) = self.0.waker.lock() {
            if !w.as_ref().is_some_and(|w| w.will_wake(waker)) {
                *w = Some(waker.clone());
            }
        }
        self.0.close.load(Ordering::Acquire)
    }
}

/// Closes an [`EventSource`] from another task or thread: the stream reports
/// the ready state [`ReadyState::Closed`] and ends at its next poll.
#[derive(Clone)]
pub struct CloseHandle(Arc<Shared>);

impl CloseHandle {
    /// Asks the `EventSource` to close, as [`EventSource::close`] does.
    pub fn close(&self) {
        self.0.close.store(true, Ordering::Release);
        CloseSignal(Arc::clone(&self.0)).wake();
    }
}

/// The sleep until a [`Client`]'s next deadline, on a [`Timer`]: re-armed
/// only for an earlier deadline (a later one is handled when the current
/// sleep ends, since the machine ignores early timeouts).
#[derive(Default)]
pub struct Deadline {
    sleep: Option<(Instant, BoxFuture<()>)>,
}

impl Deadline {
    /// Polls the sleep for `client`'s next deadline; when it is over, runs
    /// [`Client::handle_timeout`] and returns `true`.
    pub fn poll(&mut self, client: &mut Client, timer: &impl Timer, cx: &mut Context<'_>) -> bool {
        let Some(deadline) = client.poll_timeout() else {
            self.sleep = None;
            return false;
        };
        if self.sleep.as_ref().is_none_or(|(at, _)| deadline < *at) {
            self.sleep = Some((deadline, timer.sleep_until(deadline)));
        }
        let Some((_, sleep)) = &mut self.sleep else {
            return false;
        };
        if sleep.as_mut().poll(cx).is_pending() {
            return false;
        }
        self.sleep = None;
        client.handle_timeout(timer.now());
        true
    }

    /// Drops the sleep.
    pub fn clear(&mut self) {
        self.sleep = None;
    }
}

impl<C: Connector, T: Timer> EventSource<C, T> {
    /// An `EventSource` for `url`; the first connection attempt starts at
    /// the first poll.
    pub fn with_parts(url: &str, config: Config, connector: C, timer: T) -> Result<Self, UrlError> {
        let url = Url::parse(url)?;
        let client = Client::new(url, config, timer.now());
        Ok(EventSource {
            client,
            connector,
            timer,
            conn: Conn::None,
            deadline: Deadline::default(),
            buf: vec![0; READ_SIZE].into_boxed_slice(),
            close: CloseSignal::default(),
        })
    }

    /// `readyState`: connecting (or waiting to reconnect), open or closed.
    pub fn ready_state(&self) -> ReadyState {
        self.client.ready_state()
    }

    /// The URL the `EventSource` was created with (reconnects start here).
    pub fn url(&self) -> &Url {
        self.client.url()
    }

    /// The last event ID, sent as `Last-Event-ID` on the next connection.
    pub fn last_event_id(&self) -> Utf8Bytes {
        self.client.last_event_id()
    }

    /// Replaces the last event ID (`""` clears it).
    pub fn set_last_event_id(&mut self, id: impl Into<Utf8Bytes>) {
        self.client.set_last_event_id(id);
    }

    /// `close()`: drops the connection and stops for good, until
    /// [`EventSource::reopen`].
    pub fn close(&mut self) {
        self.client.close();
        self.apply_actions();
    }

    /// Starts again after [`EventSource::close`] or a fatal error, keeping
    /// the last event ID.
    pub fn reopen(&mut self) {
        self.close.clear();
        self.client.reopen(self.timer.now());
        self.close.wake();
    }

    /// A handle that closes this `EventSource` from elsewhere.
    pub fn close_handle(&self) -> CloseHandle {
        self.close.handle()
    }

    /// The core machine, for anything this driver does not forward.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Only the messages, without open and error notifications.
    pub fn messages(&mut self) -> impl Stream<Item = MessageEvent> + '_ {
        self.filter_map(|n| match n {
            Notification::Message(m) => Some(m),
            _ => None,
        })
    }

    /// Carries out every queued action.
    fn apply_actions(&mut self) {
        while let Some(action) = self.client.poll_action() {
            match action {
                Action::Disconnect => self.conn = Conn::None,
                Action::Connect(request) => {
                    self.conn = Conn::None;
                    let mut bytes = BytesMut::new();
                    let via = self.connector.forward_proxy(&request.url);
                    match Exchange::start_via(&request, via, &mut bytes) {
                        Ok(exchange) => {
                            log::debug!("{} {}: connecting", request.method, request.url);
                            self.conn = Conn::Connecting {
                                future: self.connector.connect(&request.url),
                                request: bytes,
                                exchange,
                            };
                        }
                        Err(e) => {
                            log::error!("{}: cannot send the request: {e}", request.url);
                            let now = self.timer.now();
                            self.client
                                .handle_connect_failed(now, TransportError::Other);
                        }
                    }
                }
            }
        }
    }

    /// Advances the connection; `true` if anything happened.
    fn poll_conn(&mut self, cx: &mut Context<'_>) -> bool {
        match &mut self.conn {
            Conn::None => false,
            Conn::Connecting { future, .. } => {
                let Poll::Ready(result) = future.as_mut().poll(cx) else {
                    return false;
                };
                let now = self.timer.now();
                let Conn::Connecting {
                    request, exchange, ..
                } = std::mem::replace(&mut self.conn, Conn::None)
                else {
                    return true;
                };
                match result {
                    Ok(io) => {
                        self.client.handle_connected(now);
                        self.conn = Conn::Open {
                            io,
                            request,
                            exchange,
                            done: false,
                        };
                    }
                    Err(e) => {
                        log::debug!("{}: connect failed: {e}", self.client.current_url());
                        self.client.handle_connect_failed(now, e.kind);
                    }
                }
                true
            }
            Conn::Open {
                io,
                request,
                exchange,
                done,
            } => {
                if *done {
                    return false;
                }
                if !request.is_empty() {
                    match Pin::new(&mut *io).poll_write(cx, request) {
                        Poll::Ready(Ok(n)) if n > 0 => {
                            let _ = request.split_to(n);
                            if request.is_empty() {
                                let _ = Pin::new(&mut *io).poll_flush(cx);
                            }
                            return true;
                        }
                        Poll::Ready(Ok(_)) => {
                            let e = io::Error::from(io::ErrorKind::WriteZero);
                            return fail(&mut self.client, &self.timer, done, &e);
                        }
                        Poll::Ready(Err(e)) => {
                            return fail(&mut self.client, &self.timer, done, &e)
                        }
                        Poll::Pending => {}
                    }
                }
                match Pin::new(&mut *io).poll_read(cx, &mut self.buf) {
                    Poll::Pending => false,
                    Poll::Ready(Ok(0)) => {
                        *done = true;
                        exchange.handle_eof(&mut self.client, self.timer.now());
                        true
                    }
                    Poll::Ready(Ok(n)) => {
                        let now = self.timer.now();
                        exchange.handle_bytes(&mut self.client, now, &self.buf[..n]);
                        *done = exchange.is_finished();
                        true
                    }
                    Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => true,
                    Poll::Ready(Err(e)) => fail(&mut self.client, &self.timer, done, &e),
                }
            }
        }
    }
}

/// Reports a broken connection to the machine.
fn fail(client: &mut Client, timer: &impl Timer, done: &mut bool, e: &io::Error) -> bool {
    *done = true;
    client.handle_transport_error(timer.now(), e.into());
    true
}

impl<C: Connector, T: Timer> Stream for EventSource<C, T> {
    type Item = Notification;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Notification>> {
        let this = self.get_mut();
        loop {
            if this.close.take() {
                this.client.close();
            }
            this.apply_actions();
            if let Some(n) = this.client.poll_notification() {
                return Poll::Ready(Some(n));
            }
            if this.poll_conn(cx) || this.deadline.poll(&mut this.client, &this.timer, cx) {
                continue;
            }
            if this.client.ready_state() == ReadyState::Closed {
                // Nothing more can happen until `reopen`: let go of the
                // connection (a one-shot stream's, after its end) and end.
                this.conn = Conn::None;
                this.deadline.clear();
                return Poll::Ready(None);
            }
            // Only now, not per message: a close handle wakes this task.
            if this.close.park(cx.waker()) {
                continue; // closed while registering
            }
            return Poll::Pending;
        }
    }
}

impl<C: Connector, T: Timer> Unpin for EventSource<C, T> {}

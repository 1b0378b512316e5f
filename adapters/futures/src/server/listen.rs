//! The accept loop: a task per connection, graceful shutdown.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use event_listener::Event as Signal;
use futures_lite::{future, AsyncRead, AsyncWrite, Stream, StreamExt};
use sse_core::endpoint::Endpoint;
use sse_core::replay::{MemoryLog, ReplayLog};
use sse_core::server::Config;

use super::conn::{serve_connection, Admit, Ended, Fallback, OnStream, HEAD_TIMEOUT};
use super::Sender;
use super::SharedHub;
use crate::runtime::{BoxFuture, Timer};

/// Pause after a failed accept (e.g. out of file descriptors), so the loop
/// does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What every connection of a server shares: where the stream is, what it
/// streams, and how.
pub struct Service<L: ReplayLog = MemoryLog> {
    /// The stream's path, CORS and routing.
    pub endpoint: Endpoint,
    /// What subscribers get.
    pub hub: SharedHub<L>,
    /// Each subscriber's stream settings (keep-alive, `retry:`, lag policy
    /// and window).
    pub config: Config,
    /// Whether a subscriber that sends no last event ID first gets
    /// everything the log retains (as if it sent `earliest`, like `tail
    /// -f`) instead of live events only.
    pub history: bool,
    /// Answers for other paths; `None` answers them with 404.
    pub fallback: Option<Arc<Fallback>>,
    /// Holds streams back until the hub can serve them (see [`Admit`]).
    pub admit: Option<Arc<Admit>>,
    /// Gets a [`Sender`] for each stream that opens (see [`OnStream`]).
    pub on_stream: Option<Arc<OnStream>>,
}

impl<L: ReplayLog> Clone for Service<L> {
    fn clone(&self) -> Self {
        Service {
            endpoint: self.endpoint.clone(),
            hub: self.hub.clone(),
            config: self.config.clone(),
            history: self.history,
            fallback: self.fallback.clone(),
            admit: self.admit.clone(),
            on_stream: self.on_stream.clone(),
        }
    }
}

impl<L: ReplayLog> Service<L> {
    /// Serves `hub` at `endpoint` with the default stream settings.
    pub fn new(endpoint: Endpoint, hub: SharedHub<L>) -> Self {
        Service {
            endpoint,
            hub,
            config: Config::default(),
            history: false,
            fallback: None,
            admit: None,
            on_stream: None,
        }
    }

    /// Sets each subscriber's stream settings.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// New subscribers without a last event ID first get the retained
    /// history (see [`Service::history`](Service#structfield.history)).
    pub fn history(mut self, history: bool) -> Self {
        self.history = history;
        self
    }

    /// Answers other paths with `fallback` (see [`Fallback`]).
    pub fn fallback(
        mut self,
        fallback: impl Fn(&sse_core::http1::RequestHead) -> Option<bytes::Bytes> + Send + Sync + 'static,
    ) -> Self {
        self.fallback = Some(Arc::new(fallback));
        self
    }

    /// Holds each stream back until `admit` completes (see [`Admit`]).
    pub fn admit(
        mut self,
        admit: impl Fn(&sse_core::http1::RequestHead) -> BoxFuture<Result<(), String>>
            + Send
            + Sync
            + 'static,
    ) -> Self {
        self.admit = Some(Arc::new(admit));
        self
    }

    /// Hands each stream's [`Sender`] to `on_stream` (see [`OnStream`]).
    pub fn on_stream(
        mut self,
        on_stream: impl Fn(&sse_core::http1::RequestHead, Sender) + Send + Sync + 'static,
    ) -> Self {
        self.on_stream = Some(Arc::new(on_stream));
        self
    }
}

impl<L: ReplayLog> fmt::Debug for Service<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Service")
            .field("endpoint", &self.endpoint)
            .field("config", &self.config)
            .field("history", &self.history)
            .field("fallback", &self.fallback.is_some())
            .field("admit", &self.admit.is_some())
            .field("on_stream", &self.on_stream.is_some())
            .finish_non_exhaustive()
    }
}

/// Controls a running server: counts its connections, shuts it down, and
/// tells when it is gone. Clones control the same server; dropping every
/// handle leaves the server running.
#[derive(Clone)]
pub struct ServerHandle {
    state: Arc<State>,
    local_addr: Option<SocketAddr>,
}

#[derive(Default)]
struct State {
    stopping: AtomicBool,
    /// Notified once on shutdown.
    stop: Signal,
    /// The accept loop plus every connection task still alive.
    tasks: AtomicUsize,
    connections: AtomicUsize,
    /// Notified when `tasks` reaches zero.
    idle: Signal,
    next_id: AtomicU64,
}

impl ServerHandle {
    /// Records the address the listener is bound to.
    pub fn with_local_addr(mut self, addr: SocketAddr) -> Self {
        self.local_addr = Some(addr);
        self
    }

    /// The address the listener is bound to, when the runtime adapter told.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr
    }

    /// Connection tasks alive now (streaming, answering, or handshaking).
    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::Acquire)
    }

    /// Connections accepted since the server started, open or not: e.g.
    /// to see that an HTTP/2 client opened one for all its streams.
    pub fn accepted(&self) -> u64 {
        self.state.next_id.load(Ordering::Acquire)
    }

    /// Stops accepting (the listener is dropped, so the port refuses) and
    /// ends every connection. Returns at once; [`ServerHandle::stopped`]
    /// tells when everything is gone. Calling it again does nothing.
    pub fn shutdown(&self) {
        if !self.state.stopping.swap(true, Ordering::AcqRel) {
            log::info!("shutting down");
            self.state.stop.notify(usize::MAX);
        }
    }

    /// Whether [`ServerHandle::shutdown`] was called.
    pub fn is_shutting_down(&self) -> bool {
        self.state.stopping.load(Ordering::Acquire)
    }

    /// Completes once the accept loop and every connection task are gone
    /// (after [`ServerHandle::shutdown`], or when the listener ended).
    pub fn stopped(&self) -> impl Future<Output = ()> + Send + 'static {
        let state = Arc::clone(&self.state);
        async move {
            loop {
                if state.tasks.load(Ordering::Acquire) == 0 {
                    return;
                }
                let idle = state.idle.listen();
                if state.tasks.load(Ordering::Acquire) == 0 {
                    return;
                }
                idle.await;
            }
        }
    }

    /// [`ServerHandle::shutdown`], then [`ServerHandle::stopped`].
    pub fn shutdown_and_wait(&self) -> impl Future<Output = ()> + Send + 'static {
        self.shutdown();
        self.stopped()
    }
}

impl fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandle")
            .field("local_addr", &self.local_addr)
            .field("connections", &self.connections())
            .field("shutting_down", &self.is_shutting_down())
            .finish()
    }
}

impl State {
    /// Completes once shutdown is asked for.
    async fn stopping(&self) {
        loop {
            if self.stopping.load(Ordering::Acquire) {
                return;
            }
            let stop = self.stop.listen();
            if self.stopping.load(Ordering::Acquire) {
                return;
            }
            stop.await;
        }
    }
}

/// Counts a task while it lives (also when the executor drops it unrun).
struct TaskGuard {
    state: Arc<State>,
    connection: bool,
}

impl TaskGuard {
    fn new(state: &Arc<State>, connection: bool) -> Self {
        state.tasks.fetch_add(1, Ordering::AcqRel);
        if connection {
            state.connections.fetch_add(1, Ordering::AcqRel);
        }
        TaskGuard {
            state: Arc::clone(state),
            connection,
        }
    }
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        if self.connection {
            self.state.connections.fetch_sub(1, Ordering::AcqRel);
        }
        if self.state.tasks.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.state.idle.notify(usize::MAX);
        }
    }
}

/// Serves every connection `incoming` yields with [`serve_connection`],
/// each in a task given to `spawn` (the accept loop is one too); returns at
/// once with the server's handle. The loop ends, dropping `incoming`, on
/// [`ServerHandle::shutdown`] or when `incoming` ends; a failed accept is
/// logged and retried after a short pause.
pub fn serve<I, Io, T, L>(
    incoming: I,
    spawn: impl Fn(BoxFuture<()>) + Send + Sync + 'static,
    service: Service<L>,
    timer: T,
) -> ServerHandle
where
    I: Stream<Item = io::Result<Io>> + Send + Unpin + 'static,
    Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    T: Timer,
    L: ReplayLog + Send + 'static,
{
    serve_with(
        incoming,
        |io| Box::pin(future::ready(Ok(io))),
        spawn,
        service,
        timer,
    )
}

/// [`serve`], where each accepted connection first goes through `handshake`
/// (e.g. a TLS accept) in its own task, within [`HEAD_TIMEOUT`].
pub fn serve_with<I, Raw, Io, H, T, L>(
    incoming: I,
    handshake: H,
    spawn: impl Fn(BoxFuture<()>) + Send + Sync + 'static,
    service: Service<L>,
    timer: T,
) -> ServerHandle
where
    L: ReplayLog + Send + 'static,
    I: Stream<Item = io::Result<Raw>> + Send + Unpin + 'static,
    Raw: Send + 'static,
    H: Fn(Raw) -> BoxFuture<io::Result<Io>> + Send + Sync + 'static,
    Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    T: Timer,
{
    let service = Arc::new(service);
    let timer = Arc::new(timer);
    let handshake = Arc::new(handshake);
    let accept_timer = Arc::clone(&timer);
    serve_connections(incoming, spawn, accept_timer, move |id, raw| {
        let task = connection(
            id,
            raw,
            Arc::clone(&service),
            Arc::clone(&timer),
            Arc::clone(&handshake),
        );
        Box::pin(task)
    })
}

/// The accept loop of [`serve`] around any connection handler: every
/// connection `incoming` yields is handed to `connection` with a number
/// (for logs), and the future it returns runs in a task given to `spawn`
/// (the accept loop is one too), until it completes or
/// [`ServerHandle::shutdown`] drops it. Returns at once with the handle,
/// which counts those tasks. The loop ends, dropping `incoming`, on
/// shutdown or when `incoming` ends; a failed accept is logged and retried
/// after a short pause on `timer`.
///
/// For servers whose connections are not [`serve_connection`]'s, e.g.
/// hyper's HTTP/1.1 and HTTP/2 connections in `sse-tokio`.
pub fn serve_connections<I, Raw, T, C>(
    mut incoming: I,
    spawn: impl Fn(BoxFuture<()>) + Send + Sync + 'static,
    timer: T,
    connection: C,
) -> ServerHandle
where
    I: Stream<Item = io::Result<Raw>> + Send + Unpin + 'static,
    Raw: Send + 'static,
    T: Timer,
    C: Fn(u64, Raw) -> BoxFuture<()> + Send + Sync + 'static,
{
    let state = Arc::new(State::default());
    let guard = TaskGuard::new(&state, false);
    let handle = ServerHandle {
        state: Arc::clone(&state),
        local_addr: None,
    };
    // The accept loop spawns connections, and is spawned itself.
    let spawn = Arc::new(spawn);
    let spawn_connection = Arc::clone(&spawn);
    let accept_loop = async move {
        loop {
            let next = async { Some(incoming.next().await) };
            let stop = async {
                state.stopping().await;
                None
            };
            let raw = match future::or(stop, next).await {
                None | Some(None) => break,
                Some(Some(Ok(raw))) => raw,
                Some(Some(Err(e))) => {
                    log::warn!("accept failed: {e}");
                    let pause = timer.sleep_until(timer.now() + ACCEPT_BACKOFF);
                    future::or(pause, state.stopping()).await;
                    continue;
                }
            };
            let id = state.next_id.fetch_add(1, Ordering::AcqRel);
            let guard = TaskGuard::new(&state, true);
            let work = connection(id, raw);
            let task = async move {
                let state = Arc::clone(&guard.state);
                future::or(work, async {
                    state.stopping().await;
                    log::debug!("connection {id}: ended by shutdown");
                })
                .await;
                drop(guard);
            };
            (*spawn_connection)(Box::pin(task));
        }
        // Close the listener before the task counts as gone.
        drop(incoming);
        log::debug!("accept loop ended");
        drop(guard);
    };
    (*spawn)(Box::pin(accept_loop));
    handle
}

/// One connection's work: handshake, then serve.
async fn connection<Raw, Io, H, T, L>(
    id: u64,
    raw: Raw,
    service: Arc<Service<L>>,
    timer: Arc<T>,
    handshake: Arc<H>,
) where
    L: ReplayLog + Send + 'static,
    H: Fn(Raw) -> BoxFuture<io::Result<Io>> + Send + Sync + 'static,
    Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    T: Timer,
{
    let deadline = timer.now() + HEAD_TIMEOUT;
    let timeout = async {
        timer.sleep_until(deadline).await;
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "handshake timed out",
        ))
    };
    let io = match future::or((*handshake)(raw), timeout).await {
        Ok(io) => io,
        Err(e) => {
            log::debug!("connection {id}: handshake failed: {e}");
            return;
        }
    };
    log::debug!("connection {id}: open");
    let ended = serve_connection(io, &service, &*timer).await;
    match ended {
        Ok(Ended::Closed(reason)) => log::debug!("connection {id}: {reason}"),
        Ok(ended) => log::debug!("connection {id}: {ended:?}"),
        Err(e) => log::debug!("connection {id}: {e}"),
    }
}

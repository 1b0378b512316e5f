//! Client scenarios against an adapter's `EventSource` over real loopback
//! sockets, on a virtual clock.
//!
//! The runner plays the scenario's server as a real HTTP server on
//! 127.0.0.1 (the adapter's connector is pointed at it whatever the URL's
//! host), reads each request off the wire, writes the scripted heads and
//! bodies, closes with a FIN for `eof` and an RST for `reset`. A `refuse`
//! is played as a reset before any response, so the request is still seen
//! on the wire; the client reports a failed connect either way.
//! [`LoopbackClient::with_real_refusals`] plays it as a real refused
//! connect instead (after the script's waits, in virtual time), which runs
//! the driver's connect-failure path but leaves only the attempt's time and
//! URL to observe.
//!
//! It drives the adapter's driver as its users would, and only moves the
//! virtual clock once everything is settled: the client has read every
//! byte the server wrote (counted on its socket), seen every end, the
//! server has every request the client sent, and the driver is parked, in
//! the same wait before and after the runner read those counters.
//! An async driver ([`FuturesDriver`]) is polled only when its waker was
//! woken (by the clock, by the smol or async-std reactor, or by the
//! runner for plain std sockets, which have no reactor) and after a user
//! action; parked means not woken since its last `Pending`. The blocking
//! driver ([`ThreadedDriver`]) runs on a thread of its own and blocks in
//! reads with its own read timeouts and in `Clock::sleep_until`, in
//! virtual time; parked means that thread waits and has seen nothing to
//! do since time last moved. The next time is the earliest of the next
//! server step, the next user step and the earliest deadline the driver
//! itself waits for (an async sleep, a blocking sleep or read timeout), not
//! the core's: a driver that forgets a timer stalls here as it would on a
//! real clock. That keeps the in-process runner's order at equal times
//! (server step, user step, then timers) and makes a run deterministic.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use sse_core::client::{Client, Config, Notification, ReadyState};
use sse_core::http1::{
    BodyDecoder, BodyEvent, Framing as WireFraming, HeadStatus, RequestHead, RequestParser,
    ResponseParser,
};
use sse_core::Instant;

use super::clock::{ceil_ms, VirtualClock, SCENARIO_LIMIT, SETTLE_LIMIT, STEP_TIME};
use super::wire::{reset, tokio_socket, LoopConnector, Refusals, RuntimeConnector, Stats};
use crate::client::{
    core_config, decode_hex, flatten, frame_body, state_name, ClientUnderTest, Framing, Observed,
    ObservedRequest, Scenario, ServerStep, UserAction, UserStep, LAST_CHUNK,
};

/// An adapter's client, driven one step at a time.
pub trait Driver {
    /// Lets the driver do what it can without waiting; the next
    /// notification if any. An async driver is polled only when its waker
    /// was woken (or a user action was just taken), as an executor would.
    fn poll(&mut self) -> Poll<Option<Notification>>;
    /// Whether the driver waits for something (bytes, time, a user action)
    /// and nothing it waits for has happened: `Some` id of that wait, the
    /// same for as long as the driver stays in it. The runner looks twice,
    /// around its own counters: a driver on a thread of its own may act
    /// (connect, send a request, drop a connection) and park again in
    /// between, and then the ids differ.
    fn parked(&self) -> Option<u64>;
    /// `close()`.
    fn close(&mut self);
    /// `reopen()`.
    fn reopen(&mut self);
    /// Sets the last event ID.
    fn set_last_event_id(&mut self, id: String);
    /// The ready state.
    fn ready_state(&mut self) -> ReadyState;
    /// The last event ID and the reconnection time in ms, at the end.
    fn finish(&mut self) -> (String, u64);
    /// When the driver wants to run next: by default the earliest sleep it
    /// registered on the clock.
    fn next_deadline(&self, clock: &VirtualClock) -> Option<Instant> {
        clock.next_deadline()
    }
}

/// Makes an adapter's driver for a URL and configuration, with the runner's
/// connector and clock.
pub type MakeDriver =
    fn(&str, Config, LoopConnector, VirtualClock) -> Result<Box<dyn Driver>, String>;

/// An adapter's client as a [`ClientUnderTest`] over loopback.
pub struct LoopbackClient {
    make: MakeDriver,
    real_refusals: bool,
    skips: Option<Skips>,
}

/// Why a driver cannot play a scenario, if it cannot.
pub type Skips = fn(&Scenario) -> Option<String>;

impl LoopbackClient {
    /// A runner for the driver `make` builds.
    pub fn new(make: MakeDriver) -> Self {
        LoopbackClient {
            make,
            real_refusals: false,
            skips: None,
        }
    }

    /// The same runner, skipping (with the reason `skips` gives) the
    /// scenarios the driver cannot play.
    pub fn skipping(self, skips: Skips) -> Self {
        LoopbackClient {
            skips: Some(skips),
            ..self
        }
    }

    /// A runner that plays a `refuse` that opens its script (after its
    /// waits) as a real refused connect (a port nothing listens on), so
    /// the driver's connect-failure path runs. No request reaches the
    /// wire then: such an attempt is reported with its time and URL only
    /// (empty method, no headers), and [`relax_refused`] makes a scenario
    /// expect no more than that.
    pub fn with_real_refusals(make: MakeDriver) -> Self {
        LoopbackClient {
            make,
            real_refusals: true,
            skips: None,
        }
    }
}

/// Attempt by attempt: `Some(wait_ms)` if its script is waits, then `refuse`.
pub fn refused_attempts(scenario: &Scenario) -> Vec<Option<u64>> {
    scenario
        .server
        .iter()
        .map(|steps| {
            let mut wait = 0;
            for step in steps {
                match step {
                    ServerStep::WaitMs(ms) => wait += ms,
                    ServerStep::Refuse => return Some(wait),
                    _ => return None,
                }
            }
            None
        })
        .collect()
}

/// `scenario` expecting of each attempt refused for real (see
/// [`LoopbackClient::with_real_refusals`]) only its time and URL.
pub fn relax_refused(scenario: &Scenario) -> Scenario {
    let mut relaxed = scenario.clone();
    for (i, refused) in refused_attempts(scenario).iter().enumerate() {
        if let (Some(_), Some(request)) = (refused, relaxed.expect.requests.get_mut(i)) {
            request.method = None;
            request.headers.clear();
            request.body = None;
        }
    }
    relaxed
}

impl ClientUnderTest for LoopbackClient {
    fn skip(&self, scenario: &Scenario) -> Option<String> {
        self.skips.and_then(|skips| skips(scenario))
    }

    fn run(&mut self, scenario: &Scenario) -> Result<Observed, String> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let mut connector = LoopConnector::new(listener.local_addr().map_err(|e| e.to_string())?);
        let clock = VirtualClock::default();
        // Held until the run is over.
        let mut refusing = None;
        if self.real_refusals {
            let (socket, closed) = refusing_port().map_err(|e| e.to_string())?;
            refusing = Some(socket);
            let refusals = Refusals {
                plan: refused_attempts(scenario),
                closed: Some(closed),
            };
            connector = connector.refusing(refusals, clock.clone());
        }
        let config = core_config(&scenario.config)?;
        let driver = (self.make)(&scenario.url, config, connector.clone(), clock.clone())?;
        let mut user: Vec<UserStep> = scenario.user.clone();
        user.sort_by_key(|s| s.at_ms);
        let observed = Run {
            scenario,
            driver,
            clock,
            connector,
            listener,
            conns: Vec::new(),
            user: user.into(),
            now: 0,
            observed: Observed::default(),
        }
        .run();
        drop(refusing);
        observed
    }
}

/// A port on 127.0.0.1 that refuses connections: a socket bound to it
/// that never listens, to keep for as long as the port must refuse. (A
/// port bound and freed at once can be taken meanwhile by any listener,
/// of a run going on in parallel or of another process, which would then
/// accept the connects meant to be refused, and that run would accept a
/// stranger's connection as its client's.)
fn refusing_port() -> io::Result<(socket2::Socket, SocketAddr)> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
    let addr = socket.local_addr()?.as_socket();
    Ok((socket, addr.ok_or(io::ErrorKind::AddrNotAvailable)?))
}

/// The server's end of one connection.
struct Conn {
    tcp: Option<TcpStream>,
    stats: Arc<Stats>,
    url: String,
    parser: RequestParser,
    head: Option<RequestHead>,
    body: Vec<u8>,
    body_len: usize,
    steps: VecDeque<ServerStep>,
    next_at: u64,
    written: u64,
    /// The same bytes as an HTTP client reads them.
    response: Written,
    /// The server ended it (eof or reset).
    ended: bool,
    /// Its request is in `observed.requests`.
    recorded: bool,
    disconnect_seen: bool,
    /// The response body is chunked.
    chunked: bool,
    /// The last chunk was sent (or a framed body was sent whole).
    body_done: bool,
}

impl Conn {
    fn request_complete(&self) -> bool {
        self.head.is_some() && self.body.len() >= self.body_len
    }

    /// Reads what the client sent so far.
    fn pump(&mut self) -> Result<bool, String> {
        if self.request_complete() {
            return Ok(false);
        }
        let Some(tcp) = self.tcp.as_mut() else {
            return Ok(false);
        };
        let mut buf = [0u8; 4096];
        let n = match tcp.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(_) => 0,
        };
        if n == 0 {
            return Ok(false);
        }
        let mut rest = &buf[..n];
        if self.head.is_none() {
            match self.parser.handle_bytes(rest) {
                Ok(HeadStatus::Partial) => return Ok(true),
                Ok(HeadStatus::Complete(head, used)) => {
                    self.body_len = head
                        .header_str("content-length")
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    self.head = Some(head);
                    rest = &rest[used..];
                }
                Err(e) => return Err(format!("bad request from the client: {e}")),
            }
        }
        self.body.extend_from_slice(rest);
        Ok(true)
    }

    /// One body step: one chunk of a chunked body.
    fn write_body(&mut self, bytes: &[u8]) -> Result<(), String> {
        let mut wire = Vec::new();
        frame_body(self.chunked, bytes, &mut wire);
        self.write(&wire)
    }

    /// The last chunk of a chunked body, once.
    fn end_body(&mut self) -> Result<(), String> {
        if self.chunked && !self.body_done {
            self.body_done = true;
            return self.write(LAST_CHUNK);
        }
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        let Some(tcp) = self.tcp.as_mut() else {
            return Ok(());
        };
        // The client may have gone; then the bytes go nowhere.
        if tcp.write_all(bytes).is_ok() {
            self.written += bytes.len() as u64;
            self.response.feed(bytes);
        }
        Ok(())
    }

    /// Whether the client has read everything written so far.
    fn all_read(&self) -> bool {
        if self.stats.http {
            self.response.read_by(&self.stats)
        } else {
            self.stats.read.load(Ordering::Acquire) >= self.written
        }
    }
}

/// What the server wrote on one connection as an HTTP client reads it:
/// whether the response head is complete, how many body bytes it carries
/// once de-framed, and whether its framing ended the body (the last chunk,
/// or all of a `Content-Length`). An HTTP-level client's counters
/// ([`Stats::http`]) are compared with these.
#[derive(Debug)]
struct Written {
    parser: ResponseParser,
    body: Option<BodyDecoder>,
    head: bool,
    body_len: u64,
    body_end: bool,
}

impl Written {
    fn new() -> Self {
        Written {
            parser: ResponseParser::new(),
            body: None,
            head: false,
            body_len: 0,
            body_end: false,
        }
    }

    fn feed(&mut self, mut bytes: &[u8]) {
        if self.body.is_none() {
            let Ok(HeadStatus::Complete(head, used)) = self.parser.handle_bytes(bytes) else {
                return; // not complete yet, or a head the client fails at
            };
            self.head = true;
            let framing = head.framing(false).unwrap_or(WireFraming::Empty);
            self.body = Some(BodyDecoder::new(framing));
            bytes = bytes.get(used..).unwrap_or_default();
        }
        if let Some(body) = &mut self.body {
            body.handle_bytes(bytes);
            while let Some(Ok(event)) = body.poll_body() {
                match event {
                    BodyEvent::Data(data) => self.body_len += data.len() as u64,
                    BodyEvent::End => self.body_end = true,
                }
            }
        }
    }

    /// Whether an HTTP-level client took all of it: the head, every body
    /// byte, and the end its framing marked (the library reports that end
    /// on its body stream, as it reports the close of an unframed body).
    fn read_by(&self, stats: &Stats) -> bool {
        (!self.head || stats.head.load(Ordering::Acquire))
            && stats.read.load(Ordering::Acquire) >= self.body_len
            && (!self.body_end || stats.ended.load(Ordering::Acquire))
    }
}

struct Run<'a> {
    scenario: &'a Scenario,
    driver: Box<dyn Driver>,
    clock: VirtualClock,
    connector: LoopConnector,
    listener: TcpListener,
    conns: Vec<Conn>,
    user: VecDeque<UserStep>,
    now: u64,
    observed: Observed,
}

impl Run<'_> {
    fn run(mut self) -> Result<Observed, String> {
        self.clock.before(0);
        self.settle()?;
        let started = std::time::Instant::now();
        for steps in 0..100_000 {
            let limit = SCENARIO_LIMIT + STEP_TIME * steps;
            if started.elapsed() > limit {
                return Err(format!(
                    "stuck: still running after {} s of real time ({steps} steps), at {} ms",
                    limit.as_secs(),
                    self.now
                ));
            }
            let server_at = self
                .live()
                .filter(|c| !c.steps.is_empty())
                .map(|c| c.next_at);
            let user_at = self.user.front().map(|s| s.at_ms);
            let timer_at = self.driver.next_deadline(&self.clock).map(ceil_ms);
            let Some(next) = [server_at, user_at, timer_at].into_iter().flatten().min() else {
                break;
            };
            if next > self.scenario.run_until_ms {
                break;
            }
            self.now = self.now.max(next);
            if server_at == Some(next) {
                self.clock.before(next);
                self.server_step()?;
                self.clock.nudge();
            } else if user_at == Some(next) {
                self.clock.before(next);
                let step = self.user.pop_front().ok_or("no user step")?;
                match step.action {
                    UserAction::Close => self.driver.close(),
                    UserAction::Reopen => self.driver.reopen(),
                    UserAction::SetLastEventId { value } => self.driver.set_last_event_id(value),
                    UserAction::ExpectState { .. } => self
                        .observed
                        .states
                        .push(state_name(self.driver.ready_state()).into()),
                }
            } else {
                self.clock.at(next);
            }
            self.settle()?;
        }
        self.observed.final_state = state_name(self.driver.ready_state()).into();
        let (last_event_id, reconnection_ms) = self.driver.finish();
        self.observed.last_event_id = last_event_id;
        self.observed.reconnection_ms = reconnection_ms;
        Ok(self.observed)
    }

    /// The connection the server is answering: the newest one.
    fn live(&self) -> Option<&Conn> {
        self.conns.last().filter(|c| c.tcp.is_some())
    }

    fn server_step(&mut self) -> Result<(), String> {
        let now = self.now;
        let Some(conn) = self.conns.last_mut().filter(|c| c.tcp.is_some()) else {
            return Ok(());
        };
        let Some(step) = conn.steps.pop_front() else {
            return Ok(());
        };
        match step {
            ServerStep::WaitMs(ms) => conn.next_at = now + ms,
            ServerStep::Head(head) => {
                let wire = head.wire(&conn.steps)?;
                conn.chunked = head.framing == Some(Framing::Chunked);
                conn.body_done = head.is_complete();
                conn.write(&wire)?;
            }
            ServerStep::Body(text) => conn.write_body(text.as_bytes())?,
            ServerStep::BodyHex(hex) => conn.write_body(&decode_hex(&hex)?)?,
            ServerStep::End => conn.end_body()?,
            ServerStep::Eof => {
                conn.end_body()?;
                if let Some(tcp) = &conn.tcp {
                    let _ = tcp.shutdown(std::net::Shutdown::Write);
                }
                conn.ended = true;
                conn.steps.clear();
            }
            ServerStep::Reset | ServerStep::Refuse => {
                if let Some(tcp) = conn.tcp.take() {
                    reset(tcp);
                }
                conn.ended = true;
                conn.steps.clear();
            }
        }
        Ok(())
    }

    /// Drives the client and the sockets until nothing moves.
    fn settle(&mut self) -> Result<(), String> {
        let started = std::time::Instant::now();
        loop {
            while let Poll::Ready(Some(n)) = self.driver.poll() {
                self.observed.notifications.push(flatten(n, self.now));
            }
            self.accept()?;
            let mut moved = false;
            for conn in &mut self.conns {
                moved |= conn.pump()?;
            }
            self.record(false);
            // The reactor of plain std sockets: wake a reader when bytes or
            // the end are there for it.
            for c in &self.conns {
                if c.stats.read.load(Ordering::SeqCst) < c.written
                    || (c.ended && !c.stats.ended.load(Ordering::SeqCst))
                {
                    c.stats.wake();
                }
            }
            // The driver parked, the counters, then the same wait: the
            // driver did nothing while the counters were read, so they
            // hold for a driver that has nothing to do. (Counters first
            // and then the driver would miss a driver on its own thread
            // that connected, sent its request and parked again at the
            // same epoch in between.)
            let parked = self.driver.parked();
            if !moved && parked.is_some() && self.settled() && self.driver.parked() == parked {
                self.record(true);
                return Ok(());
            }
            if started.elapsed() > SETTLE_LIMIT {
                return Err(format!("loopback did not settle at {} ms", self.now));
            }
            std::thread::sleep(Duration::from_micros(20));
        }
    }

    fn accept(&mut self) -> Result<(), String> {
        while let Some(refused) = self.connector.take_refused() {
            if let Some(old) = self.conns.last_mut() {
                old.steps.clear();
            }
            // Nothing reached the wire but the attempt.
            self.observed.requests.push(ObservedRequest {
                at_ms: self.now,
                method: String::new(),
                url: refused.url,
                headers: Vec::new(),
                body: None,
            });
        }
        while self.connector.waiting() > 0 {
            let tcp = match self.listener.accept() {
                Ok((tcp, _)) => tcp,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(format!("accept: {e}")),
            };
            let opened = self
                .connector
                .take_opened()
                .ok_or("accepted an unknown connection")?;
            tcp.set_nonblocking(true).map_err(|e| e.to_string())?;
            let steps = self
                .scenario
                .server
                .get(opened.attempt)
                .cloned()
                .unwrap_or_default();
            // A new connection replaces the one being answered.
            if let Some(old) = self.conns.last_mut() {
                old.steps.clear();
            }
            self.conns.push(Conn {
                tcp: Some(tcp),
                stats: opened.stats,
                url: opened.url,
                parser: RequestParser::new(),
                head: None,
                body: Vec::new(),
                body_len: 0,
                steps: steps.into(),
                next_at: self.now,
                written: 0,
                response: Written::new(),
                ended: false,
                recorded: false,
                disconnect_seen: false,
                chunked: false,
                body_done: false,
            });
        }
        Ok(())
    }

    /// Records requests that just completed and connections the client
    /// dropped while the server still had them open (a drop for a new
    /// connection, as on a redirect, is not a disconnect: the machine said
    /// `Connect`, not `Disconnect`).
    fn record(&mut self, settled: bool) {
        let now = self.now;
        let newest = self.conns.len().saturating_sub(1);
        for (i, conn) in self.conns.iter_mut().enumerate() {
            let replaced = i < newest;
            if conn.request_complete() && !conn.recorded {
                conn.recorded = true;
                if let Some(head) = &conn.head {
                    let body = (head.header("content-length").is_some())
                        .then(|| String::from_utf8_lossy(&conn.body).into_owned());
                    self.observed.requests.push(ObservedRequest {
                        at_ms: now,
                        method: head.method().into(),
                        url: wire_url(&conn.url, head),
                        headers: head
                            .headers()
                            .iter()
                            .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v).into_owned()))
                            .collect(),
                        body,
                    });
                }
            }
            let dropped = conn.stats.dropped.load(Ordering::Acquire);
            if dropped && conn.tcp.is_some() {
                conn.steps.clear();
                conn.tcp = None;
            }
            // Whether the drop was for a new connection is known once the
            // client settled (a blocking driver on its thread drops the old
            // connection before it opens the new one).
            if settled && dropped && !conn.disconnect_seen {
                conn.disconnect_seen = true;
                if !replaced && !conn.ended && !conn.stats.ended.load(Ordering::Acquire) {
                    self.observed.disconnects_ms.push(now);
                }
            }
        }
    }

    fn settled(&self) -> bool {
        if self.connector.waiting() > 0 {
            return false;
        }
        self.conns.iter().all(|c| {
            let dropped = c.stats.dropped.load(Ordering::Acquire);
            let request = dropped || c.recorded;
            let bytes = dropped || c.all_read();
            // After a body complete by its framing a client may stop
            // reading: the close that follows is nothing it must see.
            let end = dropped || !c.ended || c.body_done || c.stats.ended.load(Ordering::Acquire);
            request && bytes && end
        })
    }
}

/// The URL a request asked for, as the wire says: the connection's scheme
/// (TLS is not played, so the wire cannot say), the `Host` header and the
/// request target; or the target itself in the absolute form a client sends
/// to its proxy (the runner is sse-reqwest's proxy). A client that connects
/// to one URL and asks for another, or whose `Host` header disagrees with
/// an absolute target, shows here.
pub(crate) fn wire_url(connected: &str, head: &RequestHead) -> String {
    let (scheme, rest) = connected.split_once("://").unwrap_or(("http", connected));
    let authority = authority_of(rest);
    let host = head.header_str("host").unwrap_or("(no Host header)");
    let target = head.target();
    let (url, asked) = match target.split_once("://") {
        Some((_, after)) if !target.starts_with('/') => (target.to_owned(), authority_of(after)),
        _ => (format!("{scheme}://{host}{target}"), host),
    };
    if asked.eq_ignore_ascii_case(authority) && host.eq_ignore_ascii_case(asked) {
        url
    } else {
        format!("{url} (but connected to {connected})")
    }
}

/// `host[:port]` of a URL's part after `scheme://`.
fn authority_of(rest: &str) -> &str {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    authority.rsplit_once('@').map_or(authority, |(_, a)| a)
}

/// The waker of a polled driver: it only records that it was woken.
#[derive(Debug, Default)]
struct Woken(AtomicBool);

impl std::task::Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// What the runner needs of an async `EventSource`: `sse-futures`' (which
/// the runtime adapters instantiate) or `sse-reqwest`'s.
pub trait AsyncEventSource: futures_lite::Stream<Item = Notification> + Unpin {
    /// `close()`.
    fn close(&mut self);
    /// `reopen()`.
    fn reopen(&mut self);
    /// Sets the last event ID.
    fn set_last_event_id(&mut self, id: String);
    /// The core machine.
    fn client(&self) -> &Client;
}

impl<C: sse_futures::Connector, T: sse_futures::Timer> AsyncEventSource
    for sse_futures::EventSource<C, T>
{
    fn close(&mut self) {
        sse_futures::EventSource::close(self);
    }
    fn reopen(&mut self) {
        sse_futures::EventSource::reopen(self);
    }
    fn set_last_event_id(&mut self, id: String) {
        sse_futures::EventSource::set_last_event_id(self, id);
    }
    fn client(&self) -> &Client {
        sse_futures::EventSource::client(self)
    }
}

/// Runs an async `EventSource` as an executor would: polled when its
/// waker was woken (by the clock, the socket's reactor, or the runner's
/// stand-in reactor for plain std sockets), and after each user action.
/// With a tokio runtime ([`FuturesDriver::on_tokio`]), every call runs
/// inside it, as in a task of that runtime.
pub struct FuturesDriver<S: AsyncEventSource> {
    es: S,
    woken: Arc<Woken>,
    tokio: Option<tokio::runtime::Handle>,
}

impl<S: AsyncEventSource> FuturesDriver<S> {
    /// Drives `es`.
    pub fn new(es: S) -> Self {
        FuturesDriver {
            es,
            woken: Arc::new(Woken(AtomicBool::new(true))),
            tokio: None,
        }
    }

    /// Drives `es` inside the tokio runtime `tokio`.
    pub fn on_tokio(es: S, tokio: tokio::runtime::Handle) -> Self {
        FuturesDriver {
            tokio: Some(tokio),
            ..FuturesDriver::new(es)
        }
    }

    fn touched(&self) {
        self.woken.0.store(true, Ordering::SeqCst);
    }

    /// Runs `f` on the event source, inside the tokio runtime if any.
    fn with<R>(&mut self, f: impl FnOnce(&mut S) -> R) -> R {
        let _inside = self.tokio.as_ref().map(|t| t.enter());
        f(&mut self.es)
    }
}

impl<S: AsyncEventSource> Driver for FuturesDriver<S> {
    fn poll(&mut self) -> Poll<Option<Notification>> {
        if !self.woken.0.swap(false, Ordering::SeqCst) {
            return Poll::Pending;
        }
        let waker = Waker::from(Arc::clone(&self.woken));
        let mut cx = Context::from_waker(&waker);
        match self.with(|es| futures_lite::Stream::poll_next(std::pin::Pin::new(es), &mut cx)) {
            // The consumer asks for the next one at once.
            Poll::Ready(Some(n)) => {
                self.touched();
                Poll::Ready(Some(n))
            }
            other => other,
        }
    }
    fn parked(&self) -> Option<u64> {
        // It acts only when polled, on the runner's thread.
        (!self.woken.0.load(Ordering::SeqCst)).then_some(0)
    }
    fn close(&mut self) {
        self.with(|es| es.close());
        self.touched();
    }
    fn reopen(&mut self) {
        self.with(|es| es.reopen());
        self.touched();
    }
    fn set_last_event_id(&mut self, id: String) {
        self.with(|es| es.set_last_event_id(id));
        self.touched();
    }
    fn ready_state(&mut self) -> ReadyState {
        self.es.client().ready_state()
    }
    fn finish(&mut self) -> (String, u64) {
        let client = self.es.client();
        (
            client.last_event_id().to_string(),
            client.reconnection_time().as_millis() as u64,
        )
    }
}

/// Runs the blocking driver ([`sse_blocking::EventSource::poll_next`]) on
/// the runner's thread with zero waits: the game-loop way of using it. Its
/// reads never block and its deadlines are the core's.
pub struct PollingDriver(pub sse_blocking::EventSource<LoopConnector, VirtualClock>);

impl Driver for PollingDriver {
    fn poll(&mut self) -> Poll<Option<Notification>> {
        self.0.poll_next(Duration::ZERO)
    }
    fn parked(&self) -> Option<u64> {
        Some(0)
    }
    fn close(&mut self) {
        self.0.close();
    }
    fn reopen(&mut self) {
        self.0.reopen();
    }
    fn set_last_event_id(&mut self, id: String) {
        self.0.set_last_event_id(id);
    }
    fn ready_state(&mut self) -> ReadyState {
        self.0.ready_state()
    }
    fn finish(&mut self) -> (String, u64) {
        let client = self.0.client();
        (
            client.last_event_id().to_string(),
            client.reconnection_time().as_millis() as u64,
        )
    }
    fn next_deadline(&self, _: &VirtualClock) -> Option<Instant> {
        self.0.client().poll_timeout()
    }
}

/// A user action for the blocking driver's thread.
enum Command {
    Close,
    Reopen,
    SetLastEventId(String),
    /// Only refresh the snapshot.
    Query,
}

/// What the runner's thread and the blocking driver's thread share.
#[derive(Default)]
struct Shared {
    commands: Mutex<VecDeque<Command>>,
    notifications: Mutex<VecDeque<Notification>>,
    /// Ready state, last event ID, reconnection time (ms).
    snapshot: Mutex<Option<(ReadyState, String, u64)>>,
    quit: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs the blocking driver as its users do: on a thread of its own that
/// blocks in socket reads with the driver's read timeouts and in
/// [`sse_blocking::Clock::sleep_until`], both in virtual time. User actions
/// are handed to that thread, which the runner pokes out of its wait (the
/// driver sees an early timeout, which the core ignores) to take them
/// between two calls of [`sse_blocking::EventSource::poll_next`].
pub struct ThreadedDriver {
    shared: Arc<Shared>,
    clock: VirtualClock,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ThreadedDriver {
    /// Starts `es` (whose connector must be [`LoopConnector::blocking`] on
    /// `clock`) on its thread.
    pub fn start(
        mut es: sse_blocking::EventSource<LoopConnector, VirtualClock>,
        connector: LoopConnector,
        clock: VirtualClock,
    ) -> Self {
        let shared = Arc::new(Shared::default());
        let (s, c) = (Arc::clone(&shared), clock.clone());
        let thread = std::thread::spawn(move || {
            es.set_poll_interval(None);
            let snapshot = |es: &sse_blocking::EventSource<LoopConnector, VirtualClock>| {
                *lock(&s.snapshot) = Some((
                    es.ready_state(),
                    es.last_event_id().to_string(),
                    es.client().reconnection_time().as_millis() as u64,
                ));
            };
            while !s.quit.load(Ordering::SeqCst) {
                let commands = std::mem::take(&mut *lock(&s.commands));
                for command in commands {
                    match command {
                        Command::Close => es.close(),
                        Command::Reopen => es.reopen(),
                        Command::SetLastEventId(id) => es.set_last_event_id(id),
                        Command::Query => {}
                    }
                }
                snapshot(&es);
                let idle = match es.poll_next(Duration::MAX) {
                    Poll::Ready(Some(n)) => {
                        lock(&s.notifications).push_back(n);
                        false
                    }
                    Poll::Ready(None) => true,
                    // Nothing could ever happen: no timer, no connection.
                    Poll::Pending => es.client().poll_timeout().is_none() && !connector.live(),
                };
                snapshot(&es);
                if idle {
                    c.block_until(None, || {
                        s.quit.load(Ordering::SeqCst) || !lock(&s.commands).is_empty()
                    });
                }
            }
        });
        ThreadedDriver {
            shared,
            clock,
            thread: Some(thread),
        }
    }

    fn command(&self, command: Command) {
        lock(&self.shared.commands).push_back(command);
        self.clock.poke();
    }

    /// Waits until the thread took every command and waits again.
    fn sync(&self) -> Option<(ReadyState, String, u64)> {
        self.command(Command::Query);
        let started = std::time::Instant::now();
        while self.parked().is_none() && started.elapsed() < SETTLE_LIMIT {
            std::thread::sleep(Duration::from_micros(50));
        }
        lock(&self.shared.snapshot).clone()
    }
}

impl Drop for ThreadedDriver {
    fn drop(&mut self) {
        self.shared.quit.store(true, Ordering::SeqCst);
        self.clock.poke();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Driver for ThreadedDriver {
    fn poll(&mut self) -> Poll<Option<Notification>> {
        match lock(&self.shared.notifications).pop_front() {
            Some(n) => Poll::Ready(Some(n)),
            None => Poll::Pending,
        }
    }
    fn parked(&self) -> Option<u64> {
        if !lock(&self.shared.commands).is_empty() {
            return None;
        }
        // The wait first, then the queue: a notification pushed before it
        // parked is seen here, one pushed later changes the wait.
        let wait = self.clock.parked()?;
        lock(&self.shared.notifications).is_empty().then_some(wait)
    }
    fn close(&mut self) {
        self.command(Command::Close);
    }
    fn reopen(&mut self) {
        self.command(Command::Reopen);
    }
    fn set_last_event_id(&mut self, id: String) {
        self.command(Command::SetLastEventId(id));
    }
    fn ready_state(&mut self) -> ReadyState {
        self.sync().map_or(ReadyState::Closed, |s| s.0)
    }
    fn finish(&mut self) -> (String, u64) {
        self.sync().map(|s| (s.1, s.2)).unwrap_or_default()
    }
}

/// The futures driver over plain non-blocking std sockets.
pub fn futures_driver(
    url: &str,
    config: Config,
    connector: LoopConnector,
    clock: VirtualClock,
) -> Result<Box<dyn Driver>, String> {
    let es = sse_futures::EventSource::with_parts(url, config, connector, clock)
        .map_err(|e| e.to_string())?;
    Ok(Box::new(FuturesDriver::new(es)))
}

/// The blocking adapter's driver on a thread of its own, blocking in
/// virtual time (see [`ThreadedDriver`]).
pub fn blocking_driver(
    url: &str,
    config: Config,
    connector: LoopConnector,
    clock: VirtualClock,
) -> Result<Box<dyn Driver>, String> {
    let blocking = connector.blocking(clock.clone());
    let es = sse_blocking::EventSource::with_parts(url, config, blocking.clone(), clock.clone())
        .map_err(|e| e.to_string())?;
    Ok(Box::new(ThreadedDriver::start(es, blocking, clock)))
}

/// The blocking adapter's driver polled with zero waits on the runner's
/// thread (see [`PollingDriver`]).
pub fn blocking_poll_driver(
    url: &str,
    config: Config,
    connector: LoopConnector,
    clock: VirtualClock,
) -> Result<Box<dyn Driver>, String> {
    let mut es = sse_blocking::EventSource::with_parts(url, config, connector, clock)
        .map_err(|e| e.to_string())?;
    es.set_poll_interval(None);
    Ok(Box::new(PollingDriver(es)))
}

/// The futures driver over smol's socket type, as `sse-smol` runs it.
pub fn smol_driver(
    url: &str,
    config: Config,
    connector: LoopConnector,
    clock: VirtualClock,
) -> Result<Box<dyn Driver>, String> {
    let connector = RuntimeConnector::new(connector, smol::Async::new);
    let es = sse_futures::EventSource::with_parts(url, config, connector, clock)
        .map_err(|e| e.to_string())?;
    Ok(Box::new(FuturesDriver::new(es)))
}

/// The futures driver over async-std's socket type, as `sse-async-std` runs it.
pub fn async_std_driver(
    url: &str,
    config: Config,
    connector: LoopConnector,
    clock: VirtualClock,
) -> Result<Box<dyn Driver>, String> {
    let connector =
        RuntimeConnector::new(connector, |tcp| Ok(async_std::net::TcpStream::from(tcp)));
    let es = sse_futures::EventSource::with_parts(url, config, connector, clock)
        .map_err(|e| e.to_string())?;
    Ok(Box::new(FuturesDriver::new(es)))
}

/// The futures driver over tokio's socket type (through tokio-util's
/// compat layer), as `sse-tokio` runs it.
pub fn tokio_driver(
    url: &str,
    config: Config,
    connector: LoopConnector,
    clock: VirtualClock,
) -> Result<Box<dyn Driver>, String> {
    let connector = RuntimeConnector::new(connector, tokio_socket);
    let es = sse_futures::EventSource::with_parts(url, config, connector, clock)
        .map_err(|e| e.to_string())?;
    Ok(Box::new(FuturesDriver::new(es)))
}

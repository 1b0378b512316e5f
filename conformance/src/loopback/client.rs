//! Client scenarios against an adapter's `EventSource` over real loopback
//! sockets, on a virtual clock.
//!
//! The runner plays the scenario's server as a real HTTP server on
//! 127.0.0.1 (the adapter's connector is pointed at it whatever the URL's
//! host), reads each request off the wire, writes the scripted heads and
//! bodies, closes with a FIN for `eof` and an RST for `reset`. A `refuse`
//! is played as a reset before any response, so the request is still seen
//! on the wire; the client reports a failed connect either way.
//!
//! It drives the adapter's driver itself, one non-blocking step at a time,
//! and only moves the virtual clock once everything is settled: the client
//! has read every byte the server wrote (counted on its socket), seen every
//! end, and the server has every request the client sent. That keeps the
//! in-process runner's order at equal times (server step, user step, then
//! timers) and makes a run deterministic.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use sse_core::client::{Config, Notification, ReadyState};
use sse_core::http1::{reason_phrase, HeadStatus, RequestHead, RequestParser};
use sse_core::Instant;

use super::clock::{ceil_ms, VirtualClock, SETTLE_LIMIT};
use super::wire::{reset, LoopConnector, RuntimeConnector, Stats};
use crate::client::{
    core_config, decode_hex, flatten, state_name, ClientUnderTest, Observed, ObservedRequest,
    Scenario, ServerStep, UserAction, UserStep,
};

/// An adapter's client, driven one step at a time.
pub trait Driver {
    /// Does what can be done without waiting; the next notification if any.
    fn poll(&mut self) -> Poll<Option<Notification>>;
    /// `close()`.
    fn close(&mut self);
    /// `reopen()`.
    fn reopen(&mut self);
    /// Sets the last event ID.
    fn set_last_event_id(&mut self, id: String);
    /// The ready state.
    fn ready_state(&self) -> ReadyState;
    /// The machine's next deadline.
    fn poll_timeout(&self) -> Option<Instant>;
}

/// Makes an adapter's driver for a URL and configuration, with the runner's
/// connector and clock.
pub type MakeDriver =
    fn(&str, Config, LoopConnector, VirtualClock) -> Result<Box<dyn Driver>, String>;

/// An adapter's client as a [`ClientUnderTest`] over loopback.
pub struct LoopbackClient {
    make: MakeDriver,
}

impl LoopbackClient {
    /// A runner for the driver `make` builds.
    pub fn new(make: MakeDriver) -> Self {
        LoopbackClient { make }
    }
}

impl ClientUnderTest for LoopbackClient {
    fn run(&mut self, scenario: &Scenario) -> Result<Observed, String> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let connector = LoopConnector::new(listener.local_addr().map_err(|e| e.to_string())?);
        let clock = VirtualClock::default();
        let config = core_config(&scenario.config)?;
        let driver = (self.make)(&scenario.url, config, connector.clone(), clock.clone())?;
        let mut user: Vec<UserStep> = scenario.user.clone();
        user.sort_by_key(|s| s.at_ms);
        Run {
            scenario,
            driver,
            clock,
            connector,
            listener,
            conns: Vec::new(),
            attempts: 0,
            user: user.into(),
            now: 0,
            observed: Observed::default(),
        }
        .run()
    }
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
    /// The server ended it (eof or reset).
    ended: bool,
    /// Its request is in `observed.requests`.
    recorded: bool,
    disconnect_seen: bool,
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

    fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        let Some(tcp) = self.tcp.as_mut() else {
            return Ok(());
        };
        // The client may have gone; then the bytes go nowhere.
        if tcp.write_all(bytes).is_ok() {
            self.written += bytes.len() as u64;
        }
        Ok(())
    }
}

struct Run<'a> {
    scenario: &'a Scenario,
    driver: Box<dyn Driver>,
    clock: VirtualClock,
    connector: LoopConnector,
    listener: TcpListener,
    conns: Vec<Conn>,
    attempts: usize,
    user: VecDeque<UserStep>,
    now: u64,
    observed: Observed,
}

impl Run<'_> {
    fn run(mut self) -> Result<Observed, String> {
        self.clock.before(0);
        self.settle()?;
        for _ in 0..100_000 {
            let server_at = self
                .live()
                .filter(|c| !c.steps.is_empty())
                .map(|c| c.next_at);
            let user_at = self.user.front().map(|s| s.at_ms);
            let timer_at = self.driver.poll_timeout().map(ceil_ms);
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
                let mut wire = format!(
                    "HTTP/1.1 {} {}\r\n",
                    head.status,
                    reason_phrase(head.status)
                );
                for (name, value) in &head.headers {
                    wire.push_str(&format!("{name}: {value}\r\n"));
                }
                wire.push_str("\r\n");
                conn.write(wire.as_bytes())?;
            }
            ServerStep::Body(text) => conn.write(text.as_bytes())?,
            ServerStep::BodyHex(hex) => conn.write(&decode_hex(&hex)?)?,
            ServerStep::Eof => {
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
            self.record();
            if !moved && self.settled() {
                return Ok(());
            }
            if started.elapsed() > SETTLE_LIMIT {
                return Err(format!("loopback did not settle at {} ms", self.now));
            }
            std::thread::sleep(Duration::from_micros(20));
        }
    }

    fn accept(&mut self) -> Result<(), String> {
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
                .get(self.attempts)
                .cloned()
                .unwrap_or_default();
            self.attempts += 1;
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
                ended: false,
                recorded: false,
                disconnect_seen: false,
            });
        }
        Ok(())
    }

    /// Records requests that just completed and connections the client
    /// dropped while the server still had them open (a drop for a new
    /// connection, as on a redirect, is not a disconnect: the machine said
    /// `Connect`, not `Disconnect`).
    fn record(&mut self) {
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
                        url: conn.url.clone(),
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
            if dropped && !conn.disconnect_seen {
                conn.disconnect_seen = true;
                if !replaced && !conn.ended && !conn.stats.ended.load(Ordering::Acquire) {
                    self.observed.disconnects_ms.push(now);
                }
                conn.steps.clear();
                conn.tcp = None;
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
            let bytes = dropped || c.stats.read.load(Ordering::Acquire) >= c.written;
            let end = dropped || !c.ended || c.stats.ended.load(Ordering::Acquire);
            request && bytes && end
        })
    }
}

/// Runs the futures driver ([`sse_futures::EventSource`]) step by step.
pub struct FuturesDriver<C: sse_futures::Connector>(pub sse_futures::EventSource<C, VirtualClock>);

impl<C: sse_futures::Connector> Driver for FuturesDriver<C> {
    fn poll(&mut self) -> Poll<Option<Notification>> {
        // One poll; the runner polls again itself, so the waker is unused.
        let once = futures_lite::future::poll_once(futures_lite::StreamExt::next(&mut self.0));
        match futures_lite::future::block_on(once) {
            Some(n) => Poll::Ready(n),
            None => Poll::Pending,
        }
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
    fn ready_state(&self) -> ReadyState {
        self.0.ready_state()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.0.client().poll_timeout()
    }
}

/// Runs the blocking driver ([`sse_blocking::EventSource`]) with zero waits.
pub struct BlockingDriver(pub sse_blocking::EventSource<LoopConnector, VirtualClock>);

impl Driver for BlockingDriver {
    fn poll(&mut self) -> Poll<Option<Notification>> {
        self.0.poll_next(Duration::ZERO)
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
    fn ready_state(&self) -> ReadyState {
        self.0.ready_state()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.0.client().poll_timeout()
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
    Ok(Box::new(FuturesDriver(es)))
}

/// The blocking adapter's driver.
pub fn blocking_driver(
    url: &str,
    config: Config,
    connector: LoopConnector,
    clock: VirtualClock,
) -> Result<Box<dyn Driver>, String> {
    let mut es = sse_blocking::EventSource::with_parts(url, config, connector, clock)
        .map_err(|e| e.to_string())?;
    es.set_poll_interval(None);
    Ok(Box::new(BlockingDriver(es)))
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
    Ok(Box::new(FuturesDriver(es)))
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
    Ok(Box::new(FuturesDriver(es)))
}

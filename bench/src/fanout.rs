//! Raw-socket subscribers for the server fan-out bench (`benches/fanout.rs`),
//! and the process measurements it prints.
//!
//! A [`Pool`] opens many plain TCP connections to an event stream server,
//! sends each a `GET`, reads the response head, and then parses every event
//! of every stream with the core's [`Parser`] (through the core's chunked
//! decoder when the server chunks the body, as hyper does over HTTP/1.1)
//! on a few threads, each waiting
//! on its own `mio` poller (epoll). The bench runs the pool in a second
//! process, so that the server and the subscribers each stay under the fd
//! limit and the server's memory is measured alone.
//!
//! Time stamps come from [`monotonic_ns`], `CLOCK_MONOTONIC`, which is one
//! clock for every process on the machine: the server puts the publish time
//! in the event's data and the pool subtracts it from the time it read the
//! bytes.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use mio::net::TcpStream as MioStream;
use mio::{Events, Interest, Poll, Token};
use rustix::process::{getrlimit, setrlimit, Resource};
use rustix::time::{clock_gettime, ClockId};
use sse_core::http1::{BodyDecoder, BodyEvent, Framing};
use sse_core::parse::Parser;

pub mod server;

/// Nanoseconds on `CLOCK_MONOTONIC`: comparable between processes on one
/// machine (unlike `std::time::Instant`, whose value is opaque).
pub fn monotonic_ns() -> u64 {
    let t = clock_gettime(ClockId::Monotonic);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// CPU time used so far by this process, all threads, user and system.
pub fn process_cpu() -> Duration {
    let t = clock_gettime(ClockId::ProcessCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// Raises this process's soft limit on open files to its hard limit and
/// returns the new soft limit.
pub fn raise_fd_limit() -> u64 {
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        limit.current = limit.maximum;
        // Unchanged on failure; the limit is reported either way.
        let _ = setrlimit(Resource::Nofile, limit);
    }
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

/// A `kB` field of `/proc/self/status` (`VmRSS`, `VmSize`, …) or, for
/// `Threads`, the count; 0 if absent.
pub fn proc_status(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.split(':').next() == Some(field))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// CPU time the whole machine spent busy so far (all cores; everything
/// but idle and I/O wait in `/proc/stat`, counted in 10 ms ticks).
pub fn machine_busy() -> Duration {
    let ticks: u64 = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            let line = s.lines().next()?.to_string();
            let v: Vec<u64> = line
                .split_whitespace()
                .skip(1)
                .take(8)
                .filter_map(|x| x.parse().ok())
                .collect();
            // user nice system idle iowait irq softirq steal
            Some(v.iter().sum::<u64>() - v.get(3)? - v.get(4)?)
        })
        .unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// How many file descriptors this process has open.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// The first three fields of `/proc/loadavg` (1, 5 and 15 minutes).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// Sorted samples (nanoseconds) with nearest-rank quantiles.
#[derive(Clone, Debug, Default)]
pub struct Latencies(Vec<u64>);

impl Latencies {
    /// Sorts `samples`.
    pub fn new(mut samples: Vec<u64>) -> Self {
        samples.sort_unstable();
        Latencies(samples)
    }

    /// How many samples.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `q` quantile (0.0 to 1.0), 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.0.is_empty() {
            return 0;
        }
        let rank = ((self.0.len() as f64 * q).ceil() as usize).clamp(1, self.0.len());
        self.0[rank - 1]
    }
}

/// What the pool received in one phase (between [`Pool::expect`] and the
/// moment every stream had the expected events).
#[derive(Clone, Debug, Default)]
pub struct Phase {
    /// Events parsed in this phase, over all streams.
    pub events: u64,
    /// [`monotonic_ns`] when the last of them was read.
    pub last_ns: u64,
    /// Streams that ended (or failed) before their expected count.
    pub closed: usize,
    /// Events the parser rejected (e.g. over a limit).
    pub errors: u64,
    /// Receive time minus the time stamp in the event's data, for events
    /// whose data is a number.
    pub latencies: Latencies,
}

/// Raw subscribers parsing every event, on a few threads.
pub struct Pool {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

struct Shared {
    /// Events every stream should have received in total (over all phases).
    target: AtomicU64,
    /// Events received so far, all streams, all phases.
    received: AtomicU64,
    /// Streams not ended yet.
    open: AtomicUsize,
    stop: AtomicBool,
    reports: Mutex<Vec<Phase>>,
    reported: Condvar,
}

/// Streams opened at once before their heads are read: under the
/// listener's backlog (128 for `std`), so no SYN is dropped.
const WINDOW: usize = 64;

impl Pool {
    /// Opens `n` streams of `GET path` on `addr`, waits for every response
    /// head (status 200), and starts `threads` threads reading them.
    pub fn connect(addr: SocketAddr, path: &str, n: usize, threads: usize) -> io::Result<Pool> {
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n");
        let threads = threads.clamp(1, n.max(1));
        let mut shares: Vec<Vec<(TcpStream, Head)>> = (0..threads).map(|_| Vec::new()).collect();
        let mut opened = 0;
        while opened < n {
            let window = WINDOW.min(n - opened);
            let mut socks = Vec::with_capacity(window);
            let first = opened;
            let at = |e: io::Error, what: &str| {
                io::Error::new(e.kind(), format!("{what}, streams {first}+ of {n}: {e}"))
            };
            for _ in 0..window {
                let mut s = TcpStream::connect(addr).map_err(|e| at(e, "connect"))?;
                s.set_nodelay(true)?;
                s.write_all(request.as_bytes())
                    .map_err(|e| at(e, "request"))?;
                socks.push(s);
            }
            for mut s in socks {
                let head = read_head(&mut s).map_err(|e| at(e, "response head"))?;
                shares[opened % threads].push((s, head));
                opened += 1;
            }
        }
        let shared = Arc::new(Shared {
            target: AtomicU64::new(0),
            received: AtomicU64::new(0),
            open: AtomicUsize::new(n),
            stop: AtomicBool::new(false),
            reports: Mutex::new(Vec::new()),
            reported: Condvar::new(),
        });
        let mut handles = Vec::new();
        for (i, share) in shares.into_iter().enumerate() {
            let poll = Poll::new()?;
            let mut conns = Vec::with_capacity(share.len());
            for (k, (s, head)) in share.into_iter().enumerate() {
                s.set_nonblocking(true)?;
                let mut sock = MioStream::from_std(s);
                poll.registry()
                    .register(&mut sock, Token(k), Interest::READABLE)?;
                let mut conn = Conn {
                    sock,
                    parser: Parser::new(),
                    chunked: head.chunked.then(|| BodyDecoder::new(Framing::Chunked)),
                    count: 0,
                    done: false,
                };
                conn.take(&head.rest);
                conns.push(conn);
            }
            let shared = Arc::clone(&shared);
            handles.push(
                thread::Builder::new()
                    .name(format!("subscribers-{i}"))
                    .spawn(move || read_loop(&shared, conns, poll))?,
            );
        }
        Ok(Pool {
            shared,
            threads: handles,
        })
    }

    /// Starts a phase: every stream should now get `events` more events.
    /// Call it before they are published.
    pub fn expect(&self, events: u64) {
        self.shared.reports.lock().unwrap().clear();
        self.shared.target.fetch_add(events, Ordering::AcqRel);
    }

    /// Waits until every stream has its expected events (or ended), for at
    /// most `timeout`; `Err` with the events received so far (all phases)
    /// on timeout.
    pub fn wait(&self, timeout: Duration) -> Result<Phase, u64> {
        let deadline = Instant::now() + timeout;
        let mut reports = self.shared.reports.lock().unwrap();
        while reports.len() < self.threads.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(self.shared.received.load(Ordering::Acquire));
            }
            reports = self.shared.reported.wait_timeout(reports, left).unwrap().0;
        }
        let mut all = Phase::default();
        let mut samples = Vec::new();
        for r in reports.drain(..) {
            all.events += r.events;
            all.last_ns = all.last_ns.max(r.last_ns);
            all.closed += r.closed;
            all.errors += r.errors;
            samples.extend(r.latencies.0);
        }
        all.latencies = Latencies::new(samples);
        Ok(all)
    }
}

impl Pool {
    /// Streams that have not ended (the server has not closed them).
    pub fn open_streams(&self) -> usize {
        self.shared.open.load(Ordering::Acquire)
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

struct Conn {
    sock: MioStream,
    parser: Parser,
    /// Events received, all phases.
    count: u64,
    /// Ended or failed: no more events will come.
    done: bool,
    /// A chunked body's decoder.
    chunked: Option<BodyDecoder>,
}

impl Conn {
    /// Body bytes to the parser, through the chunked decoder if any.
    fn take(&mut self, bytes: &[u8]) {
        let Some(decoder) = &mut self.chunked else {
            self.parser.handle_bytes(bytes);
            return;
        };
        decoder.handle_bytes(bytes);
        while let Some(Ok(BodyEvent::Data(data))) = decoder.poll_body() {
            self.parser.handle_bytes(&data);
        }
    }
}

/// A response head's verdict: whether the body is chunked, and the body
/// bytes read with it.
struct Head {
    chunked: bool,
    rest: Vec<u8>,
}

/// Reads a response head, checks for status 200, and returns the body bytes
/// read with it and whether the body is chunked.
fn read_head(s: &mut TcpStream) -> io::Result<Head> {
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = Vec::with_capacity(256);
    let mut buf = [0u8; 512];
    loop {
        let k = s.read(&mut buf)?;
        if k == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "server closed before the response head",
            ));
        }
        head.extend_from_slice(&buf[..k]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            if !head.starts_with(b"HTTP/1.1 200") {
                let line = head.split(|&b| b == b'\r').next().unwrap_or_default();
                return Err(io::Error::other(format!(
                    "response: {}",
                    String::from_utf8_lossy(line)
                )));
            }
            s.set_read_timeout(None)?;
            let rest = head.split_off(end + 4);
            let chunked = String::from_utf8_lossy(&head)
                .to_ascii_lowercase()
                .contains("\r\ntransfer-encoding: chunked\r\n");
            return Ok(Head { chunked, rest });
        }
    }
}

fn read_loop(shared: &Shared, mut conns: Vec<Conn>, mut poll: Poll) {
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 64 * 1024];
    let mut target = 0u64;
    let mut reported = true;
    // Streams below `target` that can still get events.
    let mut behind = 0usize;
    let mut phase = Phase::default();
    let mut samples = Vec::new();
    while !shared.stop.load(Ordering::Acquire) {
        let t = shared.target.load(Ordering::Acquire);
        if t != target {
            target = t;
            behind = conns.iter().filter(|c| !c.done && c.count < target).count();
            // Streams that ended before this phase do not get its events.
            phase.closed += conns.iter().filter(|c| c.done && c.count < target).count();
            reported = false;
        }
        if !reported && behind == 0 {
            phase.latencies = Latencies(std::mem::take(&mut samples));
            shared
                .reports
                .lock()
                .unwrap()
                .push(std::mem::take(&mut phase));
            shared.reported.notify_all();
            reported = true;
        }
        if let Err(e) = poll.poll(&mut events, Some(Duration::from_millis(5))) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            panic!("poll: {e}");
        }
        for ev in &events {
            let c = &mut conns[ev.token().0];
            if c.done {
                continue;
            }
            // Edge-triggered: read until the socket is empty.
            loop {
                match c.sock.read(&mut buf) {
                    Ok(0) => {
                        end_stream(c, target, reported, &mut behind, &mut phase);
                        shared.open.fetch_sub(1, Ordering::AcqRel);
                        break;
                    }
                    Ok(k) => {
                        let now = monotonic_ns();
                        c.take(&buf[..k]);
                        let before = c.count;
                        while let Some(e) = c.parser.poll_event() {
                            match e {
                                Ok(e) => {
                                    c.count += 1;
                                    if let Ok(sent) = e.data().as_str().parse::<u64>() {
                                        samples.push(now.saturating_sub(sent));
                                    }
                                }
                                Err(_) => phase.errors += 1,
                            }
                        }
                        let got = c.count - before;
                        if got > 0 {
                            phase.events += got;
                            phase.last_ns = now;
                            shared.received.fetch_add(got, Ordering::Relaxed);
                            if !reported && before < target && c.count >= target {
                                behind -= 1;
                            }
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => {
                        end_stream(c, target, reported, &mut behind, &mut phase);
                        shared.open.fetch_sub(1, Ordering::AcqRel);
                        break;
                    }
                }
            }
        }
    }
}

fn end_stream(c: &mut Conn, target: u64, reported: bool, behind: &mut usize, phase: &mut Phase) {
    c.done = true;
    if c.count < target {
        phase.closed += 1;
        if !reported {
            *behind -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn quantiles_are_nearest_rank() {
        let l = Latencies::new((1..=100).rev().collect());
        assert_eq!(l.quantile(0.5), 50);
        assert_eq!(l.quantile(0.99), 99);
        assert_eq!(l.quantile(1.0), 100);
        assert_eq!(l.quantile(0.0), 1);
        assert_eq!(Latencies::default().quantile(0.5), 0);
    }

    /// A stand-in server: answers each request with a head and, per phase,
    /// `events` time-stamped events in one write; one stream ends early.
    #[test]
    fn pool_counts_every_event_of_every_stream() {
        const N: usize = 150;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = thread::spawn(move || {
            let mut socks = Vec::new();
            for _ in 0..N {
                let (mut s, _) = listener.accept().unwrap();
                let mut req = Vec::new();
                let mut b = [0u8; 1];
                while !req.ends_with(b"\r\n\r\n") {
                    s.read_exact(&mut b).unwrap();
                    req.push(b[0]);
                }
                assert!(req.starts_with(b"GET /events HTTP/1.1\r\n"));
                s.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\nretry: 10\n\n",
                )
                .unwrap();
                socks.push(s);
            }
            socks
        });
        let pool = Pool::connect(addr, "/events", N, 3).unwrap();
        let mut socks = server.join().unwrap();
        for round in 0..2u64 {
            pool.expect(5);
            for (i, s) in socks.iter_mut().enumerate() {
                let mut out = Vec::new();
                for _ in 0..5 {
                    let sent = monotonic_ns();
                    out.extend_from_slice(format!("id: {i}\ndata: {sent}\n\n").as_bytes());
                }
                // Split anywhere: the parser does not care.
                let (a, b) = out.split_at(out.len() / 3);
                s.write_all(a).unwrap();
                s.write_all(b).unwrap();
            }
            let phase = pool.wait(Duration::from_secs(30)).unwrap();
            assert_eq!(phase.events, N as u64 * 5, "round {round}");
            assert_eq!(phase.latencies.len(), N * 5);
            assert_eq!((phase.closed, phase.errors), (0, 0));
            assert!(phase.latencies.quantile(1.0) < 30_000_000_000);
        }
        // A stream that ends before its events counts as closed, and the
        // phase still ends.
        pool.expect(1);
        drop(socks.pop());
        let until = Instant::now() + Duration::from_secs(30);
        while pool.open_streams() == N && Instant::now() < until {
            thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(pool.open_streams(), N - 1);
        for s in &mut socks {
            s.write_all(b"data: x\n\n").unwrap();
        }
        let phase = pool.wait(Duration::from_secs(30)).unwrap();
        assert_eq!(phase.events, N as u64 - 1);
        assert_eq!(phase.closed, 1);
        assert!(phase.latencies.is_empty());
    }
}

//! Loopback numbers: each adapter's client against the parser alone, hub
//! fan-out through the smol server to 1,000 socket clients (throughput and
//! latency), and process memory per idle subscriber.
//!
//! `cargo bench -p sse-bench --bench loopback` prints markdown tables. All
//! on 127.0.0.1; clients and server share the process (and this machine's
//! cores), so compare ratios within one run.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use sse_bench::{median_time, tokens, Workload, CHUNK};
use sse_core::client::{ClientError, Config, Notification};
use sse_core::encode::Message;
use sse_core::endpoint::Endpoint;
use sse_core::parse::Parser;
use sse_core::replay::LogLimits;
use sse_futures::server::{Service, SharedHub};

/// Serves `body` as one event stream response per connection, in 16 KiB
/// writes, then closes.
fn body_server(body: Arc<Vec<u8>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let body = Arc::clone(&body);
            thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n");
                for chunk in body.chunks(CHUNK) {
                    if s.write_all(chunk).is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

fn config() -> Config {
    let mut c = Config::default();
    c.reconnection_time = Duration::from_secs(3600);
    c
}

/// Counts messages until the first end of stream.
fn count<I: Iterator<Item = Notification>>(it: I) -> usize {
    let mut n = 0;
    for note in it {
        match note {
            Notification::Message(_) => n += 1,
            Notification::Error {
                error: ClientError::EndOfStream,
                ..
            } => break,
            Notification::Error { error, .. } => panic!("{error}"),
            _ => {}
        }
    }
    n
}

fn client_throughput(w: &Workload) {
    let body = Arc::new(w.bytes.clone());
    let url = body_server(Arc::clone(&body));
    let parser = || {
        let mut p = Parser::new();
        let mut n = 0;
        for chunk in body.chunks(CHUNK) {
            p.handle_bytes(chunk);
            while let Some(e) = p.poll_event() {
                n += usize::from(e.is_ok());
            }
        }
        assert_eq!(n, w.events);
    };
    // The same bytes through a plain socket into the parser: what loopback
    // and the kernel cost before any adapter code runs.
    let raw_socket = || {
        let addr = url
            .trim_start_matches("http://")
            .trim_end_matches("/events");
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /events HTTP/1.1\r\nHost: bench\r\n\r\n")
            .unwrap();
        let mut p = Parser::new();
        let mut buf = vec![0u8; CHUNK];
        let mut n = 0;
        let mut head = true;
        loop {
            let k = s.read(&mut buf).unwrap();
            if k == 0 {
                break;
            }
            let mut bytes = &buf[..k];
            if head {
                let end = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
                bytes = &bytes[end..];
                head = false;
            }
            p.handle_bytes(bytes);
            while let Some(e) = p.poll_event() {
                n += usize::from(e.is_ok());
            }
        }
        assert_eq!(n, w.events);
    };
    // The async clients as blocking iterators (their sockets run on
    // async-io's reactor whatever polls them), counted like the blocking one.
    let smol_client = || {
        let es = sse_smol::open(&url, config()).unwrap();
        assert_eq!(count(futures_lite::stream::block_on(es)), w.events);
    };
    let async_std_client = || {
        let es = sse_async_std::open(&url, config()).unwrap();
        assert_eq!(count(futures_lite::stream::block_on(es)), w.events);
    };
    let blocking_client = || {
        let es = sse_blocking::EventSource::new(&url, config()).unwrap();
        assert_eq!(count(es), w.events);
    };
    let runs: [(&str, &dyn Fn()); 5] = [
        ("parser alone (in memory, 16 KiB chunks)", &parser),
        ("plain TCP socket + parser (no adapter)", &raw_socket),
        ("sse-smol EventSource", &smol_client),
        ("sse-async-std EventSource", &async_std_client),
        ("sse-blocking EventSource", &blocking_client),
    ];
    println!(
        "\n### Client: `{}` ({} events, {:.1} MB) from a loopback server\n",
        w.name,
        w.events,
        w.bytes.len() as f64 / 1e6
    );
    println!("| client | MB/s | events/s | vs parser |\n|---|---:|---:|---:|");
    let mut base = None;
    for (name, f) in runs {
        let t = median_time(5, f).as_secs_f64();
        let base = *base.get_or_insert(t);
        println!(
            "| {name} | {:.0} | {:.2} M | {:.0}% |",
            w.bytes.len() as f64 / t / 1e6,
            w.events as f64 / t / 1e6,
            base / t * 100.0
        );
    }
}

/// Starts the smol adapter's server on a hub.
fn smol_server(limits: LogLimits) -> (SharedHub, sse_futures::server::ServerHandle) {
    let hub = SharedHub::new(limits);
    let server_config = sse_core::server::Config {
        keep_alive: None,
        ..Default::default()
    };
    let service = Service::new(Endpoint::new("/events"), hub.clone()).config(server_config);
    let listener = smol::block_on(smol::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let handle = sse_smol::serve_listener(listener, service).unwrap();
    (hub, handle)
}

/// Opens a raw subscriber and returns its socket once the head is read.
fn subscribe(addr: std::net::SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /events HTTP/1.1\r\nHost: bench\r\n\r\n")
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(s.read(&mut byte).unwrap(), 1, "server closed");
        head.push(byte[0]);
    }
    s
}

fn fanout(subscribers: usize, events: usize, pace: Option<Duration>) -> (f64, Vec<u64>) {
    let (hub, server) = smol_server(LogLimits {
        max_events: events * 2,
        max_bytes: 64 << 20,
    });
    let addr = server.local_addr().unwrap();
    let origin = Instant::now();
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(subscribers * events)));
    let done = Arc::new(Mutex::new(Vec::new()));
    let sockets: Vec<TcpStream> = (0..subscribers).map(|_| subscribe(addr)).collect();
    let mut threads = Vec::new();
    // A few reader threads, each polling its share of the sockets.
    let per = subscribers.div_ceil(8);
    let mut sockets = sockets.into_iter();
    for _ in 0..8 {
        let mine: Vec<TcpStream> = sockets.by_ref().take(per).collect();
        if mine.is_empty() {
            break;
        }
        let (latencies, done) = (Arc::clone(&latencies), Arc::clone(&done));
        threads.push(thread::spawn(move || {
            let mut parsers: Vec<(TcpStream, Parser, usize)> = mine
                .into_iter()
                .map(|s| {
                    s.set_nonblocking(true).unwrap();
                    (s, Parser::new(), 0)
                })
                .collect();
            let mut buf = vec![0u8; 64 * 1024];
            let mut mine_lat = Vec::new();
            while parsers.iter().any(|(_, _, n)| *n < events) {
                let mut idle = true;
                for (s, p, n) in &mut parsers {
                    if let Ok(k) = s.read(&mut buf) {
                        if k > 0 {
                            idle = false;
                            p.handle_bytes(&buf[..k]);
                            let now = origin.elapsed().as_nanos() as u64;
                            while let Some(Ok(e)) = p.poll_event() {
                                *n += 1;
                                if let Ok(sent) = e.data.as_str().parse::<u64>() {
                                    mine_lat.push(now.saturating_sub(sent));
                                }
                            }
                        }
                    }
                }
                if idle {
                    thread::sleep(Duration::from_micros(50));
                }
            }
            done.lock().unwrap().push(origin.elapsed());
            latencies.lock().unwrap().extend(mine_lat);
        }));
    }
    let start = origin.elapsed();
    for _ in 0..events {
        let data = origin.elapsed().as_nanos().to_string();
        hub.publish(&Message::new(&data)).unwrap();
        if let Some(p) = pace {
            thread::sleep(p);
        }
    }
    for t in threads {
        t.join().unwrap();
    }
    let end = done.lock().unwrap().iter().max().copied().unwrap();
    server.shutdown();
    let deliveries = (subscribers * events) as f64 / (end - start).as_secs_f64();
    let mut lat = std::mem::take(&mut *latencies.lock().unwrap());
    lat.sort_unstable();
    (deliveries, lat)
}

fn rss_kib() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

fn idle_memory(subscribers: usize) {
    let (_hub, server) = smol_server(LogLimits::default());
    let addr = server.local_addr().unwrap();
    thread::sleep(Duration::from_millis(100));
    let before = rss_kib();
    let sockets: Vec<TcpStream> = (0..subscribers).map(|_| subscribe(addr)).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.connections() < subscribers && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    thread::sleep(Duration::from_millis(200));
    let after = rss_kib();
    println!(
        "\n### Memory: {subscribers} idle subscribers on the smol server\n\n\
         | RSS before | RSS after | per idle subscriber |\n|---:|---:|---:|\n\
         | {:.1} MiB | {:.1} MiB | {:.2} KiB |",
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        (after.saturating_sub(before)) as f64 / subscribers as f64
    );
    println!(
        "\n(Both ends of every connection live in this process; the client end \
         is a bare socket with no user-space buffer.)"
    );
    drop(sockets);
    server.shutdown();
}

fn main() {
    client_throughput(&tokens());
    println!("\n### Fan-out: smol server, raw socket subscribers parsing every event\n");
    println!("| subscribers | events | publish | deliveries/s | latency p50 | latency p99 |");
    println!("|---:|---:|---|---:|---:|---:|");
    for (subs, events, pace, label) in [
        (1000, 1000, None, "burst"),
        (1000, 200, Some(Duration::from_millis(5)), "every 5 ms"),
    ] {
        let (rate, lat) = fanout(subs, events, pace);
        let p = |q: f64| lat[((lat.len() - 1) as f64 * q) as usize] as f64 / 1e6;
        println!(
            "| {subs} | {events} | {label} | {:.2} M | {:.2} ms | {:.2} ms |",
            rate / 1e6,
            p(0.5),
            p(0.99)
        );
    }
    // Both ends of each connection are in this process: 2 fds each, under
    // this machine's hard limit of 20,000.
    idle_memory(9_000);
}

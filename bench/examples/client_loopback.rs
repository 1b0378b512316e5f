//! The `loopback` bench's client rows, made steadier for A/B work on a
//! loaded machine: `cargo run --release -p sse-bench --example
//! client_loopback [ROUNDS] [--mb N]`.
//!
//! A server thread serves the first N MB (default 2) of the `tokens`
//! workload as one close-delimited `text/event-stream` response per
//! connection, in 16 KiB writes. Each round reads the whole stream once with
//! every client in turn (interleaved, so that all see the same machine):
//! the parser alone in memory, a plain socket into the parser, and the
//! smol, async-std and blocking `EventSource`s. The best of ROUNDS rounds
//! (default 30, wall clock) is kept per client: on a loaded machine it is
//! the round that ran least disturbed. Prints events/s and the ratio to the
//! parser alone, like the bench. `--only WORD` runs only the clients whose
//! name contains WORD (and the parser), e.g. under a profiler.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Instant;

use sse_bench::client::{body_server, config, count};
use sse_bench::{tokens, CHUNK};
use sse_core::parse::Parser;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds: usize = args.first().and_then(|n| n.parse().ok()).unwrap_or(30);
    let mb: usize = args
        .iter()
        .position(|a| a == "--mb")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(2);
    let w = tokens();
    let cut = (mb << 20).min(w.bytes.len());
    let cut = w.bytes[..cut]
        .windows(2)
        .rposition(|x| x == b"\n\n")
        .unwrap()
        + 2;
    let body = Arc::new(w.bytes[..cut].to_vec());
    let events = sse_core::parse::parse_all(&body).len();
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
        assert_eq!(n, events);
    };
    let raw_socket = || {
        let addr = url
            .trim_start_matches("http://")
            .trim_end_matches("/events");
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /events HTTP/1.1\r\nHost: bench\r\n\r\n")
            .unwrap();
        let mut p = Parser::new();
        let mut buf = vec![0u8; CHUNK];
        let (mut n, mut head) = (0, true);
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
        assert_eq!(n, events);
    };
    let smol_client = || {
        let es = sse_smol::open(&url, config()).unwrap();
        assert_eq!(count(futures_lite::stream::block_on(es)), events);
    };
    let async_std_client = || {
        let es = sse_async_std::open(&url, config()).unwrap();
        assert_eq!(count(futures_lite::stream::block_on(es)), events);
    };
    let blocking_client = || {
        let es = sse_blocking::EventSource::new(&url, config()).unwrap();
        assert_eq!(count(es), events);
    };
    let runs: [(&str, &dyn Fn()); 5] = [
        ("parser alone (in memory, 16 KiB chunks)", &parser),
        ("plain TCP socket + parser (no adapter)", &raw_socket),
        ("sse-smol EventSource", &smol_client),
        ("sse-async-std EventSource", &async_std_client),
        ("sse-blocking EventSource", &blocking_client),
    ];
    // `--only WORD`: run only the clients whose name contains WORD (and
    // the parser, the reference), e.g. under a profiler.
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1));
    let chosen = |i: usize, name: &str| i == 0 || only.is_none_or(|o| name.contains(o.as_str()));
    let mut best = [f64::INFINITY; 5];
    for (i, (name, f)) in runs.iter().enumerate() {
        if chosen(i, name) {
            f(); // warm-up
        }
    }
    for _ in 0..rounds {
        for (i, (name, f)) in runs.iter().enumerate() {
            if !chosen(i, name) {
                continue;
            }
            let start = Instant::now();
            f();
            best[i] = best[i].min(start.elapsed().as_secs_f64());
        }
    }
    println!(
        "tokens, first {:.1} MB ({events} events), best of {rounds} rounds\n",
        body.len() as f64 / 1e6
    );
    println!("| client | events/s | vs parser |\n|---|---:|---:|");
    for (i, (name, _)) in runs.iter().enumerate() {
        if !chosen(i, name) {
            continue;
        }
        println!(
            "| {name} | {:.2} M | {:.0}% |",
            events as f64 / best[i] / 1e6,
            100.0 * best[0] / best[i]
        );
    }
}

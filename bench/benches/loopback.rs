//! Loopback numbers: each adapter's client against the parser alone.
//! (Server fan-out and memory per subscriber are the `fanout` bench.)
//!
//! `cargo bench -p sse-bench --bench loopback` prints a markdown table. All
//! on 127.0.0.1; client and server share the process (and this machine's
//! cores), so compare ratios within one run.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use sse_bench::client::{body_server, config, count};
use sse_bench::{median_time, tokens, Workload, CHUNK};
use sse_core::parse::Parser;

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

fn main() {
    client_throughput(&tokens());
}

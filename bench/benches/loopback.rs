//! Loopback numbers: each adapter's client against a plain socket into the
//! parser, and the parser alone. (Server fan-out and memory per subscriber
//! are the `fanout` bench.)
//!
//! `cargo bench -p sse-bench --bench loopback` (`-- --runs N`, default 9)
//! prints a markdown table. All on 127.0.0.1; client and server share the
//! process (and this machine's cores), so compare ratios within one run.
//!
//! Fair by construction: the system allocator (`tests/allocator.rs`); every
//! client returns a tally of the events it got (count, data, type and ID
//! bytes), which must equal the workload's, checked in every round; rounds
//! run every client once, in a rotating order, and the ratios are taken
//! within each round (median and lowest round).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Instant;

use sse_bench::client::{body_server, config, tally};
use sse_bench::parsers::{expected, Tally};
use sse_bench::{interleaved_rounds, lowest, median, runs_arg, tokens, Workload, CHUNK};
use sse_core::parse::Parser;

/// A client of the table: reads the whole stream once.
type Client<'a> = (&'static str, &'a dyn Fn() -> Tally);

fn client_throughput(w: &Workload, runs: usize) {
    let body = Arc::new(w.bytes.clone());
    let want = expected(&body);
    let url = body_server(Arc::clone(&body));
    let parser = || {
        let mut p = Parser::new();
        let mut t = Tally::default();
        for chunk in body.chunks(CHUNK) {
            t.parse(&mut p, chunk);
        }
        t
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
        let mut t = Tally::default();
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
            t.parse(&mut p, bytes);
        }
        p.handle_eof();
        t
    };
    // The async clients as blocking iterators (their sockets run on
    // async-io's reactor whatever polls them), tallied like the blocking one.
    let smol_client = || {
        tally(futures_lite::stream::block_on(
            sse_smol::open(&url, config()).unwrap(),
        ))
    };
    let async_std_client = || {
        tally(futures_lite::stream::block_on(
            sse_async_std::open(&url, config()).unwrap(),
        ))
    };
    let blocking_client = || tally(sse_blocking::EventSource::new(&url, config()).unwrap());
    let clients: [Client; 5] = [
        ("parser alone (in memory, 16 KiB chunks)", &parser),
        ("plain TCP socket + parser (no adapter)", &raw_socket),
        ("sse-smol EventSource", &smol_client),
        ("sse-async-std EventSource", &async_std_client),
        ("sse-blocking EventSource", &blocking_client),
    ];
    let n = clients.len();
    let run = |i: usize| {
        let start = Instant::now();
        let got = (clients[i].1)();
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(got, want, "{} on {}", clients[i].0, w.name);
        secs
    };
    let rounds = interleaved_rounds(runs, n, run);
    println!(
        "\n### Client: `{}` ({} events, {:.1} MB) from a loopback server, median of {runs} rounds\n",
        w.name,
        w.events,
        w.bytes.len() as f64 / 1e6
    );
    println!(
        "| client | MB/s | events/s | vs parser alone | lowest | vs plain socket + parser | lowest |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (i, (name, _)) in clients.iter().enumerate() {
        let secs = median(rounds.iter().map(|r| r[i]).collect());
        let vs = |base: usize| -> (f64, f64) {
            let ratios: Vec<f64> = rounds.iter().map(|r| 100.0 * r[base] / r[i]).collect();
            (median(ratios.clone()), lowest(&ratios))
        };
        let ((parser, parser_low), (socket, socket_low)) = (vs(0), vs(1));
        println!(
            "| {name} | {:.0} | {:.2} M | {parser:.0}% | {parser_low:.0}% | {socket:.0}% | {socket_low:.0}% |",
            w.bytes.len() as f64 / secs / 1e6,
            w.events as f64 / secs / 1e6,
        );
    }
}

fn main() {
    let runs = runs_arg(9);
    client_throughput(&tokens(), runs);
}

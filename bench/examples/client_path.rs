//! The client path of the core without sockets, against the parser alone:
//! where the "adapter client within 80% of the parser" budget goes.
//!
//! `cargo run --release -p sse-bench --example client_path [ROUNDS]
//! [--chunked]` feeds the `tokens` workload, as the body of one
//! close-delimited (or, with `--chunked`, chunked) HTTP response in 16 KiB
//! reads, through:
//!
//! 1. the parser alone (`Parser::handle_bytes` / `poll_event`);
//! 2. the client machine alone (`Client::handle_bytes`, draining
//!    `poll_notification`), the body already de-framed;
//! 3. `Exchange` + `Client`, as the raw-socket adapters drive them.
//!
//! Each round parses the first 2 MB and is timed on the wall clock; the best
//! of ROUNDS (default 300) is kept, which on a loaded machine is the round
//! that ran undisturbed. Prints events/s and the ratio to the parser.

use std::time::Instant;

use sse_bench::{tokens, CHUNK};
use sse_core::client::{Action, Client, Config, Exchange, Notification};
use sse_core::parse::Parser;
use sse_core::url::Url;

const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n";

fn parser(body: &[u8]) -> usize {
    let mut p = Parser::new();
    let mut n = 0;
    for chunk in body.chunks(CHUNK) {
        p.handle_bytes(chunk);
        while let Some(e) = p.poll_event() {
            n += usize::from(std::hint::black_box(e).is_ok());
        }
    }
    n
}

fn connected() -> (Client, Exchange) {
    let url = Url::parse("http://bench.test/events").unwrap();
    let mut c = Client::new(url, Config::default(), sse_core::Instant::ZERO);
    let Some(Action::Connect(req)) = c.poll_action() else {
        panic!("no connect")
    };
    c.handle_connected(sse_core::Instant::ZERO);
    let ex = Exchange::start(&req, &mut Vec::new()).unwrap();
    (c, ex)
}

fn count(c: &mut Client) -> usize {
    let mut n = 0;
    while let Some(note) = c.poll_notification() {
        n += usize::from(matches!(
            std::hint::black_box(note),
            Notification::Message(_)
        ));
    }
    n
}

fn machine(body: &[u8]) -> usize {
    let (mut c, _) = connected();
    let now = sse_core::Instant::ZERO;
    c.handle_response_head(now, 200, [("Content-Type", "text/event-stream")]);
    let mut n = 0;
    for chunk in body.chunks(CHUNK) {
        c.handle_bytes(now, chunk);
        n += count(&mut c);
    }
    n
}

fn exchange(wire: &[u8]) -> usize {
    let (mut c, mut ex) = connected();
    let now = sse_core::Instant::ZERO;
    let mut n = 0;
    for chunk in wire.chunks(CHUNK) {
        ex.handle_bytes(&mut c, now, chunk);
        n += count(&mut c);
    }
    n
}

fn best(rounds: usize, input: &[u8], f: fn(&[u8]) -> usize) -> (f64, usize) {
    let mut n = 0;
    let t = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            n = std::hint::black_box(f(std::hint::black_box(input)));
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);
    (t, n)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds = args.first().and_then(|n| n.parse().ok()).unwrap_or(300);
    let chunked = args.iter().any(|a| a == "--chunked");
    let w = tokens();
    let body = &w.bytes[..2_000_000];
    let body = &body[..body.windows(2).rposition(|x| x == b"\n\n").unwrap() + 2];
    let mut wire = HEAD.to_vec();
    if chunked {
        wire.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
        for c in body.chunks(CHUNK - 8) {
            wire.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
            wire.extend_from_slice(c);
            wire.extend_from_slice(b"\r\n");
        }
    } else {
        wire.extend_from_slice(b"\r\n");
        wire.extend_from_slice(body);
    }
    let (mut t, mut n) = ([f64::INFINITY; 3], [0; 3]);
    // Interleaved, so that all three see the same machine.
    for _ in 0..3 {
        for (i, (input, f)) in [
            (body, parser as fn(&[u8]) -> usize),
            (body, machine),
            (&wire[..], exchange),
        ]
        .into_iter()
        .enumerate()
        {
            let (ti, ni) = best(rounds / 3, input, f);
            t[i] = t[i].min(ti);
            n[i] = ni;
        }
    }
    assert!(n.iter().all(|&x| x == n[0]), "{n:?}");
    for (i, name) in ["parser alone", "Client::handle_bytes", "Exchange + Client"]
        .iter()
        .enumerate()
    {
        println!(
            "{name}: {:.2} M events/s ({:.0}% of the parser)",
            n[i] as f64 / t[i] / 1e6,
            100.0 * t[0] / t[i]
        );
    }
}

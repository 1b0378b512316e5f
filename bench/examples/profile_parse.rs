//! Parses one workload many times with the event-level parser, for profilers:
//! `cargo build --release -p sse-bench --example profile_parse` then
//! `perf record target/release/examples/profile_parse tokens 20`. A third
//! argument parses only that many bytes of the workload per round (cut at a
//! chunk boundary), which keeps the input in cache: the profile then shows
//! the parser's own work rather than memory reads.

use sse_bench::{crlf, large, mixed, tokens, CHUNK};
use sse_core::parse::Parser;

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "tokens".into());
    let rounds: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(10);
    // Only the workload asked for, so that generating the others does not
    // show up in the profile.
    let workload = match name.as_str() {
        "tokens" => tokens(),
        "large" => large(),
        "crlf" => crlf(),
        "mixed" => mixed(),
        _ => panic!("unknown workload {name}: tokens, large, crlf or mixed"),
    };
    let len = args
        .next()
        .and_then(|n| n.parse::<usize>().ok())
        .map_or(workload.bytes.len(), |n| (n / CHUNK).max(1) * CHUNK);
    let input = &workload.bytes[..len.min(workload.bytes.len())];
    let mut total = 0;
    for _ in 0..rounds {
        let mut parser = Parser::new();
        for chunk in input.chunks(CHUNK) {
            parser.handle_bytes(chunk);
            while let Some(event) = parser.poll_event() {
                total += std::hint::black_box(event).is_ok() as usize;
            }
        }
    }
    if input.len() == workload.bytes.len() {
        assert_eq!(total, rounds * workload.events);
    }
}

//! Times the event-level parser alone on each workload and prints MB/s (the
//! best round) on one line, for A/B comparisons of two builds: `cargo build
//! --release -p sse-bench --example time_parse`, copy the binary aside,
//! rebuild the other version, then run both alternately. The best round is
//! the one least disturbed by other processes on a shared machine.

use std::time::Instant;

use sse_bench::{all, CHUNK};
use sse_core::parse::Parser;

fn parse(bytes: &[u8]) -> usize {
    let mut parser = Parser::new();
    let mut n = 0;
    for chunk in bytes.chunks(CHUNK) {
        parser.handle_bytes(chunk);
        while let Some(event) = parser.poll_event() {
            n += usize::from(std::hint::black_box(event).is_ok());
        }
    }
    n
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(9);
    let mut line = String::new();
    for w in all() {
        assert_eq!(parse(&w.bytes), w.events);
        let best = (0..rounds)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(parse(std::hint::black_box(&w.bytes)));
                start.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min);
        let mbps = w.bytes.len() as f64 / best / 1e6;
        line.push_str(&format!("{} {mbps:.0}  ", w.name));
    }
    println!("{line}");
}

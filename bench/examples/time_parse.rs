//! Times the event-level parser alone on each workload and prints MB/s (the
//! best round) on one line, for A/B comparisons of two builds: `cargo build
//! --release -p sse-bench --example time_parse`, copy the binary aside,
//! rebuild the other version, then run both alternately.
//!
//! `time_parse [ROUNDS] [WORKLOAD...] [--cpu] [--slice BYTES]`. By default
//! a round parses the first 1 MB of the workload (cut at a chunk boundary),
//! timed on the wall clock, and the best of ROUNDS (default 300) rounds is
//! kept: a round that short often runs without being descheduled even on a
//! loaded machine, so the best one shows the code rather than the
//! neighbours. `--cpu` instead parses the whole workload several times per
//! round (about 1 GB, so that the scheduler tick that CPU time is counted in is
//! under 2% of a round) and times thread CPU time (default 9 rounds). The
//! last column is a plain copy of the same input in 16 KiB chunks (the
//! `memcpy` floor of the `parse` bench), timed the same way, so "% of
//! memcpy" comes from one run.

use sse_bench::{all, time, CHUNK};
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

fn copy(bytes: &[u8]) -> usize {
    let mut buf = vec![0u8; CHUNK];
    let mut sum = 0usize;
    for chunk in bytes.chunks(CHUNK) {
        buf[..chunk.len()].copy_from_slice(chunk);
        sum = sum.wrapping_add(std::hint::black_box(&buf)[chunk.len() / 2] as usize);
    }
    sum
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cpu = args.iter().any(|a| a == "--cpu");
    let slice: usize = args
        .iter()
        .position(|a| a == "--slice")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(1 << 20);
    let rounds: usize =
        args.first()
            .and_then(|n| n.parse().ok())
            .unwrap_or(if cpu { 9 } else { 300 });
    let wanted: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with("--") && a.parse::<usize>().is_err())
        .map(String::as_str)
        .collect();
    let mut line = String::new();
    for w in all() {
        if !wanted.is_empty() && !wanted.contains(&w.name) {
            continue;
        }
        assert_eq!(parse(&w.bytes), w.events);
        let (input, reps) = if cpu {
            (&w.bytes[..], (1_000_000_000 / w.bytes.len()).max(1))
        } else {
            let n = (slice / CHUNK).max(1) * CHUNK;
            (&w.bytes[..n.min(w.bytes.len())], 1)
        };
        let best = |f: fn(&[u8]) -> usize| {
            (0..rounds)
                .map(|_| {
                    let t = time(cpu, || {
                        for _ in 0..reps {
                            std::hint::black_box(f(std::hint::black_box(input)));
                        }
                    });
                    t.as_secs_f64()
                })
                .fold(f64::INFINITY, f64::min)
        };
        let bytes = (reps * input.len()) as f64;
        // Interleaved, so that both see the same machine.
        let (mut t_parse, mut t_copy) = (f64::INFINITY, f64::INFINITY);
        for _ in 0..3 {
            t_parse = t_parse.min(best(parse));
            t_copy = t_copy.min(best(copy));
        }
        let (mbps, copy_mbps) = (bytes / t_parse / 1e6, bytes / t_copy / 1e6);
        line.push_str(&format!(
            "{} {mbps:.0} ({:.0}% of {copy_mbps:.0})  ",
            w.name,
            100.0 * mbps / copy_mbps
        ));
    }
    println!("{line}");
}

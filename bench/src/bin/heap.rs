//! Heap figures for the benchmarks, from a binary of its own: it installs a
//! counting global allocator, which the timed benchmarks must not (three
//! atomic operations per allocation tax the contestants that allocate more;
//! `tests/allocator.rs` keeps it out of them).
//!
//! `heap parse` prints the `parse` bench's heap table: allocations per event
//! and peak live heap for every parser contestant on every workload, and
//! the allocations of single-line `data` events once the parser is warm.
//! The `parse` bench runs it after its timed rounds.
//!
//! `heap fanout-server ARGS…` runs the fan-out bench's server process
//! ([`sse_bench::fanout::server::server_main`]) for its idle phase and adds
//! the live heap bytes before and after the subscribers connected; the
//! `fanout` bench runs it once per adapter and subscriber count.
#![allow(unsafe_code)] // the counting global allocator

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use sse_bench::fanout::server::server_main;

use sse_bench::parsers::{Kind, CONTESTANTS};
use sse_bench::{all, CHUNK};
use sse_core::parse::Parser;

/// The system allocator, counting allocations and live bytes.
struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to `System` with the same arguments.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        let live = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
        PEAK.fetch_max(live, Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        let live = LIVE.fetch_add(new_size, Relaxed) + new_size;
        LIVE.fetch_sub(layout.size(), Relaxed);
        PEAK.fetch_max(live, Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("parse") => parse(),
        Some("fanout-server") => server_main(&args[1..], Some(|| LIVE.load(Relaxed) as isize)),
        _ => {
            eprintln!("usage: heap parse | heap fanout-server ARGS…");
            std::process::exit(2);
        }
    }
}

/// Allocations and peak live heap (beyond what was live before) of `f`.
fn measure<T>(f: impl FnOnce() -> T) -> (T, usize, usize) {
    let base = LIVE.load(Relaxed);
    PEAK.store(base, Relaxed);
    let before = ALLOCS.load(Relaxed);
    let out = std::hint::black_box(f());
    let allocs = ALLOCS.load(Relaxed) - before;
    (out, allocs, PEAK.load(Relaxed) - base)
}

fn parse() {
    println!("| workload | contestant | allocations / event | peak live heap |");
    println!("|---|---|---:|---:|");
    for w in all() {
        for c in CONTESTANTS.iter().filter(|c| c.kind != Kind::Floor) {
            let (tally, allocs, peak) = measure(|| (c.run)(&w.bytes));
            assert_eq!(tally.events, w.events, "{} on {}", c.name, w.name);
            println!(
                "| {} | {} | {:.2} | {} KiB |",
                w.name,
                c.name,
                allocs as f64 / w.events as f64,
                peak / 1024
            );
        }
    }
    let (events, allocs) = single_line_events_when_warm();
    println!(
        "| single-line `data` events, parser warmed up | sse-core events | {} in {events} events | — |",
        allocs
    );
}

/// Allocations while a warmed-up parser dispatches 100,000 events of one
/// `data` line each, fed in [`CHUNK`]s and dropped as they come: the zero
/// allocation promise of the core's docs.
fn single_line_events_when_warm() -> (usize, usize) {
    let input: Vec<u8> = (0..100_000)
        .flat_map(|i| format!("data: {{\"token\":{i}}}\n\n").into_bytes())
        .collect();
    let mut parser = Parser::new();
    let feed = |parser: &mut Parser| {
        let mut n = 0;
        for chunk in input.chunks(CHUNK) {
            parser.handle_bytes(chunk);
            while let Some(event) = parser.poll_event() {
                n += usize::from(std::hint::black_box(event).is_ok());
            }
        }
        n
    };
    feed(&mut parser);
    let (events, allocs, _) = measure(|| feed(&mut parser));
    (events, allocs)
}

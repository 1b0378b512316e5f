//! Parser throughput: ours against the Rust peers and the hardware floors.
//!
//! Run with `cargo bench -p sse-bench --bench parse` (add `-- --runs N` to
//! change the number of timed runs, default 5). Every contestant gets the same
//! workload in 16 KiB chunks and must dispatch the expected number of events.
//! Prints two markdown tables: throughput (median of the runs) and heap use
//! (allocations per event and peak live heap, from a counting allocator).
#![allow(unsafe_code)] // the counting global allocator

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use futures_lite::{future::block_on, StreamExt};
use sse_bench::{all, median_time, Workload, CHUNK};
use sse_core::parse::{Line, Parser, Tokenizer};

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

#[allow(unsafe_code)]
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

/// A contestant: parses the whole input fed in `CHUNK`s, returns events seen.
struct Contestant {
    name: &'static str,
    /// Floors are not parsers: their count is not checked.
    floor: bool,
    run: fn(&[u8]) -> usize,
}

fn ours_events(input: &[u8]) -> usize {
    let mut parser = Parser::new();
    let mut n = 0;
    for chunk in input.chunks(CHUNK) {
        parser.handle_bytes(chunk);
        while let Some(event) = parser.poll_event() {
            n += usize::from(event.is_ok());
        }
    }
    n
}

fn ours_fields(input: &[u8]) -> usize {
    let mut tokenizer = Tokenizer::default();
    let (mut n, mut has_data) = (0, false);
    for chunk in input.chunks(CHUNK) {
        tokenizer.handle_bytes(chunk);
        while let Some(line) = tokenizer.poll_line() {
            match line {
                Ok(Line::Field { name, .. }) => has_data |= &name[..] == b"data",
                Ok(Line::Blank) => n += usize::from(std::mem::take(&mut has_data)),
                _ => {}
            }
        }
    }
    n
}

fn eventsource_stream(input: &[u8]) -> usize {
    use eventsource_stream::Eventsource;
    let chunks = input
        .chunks(CHUNK)
        .map(|c| Ok::<_, std::convert::Infallible>(bytes::Bytes::copy_from_slice(c)));
    let stream = futures_lite::stream::iter(chunks).eventsource();
    block_on(stream.fold(0, |n, e| n + usize::from(e.is_ok())))
}

fn async_sse(input: &[u8]) -> usize {
    let reader =
        futures_lite::io::BufReader::with_capacity(CHUNK, futures_lite::io::Cursor::new(input));
    let stream = async_sse::decode(reader);
    block_on(stream.fold(0, |n, e| {
        n + usize::from(matches!(e, Ok(async_sse::Event::Message(_))))
    }))
}

fn memchr_floor(input: &[u8]) -> usize {
    input
        .chunks(CHUNK)
        .map(|c| memchr::memchr_iter(b'\n', c).count())
        .sum()
}

fn memcpy_floor(input: &[u8]) -> usize {
    let mut buf = vec![0u8; CHUNK];
    let mut sum = 0usize;
    for chunk in input.chunks(CHUNK) {
        buf[..chunk.len()].copy_from_slice(chunk);
        sum = sum.wrapping_add(std::hint::black_box(&buf)[chunk.len() / 2] as usize);
    }
    sum
}

const CONTESTANTS: &[Contestant] = &[
    Contestant {
        name: "sse-core events",
        floor: false,
        run: ours_events,
    },
    Contestant {
        name: "sse-core fields",
        floor: false,
        run: ours_fields,
    },
    Contestant {
        name: "eventsource-stream 0.2",
        floor: false,
        run: eventsource_stream,
    },
    Contestant {
        name: "async-sse 5.1",
        floor: false,
        run: async_sse,
    },
    Contestant {
        name: "floor: memchr newlines",
        floor: true,
        run: memchr_floor,
    },
    Contestant {
        name: "floor: memcpy",
        floor: true,
        run: memcpy_floor,
    },
];

const PEERS: &[&str] = &["eventsource-stream 0.2", "async-sse 5.1"];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(5);
    let workloads = all();
    println!(
        "## Throughput (median of {runs} runs, {} KiB chunks)\n",
        CHUNK / 1024
    );
    println!("| workload | contestant | MB/s | events/s | × fastest peer |");
    println!("|---|---|---:|---:|---:|");
    let mut heap_rows = Vec::new();
    for w in &workloads {
        let mut rows = Vec::new();
        for c in CONTESTANTS {
            let wrong = wrong_count(w, c);
            let time = median_time(runs, || {
                std::hint::black_box((c.run)(std::hint::black_box(&w.bytes)));
            });
            rows.push((c, time.as_secs_f64(), wrong));
            if !c.floor {
                heap_rows.push((w.name, c.name, heap_use(w, c)));
            }
        }
        let best_peer = rows
            .iter()
            .filter(|(c, _, _)| PEERS.contains(&c.name))
            .map(|(_, t, _)| *t)
            .fold(f64::INFINITY, f64::min);
        for (c, secs, wrong) in rows {
            let mbps = w.bytes.len() as f64 / secs / 1e6;
            let events = match wrong {
                _ if c.floor => "—".to_string(),
                Some(got) => format!("**wrong: {got} of {} events**", w.events),
                None => format!("{:.0}", w.events as f64 / secs),
            };
            println!(
                "| {} | {} | {mbps:.0} | {events} | {:.2} |",
                w.name,
                c.name,
                best_peer / secs
            );
        }
    }
    println!("\n## Heap use (counting allocator)\n");
    println!("| workload | contestant | allocations / event | peak live heap |");
    println!("|---|---|---:|---:|");
    for (w, c, (per_event, peak)) in heap_rows {
        println!("| {w} | {c} | {per_event:.2} | {} KiB |", peak / 1024);
    }
}

/// `Some(count)` when a parser dispatches the wrong number of events. Ours
/// must never: that fails the benchmark. A peer's miss is a finding, shown in
/// the table.
fn wrong_count(w: &Workload, c: &Contestant) -> Option<usize> {
    let got = (c.run)(&w.bytes);
    if c.floor || got == w.events {
        return None;
    }
    assert!(
        !c.name.starts_with("sse-core"),
        "{} dispatched {got} of {} events on {}",
        c.name,
        w.events,
        w.name
    );
    Some(got)
}

/// Allocations per event and peak live heap (beyond what was live before).
fn heap_use(w: &Workload, c: &Contestant) -> (f64, usize) {
    let base = LIVE.load(Relaxed);
    PEAK.store(base, Relaxed);
    let before = ALLOCS.load(Relaxed);
    std::hint::black_box((c.run)(&w.bytes));
    let allocs = ALLOCS.load(Relaxed) - before;
    (allocs as f64 / w.events as f64, PEAK.load(Relaxed) - base)
}

//! Parser throughput: ours against the Rust peers and the hardware floors.
//!
//! Run with `cargo bench -p sse-bench --bench parse` (add `-- --runs N` to
//! change the number of timed rounds, default 5). Every contestant gets the same
//! workload in 16 KiB chunks and must dispatch the expected number of events.
//! Prints two markdown tables: throughput (median of the runs) and heap use
//! (allocations per event and peak live heap, from a counting allocator).
#![allow(unsafe_code)] // the counting global allocator

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use futures_lite::{future::block_on, StreamExt};
use std::time::Instant;

use sse_bench::{all, Workload, CHUNK};
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
        "## Throughput (median of {runs} rounds, {} KiB chunks)\n",
        CHUNK / 1024
    );
    println!("Each round times every contestant once, in turn, so that a noisy moment");
    println!("hits a whole round; \"per round\" is the range of the ratio to the");
    println!("fastest peer within a round.\n");
    println!(
        "| workload | contestant | MB/s | events/s | × fastest peer | per round | % of memcpy |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    let mut heap_rows = Vec::new();
    for w in &workloads {
        let wrong: Vec<_> = CONTESTANTS.iter().map(|c| wrong_count(w, c)).collect();
        for c in CONTESTANTS.iter().filter(|c| !c.floor) {
            heap_rows.push((w.name, c.name, heap_use(w, c)));
        }
        let rounds = interleaved_times(runs, CONTESTANTS.len(), |i| {
            std::hint::black_box((CONTESTANTS[i].run)(std::hint::black_box(&w.bytes)));
        });
        let peers: Vec<usize> = (0..CONTESTANTS.len())
            .filter(|&i| PEERS.contains(&CONTESTANTS[i].name))
            .collect();
        let memcpy = CONTESTANTS
            .iter()
            .position(|c| c.name == "floor: memcpy")
            .expect("memcpy floor");
        let best_peer = |round: &[f64]| {
            peers
                .iter()
                .map(|&i| round[i])
                .fold(f64::INFINITY, f64::min)
        };
        let best_peer_median = median(rounds.iter().map(|r| best_peer(r)).collect());
        let memcpy_median = median(rounds.iter().map(|r| r[memcpy]).collect());
        for (i, c) in CONTESTANTS.iter().enumerate() {
            let secs = median(rounds.iter().map(|r| r[i]).collect());
            let mbps = w.bytes.len() as f64 / secs / 1e6;
            let events = match wrong[i] {
                _ if c.floor => "—".to_string(),
                Some(got) => format!("**wrong: {got} of {} events**", w.events),
                None => format!("{:.0}", w.events as f64 / secs),
            };
            let ratios: Vec<f64> = rounds.iter().map(|r| best_peer(r) / r[i]).collect();
            let lo = ratios.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = ratios.iter().copied().fold(0.0, f64::max);
            println!(
                "| {} | {} | {mbps:.0} | {events} | {:.2} | {lo:.2}–{hi:.2} | {:.0}% |",
                w.name,
                c.name,
                best_peer_median / secs,
                100.0 * memcpy_median / secs
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

/// `rounds[r][i]`: seconds taken by contestant `i` in round `r`. One warm-up
/// round first; within a round the contestants run one after the other.
fn interleaved_times(runs: usize, n: usize, mut run: impl FnMut(usize)) -> Vec<Vec<f64>> {
    (0..n).for_each(&mut run);
    (0..runs)
        .map(|_| {
            (0..n)
                .map(|i| {
                    let start = Instant::now();
                    run(i);
                    start.elapsed().as_secs_f64()
                })
                .collect()
        })
        .collect()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_unstable_by(f64::total_cmp);
    xs[xs.len() / 2]
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

//! Parser throughput: ours against the Rust peers and the hardware floors.
//!
//! Run with `cargo bench -p sse-bench --bench parse` (add `-- --runs N` to
//! change the number of timed rounds, default 9). Every contestant
//! ([`sse_bench::parsers`]) gets the same workload in 16 KiB chunks and
//! returns a tally of the events it dispatched (count, data, type and ID
//! bytes); every parser must return the workload's tally, checked in every
//! round. Ours failing that aborts the run; a peer failing it is printed as
//! a finding and left out of the ratios.
//!
//! Timing is fair: this binary runs on the system allocator (no counting
//! allocator: `tests/allocator.rs` fails if one is installed here), and the
//! rounds interleave the contestants, in a rotating order, so that a noisy
//! moment of the machine hits one round of all of them. Heap figures come
//! from a separate binary (`src/bin/heap.rs`), run at the end.

use std::process::Command;
use std::time::Instant;

use sse_bench::parsers::{expected, Kind, Tally, CONTESTANTS};
use sse_bench::{all, interleaved_rounds, lowest, median, runs_arg, Workload, CHUNK};

fn main() {
    let runs = runs_arg(9);
    println!(
        "## Throughput (system allocator; median of {runs} rounds, {} KiB chunks)\n",
        CHUNK / 1024
    );
    println!("Each round times every contestant once, in turn (the order rotates by");
    println!("round). Ratios are taken within each round: \"× fastest peer\" and");
    println!("\"% of memcpy\" are the medians over the rounds, \"lowest\" the lowest round.\n");
    println!(
        "| workload | contestant | MB/s | events/s | × fastest peer | lowest | % of memcpy | lowest |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for w in &all() {
        table_rows(w, runs);
    }
    println!("\n## Heap use (counting allocator, separate binary `heap`)\n");
    let heap = Command::new(env!("CARGO_BIN_EXE_heap"))
        .arg("parse")
        .output()
        .expect("run the heap binary");
    print!("{}", String::from_utf8_lossy(&heap.stdout));
    eprint!("{}", String::from_utf8_lossy(&heap.stderr));
    assert!(heap.status.success(), "heap binary: {}", heap.status);
}

/// Times every contestant on `w` and prints its rows.
fn table_rows(w: &Workload, runs: usize) {
    let want = expected(&w.bytes);
    assert_eq!(want.events, w.events, "{}", w.name);
    let n = CONTESTANTS.len();
    // Contestants whose tally was wrong in any round (peers only: ours
    // panics), with the tally.
    let mut wrong: Vec<Option<Tally>> = vec![None; n];
    let run = |i: usize| {
        let c = &CONTESTANTS[i];
        let start = Instant::now();
        let tally = std::hint::black_box((c.run)(std::hint::black_box(&w.bytes)));
        let secs = start.elapsed().as_secs_f64();
        if c.kind != Kind::Floor && tally != want {
            assert!(
                c.kind != Kind::Ours,
                "{} returned {tally:?} on {}, expected {want:?}",
                c.name,
                w.name
            );
            wrong[i] = Some(tally);
        }
        secs
    };
    let rounds = interleaved_rounds(runs, n, run);
    let peers: Vec<usize> = (0..n)
        .filter(|&i| CONTESTANTS[i].kind == Kind::Peer && wrong[i].is_none())
        .collect();
    let memcpy = CONTESTANTS
        .iter()
        .position(|c| c.name == "floor: memcpy")
        .expect("memcpy floor");
    let fastest_peer = |round: &[f64]| {
        peers
            .iter()
            .map(|&i| round[i])
            .fold(f64::INFINITY, f64::min)
    };
    for (i, c) in CONTESTANTS.iter().enumerate() {
        let secs = median(rounds.iter().map(|r| r[i]).collect());
        let mbps = w.bytes.len() as f64 / secs / 1e6;
        let events = match (c.kind, wrong[i]) {
            (Kind::Floor, _) => "—".to_string(),
            (_, Some(got)) => format!(
                "**wrong: {} events, {} data bytes; expected {}, {}** (not compared)",
                got.events, got.data, want.events, want.data
            ),
            _ => format!("{:.0}", w.events as f64 / secs),
        };
        let vs_peer: Vec<f64> = rounds.iter().map(|r| fastest_peer(r) / r[i]).collect();
        let vs_memcpy: Vec<f64> = rounds.iter().map(|r| 100.0 * r[memcpy] / r[i]).collect();
        let (peer, peer_low) = if peers.is_empty() || wrong[i].is_some() {
            ("—".to_string(), "—".to_string())
        } else {
            (
                format!("{:.2}", median(vs_peer.clone())),
                format!("{:.2}", lowest(&vs_peer)),
            )
        };
        println!(
            "| {} | {} | {mbps:.0} | {events} | {peer} | {peer_low} | {:.1}% | {:.1}% |",
            w.name,
            c.name,
            median(vs_memcpy.clone()),
            lowest(&vs_memcpy),
        );
    }
}

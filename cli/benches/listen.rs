//! `sse listen --json > /dev/null` against the library it wraps, on the
//! same loopback stream (issue 16 item 5: at least half the library's
//! events/s).
//!
//! `cargo bench -p sse-cli --bench listen [-- --rounds N]` serves the
//! `tokens` workload (200,000 LLM-token events) from a loopback server and
//! times, in alternating rounds:
//!
//! - the library: an `sse-smol` `EventSource` (what `sse listen` runs on)
//!   in this process, counting messages;
//! - `sse listen URL --json --max-events N` with stdout to `/dev/null`,
//!   from process start to exit (so its start-up, a few ms, counts
//!   against it);
//! - the same in readable mode.
//!
//! `-- --baseline PATH` adds a row for another `sse` binary (e.g. a build
//! of an older commit) in `--json` mode. `-- --serve` only prints the
//! stream's URL and serves it until killed, for measuring a single run by
//! hand (`perf stat -e instructions sse listen URL --json --max-events
//! 200000 > /dev/null`).
//!
//! Before timing, every contestant must agree on the count: the library
//! counts its messages, and each `sse listen` mode is run once with stdout
//! piped and its message lines counted. Timed runs use the system
//! allocator (this binary installs none). Prints a markdown table: median
//! and best round in M events/s and the ratio to the library.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sse_bench::client::{body_server, config, count};
use sse_bench::tokens;

/// The value after `--name` on the command line.
fn arg(name: &str) -> Option<String> {
    std::env::args().skip_while(|a| a != name).nth(1)
}

/// `sse listen` (the binary `bin`) with the given mode against `url`,
/// stopping after `n` messages; stdout to `/dev/null` when `null`, else
/// piped.
fn listen(bin: &str, url: &str, json: bool, n: usize, null: bool) -> std::process::Child {
    let mut cmd = Command::new(bin);
    cmd.args(["listen", url, "--max-events", &n.to_string()]);
    if json {
        cmd.arg("--json");
    }
    cmd.stdout(if null { Stdio::null() } else { Stdio::piped() })
        .stderr(Stdio::null())
        .spawn()
        .expect("sse runs")
}

/// Messages `sse listen` printed (JSON message lines, or readable lines).
fn count_printed(bin: &str, url: &str, json: bool, n: usize) -> usize {
    let mut child = listen(bin, url, json, n, false);
    let out = BufReader::new(child.stdout.take().unwrap());
    let printed = out
        .lines()
        .map_while(Result::ok)
        .filter(|l| !json || l.starts_with("{\"kind\":\"message\""))
        .count();
    assert!(child.wait().unwrap().success());
    printed
}

fn main() {
    let rounds = arg("--rounds")
        .and_then(|n| n.parse().ok())
        .unwrap_or(7usize);
    let w = tokens();
    let url = body_server(Arc::new(w.bytes.clone()));
    let n = w.events;
    if std::env::args().any(|a| a == "--serve") {
        println!("{url} ({n} events)");
        loop {
            std::thread::park();
        }
    }
    let ours = env!("CARGO_BIN_EXE_sse").to_string();
    let baseline = arg("--baseline");

    let library = {
        let url = url.clone();
        move || {
            let es = sse_smol::open(&url, config()).unwrap();
            assert_eq!(count(futures_lite::stream::block_on(es)), n);
        }
    };
    let cli = |bin: &str, json: bool| {
        let (bin, url) = (bin.to_string(), url.clone());
        move || {
            let status = listen(&bin, &url, json, n, true).wait().unwrap();
            assert!(status.success());
        }
    };
    // Every contestant agrees on what it delivers before anything is timed.
    library();
    assert_eq!(count_printed(&ours, &url, true, n), n, "sse listen --json");
    assert_eq!(count_printed(&ours, &url, false, n), n, "sse listen");

    let mut contestants: Vec<(String, Box<dyn Fn()>)> = vec![
        (
            "sse-smol EventSource (the library)".into(),
            Box::new(library),
        ),
        (
            "`sse listen --json > /dev/null`".into(),
            Box::new(cli(&ours, true)),
        ),
        (
            "`sse listen > /dev/null` (readable)".into(),
            Box::new(cli(&ours, false)),
        ),
    ];
    if let Some(bin) = &baseline {
        assert_eq!(count_printed(bin, &url, true, n), n, "{bin} listen --json");
        contestants.push((
            format!("`{bin} listen --json > /dev/null`"),
            Box::new(cli(bin, true)),
        ));
    }
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); contestants.len()];
    for _ in 0..rounds {
        for (i, (_, run)) in contestants.iter().enumerate() {
            let start = Instant::now();
            run();
            times[i].push(start.elapsed());
        }
    }
    let rate = |t: Duration| n as f64 / t.as_secs_f64() / 1e6;
    let median = |t: &[Duration]| {
        let mut t = t.to_vec();
        t.sort_unstable();
        t[t.len() / 2]
    };
    let base = median(&times[0]);
    println!(
        "\n### `sse listen` vs the library: `{}` ({n} events, {:.1} MB) from a loopback server, {rounds} rounds\n",
        w.name,
        w.bytes.len() as f64 / 1e6
    );
    println!("| contestant | M events/s (median) | best round | vs library (median) |");
    println!("|---|---:|---:|---:|");
    for ((name, _), t) in contestants.iter().zip(&times) {
        let m = median(t);
        let best = t.iter().min().copied().unwrap_or(m);
        println!(
            "| {name} | {:.2} | {:.2} | {:.0}% |",
            rate(m),
            rate(best),
            base.as_secs_f64() / m.as_secs_f64() * 100.0
        );
    }
}

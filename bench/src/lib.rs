//! Deterministic `text/event-stream` workloads and a small timing harness.
//!
//! Every workload is generated from a fixed seed, so all benchmark runs (and
//! all machines) parse exactly the same bytes and nothing is checked in. The
//! `parse` bench in `benches/` feeds them to our parser, to the Rust peers and
//! to two hardware floors (a newline count and a plain copy).

use std::time::{Duration, Instant};

pub mod client;
pub mod fanout;
pub mod parsers;

/// Chunk size used to feed every contestant, as a socket read would.
pub const CHUNK: usize = 16 * 1024;

/// A generated stream and what a correct parser must find in it.
pub struct Workload {
    /// Short name used in tables.
    pub name: &'static str,
    /// The raw stream.
    pub bytes: Vec<u8>,
    /// How many events a conforming parser dispatches.
    pub events: usize,
}

/// A deterministic generator (the core's SplitMix64); the seed fixes the
/// workload.
pub struct Rng(sse_core::client::SplitMix64);

impl Rng {
    /// A generator with the given seed.
    pub fn new(seed: u64) -> Self {
        Rng(sse_core::client::SplitMix64::new(seed))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// One element of `items`.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

const WORDS: &[&str] = &[
    "the",
    "model",
    "stream",
    "token",
    "event",
    "rust",
    "server",
    "client",
    "data",
    "fast",
    "línea",
    "naïve",
    "größe",
    "データ",
    "поток",
    "😀",
    "x",
    "of",
    "and",
    "a",
];

/// 200,000 LLM-token events: `id`, `event: delta`, one JSON `data` line.
pub fn tokens() -> Workload {
    let mut rng = Rng::new(1);
    let mut out = String::new();
    let n = 200_000;
    for i in 0..n {
        let mut content = String::new();
        for w in 0..1 + rng.below(8) {
            if w > 0 {
                content.push(' ');
            }
            content.push_str(rng.pick(WORDS));
        }
        out.push_str(&format!(
            "id: {i}\nevent: delta\ndata: {{\"choices\":[{{\"delta\":{{\"content\":\"{content}\"}}}}]}}\n\n"
        ));
    }
    Workload {
        name: "tokens",
        bytes: out.into_bytes(),
        events: n,
    }
}

/// 400 events of 64 KiB data each, in `data:` lines of about 100 bytes.
pub fn large() -> Workload {
    let mut rng = Rng::new(2);
    let mut out = Vec::new();
    let n = 400;
    for _ in 0..n {
        let mut size = 0;
        while size < 64 * 1024 {
            let len = 90 + rng.below(21);
            out.extend_from_slice(b"data: ");
            out.extend((0..len).map(|_| b'a' + rng.below(26) as u8));
            out.push(b'\n');
            size += len + 1;
        }
        out.push(b'\n');
    }
    Workload {
        name: "large",
        bytes: out,
        events: n,
    }
}

/// 100,000 three-line events with CRLF endings, a keep-alive comment every
/// 50 events and a `retry` every 1,000.
///
/// A CRLF that would be split across two [`CHUNK`]s is a lone CR instead
/// (a few per stream), as in [`mixed`]: every contestant must parse the
/// workload the same way.
pub fn crlf() -> Workload {
    let mut rng = Rng::new(3);
    let mut out = String::new();
    let n = 100_000;
    let line = |out: &mut String, text: &str| {
        out.push_str(text);
        push_eol(out, "\r\n");
    };
    for i in 0..n {
        if i % 50 == 0 {
            line(&mut out, ": keep-alive");
            line(&mut out, "");
        }
        if i % 1000 == 0 {
            line(&mut out, "retry: 3000");
        }
        line(&mut out, &format!("id: {i}"));
        line(&mut out, &format!("event: {}", rng.pick(WORDS)));
        line(&mut out, &format!("data: {}", rng.next_u64()));
        line(&mut out, "");
    }
    Workload {
        name: "crlf",
        bytes: out.into_bytes(),
        events: n,
    }
}

/// 50,000 events mixing LF, CR and CRLF, multi-byte UTF-8, ids and names.
///
/// Every contestant of the `parse` bench must parse it the same way, so it
/// avoids the two cases where a peer is wrong (see `examples/probe_peers.rs`):
/// a CRLF is never split across two [`CHUNK`]s (async-sse would see an
/// extra blank line; such a CRLF is a lone CR instead), and the stream does
/// not end with a lone CR (eventsource-stream would wait for an LF). Both
/// are correctness cases, checked by the conformance fixtures, not
/// throughput cases.
pub fn mixed() -> Workload {
    let mut rng = Rng::new(4);
    let mut out = String::new();
    let n = 50_000;
    let endings = ["\n", "\r", "\r\n"];
    for i in 0..n {
        let eol = rng.pick(&endings);
        if rng.below(3) == 0 {
            out.push_str(&format!("id: {i}"));
            push_eol(&mut out, eol);
        }
        if rng.below(2) == 0 {
            out.push_str(&format!("event: {}", rng.pick(WORDS)));
            push_eol(&mut out, eol);
        }
        let mut eol = eol;
        for _ in 0..1 + rng.below(3) {
            let line_eol = rng.pick(&endings);
            out.push_str("data: ");
            for _ in 0..1 + rng.below(10) {
                out.push_str(rng.pick(WORDS));
                out.push(' ');
            }
            eol = push_eol(&mut out, line_eol);
        }
        // After a CR, an LF would only complete a CRLF, not end the block.
        let blank = if eol == "\r" {
            &endings[1..]
        } else {
            &endings[..]
        };
        let blank = match rng.pick(blank) {
            "\r" if i == n - 1 => "\r\n",
            b => b,
        };
        push_eol(&mut out, blank);
    }
    Workload {
        name: "mixed",
        bytes: out.into_bytes(),
        events: n,
    }
}

/// Appends a line ending, a lone CR instead of a CRLF that would be split
/// across two [`CHUNK`]s; returns the ending appended.
fn push_eol(out: &mut String, eol: &'static str) -> &'static str {
    let eol = if eol == "\r\n" && (out.len() + 1).is_multiple_of(CHUNK) {
        "\r"
    } else {
        eol
    };
    out.push_str(eol);
    eol
}

/// All workloads, in table order.
pub fn all() -> Vec<Workload> {
    vec![tokens(), large(), crlf(), mixed()]
}

/// CPU time the calling thread has run so far, from Linux's
/// `/proc/thread-self/schedstat`; `None` elsewhere. Unlike wall-clock time it
/// does not count the time other processes hold the core, which on a shared,
/// loaded machine is most of the wall time. Its resolution is the scheduler
/// tick (up to 4 ms): time runs of at least a few hundred milliseconds.
pub fn thread_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

/// How long `f` takes: thread CPU time when `cpu` (and the platform has it),
/// else wall-clock time.
pub fn time(cpu: bool, f: impl FnOnce()) -> Duration {
    let cpu_start = if cpu { thread_cpu_time() } else { None };
    let start = Instant::now();
    f();
    let wall = start.elapsed();
    match (cpu_start, thread_cpu_time()) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => wall,
    }
}

/// Times `n` contestants round-robin: one warm-up round, then `runs`
/// rounds that run every contestant once (`run(i)` returns its seconds),
/// in an order that rotates by round, so that a noisy moment of the machine
/// hits one round of all of them and none always runs after the same one.
/// `rounds[r][i]` is contestant `i`'s time in round `r`.
pub fn interleaved_rounds(
    runs: usize,
    n: usize,
    mut run: impl FnMut(usize) -> f64,
) -> Vec<Vec<f64>> {
    (0..n).for_each(|i| {
        run(i);
    });
    (0..runs)
        .map(|r| {
            let mut times = vec![0.0; n];
            for k in 0..n {
                let i = (r + k) % n;
                times[i] = run(i);
            }
            times
        })
        .collect()
}

/// The median of `xs` (the upper one of an even count); NaN if empty.
pub fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_unstable_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The number after `--runs` on the command line (`cargo bench … -- --runs
/// N`), or `default`.
pub fn runs_arg(default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(default)
}

/// The lowest of `xs`; infinity if empty.
pub fn lowest(xs: &[f64]) -> f64 {
    xs.iter().copied().fold(f64::INFINITY, f64::min)
}

/// The median of `runs` timings of `f`, after one warm-up run.
pub fn median_time(runs: usize, mut f: impl FnMut()) -> Duration {
    f();
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort_unstable();
    times[times.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;
    use sse_core::parse::parse_all;

    #[test]
    fn workloads_are_deterministic_and_have_the_stated_event_counts() {
        for w in all() {
            let got = parse_all(&w.bytes);
            assert!(got.iter().all(Result::is_ok), "{}", w.name);
            assert_eq!(got.len(), w.events, "{}", w.name);
        }
        assert_eq!(tokens().bytes, tokens().bytes);
        assert_ne!(mixed().bytes, crlf().bytes);
    }
}

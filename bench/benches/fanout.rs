//! Server fan-out over loopback, for each adapter's server (`sse-smol`,
//! `sse-async-std`, `sse-blocking`, `sse-tokio`) and for axum's own
//! `axum::response::sse::Sse` fed by a `tokio::sync::broadcast` channel
//! (the pattern axum's documentation shows), with 1,000 and 10,000
//! raw-socket subscribers living in a second process: deliveries per second
//! for a burst, end-to-end latency for paced publishing, server CPU per
//! delivery, and the server process's resident memory per idle subscriber.
//! Prints markdown tables; asserts nothing about time.
//!
//! Contestants (`--adapters`, default all): `smol`, `async-std`, `blocking`,
//! `tokio` (`sse_tokio::serve_listener`: HTTP/1.1 through the shared
//! connection code), `tokio-hyper` (the same hub through hyper's HTTP/1.1,
//! `sse_tokio::http::serve` with `sse_tokio::http::app`, as an axum or hyper
//! application serves it) and `axum` (`axum::serve`, a handler returning
//! `Sse` over a `BroadcastStream`, each event with the hub's `id`, so every
//! contestant sends the same bytes). The tokio-based servers run on tokio's
//! default multi-threaded runtime (a worker per core); the subscribers decode
//! hyper's chunked bodies with the core's decoder.
//!
//! ```text
//! cargo bench -p sse-bench --bench fanout
//! cargo bench -p sse-bench --bench fanout -- --runs 1 --adapters smol,blocking \
//!     --subscribers 1000,10000 --client-threads 2 --blocking-stack 65536 \
//!     --burst 500 --paced 100 --interval-ms 50
//! ```
//!
//! Processes: without a mode argument this binary is the driver. For each
//! scenario (run × subscriber count × adapter) it starts itself as a server
//! (`__server`), which records its RSS, starts itself once more as the
//! subscribers (`__clients`, a [`Pool`] of raw sockets parsing every event)
//! and drives them over their stdin and stdout: wait until every stream is
//! open, record RSS and CPU use while idle, then one burst (events
//! published back to back) and one paced phase (one event per interval).
//! Each event's data is its publish time on `CLOCK_MONOTONIC`
//! ([`monotonic_ns`]), one clock for both processes. One server process per
//! scenario keeps its RSS clean of the previous scenario, and keeps each
//! process under the fd limit. The server process exits first, so the
//! `TIME_WAIT` sockets are on its side and the subscribers' ephemeral ports
//! are free for the next scenario.
//!
//! Options (after `--`): `--runs N` (default 2), `--adapters a,b`,
//! `--subscribers n,m`, `--client-threads N` (default 2), `--burst N`,
//! `--paced N`, `--interval-ms N` (override the plan for every count),
//! `--log-events N` / `--backlog-events N` (the hub's replay log and what it
//! may hold beyond it, see [`Plan`]: with small ones the burst's publisher
//! waits for the subscribers, which the default settings never make it do),
//! and `--blocking-stack BYTES` (sets `RUST_MIN_STACK` for the blocking server,
//! whose connection threads are spawned with the default stack size).
//!
//! Every timed number comes from server processes on the system allocator
//! (this binary). Live heap bytes per subscriber come from a separate run
//! of the idle phase in the `heap` binary, which counts them with a
//! counting global allocator (once per adapter and subscriber count, after
//! the timed runs; `--no-heap` skips it). The server process's code is
//! [`sse_bench::fanout::server`].

use std::io::BufRead;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use sse_bench::fanout::server::{plan, server_main, Fields, Plan};
use sse_bench::fanout::{load_average, process_cpu, raise_fd_limit, Pool};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("__server") => server_main(&args[1..], None),
        Some("__clients") => clients_main(&args[1..]),
        _ => driver(&args),
    }
}

// ---------------------------------------------------------------- driver

struct Options {
    runs: usize,
    adapters: Vec<String>,
    subscribers: Vec<usize>,
    client_threads: usize,
    blocking_stack: Option<String>,
    burst: Option<u64>,
    paced: Option<u64>,
    interval_ms: Option<u64>,
    log_events: u64,
    backlog_events: u64,
    heap: bool,
}

fn options(args: &[String]) -> Options {
    let mut o = Options {
        runs: 2,
        adapters: [
            "smol",
            "async-std",
            "blocking",
            "tokio",
            "tokio-hyper",
            "axum",
        ]
        .map(String::from)
        .to_vec(),
        subscribers: vec![1_000, 10_000],
        client_threads: 2,
        blocking_stack: None,
        burst: None,
        paced: None,
        interval_ms: None,
        log_events: 0,
        backlog_events: 0,
        heap: true,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().unwrap_or_default();
        let number = |v: String| v.parse::<u64>().unwrap_or_else(|_| panic!("{a} N"));
        match a.as_str() {
            "--runs" => o.runs = number(value()) as usize,
            "--adapters" => o.adapters = value().split(',').map(String::from).collect(),
            "--subscribers" => {
                o.subscribers = value()
                    .split(',')
                    .map(|s| number(s.into()) as usize)
                    .collect();
            }
            "--client-threads" => o.client_threads = number(value()) as usize,
            "--blocking-stack" => o.blocking_stack = Some(value()),
            "--burst" => o.burst = Some(number(value())),
            "--paced" => o.paced = Some(number(value())),
            "--interval-ms" => o.interval_ms = Some(number(value())),
            "--log-events" => o.log_events = number(value()),
            "--backlog-events" => o.backlog_events = number(value()),
            "--no-heap" => o.heap = false,
            _ => {} // `cargo bench` passes `--bench`
        }
    }
    o
}

struct Row {
    run: usize,
    adapter: String,
    subscribers: usize,
    plan: Plan,
    fields: Fields,
}

impl Row {
    fn f(&self, key: &str) -> f64 {
        self.fields
            .get(key)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }

    fn s(&self, key: &str) -> String {
        self.fields
            .get(key)
            .map_or_else(|| "?".into(), |v| v.replace('_', " "))
    }
}

fn driver(args: &[String]) {
    let o = options(args);
    let exe = std::env::current_exe().unwrap();
    println!(
        "fd limit {} (raised in each process); load average at start {}",
        raise_fd_limit(),
        load_average()
    );
    let mut rows = Vec::new();
    for run in 1..=o.runs {
        for &subscribers in &o.subscribers {
            for adapter in &o.adapters {
                let plan = scenario_plan(&o, subscribers);
                eprintln!("[fanout] run {run}: {adapter}, {subscribers} subscribers");
                let mut cmd = Command::new(&exe);
                cmd.arg("__server");
                let fields = run_server(cmd, &o, adapter, subscribers, plan, "all");
                rows.push(Row {
                    run,
                    adapter: adapter.clone(),
                    subscribers,
                    plan,
                    fields,
                });
            }
        }
    }
    // Live heap, counted in a binary of its own: the idle phase only.
    let mut heap = Vec::new();
    for &subscribers in o.subscribers.iter().filter(|_| o.heap) {
        for adapter in &o.adapters {
            eprintln!("[fanout] heap: {adapter}, {subscribers} subscribers");
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_heap"));
            cmd.arg("fanout-server");
            let plan = scenario_plan(&o, subscribers);
            let fields = run_server(cmd, &o, adapter, subscribers, plan, "idle");
            heap.push(Row {
                run: 0,
                adapter: adapter.clone(),
                subscribers,
                plan,
                fields,
            });
        }
    }
    print_tables(&rows, &heap, &o);
}

/// The plan for `subscribers`, with the command line's overrides.
fn scenario_plan(o: &Options, subscribers: usize) -> Plan {
    let mut plan = plan(subscribers);
    plan.burst = o.burst.unwrap_or(plan.burst);
    plan.paced = o.paced.unwrap_or(plan.paced);
    if let Some(ms) = o.interval_ms {
        plan.interval = Duration::from_millis(ms);
    }
    plan.log_events = o.log_events;
    plan.backlog_events = o.backlog_events;
    plan
}

/// Runs one server process (`cmd`, with its mode argument), which starts
/// this binary as its subscribers; returns what it printed.
fn run_server(
    mut cmd: Command,
    o: &Options,
    adapter: &str,
    subscribers: usize,
    plan: Plan,
    phases: &str,
) -> Fields {
    let exe = std::env::current_exe().unwrap();
    cmd.args([
        adapter.to_string(),
        subscribers.to_string(),
        o.client_threads.to_string(),
        plan.burst.to_string(),
        plan.paced.to_string(),
        plan.interval.as_micros().to_string(),
        exe.to_string_lossy().into_owned(),
        phases.to_string(),
        plan.log_events.to_string(),
        plan.backlog_events.to_string(),
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    if adapter == "blocking" {
        if let Some(stack) = &o.blocking_stack {
            cmd.env("RUST_MIN_STACK", stack);
        }
    }
    let out = cmd.output().expect("start the server process");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut fields: Fields = text
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_default()
        .split(' ')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let done = if phases == "idle" { "fds" } else { "rate" };
    if !fields.contains_key(done) && !fields.contains_key("error") {
        let e = format!("server process ended with {} and no result", out.status);
        fields.insert("error".into(), e.replace(' ', "_"));
    }
    if let Some(pid) = fields.get("client_pid") {
        wait_gone(pid);
    }
    fields
}

/// Waits (at most 30 s) until process `pid` has exited, so the next
/// scenario does not share the machine with its teardown.
fn wait_gone(pid: &str) {
    let until = Instant::now() + Duration::from_secs(30);
    while Instant::now() < until {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) if !stat.contains(") Z ") => thread::sleep(Duration::from_millis(50)),
            _ => return,
        }
    }
}

fn print_tables(rows: &[Row], heap: &[Row], o: &Options) {
    let ms = |ns: f64| format!("{:.1} ms", ns / 1e6);
    let load = |r: &Row| {
        format!(
            "{} → {} | {:.0}%",
            r.s("load").split(' ').next().unwrap_or("?"),
            r.s("load_after").split(' ').next().unwrap_or("?"),
            r.f("other_cpu") * 100.0
        )
    };
    println!("\n### Burst: events published back to back\n");
    println!(
        "| run | server | subscribers | events | deliveries/s | latency p50 | latency p99 | \
         server CPU / delivery | subscribers' CPU / delivery | load avg (1 min) | \
         other processes' CPU |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|");
    for r in rows {
        let (run, adapter, subs) = (r.run, &r.adapter, r.subscribers);
        if let Some(e) = r.fields.get("error") {
            println!(
                "| {run} | {adapter} | {subs} | {} | **failed: {}** (server: at most {} connections and {} fds open; warnings: {}) | | | | | {} |",
                r.plan.burst,
                e.replace('_', " "),
                r.s("peak_connections"),
                r.s("peak_fds"),
                r.s("warnings"),
                load(r)
            );
            continue;
        }
        println!(
            "| {run} | {adapter} | {subs} | {} | {:.2} M | {} | {} | {:.0} ns | {:.0} ns | {} |",
            r.plan.burst,
            r.f("rate") / 1e6,
            ms(r.f("burst_p50")),
            ms(r.f("burst_p99")),
            r.f("burst_cpu"),
            r.f("burst_clients_cpu"),
            load(r)
        );
    }
    println!("\n### Paced: one event per interval\n");
    println!(
        "| run | server | subscribers | events | interval | deliveries/s | latency p50 | \
         latency p99 | latency max | server CPU / delivery |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows.iter().filter(|r| r.fields.contains_key("paced_p50")) {
        println!(
            "| {} | {} | {} | {} | {} ms | {:.0} k | {} | {} | {} | {:.0} ns |",
            r.run,
            r.adapter,
            r.subscribers,
            r.plan.paced,
            r.plan.interval.as_millis(),
            r.f("paced_rate") / 1e3,
            ms(r.f("paced_p50")),
            ms(r.f("paced_p99")),
            ms(r.f("paced_max")),
            r.f("paced_cpu"),
        );
    }
    println!("\n### Memory per idle subscriber (server process only)\n");
    println!(
        "| run | server | subscribers | RSS before | RSS after | per idle subscriber | \
         live heap per subscriber (heap run) | threads | virtual | fds | idle CPU | connect time |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows.iter().filter(|r| r.fields.contains_key("rss_after")) {
        let live = heap
            .iter()
            .find(|h| h.adapter == r.adapter && h.subscribers == r.subscribers)
            .filter(|h| h.fields.contains_key("heap_after"))
            .map_or("—".to_string(), |h| {
                let per = (h.f("heap_after") - h.f("heap_before")) / r.subscribers as f64;
                format!("{:.2} KiB", per / 1024.0)
            });
        println!(
            "| {} | {} | {} | {:.1} MiB | {:.1} MiB | {:.2} KiB | {live} | {} | {:.1} GiB | {} | {:.0}% | {:.1} s |",
            r.run,
            r.adapter,
            r.subscribers,
            r.f("rss_before") / 1024.0,
            r.f("rss_after") / 1024.0,
            (r.f("rss_after") - r.f("rss_before")) / r.subscribers as f64,
            r.f("threads"),
            r.f("vm_after") / (1024.0 * 1024.0),
            r.f("fds"),
            r.f("idle_cpu") * 100.0,
            r.f("connect_s"),
        );
    }
    println!(
        "\nSubscriber process: {} reader threads (mio). Blocking server stacks: {}. \
         \"other processes' CPU\": machine busy time minus both bench processes', \
         idle + burst + paced, share of all cores.",
        o.client_threads,
        o.blocking_stack
            .as_deref()
            .map_or("std default (2 MiB)".to_string(), |s| format!(
                "RUST_MIN_STACK={s}"
            ))
    );
}

// ---------------------------------------------------------- subscribers

fn clients_main(args: &[String]) {
    let addr: SocketAddr = args[0].parse().unwrap();
    let (subs, threads) = (args[1].parse().unwrap(), args[2].parse().unwrap());
    raise_fd_limit();
    let pool = match Pool::connect(addr, "/events", subs, threads) {
        Ok(pool) => pool,
        Err(e) => {
            println!("error: {e}");
            // Keep the streams open until the server has taken its
            // numbers and exited (this stdin then ends).
            for _ in std::io::stdin().lock().lines() {}
            std::process::exit(1);
        }
    };
    println!("ready {}", process_cpu().as_nanos());
    for line in std::io::stdin().lock().lines().map_while(|l| l.ok()) {
        let Some(n) = line.strip_prefix("expect ") else {
            continue;
        };
        pool.expect(n.parse().unwrap());
        println!("ok {}", process_cpu().as_nanos());
        match pool.wait(Duration::from_secs(240)) {
            Ok(p) => {
                let l = &p.latencies;
                println!(
                    "done {} {} {} {} {} {} {} {}",
                    p.events,
                    p.last_ns,
                    p.closed,
                    p.errors,
                    l.quantile(0.5),
                    l.quantile(0.99),
                    l.quantile(1.0),
                    process_cpu().as_nanos()
                );
            }
            Err(got) => println!("timeout after {got} events in all"),
        }
    }
    // The server has exited: wait for the kernel to end its streams here
    // too, so our side closes last and keeps no port in TIME_WAIT.
    let until = Instant::now() + Duration::from_secs(20);
    while pool.open_streams() > 0 && Instant::now() < until {
        thread::sleep(Duration::from_millis(20));
    }
    std::process::exit(0);
}

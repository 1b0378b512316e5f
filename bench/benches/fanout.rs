//! Server fan-out over loopback, for each adapter's server (`sse-smol`,
//! `sse-async-std`, `sse-blocking`), with 1,000 and 10,000 raw-socket
//! subscribers living in a second process: deliveries per second for a
//! burst, end-to-end latency for paced publishing, and the server process's
//! resident memory per idle subscriber. Prints markdown tables; asserts
//! nothing about time.
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
//! `--blocking-stack BYTES` (sets `RUST_MIN_STACK` for the blocking server,
//! whose connection threads are spawned with the default stack size), and
//! `--log-events N` / `--backlog-events N`: the hub's replay log (default:
//! every event of the scenario, so nothing is ever held beyond it) and what
//! it may hold beyond the log for subscribers not yet sent it (default
//! 4,096): with a small log and backlog the burst's publisher waits for the
//! subscribers (backpressure), which the default settings never engage.
//!
//! Besides RSS, the server counts its live heap bytes with a counting
//! global allocator (one relaxed atomic add per allocation and free).
#![allow(unsafe_code)] // the counting global allocator

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use sse_bench::fanout::{
    load_average, machine_busy, monotonic_ns, open_fds, proc_status, process_cpu, raise_fd_limit,
    Pool,
};
use sse_core::encode::Message;
use sse_core::endpoint::Endpoint;
use sse_core::hub::{BacklogLimits, Hub};
use sse_core::replay::LogLimits;

/// Counts live heap bytes.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Relaxed);
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as isize - layout.size() as isize, Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Published events per scenario: a burst, then paced ones; the hub's
/// log and backlog sizes (`0`: the defaults above).
#[derive(Clone, Copy)]
struct Plan {
    burst: u64,
    paced: u64,
    interval: Duration,
    log_events: u64,
    backlog_events: u64,
}

/// Burst: 1,000 events at 1,000 subscribers (1 M deliveries), 200 at
/// 10,000 (2 M). Paced: 100 k deliveries/s either way, 100 events 10 ms
/// apart at 1,000 subscribers, 50 events 100 ms apart at 10,000. One event
/// at a time costs the async servers a write per subscriber (a burst lets
/// them write many events at once), about 2.5 µs of server CPU per delivery
/// on this machine, so this rate leaves room on two shared cores and the
/// latency is not queueing behind earlier events.
fn plan(subscribers: usize) -> Plan {
    if subscribers >= 5_000 {
        Plan {
            burst: 200,
            paced: 50,
            interval: Duration::from_millis(100),
            log_events: 0,
            backlog_events: 0,
        }
    } else {
        Plan {
            burst: 1_000,
            paced: 100,
            interval: Duration::from_millis(10),
            log_events: 0,
            backlog_events: 0,
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("__server") => server_main(&args[1..]),
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
}

fn options(args: &[String]) -> Options {
    let mut o = Options {
        runs: 2,
        adapters: vec!["smol".into(), "async-std".into(), "blocking".into()],
        subscribers: vec![1_000, 10_000],
        client_threads: 2,
        blocking_stack: None,
        burst: None,
        paced: None,
        interval_ms: None,
        log_events: 0,
        backlog_events: 0,
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
            _ => {} // `cargo bench` passes `--bench`
        }
    }
    o
}

/// One scenario's numbers as the server process printed them (`key=value`).
type Fields = BTreeMap<String, String>;

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
                let mut plan = plan(subscribers);
                plan.burst = o.burst.unwrap_or(plan.burst);
                plan.paced = o.paced.unwrap_or(plan.paced);
                if let Some(ms) = o.interval_ms {
                    plan.interval = Duration::from_millis(ms);
                }
                plan.log_events = o.log_events;
                plan.backlog_events = o.backlog_events;
                eprintln!("[fanout] run {run}: {adapter}, {subscribers} subscribers");
                let mut cmd = Command::new(&exe);
                cmd.args([
                    "__server".to_string(),
                    adapter.clone(),
                    subscribers.to_string(),
                    o.client_threads.to_string(),
                    plan.burst.to_string(),
                    plan.paced.to_string(),
                    plan.interval.as_micros().to_string(),
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
                if !fields.contains_key("rate") && !fields.contains_key("error") {
                    let e = format!("server process ended with {} and no result", out.status);
                    fields.insert("error".into(), e.replace(' ', "_"));
                }
                if let Some(pid) = fields.get("client_pid") {
                    wait_gone(pid);
                }
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
    print_tables(&rows, &o);
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

fn print_tables(rows: &[Row], o: &Options) {
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
         live heap per subscriber | threads | virtual | fds | idle CPU | connect time |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows.iter().filter(|r| r.fields.contains_key("rss_after")) {
        println!(
            "| {} | {} | {} | {:.1} MiB | {:.1} MiB | {:.2} KiB | {:.2} KiB | {} | {:.1} GiB | {} | {:.0}% | {:.1} s |",
            r.run,
            r.adapter,
            r.subscribers,
            r.f("rss_before") / 1024.0,
            r.f("rss_after") / 1024.0,
            (r.f("rss_after") - r.f("rss_before")) / r.subscribers as f64,
            (r.f("heap_after") - r.f("heap_before")) / 1024.0 / r.subscribers as f64,
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

// ---------------------------------------------------------------- server

/// Counts the adapters' warnings (e.g. a failed `accept`) and keeps the
/// first, so a failed scenario says why.
struct Warnings;

static WARNINGS: std::sync::Mutex<(usize, String)> = std::sync::Mutex::new((0, String::new()));

impl log::Log for Warnings {
    fn enabled(&self, meta: &log::Metadata<'_>) -> bool {
        meta.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let mut w = WARNINGS.lock().unwrap();
            if w.0 == 0 {
                w.1 = format!("{}: {}", record.target(), record.args());
                eprintln!("[fanout]   first server warning: {}", w.1);
            }
            w.0 += 1;
        }
    }

    fn flush(&self) {}
}

/// A running server of one adapter, behind the same three operations.
struct Server {
    addr: SocketAddr,
    publish: Box<dyn Fn(&str)>,
    connections: Box<dyn Fn() -> usize>,
}

fn start(adapter: &str, limits: LogLimits, backlog: BacklogLimits) -> Server {
    let config = sse_core::server::Config {
        keep_alive: None,
        ..Default::default()
    };
    match adapter {
        "smol" | "async-std" => {
            use sse_futures::server::{Service, SharedHub};
            let hub = SharedHub::from_hub(Hub::new(limits).with_backlog(backlog));
            let service = Service::new(Endpoint::new("/events"), hub.clone()).config(config);
            let handle = if adapter == "smol" {
                let l = smol::block_on(smol::net::TcpListener::bind("127.0.0.1:0")).unwrap();
                sse_smol::serve_listener(l, service).unwrap()
            } else {
                let l = async_std::task::block_on(async_std::net::TcpListener::bind("127.0.0.1:0"))
                    .unwrap();
                sse_async_std::serve_listener(l, service).unwrap()
            };
            let addr = handle.local_addr().unwrap();
            Server {
                addr,
                publish: Box::new(move |data| {
                    // Waits while the hub holds all it may for subscribers
                    // not sent it yet (backpressure).
                    smol::block_on(hub.publish(&Message::new(data))).unwrap();
                }),
                connections: Box::new(move || handle.connections()),
            }
        }
        "blocking" => {
            let hub = sse_blocking::Hub::with_backlog(limits, backlog);
            let mut service = sse_blocking::Service::new(hub.clone(), "/events");
            service.config = config;
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let handle = sse_blocking::serve(l, service, None).unwrap();
            Server {
                addr: handle.local_addr(),
                publish: Box::new(move |data| {
                    hub.publish(&Message::new(data)).unwrap();
                }),
                connections: Box::new(move || handle.connections()),
            }
        }
        other => panic!("unknown adapter {other} (smol, async-std, blocking)"),
    }
}

/// The subscribers process: its stdin, and its stdout as lines.
struct Clients {
    _child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
}

impl Clients {
    fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}")
            .and_then(|()| self.stdin.flush())
            .ok();
    }

    /// The next line split at spaces; its first word must be `what`.
    fn expect(&self, what: &str, timeout: Duration) -> Result<Vec<String>, String> {
        let line = self
            .lines
            .recv_timeout(timeout)
            .map_err(|_| format!("subscribers: no {what} within {} s", timeout.as_secs()))?;
        let words: Vec<String> = line.split(' ').map(String::from).collect();
        if words[0] != what {
            return Err(format!("subscribers: {line}"));
        }
        Ok(words)
    }
}

fn server_main(args: &[String]) {
    let n = |i: usize| args[i].parse::<u64>().unwrap();
    let (adapter, subs, threads) = (&args[0], n(1) as usize, &args[2]);
    let plan = Plan {
        burst: n(3),
        paced: n(4),
        interval: Duration::from_micros(n(5)),
        log_events: n(6),
        backlog_events: n(7),
    };
    raise_fd_limit();
    log::set_logger(&Warnings).unwrap();
    log::set_max_level(log::LevelFilter::Warn);
    let mut out = Fields::new();
    out.insert("load".into(), load_average());
    if let Err(e) = serve_scenario(adapter, subs, threads, plan, &mut out) {
        eprintln!("[fanout] {adapter} {subs}: {e}");
        out.insert("error".into(), e);
    }
    let line: Vec<String> = out
        .iter()
        .map(|(k, v)| format!("{k}={}", v.replace(' ', "_")))
        .collect();
    println!("RESULT {}", line.join(" "));
    std::io::stdout().flush().ok();
    // Exit at once: the kernel closes every connection, from this side, and
    // the subscribers process sees its streams and its stdin end.
    std::process::exit(0);
}

fn serve_scenario(
    adapter: &str,
    subs: usize,
    threads: &str,
    plan: Plan,
    out: &mut Fields,
) -> Result<(), String> {
    let log_events = match plan.log_events {
        0 => plan.burst + plan.paced + 16,
        n => n,
    };
    let backlog = BacklogLimits {
        max_events: match plan.backlog_events {
            0 => BacklogLimits::default().max_events,
            n => n as usize,
        },
        max_bytes: 64 << 20,
    };
    let server = start(
        adapter,
        LogLimits {
            max_events: log_events as usize,
            max_bytes: 64 << 20,
        },
        backlog,
    );
    thread::sleep(Duration::from_millis(300));
    out.insert("rss_before".into(), proc_status("VmRSS").to_string());
    out.insert("heap_before".into(), LIVE.load(Relaxed).to_string());
    let opened = Instant::now();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "__clients",
            &server.addr.to_string(),
            &subs.to_string(),
            threads,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("start subscribers: {e}"))?;
    out.insert("client_pid".into(), child.id().to_string());
    let (tx, lines) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let stdin = child.stdin.take().unwrap();
    let mut clients = Clients {
        _child: child,
        stdin,
        lines,
    };
    let r = drive(&server, &mut clients, subs, plan, opened, out);
    let w = WARNINGS.lock().unwrap();
    if w.0 > 0 {
        out.insert("warnings".into(), format!("{}× {}", w.0, w.1));
    }
    // The subscribers process is left to see this one exit (its streams
    // end), so its side of every connection closes last.
    drop(clients);
    r
}

fn drive(
    server: &Server,
    clients: &mut Clients,
    subs: usize,
    plan: Plan,
    opened: Instant,
    out: &mut Fields,
) -> Result<(), String> {
    // While the streams open: the most connections and fds seen (a
    // scenario that fails here says how far it got).
    let (mut peak_conns, mut peak_fds) = (0, 0);
    let ready = loop {
        match clients.lines.recv_timeout(Duration::from_millis(500)) {
            Ok(line) => break line,
            Err(mpsc::RecvTimeoutError::Timeout) if opened.elapsed().as_secs() < 600 => {
                peak_conns = peak_conns.max((server.connections)());
                peak_fds = peak_fds.max(open_fds());
                out.insert("peak_connections".into(), peak_conns.to_string());
                out.insert("peak_fds".into(), peak_fds.to_string());
            }
            Err(_) => return Err("subscribers: not ready within 600 s".into()),
        }
    };
    let mut put = |k: &str, v: String| out.insert(k.into(), v);
    let ready: Vec<&str> = ready.split(' ').collect();
    if ready[0] != "ready" {
        return Err(format!("subscribers: {}", ready.join(" ")));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while (server.connections)() < subs {
        if Instant::now() > deadline {
            return Err(format!("{} of {subs} connections", (server.connections)()));
        }
        thread::sleep(Duration::from_millis(10));
    }
    put(
        "connect_s",
        format!("{:.2}", opened.elapsed().as_secs_f64()),
    );
    // Idle: every stream open, nothing published yet.
    thread::sleep(Duration::from_millis(500));
    let (busy0, cpu0, clients0) = (machine_busy(), process_cpu(), ready[1].parse::<f64>());
    let wall0 = Instant::now();
    thread::sleep(Duration::from_secs(1));
    let idle = (process_cpu() - cpu0).as_secs_f64() / wall0.elapsed().as_secs_f64();
    put("idle_cpu", format!("{idle:.3}"));
    put("rss_after", proc_status("VmRSS").to_string());
    put("heap_after", LIVE.load(Relaxed).to_string());
    put("vm_after", proc_status("VmSize").to_string());
    put("threads", proc_status("Threads").to_string());
    put("fds", open_fds().to_string());

    let deliveries = |events: u64| (subs as u64 * events) as f64;
    // Returns deliveries/s from the first publish to the last event read,
    // server CPU per delivery, latency p50, p99, max, subscribers' CPU.
    let mut phase = |events: u64, publish: &mut dyn FnMut()| {
        clients.send(&format!("expect {events}"));
        let ok = clients.expect("ok", Duration::from_secs(30))?;
        let clients_cpu = ok[1].parse::<f64>().unwrap_or(0.0);
        let cpu = process_cpu();
        let start = monotonic_ns();
        publish();
        // done events last_ns closed errors p50 p99 max cpu
        let done = clients.expect("done", Duration::from_secs(300))?;
        let cpu = process_cpu() - cpu;
        let n = |i: usize| done[i].parse::<f64>().unwrap_or(0.0);
        if n(3) > 0.0 || n(4) > 0.0 {
            return Err(format!(
                "{} streams ended early, {} parse errors",
                done[3], done[4]
            ));
        }
        if n(1) != deliveries(events) {
            return Err(format!("{} of {} events", done[1], deliveries(events)));
        }
        let rate = n(1) / ((n(2) - start as f64) / 1e9);
        let cpu = cpu.as_nanos() as f64 / n(1);
        let their_cpu = (n(8) - clients_cpu) / n(1);
        Ok::<_, String>([rate, cpu, n(5), n(6), n(7), n(8), their_cpu])
    };

    let [rate, cpu, p50, p99, _, _, their_cpu] = phase(plan.burst, &mut || {
        for _ in 0..plan.burst {
            (server.publish)(&monotonic_ns().to_string());
        }
    })?;
    eprintln!("[fanout]   burst {:.2} M deliveries/s", rate / 1e6);
    put("rate", format!("{rate:.0}"));
    put("burst_cpu", format!("{cpu:.1}"));
    put("burst_clients_cpu", format!("{their_cpu:.1}"));
    put("burst_p50", p50.to_string());
    put("burst_p99", p99.to_string());

    // Paced: one event every `interval`, on a fixed schedule.
    let [rate, cpu, p50, p99, max, clients_cpu, _] = phase(plan.paced, &mut || {
        let start = Instant::now();
        for i in 0..plan.paced {
            let at = start + plan.interval * i as u32;
            thread::sleep(at.saturating_duration_since(Instant::now()));
            (server.publish)(&monotonic_ns().to_string());
        }
    })?;
    put("paced_rate", format!("{rate:.0}"));
    put("paced_cpu", format!("{cpu:.1}"));
    put("paced_p50", p50.to_string());
    put("paced_p99", p99.to_string());
    put("paced_max", max.to_string());

    // What else ran on the machine from the idle phase on: its busy time
    // minus this process's and the subscribers', as a share of all cores.
    let cores = thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let wall = wall0.elapsed().as_secs_f64();
    let ours = (process_cpu() - cpu0).as_secs_f64() + (clients_cpu - clients0.unwrap_or(0.0)) / 1e9;
    let other = ((machine_busy() - busy0).as_secs_f64() - ours) / (wall * cores);
    put("other_cpu", format!("{:.3}", other.max(0.0)));
    put("load_after", load_average());
    Ok(())
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
